"""Synthesize the platform for tests exactly as `cdk synth` does, once per process.

The CLI gives the app ``cdk.json``'s context; a bare ``cdk.App()`` in a test would not, and
feature flags would differ. So the context is read from ``cdk.json`` here and handed in.
"""

from __future__ import annotations

import functools
import json
import re
import tempfile
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import aws_cdk as cdk

from stacks.platform import Platform, build_platform
from tests.shipped.assembly import Assembly

ROOT = Path(__file__).resolve().parent.parent
_HASH = re.compile(r"[0-9a-f]{64}")


def cdk_context(env: str) -> dict[str, Any]:
    context: dict[str, Any] = json.loads((ROOT / "cdk.json").read_text())["context"]
    # The CLI also asks for asset metadata (`aws:asset:path`): where each staged asset is.
    return {**context, "env": env, "aws:cdk:enable-asset-metadata": True}


@dataclass(frozen=True)
class Synthesized:
    platform: Platform
    templates: dict[str, dict[str, Any]]  # by stack part: "data", "network", ...
    outdir: Path  # the cloud assembly: templates and staged assets, as `cdk synth` writes them

    @functools.cached_property
    def assembly(self) -> Assembly:
        """The assembly read from disk (what ships), not from the CDK objects."""
        return Assembly(self.outdir)

    def resources(self, stack: str, resource_type: str) -> dict[str, dict[str, Any]]:
        return {
            logical_id: resource
            for logical_id, resource in self.templates[stack]["Resources"].items()
            if resource["Type"] == resource_type
        }


# `cdk synth` with credentials knows the account and region; without, stacks stay agnostic.
# Tests cover both: dev as a credential-less synth, prod as one bound to an account (ARNs
# then hold literal values, which cdk-nag acknowledgments must match too).
CLI_DEFAULTS = {"dev": (None, None), "prod": ("123456789012", "eu-west-1")}


@functools.cache
def synthesize(env: str) -> Synthesized:
    """Build and synthesize environment ``env`` with cdk-nag enforced (findings raise)."""
    outdir = tempfile.mkdtemp(prefix=f"cdk-{env}-")
    app = cdk.App(context=cdk_context(env), outdir=outdir)
    account, region = CLI_DEFAULTS[env]
    platform = build_platform(app, default_account=account, default_region=region)
    assembly = app.synth()
    prefix = f"fraud-mlops-{env}-"
    templates = {stack.stack_name.removeprefix(prefix): stack.template for stack in assembly.stacks}
    return Synthesized(platform=platform, templates=templates, outdir=Path(assembly.directory))


def normalized(template: dict[str, Any]) -> Any:
    """The template with asset hashes replaced, so snapshots hold across runs and machines.

    CDK sorts some lists (e.g. policy resources) by value, so a changed asset hash can reorder
    them: lists that held a hash are sorted after the replacement.
    """

    def walk(node: Any) -> Any:
        if isinstance(node, dict):
            return {key: walk(value) for key, value in node.items()}
        if isinstance(node, list):
            items = [walk(item) for item in node]
            if _HASH.search(json.dumps(node)):
                items.sort(key=lambda item: json.dumps(item, sort_keys=True))
            return items
        if isinstance(node, str):
            return _HASH.sub("<asset-hash>", node)
        return node

    return walk(template)
