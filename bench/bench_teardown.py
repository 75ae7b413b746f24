"""API calls of a teardown, by operation, for N endpoints (each with its config and model),
counted with a botocore event hook on moto. Shows that calls grow linearly with N.

    .venv/bin/python bench/bench_teardown.py [N ...]     (default: 50 100 200)
"""

from __future__ import annotations

import os
import sys
import time
from collections import Counter
from datetime import UTC, datetime, timedelta
from pathlib import Path
from typing import Any

sys.path.insert(0, str(Path(__file__).resolve().parents[1]))  # run from anywhere

import boto3
from botocore.config import Config
from moto import mock_aws

from mlops.constants import MANAGED_BY_VALUE, TAG_ENVIRONMENT, TAG_MANAGED_BY
from mlops.teardown import Clients, IdlePolicy, clean_idle, execute, plan_teardown

REGION = "us-east-1"
ROLE = "arn:aws:iam::123456789012:role/sagemaker-execution"
IMAGE = "123456789012.dkr.ecr.us-east-1.amazonaws.com/xgboost:latest"


def _populate(sm: Any, n: int, env: str) -> None:
    tags = [
        {"Key": TAG_ENVIRONMENT, "Value": env},
        {"Key": TAG_MANAGED_BY, "Value": MANAGED_BY_VALUE},
    ]
    for i in range(n):
        name = f"mlops-{env}-g{i}"
        sm.create_model(
            ModelName=name, ExecutionRoleArn=ROLE, PrimaryContainer={"Image": IMAGE}, Tags=tags
        )
        variant = {
            "VariantName": "AllTraffic",
            "ModelName": name,
            "InitialInstanceCount": 1,
            "InstanceType": "ml.m5.large",
        }
        sm.create_endpoint_config(EndpointConfigName=name, ProductionVariants=[variant], Tags=tags)
        sm.create_endpoint(EndpointName=name, EndpointConfigName=name, Tags=tags)
    # moto 5.2.5 stores an endpoint config's ARN as a 1-tuple; real AWS returns a string.
    from moto.core.models import DEFAULT_ACCOUNT_ID
    from moto.sagemaker.models import sagemaker_backends

    backend = sagemaker_backends[DEFAULT_ACCOUNT_ID][REGION]
    for config in backend.endpoint_configs.values():
        config.arn = config.endpoint_config_arn  # type: ignore[assignment]
    past = (datetime.now(UTC) - timedelta(days=2)).replace(tzinfo=None)
    for endpoint in backend.endpoints.values():
        endpoint.creation_time = endpoint.last_modified_time = past


def measure(n: int, *, mode: str = "full") -> tuple[Counter[str], int, float]:
    """(calls by operation, resources removed, seconds) for a teardown of N endpoints."""
    with mock_aws():
        session = boto3.Session(region_name=REGION)
        _populate(session.client("sagemaker"), n, "dev")
        _populate(session.client("sagemaker"), n // 4, "prod")  # never touched
        calls: Counter[str] = Counter()

        def count(event_name: str, **_: Any) -> None:
            calls[event_name.split(".", 2)[2]] += 1  # before-call.<service>.<Operation>

        session.events.register("before-call", count)
        config = Config(retries={"total_max_attempts": 1})
        clients = Clients(
            **{
                field: session.client(service, config=config)  # type: ignore[call-overload]
                for field, service in (
                    ("sagemaker", "sagemaker"),
                    ("tagging", "resourcegroupstaggingapi"),
                    ("cloudwatch", "cloudwatch"),
                    ("s3", "s3"),
                    ("efs", "efs"),
                    ("ec2", "ec2"),
                )
            }
        )
        started = time.perf_counter()
        if mode == "full":
            report = execute(
                plan_teardown(clients, "dev", ephemeral=True), clients, dry_run=False, max_workers=8
            )
        else:
            policy = IdlePolicy(
                endpoint_idle=timedelta(hours=12),
                job_ttl=timedelta(hours=24),
                app_idle=timedelta(hours=12),
            )
            report = clean_idle(clients, "dev", policy, dry_run=False)
        elapsed = time.perf_counter() - started
        assert report.ok, report.summary()
        return calls, len(report.outcomes), elapsed


def main(argv: list[str]) -> int:
    os.environ.setdefault("AWS_ACCESS_KEY_ID", "testing")
    os.environ.setdefault("AWS_SECRET_ACCESS_KEY", "testing")
    sizes = [int(a) for a in argv] or [50, 100, 200]
    print("mode  endpoints  resources  api_calls  calls/resource  seconds  by operation")
    for mode in ("full", "idle"):
        for n in sizes:
            calls, removed, seconds = measure(n, mode=mode)
            total = sum(calls.values())
            detail = ", ".join(f"{op}={c}" for op, c in sorted(calls.items()))
            print(
                f"{mode:5} {n:9d}  {removed:9d}  {total:9d}  {total / removed:14.2f}  "
                f"{seconds:7.2f}  {detail}"
            )
    return 0


if __name__ == "__main__":
    sys.exit(main(sys.argv[1:]))
