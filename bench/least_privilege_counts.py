"""Per-function counts of granted and used IAM actions (the least-privilege comparison).

Runs the tests that exercise the Lambda code plus tests/security in one pytest process (the
recorder plugin compares at session end) and prints the report it wrote. Not timed: the figure
is the counts, which docs/security.md quotes.

    .venv/bin/python bench/least_privilege_counts.py
"""

from __future__ import annotations

import json
import subprocess
import sys
import tempfile
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent


def main() -> int:
    basetemp = Path(tempfile.mkdtemp(prefix="least-privilege-"))
    run = subprocess.run(
        [sys.executable, "-m", "pytest", "-q", "-p", "no:xdist", f"--basetemp={basetemp}",
         "tests/security", "tests/deployment", "tests/teardown", "tests/studio",
         "tests/training"],
        cwd=ROOT, capture_output=True, text=True, check=False,
    )  # fmt: skip
    report_file = basetemp / "least-privilege.json"
    if not report_file.exists():
        print(run.stdout[-3000:], run.stderr[-3000:])
        return 1
    report = json.loads(report_file.read_text())
    print(f"{'function':<28} {'granted':>7} {'used':>5} {'explained':>9} {'violations':>10}")
    for name, function in report.items():
        print(
            f"{name:<28} {len(function['granted']):>7} {len(function['used']):>5} "
            f"{len(function['allowed_unused']):>9} {len(function['violations']):>10}"
        )
    return run.returncode


if __name__ == "__main__":
    sys.exit(main())
