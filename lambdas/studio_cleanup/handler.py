"""Studio clean-up custom resources, on the CDK provider framework (on_event / is_complete).

Two resources share this code (``ResourceProperties.Cleanup``):

- ``apps`` (depends on the domain and its profiles, so on stack delete it runs first):
  deletes the domain's apps, then its spaces (:func:`mlops.studio.delete_apps_and_spaces`).
- ``storage`` (the domain depends on it, so on stack delete it runs after the domain is gone):
  deletes the home EFS and SageMaker's security groups of every deleted domain in the
  domain's VPC (:func:`mlops.studio.delete_vpc_domain_storage`), found by the owner tag
  SageMaker puts on them. Its properties name the VPC and the account's domain ARN prefix; the
  domain id cannot be one (the domain depends on this resource).

Create and Update do nothing but name the resource; Delete polls until everything is gone.
The same code is deployed twice; ``CLEANUP_STAGE`` (:class:`CleanupFunctionSettings`) says
which role this function plays in the provider.
"""

from __future__ import annotations

import logging
import os
import re
from collections.abc import Mapping
from typing import Any

import boto3

from mlops.errors import InputError
from mlops.studio import (
    DOMAIN_ARN_PREFIX_PATTERN,
    VPC_ID_PATTERN,
    CleanupFunctionSettings,
    CleanupReport,
    delete_apps_and_spaces,
    delete_vpc_domain_storage,
    validate_domain_id,
)

logger = logging.getLogger()
logger.setLevel(logging.INFO)

REQUEST_TYPES = ("Create", "Update", "Delete")
KINDS = ("apps", "storage")


def handler(event: Mapping[str, Any], context: object) -> dict[str, Any]:
    settings = CleanupFunctionSettings.from_environment(os.environ)
    request_type, kind, properties = _parse(event)
    if settings.stage == "on_event":
        return on_event(event, request_type, kind, properties)
    return is_complete(event, request_type, kind, properties, session=boto3.session.Session())


def _parse(event: Mapping[str, Any]) -> tuple[str, str, Mapping[str, Any]]:
    if not isinstance(event, Mapping):
        raise InputError(f"event must be an object, got {type(event).__name__}")
    request_type = event.get("RequestType")
    if request_type not in REQUEST_TYPES:
        raise InputError(
            f"RequestType must be one of {', '.join(REQUEST_TYPES)}, got {request_type!r}"
        )
    properties = event.get("ResourceProperties")
    if not isinstance(properties, Mapping):
        raise InputError("ResourceProperties must be an object")
    kind = properties.get("Cleanup")
    if kind not in KINDS:
        raise InputError(
            f"ResourceProperties.Cleanup must be one of {', '.join(KINDS)}, got {kind!r}"
        )
    if kind == "apps":
        validate_domain_id(properties.get("DomainId"))
    else:
        for name, pattern, example in (
            ("VpcId", VPC_ID_PATTERN, "vpc-0123456789abcdef0"),
            ("DomainArnPrefix", DOMAIN_ARN_PREFIX_PATTERN, "arn:aws:sagemaker:<r>:<a>:domain/"),
        ):
            value = properties.get(name)
            if not isinstance(value, str) or not re.fullmatch(pattern, value):
                raise InputError(
                    f"ResourceProperties.{name} must look like {example}, got {value!r}"
                )
    return str(request_type), str(kind), properties


def on_event(
    event: Mapping[str, Any], request_type: str, kind: str, properties: Mapping[str, Any]
) -> dict[str, Any]:
    """Name the resource. ``apps`` is named after its domain: a replaced domain gives a new
    name, and CloudFormation then deletes the old resource, which cleans up the old domain.
    ``storage`` keeps its name on update (a new name would make CloudFormation delete the old
    resource, i.e. clean the storage of a VPC whose domain is alive: skipped, but pointless)."""
    if request_type == "Delete" or (request_type == "Update" and kind == "storage"):
        return {"PhysicalResourceId": event["PhysicalResourceId"]}
    target = properties["DomainId"] if kind == "apps" else properties["VpcId"]
    return {"PhysicalResourceId": f"studio-cleanup-{kind}-{target}"}


def is_complete(
    event: Mapping[str, Any],
    request_type: str,
    kind: str,
    properties: Mapping[str, Any],
    *,
    session: boto3.session.Session,
) -> dict[str, Any]:
    """Create/Update: complete at once. Delete: one clean-up pass; complete when nothing is
    left pending (the provider calls again every query interval until its total timeout)."""
    if request_type != "Delete":
        return {"IsComplete": True}
    report: CleanupReport
    if kind == "apps":
        report = delete_apps_and_spaces(session.client("sagemaker"), properties["DomainId"])
    else:
        report = delete_vpc_domain_storage(
            properties["VpcId"],
            properties["DomainArnPrefix"],
            sagemaker=session.client("sagemaker"),
            efs=session.client("efs"),
            ec2=session.client("ec2"),
        )
    logger.info(
        "studio clean-up (%s): %s",
        kind,
        report.summary(),
        extra={"deleted": report.deleted, "pending": report.pending, "skipped": report.skipped},
    )
    return {"IsComplete": report.done}
