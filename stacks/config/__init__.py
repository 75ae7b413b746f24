"""Typed, validated configuration of one environment, read from ``cdk.json``'s context.

``cdk.json`` holds ``context.environments.<name>`` objects; ``-c env=<name>`` picks one (default
``dev``). Every key is documented in docs/configuration.md, generated from the ``doc`` strings
here. A wrong value stops synth with one line naming the key path, the value and what is allowed.
"""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass, replace
from typing import Any, Literal

from mlops.constants import GROUND_TRUTH_PREFIX, model_package_group_name
from mlops.deployment.settings import (
    CANARY_PERCENT_RANGE,
    LINEAR_STEP_PERCENT_RANGE,
    MAX_UPDATE_SECONDS,
    update_timeout_seconds,
)
from mlops.environment import INSTANCE_TYPE_PATTERN
from mlops.monitoring.settings import (
    HOURLY_MODEL_QUALITY_MAX_RUNTIME,
    MAX_OFFSET_HOURS,
    MAX_RUNTIME_SECONDS,
    SCHEDULE_ALLOWED,
    SCHEDULE_PATTERN,
    is_hourly,
    window_problem,
)
from stacks.config.parsing import (
    ConfigError,
    Rule,
    between,
    each,
    field,
    matches,
    one_of,
    parse,
    unique_by,
)

__all__ = [
    "ConfigError",
    "DataConfig",
    "DeploymentConfig",
    "EnvironmentConfig",
    "ExistingVpcConfig",
    "ExperimentsConfig",
    "ModelPackageGroupConfig",
    "MonitoringConfig",
    "NetworkConfig",
    "RegistryConfig",
    "StudioConfig",
    "TeardownConfig",
    "TrainingConfig",
    "UserProfileConfig",
    "load_environment",
]

DEFAULT_ENVIRONMENT = "dev"

# The same rule the Lambdas apply to the instance types they are given (mlops.environment).
INSTANCE_TYPE = matches(
    INSTANCE_TYPE_PATTERN,
    "allowed: a SageMaker instance type ml.<family>.<size>, e.g. ml.m5.large",
)
# SageMaker's own name rule (user profiles, model package groups, endpoints): botocore's
# EntityName is at most 63 characters and matches this pattern (which alone would let hyphens
# make a name longer).
SAGEMAKER_NAME = matches(
    r"(?=.{1,63}\Z)[a-zA-Z0-9](-*[a-zA-Z0-9]){0,62}",
    "allowed: 1-63 letters, digits and hyphens, starting with a letter or digit",
)
REGION = matches(
    r"[a-z]{2}(-gov|-iso[a-z]?)?-[a-z]+-[1-9]", "allowed: an AWS region code such as eu-west-1"
)
ACCOUNT = matches(r"[0-9]{12}", "allowed: a 12-digit AWS account id")
# The values CloudWatch Logs accepts for a retention period.
LOG_RETENTION_DAYS = one_of(
    1, 3, 5, 7, 14, 30, 60, 90, 120, 150, 180, 365, 400, 545, 731, 1096, 1827, 2192, 2557, 2922,
    3288, 3653,
)  # fmt: skip


@dataclass(frozen=True, kw_only=True)
class DataConfig:
    noncurrent_version_expiration_days: int = field(
        30, check=between(1, 3650), doc="Days a replaced or deleted object version is kept."
    )
    access_log_expiration_days: int = field(
        365, check=between(1, 3650), doc="Days S3 server access logs are kept."
    )


@dataclass(frozen=True, kw_only=True)
class ExistingVpcConfig:
    vpc_id: str = field(check=matches(r"vpc-[0-9a-f]{8,17}", "allowed: vpc-<hex>"), doc="VPC id.")
    subnet_ids: tuple[str, ...] = field(
        check=each(matches(r"subnet-[0-9a-f]{8,17}", "allowed: subnet-<hex>")),
        doc="Private subnet ids, one per availability zone.",
    )
    availability_zones: tuple[str, ...] = field(
        check=each(matches(r"[a-z]{2}(-[a-z]+)+-[1-9][a-z]", "allowed: a zone such as eu-west-1a")),
        doc="Availability zones of subnet_ids, in the same order.",
    )


