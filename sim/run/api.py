"""The Python API: ``sim.run(scenario, seed=…) -> Result``; the CLI is a thin layer over it.

A notebook can run a scenario file, a :class:`~sim.scenario.LoadedScenario`, a
validated :class:`~sim.scenario.schema.Scenario`, or a plain dict, look at the
daily table and the accounting, and write the same folder the CLI writes.
"""

from __future__ import annotations

import datetime as dt
import hashlib
import json
import time
from collections.abc import Callable, Sequence
from dataclasses import dataclass
from pathlib import Path

import pyarrow as pa

from sim.model.engine import Ledger, simulate, until_problem
from sim.run.flows import flow_table, format_flows_csv
from sim.run.outputs import daily_table, format_csv, people_accounting
from sim.run.store import write_dir_atomic, write_file_atomic
from sim.scenario import LoadedScenario, load_scenario, load_scenario_data
from sim.scenario.errors import UsageError
from sim.scenario.schema import MAX_SIMULATED_PERSONS, MIN_SCALE, Scenario, simulated_persons, too_many_persons

__all__ = ["Result", "run", "check_scale", "resolve_scenario", "package_version", "run_sha256"]


def package_version() -> str:
    """The installed version of crossings."""
    from importlib.metadata import PackageNotFoundError, version

    try:
        return version("crossings")
    except PackageNotFoundError:  # running from a source tree that is not installed
        return "0+unknown"


def _resolved_run(loaded: LoadedScenario, seed: int, scale: float) -> dict[str, object]:
    """The resolved scenario with the seed and scale it was run with: a scenario that runs as it did."""
    resolved = dict(loaded.resolved)
    resolved["seed"], resolved["scale"] = seed, scale
    return resolved


def run_sha256(loaded: LoadedScenario, seed: int, scale: float, until: dt.date | None = None) -> str:
    """The ``scenario_sha256`` a run of ``loaded`` with ``seed`` and ``scale`` writes in its manifest.

    So a caller can tell, before running, whether a run folder already holds this run; a run
    stopped early (``until``) has its own, so it is never taken for the whole run.  The day
    it stopped is hashed with the scenario but kept out of the manifest's ``scenario``
    (it sits beside it, as ``until``), which stays a scenario that validates and runs.
    """
    hashed = _resolved_run(loaded, seed, scale)
    if until is not None:
        hashed["until"] = until.isoformat()
    canonical = json.dumps(hashed, sort_keys=True, separators=(",", ":"))
    return hashlib.sha256(canonical.encode()).hexdigest()


@dataclass(frozen=True)
class Result:
    """One finished run.

    Attributes
    ----------
    loaded
        The scenario as resolved (after ``extends`` and overrides).
    seed, scale
        As run.
    ledger
        Every leg of every party (see :class:`~sim.model.engine.Ledger`).
    daily
        The tidy daily table (``date, place, measure, value``).
    people
        ``{"departed": N, "by_state": {...}, ...}``; the states sum to ``departed``.
    flows
        Persons by origin, crossing, first country and onward country (:mod:`sim.run.flows`).
    wall_seconds
        Time the simulation took.
    until
        The last day simulated when the run stopped before the period's end (``run(until=…)``);
        ``None`` for a whole run.
    """

    loaded: LoadedScenario
    seed: int
    scale: float
    ledger: Ledger
    daily: pa.Table
    people: dict[str, object]
    wall_seconds: float
    flows: pa.Table
    until: dt.date | None = None

    @property
    def scenario(self) -> Scenario:
        """The validated scenario."""
        return self.loaded.scenario

    @property
    def daily_csv(self) -> str:
        """``daily.csv`` as text: identical for the same scenario and seed."""
        return format_csv(self.daily)

    def manifest(self) -> dict[str, object]:
        """What was run, with what, and where everyone ended up."""
        manifest = {
            "scenario": _resolved_run(self.loaded, self.seed, self.scale),
            "scenario_sha256": run_sha256(self.loaded, self.seed, self.scale, self.until),
            "source": self.loaded.source,
            "seed": self.seed,
            "scale": self.scale,
            "version": package_version(),
            "wall_seconds": round(self.wall_seconds, 3),
            "people": self.people,
        }
        if self.until is not None:
            # A stopped run's people are counted on its last day: say so, beside them.
            manifest["until"] = self.until.isoformat()
        return manifest

    def default_folder_name(self) -> str:
        """``<scenario>-<seed>``, the folder under ``outputs/`` when no ``--out`` is given."""
        return f"{self.scenario.name}-{self.seed}"

    def write(self, out_dir: str | Path, *, figures: bool = True) -> Path:
        """Write ``daily.csv``, ``flows.csv``, ``manifest.json`` and ``figures/`` to ``out_dir``, atomically.

        ``out_dir`` may be new, empty or an earlier run (it holds ``manifest.json``),
        which is replaced once the new folder is complete; any other folder is
        refused with :class:`~sim.scenario.errors.UsageError`, not emptied.
        """

        def fill(folder: Path) -> None:
            write_file_atomic(folder / "daily.csv", self.daily_csv)
            write_file_atomic(folder / "flows.csv", format_flows_csv(self.flows))
            if figures:
                from sim.report import write_run_figures

                write_run_figures(
                    self.daily,
                    folder / "figures",
                    scenario_name=self.scenario.name,
                    seed=self.seed,
                    scale=self.scale,
                    version=package_version(),
                    events=[(shock.date, shock.id) for shock in self.scenario.departures.shocks],
                )
            # The manifest last: its presence marks a complete run.
            write_file_atomic(folder / "manifest.json", json.dumps(self.manifest(), indent=2, sort_keys=True) + "\n")

        return write_dir_atomic(Path(out_dir), fill, marker="manifest.json")


