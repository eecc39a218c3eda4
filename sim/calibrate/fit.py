"""Calibrating a scenario against its targets, and the fit report.

The idea
--------
A *params file* (``calibration/params/<name>.yaml``) names the scenario values to
calibrate, each a ``--set``-style dotted path with a prior, and the settings of the
ABC-SMC sampler (:mod:`sim.calibrate.abc`)::

    description: what is calibrated and why
    priors:
      - {path: departures.pool_persons, kind: loguniform, low: 150000, high: 1200000}
      - {path: choice.wait_hour_utility, kind: normal, mean: -0.08, sd: 0.03, high: -0.005}
    population: 200      # particles per generation
    generations: 6       # at most, counting generation 0 (from the prior)
    scale: 0.05          # fraction of people simulated in every run
    seed: 1              # the calibration's seed
    replicates: 8        # runs of the point estimate in the fit report
    runs_per_particle: 1 # runs per particle; the distance reads each target's median
    point: median        # median | best (see below)
    finalists: 5         # with point: best, particles rerun to choose it
    choose_by: distance  # with point: best, distance | coverage (see below)
    refine: []           # with point: best, posterior quantiles to try (see below)

:func:`calibrate` simulates each particle (the scenario with the particle's
overrides, run with the particle's seed at the file's scale) on the chosen
executor (:func:`sim.run.executors.execute`, the sweeps' local process pool or
dask), reads the ``fit`` targets from its daily table
(:func:`~sim.calibrate.targets.simulated_value`) and measures the distance to the
reported bands: each target's reported band is the range, and a miss beyond it
counts relative to the reported value (so a count of 300 and one of 100,000 weigh
the same); a run with a missing value (NaN) is never accepted.  Each generation is
checkpointed in ``<out>/checkpoint/``; ``resume`` continues from the last one.

At a small scale one run is noisy, so a particle can be accepted for its seed's
luck rather than its values; ``runs_per_particle`` runs each particle on that many
seeds and scores the median of each target.  The point estimate is the posterior's
weighted median, which for correlated parameters can fall between the posterior's
good regions; ``point: best`` instead reruns the ``finalists`` closest particles of
the last generation ``replicates`` times each, on seeds apart from the fit
report's (so the report is not scored on the seeds that chose the point), and takes
the one whose medians are closest (``choose_by: distance``) or the one the fit report
would judge best on those reruns (``choose_by: coverage``: most fit targets whose
90% band meets the reported band, then the smallest averaged relative difference).
A chosen particle keeps all its values, and in many dimensions no particle need sit
where a broad posterior's best combination is; ``refine: [0.1, 0.5, 0.9]`` then tries
each parameter in turn at those quantiles of its posterior, the others held, on the
finalists' seeds, and keeps a value where ``choose_by`` ranks it better (the steps
are recorded in ``point.json``).

Then it writes, into ``<out>`` (``calibration/fitted/<params stem>/`` by default):
``posterior.csv``, ``point.json``, ``intervals.csv``, ``generations.txt``,
``calibration.json`` and the fit report of the point estimate (:func:`fit_report`:
``fit_report.csv``, ``fit_report.json``, ``fit_report.png``).
"""

from __future__ import annotations

import csv
import dataclasses
import datetime as dt
import io
import json
import math
import time
from collections.abc import Callable, Sequence
from dataclasses import dataclass, field
from pathlib import Path
from typing import Annotated, Any, Literal

import numpy as np
from pydantic import Field, ValidationError, model_validator
from pydantic_core import PydanticCustomError

from sim.calibrate.abc import ABCResult, Distance, GenerationInfo, Prior, abc_smc, load_result, weighted_quantile
from sim.calibrate.targets import LoadedTargets, Target, check_targets, load_targets, score, simulated_value, summarise
from sim.run.posterior import parameter_override
from sim.run.store import refuse_to_replace, write_file_atomic
from sim.scenario.errors import Problem, ScenarioError, UsageError
from sim.scenario.loading import load_scenario, load_scenario_data, read_yaml_file
from sim.scenario.messages import problem_at, validation_problems
from sim.scenario.schema import MIN_SCALE, Bool, Float, Int, StrictModel

__all__ = [
    "PriorSpec",
    "ParamsFile",
    "LoadedParams",
    "load_params",
    "calibrate",
    "Calibration",
    "fit_report",
    "FitReport",
    "overrides_of",
    "FIT_REPORT_FILES",
]