@dataclass(frozen=True, kw_only=True)
class NetworkConfig:
    vpc_cidr: str = field(
        "10.40.0.0/16",
        check=matches(r"(\d{1,3}\.){3}\d{1,3}/(1[6-9]|2[0-4])", "allowed: an IPv4 CIDR /16 to /24"),
        doc="CIDR of the VPC this app creates (ignored with existing_vpc).",
    )
    nat_gateways: int = field(
        0, check=between(0, 2), doc="NAT gateways; 0 keeps Studio fully private (VPC endpoints)."
    )
    availability_zones: tuple[str, ...] = field(
        (),
        check=each(matches(r"[a-z]{2}(-[a-z]+)+-[1-9][a-z]", "allowed: a zone such as eu-west-1a")),
        doc="Two zones for the created VPC; empty: the region's first two (Fn::GetAZs, no lookup).",
    )
    existing_vpc: ExistingVpcConfig | None = field(
        None, doc="Import this VPC by explicit ids instead of creating one (no lookups at synth)."
    )


@dataclass(frozen=True, kw_only=True)
class UserProfileConfig:
    name: str = field(check=SAGEMAKER_NAME, doc="Studio user profile name.")
    instance_type: str | None = field(
        None, check=INSTANCE_TYPE, doc="Default JupyterLab instance type for this user."
    )


@dataclass(frozen=True, kw_only=True)
class StudioConfig:
    idle_shutdown_minutes: int = field(
        60, check=between(60, 525600), doc="Stop idle Studio apps after this many minutes."
    )
    user_profiles: tuple[UserProfileConfig, ...] = field(
        (), check=unique_by("name"), doc="Studio users of the shared domain."
    )


# SageMaker's tag value rule (botocore TagValue: 0-256 of letters, digits, spaces, _.:/=+-@).
TAG_VALUE = matches(
    r"[\w .:/=+\-@]{0,256}",
    "allowed: up to 256 letters, digits, spaces and _ . : / = + - @ (it is kept as a tag)",
)


@dataclass(frozen=True, kw_only=True)
class ModelPackageGroupConfig:
    name: str = field(
        check=SAGEMAKER_NAME,
        doc="Logical group name; SageMaker's group is mlops-<env>-<name> (at most 63 characters).",
    )
    description: str = field(
        "",
        check=TAG_VALUE,
        doc="Kept as the group's mlops:description tag (SageMaker sets a group's description "
        "only at creation, so a change could never be deployed).",
    )


@dataclass(frozen=True, kw_only=True)
class RegistryConfig:
    model_package_groups: tuple[ModelPackageGroupConfig, ...] = field(
        (ModelPackageGroupConfig(name="fraud-detection", description="Card fraud classifier"),),
        check=unique_by("name"),
        doc="Groups to create; each approved version of a group serves one endpoint.",
    )
    cross_account_read: tuple[str, ...] = field(
        (),
        check=each(ACCOUNT),
        doc="Account ids allowed to read the groups' versions (promotion); none: no policy.",
    )