def resolve_scenario(
    scenario: str | Path | LoadedScenario | Scenario | dict, overrides: Sequence[str] = ()
) -> LoadedScenario:
    """Turn any accepted form of scenario into a :class:`LoadedScenario`."""
    if isinstance(scenario, LoadedScenario):
        if overrides:
            raise UsageError("overrides apply to a scenario file or dict, not to an already loaded scenario")
        return scenario
    if isinstance(scenario, Scenario):
        scenario = scenario.model_dump(mode="json", by_alias=True, exclude_none=True)
    if isinstance(scenario, dict):
        return load_scenario_data(scenario, overrides=overrides)
    return load_scenario(scenario, overrides)


def check_scale(scale: float) -> None:
    """Refuse a scale outside [MIN_SCALE, 1] (NaN included, which click's FloatRange lets through)."""
    if not MIN_SCALE <= scale <= 1:
        raise UsageError(f"scale: expected a fraction in [{MIN_SCALE:g}, 1], found {scale}")


def run(
    scenario: str | Path | LoadedScenario | Scenario | dict,
    *,
    seed: int | None = None,
    scale: float | None = None,
    overrides: Sequence[str] = (),
    progress: Callable[[int, int], None] | None = None,
    until: dt.date | None = None,
) -> Result:
    """Run a scenario.

    Parameters
    ----------
    scenario
        A scenario file path, a loaded or validated scenario, or a plain dict.
    seed, scale
        Override the scenario's seed and scale.
    overrides
        ``--set``-style ``dotted.path=value`` overrides (files and dicts only).
    progress
        ``progress(days_done, days_total)``, called once per simulated day.
    until
        Stop at the end of this day (within the period). Every day up to it reads as
        in the whole run (the model draws nothing ahead of time that a later day
        would change); calibration uses it when its targets all read early days.

    Returns
    -------
    Result
    """
    loaded = resolve_scenario(scenario, overrides)
    spec = loaded.scenario
    seed = spec.seed if seed is None else int(seed)
    scale = spec.scale if scale is None else float(scale)
    if seed < 0:
        raise UsageError(f"seed: expected an integer >= 0, found {seed}")
    check_scale(scale)
    # Validation checked the scenario's own scale; a scale given here is checked here.
    if (persons := simulated_persons(spec, scale)) > MAX_SIMULATED_PERSONS:
        raise UsageError(f"scale {scale:g}: {too_many_persons(persons)}; choose a smaller scale")
    if until is not None and (problem := until_problem(spec, until)) is not None:
        raise UsageError(problem)
    began = time.perf_counter()
    ledger = simulate(spec, seed=seed, scale=scale, progress=progress, until=until)
    wall = time.perf_counter() - began
    return Result(
        loaded=loaded,
        seed=seed,
        scale=scale,
        ledger=ledger,
        daily=daily_table(ledger),
        people=people_accounting(ledger),
        wall_seconds=wall,
        flows=flow_table(ledger),
        until=until,
    )
