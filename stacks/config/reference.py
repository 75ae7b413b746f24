"""Generate docs/configuration.md from the config dataclasses, so the reference cannot drift.

``python -m stacks.config.reference > docs/configuration.md``; a test fails when the file
is stale.
"""

from __future__ import annotations

import dataclasses
import json
import types
import typing
from pathlib import Path
from typing import Any, Literal, get_args, get_origin

from stacks.config import EnvironmentConfig
from stacks.config.parsing import Rule

ROOT = Path(__file__).resolve().parents[2]

_INTRO = """\
# Configuration reference

Environments live in `cdk.json` under `context.environments.<name>`; pick one with
`-c env=<name>` (`make synth ENV=<name>`), default `dev`. Every key below is optional unless
marked **required**. A wrong value stops synth with one line naming the key path, the value
and what is allowed, e.g.

```
error: config error at environments.dev.deployment.instance_type: got 'm5.large'; \
allowed: a SageMaker instance type ml.<family>.<size>, e.g. ml.m5.large
```

Account and region: `account` / `region` if set, else `CDK_DEFAULT_ACCOUNT` /
`CDK_DEFAULT_REGION` (set by the CDK CLI from your credentials), else the stacks are
environment-agnostic (synth and tests need neither).

To add an environment, copy `dev` to a new key (1-10 lowercase letters and digits) and adjust.

This file is generated from `stacks/config/__init__.py`:
`.venv/bin/python -m stacks.config.reference > docs/configuration.md`.
"""


def _type_name(annotation: Any) -> str:
    origin = get_origin(annotation)
    args = get_args(annotation)
    if origin is Literal:
        return " \\| ".join(f"`{a}`" for a in args)
    if origin in (typing.Union, types.UnionType):
        inner = [a for a in args if a is not type(None)]
        return f"{_type_name(inner[0])} or null"
    if origin is tuple:
        return f"list of {_type_name(args[0])}"
    if origin is dict:
        return "object of strings"
    if dataclasses.is_dataclass(annotation):
        return "object"
    return str(getattr(annotation, "__name__", annotation))


def _default(spec: dataclasses.Field[Any]) -> str:
    if spec.default is not dataclasses.MISSING:
        value = spec.default
    elif spec.default_factory is not dataclasses.MISSING:
        value = spec.default_factory()
    else:
        return "**required**"
    if dataclasses.is_dataclass(value):
        return "(see below)"
    if isinstance(value, tuple):
        value = [
            dataclasses.asdict(v) if dataclasses.is_dataclass(v) and not isinstance(v, type) else v
            for v in value
        ]
    return f"`{json.dumps(value)}`"


def _sections(cls: type, path: str) -> list[str]:
    hints = typing.get_type_hints(cls)
    rows = [f"## `{path}`", "", "| key | type | default | meaning |", "|---|---|---|---|"]
    nested: list[tuple[type, str]] = []
    for spec in dataclasses.fields(cls):
        if path == "environments.<name>" and spec.name == "name":
            continue
        annotation = hints[spec.name]
        rule = spec.metadata.get("check")
        allowed = f" {rule.allowed[0].upper()}{rule.allowed[1:]}." if isinstance(rule, Rule) else ""
        rows.append(
            f"| `{spec.name}` | {_type_name(annotation)} | {_default(spec)} | "
            f"{spec.metadata.get('doc', '')}{allowed} |"
        )
        inner = [a for a in (annotation, *get_args(annotation)) if dataclasses.is_dataclass(a)]
        if inner:
            suffix = "[]" if get_origin(annotation) is tuple else ""
            nested.append((inner[0], f"{path}.{spec.name}{suffix}"))  # type: ignore[arg-type]
    lines = [*rows, ""]
    for inner_cls, inner_path in nested:
        lines += _sections(inner_cls, inner_path)
    return lines


def render() -> str:
    example = json.loads((ROOT / "cdk.json").read_text())["context"]["environments"]["dev"]
    body = "\n".join(_sections(EnvironmentConfig, "environments.<name>"))
    return (
        f"{_INTRO}\n{body}\n## Example (`dev` from cdk.json)\n\n```json\n"
        f"{json.dumps(example, indent=2)}\n```\n"
    )


if __name__ == "__main__":
    print(render(), end="")
