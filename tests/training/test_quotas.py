"""Quota logic against botocore Stubbers (moto does not cover Service Quotas for SageMaker)."""

from __future__ import annotations

from collections.abc import Callable, Iterator
from typing import Any

import boto3
import pytest
from botocore.stub import Stubber

from mlops.errors import InputError
from mlops.training.quotas import (
    ENDPOINT_HOLDING_STATUSES,
    Need,
    PreflightRequest,
    check,
    format_table,
    preflight,
    preflight_output,
)


def quota(name: str, value: float, code: str | None = None) -> dict[str, Any]:
    return {
        "ServiceCode": "sagemaker",
        "QuotaCode": code or f"L-{abs(hash(name)) % 10**8:08d}",
        "QuotaName": name,
        "Value": value,
        "Adjustable": True,
    }


class Fakes:
    """Service Quotas and SageMaker clients with their Stubbers, strict in order."""

    def __init__(self) -> None:
        self.quotas = boto3.client("service-quotas", region_name="us-east-1")
        self.sagemaker = boto3.client("sagemaker", region_name="us-east-1")
        self.quotas_stub = Stubber(self.quotas)
        self.sagemaker_stub = Stubber(self.sagemaker)

    def applied(self, *pages: list[dict[str, Any]]) -> None:
        for index, page in enumerate(pages):
            response: dict[str, Any] = {"Quotas": page}
            params: dict[str, Any] = {"ServiceCode": "sagemaker"}
            if index + 1 < len(pages):
                response["NextToken"] = f"t{index + 1}"
            if index:
                params["NextToken"] = f"t{index}"
            self.quotas_stub.add_response("list_service_quotas", response, params)

    def defaults(self, page: list[dict[str, Any]]) -> None:
        self.quotas_stub.add_response(
            "list_aws_default_service_quotas", {"Quotas": page}, {"ServiceCode": "sagemaker"}
        )

    def pending(self, code: str, requests: dict[str, list[dict[str, Any]]]) -> None:
        for status in ("PENDING", "CASE_OPENED"):
            found = requests.get(status, [])
            self.quotas_stub.add_response(
                "list_requested_service_quota_change_history_by_quota",
                {"RequestedQuotas": found},
                {"ServiceCode": "sagemaker", "QuotaCode": code, "Status": status},
            )
            if found:
                return

    def processing_jobs(self, jobs: list[tuple[str, str, int]]) -> None:
        self.processing_clusters(
            {name: {"InstanceCount": count, "InstanceType": kind} for name, kind, count in jobs}
        )

    def processing_clusters(self, clusters: dict[str, dict[str, Any]]) -> None:
        """In-progress processing jobs, each described with its ``ClusterConfig``."""
        self.sagemaker_stub.add_response(
            "list_processing_jobs",
            {
                "ProcessingJobSummaries": [
                    {
                        "ProcessingJobName": name,
                        "ProcessingJobArn": f"arn:aws:sagemaker:us-east-1:1:processing-job/{name}",
                        "CreationTime": "2024-01-01",
                        "ProcessingJobStatus": "InProgress",
                    }
                    for name in clusters
                ]
            },
            {"StatusEquals": "InProgress"},
        )
        for name, cluster in clusters.items():
            self.sagemaker_stub.add_response(
                "describe_processing_job",
                _processing_job(name, cluster),
                {"ProcessingJobName": name},
            )

    @property
    def clients(self) -> dict[str, Any]:
        return {"quotas_client": self.quotas, "sagemaker_client": self.sagemaker}


@pytest.fixture
def fakes() -> Iterator[Fakes]:
    f = Fakes()
    with f.quotas_stub, f.sagemaker_stub:
        yield f
        f.quotas_stub.assert_no_pending_responses()
        f.sagemaker_stub.assert_no_pending_responses()


PROCESSING = "ml.m5.xlarge for processing job usage"


