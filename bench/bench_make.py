"""Warm wall time of the README's two commands: `make synth` and `make test`.

Usage: ``.venv/bin/python bench/bench_make.py [--runs 3]`` from the project root, after one
`make synth` / `make test` has set everything up (so the runs are warm). Prints each run and
the median; the Foundation issue's goal is `make test` <= 90 s on this 2-core machine.
"""

from __future__ import annotations

import argparse
import os
import statistics
import subprocess
import sys
import time
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
GOAL_TEST_SECONDS = 90.0


def timed(target: str) -> float:
    start = time.perf_counter()
    result = subprocess.run(["make", target], cwd=ROOT, capture_output=True, text=True)
    elapsed = time.perf_counter() - start
    if result.returncode != 0:
        sys.exit(f"make {target} failed:\n{result.stdout[-2000:]}\n{result.stderr[-2000:]}")
    return elapsed


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--runs", type=int, default=3)
    args = parser.parse_args()
    print(f"machine: {os.cpu_count()} cores, load average {os.getloadavg()[0]:.1f}")
    medians = {}
    for target in ("synth", "test"):
        runs = [timed(target) for _ in range(args.runs)]
        medians[target] = statistics.median(runs)
        shown = ", ".join(f"{r:.1f}" for r in runs)
        print(f"make {target:<5}  runs: {shown} s  median: {medians[target]:.1f} s")
    verdict = "MET" if medians["test"] <= GOAL_TEST_SECONDS else "MISSED"
    print(f"goal make test <= {GOAL_TEST_SECONDS:.0f} s: {verdict}")
    return 0


if __name__ == "__main__":
    sys.exit(main())