@dataclass(frozen=True, kw_only=True)
class DeploymentConfig:
    instance_type: str = field("ml.m5.large", check=INSTANCE_TYPE, doc="Endpoint instance type.")
    instance_count: int = field(1, check=between(1, 20), doc="Endpoint instances.")
    traffic_shift: Literal["all_at_once", "canary", "linear"] = field(
        "canary", doc="Blue/green traffic shifting mode on updates."
    )
    canary_percent: int = field(
        10,
        check=between(*CANARY_PERCENT_RANGE),
        doc="Canary size, % of the fleet (SageMaker: 1-50).",
    )
    linear_step_percent: int = field(
        20,
        check=between(*LINEAR_STEP_PERCENT_RANGE),
        doc="Linear traffic step, % of the fleet (SageMaker: 10-50).",
    )
    bake_minutes: int = field(10, check=between(0, 60), doc="Wait between shifts, with alarms.")
    data_capture_percent: int = field(
        100, check=between(0, 100), doc="Share of requests captured to the artifacts bucket."
    )
    keep_previous_versions: int = field(
        2, check=between(1, 10), doc="Superseded models/configs kept for rollback."
    )
    latency_alarm_ms: int = field(
        500,
        check=between(1, 60000),
        doc="Average model latency (ms, 3 of 3 minutes) that rolls a blue/green update back.",
    )
    error_alarm_count: int = field(
        5,
        check=between(1, 10000),
        doc="5XX invocation errors per minute (2 of 3 minutes) that roll an update back.",
    )
    max_receive_count: int = field(
        5, check=between(1, 20), doc="Deliveries of one approval event before the DLQ."
    )
    notification_emails: tuple[str, ...] = field(
        (),
        check=each(matches(r"[^@\s]+@[^@\s]+\.[^@\s]+", "allowed: an e-mail address")),
        doc="Subscribed to the environment's notification topic.",
    )


@dataclass(frozen=True, kw_only=True)
class TrainingConfig:
    processing_instance_type: str = field(
        "ml.m5.xlarge", check=INSTANCE_TYPE, doc="Partition, test preparation, evaluation, Clarify."
    )
    transform_instance_type: str = field(
        "ml.m5.large", check=INSTANCE_TYPE, doc="Batch transform of the test split."
    )
    automl_processing_instance_type: str = field(
        "ml.m5.4xlarge",
        check=INSTANCE_TYPE,
        doc="Instance type Autopilot's own processing jobs use (Autopilot picks it): quota check.",
    )
    automl_training_instance_type: str = field(
        "ml.m5.4xlarge",
        check=INSTANCE_TYPE,
        doc="Type of Autopilot's candidate training jobs (Autopilot picks it): quota check.",
    )
    automl_training_instances: int = field(
        1, check=between(1, 100), doc="Autopilot training instances held at once: quota check."
    )
    partition_instance_count: int = field(
        1,
        check=between(1, 100),
        doc="Partition step instances; > 1 shards the input files (ShardedByS3Key) and merges.",
    )
    partition_volume_size_gb: int = field(
        30,
        check=between(1, 16384),
        doc="Volume of each Partition instance: its input share and its output (docs/data.md).",
    )
    fallback_instance_type: str | None = field(
        None,
        check=INSTANCE_TYPE,
        doc="Used for processing/transform steps when the preferred type's quota is short.",
    )
    max_candidates: int = field(10, check=between(1, 250), doc="Autopilot candidates per run.")
    max_runtime_per_training_job_seconds: int = field(
        3600, check=between(300, 259200), doc="Cost cap per candidate training job."
    )
    max_automl_runtime_seconds: int = field(
        14400, check=between(600, 2592000), doc="Cost cap for the whole AutoML job."
    )
    objective_metric: Literal["F1", "F1macro", "AUC", "Accuracy", "BalancedAccuracy"] = field(
        "F1", doc="Autopilot objective; F1 suits imbalanced fraud."
    )
    target_column: str = field("is_fraud", doc="Label column.")
    positive_label: str = field("1", doc="Label value of the positive (fraud) class.")
    split_method: Literal["random", "ordered", "key", "stratified"] = field(
        "stratified", doc="Default partition method of a run."
    )
    split_ratios: str = field(
        "0.7,0.15,0.15",
        check=matches(r"0?\.\d+,0?\.\d+,0?\.\d+", "allowed: three ratios such as 0.7,0.15,0.15"),
        doc="Default train,validation,test ratios of a run.",
    )
    split_seed: int = field(42, check=between(0, 999_999), doc="Default partition seed.")
    split_key: str = field(
        "customer_id", doc="Default key column of split_method key (no value in two splits)."
    )
    split_order_by: str = field(
        "transaction_time", doc="Default order column of split_method ordered (earliest first)."
    )
    drop_columns: tuple[str, ...] = field(
        ("transaction_id",), doc="Columns removed before training (identifiers)."
    )
    bias_facet: str = field("state", doc="Column Clarify checks for bias.")
    auto_approve_f1_threshold: float | None = field(
        None,
        check=between(0, 1),
        doc="Ephemeral (non-prod) environments only: approve when test F1 >= this; off if null.",
    )
    request_quota_increase: bool = field(
        False, doc="Let the preflight file one quota increase request when short."
    )