def test_enough_quota_proceeds(fakes: Fakes) -> None:
    # Given a quota of 4 with one instance of that type in use
    fakes.applied([quota(PROCESSING, 4, "L-PROC")])
    fakes.processing_jobs([("other-job", "ml.m5.xlarge", 1), ("big", "ml.m5.4xlarge", 1)])
    # When the run needs 2
    decision = preflight([Need("processing job", "ml.m5.xlarge", 2)], **fakes.clients)
    # Then it proceeds on the preferred type
    assert decision.verdict == "proceed"
    assert decision.proceed
    assert decision.instance_types == {"processing job": "ml.m5.xlarge"}
    [result] = decision.checks
    assert (result.quota.value, result.in_use, result.sufficient) == (4.0, 1, True)


def test_short_quota_stops_with_a_message_naming_quota_need_and_use(fakes: Fakes) -> None:
    fakes.applied([quota(PROCESSING, 2, "L-PROC")])
    fakes.processing_jobs([("a", "ml.m5.xlarge", 1)])
    fakes.pending("L-PROC", {})
    decision = preflight([Need("processing job", "ml.m5.xlarge", 2)], **fakes.clients)
    assert decision.verdict == "stop"
    assert not decision.proceed
    assert "'ml.m5.xlarge for processing job usage' is 2, 1 in use, 2 needed" in decision.message
    assert "request an increase" in decision.message


def test_fallback_type_chosen_when_preferred_is_short(fakes: Fakes) -> None:
    fallback = "ml.c5.xlarge for processing job usage"
    fakes.applied([quota(PROCESSING, 0, "L-PROC"), quota(fallback, 5, "L-C5")])
    fakes.processing_jobs([])
    decision = preflight(
        [Need("processing job", "ml.m5.xlarge", 2)],
        fallback_instance_type="ml.c5.xlarge",
        **fakes.clients,
    )
    assert decision.verdict == "fallback"
    assert decision.instance_types == {"processing job": "ml.c5.xlarge"}
    assert "ml.c5.xlarge instead of ml.m5.xlarge" in decision.message
    assert [c.quota.name for c in decision.checks] == [PROCESSING, fallback]


def test_fixed_type_work_never_falls_back(fakes: Fakes) -> None:
    endpoint = "ml.m5.large for endpoint usage"
    fakes.applied([quota(endpoint, 1, "L-EP")])
    for status in ENDPOINT_HOLDING_STATUSES:
        fakes.sagemaker_stub.add_response(
            "list_endpoints", {"Endpoints": []}, {"StatusEquals": status}
        )
    fakes.pending("L-EP", {})
    decision = preflight(
        [Need("endpoint", "ml.m5.large", 2, fallback_allowed=False)],
        fallback_instance_type="ml.c5.large",
        **fakes.clients,
    )
    # Then the run stops: the endpoint's type is fixed, no fallback quota is even looked up
    assert decision.verdict == "stop"
    assert decision.instance_types == {"endpoint": "ml.m5.large"}
    assert "'ml.m5.large for endpoint usage' is 1, 0 in use, 2 needed" in decision.message


def test_pending_request_is_reported_and_not_duplicated(fakes: Fakes) -> None:
    fakes.applied([quota(PROCESSING, 1, "L-PROC")])
    fakes.processing_jobs([])
    fakes.pending("L-PROC", {"CASE_OPENED": [{"Id": "req-42", "Status": "CASE_OPENED"}]})
    # No request_service_quota_increase response is stubbed: calling it would fail the test.
    decision = preflight(
        [Need("processing job", "ml.m5.xlarge", 2)], request_increase=True, **fakes.clients
    )
    assert decision.verdict == "stop"
    assert decision.checks[0].pending_request_id == "req-42"
    assert decision.checks[0].filed_request_id is None
    assert "increase request req-42 is pending" in decision.message


def test_one_increase_request_is_filed_when_allowed_and_none_pending(fakes: Fakes) -> None:
    fakes.applied([quota(PROCESSING, 1, "L-PROC")])
    fakes.processing_jobs([("a", "ml.m5.xlarge", 1)])
    fakes.pending("L-PROC", {})
    fakes.quotas_stub.add_response(
        "request_service_quota_increase",
        {"RequestedQuota": {"Id": "req-new", "Status": "PENDING"}},
        {"ServiceCode": "sagemaker", "QuotaCode": "L-PROC", "DesiredValue": 3.0},
    )
    decision = preflight(
        [Need("processing job", "ml.m5.xlarge", 2)], request_increase=True, **fakes.clients
    )
    assert decision.checks[0].filed_request_id == "req-new"
    assert "filed increase request req-new" in decision.message


