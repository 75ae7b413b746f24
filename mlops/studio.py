"""Complete removal of a SageMaker Studio domain's run-time leftovers, one idempotent pass.

CloudFormation cannot delete a domain while it has apps or spaces, and deleting the domain
leaves its home EFS file system (with mount targets) and the security groups SageMaker created
for it, which then block deleting the VPC. Two steps, in this order:

1. :func:`delete_apps_and_spaces` (while the domain exists): every app of the domain, space apps
   included, then, once no app is left, every space.
2. :func:`delete_domain_storage` (after the domain is gone): the home EFS file system (mount
   targets first) and the security groups tagged ``ManagedByAmazonSageMakerResource`` with the
   domain's ARN (their rules first: the NFS groups reference each other).
   :func:`delete_vpc_domain_storage` does the same for every *deleted* domain whose storage is
   in one VPC, found by that owner tag: the stack-delete hook runs after its domain is gone and
   cannot be told the domain's id (that would be a dependency cycle), only the VPC.

Each call does what can be done now and returns a :class:`CleanupReport`; deletions that
AWS finishes asynchronously are ``pending``: call again until ``report.done``. Used by the
Studio stack's clean-up custom resource (``lambdas/studio_cleanup``, polled by the CDK provider
framework) and by teardown. Every list call paginates; "not found" counts as done; "in use"
means try again on the next pass; only resources of the given domain (or of deleted domains in
the given VPC) are touched; an error that is neither is raised, never taken for success.
"""

from __future__ import annotations

import logging
import re
from collections.abc import Callable, Iterator, Mapping
from dataclasses import dataclass, field
from functools import partial
from typing import TYPE_CHECKING, Any

from botocore.exceptions import ClientError

from mlops.aws_errors import error_code, is_not_found
from mlops.environment import Variables
from mlops.errors import InputError

if TYPE_CHECKING:
    from mypy_boto3_ec2 import EC2Client
    from mypy_boto3_efs import EFSClient
    from mypy_boto3_sagemaker import SageMakerClient

logger = logging.getLogger(__name__)

# SageMaker tags the domain's home EFS and the security groups it creates with this key,
# whose value is the domain ARN.
SAGEMAKER_OWNER_TAG = "ManagedByAmazonSageMakerResource"
# SageMaker's DomainId pattern (botocore's service model): d-(-*[a-z0-9]){1,61}.
_DOMAIN_ID = re.compile(r"d-(?:-*[a-z0-9]){1,61}")
_DOMAIN_ID_AT_END = re.compile(r"(?:^|/)(d-(?:-*[a-z0-9]){1,61})$")
VPC_ID_PATTERN = r"vpc-[0-9a-f]{8,17}"
# arn:<partition>:sagemaker:<region>:<account>:domain/ : the domains of one account and region.
DOMAIN_ARN_PREFIX_PATTERN = r"arn:aws[a-z-]*:sagemaker:[a-z0-9-]+:[0-9]{12}:domain/"
_IN_USE = {"ResourceInUse", "FileSystemInUse", "DependencyViolation", "IncorrectMountTargetState"}

# The clean-up function is deployed twice on one CDK provider: which role this copy plays.
ENV_STAGE = "CLEANUP_STAGE"
STAGES = ("on_event", "is_complete")


@dataclass(frozen=True)
class CleanupFunctionSettings:
    """Environment contract of ``lambdas/studio_cleanup`` (set by its construct, read by it)."""

    stage: str

    def to_environment(self) -> dict[str, str]:
        return {ENV_STAGE: self.stage}

    @classmethod
    def from_environment(cls, environ: Mapping[str, str]) -> CleanupFunctionSettings:
        return cls(stage=Variables(environ).choice(ENV_STAGE, STAGES))


@dataclass
class CleanupReport:
    """What one pass did. ``deleted``: deletions requested (or finished) in this pass;
    ``pending``: still going away, or busy: call again; ``skipped``: left alone, and why.
    ``scope``: what the pass was about (``domain d-...`` or ``vpc vpc-...``)."""

    scope: str
    deleted: list[str] = field(default_factory=list)
    pending: list[str] = field(default_factory=list)
    skipped: list[str] = field(default_factory=list)

    @property
    def done(self) -> bool:
        return not self.pending

    def summary(self) -> str:
        return (
            f"{self.scope}: deleted {len(self.deleted)}, pending {len(self.pending)}, "
            f"skipped {len(self.skipped)}"
            + (f"; pending: {', '.join(self.pending)}" if self.pending else "")
        )


