"""`labels upload`: validated rows -> one JSON Lines object in Model Monitor's hourly layout."""

from __future__ import annotations

import json
from datetime import UTC, datetime
from pathlib import Path

import pytest

from mlops.cli import main
from mlops.errors import InputError
from mlops.monitoring import labels
from tests.monitoring.conftest import ARTIFACTS, ENDPOINT, GROUP, Account, settings

GROUND_TRUTH = f"s3://{ARTIFACTS}/ground-truth/{ENDPOINT}"
NOW = datetime(2026, 11, 30, 9, 41, tzinfo=UTC)


def _objects(account: Account) -> list[str]:
    listed = account.s3.list_objects_v2(Bucket=ARTIFACTS, Prefix="ground-truth/")
    return [item["Key"] for item in listed.get("Contents", [])]


def test_rows_become_ground_truth_records_under_the_hour(account: Account) -> None:
    text = "inference_id,is_fraud\ntx-1,1\ntx-2,0\n"
    target, rows = labels.upload(account.s3, GROUND_TRUTH, text, "labels.csv", now=NOW)
    assert rows == 2
    assert target.key.startswith(f"ground-truth/{ENDPOINT}/2026/11/30/09/labels-")
    assert target.key.endswith(".jsonl")
    body = account.s3.get_object(Bucket=ARTIFACTS, Key=target.key)["Body"].read().decode()
    records = [json.loads(line) for line in body.splitlines()]
    assert records == [
        {
            "groundTruthData": {"data": "1", "encoding": "CSV"},
            "eventMetadata": {"eventId": "tx-1"},
            "eventVersion": "0",
        },
        {
            "groundTruthData": {"data": "0", "encoding": "CSV"},
            "eventMetadata": {"eventId": "tx-2"},
            "eventVersion": "0",
        },
    ]
    # Same file, same hour: the same object again (no duplicate ground truth).
    again, _ = labels.upload(account.s3, GROUND_TRUTH, text, "labels.csv", now=NOW)
    assert again == target and len(_objects(account)) == 1


def test_bad_rows_get_one_line_each_and_nothing_is_written(account: Account) -> None:
    text = (
        "inference_id,is_fraud\n"
        "tx-1,1\n"
        ",0\n"  # empty id
        "tx-3,yes\n"  # not a label
        "tx-1,0\n"  # repeated
        "tx-5,1,extra\n"  # too many columns
        f"{'x' * 65},1\n"  # longer than InvokeEndpoint's InferenceId
        " tx-7,1\n"  # strip keeps it valid
    )
    with pytest.raises(InputError) as raised:
        labels.upload(account.s3, GROUND_TRUTH, text, "labels.csv", now=NOW)
    lines = str(raised.value).splitlines()
    assert lines[0] == "labels.csv: 5 bad row(s); nothing was uploaded"
    assert lines[1:] == [
        "labels.csv line 3: inference_id is empty",
        "labels.csv line 4: is_fraud 'yes' is not a label; allowed: 0 or 1",
        "labels.csv line 5: inference_id 'tx-1' repeats line 2",
        "labels.csv line 6: has 3 columns; expected 2 (inference_id,is_fraud)",
        "labels.csv line 7: inference_id has 65 characters; at most 64 are allowed",
    ]
    assert _objects(account) == []


@pytest.mark.parametrize(
    ("text", "message"),
    [
        ("", "the first line must be the header inference_id,is_fraud; got 'an empty file'"),
        (
            "id,label\n1,1\n",
            "the first line must be the header inference_id,is_fraud; got 'id,label'",
        ),
        ("inference_id,is_fraud\n", "no label rows after the header; nothing was uploaded"),
    ],
)
def test_files_without_rows_or_header_are_refused(text: str, message: str) -> None:
    with pytest.raises(InputError, match="^labels.csv: " + message.replace("(", r"\(")):
        labels.parse(text, "labels.csv")


def test_cli_writes_where_the_model_quality_schedule_reads(
    account: Account, tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    from mlops.monitoring.schedules import ensure_monitoring

    ensure_monitoring(account.sagemaker, settings(), GROUP, account.version(1))
    csv_file = tmp_path / "chargebacks.csv"
    csv_file.write_text("inference_id,is_fraud\ntx-9,1\n")
    code = main(
        ["labels", "upload", "--group", "fraud-detection", "--env", "dev", "--csv", str(csv_file)]
    )
    assert code == 0
    (key,) = _objects(account)
    assert key.startswith(f"ground-truth/{ENDPOINT}/")
    assert f"1 label(s) for {ENDPOINT} written to s3://{ARTIFACTS}/{key}" in capsys.readouterr().out


def test_cli_without_a_schedule_says_what_to_do(
    account: Account, tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    csv_file = tmp_path / "chargebacks.csv"
    csv_file.write_text("inference_id,is_fraud\ntx-9,1\n")
    code = main(
        ["labels", "upload", "--env", "dev", "--group", "fraud-detection", "--csv", str(csv_file)]
    )
    assert code == 2
    (line,) = capsys.readouterr().err.strip().splitlines()
    assert "has no model-quality schedule" in line and "--ground-truth-uri" in line
