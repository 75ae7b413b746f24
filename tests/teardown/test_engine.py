"""The engine on moto: an account with this environment's resources, another environment's
and untagged look-alikes. Afterwards ours are gone, theirs are untouched."""

from __future__ import annotations

import pytest

from mlops.errors import InputError
from mlops.teardown import Kind, Status, delete_endpoints, execute, plan_teardown
from tests.teardown.conftest import ENV, NO_WAIT, Account, count_serving


def _running_jobs(account: Account) -> set[str]:
    summaries = account.clients.sagemaker.list_processing_jobs(StatusEquals="InProgress")
    return {j["ProcessingJobName"] for j in summaries["ProcessingJobSummaries"]}


def test_teardown_removes_ours_and_leaves_the_rest(account: Account) -> None:
    assert count_serving(account.clients, account.ours) == 6
    plan = plan_teardown(account.clients, ENV, ephemeral=True)
    report = execute(plan, account.clients, dry_run=False, retry=NO_WAIT)

    assert report.ok, report.table()
    assert count_serving(account.clients, account.ours) == 0
    assert count_serving(account.clients, account.theirs) == 6
    # Our running job is stopped; another environment's and an untagged one keep running.
    assert _running_jobs(account) == {"prod-partition", "dev-x"}
    # Data is kept unless asked for.
    assert [s.resource.name for s in report.skipped] == ["dev-fraud-detection"]
    groups = account.clients.sagemaker.list_model_package_groups()
    assert {g["ModelPackageGroupName"] for g in groups["ModelPackageGroupSummaryList"]} == {
        "dev-fraud-detection",
        "prod-fraud-detection",
    }


def test_plan_is_in_dependency_order(account: Account) -> None:
    plan = plan_teardown(account.clients, ENV, ephemeral=True)
    kinds = [a.resource.kind for a in plan.actions]
    assert (
        kinds
        == [Kind.PROCESSING_JOB]
        + [Kind.ENDPOINT] * 2
        + [Kind.ENDPOINT_CONFIG] * 2
        + [Kind.MODEL] * 2
    )
    assert [p[0].resource.kind.phase for p in plan.phases()] == [1, 4, 5, 6]


def test_dry_run_changes_nothing(account: Account) -> None:
    plan = plan_teardown(account.clients, ENV, ephemeral=True)
    report = execute(plan, account.clients, dry_run=True)

    assert {o.status for o in report.outcomes} == {Status.PLANNED}
    assert len(report.outcomes) == 7
    assert count_serving(account.clients, account.ours) == 6
    assert "dev-partition" in _running_jobs(account)


def test_second_run_is_a_no_op(account: Account) -> None:
    first = execute(
        plan_teardown(account.clients, ENV, ephemeral=True),
        account.clients,
        dry_run=False,
        retry=NO_WAIT,
    )
    assert first.ok
    second = plan_teardown(account.clients, ENV, ephemeral=True)
    assert second.actions == ()
    assert count_serving(account.clients, account.theirs) == 6


def test_a_stale_plan_reports_already_gone(account: Account) -> None:
    """Tag listings can lag deletions: acting on a resource already gone is success."""
    plan = plan_teardown(account.clients, ENV, ephemeral=True)
    execute(plan, account.clients, dry_run=False, retry=NO_WAIT)
    again = execute(plan, account.clients, dry_run=False, retry=NO_WAIT)

    assert again.ok
    deletions = [o for o in again.outcomes if o.action.verb == "delete"]
    assert {o.status for o in deletions} == {Status.GONE}


def test_include_data_is_refused_outside_ephemeral_environments(account: Account) -> None:
    with pytest.raises(InputError, match="not ephemeral"):
        plan_teardown(account.clients, ENV, ephemeral=False, include_data=True)


def test_include_data_plans_groups_in_an_ephemeral_environment(account: Account) -> None:
    plan = plan_teardown(account.clients, ENV, ephemeral=True, include_data=True)
    groups = [a.resource.name for a in plan.actions if a.resource.kind is Kind.MODEL_PACKAGE_GROUP]
    assert groups == ["dev-fraud-detection"]
    assert plan.skipped == ()


def test_stack_delete_hook_removes_only_endpoints_configs_models(account: Account) -> None:
    report = delete_endpoints(account.clients, ENV, retry=NO_WAIT)

    assert report.ok
    assert {o.action.resource.kind for o in report.outcomes} == {
        Kind.ENDPOINT,
        Kind.ENDPOINT_CONFIG,
        Kind.MODEL,
    }
    assert count_serving(account.clients, account.ours) == 0
    assert count_serving(account.clients, account.theirs) == 6
    assert "dev-partition" in _running_jobs(account)