def validate_domain_id(value: object) -> str:
    """The domain id (``d-...``) itself, or :class:`InputError` naming what was given."""
    if not isinstance(value, str) or not _DOMAIN_ID.fullmatch(value):
        raise InputError(f"domain id must look like d-xxxxxxxxxxxx, got {value!r}")
    return value


def domain_id_from(value: str) -> str | None:
    """The domain id in a domain id or ARN (``arn:...:domain/d-...``), else None."""
    match = _DOMAIN_ID_AT_END.search(value)
    return match.group(1) if match else None


# Step 1: apps, then spaces -----------------------------------------------------------------


def _apps(sagemaker: SageMakerClient, domain_id: str) -> Iterator[dict[str, Any]]:
    kwargs: dict[str, Any] = {"DomainIdEquals": domain_id}
    while True:
        page = sagemaker.list_apps(**kwargs)
        for app in page.get("Apps", []):
            if app.get("DomainId") == domain_id:  # never another domain's app
                yield dict(app)
        if not page.get("NextToken"):
            return
        kwargs["NextToken"] = page["NextToken"]


def _spaces(sagemaker: SageMakerClient, domain_id: str) -> Iterator[dict[str, Any]]:
    kwargs: dict[str, Any] = {"DomainIdEquals": domain_id}
    while True:
        page = sagemaker.list_spaces(**kwargs)
        for space in page.get("Spaces", []):
            if space.get("DomainId") == domain_id:
                yield dict(space)
        if not page.get("NextToken"):
            return
        kwargs["NextToken"] = page["NextToken"]


def _request_deletion(
    report: CleanupReport,
    label: str,
    delete: Callable[[], object],
    *,
    while_deleting: str | None = None,
    busy_note: str = "",
) -> None:
    """Call ``delete`` and record the outcome: "not found" is done already, "in use" is
    pending (the next pass retries), anything else raises. ``while_deleting`` names the state
    of a resource AWS deletes asynchronously: it stays pending until it is gone."""
    try:
        delete()
    except ClientError as error:
        code = error_code(error)
        if is_not_found(error):
            return
        if code in _IN_USE:
            report.pending.append(f"{label} ({busy_note}busy: {code})")
            return
        raise
    logger.info("deleting %s (%s)", label, report.scope)
    report.deleted.append(label)
    if while_deleting:
        report.pending.append(f"{label} ({while_deleting})")


def delete_apps(sagemaker: SageMakerClient, domain_id: str, report: CleanupReport) -> None:
    """Request deletion of every app of the domain that is not already deleted."""
    for app in list(_apps(sagemaker, domain_id)):  # list every page first, then delete
        owner = (
            {"SpaceName": app["SpaceName"]}
            if app.get("SpaceName")
            else {"UserProfileName": app["UserProfileName"]}
        )
        label = f"app {next(iter(owner.values()))}/{app['AppType']}/{app['AppName']}"
        status = app.get("Status")
        if status == "Deleted":
            continue
        if status == "Deleting":
            report.pending.append(f"{label} (Deleting)")
            continue
        _request_deletion(
            report,
            label,
            partial(
                sagemaker.delete_app,
                DomainId=domain_id,
                AppType=app["AppType"],
                AppName=app["AppName"],
                **owner,
            ),
            busy_note=f"{status}, ",
            while_deleting="Deleting",
        )


def delete_spaces(sagemaker: SageMakerClient, domain_id: str, report: CleanupReport) -> None:
    """Request deletion of every space of the domain (its apps must be gone)."""
    for space in list(_spaces(sagemaker, domain_id)):
        label = f"space {space['SpaceName']}"
        if space.get("Status") == "Deleting":
            report.pending.append(f"{label} (Deleting)")
            continue
        _request_deletion(
            report,
            label,
            partial(sagemaker.delete_space, DomainId=domain_id, SpaceName=space["SpaceName"]),
            while_deleting="Deleting",
        )


def delete_apps_and_spaces(sagemaker: SageMakerClient, domain_id: str) -> CleanupReport:
    """One pass of step 1: apps first; spaces only once no app of the domain remains."""
    report = CleanupReport(scope=f"domain {validate_domain_id(domain_id)}")
    delete_apps(sagemaker, domain_id, report)
    if report.done:
        delete_spaces(sagemaker, domain_id, report)
    else:
        report.skipped.append("spaces: waiting for the apps to be deleted")
    logger.info(report.summary())
    return report


# Step 2: home EFS and SageMaker's security groups, after the domain ----------------------