#: The files of a fit report, written into a calibration's folder or fit-report's --out.
FIT_REPORT_FILES = ("fit_report.csv", "fit_report.json", "fit_report.png")

# One notion of a strict model and a finite number for every project file (see sim.scenario.schema).
_Float = Float
_Strict = StrictModel


class PriorSpec(_Strict):
    """One calibrated value: a dotted override path and its prior."""

    path: str = Field(min_length=1, description="A --set path, e.g. departures.pool_persons.")
    kind: Literal["uniform", "loguniform", "normal"] = Field(description="uniform | loguniform (low, high) | normal (mean, sd[, low, high]).")
    low: _Float | None = None
    high: _Float | None = None
    mean: _Float | None = None
    sd: _Float | None = Field(None, gt=0)
    integer: Bool = Field(False, description="Round to an integer when overriding (e.g. a count of lanes).")

    @model_validator(mode="after")
    def _arguments(self) -> PriorSpec:
        if self.kind in ("uniform", "loguniform"):
            missing = [name for name in ("low", "high") if getattr(self, name) is None]
            extra = [name for name in ("mean", "sd") if getattr(self, name) is not None]
            if missing or extra:
                found = f"missing {', '.join(missing)}" if missing else f"also {', '.join(extra)}"
                raise PydanticCustomError("arguments", f"expected low and high for a {self.kind} prior, found {found}", {})
            if self.kind == "loguniform" and self.low is not None and self.low <= 0:
                raise PydanticCustomError("arguments", f"expected low > 0 for a loguniform prior, found low {self.low:g}", {})
        else:
            missing = [name for name in ("mean", "sd") if getattr(self, name) is None]
            if missing:
                raise PydanticCustomError("arguments", f"expected mean and sd for a normal prior, found missing {', '.join(missing)}", {})
        if self.low is not None and self.high is not None and not self.low < self.high:
            raise PydanticCustomError("range", f"expected low < high, found low {self.low:g}, high {self.high:g}", {})
        return self

    def prior(self) -> Prior:
        """The sampler's prior."""
        return Prior(self.path, self.kind, low=self.low, high=self.high, mean=self.mean, sd=self.sd)

    def typical(self) -> float:
        """A value inside the prior (to check that the path overrides)."""
        if self.kind == "normal":
            assert self.mean is not None
            value = self.mean
            if self.low is not None:
                value = max(value, self.low)
            if self.high is not None:
                value = min(value, self.high)
            return value
        assert self.low is not None and self.high is not None
        return math.sqrt(self.low * self.high) if self.kind == "loguniform" else (self.low + self.high) / 2


class ParamsFile(_Strict):
    """A params file, validated."""

    description: str = ""
    priors: list[PriorSpec] = Field(min_length=1)
    population: Int = Field(200, ge=2, description="Particles per generation.")
    generations: Int = Field(6, ge=1, description="Most generations, counting generation 0.")
    scale: _Float | None = Field(None, ge=MIN_SCALE, le=1, description="Fraction of people simulated [default: the scenario's].")
    seed: Int = Field(0, ge=0, description="The calibration's seed.")
    replicates: Int = Field(8, ge=1, description="Runs of the point estimate in the fit report.")
    runs_per_particle: Int = Field(
        1, ge=1, description="Runs per particle, each its own seed; the distance reads each target's median over them."
    )
    point: Literal["median", "best"] = Field(
        "median",
        description="The point estimate: the posterior's weighted median, or the best of the finalists rerun.",
    )
    finalists: Int = Field(5, ge=1, description="With point: best, the closest particles of the last generation rerun.")
    choose_by: Literal["distance", "coverage"] = Field(
        "distance",
        description=(
            "With point: best, how the finalists' reruns are judged: the distance of their medians, or the fit"
            " report's criteria (most fit targets covered by the 90% band, then the averaged relative difference)."
        ),
    )
    refine: list[Annotated[_Float, Field(gt=0, lt=1)]] = Field(
        default_factory=list,
        description=(
            "With point: best, a search from the chosen finalist: each parameter in turn is tried at these"
            " quantiles of its posterior, rerun on the finalists' seeds, and kept where choose_by ranks it better."
        ),
    )


