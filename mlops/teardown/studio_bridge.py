"""Studio clean-up is the Studio feature's logic (:mod:`mlops.studio`); teardown only calls it.

A domain of this environment that still exists has its apps and then its spaces deleted (the
domain itself and its user profiles belong to CloudFormation). A domain that no longer exists
may have left its home EFS and SageMaker-created security groups behind: those are removed.
Each :mod:`mlops.studio` call is one pass; while it reports work pending (apps still
deleting), :class:`PendingError` makes the executor call again after a pause.
"""

from __future__ import annotations

from mlops import studio
from mlops.teardown.aws import Clients
from mlops.teardown.resources import Resource


class PendingError(Exception):
    """The pass did what it could; the rest is still going away: try again later."""


def delete_domain_content(clients: Clients, resource: Resource) -> str:
    report = studio.delete_apps_and_spaces(clients.sagemaker, resource.params["DomainId"])
    if not report.done:
        raise PendingError(report.summary())
    return report.summary()


def delete_domain_leftovers(clients: Clients, resource: Resource) -> str:
    report = studio.delete_domain_storage(
        resource.params["DomainId"], sagemaker=clients.sagemaker, efs=clients.efs, ec2=clients.ec2
    )
    if not report.done:
        raise PendingError(report.summary())
    return report.summary()
