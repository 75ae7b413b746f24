"""Idle endpoints from CloudWatch: the sum of ``AWS/SageMaker Invocations`` over a window.

SageMaker publishes ``Invocations`` per (EndpointName, VariantName), so each endpoint is
described once for its variant names; then one GetMetricData call reads up to 500 variants
(one datapoint each: the period is the whole window). An endpoint without datapoints had no
invocations.
"""

from __future__ import annotations

from collections.abc import Iterable
from datetime import datetime, timedelta
from typing import TYPE_CHECKING

from botocore.exceptions import ClientError

from mlops.teardown.aws import Clients, is_not_found

if TYPE_CHECKING:
    from mypy_boto3_cloudwatch.type_defs import MetricDataQueryTypeDef

NAMESPACE = "AWS/SageMaker"
METRIC = "Invocations"
MAX_QUERIES_PER_CALL = 500  # GetMetricData's limit


def endpoint_invocations(
    clients: Clients, endpoint_names: Iterable[str], *, window: timedelta, now: datetime
) -> dict[str, float]:
    """Invocations of each endpoint over ``[now - window, now]`` (0.0 when none)."""
    variants: list[tuple[str, str]] = []
    totals: dict[str, float] = {}
    for name in endpoint_names:
        try:
            described = clients.sagemaker.describe_endpoint(EndpointName=name)
        except ClientError as error:
            if is_not_found(error):
                continue
            raise
        totals[name] = 0.0
        variants += [(name, v["VariantName"]) for v in described.get("ProductionVariants", [])]

    # Whole minutes, at least one: CloudWatch periods are multiples of 60 s.
    period = max(60, int(window.total_seconds()) // 60 * 60)
    for start in range(0, len(variants), MAX_QUERIES_PER_CALL):
        batch = variants[start : start + MAX_QUERIES_PER_CALL]
        queries: list[MetricDataQueryTypeDef] = [
            {
                "Id": f"v{start + i}",
                "MetricStat": {
                    "Metric": {
                        "Namespace": NAMESPACE,
                        "MetricName": METRIC,
                        "Dimensions": [
                            {"Name": "EndpointName", "Value": endpoint},
                            {"Name": "VariantName", "Value": variant},
                        ],
                    },
                    "Period": period,
                    "Stat": "Sum",
                },
                "ReturnData": True,
            }
            for i, (endpoint, variant) in enumerate(batch)
        ]
        paginator = clients.cloudwatch.get_paginator("get_metric_data")
        pages = paginator.paginate(MetricDataQueries=queries, StartTime=now - window, EndTime=now)
        for page in pages:
            for result in page.get("MetricDataResults", []):
                endpoint = variants[int(result["Id"][1:])][0]
                totals[endpoint] += float(sum(result.get("Values", [])))
    return totals