def _processing_instance_types() -> tuple[str, ...]:
    """The instance types a monitoring job takes (botocore: ProcessingInstanceType)."""
    import botocore.session

    model = botocore.session.get_session().get_service_model("sagemaker")
    shape: Any = model.shape_for("ProcessingInstanceType")
    return tuple(shape.enum)


MONITORING_INSTANCE_TYPE = Rule(
    "allowed: a processing instance type Model Monitor accepts (botocore "
    "ProcessingInstanceType), e.g. ml.m5.large",
    lambda value: (
        None
        if value in _processing_instance_types()
        else f"{value} is not a processing instance type (ProcessingInstanceType); e.g. ml.m5.large"
    ),
)
SCHEDULE = matches(SCHEDULE_PATTERN, f"allowed: {SCHEDULE_ALLOWED}")


@dataclass(frozen=True, kw_only=True)
class MonitoringConfig:
    enabled: bool = field(
        False,
        doc="Data- and model-quality schedules on every endpoint, bound to the served version's "
        "baselines (docs/monitoring.md; Model Monitor is closed to new AWS customers).",
    )
    instance_type: str = field(
        "ml.m5.large", check=MONITORING_INSTANCE_TYPE, doc="Instance of each monitoring job."
    )
    max_runtime_seconds: int = field(
        1800,
        check=between(60, MAX_RUNTIME_SECONDS),
        doc="Stopping condition of each monitoring execution (an hourly model-quality "
        "schedule allows at most 1800).",
    )
    data_quality_schedule: str = field(
        "cron(0 0 ? * * *)", check=SCHEDULE, doc="When data quality is checked (UTC)."
    )
    model_quality_schedule: str = field(
        "cron(0 2 ? * * *)", check=SCHEDULE, doc="When model quality is checked (UTC)."
    )
    ground_truth_prefix: str = field(
        GROUND_TRUTH_PREFIX,
        check=matches(r"([a-z0-9][a-z0-9-]*/)+", "allowed: lowercase folder names ending in /"),
        doc="Artifacts-bucket prefix of the labels (`labels upload` writes <prefix><endpoint>/).",
    )
    ground_truth_window_start_hours: int = field(
        336,
        check=between(1, MAX_OFFSET_HOURS),
        doc="Model quality analyses traffic from this many hours before each execution...",
    )
    ground_truth_window_end_hours: int = field(
        24,
        check=between(0, MAX_OFFSET_HOURS - 1),
        doc="...to this many hours before it (labels arrive late: leave them time).",
    )
    drift_alarm_threshold: float = field(
        0.1,
        check=between(0, 1),
        doc="Alarm when a feature's baseline drift distance (feature_baseline_drift_*) exceeds it.",
    )
    f1_floor: float = field(
        0.5, check=between(0, 1), doc="Alarm when the model-quality F1 of an execution is below."
    )