def test_quota_name_not_found_is_a_clear_input_error(fakes: Fakes) -> None:
    fakes.applied([quota(PROCESSING, 4)])
    fakes.defaults([quota("ml.m5.large for endpoint usage", 2)])
    with pytest.raises(InputError, match=r"no Service Quotas quota named 'ml\.zz\.large for"):
        preflight([Need("processing job", "ml.zz.large", 1)], **fakes.clients)


def test_applied_quotas_are_paginated_and_defaults_fill_in(fakes: Fakes) -> None:
    transform = "ml.m5.large for transform job usage"
    # Given the processing quota on page 2 and the transform quota only as an AWS default
    fakes.applied([quota("ml.p3.2xlarge for training job usage", 0)], [quota(PROCESSING, 8)])
    fakes.defaults([quota(transform, 3)])
    fakes.processing_jobs([])
    fakes.sagemaker_stub.add_response(
        "list_transform_jobs", {"TransformJobSummaries": []}, {"StatusEquals": "InProgress"}
    )
    checks = check(
        [Need("processing job", "ml.m5.xlarge", 1), Need("transform job", "ml.m5.large", 1)],
        **fakes.clients,
    )
    assert [(c.quota.name, c.quota.value, c.quota.applied) for c in checks] == [
        (PROCESSING, 8.0, True),
        (transform, 3.0, False),
    ]
    table = format_table(checks)
    assert table.splitlines()[0].split() == ["quota", "needed", "applied", "in", "use", "verdict"]
    assert "3 (default)" in table


def test_needs_of_one_stage_add_up_and_stages_take_the_larger() -> None:
    """Defect 7: steps running at the same time need the sum on a shared quota (it was max)."""
    from mlops.training.quotas import _merge

    merged = _merge(
        [
            Need("processing job", "ml.m5.xlarge", 4, "partition", stage="partition"),
            Need("processing job", "ml.m5.xlarge", 1, "test preparation", stage="autopilot"),
            Need("processing job", "ml.m5.xlarge", 1, "Clarify", stage="autopilot"),
            Need("processing job", "ml.m5.xlarge", 2, "Autopilot", stage="autopilot"),
        ]
    )
    assert [(n.count, n.purpose) for n in merged] == [
        (4, "partition, test preparation, Clarify, Autopilot")
    ]
    merged = _merge(
        [
            Need("processing job", "ml.m5.xlarge", 1, stage="autopilot"),
            Need("processing job", "ml.m5.xlarge", 1, stage="autopilot"),
            Need("processing job", "ml.m5.xlarge", 1, stage="autopilot"),
            Need("processing job", "ml.m5.xlarge", 2, stage="scoring"),
        ]
    )
    assert [n.count for n in merged] == [3]


EVENT = {
    "processing_instance_type": "ml.m5.xlarge",
    "transform_instance_type": "ml.m5.large",
    "automl_processing_instance_type": "ml.m5.4xlarge",
    "automl_training_instance_type": "ml.m5.4xlarge",
    "endpoint_instance_type": "ml.m5.large",
}


def test_preflight_request_parses_lambda_inputs_and_builds_stage_needs() -> None:
    request = PreflightRequest.from_event(
        {
            **EVENT,
            "automl_training_instances": "3",
            "endpoint_instance_count": 2,
            "partition_instance_count": 4,
        }
    )
    from mlops.training.quotas import _merge

    needs = {(n.usage, n.instance_type): n.count for n in _merge(request.needs())}
    assert needs == {
        ("processing job", "ml.m5.xlarge"): 4,  # the partition stage is the largest
        ("processing job", "ml.m5.4xlarge"): 1,
        ("training job", "ml.m5.4xlarge"): 3,
        ("transform job", "ml.m5.large"): 1,
        ("endpoint", "ml.m5.large"): 2,
    }


