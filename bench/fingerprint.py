"""Digests of a run's outputs for a fixed seed, to check that a speed change leaves them unchanged.

Usage::

    python bench/fingerprint.py > before.txt        # on the old code
    python bench/fingerprint.py > after.txt         # on the new code
    diff before.txt after.txt                       # must be empty

    python bench/fingerprint.py --scenario scenarios/close-upper-lars.yaml --scale 0.1

Per run it prints the sha256 of ``daily.csv``, of the people accounting, and of
every column of the ledger (legs, claims, moves, final status and country), so a
change that moves even one party's leg shows, even where the daily table hides it.
By default it covers the default scenario at scale 0.1 and 1.0, the frozen bench
workload at 1.0, every shipped what-if at 0.02, and the small worlds of
``tests/model_scenarios.py``.
"""

from __future__ import annotations

import argparse
import hashlib
import json
import sys
from collections.abc import Iterator
from pathlib import Path

import numpy as np

HERE = Path(__file__).resolve().parent
ROOT = HERE.parent


def _digest(data: bytes) -> str:
    return hashlib.sha256(data).hexdigest()[:16]


def fingerprint(result: object) -> dict[str, str]:
    """sha256 prefixes of a :class:`sim.Result`'s daily table, people and ledger columns."""
    ledger = result.ledger  # type: ignore[attr-defined]
    prints = {
        "daily.csv": _digest(result.daily_csv.encode()),  # type: ignore[attr-defined]
        "people": _digest(json.dumps(result.people, sort_keys=True).encode()),  # type: ignore[attr-defined]
        "status": _digest(np.ascontiguousarray(ledger.status).tobytes()),
        "country": _digest(np.ascontiguousarray(ledger.country).tobytes()),
        "report_waits": _digest(np.ascontiguousarray(ledger.report_waits).tobytes()),
    }
    for table in ("legs", "claims", "moves"):
        for name, column in sorted(getattr(ledger, table).items()):
            prints[f"{table}.{name}"] = _digest(np.ascontiguousarray(column).tobytes())
    return prints


def default_runs() -> Iterator[tuple[str, object, float | None, int | None]]:
    """(label, scenario, scale, seed) of the default set."""
    sys.path.insert(0, str(ROOT / "tests"))
    from model_scenarios import mmc_scenario, network_scenario

    baseline = ROOT / "scenarios" / "mobilization-2022.yaml"
    yield "mobilization-2022@0.1", baseline, 0.1, None
    yield "mobilization-2022@1.0", baseline, 1.0, None
    yield "engine-v1@1.0", HERE / "workloads" / "engine-v1.yaml", 1.0, None
    for path in sorted((ROOT / "scenarios").glob("*.yaml")):
        if path != baseline:
            yield f"{path.stem}@0.02", path, 0.02, None
    yield "mmc(3, 0.7)", mmc_scenario(3, 0.7, 6.0, days=60), None, None
    for seed in (1, 7, 11):
        yield f"network seed {seed}", network_scenario(), None, seed


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--scenario", type=Path, action="append", help="Scenario file (repeatable) [default: the set above].")
    parser.add_argument("--scale", type=float, default=None)
    parser.add_argument("--seed", type=int, default=None)
    args = parser.parse_args()
    import sim

    runs = (
        [(f"{p.stem}@{args.scale}", p, args.scale, args.seed) for p in args.scenario]
        if args.scenario
        else default_runs()
    )
    for label, scenario, scale, seed in runs:
        result = sim.run(scenario if isinstance(scenario, dict) else str(scenario), scale=scale, seed=seed)
        for key, value in fingerprint(result).items():
            print(f"{label}\t{key}\t{value}", flush=True)


if __name__ == "__main__":
    main()
