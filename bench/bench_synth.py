"""Full `cdk synth` of an environment against a bare one-bucket CDK app, run in turn.

Usage: ``.venv/bin/python bench/bench_synth.py [--runs 5] [--env dev]`` from the project root,
after `make synth` has set everything up. Both apps are synthesized by the same CDK CLI
(node_modules) with the same Python, feature flags and flags (`--quiet`), alternating
platform / bare so that load changes on a shared machine hit both alike. Prints each pair, the
medians and their ratio; the training issue's goal is a ratio <= 2.
"""

from __future__ import annotations

import argparse
import json
import os
import statistics
import subprocess
import sys
import tempfile
import time
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
CDK = ROOT / "node_modules" / ".bin" / "cdk"
GOAL_RATIO = 2.0

BARE_APP = """
import aws_cdk as cdk
from aws_cdk import aws_s3 as s3

app = cdk.App()
stack = cdk.Stack(app, "bare")
s3.Bucket(stack, "Bucket")
app.synth()
"""


def bare_app(folder: Path) -> Path:
    """A one-bucket app with the platform's cdk.json context (feature flags), minus its app."""
    platform = json.loads((ROOT / "cdk.json").read_text())
    (folder / "app.py").write_text(BARE_APP)
    (folder / "cdk.json").write_text(
        json.dumps({"app": f"{sys.executable} app.py", "context": platform["context"]})
    )
    return folder


def synth(cwd: Path, outdir: Path, *extra: str) -> float:
    environment = {
        **os.environ,
        "JSII_SILENCE_WARNING_END_OF_LIFE_NODE_VERSION": "20",
        "AWS_EC2_METADATA_DISABLED": "true",
        "PATH": f"{ROOT / '.venv' / 'bin'}:{os.environ['PATH']}",
    }
    start = time.perf_counter()
    result = subprocess.run(
        [str(CDK), "synth", "--quiet", "-o", str(outdir), *extra],
        cwd=cwd,
        env=environment,
        capture_output=True,
        text=True,
    )
    elapsed = time.perf_counter() - start
    if result.returncode != 0:
        sys.exit(f"cdk synth in {cwd} failed:\n{result.stderr[-3000:]}")
    return elapsed


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--runs", type=int, default=5)
    parser.add_argument("--env", default="dev")
    args = parser.parse_args()
    print(f"machine: {os.cpu_count()} cores, load average {os.getloadavg()[0]:.1f}")
    platform_runs: list[float] = []
    bare_runs: list[float] = []
    with tempfile.TemporaryDirectory(prefix="bench-synth-") as scratch:
        bare = bare_app(Path(scratch))
        for run in range(args.runs):
            platform_runs.append(
                synth(ROOT, Path(scratch) / "platform.out", "-c", f"env={args.env}")
            )
            bare_runs.append(synth(bare, Path(scratch) / "bare.out"))
            print(f"run {run + 1}: platform {platform_runs[-1]:.1f} s, bare {bare_runs[-1]:.1f} s")
    platform, bare_median = statistics.median(platform_runs), statistics.median(bare_runs)
    ratio = platform / bare_median
    print(
        f"median: platform ({args.env}) {platform:.1f} s, bare one-bucket app {bare_median:.1f} s"
    )
    verdict = "MET" if ratio <= GOAL_RATIO else "MISSED"
    print(f"ratio {ratio:.2f} (goal <= {GOAL_RATIO:.0f}): {verdict}")
    print(f"load average after: {os.getloadavg()[0]:.1f}")
    return 0


if __name__ == "__main__":
    sys.exit(main())
