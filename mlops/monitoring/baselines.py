"""The drift baselines a model version carries, and the files a baseline job writes.

The training pipeline registers each version with ``DriftCheckBaselines`` (what monitoring
schedules compare against) and the matching ``ModelMetrics`` (what the registry shows):
``ModelDataQuality.Statistics/Constraints`` and ``ModelQuality.Statistics/Constraints``,
each the S3 URI of a file the Model Monitor container wrote in a baseline job
(``statistics.json`` and ``constraints.json`` in its output folder; docs "Create a
baseline", "Create a model quality baseline"). Monitoring reads ``DriftCheckBaselines``
first and falls back to ``ModelMetrics`` (a version registered by hand may carry only those).
"""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass
from typing import Any, Final

# What the Model Monitor container writes into its output folder (baseline and monitoring).
STATISTICS_FILE: Final = "statistics.json"
CONSTRAINTS_FILE: Final = "constraints.json"
VIOLATIONS_FILE: Final = "constraint_violations.json"


@dataclass(frozen=True)
class Baselines:
    data_statistics: str | None
    data_constraints: str | None
    model_constraints: str | None
    model_statistics: str | None = None

    @property
    def data_quality(self) -> bool:
        """A data-quality schedule needs both files of the data-quality baseline."""
        return bool(self.data_statistics and self.data_constraints)

    @property
    def model_quality(self) -> bool:
        """A model-quality schedule compares against the baseline's constraints."""
        return bool(self.model_constraints)

    def has(self, monitor: str) -> bool:
        return self.data_quality if monitor == "DataQuality" else self.model_quality


def _uri(section: Mapping[str, Any] | None, part: str) -> str | None:
    value = ((section or {}).get(part) or {}).get("S3Uri")
    return str(value) if value else None


def from_model_package(package: Mapping[str, Any]) -> Baselines:
    """Baselines of a DescribeModelPackage answer (DriftCheckBaselines, else ModelMetrics)."""
    drift = package.get("DriftCheckBaselines") or {}
    metrics = package.get("ModelMetrics") or {}

    def pick(kind: str, part: str) -> str | None:
        return _uri(drift.get(kind), part) or _uri(metrics.get(kind), part)

    return Baselines(
        data_statistics=pick("ModelDataQuality", "Statistics"),
        data_constraints=pick("ModelDataQuality", "Constraints"),
        model_constraints=pick("ModelQuality", "Constraints"),
        model_statistics=pick("ModelQuality", "Statistics"),
    )
