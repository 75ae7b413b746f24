"""cdk-nag wiring: the rule packs enforced on the whole app, and reasoned acknowledgments."""

from __future__ import annotations

import aws_cdk as cdk
from cdk_nag import AwsSolutionsChecks, ServerlessChecks
from constructs import IConstruct

RULE_PACKS = ("AwsSolutions", "Serverless")


def enforce_rule_packs(app: cdk.App) -> None:
    """Any unacknowledged finding makes ``app.synth()`` (and so ``cdk synth``) fail."""
    cdk.Validations.of(app).add_plugins(AwsSolutionsChecks(app), ServerlessChecks(app))


def acknowledge(construct: IConstruct, rule_id: str, reason: str) -> None:
    """Acknowledge one finding on one construct (and its children), with its specific reason.

    ``rule_id`` may carry a finding detail, e.g. ``AwsSolutions-IAM5[Action::s3:List*]``.
    """
    if len(reason) < 20:
        raise ValueError(f"acknowledgment of {rule_id} needs a specific reason, got {reason!r}")
    cdk.Validations.of(construct).acknowledge(cdk.Acknowledgment(id=rule_id, reason=reason))
