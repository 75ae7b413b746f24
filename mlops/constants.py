"""Names shared by the CDK stacks and the runtime logic, so both sides agree on them."""

from typing import Final

# Tags on everything this platform creates, at synth (CDK) and at run time (Lambdas).
# Teardown finds an environment's resources by these tags and nothing else.
TAG_ENVIRONMENT: Final = "mlops:environment"
TAG_MANAGED_BY: Final = "mlops:managed-by"
MANAGED_BY_VALUE: Final = "fraud-mlops-platform"
TAG_MODEL_PACKAGE_GROUP: Final = "mlops:model-package-group"
TAG_MODEL_PACKAGE_ARN: Final = "mlops:model-package-arn"
TAG_MODEL_PACKAGE_VERSION: Final = "mlops:model-package-version"

# S3 layout of the data bucket.
RAW_PREFIX: Final = "raw/"
SPLITS_PREFIX: Final = "splits/"

# S3 layout of the artifacts bucket.
MODELS_PREFIX: Final = "models/"  # model artifacts: the only prefix endpoints may read
PIPELINES_PREFIX: Final = "pipelines/"  # pipeline run outputs: pipelines/<env>/<execution>/
REPORTS_PREFIX: Final = "reports/"
DATA_CAPTURE_PREFIX: Final = "data-capture/"
STUDIO_SHARING_PREFIX: Final = "studio-sharing/"


def resource_prefix(environment: str) -> str:
    """Name prefix of the SageMaker resources an environment creates at run time."""
    return f"mlops-{environment}"


def model_package_group_name(environment: str, group: str) -> str:
    """The SageMaker name of the configured group ``group`` in ``environment``.

    Model Package Group names are unique per account and region, and two environments may
    share an account: each environment's groups carry its prefix (``mlops-dev-fraud-detection``).
    """
    return f"{resource_prefix(environment)}-{group}"


MONITORING_PREFIX: Final = "monitoring/"  # monitoring execution reports
GROUND_TRUTH_PREFIX: Final = "ground-truth/"  # default: late labels for model quality