@dataclass(frozen=True)
class LoadedParams:
    """A validated params file, where its keys were written, and its name (the file stem)."""

    spec: ParamsFile
    path: str
    name: str
    source: Any = field(repr=False)
    data: Any = field(repr=False)

    def problem(self, loc: tuple[Any, ...], message: str) -> Problem:
        return problem_at(loc, message, self.data, self.source, self.path)

    @property
    def paths(self) -> list[str]:
        return [p.path for p in self.spec.priors]


def load_params(path: str | Path) -> LoadedParams:
    """Read and validate a params file.

    Raises
    ------
    ScenarioError
        Every problem, one line each (``FILE:LINE:COL: priors.2.kind: expected …, found …``).
    """
    shown = str(path)
    data, source = read_yaml_file(path, "params")
    try:
        spec = ParamsFile.model_validate(data)
    except ValidationError as error:
        raise ScenarioError(validation_problems(error, data, source, shown, root=ParamsFile)) from None
    loaded = LoadedParams(spec, shown, Path(path).stem, source, data)
    problems = []
    seen: set[str] = set()
    for index, prior in enumerate(spec.priors):
        if prior.path in seen:
            problems.append(loaded.problem(("priors", index, "path"), f"expected each path once, found {prior.path!r} again"))
        seen.add(prior.path)
    if problems:
        raise ScenarioError(problems)
    return loaded


def check_paths(params: LoadedParams, scenario: str | Path) -> None:
    """Check that every prior's path overrides the scenario, at a value inside its prior and at its bounds.

    A prior partly outside the values its key takes (``lanes`` from -5) would make
    every particle drawn there a failed run, silently rejected: so its ``low`` and
    ``high`` (a uniform's or loguniform's ends, a normal's truncation), rounded as the
    runs round them, must each give a valid scenario too.  Each value is validated
    from the scenario's resolved data, as :mod:`sim.run.sweep` checks a sweep's values.

    Raises
    ------
    ScenarioError
        One problem per path that does not work, at the path in the params file, and
        one per bound the scenario refuses, at that bound.
    """
    base = load_scenario(scenario)
    shown = str(scenario)
    problems = []
    for index, prior in enumerate(params.spec.priors):
        try:
            load_scenario_data(base.resolved, shown, [parameter_override(prior.path, prior.typical(), prior.integer)])
        except ScenarioError as error:
            message = error.problems[0].message
            problems.append(params.problem(("priors", index, "path"), f"expected a path that overrides {scenario}: {message}"))
            continue  # the path is at fault, not its bounds
        for end in ("low", "high"):
            value = getattr(prior, end)
            if value is None:
                continue
            if prior.integer:
                # The nearest whole number a draw inside the bounds can round to: from
                # low 0.5 (the usual way to give the integers 1..n equal room) draws round to 1.
                value = math.floor(value + 0.5) if end == "low" else math.ceil(value - 0.5)
            override = parameter_override(prior.path, value, prior.integer)
            try:
                load_scenario_data(base.resolved, shown, [override])
            except ScenarioError as error:
                problem = error.problems[0]
                # The bound names its own key; another key it upsets is named too.
                text = problem.message if problem.path in ("", prior.path) else f"{problem.path}: {problem.message}"
                problems.append(params.problem(("priors", index, end), f"{override}: {text}"))
    if problems:
        raise ScenarioError(problems)


def overrides_of(params: LoadedParams | Sequence[PriorSpec], values: dict[str, float]) -> list[str]:
    """``--set`` overrides (``path=value``) of a parameter point."""
    priors = params.spec.priors if isinstance(params, LoadedParams) else params
    return [parameter_override(p.path, values[p.path], p.integer) for p in priors]


# --------------------------------------------------------------------------- one run


@dataclass(frozen=True)
class TargetRun:
    """One run: plain data, so any executor can ship it."""

    index: int
    scenario: str
    seed: int
    scale: float | None
    overrides: tuple[str, ...]
    targets: tuple[dict[str, Any], ...]
    until: str | None = None  # stop after this day (ISO): the last the targets read


def run_targets(task: TargetRun) -> tuple[int, list[float], str | None]:
    """Run one scenario and read every target from its daily table.

    Never raises: a failed run gives NaN values and its error (NaN is rejected by
    the sampler and counted as unresolved by the report).
    """
    from sim.run.api import run

    targets = [Target.model_validate(t) for t in task.targets]
    try:
        until = None if task.until is None else dt.date.fromisoformat(task.until)
        result = run(task.scenario, seed=task.seed, scale=task.scale, overrides=list(task.overrides), until=until)
        return task.index, [simulated_value(t, result.daily) for t in targets], None
    except Exception as error:  # noqa: BLE001 - a failed run is a NaN row, not a crash
        message = str(error).replace("\n", "; ")
        return task.index, [math.nan] * len(targets), f"{type(error).__name__}: {message}"


