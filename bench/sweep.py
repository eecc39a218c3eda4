"""Benchmark: sweep throughput (runs per minute) with 1 and 2 local workers.

Usage::

    python bench/sweep.py                       # the shipped upper-lars sweep (24 runs) at scale 0.01
    python bench/sweep.py --sweep scenarios/sweeps/upper-lars-capacity.yaml --scale 0.01 --workers 1 2 4

Each measurement runs the whole sweep into a fresh temporary store, worker start-up
included, and checks that every worker count gives a byte-identical summary.  Prints
a table and writes ``bench/sweep_results.json``.
"""

from __future__ import annotations

import argparse
import hashlib
import json
import os
import platform
import sys
import tempfile
import time
from pathlib import Path

HERE = Path(__file__).resolve().parent
ROOT = HERE.parent
sys.path.insert(0, str(ROOT))


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--sweep", default=str(ROOT / "scenarios" / "sweeps" / "upper-lars-capacity.yaml"))
    parser.add_argument("--scale", type=float, default=0.01)
    parser.add_argument("--workers", type=int, nargs="+", default=[1, 2])
    args = parser.parse_args()

    from sim.run.store import write_file_atomic
    from sim.run.sweep import load_sweep, run_sweep

    loaded = load_sweep(args.sweep, scale=args.scale)
    results = []
    digests = set()
    for workers in args.workers:
        load_before = os.getloadavg()[0]
        with tempfile.TemporaryDirectory() as tmp:
            began = time.perf_counter()
            outcome = run_sweep(loaded, Path(tmp) / "store", workers=workers)
            wall = time.perf_counter() - began
            digests.add(hashlib.sha256(outcome.summary.read_bytes()).hexdigest())
        results.append(
            {"workers": workers, "runs": outcome.runs, "failed": outcome.failed, "wall_seconds": round(wall, 2),
             "runs_per_minute": round(60 * outcome.runs / wall, 1),
             # Other processes on the machine skew the figures: the 1-minute load before the run says how much.
             "load_average_before": round(load_before, 2)}
        )
        print(f"{workers} worker(s): {outcome.runs} runs in {wall:.1f} s = {60 * outcome.runs / wall:.1f} runs/min", flush=True)
    base = results[0]["runs_per_minute"]
    for row in results:
        row["speedup"] = round(row["runs_per_minute"] / base, 2)
    print(f"{'workers':>7}  {'runs/min':>9}  {'speedup':>7}")
    for row in results:
        print(f"{row['workers']:>7}  {row['runs_per_minute']:>9.1f}  {row['speedup']:>7.2f}")
    report = {
        "sweep": Path(args.sweep).resolve().relative_to(ROOT).as_posix() if Path(args.sweep).resolve().is_relative_to(ROOT) else Path(args.sweep).name,
        "scale": args.scale,
        "cores": os.cpu_count(),
        "python": platform.python_version(),
        "machine": platform.machine(),
        "identical_summaries": len(digests) == 1,
        "results": results,
    }
    write_file_atomic(HERE / "sweep_results.json", json.dumps(report, indent=2) + "\n")
    print(f"summaries identical across worker counts: {len(digests) == 1}; wrote bench/sweep_results.json")


if __name__ == "__main__":
    main()
