"""Late fraud labels (chargebacks) -> ground truth in the layout Model Monitor merges.

Input: a CSV with the header ``inference_id,is_fraud`` and one row per scored request, the
``inference_id`` being the ``InferenceId`` the application sent with ``InvokeEndpoint``.
Output: one JSON Lines object (``.jsonl``) under
``<ground truth>/<endpoint>/yyyy/mm/dd/hh/`` (UTC hour of the upload: "the date in this path
is the date when the Ground Truth label is collected, and does not have to match the date
when the inference was generated"), one record per row (docs "Ingest Ground Truth labels and
merge them with predictions")::

    {"groundTruthData": {"data": "1", "encoding": "CSV"},
     "eventMetadata": {"eventId": "<inference_id>"}, "eventVersion": "0"}

Model Monitor matches ``eventId`` with the captured record's ``inferenceId`` when the request
carried one (else with its generated ``eventId``).

Every row is checked before anything is written; a bad file gets one line per bad row (the
first :data:`MAX_REPORTED` of them) and nothing is uploaded. The upload is a single
PutObject, which S3 makes visible whole or not at all. The object name is the hash of its
content, so uploading the same file again within the hour rewrites the same object.
"""

from __future__ import annotations

import csv
import hashlib
import io
import json
from dataclasses import dataclass
from datetime import UTC, datetime
from typing import TYPE_CHECKING, Final

from mlops.data.io import S3Location, parse_location, s3_errors
from mlops.errors import InputError

if TYPE_CHECKING:
    from mypy_boto3_s3 import S3Client

HEADER: Final = ("inference_id", "is_fraud")
LABELS: Final = ("0", "1")
# InvokeEndpoint's InferenceId: 1-64 characters, pattern \A\S[\p{Print}]*\z (botocore).
MAX_INFERENCE_ID: Final = 64
MAX_REPORTED: Final = 20
# One PutObject takes up to 5 GB; a label file is far smaller (about 60 bytes a row).
MAX_BYTES: Final = 5 * 1024**3


@dataclass(frozen=True)
class Label:
    inference_id: str
    is_fraud: str


def _row_problem(row: list[str], seen: dict[str, int]) -> str | None:
    if len(row) != len(HEADER):
        return f"has {len(row)} columns; expected 2 (inference_id,is_fraud)"
    inference_id, is_fraud = row
    if not inference_id:
        return "inference_id is empty"
    if len(inference_id) > MAX_INFERENCE_ID:
        return f"inference_id has {len(inference_id)} characters; at most 64 are allowed"
    if inference_id[0].isspace() or not inference_id.isprintable():
        return (
            f"inference_id {inference_id!r} must start with a non-space character and be "
            "printable (InvokeEndpoint's InferenceId)"
        )
    if is_fraud not in LABELS:
        return f"is_fraud {is_fraud!r} is not a label; allowed: 0 or 1"
    if inference_id in seen:
        return f"inference_id {inference_id!r} repeats line {seen[inference_id]}"
    return None


def parse(text: str, source: str) -> list[Label]:
    """The labels of a CSV, or InputError listing the bad rows (one line each)."""
    rows = csv.reader(io.StringIO(text.removeprefix("\ufeff")))
    header = next(rows, None)
    if header is None or [cell.strip() for cell in header] != list(HEADER):
        raise InputError(
            f"{source}: the first line must be the header inference_id,is_fraud; got "
            f"{','.join(header) if header else 'an empty file'!r}"
        )
    labels: list[Label] = []
    problems: list[str] = []
    seen: dict[str, int] = {}
    for line, row in enumerate(rows, start=2):
        if not row:
            continue  # blank line
        cells = [cell.strip() for cell in row]
        problem = _row_problem(cells, seen)
        if problem:
            problems.append(f"{source} line {line}: {problem}")
            continue
        seen[cells[0]] = line
        labels.append(Label(cells[0], cells[1]))
    if problems:
        shown = problems[:MAX_REPORTED]
        more = len(problems) - len(shown)
        raise InputError(
            f"{source}: {len(problems)} bad row(s); nothing was uploaded\n"
            + "\n".join(shown)
            + (f"\n... and {more} more" if more else "")
        )
    if not labels:
        raise InputError(f"{source}: no label rows after the header; nothing was uploaded")
    return labels


def jsonl(labels: list[Label]) -> bytes:
    """The ground-truth records, one JSON object per line."""
    lines = (
        json.dumps(
            {
                "groundTruthData": {"data": label.is_fraud, "encoding": "CSV"},
                "eventMetadata": {"eventId": label.inference_id},
                "eventVersion": "0",
            },
            separators=(",", ":"),
        )
        for label in labels
    )
    return ("\n".join(lines) + "\n").encode()


def destination(ground_truth: str, body: bytes, now: datetime) -> S3Location:
    """``<ground_truth>/yyyy/mm/dd/hh/labels-<content hash>.jsonl`` (UTC hour of ``now``)."""
    location = parse_location(ground_truth)
    if not isinstance(location, S3Location) or not location.key:
        raise InputError(f"ground truth location {ground_truth!r} must be s3://BUCKET/PREFIX")
    hour = now.astimezone(UTC).strftime("%Y/%m/%d/%H")
    digest = hashlib.sha256(body).hexdigest()[:16]
    return location.child(f"{hour}/labels-{digest}.jsonl")


def upload(
    s3: S3Client, ground_truth: str, text: str, source: str, *, now: datetime | None = None
) -> tuple[S3Location, int]:
    """Validate ``text`` and write it as one ground-truth object; (where, rows)."""
    labels = parse(text, source)
    body = jsonl(labels)
    if len(body) > MAX_BYTES:
        raise InputError(f"{source}: {len(body)} bytes of ground truth; split the file (5 GB)")
    target = destination(ground_truth, body, now or datetime.now(UTC))
    with s3_errors(target.uri):
        s3.put_object(
            Bucket=target.bucket, Key=target.key, Body=body, ContentType="application/jsonlines"
        )
    return target, len(labels)