def _run_all(
    tasks: list[TargetRun], *, executor: str, workers: int | None, scheduler: str | None
) -> tuple[np.ndarray, list[str]]:
    from sim.run.executors import execute

    out = np.full((len(tasks), len(tasks[0].targets) if tasks else 0), np.nan)
    errors: list[str] = []

    def on_result(result: tuple[int, list[float], str | None]) -> None:
        index, values, error = result
        out[index] = values
        if error is not None:
            errors.append(f"run {index}: {error}")

    execute(run_targets, tasks, on_result, executor=executor, workers=workers, scheduler=scheduler)
    return out, sorted(errors)


def _checkpoint_context(spec: Any, runs: int, fit_targets: Sequence[Target], scenario_scale: float) -> dict[str, Any]:
    """What shapes each particle's simulated statistics beyond the priors' bounds and the distance.

    A checkpoint made under other values is refused on resume, so a posterior never mixes
    generations simulated one way and another: the scale actually run, the runs per particle,
    which priors are rounded to whole numbers, and where and how each fit target is read.
    """
    return {
        "scale": spec.scale,
        "scale_run": spec.scale if spec.scale is not None else scenario_scale,
        "runs_per_particle": runs,
        "integer": [prior.integer for prior in spec.priors],
        "targets": [
            [t.id, t.places, t.measure, t.aggregate, [day.isoformat() for day in t.window]] for t in fit_targets
        ],
    }


def _target_data(targets: Sequence[Target]) -> tuple[dict[str, Any], ...]:
    return tuple(t.model_dump(mode="json", by_alias=True, exclude_none=True) for t in targets)


def _prepare(scenario: str | Path, targets: str | Path | LoadedTargets) -> tuple[str, LoadedTargets]:
    loaded_targets = targets if isinstance(targets, LoadedTargets) else load_targets(targets)
    spec = load_scenario(scenario).scenario
    problems = check_targets(loaded_targets, spec)
    if problems:
        raise ScenarioError(problems)
    return str(Path(scenario).resolve()), loaded_targets


# --------------------------------------------------------------------------- the fit report


@dataclass
class FitReport:
    """Scores of every target over replicate runs of one parameter point."""

    scores: list[dict[str, Any]]
    summary: dict[str, dict[str, float]]
    seeds: list[int]
    overrides: list[str]
    values: dict[str, list[float]]
    errors: list[str]
    files: list[Path] = field(default_factory=list)


def fit_report(
    scenario: str | Path,
    targets: str | Path | LoadedTargets,
    *,
    overrides: Sequence[str] = (),
    replicates: int = 8,
    scale: float | None = None,
    seed: int | None = None,
    out: str | Path | None = None,
    executor: str = "local",
    workers: int | None = None,
    scheduler: str | None = None,
    label: str | None = None,
) -> FitReport:
    """Run ``scenario`` (with ``overrides``) ``replicates`` times and score every target.

    The seeds are :func:`sim.run.compare.replicate_seeds` of ``seed`` (default the
    scenario's).  With ``out``, writes ``fit_report.csv``, ``fit_report.json`` and
    ``fit_report.png`` there.
    """
    from sim.run.compare import replicate_seeds

    if replicates < 1:
        raise UsageError(f"replicates: expected at least 1, found {replicates}")
    resolved, loaded_targets = _prepare(scenario, targets)
    spec = load_scenario(scenario, list(overrides)).scenario  # the overrides' own problems, once
    root = spec.seed if seed is None else int(seed)
    seeds = replicate_seeds(root, replicates)
    items = loaded_targets.targets
    data = _target_data(items)
    tasks = [TargetRun(i, resolved, s, scale, tuple(overrides), data) for i, s in enumerate(seeds)]
    matrix, errors = _run_all(tasks, executor=executor, workers=workers, scheduler=scheduler)
    scores = [score(t, matrix[:, j]) for j, t in enumerate(items)]
    report = FitReport(
        scores=scores,
        summary=summarise(scores),
        seeds=seeds,
        overrides=list(overrides),
        values={t.id: matrix[:, j].tolist() for j, t in enumerate(items)},
        errors=errors,
    )
    if out is not None:
        folder = Path(out)
        folder.mkdir(parents=True, exist_ok=True)
        used_scale = spec.scale if scale is None else scale
        meta = {
            "scenario": str(scenario),
            "scenario_name": spec.name,
            "targets": loaded_targets.path,
            "overrides": list(overrides),
            "replicates": replicates,
            "seed": root,
            "seeds": seeds,
            "scale": used_scale,
            "label": label,
        }
        report.files = _write_report(folder, report, items, meta)
    return report


