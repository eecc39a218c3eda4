"""Benchmark: persons simulated per second, against a naive simpy model and Ciw, and how cost grows.

Usage::

    python bench/run.py                 # the full benchmark (a few minutes); writes bench/results.json
    python bench/run.py --quick         # a smoke run at small sizes (under a minute)
    python bench/run.py --repeat 5      # best of 5 instead of 3

What it measures, each run in a fresh Python process (imports done before the clock
starts; peak memory is that process's own maximum resident set):

1. **The engine at full scale**: the default scenario, the frozen workload
   ``bench/workloads/engine-v1.yaml`` (the default scenario as the first engine knew
   it, so speed compares like with like over time), and the default scenario with
   every count ×``--big`` (people, lanes, seats, asylum decisions: the same
   congestion, over a million persons).  Best of ``--repeat`` on the simulation's
   wall time; also the time with the run's outputs (daily table, people by state),
   CPU time and peak memory.
2. **The naive simpy model** (``bench/naive_simpy.py``: one process per party, one
   ``simpy.Resource`` per lane group) on the same parties of the default scenario,
   and the engine's speedup over it, simulation against simulation.
3. **The queueing core against Ciw** (``bench/queue_peers.py``) on M/M/3 and a
   tandem M/M/3 → M/M/2 at utilisation 0.7, fed the same times: mean waits, Erlang C,
   customers per second.
4. **Scaling**: the default scenario at the scales that give about 10⁴, 10⁵ and 10⁶
   persons, and a straight line fitted to seconds against persons.

The machine is shared: the load average is recorded before and after, with the
CPU, the Python and library versions and the git commit.  Speed is measured here,
never in the test suite.
"""

from __future__ import annotations

import argparse
import contextlib
import io
import json
import os
import platform
import subprocess
import sys
import time
from collections.abc import Callable
from dataclasses import dataclass
from pathlib import Path

HERE = Path(__file__).resolve().parent
ROOT = HERE.parent
DEFAULT_SCENARIO = ROOT / "scenarios" / "mobilization-2022.yaml"
FROZEN_WORKLOAD = HERE / "workloads" / "engine-v1.yaml"

ENGINE_RUN = """
import json, resource, sys, time
import sim
from sim.model.engine import simulate
from sim.run.outputs import daily_table, people_accounting
loaded = sim.load_scenario(sys.argv[1])
scale = float(sys.argv[2])
wall, cpu = time.perf_counter(), time.process_time()
ledger = simulate(loaded.scenario, scale=scale)  # scale above 1: every count multiplied
simulate_s, simulate_cpu = time.perf_counter() - wall, time.process_time() - cpu
people = people_accounting(ledger)
daily_table(ledger)
print(json.dumps({
    "persons": people["departed"], "parties": people["parties"], "legs": int(len(ledger.legs["party"])),
    "simulate_seconds": simulate_s, "simulate_cpu_seconds": simulate_cpu,
    "with_outputs_seconds": time.perf_counter() - wall,
    "peak_rss_mib": resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024,
    "entries": int(ledger.parties.size[ledger.legs["party"][ledger.legs["decision"] == 0]].sum()),
}))
"""

NAIVE_RUN = """
import json, resource, sys, time
sys.path.insert(0, sys.argv[3])
import sim
from naive_simpy import simulate_naive
scenario = sim.load_scenario(sys.argv[1]).scenario
wall, cpu = time.perf_counter(), time.process_time()
result = simulate_naive(scenario, scale=float(sys.argv[2]), seed=scenario.seed)
print(json.dumps({
    "persons": result.persons, "parties": result.parties, "legs": result.legs,
    "simulate_seconds": time.perf_counter() - wall, "simulate_cpu_seconds": time.process_time() - cpu,
    "peak_rss_mib": resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024,
    "entries": sum(result.entries_by_country.values()), "by_state": result.by_state,
}))
"""

PEERS_RUN = """
import json, resource, sys
from dataclasses import asdict
sys.path.insert(0, sys.argv[3])
from queue_peers import compare_network
nodes = json.loads(sys.argv[2])
result = asdict(compare_network(int(sys.argv[1]), long_run_customers=int(sys.argv[4]), nodes=tuple(tuple(n) for n in nodes)))
result["peak_rss_mib"] = resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024
print(json.dumps(result))
"""


@dataclass(frozen=True)
class Plan:
    """Sizes of one benchmark run."""

    scale: float
    repeat: int
    big: float
    naive_scale: float
    customers: int
    tandem_customers: int
    long_run_customers: int
    scaling_persons: tuple[int, ...]


FULL = Plan(scale=1.0, repeat=3, big=1.13, naive_scale=1.0, customers=200_000, tandem_customers=100_000,
            long_run_customers=4_000_000, scaling_persons=(10_000, 100_000, 1_000_000))