def _owned_by(tags: list[Any], domain_id: str) -> bool:
    """Tagged ``ManagedByAmazonSageMakerResource`` = ``arn:...:domain/<domain_id>``."""
    return any(
        tag.get("Key") == SAGEMAKER_OWNER_TAG
        and str(tag.get("Value", "")).startswith("arn:")
        and domain_id_from(str(tag.get("Value", ""))) == domain_id
        for tag in tags
    )


def _domain_file_systems(efs: EFSClient, domain_id: str) -> Iterator[dict[str, Any]]:
    kwargs: dict[str, Any] = {}
    while True:
        page = efs.describe_file_systems(**kwargs)
        for file_system in page.get("FileSystems", []):
            if _owned_by(list(file_system.get("Tags", [])), domain_id):
                yield dict(file_system)
        if not page.get("NextMarker"):
            return
        kwargs["Marker"] = page["NextMarker"]


def _mount_targets(efs: EFSClient, file_system_id: str) -> Iterator[dict[str, Any]]:
    kwargs: dict[str, Any] = {"FileSystemId": file_system_id}
    while True:
        try:
            page = efs.describe_mount_targets(**kwargs)
        except ClientError as error:
            if is_not_found(error):
                return
            raise
        yield from (dict(target) for target in page.get("MountTargets", []))
        if not page.get("NextMarker"):
            return
        kwargs["Marker"] = page["NextMarker"]


def _domain_security_groups(ec2: EC2Client, domain_id: str) -> Iterator[dict[str, Any]]:
    kwargs: dict[str, Any] = {"Filters": [{"Name": "tag-key", "Values": [SAGEMAKER_OWNER_TAG]}]}
    while True:
        page = ec2.describe_security_groups(**kwargs)
        for group in page.get("SecurityGroups", []):
            if _owned_by(list(group.get("Tags", [])), domain_id):
                yield dict(group)
        if not page.get("NextToken"):
            return
        kwargs["NextToken"] = page["NextToken"]


def delete_file_systems(efs: EFSClient, domain_id: str, report: CleanupReport) -> None:
    """Mount targets first; a file system once it has none."""
    for file_system in list(_domain_file_systems(efs, domain_id)):
        fs_id = file_system["FileSystemId"]
        if file_system.get("LifeCycleState") in ("deleting", "deleted"):
            report.pending.append(f"efs {fs_id} ({file_system['LifeCycleState']})")
            continue
        targets_left = False
        for target in list(_mount_targets(efs, fs_id)):
            label = f"mount target {target['MountTargetId']} of efs {fs_id}"
            state = target.get("LifeCycleState")
            if state == "deleted":
                continue
            targets_left = True
            if state == "deleting":
                report.pending.append(f"{label} (deleting)")
                continue
            _request_deletion(
                report,
                label,
                partial(efs.delete_mount_target, MountTargetId=target["MountTargetId"]),
                while_deleting="deleting",
            )
        if targets_left:
            report.pending.append(f"efs {fs_id} (waiting for its mount targets)")
            continue
        _request_deletion(
            report, f"efs {fs_id}", partial(efs.delete_file_system, FileSystemId=fs_id)
        )


def delete_security_groups(ec2: EC2Client, domain_id: str, report: CleanupReport) -> None:
    """Revoke each group's rules (the NFS pair reference each other), then delete it."""
    groups = list(_domain_security_groups(ec2, domain_id))
    for group in groups:
        group_id = group["GroupId"]
        for permissions, revoke in (
            (group.get("IpPermissions"), ec2.revoke_security_group_ingress),
            (group.get("IpPermissionsEgress"), ec2.revoke_security_group_egress),
        ):
            if not permissions:
                continue
            try:
                revoke(GroupId=group_id, IpPermissions=permissions)
            except ClientError as error:
                if not is_not_found(error):
                    raise
    for group in groups:
        group_id = group["GroupId"]
        label = f"security group {group_id} ({group.get('GroupName', '')})"
        # "In use" while the EFS's network interfaces are attached: a later pass retries.
        _request_deletion(report, label, partial(ec2.delete_security_group, GroupId=group_id))


def domain_status(sagemaker: SageMakerClient, domain_id: str) -> str | None:
    """The domain's status, or None when SageMaker says it does not exist. Any other error is
    raised: an answer we cannot read is never taken for "deleted"."""
    try:
        return str(sagemaker.describe_domain(DomainId=domain_id).get("Status", ""))
    except ClientError as error:
        if is_not_found(error):
            return None
        raise