def _clean(value: Any) -> Any:
    """JSON-able data without NaN or infinity (written as null)."""
    if isinstance(value, (float, np.floating)):
        return float(value) if math.isfinite(value) else None
    if isinstance(value, dict):
        return {k: _clean(v) for k, v in value.items()}
    if isinstance(value, (list, tuple)):
        return [_clean(v) for v in value]
    return value


def _number(x: float) -> str:
    if not math.isfinite(x):
        return ""
    return f"{x:.6g}"


def _write_report(folder: Path, report: FitReport, items: Sequence[Target], meta: dict[str, Any]) -> list[Path]:
    from sim.run.api import package_version

    buffer = io.StringIO()
    writer = csv.writer(buffer, lineterminator="\n")
    writer.writerow([
        "id", "use", "place", "measure", "aggregate", "from", "until", "reported", "reported_low", "reported_high",
        "simulated_median", "simulated_p5", "simulated_p95", "runs", "relative_difference", "covered",
        "median_inside", "runs_inside",
    ])
    for t, s in zip(items, report.scores):
        first, last = t.window
        reported = f"{t.range[0]:g}–{t.range[1]:g}" if t.range is not None else f"{t.value:g} ± {t.tolerance:.0%}"
        writer.writerow([
            t.id, t.use, "+".join(t.places), t.measure, t.aggregate, first.isoformat(), last.isoformat(), reported,
            _number(s["reported_low"]), _number(s["reported_high"]), _number(s["median"]), _number(s["low"]),
            _number(s["high"]), s["n"], _number(s["relative_difference"]), "yes" if s["covered"] else "no",
            "yes" if s["median_inside"] else "no", _number(s["runs_inside"]),
        ])
    csv_path = folder / "fit_report.csv"
    write_file_atomic(csv_path, buffer.getvalue())

    document = {
        **meta,
        "version": package_version(),
        "overall": report.summary,
        "scores": report.scores,
        "values": report.values,
        "errors": report.errors,
    }
    json_path = folder / "fit_report.json"
    write_file_atomic(json_path, json.dumps(_clean(document), indent=1, sort_keys=True) + "\n")
    from sim.report.fit import fit_report_figure

    figure = fit_report_figure(report.scores, report.summary, items, meta, folder / "fit_report", version=package_version())
    return [csv_path, json_path, *figure]


# --------------------------------------------------------------------------- calibrating


class _BudgetSpent(Exception):
    """The next batch would pass the simulation budget."""


@dataclass
class Calibration:
    """What a calibration did and wrote."""

    out: Path
    result: ABCResult
    simulations: int
    stopped: str
    report: FitReport
    wall_seconds: float
    files: list[Path]


