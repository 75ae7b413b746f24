"""Estimate the Partition step's wall time for a large input on K instances, from bench figures.

Reads the measurements of ``bench/bench_data.py`` (its JSON; run it first, e.g.
``.venv/bin/python bench/bench_data.py --variants partition --rows 10000000``) and prints,
for ``--target-rows`` rows on each K of ``--instances``:

    wall(K) = startup + transfer(K) + compute(K) [+ merge, when K > 1]
    transfer(K) = (input bytes + output bytes) / K / throughput       (S3 -> volume -> S3)
    compute(K)  = rows / K * CPU seconds per row / (vCPUs * thread efficiency)

CPU seconds per row, bytes per row and the thread efficiency (CPU s / (wall s * cores)) are
measured; the instance's vCPUs, its S3 throughput and the job start-up time are assumptions,
given as options and printed with the result. Also printed: the volume each instance needs
(its input share plus its output, +20 %) and the stratified first pass's memory (9 bytes/row).

Run: .venv/bin/python bench/estimate_partition.py [--bench /tmp/bench-data-results.json]
"""

from __future__ import annotations

import argparse
import json
import math
import sys
from pathlib import Path
from typing import Any


def measurement(results: dict[str, Any]) -> dict[str, Any]:
    """The partition run at the largest size, with the generated input's size."""
    runs = results["results"]
    partitions = [r for r in runs if r["variant"] == "partition"]
    if not partitions:
        raise SystemExit("no partition measurement in the bench results")
    largest = max(partitions, key=lambda r: r["rows"])
    [generated] = [r for r in runs if r["variant"] == "generate" and r["rows"] == largest["rows"]]
    return {"partition": largest, "generate": generated, "machine": results["machine"]}


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--bench", type=Path, default=Path("/tmp/bench-data-results.json"))
    parser.add_argument("--target-rows", type=float, default=1e9)
    parser.add_argument("--instances", type=int, nargs="+", default=[1, 4, 16])
    parser.add_argument("--vcpus", type=int, default=4, help="ml.m5.xlarge: 4 vCPUs")
    parser.add_argument(
        "--throughput-mb", type=float, default=150.0, help="S3 <-> instance MB/s (assumption)"
    )
    parser.add_argument(
        "--startup-s", type=float, default=240.0, help="job start-up seconds (assumption)"
    )
    parser.add_argument(
        "--efficiency",
        type=float,
        help="thread efficiency to assume instead of the measured one (a loaded bench machine "
        "measures it low; CPU seconds per row are robust to load)",
    )
    args = parser.parse_args(argv)

    measured = measurement(json.loads(args.bench.read_text()))
    partition, generated = measured["partition"], measured["generate"]
    rows = partition["rows"]
    cores = measured["machine"]["cpus"]
    cpu_per_row = partition["cpu_s"] / rows
    efficiency = args.efficiency or min(1.0, partition["cpu_s"] / (partition["wall_s"] * cores))
    in_bytes_per_row = generated["output_mb"] * 2**20 / rows
    out_bytes_per_row = partition["output_mb"] * 2**20 / rows
    print(
        f"measured at {rows:,} rows on {cores} cores "
        f"(load {measured['machine']['load_average_before'][0]:.1f}): "
        f"{cpu_per_row * 1e9:.0f} CPU ns/row, thread efficiency {efficiency:.2f}, "
        f"{in_bytes_per_row:.1f} input and {out_bytes_per_row:.1f} output bytes/row"
    )
    print(
        f"assumed: {args.vcpus} vCPUs, {args.throughput_mb:.0f} MB/s to and from S3 per instance, "
        f"{args.startup_s:.0f} s job start-up (the merge is one more start-up)"
    )
    total = args.target_rows
    print(f"\n{'K':>3} {'transfer s':>11} {'compute s':>10} {'wall min':>9} {'volume GB':>10} "
          f"{'stratified RAM GB':>18}")  # fmt: skip
    for k in args.instances:
        share = total / k
        transfer = share * (in_bytes_per_row + out_bytes_per_row) / (args.throughput_mb * 1e6)
        compute = share * cpu_per_row / (args.vcpus * efficiency)
        wall = args.startup_s + transfer + compute + (args.startup_s if k > 1 else 0)
        volume = math.ceil(share * (in_bytes_per_row + out_bytes_per_row) * 1.2 / 1e9)
        memory = share * 9 / 1e9
        print(f"{k:>3} {transfer:>11.0f} {compute:>10.0f} {wall / 60:>9.1f} {volume:>10} "
              f"{memory:>18.1f}")  # fmt: skip
    return 0


if __name__ == "__main__":
    sys.exit(main())