QUICK = Plan(scale=0.05, repeat=1, big=0.1, naive_scale=0.02, customers=10_000, tandem_customers=5_000,
             long_run_customers=200_000, scaling_persons=(2_000, 20_000, 50_000))


Runner = Callable[..., dict[str, object]]


def child(code: str, *args: str) -> dict[str, object]:
    """Run ``code`` in a fresh Python process with ``args``; its last line of output is JSON."""
    out = subprocess.run(
        [sys.executable, "-c", code, *args], check=True, capture_output=True, text=True, cwd=ROOT,
        env={**os.environ, "PYTHONPATH": os.pathsep.join(filter(None, [str(ROOT), os.environ.get("PYTHONPATH")]))},
    )
    return json.loads(out.stdout.strip().splitlines()[-1])


def in_process(code: str, *args: str) -> dict[str, object]:
    """Run ``code`` as :func:`child` would, but in this process (for tests: quick, and memory is shared)."""
    saved_argv, output = sys.argv, io.StringIO()
    sys.argv = ["-c", *args]
    try:
        with contextlib.redirect_stdout(output):
            exec(compile(code, "<bench>", "exec"), {"__name__": "__bench__"})
    finally:
        sys.argv = saved_argv
    return json.loads(output.getvalue().strip().splitlines()[-1])


def measure_engine(
    scenario: Path, scale: float, repeat: int, label: str | None = None, runner: Runner = child
) -> dict[str, object]:
    """Best of ``repeat`` fresh-process runs of the engine (by simulation wall time)."""
    runs = [runner(ENGINE_RUN, str(scenario), repr(scale)) for _ in range(repeat)]
    best = min(runs, key=lambda r: r["simulate_seconds"])
    return {
        "workload": label or f"{scenario.parent.name}/{scenario.stem}",
        "scale": scale,
        "repeat": repeat,
        "persons": best["persons"],
        "parties": best["parties"],
        "legs": best["legs"],
        "entries": best["entries"],
        "simulate_seconds_best": round(best["simulate_seconds"], 3),
        "simulate_seconds_all": [round(r["simulate_seconds"], 3) for r in runs],
        "simulate_cpu_seconds_best": round(min(r["simulate_cpu_seconds"] for r in runs), 3),
        "with_outputs_seconds_best": round(min(r["with_outputs_seconds"] for r in runs), 3),
        "persons_per_second": round(best["persons"] / best["simulate_seconds"]),
        "persons_per_second_with_outputs": round(best["persons"] / min(r["with_outputs_seconds"] for r in runs)),
        "peak_rss_mib": round(max(r["peak_rss_mib"] for r in runs), 1),
    }


def measure_naive(scenario: Path, scale: float, runner: Runner = child) -> dict[str, object]:
    """One fresh-process run of the naive simpy model."""
    run = runner(NAIVE_RUN, str(scenario), repr(scale), str(HERE))
    return {
        "workload": f"{scenario.parent.name}/{scenario.stem}",
        "scale": scale,
        **{k: run[k] for k in ("persons", "parties", "legs", "entries", "by_state")},
        "simulate_seconds": round(run["simulate_seconds"], 3),
        "simulate_cpu_seconds": round(run["simulate_cpu_seconds"], 3),
        "persons_per_second": round(run["persons"] / run["simulate_seconds"]),
        "peak_rss_mib": round(run["peak_rss_mib"], 1),
    }


def measure_peers(customers: int, long_run: int, nodes: list[list[float]], runner: Runner = child) -> dict[str, object]:
    """The queueing core and Ciw on one network, in a fresh process."""
    return runner(PEERS_RUN, str(customers), json.dumps(nodes), str(HERE), str(long_run))


def fit_line(persons: list[int], seconds: list[float]) -> dict[str, float]:
    """Least-squares ``seconds = fixed + per_person * persons``, and R²."""
    n = len(persons)
    mean_x, mean_y = sum(persons) / n, sum(seconds) / n
    sxx = sum((x - mean_x) ** 2 for x in persons)
    slope = sum((x - mean_x) * (y - mean_y) for x, y in zip(persons, seconds)) / sxx
    fixed = mean_y - slope * mean_x
    residual = sum((y - fixed - slope * x) ** 2 for x, y in zip(persons, seconds))
    total = sum((y - mean_y) ** 2 for y in seconds)
    return {
        "fixed_seconds": round(fixed, 3),
        "microseconds_per_person": round(slope * 1e6, 3),
        "r_squared": round(1 - residual / total, 5) if total else 1.0,
    }


