"""cdk-nag wiring: the rule packs enforced on the whole app, and reasoned acknowledgments."""

from __future__ import annotations

import aws_cdk as cdk
from cdk_nag import AwsSolutionsChecks, NIST80053R5Checks, ServerlessChecks
from constructs import IConstruct

RULE_PACKS = ("AwsSolutions", "Serverless", "NIST.800.53.R5")


def enforce_rule_packs(app: cdk.App) -> None:
    """Any unacknowledged finding makes ``app.synth()`` (and so ``cdk synth``) fail."""
    cdk.Validations.of(app).add_plugins(
        AwsSolutionsChecks(app), ServerlessChecks(app), NIST80053R5Checks(app)
    )


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


# NIST 800-53 R5 findings that hold for every construct of a kind, with the reason that holds
# for each of them. They are still acknowledged one construct at a time (where it is built).
INLINE_POLICY_REASON = (
    "This policy belongs to exactly one role (AWS's guidance for a one-to-one relationship): "
    "it is created and deleted with that role, cannot be attached to another principal, and "
    "tests/security proves it grants only what the role's code calls."
)
LAMBDA_OUTSIDE_VPC_REASON = (
    "The function only calls AWS APIs (TLS, SigV4) and reaches no resource inside a VPC; in a "
    "VPC it would need NAT or an interface endpoint per API it calls, and its network "
    "interfaces would hold up VPC deletion on cdk destroy."
)
LAMBDA_CONCURRENCY_REASON = (
    "Invocations are bounded by the trigger (one per FIFO message group, schedule, "
    "CloudFormation request or pipeline step); reserved concurrency would take from the "
    "account's unreserved pool, which must keep 10 (new accounts have 10), failing the deploy."
)


def acknowledge_inline_policy(construct: IConstruct) -> None:
    """A role (its default policy) or a policy that is attached to one role only."""
    acknowledge(construct, "NIST.800.53.R5-IAMNoInlinePolicy", INLINE_POLICY_REASON)


def acknowledge_lambda_controls(construct: IConstruct, *, no_dead_letter_queue: str | None) -> None:
    """NIST findings of a function that calls AWS APIs only (see the reasons above)."""
    acknowledge(construct, "NIST.800.53.R5-LambdaInsideVPC", LAMBDA_OUTSIDE_VPC_REASON)
    acknowledge(construct, "NIST.800.53.R5-LambdaConcurrency", LAMBDA_CONCURRENCY_REASON)
    if no_dead_letter_queue is not None:
        acknowledge(construct, "NIST.800.53.R5-LambdaDLQ", no_dead_letter_queue)
