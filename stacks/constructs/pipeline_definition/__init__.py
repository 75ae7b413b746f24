"""The training pipeline's definition, built with the SageMaker Python SDK (2.x) at synth, offline.

The SDK needs a session, a role ARN and S3 locations; none of the real values exist before
deploy. So the SDK is given a boto3 session that is never used to call AWS (fake credentials,
an explicit default bucket, role ARNs that already contain ``/`` so it never calls IAM) and
*placeholders*: unique strings that :func:`build_definition` returns alongside the JSON. The
construct replaces each placeholder by a ``${Name}`` variable of ``Fn::Sub`` whose value is the
CloudFormation reference (bucket names, ARNs, subnet ids, the region's image URIs). What users
choose per run are pipeline parameters, with the environment's config as defaults.

One builder per step (see docs/training.md)::

    QuotaPreflight -> CheckQuotas -+- if it may proceed: Partition [-> MergeSplits] -> AutoML,
                                   |  PrepareTest, ClarifyBias -> CreateScoringModel ->
                                   |  ScoreTestSplit -> Evaluate [, MonitoringDatasets ->
                                   |  DataQualityBaseline, ModelQualityBaseline] -> RegisterModel
                                   +- else: QuotaShortage (Fail)

The bracketed baseline steps are there with ``monitoring.enabled`` (docs/monitoring.md).

Every step that starts a job is in the gate's ``IfSteps``: nothing bills unless the preflight
said so. With auto-approval (non-prod), ``CheckF1`` follows at the top level (SageMaker does
not nest condition steps) and registers ``Approved`` or ``PendingManualApproval``.
"""

from stacks.constructs.pipeline_definition.build import build_definition
from stacks.constructs.pipeline_definition.context import (
    PLACEHOLDER_PREFIX,
    ROLE_PLACEHOLDER,
    Definition,
    PipelineSettings,
    placeholder,
)

__all__ = [
    "PLACEHOLDER_PREFIX",
    "ROLE_PLACEHOLDER",
    "Definition",
    "PipelineSettings",
    "build_definition",
    "placeholder",
]