def test_monitoring_adds_the_baseline_jobs_and_the_endpoints_monitoring_instance() -> None:
    """Issue 14: with monitoring the baselines run while evaluation and Clarify may still run
    (4 processing instances at once), and the endpoint's schedules hold one more instance
    next to its fleet; without it, nothing changes."""
    from mlops.training.quotas import _merge

    def merged(event: dict[str, Any]) -> dict[tuple[str, str], int]:
        request = PreflightRequest.from_event(event)
        return {(n.usage, n.instance_type): n.count for n in _merge(request.needs())}

    plain = merged(EVENT)
    monitored = merged({**EVENT, "monitoring_instance_type": "ml.m5.large"})
    assert plain[("processing job", "ml.m5.xlarge")] == 2  # test preparation + Clarify
    assert monitored[("processing job", "ml.m5.xlarge")] == 4
    assert monitored[("processing job", "ml.m5.large")] == 1
    assert ("processing job", "ml.m5.large") not in plain
    with pytest.raises(InputError, match="monitoring_instance_type must be"):
        PreflightRequest.from_event({**EVENT, "monitoring_instance_type": "large"})


def test_our_processing_and_autopilots_add_up_when_they_share_a_type() -> None:
    """Defect 7: test preparation, Clarify and Autopilot's processing run together."""
    from mlops.training.quotas import _merge

    request = PreflightRequest.from_event({**EVENT, "processing_instance_type": "ml.m5.4xlarge"})
    needs = {(n.usage, n.instance_type): n.count for n in _merge(request.needs())}
    assert needs[("processing job", "ml.m5.4xlarge")] == 3


def test_the_endpoint_needs_one_more_fleet_not_two() -> None:
    """Defect 8: current use already counts a live endpoint's fleet; blue/green adds one."""
    request = PreflightRequest.from_event({**EVENT, "endpoint_instance_count": 3})
    [endpoint] = [n for n in request.needs() if n.usage == "endpoint"]
    assert (endpoint.count, endpoint.fallback_allowed) == (3, False)


@pytest.mark.parametrize(
    ("change", "message"),
    [
        ({"processing_instance_type": "m5.xlarge"}, "processing_instance_type must be"),
        ({"endpoint_instance_count": "two"}, "endpoint_instance_count must be a whole number"),
        ({"automl_training_instances": 0}, "automl_training_instances must be >= 1"),
        ({"partition_instance_count": -1}, "partition_instance_count must be >= 1"),
    ],
)
def test_preflight_request_rejects_bad_inputs(change: dict[str, Any], message: str) -> None:
    with pytest.raises(InputError, match=message):
        PreflightRequest.from_event({**EVENT, **change})


def test_preflight_output_is_flat_with_chosen_types(fakes: Fakes) -> None:
    fakes.applied([quota(PROCESSING, 4)])
    fakes.processing_jobs([])
    decision = preflight([Need("processing job", "ml.m5.xlarge", 1)], **fakes.clients)
    request = PreflightRequest(
        processing_instance_type="ml.m5.xlarge",
        transform_instance_type="ml.m5.large",
        automl_processing_instance_type="ml.m5.4xlarge",
        automl_training_instance_type="ml.m5.4xlarge",
        endpoint_instance_type="ml.m5.large",
    )
    assert preflight_output(decision, request) == {
        "proceed": True,
        "verdict": "proceed",
        "message": "Proceeding: 1 quotas cover this run",
        "processing_instance_type": "ml.m5.xlarge",
        "transform_instance_type": "ml.m5.large",
    }


def _endpoint_summary(name: str, status: str) -> dict[str, Any]:
    return {
        "EndpointName": name,
        "EndpointArn": f"arn:aws:sagemaker:us-east-1:1:endpoint/{name}",
        "CreationTime": "2024-01-01",
        "LastModifiedTime": "2024-01-01",
        "EndpointStatus": status,
    }


