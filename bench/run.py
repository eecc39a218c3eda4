"""Benchmark: persons simulated per second at full scale.

Usage::

    python bench/run.py                 # default scenario and the frozen workload, scale 1.0, best of 3
    python bench/run.py --scenario scenarios/close-upper-lars.yaml --scale 0.1 --repeat 5

Two workloads by default: the default scenario as it is now (it grows as the model
does), and ``bench/workloads/engine-v1.yaml``, frozen, so engine speed compares
like with like over time.  Prints a table and writes ``bench/results.json``.  Speed
is measured here, never in the test suite.  Each repeat runs in a fresh process so
peak memory is the run's own.
"""

from __future__ import annotations

import argparse
import json
import os
import platform
import subprocess
import sys
import time
from pathlib import Path

HERE = Path(__file__).resolve().parent
ROOT = HERE.parent

ONE_RUN = """
import json, resource, sys, time
import sim
from sim.model.engine import simulate
loaded = sim.load_scenario(sys.argv[1])
scale = float(sys.argv[2])
began = time.perf_counter()
ledger = simulate(loaded.scenario, scale=scale)
simulate_s = time.perf_counter() - began
from sim.run.outputs import daily_table, people_accounting
people = people_accounting(ledger)
daily_table(ledger)
total_s = time.perf_counter() - began
print(json.dumps({
    "persons": people["departed"], "parties": people["parties"], "legs": int(len(ledger.legs["party"])),
    "simulate_seconds": simulate_s, "with_outputs_seconds": total_s,
    "peak_rss_mib": resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024,
}))
"""


def measure(scenario: Path, scale: float, repeat: int) -> dict[str, object]:
    runs = []
    for _ in range(repeat):
        out = subprocess.run(
            [sys.executable, "-c", ONE_RUN, str(scenario), str(scale)],
            check=True,
            capture_output=True,
            text=True,
            cwd=ROOT,
        )
        runs.append(json.loads(out.stdout.strip().splitlines()[-1]))
    best = min(runs, key=lambda r: r["simulate_seconds"])
    return {
        "scenario": f"{scenario.parent.name}/{scenario.name}",
        "scale": scale,
        "repeat": repeat,
        "persons": best["persons"],
        "parties": best["parties"],
        "legs": best["legs"],
        "simulate_seconds_best": round(best["simulate_seconds"], 3),
        "simulate_seconds_all": [round(r["simulate_seconds"], 3) for r in runs],
        "with_outputs_seconds_best": round(min(r["with_outputs_seconds"] for r in runs), 3),
        "persons_per_second": round(best["persons"] / best["simulate_seconds"]),
        "peak_rss_mib": round(max(r["peak_rss_mib"] for r in runs), 1),
    }


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument(
        "--scenario",
        type=Path,
        action="append",
        help="Scenario to run (repeatable) [default: the default scenario and bench/workloads/engine-v1.yaml].",
    )
    parser.add_argument("--scale", type=float, default=1.0)
    parser.add_argument("--repeat", type=int, default=3)
    parser.add_argument("--out", type=Path, default=HERE / "results.json")
    args = parser.parse_args()
    scenarios = args.scenario or [ROOT / "scenarios" / "mobilization-2022.yaml", HERE / "workloads" / "engine-v1.yaml"]
    runs = [measure(path, args.scale, args.repeat) for path in scenarios]
    print(f"{'workload':<28} {'persons':>10} {'legs':>9} {'best s':>8} {'persons/s':>10} {'peak MiB':>9}")
    for run in runs:
        print(
            f"{run['scenario']:<28} {run['persons']:>10,} {run['legs']:>9,} {run['simulate_seconds_best']:>8.2f} "
            f"{run['persons_per_second']:>10,} {run['peak_rss_mib']:>9.0f}"
        )
    result = {
        "runs": runs,
        "machine": {"python": platform.python_version(), "machine": platform.machine(), "processor_count": os.cpu_count()},
        "date": time.strftime("%Y-%m-%d"),
    }
    tmp = args.out.with_suffix(".json.tmp")
    tmp.write_text(json.dumps(result, indent=2) + "\n")
    tmp.replace(args.out)


if __name__ == "__main__":
    main()