def calibrate(
    scenario: str | Path,
    targets: str | Path | LoadedTargets,
    params: str | Path | LoadedParams,
    *,
    budget: int | None = None,
    executor: str = "local",
    workers: int | None = None,
    scheduler: str | None = None,
    out: str | Path | None = None,
    resume: bool = False,
    progress: Callable[[GenerationInfo, int], None] | None = None,
    notify: Callable[[str], None] | None = None,
) -> Calibration:
    """Calibrate ``scenario``'s values named in ``params`` against the ``fit`` targets by ABC-SMC.

    Parameters
    ----------
    scenario
        The scenario file.
    targets
        The targets file (only ``use: fit`` targets enter the distance; the report scores all).
    params
        The params file (priors and sampler settings).
    budget
        Most simulations in all (counting those of a resumed checkpoint and every run
        of each particle; not the finalists' or the report's): a batch that would
        pass it is not run, and the last finished generation is the result
        (``stopped: budget``; ``resume`` with a larger budget goes on).
    executor, workers, scheduler
        Where runs go, as for sweeps (:func:`sim.run.executors.execute`).
    out
        Output folder [default ``calibration/fitted/<params stem>/``].
    resume
        Continue from the checkpoint in ``<out>/checkpoint/``.
    progress
        ``progress(generation_row, simulations_so_far)`` after each generation.
    notify
        Called with a line on the work after the generations (finalists, refinement).
    """
    began = time.perf_counter()
    loaded = params if isinstance(params, LoadedParams) else load_params(params)
    resolved, loaded_targets = _prepare(scenario, targets)
    check_paths(loaded, scenario)
    spec = loaded.spec
    fit_targets = [t for t in loaded_targets.targets if t.use == "fit"]
    if not fit_targets:
        raise UsageError(f"{loaded_targets.path}: expected at least one target with use: fit, found none")
    runs = spec.runs_per_particle
    if budget is not None and budget < spec.population * runs:
        raise UsageError(
            f"budget: expected at least the population × runs per particle ({spec.population * runs}) simulations, found {budget}"
        )
    folder = Path(out) if out is not None else Path("calibration") / "fitted" / loaded.name
    checkpoint = folder / "checkpoint"
    if not resume and (checkpoint / "state.json").exists():
        raise UsageError(f"{folder} already holds a calibration: expected --resume or another --out, found its checkpoint")
    refuse_to_replace(
        folder,
        ["posterior.csv", "point.json", "intervals.csv", "generations.txt", "calibration.json", *FIT_REPORT_FILES],
        markers=["calibration.json", "checkpoint"],
    )

    # calibration.json is written last: while it is absent the folder is not a finished calibration.
    (folder / "calibration.json").unlink(missing_ok=True)
    bands = np.array([t.band for t in fit_targets], dtype=float)
    distance = Distance.ranges(bands[:, 0], bands[:, 1], scale=[t.reference for t in fit_targets])
    data = _target_data(fit_targets)
    # The sampler's and the finalists' runs stop after the last day a fit target reads:
    # those days read as in a whole run (tests/test_truncated_runs.py), and the rest
    # of the period would cost time for nothing. The fit report runs the whole period.
    last_day = max(t.window[1] for t in fit_targets).isoformat()
    spent = 0
    if resume and (checkpoint / "state.json").exists():
        # load_result checks the whole checkpoint (state and last generation) before any
        # simulation runs: a damaged one is a one-line UsageError naming the file.
        particles = sum(g.simulated for g in load_result(checkpoint).generations)
        spent = particles * runs
    budget_hit = False

    def runs_of(theta: np.ndarray, seeds: Sequence[Sequence[int]]) -> np.ndarray:
        """Each particle (row of ``theta``) run on each of its seeds: particle × run × fit target."""
        tasks = []
        for row, own in zip(theta.tolist(), seeds):
            sets = tuple(overrides_of(loaded, dict(zip(loaded.paths, row))))
            tasks += [
                TargetRun(len(tasks) + j, resolved, int(s), spec.scale, sets, data, until=last_day) for j, s in enumerate(own)
            ]
        matrix, _ = _run_all(tasks, executor=executor, workers=workers, scheduler=scheduler)
        return matrix.reshape(len(seeds), -1, len(data))

    def medians(theta: np.ndarray, seeds: Sequence[Sequence[int]]) -> np.ndarray:
        # a NaN run stays NaN in the median, so the particle is rejected, never scored on fewer runs
        return np.median(runs_of(theta, seeds), axis=1)

    def evaluate(theta: np.ndarray, seeds: list[int]) -> np.ndarray:
        nonlocal spent
        if budget is not None and spent + len(seeds) * runs > budget:
            raise _BudgetSpent
        matrix = medians(theta, [particle_seeds(s, runs) for s in seeds])
        spent += len(seeds) * runs
        return matrix

    def on_generation(info: GenerationInfo) -> None:
        if progress is not None:
            progress(info, spent)

    try:
        result = abc_smc(
            evaluate,
            [p.prior() for p in spec.priors],
            distance,
            population=spec.population,
            generations=spec.generations,
            seed=spec.seed,
            checkpoint=checkpoint,
            resume=resume,
            progress=on_generation,
            context=_checkpoint_context(spec, runs, fit_targets, load_scenario(scenario).scenario.scale),
        )
    except _BudgetSpent:
        if not (checkpoint / "state.json").exists():
            raise UsageError(f"budget {budget}: expected enough simulations for generation 0, found it spent first") from None
        # The checkpoint knows only that the run went no further; the reason is the budget.
        result = dataclasses.replace(load_result(checkpoint), stopped="budget")
        budget_hit = True
    except ValueError as error:  # a checkpoint of other settings, or of another seed
        raise UsageError(str(error)) from None
    stopped = "budget" if budget_hit else result.stopped

    if spec.point == "best":
        from sim.run.compare import replicate_seeds

        # every finalist on the same seeds (common random numbers: the choice is the values',
        # not the seeds' luck); stream 1 is disjoint from the fit report's seeds (stream 0)
        root = load_scenario(scenario).scenario.seed
        final_seeds = replicate_seeds(root, spec.replicates, stream=1)

        def judge(theta: np.ndarray) -> list[dict[str, float]]:
            """Each row of ``theta`` rerun on the finalists' seeds: its distance, and the fit report's criteria."""
            reruns = runs_of(theta, [final_seeds] * len(theta))
            rerun = distance(np.median(reruns, axis=1))
            judged = [summarise([score(t, values[:, j]) for j, t in enumerate(fit_targets)])["fit"] for values in reruns]
            return [
                {"rerun_distance": float(d), "rerun_coverage": j["coverage"], "rerun_mean_relative_difference": j["mean_relative_difference"]}
                for d, j in zip(rerun, judged)
            ]

        chosen = np.argsort(result.distances, kind="stable")[: spec.finalists]
        if notify is not None:
            notify(f"finalists: the {len(chosen)} closest particles, {spec.replicates} runs each")
        finalists = [
            {"particle": int(i), "distance": float(result.distances[i]), **record,
             "values": dict(zip(result.names, map(float, result.particles[i])))}
            for i, record in zip(chosen, judge(result.particles[chosen]))
        ]
        order = _finalist_order(spec.choose_by)
        winner = min(finalists, key=order)
        point = winner["values"]
        choice: dict[str, Any] = {"point": "best", "choose_by": spec.choose_by, "seeds": final_seeds, "finalists": finalists}
        if spec.refine:
            integer = {p.path for p in spec.priors if p.integer}
            point, choice["refined"] = _refine(point, winner, result, spec.refine, integer, judge, order, notify)
    else:
        point = result.median()
        choice = {"point": "median"}
    point_overrides = overrides_of(loaded, point)
    report = fit_report(
        scenario, loaded_targets, overrides=point_overrides, replicates=spec.replicates, scale=spec.scale,
        out=folder, executor=executor, workers=workers, scheduler=scheduler, label=f"calibrated, {loaded.name}",
    )
    files = _write_calibration(folder, loaded, result, stopped, spent, budget, scenario, loaded_targets, point, choice)
    return Calibration(folder, result, spent, stopped, report, time.perf_counter() - began, files + report.files)


