"""Environment contracts of the Lambda functions: each variable named and formatted once.

Every function's settings are a frozen dataclass in its feature package (``DeploySettings``,
``ScheduledSettings``, ...) with two halves of one contract:

* ``to_environment()`` -> ``dict[str, str]``: what the construct sets on the function (values may
  be CDK tokens at synth; nothing is validated here);
* ``from_environment(environ)``: what the handler reads at invocation, validated with
  :class:`Variables`, so a bad or missing variable is one line naming it and what is allowed.

The construct and the handler import the same class, so a variable set under one name and read
under another cannot happen; the shipped-Lambda tests (tests/shipped) prove it on the
synthesized templates. Shared formats (instance types, ARNs) live here once and are also used
by the CDK config (``stacks.config``).
"""

from __future__ import annotations

import re
from collections.abc import Mapping

from mlops.errors import InputError

# ml.<family>.<size>, e.g. ml.m5.large, ml.g4dn.12xlarge, ml.t3.medium.
INSTANCE_TYPE_PATTERN = r"ml\.[a-z][a-z0-9-]*\.(medium|large|xlarge|[1-9][0-9]?xlarge|metal)"
ENVIRONMENT_NAME_PATTERN = r"[a-z][a-z0-9]{0,9}"
SUBNET_ID_PATTERN = r"subnet-[0-9a-f]{8,17}"
SECURITY_GROUP_ID_PATTERN = r"sg-[0-9a-f]{8,17}"


def arn_pattern(service: str) -> str:
    """An ARN of ``service`` in any partition (``arn:aws:sns:...``, ``arn:aws-cn:sns:...``)."""
    return rf"arn:aws[a-z-]*:{re.escape(service)}:.+"


def flag(value: bool) -> str:
    """How a boolean is written into an environment variable (read back by ``Variables.flag``)."""
    return "true" if value else "false"


class Variables:
    """Validated reads of a function's environment; each error names the variable."""

    def __init__(self, environ: Mapping[str, str]) -> None:
        self._environ = environ

    def _fail(self, name: str, value: str, allowed: str) -> InputError:
        return InputError(f"environment variable {name}={value!r} is invalid; allowed: {allowed}")

    def text(self, name: str, pattern: str = r".+", *, allowed: str | None = None) -> str:
        value = self._environ.get(name, "").strip()
        if not value:
            raise InputError(f"environment variable {name} is not set")
        if not re.fullmatch(pattern, value):
            raise self._fail(name, value, allowed or f"a value matching {pattern}")
        return value

    def optional(
        self, name: str, pattern: str = r".+", *, allowed: str | None = None
    ) -> str | None:
        """``None`` when unset or empty, else validated like :meth:`text`."""
        if not self._environ.get(name, "").strip():
            return None
        return self.text(name, pattern, allowed=allowed)

    def number(self, name: str, low: int, high: int) -> int:
        value = self.text(name, r"[0-9]+", allowed=f"a whole number from {low} to {high}")
        if not low <= int(value) <= high:
            raise self._fail(name, value, f"a whole number from {low} to {high}")
        return int(value)

    def flag(self, name: str) -> bool:
        value = self.text(name, allowed="true or false").lower()
        if value not in ("true", "false"):
            raise self._fail(name, value, "true or false")
        return value == "true"

    def choice(self, name: str, choices: tuple[str, ...]) -> str:
        value = self.text(name, allowed=", ".join(choices))
        if value not in choices:
            raise self._fail(name, value, ", ".join(choices))
        return value

    def instance_type(self, name: str) -> str:
        return self.text(name, INSTANCE_TYPE_PATTERN, allowed="an instance type like ml.m5.large")

    def arn(self, name: str, service: str) -> str:
        return self.text(name, arn_pattern(service), allowed=f"an ARN of {service}")

    def ids(self, name: str, pattern: str, *, most: int) -> tuple[str, ...]:
        """Comma-separated resource ids, 1..``most`` of them, no duplicates."""
        allowed = f"1 to {most} comma-separated ids like {pattern}"
        value = self.text(name, allowed=allowed)
        items = value.split(",")
        if (
            len(items) > most
            or len(set(items)) != len(items)
            or not all(re.fullmatch(pattern, item) for item in items)
        ):
            raise self._fail(name, value, allowed)
        return tuple(items)
