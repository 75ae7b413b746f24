"""checkov on every synthesized template (dev and prod): 0 failed checks.

checkov pins boto3 1.35, packaging 23 and networkx 2, which would downgrade the platform's own
pins, so it lives in its own venv (.venv-checkov, made by `make setup` from
requirements-checkov.txt). Skips, each with its reason, are in .checkov.yaml.
"""

from __future__ import annotations

import json
import subprocess
from pathlib import Path

import pytest

from tests.synth import ROOT, Synthesized

CHECKOV = ROOT / ".venv-checkov" / "bin" / "checkov"


def test_checkov_passes_every_template(dev: Synthesized, prod: Synthesized, tmp_path: Path) -> None:
    if not CHECKOV.exists():
        pytest.fail(f"{CHECKOV} is missing: run `make setup` (it installs checkov)")
    for synthesized, env in ((dev, "dev"), (prod, "prod")):
        for part, template in synthesized.templates.items():
            (tmp_path / f"{env}-{part}.template.json").write_text(json.dumps(template))
    run = subprocess.run(
        [str(CHECKOV), "--config-file", str(ROOT / ".checkov.yaml"), "-d", str(tmp_path),
         "-o", "json"],
        capture_output=True, text=True, check=False, timeout=300, cwd=ROOT,
    )  # fmt: skip
    reports = json.loads(run.stdout)
    reports = reports if isinstance(reports, list) else [reports]
    failed = [
        f"{check['check_id']} {Path(check['file_path']).name}:{check['resource']}"
        for report in reports
        for check in report["results"]["failed_checks"]
    ]
    assert failed == [], f"checkov findings (fix, or skip with a reason in .checkov.yaml): {failed}"
    summary = reports[0]["summary"]
    assert summary["resource_count"] > 100 and summary["parsing_errors"] == 0
    assert run.returncode == 0, run.stderr[-2000:]