def delete_domain_storage(
    domain_id: str,
    *,
    sagemaker: SageMakerClient,
    efs: EFSClient,
    ec2: EC2Client,
    report: CleanupReport | None = None,
) -> CleanupReport:
    """One pass of step 2. Refuses while the domain exists: its storage is in use.

    A domain that is still ``Deleting`` makes the pass pending; any other existing domain is
    left alone (``skipped``), so a misdirected call can never break a live domain.
    """
    validate_domain_id(domain_id)
    report = report or CleanupReport(scope=f"domain {domain_id}")
    status = domain_status(sagemaker, domain_id)
    if status is not None:
        if status in ("Deleting", "Pending"):
            report.pending.append(f"domain {domain_id} ({status})")
        else:
            report.skipped.append(f"domain {domain_id} still exists ({status}): storage in use")
        logger.info(report.summary())
        return report
    pending_before = len(report.pending)
    delete_file_systems(efs, domain_id, report)
    if len(report.pending) == pending_before:
        delete_security_groups(ec2, domain_id, report)
    else:
        report.skipped.append(f"security groups of {domain_id}: waiting for the file system")
    logger.info(report.summary())
    return report


# Step 2 for a stack delete: the storage of deleted domains in one VPC --------------------


def _owner_domain(tags: list[Any], domain_arn_prefix: str) -> str | None:
    """The domain id of SageMaker's owner tag when it names a domain under the prefix."""
    for tag in tags:
        value = str(tag.get("Value", ""))
        if tag.get("Key") == SAGEMAKER_OWNER_TAG and value.startswith(domain_arn_prefix):
            return domain_id_from(value)
    return None


def domains_with_storage_in(
    vpc_id: str, domain_arn_prefix: str, *, efs: EFSClient, ec2: EC2Client
) -> set[str]:
    """Ids of the domains (of this account and region) whose storage SageMaker put in the VPC:
    the owners of its tagged security groups, and of tagged file systems with a mount target
    there. Security groups go last in a clean-up, so they keep naming the domain until the
    file system is gone."""
    if not re.fullmatch(VPC_ID_PATTERN, vpc_id):
        raise InputError(f"VPC id must look like vpc-0123456789abcdef0, got {vpc_id!r}")
    if not re.fullmatch(DOMAIN_ARN_PREFIX_PATTERN, domain_arn_prefix):
        raise InputError(
            "domain ARN prefix must look like arn:aws:sagemaker:<region>:<account>:domain/, "
            f"got {domain_arn_prefix!r}"
        )
    found: set[str] = set()
    kwargs: dict[str, Any] = {
        "Filters": [
            {"Name": "vpc-id", "Values": [vpc_id]},
            {"Name": "tag-key", "Values": [SAGEMAKER_OWNER_TAG]},
        ]
    }
    while True:
        page = ec2.describe_security_groups(**kwargs)
        for group in page.get("SecurityGroups", []):
            owner = _owner_domain(list(group.get("Tags", [])), domain_arn_prefix)
            if owner and group.get("VpcId") == vpc_id:
                found.add(owner)
        if not page.get("NextToken"):
            break
        kwargs["NextToken"] = page["NextToken"]
    listing: dict[str, Any] = {}
    while True:
        fs_page = efs.describe_file_systems(**listing)
        for file_system in fs_page.get("FileSystems", []):
            owner = _owner_domain(list(file_system.get("Tags", [])), domain_arn_prefix)
            if owner is None or owner in found:
                continue
            targets = _mount_targets(efs, file_system["FileSystemId"])
            if any(target.get("VpcId") == vpc_id for target in targets):
                found.add(owner)
        if not fs_page.get("NextMarker"):
            break
        listing["Marker"] = fs_page["NextMarker"]
    return found


def delete_vpc_domain_storage(
    vpc_id: str,
    domain_arn_prefix: str,
    *,
    sagemaker: SageMakerClient,
    efs: EFSClient,
    ec2: EC2Client,
) -> CleanupReport:
    """One pass of step 2 for every domain with storage in the VPC (live domains: skipped).

    Done means: the VPC was listed and holds no SageMaker-tagged security group or mount
    target of a deleted domain any more (never "done" because a lookup failed: that raises).
    """
    report = CleanupReport(scope=f"vpc {vpc_id}")
    for domain_id in sorted(domains_with_storage_in(vpc_id, domain_arn_prefix, efs=efs, ec2=ec2)):
        delete_domain_storage(domain_id, sagemaker=sagemaker, efs=efs, ec2=ec2, report=report)
    logger.info(report.summary())
    return report
