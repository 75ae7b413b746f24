"""Studio clean-up custom resources, on the CDK provider framework (on_event / is_complete).

Two resources share this code (``ResourceProperties.Cleanup``):

- ``apps`` (depends on the domain and its profiles, so on stack delete it runs first):
  deletes the domain's apps, then its spaces (:func:`mlops.studio.delete_apps_and_spaces`).
- ``storage`` (the domain depends on it, so on stack delete it runs after the domain is gone):
  deletes the domain's home EFS and SageMaker's security groups
  (:func:`mlops.studio.delete_domain_storage`). The domain id is not a property (that would be a
  dependency cycle): it is read from the stack's domain resource, which CloudFormation still
  describes while the stack is being deleted.

Create and Update do nothing but name the resource; Delete polls until everything is gone.
The same code is deployed twice; ``CLEANUP_STAGE`` (``on_event`` or ``is_complete``) says
which role this function plays in the provider.
"""

from __future__ import annotations

import logging
import os
from collections.abc import Mapping
from typing import Any, cast

import boto3

from mlops.errors import InputError
from mlops.studio import (
    CleanupReport,
    StackResourceReader,
    delete_apps_and_spaces,
    delete_domain_storage,
    domain_id_of_stack_resource,
    validate_domain_id,
)

logger = logging.getLogger()
logger.setLevel(logging.INFO)

ENV_STAGE = "CLEANUP_STAGE"
STAGES = ("on_event", "is_complete")
REQUEST_TYPES = ("Create", "Update", "Delete")
KINDS = ("apps", "storage")


def handler(event: Mapping[str, Any], context: object) -> dict[str, Any]:
    stage = os.environ.get(ENV_STAGE, "")
    if stage not in STAGES:
        raise InputError(f"{ENV_STAGE} must be one of {', '.join(STAGES)}, got {stage!r}")
    request_type, kind, properties = _parse(event)
    if stage == "on_event":
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
    elif (
        not isinstance(properties.get("DomainLogicalId"), str) or not properties["DomainLogicalId"]
    ):
        raise InputError("ResourceProperties.DomainLogicalId must name the domain's logical id")
    return str(request_type), str(kind), properties


def on_event(
    event: Mapping[str, Any], request_type: str, kind: str, properties: Mapping[str, Any]
) -> dict[str, Any]:
    """Name the resource. ``apps`` is named after its domain: a replaced domain gives a new
    name, and CloudFormation then deletes the old resource, which cleans up the old domain."""
    if request_type == "Delete":
        return {"PhysicalResourceId": event["PhysicalResourceId"]}
    target = properties["DomainId"] if kind == "apps" else properties["DomainLogicalId"]
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
        stack_id = event.get("StackId")
        if not isinstance(stack_id, str) or not stack_id:
            raise InputError("StackId must be the stack's ARN")
        domain_id = domain_id_of_stack_resource(
            cast(StackResourceReader, session.client("cloudformation")),
            stack_id=stack_id,
            logical_id=properties["DomainLogicalId"],
        )
        if domain_id is None:
            logger.info("the domain was never created: nothing to clean up")
            return {"IsComplete": True}
        report = delete_domain_storage(
            domain_id,
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
