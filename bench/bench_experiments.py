"""Experiments: what the test MLflow server costs to start, and what logging one run costs.

Starts MLflow's tracking server app (the one ``mlflow server`` serves) on a free loopback port
with a SQLite backend, in a thread, timing import + first answer + schema creation; then logs
``--runs`` pipeline runs with :func:`mlops.experiments.runs.log_pipeline_run` (SigV4-signed
requests, as the run logger sends them) and re-logs each once (the idempotent update), timing
each and counting requests. Loopback only; nothing reaches AWS.

    .venv/bin/python bench/bench_experiments.py [--runs 20] [--json /tmp/bench-experiments.json]
"""

from __future__ import annotations

import argparse
import json
import os
import statistics
import sys
import tempfile
import threading
import time
import urllib.request
from pathlib import Path
from typing import Any

sys.path.insert(0, str(Path(__file__).resolve().parents[1]))

APP_ARN = "arn:aws:sagemaker:us-east-1:123456789012:mlflow-app/app-BENCH"
PIPELINE = "mlops-bench-training"


class Counter:
    def __init__(self, app: Any) -> None:
        self.app = app
        self.requests = 0

    def __call__(self, environ: dict[str, Any], start_response: Any) -> Any:
        self.requests += 1
        return self.app(environ, start_response)


def main() -> int:
    parser = argparse.ArgumentParser()
    parser.add_argument("--runs", type=int, default=20)
    parser.add_argument("--json", default="/tmp/bench-experiments.json")
    args = parser.parse_args()
    for name, value in {
        "AWS_ACCESS_KEY_ID": "bench",
        "AWS_SECRET_ACCESS_KEY": "bench",
        "AWS_SESSION_TOKEN": "bench",
    }.items():
        os.environ[name] = value
    folder = Path(tempfile.mkdtemp(prefix="bench-mlflow-"))
    load_before = os.getloadavg()[0]

    started = time.perf_counter()
    os.environ["_MLFLOW_SERVER_FILE_STORE"] = f"sqlite:///{folder / 'mlflow.db'}"
    os.environ["_MLFLOW_SERVER_ARTIFACT_ROOT"] = str(folder / "artifacts")
    from mlflow.server import app
    from werkzeug.serving import make_server

    imported = time.perf_counter()
    counter = Counter(app)
    server = make_server("127.0.0.1", 0, counter, threaded=True)
    threading.Thread(target=server.serve_forever, daemon=True).start()
    url = f"http://127.0.0.1:{server.server_port}"
    with urllib.request.urlopen(f"{url}/health", timeout=60):
        pass
    serving = time.perf_counter()
    ready = f"{url}/api/2.0/mlflow/experiments/get-by-name?experiment_name=Default"
    with urllib.request.urlopen(ready, timeout=120):
        pass
    schema = time.perf_counter()

    os.environ["SAGEMAKER_MLFLOW_CUSTOM_ENDPOINT"] = url
    from mlops.experiments.runs import PipelineRunFacts, log_pipeline_run
    from mlops.experiments.tracking import TrackingClient
    from mlops.training.evaluation import metrics

    evaluation = json.loads(
        json.dumps(metrics(["1", "0", "0", "1"], ["1", "0", "1", "1"], [0.9, 0.8, 0.6, 0.7]))
    )
    client = TrackingClient(APP_ARN)
    first: list[float] = []
    again: list[float] = []
    per_run: list[int] = []
    for index in range(args.runs):
        facts = PipelineRunFacts(
            pipeline_name=PIPELINE,
            execution_arn=(
                f"arn:aws:sagemaker:us-east-1:123456789012:pipeline/{PIPELINE}/execution/r{index}"
            ),
            parameters={f"P{i}": str(i) for i in range(14)},
            evaluation=evaluation,
            split_report={"method": "stratified", "ratios": [0.7, 0.15, 0.15], "seed": 7},
        )
        before = counter.requests
        tick = time.perf_counter()
        assert log_pipeline_run(client, facts).ok
        first.append(time.perf_counter() - tick)
        per_run.append(counter.requests - before)
        tick = time.perf_counter()
        assert log_pipeline_run(client, facts).ok
        again.append(time.perf_counter() - tick)
    server.shutdown()

    result = {
        "server_import_s": round(imported - started, 2),
        "server_serving_s": round(serving - started, 2),
        "server_ready_with_schema_s": round(schema - started, 2),
        "runs": args.runs,
        "requests_per_new_run": statistics.median(per_run),
        "log_new_run_ms_median": round(statistics.median(first) * 1000, 1),
        "log_again_ms_median": round(statistics.median(again) * 1000, 1),
        "cpus": os.cpu_count(),
        "load_before": load_before,
        "load_after": os.getloadavg()[0],
    }
    Path(args.json).write_text(json.dumps(result, indent=2) + "\n")
    for key, value in result.items():
        print(f"{key:28} {value}")
    return 0


if __name__ == "__main__":
    sys.exit(main())