@dataclass(frozen=True, kw_only=True)
class TeardownConfig:
    schedule: str = field(
        "cron(0 20 * * ? *)",
        check=matches(
            r"(cron|rate)\(.+\)", "allowed: an EventBridge Scheduler cron(...) or rate(...)"
        ),
        doc="When the idle clean-up runs.",
    )
    timezone: str = field(
        "UTC",
        check=matches(
            r"UTC|[A-Z][A-Za-z_-]+(/[A-Za-z0-9_+-]+){1,2}",
            "allowed: an IANA time zone such as UTC or Europe/Paris",
        ),
        doc="IANA time zone of the schedule (cron hours are in this zone, DST included).",
    )
    endpoint_idle_hours: int = field(
        24, check=between(1, 720), doc="Delete endpoints with no invocations for this long."
    )
    job_ttl_hours: int = field(
        24, check=between(1, 720), doc="Stop jobs and pipeline runs running longer than this."
    )
    app_idle_hours: int = field(
        12, check=between(1, 720), doc="Delete Studio apps idle longer than this."
    )
    dry_run: bool = field(False, doc="Report what would be removed without removing it.")


@dataclass(frozen=True, kw_only=True)
class ExperimentsConfig:
    enabled: bool = field(
        True, doc="One serverless MLflow app for the environment; every pipeline run logged to it."
    )
    model_registration_mode: Literal[
        "AutoModelRegistrationDisabled", "AutoModelRegistrationEnabled"
    ] = field(
        "AutoModelRegistrationDisabled",
        doc="Whether models registered in MLflow are also registered in SageMaker Model Registry "
        "(the pipeline registers its own versions either way).",
    )
    # AWS::SageMaker::MlflowApp WeeklyMaintenanceWindowStart: pattern and 9-character limit of
    # the CloudFormation schema (cfn-lint) and botocore's CreateMlflowApp model.
    weekly_maintenance_window_start: str = field(
        "Sun:02:00",
        check=matches(
            r"(Mon|Tue|Wed|Thu|Fri|Sat|Sun):([01]\d|2[0-3]):([0-5]\d)",
            "allowed: Day:HH:MM in UTC, e.g. Sun:02:00 (Mon..Sun, 24-hour clock)",
        ),
        doc="Start of the app's weekly maintenance window (UTC).",
    )
    private_endpoint: bool = field(
        True,
        doc="Interface VPC endpoint for SageMaker MLflow, so Studio reaches the app without "
        "internet (bills per zone-hour; see docs/experiments.md).",
    )


@dataclass(frozen=True, kw_only=True)
class EnvironmentConfig:
    name: str = field(
        check=matches(r"[a-z][a-z0-9]{0,9}", "allowed: 1-10 lowercase letters and digits"),
        doc="Environment name (the key under environments).",
    )
    account: str | None = field(
        None, check=ACCOUNT, doc="Target account; else CDK_DEFAULT_ACCOUNT; else agnostic."
    )
    region: str | None = field(
        None, check=REGION, doc="Target region; else CDK_DEFAULT_REGION; else agnostic."
    )
    ephemeral: bool = field(
        False, doc="Throw-away environment: stateful resources and their data are destroyed."
    )
    log_retention_days: int = field(
        90, check=LOG_RETENTION_DAYS, doc="CloudWatch Logs retention of every function."
    )
    tags: dict[str, str] = field({}, doc="Extra tags on every resource (cost allocation, owner).")
    data: DataConfig = field(DataConfig(), doc="Data stack.")
    network: NetworkConfig = field(NetworkConfig(), doc="Network stack.")
    studio: StudioConfig = field(StudioConfig(), doc="Studio stack.")
    registry: RegistryConfig = field(RegistryConfig(), doc="Registry stack.")
    deployment: DeploymentConfig = field(DeploymentConfig(), doc="Deployment stack.")
    training: TrainingConfig = field(TrainingConfig(), doc="Training stack.")
    monitoring: MonitoringConfig = field(
        MonitoringConfig(), doc="Model monitoring (Deployment stack, deploy Lambda)."
    )
    teardown: TeardownConfig = field(TeardownConfig(), doc="Teardown stack.")
    experiments: ExperimentsConfig = field(
        ExperimentsConfig(), doc="Experiments stack (MLflow app)."
    )