def machine() -> dict[str, object]:
    """What the benchmark ran on."""
    import numpy
    import simpy

    cpu = platform.processor() or platform.machine()
    try:
        names = [line.split(":", 1)[1].strip() for line in open("/proc/cpuinfo") if line.startswith("model name")]
        cpu = names[0] if names else cpu
    except OSError:
        pass
    return {
        "cpu": cpu,
        "processor_count": os.cpu_count(),
        "python": platform.python_version(),
        "numpy": numpy.__version__,
        "simpy": simpy.__version__,
        "platform": platform.platform(),
    }


def git_commit() -> str:
    """The commit measured, with ``-dirty`` if the working tree has changes (other than the benchmarks' results)."""
    try:
        commit = subprocess.run(["git", "rev-parse", "HEAD"], cwd=ROOT, capture_output=True, text=True, check=True)
        dirty = subprocess.run(
            ["git", "status", "--porcelain", "--", ".", ":!bench/*results.json"],
            cwd=ROOT, capture_output=True, text=True, check=True,
        )
    except (OSError, subprocess.CalledProcessError):
        return "unknown"
    return commit.stdout.strip() + ("-dirty" if dirty.stdout.strip() else "")


def run_benchmark(plan: Plan, progress: Callable[[str], None] = print, runner: Runner = child) -> dict[str, object]:
    """Every measurement of ``plan``, as written to ``results.json``."""
    load_before = os.getloadavg()
    began = time.time()
    progress("engine, default scenario")
    default = measure_engine(DEFAULT_SCENARIO, plan.scale, plan.repeat, runner=runner)
    progress("engine, frozen workload")
    frozen = measure_engine(FROZEN_WORKLOAD, plan.scale, plan.repeat, runner=runner)
    progress(f"engine, default scenario x{plan.big}")
    big = measure_engine(DEFAULT_SCENARIO, plan.big, plan.repeat, f"scenarios/mobilization-2022 x{plan.big}", runner)
    progress("naive simpy model")
    naive = measure_naive(DEFAULT_SCENARIO, plan.naive_scale, runner)
    # Like with like: the engine on the naive model's parties (the same scale).
    engine_same = (
        default if plan.naive_scale == plan.scale
        else measure_engine(DEFAULT_SCENARIO, plan.naive_scale, plan.repeat, runner=runner)
    )
    naive["engine_simulate_seconds"] = engine_same["simulate_seconds_best"]
    naive["engine_entries"] = engine_same["entries"]
    naive["speedup"] = round(naive["simulate_seconds"] / engine_same["simulate_seconds_best"], 2)
    progress("queueing core and Ciw")
    peers = [
        measure_peers(plan.customers, plan.long_run_customers, [[3, 1.0]], runner),
        measure_peers(plan.tandem_customers, plan.long_run_customers, [[3, 1.0], [2, 1.5]], runner),
    ]
    progress("scaling")
    full_persons = default["persons"] / plan.scale
    scaling = []
    for persons in plan.scaling_persons:
        scale = round(persons / full_persons, 5)
        scaling.append(measure_engine(DEFAULT_SCENARIO, scale, plan.repeat, f"{persons:,} persons", runner))
    fit = fit_line([r["persons"] for r in scaling], [r["simulate_seconds_best"] for r in scaling])
    fit_cpu = fit_line([r["persons"] for r in scaling], [r["simulate_cpu_seconds_best"] for r in scaling])
    return {
        "engine": [default, frozen, big],
        "naive_simpy": naive,
        "ciw": peers,
        "scaling": {"runs": scaling, "fit": fit, "fit_cpu": fit_cpu},
        "plan": plan.__dict__,
        "machine": machine(),
        "load_average_before": [round(x, 2) for x in load_before],
        "load_average_after": [round(x, 2) for x in os.getloadavg()],
        "commit": git_commit(),
        "date": time.strftime("%Y-%m-%d %H:%M", time.localtime(began)),
        "benchmark_seconds": round(time.time() - began, 1),
    }