def _refine(
    point: dict[str, float],
    record: dict[str, Any],
    result: ABCResult,
    quantiles: Sequence[float],
    integer: set[str],
    judge: Callable[[np.ndarray], list[dict[str, float]]],
    order: Callable[[dict[str, Any]], tuple[float, ...]],
    notify: Callable[[str], None] | None = None,
) -> tuple[dict[str, float], list[dict[str, Any]]]:
    """A coordinate search for a better point inside the posterior, from the chosen finalist.

    A point chosen among particles keeps every value of one particle, and in many
    dimensions no particle need be near the best combination: a broad posterior says
    several values are as likely as the particle's.  So each parameter in turn (prior
    order) is tried at the ``quantiles`` of its weighted posterior, the others held; all
    are judged on the finalists' seeds (``judge``), never the fit report's, and a value
    is kept when ``order`` ranks it strictly better than the point so far.  Returns the
    point and the steps taken (parameter, from, to, and the rerun's scores).
    """
    current = dict(point)
    best = {k: record[k] for k in ("rerun_distance", "rerun_coverage", "rerun_mean_relative_difference")}
    steps: list[dict[str, Any]] = []
    for k, name in enumerate(result.names):
        levels = weighted_quantile(result.particles[:, k], result.weights, np.asarray(quantiles, dtype=float))
        # an integer parameter runs rounded, so levels that round alike are one candidate
        values = sorted({float(round(v)) if name in integer else float(v) for v in np.atleast_1d(levels)})
        now = float(round(current[name])) if name in integer else current[name]
        candidates = [v for v in values if v != now]
        if not candidates:
            continue
        theta = np.array([[v if n == name else current[n] for n in result.names] for v in candidates])
        records = judge(theta)
        i = min(range(len(candidates)), key=lambda c: order(records[c]))
        kept = order(records[i]) < order(best)
        if kept:
            steps.append({"parameter": name, "from": current[name], "to": candidates[i], **records[i]})
            current[name], best = candidates[i], records[i]
        if notify is not None:
            notify(
                f"refine {k + 1}/{len(result.names)} {name}: "
                + (f"{steps[-1]['from']:.4g} -> {current[name]:.4g}" if kept else f"kept {current[name]:.4g}")
                + f" (coverage {best['rerun_coverage']:.0%}, difference {best['rerun_mean_relative_difference']:.3f})"
            )
    return current, steps


