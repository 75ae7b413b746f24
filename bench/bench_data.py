"""Benchmark of the data tooling against pandas + scikit-learn (see bench/README.md).

For each size it generates one input, then runs every variant in a fresh Python process (so
each peak RSS is that variant's own) and prints a table; the results go to a JSON file.

Variants, all stratified 70/15/15 on ``is_fraud`` with seed 42:

- ``generate``: ``mlops.data.generate`` writes the CSV parts (the shared input);
- ``partition``: ``mlops.data.partition`` splits those parts (parts + manifests + report);
- ``generate+partition``: ``mlops.data.generate_partitioned`` generates, splits and writes;
- ``pandas+sklearn``: ``pd.read_csv`` of the same parts, ``train_test_split(stratify=...)``
  twice (70/30, then 50/50), ``to_csv`` of the three splits.

pandas and scikit-learn are only needed here (requirements-dev.txt), never by ``mlops``.
"""

from __future__ import annotations

import argparse
import json
import os
import platform
import resource
import shutil
import subprocess
import sys
import tempfile
import time
from pathlib import Path
from typing import Any

ROOT = Path(__file__).resolve().parent.parent
VARIANTS = ("generate", "partition", "generate+partition", "pandas+sklearn")
RATIOS = (0.7, 0.15, 0.15)
SEED = 42
# Goals of issue 3, checked at the largest size.
FUSED_SECONDS, FUSED_MB = 5.0, 512
SPEEDUP, MEMORY_SHARE = 5.0, 0.25


def child(variant: str, rows: int, work: Path) -> dict[str, Any]:
    """Run one variant in this (fresh) process; returns its measurements."""
    raw, out = work / "raw", work / variant.replace("+", "-")
    started_imports = time.perf_counter()
    if variant == "pandas+sklearn":
        import pandas as pd  # type: ignore[import-untyped,unused-ignore]
        from sklearn.model_selection import (  # type: ignore[import-untyped,unused-ignore]
            train_test_split,
        )
    else:
        from mlops.data import (
            GeneratorConfig,
            PartitionSpec,
            generate,
            generate_partitioned,
            partition,
        )
    imported_rss = _rss_mb()
    imports = time.perf_counter() - started_imports
    spec_args = {"method": "stratified", "ratios": RATIOS, "seed": SEED, "target": "is_fraud"}
    started, cpu = time.perf_counter(), time.process_time()
    if variant == "generate":
        generate(raw, GeneratorConfig(rows=rows, seed=SEED))
    elif variant == "partition":
        partition(raw / "transactions", out, PartitionSpec(**spec_args))  # type: ignore[arg-type]
    elif variant == "generate+partition":
        generate_partitioned(out, GeneratorConfig(rows=rows, seed=SEED), PartitionSpec(**spec_args))  # type: ignore[arg-type]
    else:
        parts = sorted((raw / "transactions").glob("part-*.csv"))
        frame = pd.concat([pd.read_csv(part) for part in parts], ignore_index=True)
        train, rest = train_test_split(
            frame, test_size=0.3, stratify=frame["is_fraud"], random_state=SEED
        )
        validation, test = train_test_split(
            rest, test_size=0.5, stratify=rest["is_fraud"], random_state=SEED
        )
        out.mkdir()
        for name, split in (("train", train), ("validation", validation), ("test", test)):
            split.to_csv(out / f"{name}.csv", index=False)
    wall = time.perf_counter() - started
    return {
        "variant": variant,
        "rows": rows,
        "wall_s": round(wall, 3),
        "cpu_s": round(time.process_time() - cpu, 3),
        "peak_rss_mb": round(_peak_rss_mb(), 1),
        "rss_after_imports_mb": round(imported_rss, 1),
        "imports_s": round(imports, 3),
        "output_mb": round(_size(out if variant != "generate" else raw) / 2**20, 1),
    }


def _rss_mb() -> float:
    with open("/proc/self/statm", encoding="ascii") as stream:
        return int(stream.read().split()[1]) * os.sysconf("SC_PAGE_SIZE") / 2**20


def _peak_rss_mb() -> float:
    return resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024  # KiB on Linux


def _size(folder: Path) -> int:
    return sum(path.stat().st_size for path in folder.rglob("*") if path.is_file())


def run_variant(variant: str, rows: int, work: Path) -> dict[str, Any]:
    command = [
        sys.executable,
        __file__,
        "--child",
        variant,
        "--rows",
        str(rows),
        "--work",
        str(work),
    ]
    env = {**os.environ, "PYTHONPATH": f"{ROOT}{os.pathsep}{os.environ.get('PYTHONPATH', '')}"}
    done = subprocess.run(command, capture_output=True, text=True, env=env, check=False)
    if done.returncode != 0:
        raise SystemExit(f"{variant} at {rows:,} rows failed:\n{done.stderr}")
    result: dict[str, Any] = json.loads(done.stdout.strip().splitlines()[-1])
    return result