def test_a_deployment_in_progress_holds_its_own_fleet(fakes: Fakes) -> None:
    """Blue/green: an endpoint switching configs holds the old fleet and the new one; an
    endpoint being created holds its fleet before it reports variants of its own."""
    endpoint_quota = "ml.m5.large for endpoint usage"
    fakes.applied([quota(endpoint_quota, 6, "L-EP")])
    listed = {"Creating": "new-ep", "Updating": "switching-ep"}
    for status in ENDPOINT_HOLDING_STATUSES:
        found = [_endpoint_summary(listed[status], status)] if status in listed else []
        fakes.sagemaker_stub.add_response(
            "list_endpoints", {"Endpoints": found}, {"StatusEquals": status}
        )
        if status == "Creating":  # no variants of its own yet: only the pending deployment
            fakes.sagemaker_stub.add_response(
                "describe_endpoint",
                {
                    **_endpoint_summary("new-ep", "Creating"),
                    "EndpointConfigName": "new-ep-v1",
                    "PendingDeploymentSummary": {
                        "EndpointConfigName": "new-ep-v1",
                        "ProductionVariants": [
                            {
                                "VariantName": "AllTraffic",
                                "InstanceType": "ml.m5.large",
                                "DesiredInstanceCount": 1,
                            }
                        ],
                    },
                },
                {"EndpointName": "new-ep"},
            )
        if status == "Updating":  # blue: 2 instances of v1 live; green: v2 coming up
            fakes.sagemaker_stub.add_response(
                "describe_endpoint",
                {
                    **_endpoint_summary("switching-ep", "Updating"),
                    "EndpointConfigName": "switching-ep-v1",
                    "ProductionVariants": [
                        {"VariantName": "AllTraffic", "CurrentInstanceCount": 2}
                    ],
                    "PendingDeploymentSummary": {
                        "EndpointConfigName": "switching-ep-v2",
                        "ProductionVariants": [
                            {
                                "VariantName": "AllTraffic",
                                "InstanceType": "ml.m5.large",
                                "CurrentInstanceCount": 1,
                                "DesiredInstanceCount": 2,
                            }
                        ],
                    },
                },
                {"EndpointName": "switching-ep"},
            )
            fakes.sagemaker_stub.add_response(
                "describe_endpoint_config",
                {
                    "EndpointConfigName": "switching-ep-v1",
                    "EndpointConfigArn": "arn:aws:sagemaker:us-east-1:1:endpoint-config/v1",
                    "ProductionVariants": [
                        {"VariantName": "AllTraffic", "InstanceType": "ml.m5.large"}
                    ],
                    "CreationTime": "2024-01-01",
                },
                {"EndpointConfigName": "switching-ep-v1"},
            )
    fakes.pending("L-EP", {})

    decision = preflight(
        [Need("endpoint", "ml.m5.large", 2, fallback_allowed=False)], **fakes.clients
    )

    # Then 1 (creating) + 2 (blue) + 2 (green, still coming up) of the 6 are held: no room
    assert decision.checks[0].in_use == 5
    assert decision.verdict == "stop"
    assert f"'{endpoint_quota}' is 6, 5 in use, 2 needed" in decision.message


# Defect 9: usage counting must neither crash nor miss instances.


def _processing_job(name: str, cluster: dict[str, Any]) -> dict[str, Any]:
    return {
        "ProcessingJobName": name,
        "ProcessingJobArn": f"arn:aws:sagemaker:us-east-1:1:processing-job/{name}",
        "ProcessingResources": {"ClusterConfig": {"VolumeSizeInGB": 30, **cluster}},
        "AppSpecification": {"ImageUri": "image"},
        "RoleArn": "arn:aws:iam::111111111111:role/r",
        "ProcessingJobStatus": "InProgress",
        "CreationTime": "2024-01-01",
    }


def test_jobs_on_instance_preferences_count_on_the_selected_type(fakes: Fakes) -> None:
    fakes.applied([quota(PROCESSING, 4, "L-PROC")])
    jobs: dict[str, dict[str, Any]] = {
        "flexible": {  # SageMaker chose ml.m5.xlarge from the preferences
            "InstancePreferences": [
                {"InstanceType": "ml.c5.xlarge", "InstanceCount": 1},
                {"InstanceType": "ml.m5.xlarge", "InstanceCount": 3},
            ],
            "SelectedInstanceType": "ml.m5.xlarge",
            "SelectedInstanceCount": 3,
        },
        "undecided": {  # not selected yet: no type to count against
            "InstancePreferences": [{"InstanceType": "ml.m5.xlarge", "InstanceCount": 1}],
        },
    }
    fakes.processing_clusters(jobs)
    [result] = check([Need("processing job", "ml.m5.xlarge", 1)], **fakes.clients)
    assert result.in_use == 3


