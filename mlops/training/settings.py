"""The QuotaPreflight Lambda's environment: set by the Training stack, read by the handler.

One class for both sides (mlops.environment): the construct calls :meth:`to_environment`, the
handler :meth:`from_environment`, so a variable cannot be set under one name and read under
another.
"""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass
from typing import Final

from mlops.environment import INSTANCE_TYPE_PATTERN, Variables, flag

ENV_FALLBACK_INSTANCE_TYPE: Final = "FALLBACK_INSTANCE_TYPE"
ENV_REQUEST_QUOTA_INCREASE: Final = "REQUEST_QUOTA_INCREASE"


@dataclass(frozen=True, kw_only=True)
class PreflightSettings:
    """``fallback_instance_type``: where processing/transform steps move when their quota is
    short (None: no fallback). ``request_quota_increase``: file one increase request per short
    quota (never a second while one is pending)."""

    fallback_instance_type: str | None = None
    request_quota_increase: bool = False

    def to_environment(self) -> dict[str, str]:
        environment = {ENV_REQUEST_QUOTA_INCREASE: flag(self.request_quota_increase)}
        if self.fallback_instance_type:
            environment[ENV_FALLBACK_INSTANCE_TYPE] = self.fallback_instance_type
        return environment

    @classmethod
    def from_environment(cls, environ: Mapping[str, str]) -> PreflightSettings:
        variables = Variables(environ)
        return cls(
            fallback_instance_type=variables.optional(
                ENV_FALLBACK_INSTANCE_TYPE,
                INSTANCE_TYPE_PATTERN,
                allowed="an instance type like ml.m5.large",
            ),
            request_quota_increase=variables.flag(ENV_REQUEST_QUOTA_INCREASE),
        )
