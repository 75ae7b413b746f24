"""Deploy Lambda figures: cold import time of its handler, and AWS calls per deployment.

    .venv/bin/python bench/bench_deploy_import.py [--runs 9]

Cold import: a fresh interpreter per run imports ``handler`` the way Lambda does (the handler
directory and the ``mlops`` layer on ``sys.path``); the median of the runs is reported, with
``python -X importtime``'s heaviest modules for one run.

AWS calls: the deploy logic runs against moto (Service Quotas stubbed, UpdateEndpoint answered
by a hook, monitoring schedules added to moto, as in tests/deployment) and every API call is
counted by a botocore event hook, for the endpoint (``converge``) and for its monitoring
(``follow_monitoring``, with the versions carrying drift baselines) separately.
"""

from __future__ import annotations

import argparse
import statistics
import subprocess
import sys
from collections import Counter
from pathlib import Path
from typing import Any

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT))

IMPORT_SNIPPET = """
import sys, time
sys.path[:0] = [{handler_dir!r}, {layer_dir!r}]
start = time.perf_counter()
import handler
print((time.perf_counter() - start) * 1000)
"""


def cold_import_ms(runs: int) -> list[float]:
    snippet = IMPORT_SNIPPET.format(
        handler_dir=str(ROOT / "lambdas" / "deploy"), layer_dir=str(ROOT)
    )
    times = []
    for _ in range(runs):
        result = subprocess.run(
            [sys.executable, "-c", snippet], capture_output=True, text=True, check=True, cwd="/"
        )
        times.append(float(result.stdout.strip()))
    return times


def heaviest_imports(top: int = 6) -> list[tuple[int, str]]:
    snippet = IMPORT_SNIPPET.format(
        handler_dir=str(ROOT / "lambdas" / "deploy"), layer_dir=str(ROOT)
    )
    result = subprocess.run(
        [sys.executable, "-X", "importtime", "-c", snippet],
        capture_output=True,
        text=True,
        check=True,
        cwd="/",
    )
    rows = []
    for line in result.stderr.splitlines():
        parts = line.split("|")
        if len(parts) == 3 and parts[1].strip().isdigit():
            rows.append((int(parts[1].strip()), parts[2].rstrip()))
    return sorted(rows, reverse=True)[:top]


def count_calls() -> dict[str, Counter[str]]:
    from moto import mock_aws

    from mlops.deployment.deploy import converge
    from mlops.deployment.service import follow_monitoring
    from tests.deployment import conftest
    from tests.monitoring.conftest import settings as monitoring_settings
    from tests.shipped import sagemaker_monitoring

    sagemaker_monitoring.install()
    settings = conftest.settings(monitoring=monitoring_settings())
    scenarios: dict[str, Counter[str]] = {}
    fixture: Any = conftest.account.__wrapped__  # type: ignore[attr-defined]
    with mock_aws():
        generator = fixture()
        account = next(generator)
        calls: Counter[str] = Counter()

        def count(model: Any, **kwargs: Any) -> None:
            calls[f"{model.service_model.service_name}:{model.name}"] += 1

        for client in (account.sagemaker, account.clients.service_quotas):
            client.meta.events.register("before-parameter-build", count)

        def run(name: str) -> None:
            calls.clear()
            outcome = converge(
                account.sagemaker, account.clients.service_quotas, settings, "fraud-detection"
            )
            scenarios[name] = Counter(calls)
            calls.clear()
            follow_monitoring(account.clients, settings, outcome)
            scenarios[f"{name}, then its monitoring"] = Counter(calls)

        v1, v2 = (account.register(baselines=f"s3://artifacts/run-{n}") for n in (1, 2))
        account.quota(100, times=3)
        account.decide(v1, "Approved")
        run("approve v1 (create endpoint)")
        account.decide(v2, "Approved")
        run("approve v2 (blue/green update)")
        run("duplicate event (no-op)")
        account.decide(v2, "Rejected")
        run("reject v2 (roll back to v1)")
        generator.close()
    return scenarios


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--runs", type=int, default=9)
    args = parser.parse_args()

    times = cold_import_ms(args.runs)
    print(
        f"deploy handler cold import: median {statistics.median(times):.0f} ms "
        f"(min {min(times):.0f}, max {max(times):.0f}, {args.runs} fresh interpreters)"
    )
    print("heaviest imports (cumulative us):")
    for micros, module in heaviest_imports():
        print(f"  {micros:>8}  {module.strip()}")
    print()
    for scenario, calls in count_calls().items():
        detail = ", ".join(f"{name.split(':')[1]} {n}" for name, n in sorted(calls.items()))
        print(f"{scenario}: {sum(calls.values())} AWS calls ({detail})")


if __name__ == "__main__":
    main()