def _check_monitoring(config: EnvironmentConfig) -> None:
    """Rules that span keys: the ground-truth window, AWS's runtime advice, data capture."""
    monitoring = config.monitoring
    path = f"environments.{config.name}.monitoring"
    problem = window_problem(
        monitoring.ground_truth_window_start_hours, monitoring.ground_truth_window_end_hours
    )
    if problem:
        raise ConfigError(
            f"{path}.ground_truth_window_end_hours", monitoring.ground_truth_window_end_hours,
            problem,
        )  # fmt: skip
    if (
        is_hourly(monitoring.model_quality_schedule)
        and monitoring.max_runtime_seconds > HOURLY_MODEL_QUALITY_MAX_RUNTIME
    ):
        raise ConfigError(
            f"{path}.max_runtime_seconds",
            monitoring.max_runtime_seconds,
            f"an hourly model-quality schedule allows at most {HOURLY_MODEL_QUALITY_MAX_RUNTIME} "
            "(the merge job and the analysis share an execution)",
        )
    if monitoring.enabled and config.deployment.data_capture_percent == 0:
        raise ConfigError(
            f"environments.{config.name}.deployment.data_capture_percent",
            0,
            "monitoring reads the endpoint's captured requests: capture more than 0 %",
        )


def load_environment(
    context: Mapping[str, object],
    *,
    default_account: str | None = None,
    default_region: str | None = None,
) -> EnvironmentConfig:
    """Pick the environment named by ``context["env"]`` and validate it.

    ``default_account`` and ``default_region`` (from ``CDK_DEFAULT_*``, read by app.py) fill in
    what the environment leaves unset.
    """
    environments = context.get("environments")
    if not isinstance(environments, Mapping) or not environments:
        raise ConfigError(
            "context.environments", environments, "expected an object of environments"
        )
    name = context.get("env") or DEFAULT_ENVIRONMENT
    if name not in environments:
        raise ConfigError("env", name, f"allowed environments: {', '.join(environments)}")
    raw = environments[name]
    if not isinstance(raw, Mapping):
        raise ConfigError(f"environments.{name}", raw, "expected an object")
    if "name" in raw:
        raise ConfigError(f"environments.{name}.name", raw["name"], "the name is the object's key")
    config = parse(EnvironmentConfig, {**raw, "name": name}, f"environments.{name}")
    _check_across_keys(config, f"environments.{name}")
    _check_monitoring(config)
    return replace(
        config,
        account=config.account or default_account,
        region=config.region or default_region,
    )


def _check_across_keys(config: EnvironmentConfig, path: str) -> None:
    """Rules that involve more than one key."""
    for index, group in enumerate(config.registry.model_package_groups):
        full = model_package_group_name(config.name, group.name)
        if SAGEMAKER_NAME(full) is not None:
            raise ConfigError(
                f"{path}.registry.model_package_groups[{index}].name",
                group.name,
                f"SageMaker's group name {full!r} has {len(full)} characters; allowed: the "
                "environment prefix and the name together at most 63",
            )
    deployment = config.deployment
    step = (
        deployment.linear_step_percent
        if deployment.traffic_shift == "linear"
        else deployment.canary_percent
    )
    needed = update_timeout_seconds(deployment.traffic_shift, step, deployment.bake_minutes)
    if needed > MAX_UPDATE_SECONDS:
        raise ConfigError(
            f"{path}.deployment.bake_minutes",
            deployment.bake_minutes,
            f"a {deployment.traffic_shift} shift in {step}% steps with this bake time needs a "
            f"{needed} s update; allowed: at most {MAX_UPDATE_SECONDS} s (UpdateEndpoint's "
            "MaximumExecutionTimeoutInSeconds): bake less or use larger steps",
        )