def _finalist_order(choose_by: str) -> Callable[[dict[str, Any]], tuple[float, ...]]:
    """The key that ranks finalists, best first (NaN, a rerun with a missing value, ranks last)."""

    def last_if_nan(x: float) -> float:
        return math.inf if math.isnan(x) else x

    if choose_by == "coverage":
        return lambda f: (-f["rerun_coverage"], last_if_nan(f["rerun_mean_relative_difference"]), last_if_nan(f["rerun_distance"]))
    return lambda f: (last_if_nan(f["rerun_distance"]),)


def particle_seeds(seed: int, runs: int) -> list[int]:
    """The seeds of one particle's ``runs`` runs: its own seed, then ones spawned from it.

    The first is the particle's seed itself, so one run per particle simulates what a
    calibration without replicates did.
    """
    from sim.run.compare import replicate_seeds

    return [int(seed)] + (replicate_seeds(int(seed), runs - 1) if runs > 1 else [])


def _write_calibration(
    folder: Path,
    loaded: LoadedParams,
    result: ABCResult,
    stopped: str,
    spent: int,
    budget: int | None,
    scenario: str | Path,
    targets: LoadedTargets,
    point_values: dict[str, float],
    choice: dict[str, Any],
) -> list[Path]:
    names = list(result.names)
    buffer = io.StringIO()
    writer = csv.writer(buffer, lineterminator="\n")
    writer.writerow(names)
    for row in result.samples:
        writer.writerow([f"{v:.10g}" for v in row])
    posterior = folder / "posterior.csv"
    write_file_atomic(posterior, buffer.getvalue())

    median, best, interval = result.median(), result.best(), result.interval(0.9)
    buffer = io.StringIO()
    writer = csv.writer(buffer, lineterminator="\n")
    writer.writerow(["parameter", "prior", "low_5", "median", "high_95", "best"])
    for spec in loaded.spec.priors:
        prior = ", ".join(f"{k} {v:g}" for k, v in spec.prior().to_dict().items() if k not in ("name", "kind"))
        writer.writerow([spec.path, f"{spec.kind} ({prior})", f"{interval[spec.path][0]:.6g}", f"{median[spec.path]:.6g}",
                         f"{interval[spec.path][1]:.6g}", f"{best[spec.path]:.6g}"])
    intervals = folder / "intervals.csv"
    write_file_atomic(intervals, buffer.getvalue())

    point = {
        **choice,
        "values": point_values,
        "set": overrides_of(loaded, point_values),
        "median": median,
        "best": best,
        "best_distance": float(np.min(result.distances)),
        "set_median": overrides_of(loaded, median),
        "set_best": overrides_of(loaded, best),
        "interval_90": {k: list(v) for k, v in interval.items()},
    }
    point_path = folder / "point.json"
    write_file_atomic(point_path, json.dumps(_clean(point), indent=1) + "\n")

    table = result.table() + f"\nstopped: {stopped}; {spent} simulations" + (f" (budget {budget})" if budget else "") + "\n"
    generations = folder / "generations.txt"
    write_file_atomic(generations, table)

    record = {
        "scenario": str(scenario),
        "targets": targets.path,
        "params": loaded.path,
        "settings": loaded.spec.model_dump(mode="json"),
        "fit_targets": [t.id for t in targets.targets if t.use == "fit"],
        "simulations": spent,
        "budget": budget,
        "stopped": stopped,
        "summary": result.summary(),
    }
    record_path = folder / "calibration.json"
    write_file_atomic(record_path, json.dumps(_clean(record), indent=1) + "\n")
    return [posterior, point_path, intervals, generations, record_path]
