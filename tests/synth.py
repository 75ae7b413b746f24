"""Synthesize the platform for tests exactly as `cdk synth` does, once per test session.

The CLI gives the app ``cdk.json``'s context; a bare ``cdk.App()`` in a test would not, and
feature flags would differ. So the context is read from ``cdk.json`` here and handed in.

With ``pytest -n 2`` both workers need both environments: one synthesizes an environment into
a folder shared by the session's workers (:data:`SHARED_ROOT`, under pytest's temporary
root; a file lock makes the other wait) and the other reads the cloud assembly back from disk.
Everything the tests read is on disk anyway (templates, manifest, staged assets), so both see
the same assembly, and every environment is synthesized, with cdk-nag enforced, once.
"""

from __future__ import annotations

import fcntl
import functools
import json
import re
import tempfile
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from stacks.config import EnvironmentConfig, load_environment
from tests.shipped.assembly import Assembly

ROOT = Path(__file__).resolve().parent.parent
_HASH = re.compile(r"[0-9a-f]{64}")


def cdk_context(env: str) -> dict[str, Any]:
    context: dict[str, Any] = json.loads((ROOT / "cdk.json").read_text())["context"]
    # The CLI also asks for asset metadata (`aws:asset:path`): where each staged asset is.
    return {**context, "env": env, "aws:cdk:enable-asset-metadata": True}


@dataclass(frozen=True)
class Synthesized:
    config: EnvironmentConfig  # as app.py validates it
    outdir: Path  # the cloud assembly: templates and staged assets, as `cdk synth` writes them

    @functools.cached_property
    def assembly(self) -> Assembly:
        """The assembly read from disk (what ships), not from the CDK objects."""
        return Assembly(self.outdir)

    @property
    def templates(self) -> dict[str, dict[str, Any]]:
        """By stack part: "data", "network", ..."""
        return self.assembly.templates

    @functools.cached_property
    def _manifest(self) -> dict[str, Any]:
        manifest: dict[str, Any] = json.loads((self.outdir / "manifest.json").read_text())
        return manifest

    def stack_name(self, part: str) -> str:
        return self.assembly.stack_names[part]

    def dependencies(self, part: str) -> set[str]:
        """The parts stack ``part`` is deployed after (the manifest's dependencies)."""
        names = self._manifest["artifacts"][self.stack_name(part)].get("dependencies", [])
        by_name = {name: p for p, name in self.assembly.stack_names.items()}
        return {by_name[name] for name in names if name in by_name}

    def termination_protection(self, part: str) -> bool:
        artifact = self._manifest["artifacts"][self.stack_name(part)]
        return bool(artifact["properties"].get("terminationProtection", False))

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


# Set by tests/conftest.py to a folder shared by the session's workers (None: this process only).
SHARED_ROOT: Path | None = None


@functools.cache
def synthesize(env: str) -> Synthesized:
    """Environment ``env`` synthesized with cdk-nag enforced (findings raise), once per session."""
    account, region = CLI_DEFAULTS[env]
    config = load_environment(
        {"environments": cdk_context(env)["environments"], "env": env},
        default_account=account,
        default_region=region,
    )
    if SHARED_ROOT is None:
        return Synthesized(config=config, outdir=_synth(env, Path(tempfile.mkdtemp())))
    folder = SHARED_ROOT / f"cdk-{env}"
    with (SHARED_ROOT / f"cdk-{env}.lock").open("w") as lock:
        fcntl.flock(lock, fcntl.LOCK_EX)  # released when the file closes
        done = folder / "synthesized"
        if not done.exists():
            _synth(env, folder)
            done.touch()
    return Synthesized(config=config, outdir=folder)


def _synth(env: str, outdir: Path) -> Path:
    import aws_cdk as cdk

    from stacks.platform import build_platform

    app = cdk.App(context=cdk_context(env), outdir=str(outdir))
    account, region = CLI_DEFAULTS[env]
    build_platform(app, default_account=account, default_region=region)
    return Path(app.synth().directory)


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
