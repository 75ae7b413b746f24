"""Split reports and SageMaker manifests: building, reading and merging shard reports.

Standard library only (plus :mod:`mlops.data.io`, which needs boto3 for S3), so a Lambda or a
small merge step can use it without numpy or pyarrow.

A single-instance partition writes ``OUT/manifests/<split>.manifest`` and
``OUT/split-report.json`` itself. On K > 1 Processing instances each host writes its parts
(numbered ``host + K * n``, so names never collide) and its own report and manifests under
``OUT/shards/host-NNNNN/``; :func:`merge_shards` then sums the K shard reports into the two
standard files. The merged report's input fingerprint is computed from the union of the shards'
file lists, so it equals the single-instance fingerprint of the same input.
"""

from __future__ import annotations

import hashlib
import json
import os
from typing import Any

from mlops.data import io
from mlops.data.schema import MANIFEST_SUFFIX, MANIFESTS_DIR, SHARDS_DIR, SPLIT_REPORT
from mlops.errors import InputError

REPORT_KIND = "mlops.data.split-report"
REPORT_VERSION = 1


def dumps(data: Any) -> str:
    return json.dumps(data, indent=2) + "\n"


def manifest_text(prefix: str, parts: list[str]) -> str:
    """A SageMaker manifest: ``[{"prefix": ".../train/"}, "part-00000.csv", ...]``."""
    return json.dumps([{"prefix": prefix.rstrip("/") + "/"}, *parts], indent=1) + "\n"


def manifest_path(split: str) -> str:
    return f"{MANIFESTS_DIR}/{split}{MANIFEST_SUFFIX}"


def shard_dir(index: int) -> str:
    return f"{SHARDS_DIR}/host-{index:05d}"


def fingerprint(files: list[dict[str, Any]]) -> str:
    """Digest of an input: names, sizes and SHA-256 of its files, in name order."""
    lines = sorted(f"{item['name']}\t{item['bytes']}\t{item['sha256']}" for item in files)
    return "sha256:" + hashlib.sha256("\n".join(lines).encode("utf-8")).hexdigest()


def class_balance(counts: dict[str, int] | None, rows: int) -> dict[str, Any] | None:
    if counts is None:
        return None
    return {
        label: {"rows": count, "fraction": round(count / rows, 6) if rows else 0.0}
        for label, count in sorted(counts.items())
    }


def merge_shards(
    out: str | os.PathLike[str],
    *,
    shards: str | os.PathLike[str] | None = None,
    out_uri: str | None = None,
) -> dict[str, Any]:
    """Combine the shard reports found under ``shards`` (default ``OUT/shards``) into
    ``OUT/manifests/<split>.manifest`` and ``OUT/split-report.json``; returns the report.

    ``out_uri`` is the URI the manifests point at (default: ``out`` itself); a Processing step
    writing to a local folder that is uploaded to S3 passes the S3 URI here.
    """
    destination = io.location_uri(io.parse_location(out))
    source = os.fspath(shards) if shards is not None else f"{destination}/{SHARDS_DIR}"
    found = io.find_files(source, SPLIT_REPORT)
    if not found:
        raise InputError(f"no shard reports ({SPLIT_REPORT}) under {source}")
    reports = [json.loads(io.read_text(uri)) for uri in found]
    merged = combine(reports, out_uri or destination)
    for split, details in merged["splits"].items():
        io.write_text(
            f"{destination}/{manifest_path(split)}",
            manifest_text(f"{merged['output']['uri']}/{split}/", details["parts"]),
        )
    io.write_text(f"{destination}/{SPLIT_REPORT}", dumps(merged))
    return merged


_SAME = (
    "report",
    "report_version",
    "code_version",
    "algorithm",
    "method",
    "ratios",
    "split_names",
    "seed",
    "target",
    "key",
    "order_by",
    "row_key",
    "drop_columns",
    "oversample",
)
_SAME_IF_ROWS = ("identity", "columns")  # a shard that got no files knows neither


def combine(reports: list[dict[str, Any]], out_uri: str) -> dict[str, Any]:
    """The report of the whole job from the reports of its K shards."""
    first = reports[0]
    if first.get("report") != REPORT_KIND:
        raise InputError(f"not a split report: {first.get('report')!r}")
    count = first["shards"]["count"]
    indices = sorted(report["shards"].get("index", 0) for report in reports)
    if indices != list(range(count)):
        raise InputError(
            f"expected reports of shards 0..{count - 1}, found shards {indices}: "
            "a host failed or reports of two jobs are mixed"
        )
    for report in reports[1:]:
        for name in _SAME:
            if report.get(name) != first.get(name):
                raise InputError(f"shard reports disagree on {name}: two different jobs?")
    with_rows = [report for report in reports if report["input"]["rows"]] or reports[:1]
    for name in _SAME_IF_ROWS:
        if len({json.dumps(report.get(name)) for report in with_rows}) > 1:
            raise InputError(f"shard reports disagree on {name}: two different jobs?")
    files = sorted(
        (item for report in reports for item in report["input"]["files"]),
        key=lambda item: str(item["name"]),
    )
    rows = sum(report["input"]["rows"] for report in reports)
    merged: dict[str, Any] = {name: first.get(name) for name in _SAME}
    merged.update({name: with_rows[0].get(name) for name in _SAME_IF_ROWS})
    merged["sizes"] = first["sizes"]
    described = with_rows[0]["input"]
    merged["input"] = {
        **{key: value for key, value in described.items() if key != "files"},
        "rows": rows,
        "fingerprint": fingerprint(files),
        "files": files,
    }
    merged["output"] = {"uri": out_uri.rstrip("/")}
    merged["shards"] = {"count": count}
    merged["splits"] = {}
    for split in first["split_names"]:
        parts = sorted(part for report in reports for part in report["splits"][split]["parts"])
        split_rows = sum(report["splits"][split]["rows"] for report in reports)
        classes = _sum_classes([report["splits"][split]["classes"] for report in reports])
        oversampled = sum(report["splits"][split].get("oversampled_rows", 0) for report in reports)
        entry: dict[str, Any] = {
            "rows": split_rows,
            "fraction": round((split_rows - oversampled) / rows, 6) if rows else 0.0,
            "manifest": manifest_path(split),
            "parts": parts,
            "classes": class_balance(classes, split_rows),
        }
        if "oversampled_rows" in first["splits"][split]:
            entry["oversampled_rows"] = oversampled
        merged["splits"][split] = entry
    return merged


def _sum_classes(balances: list[dict[str, Any] | None]) -> dict[str, int] | None:
    total: dict[str, int] = {}
    for balance in balances:
        if balance is None:
            return None
        for label, entry in balance.items():
            total[label] = total.get(label, 0) + int(entry["rows"])
    return total