def render(result: dict[str, object]) -> str:
    """The benchmark as one plain-text table."""
    m, lines = result["machine"], []
    lines.append(
        f"crossings benchmark  {result['date']}  commit {result['commit'][:12]}  {m['cpu']} ({m['processor_count']} cores)  "
        f"load average {result['load_average_before'][0]} -> {result['load_average_after'][0]}"
    )
    repeat = result["plan"]["repeat"]
    lines.append("")
    lines.append(f"Engine (best of {repeat}, fresh process each; simulate = the model run, + outputs = with the daily table)")
    lines.append(f"  {'workload':<36} {'persons':>10} {'legs':>9} {'simulate s':>10} {'persons/s':>10} {'cpu s':>6} {'+outputs s':>10} {'peak MiB':>8}")
    for r in result["engine"]:
        lines.append(
            f"  {r['workload']:<36} {r['persons']:>10,} {r['legs']:>9,} {r['simulate_seconds_best']:>10.2f} {r['persons_per_second']:>10,} "
            f"{r['simulate_cpu_seconds_best']:>6.2f} {r['with_outputs_seconds_best']:>10.2f} {r['peak_rss_mib']:>8.0f}"
        )
    n = result["naive_simpy"]
    lines.append("")
    lines.append("Naive simpy model (one process per party, one Resource per lane group), the same parties, 1 run")
    lines.append(f"  {'persons':>10} {'legs':>9} {'simulate s':>10} {'persons/s':>10} {'cpu s':>6} {'peak MiB':>8} {'engine s':>8} {'speedup':>8}  entries naive / engine")
    lines.append(
        f"  {n['persons']:>10,} {n['legs']:>9,} {n['simulate_seconds']:>10.2f} {n['persons_per_second']:>10,} {n['simulate_cpu_seconds']:>6.2f} "
        f"{n['peak_rss_mib']:>8.0f} {n['engine_simulate_seconds']:>8.2f} {n['speedup']:>7.1f}x  {n['entries']:,} / {n['engine_entries']:,}"
    )
    lines.append("")
    lines.append("Queueing core against Ciw (rho 0.7 at every node): the same inter-arrival and service times through both,")
    lines.append("then the core alone on a long run against Erlang C (SE: standard error, batch means)")
    lines.append(
        f"  {'network':<16} {'node':>4} {'customers':>9} {'wait core':>9} {'wait Ciw':>9} {'max|diff|':>9} {'core cust/s':>11} "
        f"{'Ciw cust/s':>10} {'ratio':>5}  {'long run':>9} {'wait':>7} {'Erlang C':>8} {'vs C':>7} {'SE':>6}"
    )
    for net in result["ciw"]:
        for k, node in enumerate(net["nodes"]):
            first = k == 0
            speed = (
                f"{net['core_customers_per_second']:>11,.0f} {net['ciw_customers_per_second']:>10,.0f} "
                f"{net['core_customers_per_second'] / net['ciw_customers_per_second']:>4.0f}x"
            ) if first else " " * 28
            lines.append(
                f"  {net['name'] if first else '':<16} {k + 1:>4} {net['customers'] if first else '':>9} {node['mean_wait_core']:>9.4f} "
                f"{node['mean_wait_ciw']:>9.4f} {node['max_abs_difference']:>9.1e} {speed}  "
                f"{net['long_run_customers'] if first else '':>9} {node['long_run_mean_wait']:>7.4f} {node['erlang_c']:>8.4f} "
                f"{node['relative_to_erlang_c']:>+7.2%} {node['standard_error']:>6.2%}"
            )
    s = result["scaling"]
    lines.append("")
    lines.append(f"Scaling: the default scenario at the scale giving each number of persons (best of {repeat})")
    lines.append(f"  {'persons':>10} {'scale':>8} {'simulate s':>10} {'persons/s':>10} {'cpu s':>6} {'peak MiB':>8}")
    for r in s["runs"]:
        lines.append(
            f"  {r['persons']:>10,} {r['scale']:>8.4f} {r['simulate_seconds_best']:>10.2f} {r['persons_per_second']:>10,} "
            f"{r['simulate_cpu_seconds_best']:>6.2f} {r['peak_rss_mib']:>8.0f}"
        )
    for name, key in (("wall", "fit"), ("cpu ", "fit_cpu")):
        f = s[key]
        lines.append(
            f"  {name} seconds = {f['fixed_seconds']:.2f} + {f['microseconds_per_person']:.2f} us x persons  (R^2 {f['r_squared']:.4f})"
        )
    return "\n".join(lines)


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--quick", action="store_true", help="Small sizes, one repeat: a smoke run.")
    parser.add_argument("--repeat", type=int, default=None, help="Runs per engine measurement, best kept [default: 3].")
    parser.add_argument("--out", type=Path, default=None, help="Where to write the JSON [default: bench/results.json; --quick: not written].")
    args = parser.parse_args()
    plan = QUICK if args.quick else FULL
    if args.repeat is not None:
        plan = Plan(**{**plan.__dict__, "repeat": args.repeat})
    result = run_benchmark(plan, progress=lambda what: print(f"... {what}", file=sys.stderr, flush=True))
    print(render(result))
    out = args.out or (None if args.quick else HERE / "results.json")
    if out is not None:
        tmp = out.with_suffix(".json.tmp")
        tmp.write_text(json.dumps(result, indent=2) + "\n")
        tmp.replace(out)


if __name__ == "__main__":
    main()
