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


def arn_in_finding(
    stack: cdk.Stack, service: str, resource: str, *, account: str | None = None
) -> str:
    """An ARN in this stack's account (and region) as cdk-nag prints it in a finding detail.

    ``account`` overrides the stack's account (e.g. ``*`` for AWS-owned ECR repositories).
    Unresolved pseudo parameters print as ``<AWS::Region>``; an environment-bound stack
    prints the literal value. Building acknowledgment ids through this keeps them matching
    in both environment-agnostic and environment-bound synths.
    """

    def shown(value: str, pseudo: str) -> str:
        return f"<AWS::{pseudo}>" if cdk.Token.is_unresolved(value) else value

    owner = account if account is not None else shown(stack.account, "AccountId")
    return (
        f"arn:{shown(stack.partition, 'Partition')}:{service}:{shown(stack.region, 'Region')}:"
        f"{owner}:{resource}"
    )


def weak_reference_in_finding(producer: cdk.Stack, output_name: str) -> str:
    """A value read from ``producer`` through a weak cross-stack reference, as cdk-nag prints
    it (``Fn::GetStackOutput``; see the ``defaultCrossStackReferences`` flag in cdk.json)."""
    region = (
        '{"Ref":"AWS::Region"}'
        if cdk.Token.is_unresolved(producer.region)
        else f'"{producer.region}"'
    )
    return (
        f'{{"Fn::GetStackOutput":{{"StackName":"{producer.stack_name}","Region":{region},'
        f'"OutputName":"{output_name}"}}}}'
    )