def _endpoints(fakes: Fakes, endpoints: list[tuple[str, str, Callable[[], None]]]) -> None:
    """list_endpoints per holding status, each followed by what describing its endpoints
    answers (``(name, status, stub the describe calls)``), in the order the counter asks."""
    for status in ENDPOINT_HOLDING_STATUSES:
        found = [(name, describe) for name, s, describe in endpoints if s == status]
        fakes.sagemaker_stub.add_response(
            "list_endpoints",
            {"Endpoints": [_endpoint_summary(name, status) for name, _ in found]},
            {"StatusEquals": status},
        )
        for _, describe in found:
            describe()


def _describe_live(fakes: Fakes, name: str, status: str, count: int) -> None:
    fakes.sagemaker_stub.add_response(
        "describe_endpoint",
        {
            **_endpoint_summary(name, status),
            "EndpointConfigName": f"{name}-config",
            "ProductionVariants": [{"VariantName": "primary", "CurrentInstanceCount": count}],
        },
        {"EndpointName": name},
    )


def _describe_config(fakes: Fakes, name: str) -> None:
    fakes.sagemaker_stub.add_response(
        "describe_endpoint_config",
        {
            "EndpointConfigName": f"{name}-config",
            "EndpointConfigArn": f"arn:aws:sagemaker:us-east-1:1:endpoint-config/{name}",
            "ProductionVariants": [{"VariantName": "primary", "InstanceType": "ml.m5.large"}],
            "CreationTime": "2024-01-01",
        },
        {"EndpointConfigName": f"{name}-config"},
    )


def test_endpoints_rolling_back_hold_their_instances(fakes: Fakes) -> None:
    fakes.applied([quota("ml.m5.large for endpoint usage", 10, "L-EP")])

    def live(name: str, status: str, count: int) -> Callable[[], None]:
        def describe() -> None:
            _describe_live(fakes, name, status, count)
            _describe_config(fakes, name)

        return describe

    _endpoints(
        fakes,
        [
            ("back", "RollingBack", live("back", "RollingBack", 2)),
            ("stuck", "UpdateRollbackFailed", live("stuck", "UpdateRollbackFailed", 3)),
        ],
    )
    [result] = check([Need("endpoint", "ml.m5.large", 1)], **fakes.clients)
    assert result.in_use == 5


def test_an_endpoint_whose_config_was_deleted_is_skipped_and_logged(
    fakes: Fakes, caplog: pytest.LogCaptureFixture
) -> None:
    """One team's endpoint without its config must not stop every preflight and deploy."""
    fakes.applied([quota("ml.m5.large for endpoint usage", 10, "L-EP")])

    def orphan() -> None:
        _describe_live(fakes, "orphan", "InService", 4)
        fakes.sagemaker_stub.add_client_error(
            "describe_endpoint_config",
            service_error_code="ValidationException",
            service_message='Could not find endpoint configuration "orphan-config".',
            expected_params={"EndpointConfigName": "orphan-config"},
        )

    def fine() -> None:
        _describe_live(fakes, "fine", "InService", 2)
        _describe_config(fakes, "fine")

    _endpoints(fakes, [("orphan", "InService", orphan), ("fine", "InService", fine)])
    [result] = check([Need("endpoint", "ml.m5.large", 1)], **fakes.clients)
    assert result.in_use == 2
    assert "orphan-config" in caplog.text


def test_other_errors_while_counting_are_not_hidden(fakes: Fakes) -> None:
    fakes.applied([quota("ml.m5.large for endpoint usage", 10, "L-EP")])

    fakes.sagemaker_stub.add_response(
        "list_endpoints",
        {"Endpoints": [_endpoint_summary("secret", "InService")]},
        {"StatusEquals": "InService"},
    )
    fakes.sagemaker_stub.add_client_error(
        "describe_endpoint", service_error_code="AccessDeniedException"
    )
    with pytest.raises(Exception, match="AccessDeniedException"):
        check([Need("endpoint", "ml.m5.large", 1)], **fakes.clients)
