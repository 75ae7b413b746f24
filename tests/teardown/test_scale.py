"""200 endpoints (600 resources): the teardown's API calls grow linearly with the number of
resources: one call per deletion plus paged listings (bench/bench_teardown.py prints the
figures by operation)."""

from __future__ import annotations

from collections import Counter
from typing import Any

import boto3

from mlops.teardown import execute, plan_teardown
from tests.teardown.conftest import ENV, NO_WAIT, create_serving_stack, make_clients


def _teardown_calls(n: int) -> tuple[Counter[str], int]:
    from moto import mock_aws

    with mock_aws():
        session = boto3.Session(region_name="us-east-1")
        calls: Counter[str] = Counter()

        def count(event_name: str, **_: Any) -> None:
            calls[event_name.split(".", 2)[2]] += 1

        # Clients copy the session's hooks when created: register first.
        session.events.register("before-call", count)
        clients = make_clients(session)
        for i in range(n):
            create_serving_stack(clients.sagemaker, f"mlops-dev-g{i}", ENV)
        calls.clear()
        report = execute(
            plan_teardown(clients, ENV, ephemeral=True), clients, dry_run=False, retry=NO_WAIT
        )
        assert report.ok
        return calls, len(report.outcomes)


def test_api_calls_are_linear_in_the_number_of_resources() -> None:
    small, small_resources = _teardown_calls(50)
    large, large_resources = _teardown_calls(200)

    assert (small_resources, large_resources) == (150, 600)
    for operation in ("DeleteEndpoint", "DeleteEndpointConfig", "DeleteModel"):
        assert large[operation] == 200  # exactly one call per resource
    listing = {op: c for op, c in large.items() if not op.startswith("Delete")}
    # Listings are paged (100 per page): a few calls, not one per resource.
    assert sum(listing.values()) <= 40, listing
    # Four times the resources cost at most four times the calls (plus the fixed listings).
    assert sum(large.values()) <= 4 * sum(small.values())
    assert sum(large.values()) / large_resources < 1.1
