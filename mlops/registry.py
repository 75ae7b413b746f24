"""Model registry queries and decisions: versions of a group, the wanted version, approvals.

*Which version should serve?* The most recent approval decision wins: among the group's
versions that are currently ``Approved`` (and ``Completed``), the one approved last. SageMaker
records no approval timestamp, so "approved last" is read as the package's
``LastModifiedTime`` (set by ``UpdateModelPackage``, which is how approvals are made), ties
broken by the higher version. Consequences:

* approving v3 makes v3 wanted; approving an older v1 afterwards makes v1 wanted (rollback);
* rejecting the wanted version makes the newest remaining approval wanted;
* rejecting any other version changes nothing;
* the answer depends only on the registry's current state, never on the event that triggered
  the lookup, so repeated, late or out-of-order events give the same answer.

Every "latest" lookup sorts explicitly (``SortOrder="Descending"``).
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime
from typing import TYPE_CHECKING, Literal

from mlops.errors import InputError

if TYPE_CHECKING:
    from mypy_boto3_sagemaker import SageMakerClient
    from mypy_boto3_sagemaker.type_defs import ModelPackageSummaryTypeDef

ApprovalStatus = Literal["Approved", "Rejected", "PendingManualApproval"]


@dataclass(frozen=True)
class ModelVersion:
    group: str
    version: int
    arn: str
    approval_status: str
    package_status: str
    created: datetime
    modified: datetime | None = None  # from DescribeModelPackage; None when only listed
    approval_description: str = ""


def _from_summary(summary: ModelPackageSummaryTypeDef) -> ModelVersion:
    return ModelVersion(
        group=summary.get("ModelPackageGroupName", ""),
        version=int(summary.get("ModelPackageVersion", 0)),
        arn=summary["ModelPackageArn"],
        approval_status=summary.get("ModelApprovalStatus", ""),
        package_status=summary["ModelPackageStatus"],
        created=summary["CreationTime"],
    )


def list_versions(
    sagemaker: SageMakerClient, group: str, *, status: ApprovalStatus | None = None
) -> list[ModelVersion]:
    """Every version of ``group`` (optionally only one approval status), newest first."""
    paginator = sagemaker.get_paginator("list_model_packages")
    filters = {"ModelApprovalStatus": status} if status else {}
    versions: list[ModelVersion] = []
    for page in paginator.paginate(
        ModelPackageGroupName=group,
        ModelPackageType="Versioned",
        SortBy="CreationTime",
        SortOrder="Descending",
        **filters,  # type: ignore[arg-type]
    ):
        versions.extend(_from_summary(s) for s in page["ModelPackageSummaryList"])
    return versions


def describe_version(sagemaker: SageMakerClient, arn: str) -> ModelVersion:
    """The package's state now (the source of truth; events only trigger a re-read)."""
    package = sagemaker.describe_model_package(ModelPackageName=arn)
    return ModelVersion(
        group=package.get("ModelPackageGroupName", ""),
        version=int(package.get("ModelPackageVersion", 0)),
        arn=package["ModelPackageArn"],
        approval_status=package.get("ModelApprovalStatus", ""),
        package_status=package["ModelPackageStatus"],
        created=package["CreationTime"],
        modified=package.get("LastModifiedTime", package["CreationTime"]),
        approval_description=package.get("ApprovalDescription", ""),
    )


def wanted_version(sagemaker: SageMakerClient, group: str) -> ModelVersion | None:
    """The version that should serve ``group``: the most recent approval decision, or None
    when no version is approved. Reads every approved version once (list + describe)."""
    approved = [
        describe_version(sagemaker, v.arn)
        for v in list_versions(sagemaker, group, status="Approved")
        if v.package_status == "Completed"
    ]
    # Re-check after describing: an approval may have been withdrawn in between.
    approved = [v for v in approved if v.approval_status == "Approved"]
    if not approved:
        return None
    return max(approved, key=lambda v: (v.modified or v.created, v.version))


def find_version(sagemaker: SageMakerClient, group: str, version: int) -> ModelVersion:
    for candidate in list_versions(sagemaker, group):
        if candidate.version == version:
            return candidate
    raise InputError(f"model package group {group!r} has no version {version}")


def set_approval(
    sagemaker: SageMakerClient,
    group: str,
    version: int,
    status: Literal["Approved", "Rejected"],
    reason: str,
) -> ModelVersion:
    """Approve or reject one version; ``reason`` is recorded as its ApprovalDescription."""
    if not reason.strip():
        raise InputError("--reason must say why (it is recorded as the ApprovalDescription)")
    if len(reason) > 1024:
        raise InputError(f"--reason is {len(reason)} characters; at most 1024 are allowed")
    target = find_version(sagemaker, group, version)
    if target.package_status != "Completed":
        raise InputError(
            f"{group} v{version} is {target.package_status}; only Completed versions "
            "can be approved or rejected"
        )
    sagemaker.update_model_package(
        ModelPackageArn=target.arn, ModelApprovalStatus=status, ApprovalDescription=reason
    )
    return describe_version(sagemaker, target.arn)
