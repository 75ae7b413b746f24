"""The scheduled clean-up decides from CloudWatch metrics and ages (moto), and Studio app
activity (Stubber: moto lacks apps)."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta

from botocore.stub import Stubber

from mlops.teardown import IdlePolicy, Kind, Status, clean_idle
from mlops.teardown.discovery import Inventory, discover
from mlops.teardown.idle import endpoint_invocations
from mlops.teardown.planning import plan_idle
from mlops.teardown.resources import Resource
from tests.teardown.conftest import (
    ENV,
    NO_WAIT,
    Account,
    age_endpoint,
    create_processing_job,
    make_clients,
    set_running,
)

POLICY = IdlePolicy(
    endpoint_idle=timedelta(hours=12), job_ttl=timedelta(hours=24), app_idle=timedelta(hours=6)
)
BUSY, IDLE = "mlops-dev-fraud", "mlops-dev-fraud-v2"


def _invoke(account: Account, endpoint: str, when: datetime, count: float) -> None:
    account.clients.cloudwatch.put_metric_data(
        Namespace="AWS/SageMaker",
        MetricData=[
            {
                "MetricName": "Invocations",
                "Dimensions": [
                    {"Name": "EndpointName", "Value": endpoint},
                    {"Name": "VariantName", "Value": "AllTraffic"},
                ],
                "Timestamp": when,
                "Value": count,
            }
        ],
    )


def _endpoints(account: Account) -> set[str]:
    return {e["EndpointName"] for e in account.clients.sagemaker.list_endpoints()["Endpoints"]}


def test_invocations_are_summed_over_the_window(account: Account) -> None:
    now = datetime.now(UTC)
    _invoke(account, BUSY, now - timedelta(hours=1), 3)
    _invoke(account, BUSY, now - timedelta(hours=2), 4)
    _invoke(account, IDLE, now - timedelta(hours=20), 9)  # before the window

    totals = endpoint_invocations(
        account.clients, [BUSY, IDLE], window=timedelta(hours=12), now=now
    )
    assert totals == {BUSY: 7.0, IDLE: 0.0}


def test_only_idle_old_endpoints_and_expired_jobs_are_removed(account: Account) -> None:
    now = datetime.now(UTC)
    for name in account.ours | account.theirs:
        age_endpoint(name, since=now - timedelta(hours=48))
    _invoke(account, BUSY, now - timedelta(hours=1), 5)
    # A young job is kept; the fixture's dev-partition has run 30 h (> 24 h TTL).
    create_processing_job(account.clients.sagemaker, "dev-young", ENV)
    set_running("dev-young", since=now - timedelta(hours=2))

    report = clean_idle(account.clients, ENV, POLICY, dry_run=False, now=now, retry=NO_WAIT)

    assert report.ok
    acted = {(o.action.resource.kind, o.action.resource.name) for o in report.outcomes}
    assert acted == {(Kind.ENDPOINT, IDLE), (Kind.PROCESSING_JOB, "dev-partition")}
    # Other environments' idle endpoints and untagged ones stay; configs and models stay.
    assert _endpoints(account) == {BUSY, *account.theirs}
    configs = account.clients.sagemaker.list_endpoint_configs()["EndpointConfigs"]
    assert IDLE in {c["EndpointConfigName"] for c in configs}
    kept = {s.resource.name: s.reason for s in report.skipped}
    assert kept[BUSY] == "5 invocations in the last 12h"
    assert kept["dev-young"] == "running for less than 24h"


def test_endpoints_changed_within_the_window_are_kept(account: Account) -> None:
    now = datetime.now(UTC)
    for name in account.ours:
        age_endpoint(name, since=now - timedelta(hours=3))  # no traffic, but just deployed
    report = clean_idle(account.clients, ENV, POLICY, dry_run=False, now=now, retry=NO_WAIT)
    assert not [o for o in report.outcomes if o.action.resource.kind is Kind.ENDPOINT]
    assert account.ours <= _endpoints(account)


def test_scheduled_dry_run_changes_nothing(account: Account) -> None:
    now = datetime.now(UTC)
    for name in account.ours:
        age_endpoint(name, since=now - timedelta(hours=48))
    report = clean_idle(account.clients, ENV, POLICY, dry_run=True, now=now)
    assert {o.status for o in report.outcomes} == {Status.PLANNED}
    assert len(report.outcomes) == 3  # two idle endpoints, one expired job
    assert account.ours <= _endpoints(account)


def test_idle_studio_apps_by_last_user_activity() -> None:
    clients = make_clients()
    now = datetime(2025, 6, 1, 12, tzinfo=UTC)
    domain_arn = "arn:aws:sagemaker:us-east-1:123456789012:domain/d-ours"
    with Stubber(clients.sagemaker) as sagemaker, Stubber(clients.tagging) as tagging:
        tagging.add_response(
            "get_resources",
            {
                "ResourceTagMappingList": [
                    {
                        "ResourceARN": domain_arn,
                        "Tags": [
                            {"Key": "mlops:environment", "Value": "dev"},
                            {"Key": "mlops:managed-by", "Value": "fraud-mlops-platform"},
                        ],
                    }
                ]
            },
        )
        sagemaker.add_response("describe_domain", {"DomainId": "d-ours"}, {"DomainId": "d-ours"})
        apps = [("stale", now - timedelta(hours=9)), ("active", now - timedelta(minutes=5))]
        sagemaker.add_response(
            "list_apps",
            {
                "Apps": [
                    {
                        "DomainId": "d-ours",
                        "SpaceName": f"space-{name}",
                        "AppType": "JupyterLab",
                        "AppName": "default",
                        "Status": "InService",
                        "CreationTime": now - timedelta(days=2),
                    }
                    for name, _ in apps
                ]
                + [
                    {
                        "DomainId": "d-ours",
                        "UserProfileName": "data-scientist-1",
                        "AppType": "JupyterServer",
                        "AppName": "default",
                        "Status": "Deleted",
                    }
                ]
            },
            {"DomainIdEquals": "d-ours", "MaxResults": 100},
        )
        for name, last_activity in apps:
            params = {
                "DomainId": "d-ours",
                "SpaceName": f"space-{name}",
                "AppType": "JupyterLab",
                "AppName": "default",
            }
            sagemaker.add_response(
                "describe_app",
                {"AppArn": f"arn:app/{name}", "LastUserActivityTimestamp": last_activity},
                params,
            )
        inventory = discover(clients, ENV, {Kind.STUDIO_APP})
        plan = plan_idle(inventory, POLICY, now=now, invocations={})
        sagemaker.assert_no_pending_responses()

    assert [a.resource.name for a in plan.actions] == ["d-ours/space-stale/JupyterLab/default"]
    assert plan.actions[0].resource.params["SpaceName"] == "space-stale"
    assert [s.resource.name for s in plan.skipped] == ["d-ours/space-active/JupyterLab/default"]


def test_only_the_schedules_of_idle_endpoints_go_and_before_them() -> None:
    """Planning only (no AWS): a schedule watching an endpoint that stays is kept."""
    now = datetime(2025, 6, 1, 12, tzinfo=UTC)
    old = now - timedelta(days=3)

    def resource(
        kind: Kind, name: str, status: str = "", since: datetime | None = None, endpoint: str = ""
    ) -> Resource:
        return Resource(kind, name, f"arn:{name}", {}, status, since, endpoint)

    inventory = Inventory(
        ENV,
        (
            resource(Kind.ENDPOINT, IDLE, status="InService", since=old),
            resource(Kind.ENDPOINT, BUSY, status="InService", since=old),
            resource(Kind.MONITORING_SCHEDULE, f"{IDLE}-dq", endpoint=IDLE),
            resource(Kind.MONITORING_SCHEDULE, f"{BUSY}-dq", endpoint=BUSY),
        ),
        {},
    )
    plan = plan_idle(inventory, POLICY, now=now, invocations={BUSY: 7.0})
    assert [a.resource.name for a in plan.actions] == [f"{IDLE}-dq", IDLE]
    assert {s.resource.name: s.reason for s in plan.skipped} == {
        BUSY: "7 invocations in the last 12h",
        f"{BUSY}-dq": f"its endpoint {BUSY} is kept",
    }