def goals(results: list[dict[str, Any]]) -> list[dict[str, Any]]:
    """The issue's goals, checked at the largest size measured."""
    rows = max(result["rows"] for result in results)
    at = {result["variant"]: result for result in results if result["rows"] == rows}
    fused, ours, theirs = at["generate+partition"], at["partition"], at["pandas+sklearn"]
    speedup = theirs["wall_s"] / ours["wall_s"]
    share = ours["peak_rss_mb"] / theirs["peak_rss_mb"]
    return [
        {
            "goal": f"generate+stratified split+write {rows:,} rows <= {FUSED_SECONDS} s",
            "value": f"{fused['wall_s']:.2f} s",
            "met": fused["wall_s"] <= FUSED_SECONDS,
        },
        {
            "goal": f"... and <= {FUSED_MB} MB peak RSS",
            "value": f"{fused['peak_rss_mb']:.0f} MB",
            "met": fused["peak_rss_mb"] <= FUSED_MB,
        },
        {
            "goal": f"partition >= {SPEEDUP:g}x faster than pandas+sklearn",
            "value": f"{speedup:.1f}x",
            "met": speedup >= SPEEDUP,
        },
        {
            "goal": f"partition peak RSS <= {MEMORY_SHARE:g} of pandas+sklearn",
            "value": f"{share:.2f}",
            "met": share <= MEMORY_SHARE,
        },
    ]


def table(results: list[dict[str, Any]]) -> str:
    lines = [
        f"{'rows':>12}  {'variant':<20} {'wall s':>8} {'cpu s':>8} {'peak RSS MB':>12} "
        f"{'output MB':>10}"
    ]
    for result in results:
        lines.append(
            f"{result['rows']:>12,}  {result['variant']:<20} {result['wall_s']:>8.2f} "
            f"{result['cpu_s']:>8.2f} {result['peak_rss_mb']:>12.0f} {result['output_mb']:>10.0f}"
        )
    return "\n".join(lines)


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0] if __doc__ else None)
    parser.add_argument("--rows", type=int, nargs="+", default=[1_000_000, 10_000_000])
    parser.add_argument("--variants", nargs="+", choices=VARIANTS, default=list(VARIANTS))
    parser.add_argument("--work", type=Path, help="scratch folder (default: a temporary one)")
    parser.add_argument(
        "--json", type=Path, default=Path(tempfile.gettempdir()) / "bench-data-results.json"
    )
    parser.add_argument("--child", choices=VARIANTS, help=argparse.SUPPRESS)
    args = parser.parse_args(argv)
    if args.child:
        print(json.dumps(child(args.child, args.rows[0], args.work)))
        return 0
    work_root = args.work or Path(tempfile.mkdtemp(prefix="bench-data-"))
    results: list[dict[str, Any]] = []
    load_before = os.getloadavg()
    try:
        for rows in args.rows:
            work = work_root / str(rows)
            shutil.rmtree(work, ignore_errors=True)
            work.mkdir(parents=True)
            variants = list(dict.fromkeys(["generate", *args.variants]))  # the shared input first
            for variant in variants:
                result = run_variant(variant, rows, work)
                results.append(result)
                print(table([result]).splitlines()[1], flush=True)
            shutil.rmtree(work, ignore_errors=True)
    finally:
        if args.work is None:
            shutil.rmtree(work_root, ignore_errors=True)
    print()
    print(table(results))
    load_after = os.getloadavg()[0]
    print(
        f"load average {load_before[0]:.1f} before, {load_after:.1f} after ({os.cpu_count()} CPUs)"
    )
    checked = goals(results) if set(VARIANTS) <= set(args.variants) else []
    for goal in checked:
        print(f"{'MET ' if goal['met'] else 'MISSED'}  {goal['goal']}: {goal['value']}")
    report = {
        "machine": {
            "cpus": os.cpu_count(),
            "python": platform.python_version(),
            "platform": platform.platform(),
            "load_average_before": load_before,
            "load_average_after": os.getloadavg(),
        },
        "results": results,
        "goals": checked,
    }
    args.json.parent.mkdir(parents=True, exist_ok=True)
    args.json.write_text(json.dumps(report, indent=2) + "\n", encoding="utf-8")
    print(f"\nresults: {args.json}")
    return 0


if __name__ == "__main__":
    sys.exit(main())
