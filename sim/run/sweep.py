"""Batch sweeps: one scenario run at many parameter points, each several times.

The idea
--------
A sweep file names a base scenario, the parameters to vary (each a ``--set``-style
dotted path), a design (:mod:`sim.run.designs`) and a number of replicates.  Every
(point, replicate) pair is one *task*: load the base with the point's overrides,
run it with the replicate's seed, write its outputs into the store
(:mod:`sim.run.sweep_store`) and return one summary row.  Replicate ``r`` of every
point uses the same seed (common random numbers), so differences between points
are the parameters', not noise.  Tasks are independent, so any executor
(:mod:`sim.run.executors`) can run them in any order; the summary is rebuilt from
the row files, sorted, and does not depend on either.

What a task evaluates is a *target* from a small registry (:data:`TARGETS`):
``crossings`` (the simulation, the default) or ``ishigami`` (a synthetic function
with known Sobol indices), so synthetic checks go through exactly the same code
path as real sweeps.  Sweep files only name a target; nothing is unpickled from
user input.

A sweep file is checked whole before any run, so a mistake costs no runs: its
size (at most :data:`MAX_RUNS` runs, by arithmetic, before the design is built),
every value each parameter takes (applied to the base scenario and validated,
as a run would), and its measure names (against the names the base's runs can
have).  Each problem is one line at the sweep file's key at fault.
"""

from __future__ import annotations

import json
import math
import re
import time
from collections.abc import Callable, Mapping, Sequence
from dataclasses import asdict, dataclass, field
from fnmatch import fnmatch
from pathlib import Path
from typing import Annotated, Any, Literal

from pydantic import Field, ValidationError, model_validator
from pydantic_core import PydanticCustomError

from sim.run.api import check_scale
from sim.run.compare import replicate_seeds
from sim.run.designs import ParameterSpace, design_points, design_size
from sim.run.measures import possible_measures, unmatched_pattern
from sim.scenario.errors import Problem, ScenarioError, UsageError
from sim.scenario.loading import LoadedScenario, existing_file, load_scenario, load_scenario_data, read_yaml_file
from sim.scenario.messages import KeyPath, describe, did_you_mean, problem_at, validation_problems
from sim.scenario.schema import (
    MAX_SIMULATED_PERSONS,
    MIN_SCALE,
    Bool,
    Float,
    Int,
    Scenario,
    StrictModel,
    one_problem,
    simulated_persons,
    too_many_persons,
)

__all__ = [
    "SweepFile",
    "LoadedSweep",
    "Task",
    "TARGETS",
    "load_sweep",
    "plan_tasks",
    "run_task",
    "run_sweep",
    "SweepOutcome",
    "MAX_RUNS",
]

#: Most runs (points × replicates) a sweep file may ask for.  A million runs of even a
#: tiny scenario is days of CPU, and the plan (points, tasks, summary rows) is held in
#: memory; a larger design is far more likely a typo than a plan, and building it
#: would exhaust memory before anything ran.  Checked by arithmetic, before the design
#: is built.
MAX_RUNS = 1_000_000

# --------------------------------------------------------------------------- the sweep file

# One notion of a strict model and a finite number for every project file (see sim.scenario.schema).
_Float = Float
_Strict = StrictModel

#: The largest ``mu + 8 sigma`` of a lognormal distribution.  The design's draws reach
#: about 7 standard deviations (its unit interval stops 1e-12 short of each end), and
#: ``exp`` overflows past 709: a bound of 700 keeps every draw finite (up to about 1e304)
#: while refusing only a ``mu`` that was meant as the mean itself, not as its logarithm.
MAX_LOG_DRAW = 700.0


#: An item of a ``values`` list, strictly: ``8`` stays an integer, ``8.0`` a float, ``"8"`` text
#: and ``true`` a boolean; the scenario judges whether its key takes it (see :func:`_override`).
SweepValue = Annotated[Int | _Float | str | Bool, one_problem("a number, a string, true or false")]


class Range(_Strict):
    """A uniform range ``[low, high]``."""

    low: _Float
    high: _Float

    @model_validator(mode="after")
    def _ordered(self) -> Range:
        if not self.low < self.high:
            raise PydanticCustomError("range", f"expected low < high, found low {self.low:g}, high {self.high:g}", {})
        return self


class Distribution(_Strict):
    """A distribution to sample: ``uniform`` (low, high), ``normal`` (mean, sd), ``lognormal`` (mu, sigma of the log)."""

    kind: Literal["uniform", "normal", "lognormal"]
    low: _Float | None = None
    high: _Float | None = None
    mean: _Float | None = None
    sd: _Float | None = Field(None, gt=0)
    mu: _Float | None = None
    sigma: _Float | None = Field(None, gt=0)

    @model_validator(mode="after")
    def _arguments(self) -> Distribution:
        needed = {"uniform": ("low", "high"), "normal": ("mean", "sd"), "lognormal": ("mu", "sigma")}[self.kind]
        missing = [name for name in needed if getattr(self, name) is None]
        extra = [n for n in ("low", "high", "mean", "sd", "mu", "sigma") if n not in needed and getattr(self, n) is not None]
        if missing or extra:
            found = f"missing {', '.join(missing)}" if missing else f"also {', '.join(extra)}"
            raise PydanticCustomError("arguments", f"expected {' and '.join(needed)} for a {self.kind} distribution, found {found}", {})
        if self.kind == "uniform" and not self.low < self.high:
            raise PydanticCustomError("range", f"expected low < high, found low {self.low:g}, high {self.high:g}", {})
        if self.kind == "lognormal" and not self.mu + 8 * self.sigma <= MAX_LOG_DRAW:
            raise PydanticCustomError(
                "log_range",
                f"expected mu + 8 × sigma <= {MAX_LOG_DRAW:g} (mu and sigma are the mean and sd of the value's "
                f"logarithm, so that exp of every draw is finite), found mu {self.mu:g}, sigma {self.sigma:g}",
                {},
            )
        return self


class Parameter(_Strict):
    """One varied value: a dotted override path and exactly one of values, range, distribution."""

    path: str = Field(min_length=1)
    values: list[SweepValue] | None = Field(None, min_length=1)
    range: Range | None = None
    distribution: Distribution | None = None
    integer: Bool = False

    @model_validator(mode="after")
    def _one_source(self) -> Parameter:
        given = [name for name in ("values", "range", "distribution") if getattr(self, name) is not None]
        if len(given) != 1:
            found = ", ".join(given) if given else "none"
            raise PydanticCustomError("one_source", f"expected exactly one of values, range, distribution, found {found}", {})
        return self

    def space(self) -> ParameterSpace:
        """How the design maps the unit interval to this parameter's values."""
        if self.values is not None:
            return ParameterSpace(self.path, "values", tuple(self.values), self.integer)
        if self.range is not None:
            return ParameterSpace(self.path, "uniform", (self.range.low, self.range.high), self.integer)
        d = self.distribution
        assert d is not None
        args = {"uniform": (d.low, d.high), "normal": (d.mean, d.sd), "lognormal": (d.mu, d.sigma)}[d.kind]
        return ParameterSpace(self.path, d.kind, args, self.integer)


class Design(_Strict):
    """How points are chosen: ``grid`` (values only), ``lhs`` (``points``), ``sobol`` (base ``points``, a power of 2)."""

    kind: Literal["grid", "lhs", "sobol"]
    points: Int | None = Field(None, ge=1)
    seed: Int = Field(0, ge=0)

    @model_validator(mode="after")
    def _points(self) -> Design:
        if self.kind == "grid" and self.points is not None:
            raise PydanticCustomError("points", "expected no points for a grid (its size is the product of the values), found points", {})
        if self.kind != "grid" and self.points is None:
            raise PydanticCustomError("points", f"expected points for a {self.kind} design, found none", {})
        if self.kind == "sobol" and self.points is not None and self.points & (self.points - 1):
            raise PydanticCustomError("points", f"expected a power of 2 as the base points of a sobol design, found {self.points}", {})
        return self


class SweepFile(_Strict):
    """A sweep file, validated."""

    name: str = Field(pattern=r"^[a-z0-9][a-z0-9-]*$")
    description: str = ""
    model: Literal["crossings", "ishigami"] = "crossings"
    base: str | None = None
    parameters: list[Parameter] = Field(min_length=1)
    design: Design
    replicates: Int = Field(1, ge=1)
    measures: list[str] = Field(default_factory=list)
    scale: _Float | None = Field(None, ge=MIN_SCALE, le=1)
    seed: Int | None = Field(None, ge=0)


# --------------------------------------------------------------------------- targets


@dataclass(frozen=True)
class Task:
    """One (point, replicate) run; plain data, so any executor can ship it anywhere."""

    model: str
    base: str | None
    point: int
    replicate: int
    seed: int
    scale: float | None
    params: dict[str, Any]
    measures: tuple[str, ...]
    run_dir: str


@dataclass(frozen=True)
class Evaluation:
    """What a target returns: scalar measures and, optionally, a daily table to store."""

    measures: dict[str, float]
    daily: Any = None


class Target:
    """An evaluation target: checks a sweep file, evaluates one task."""

    name = ""

    def check(
        self, spec: SweepFile, points: list[list[Any]] | None, data: Any, source: Any, file: str, folder: Path
    ) -> list[Problem]:
        """Problems of the sweep file that only this target can see, found before any run.

        Parameters
        ----------
        spec
            The validated sweep file (its ``scale`` the one the runs will use).
        points
            The design's parameter values per point, or ``None`` when the file has
            problems already and the design was not built.
        data, source, file
            The file's data, source map and name as shown, to place problems.
        folder
            The sweep file's folder.

        Returns
        -------
        list of Problem
        """
        return []

    def root_seed(self, spec: SweepFile, folder: Path) -> int:
        """Root of the replicates' seeds when the sweep file gives none."""
        return 0

    def evaluate(self, task: Task) -> Evaluation:
        """Run one task."""
        raise NotImplementedError


# Text that reads back as the same string when an override's value is parsed as YAML.
_PLAIN_TEXT = re.compile(r"^[A-Za-z_][A-Za-z0-9_.-]*$")
_YAML_WORDS = {"true", "false", "null", "yes", "no", "on", "off", "y", "n"}


def _override(path: str, value: Any) -> str:
    """``path=value`` as ``--set`` reads it, the value keeping its type.

    ``--set`` reads its value as YAML, so text that would read as something else
    (``"8"``, ``"true"``, ``"2022-09-21"``) is quoted: it stays text, and a key that
    takes a number says so (``expected an integer, found '8'``) instead of taking 8.
    Text written as a YAML list or mapping (``"[internal_passport]"``) is passed as
    written: it is how a sweep varies a key that takes a list or a mapping.
    """
    if isinstance(value, str) and value.lstrip()[:1] in ("[", "{"):
        text = value
    elif isinstance(value, bool):
        text = "true" if value else "false"
    elif isinstance(value, float):
        text = repr(value)
    elif isinstance(value, str) and not (_PLAIN_TEXT.match(value) and value.lower() not in _YAML_WORDS):
        text = json.dumps(value, ensure_ascii=False)  # a JSON string is a YAML double-quoted scalar
    else:
        text = str(value)
    return f"{path}={text}"


def _is_glob(pattern: str) -> bool:
    return any(ch in pattern for ch in "*?[")


def _measure_problems(patterns: Sequence[str], names: set[str], data: Any, source: Any, file: str) -> list[Problem]:
    """Each of ``measures`` that names no measure a run can have.

    Such a name would only ever be a column of zeros (or, for a glob, no column at
    all): a typo, refused before the runs rather than warned about after them.
    """
    problems = []
    known = sorted(names)
    for index, pattern in enumerate(patterns):
        if _is_glob(pattern):
            if (message := unmatched_pattern(pattern, known)) is not None:
                problems.append(problem_at(("measures", index), message, data, source, file))
        elif pattern not in names:
            message = f"expected a measure of the runs, found {pattern!r}{did_you_mean(pattern, known)}"
            problems.append(problem_at(("measures", index), message, data, source, file))
    return problems


def _taken_values(index: int, parameter: Parameter, column: Sequence[Any]) -> list[tuple[KeyPath, Any]]:
    """The values a parameter takes, each with the key of the sweep file that gives it.

    A ``values`` list: every distinct value, drawn by the design or not (a bad one is
    a mistake even where this design skips it).  A range or a distribution: the
    smallest and largest value the design drew, which is what its runs see; a
    distribution's far tails are never drawn, so checking its support would refuse
    sweeps that run.
    """
    where: KeyPath = ("parameters", index)
    if parameter.values is not None:
        seen: set[tuple[type, Any]] = set()
        taken = []
        for position, value in enumerate(parameter.values):
            key = (type(value), value)  # 1, 1.0 and true are equal in Python, not to the scenario
            if key not in seen:
                seen.add(key)
                taken.append(((*where, "values", position), value))
        return taken
    if not column:
        return []
    ends = (min(column), max(column))
    if parameter.range is not None:
        taken = [((*where, "range", "low"), ends[0]), ((*where, "range", "high"), ends[1])]
    else:
        taken = [((*where, "distribution"), ends[0]), ((*where, "distribution"), ends[1])]
    return taken if ends[0] != ends[1] else taken[:1]


class CrossingsTarget(Target):
    """The simulation: the base scenario with the point's overrides, run with the replicate's seed."""

    name = "crossings"

    def check(
        self, spec: SweepFile, points: list[list[Any]] | None, data: Any, source: Any, file: str, folder: Path
    ) -> list[Problem]:
        if spec.base is None:
            return [problem_at(("base",), "expected a scenario file (model crossings needs one), found nothing", data, source, file)]
        path = folder / spec.base
        if existing_file(path) is None:
            return [problem_at(("base",), f"expected an existing scenario file, found {spec.base!r}", data, source, file)]
        base = load_scenario(path)  # the base's own problems, at their lines in it
        if spec.scale is not None and (persons := simulated_persons(base.scenario, spec.scale)) > MAX_SIMULATED_PERSONS:
            # sim.run refuses every run at this scale, whatever the parameters: say so once.
            if isinstance(data, dict) and data.get("scale") == spec.scale:
                message = f"{too_many_persons(persons)} with scale {spec.scale:g}; choose a smaller scale"
                return [problem_at(("scale",), message, data, source, file)]
            # A scale given by the caller (--scale): sim.run's own message for it.
            raise UsageError(f"scale {spec.scale:g}: {too_many_persons(persons)}; choose a smaller scale")
        problems: list[Problem] = []
        scenarios = [base.scenario]
        if points is not None:
            problems, valid = self._value_problems(spec, points, base, data, source, file)
            scenarios += valid
        names = set().union(*(possible_measures(scenario) for scenario in scenarios))
        return problems + _measure_problems(spec.measures, names, data, source, file)

    @staticmethod
    def _value_problems(
        spec: SweepFile, points: list[list[Any]], base: LoadedScenario, data: Any, source: Any, file: str
    ) -> tuple[list[Problem], list[Scenario]]:
        """Each value each parameter takes, applied alone to the base and validated as a run would be.

        One validation per value, not per point, keeps the check cheap (milliseconds
        each, from the base's resolved data).  What it cannot see is a combination of
        values each valid alone; such runs fail and are recorded as failed rows.

        Returns
        -------
        (problems, scenarios)
            Problems at the sweep file's keys, and the scenarios that validated (their
            measure names count as known).
        """
        problems: list[Problem] = []
        scenarios: list[Scenario] = []
        for index, parameter in enumerate(spec.parameters):
            taken = _taken_values(index, parameter, [point[index] for point in points])
            # Each distinct problem, with every (key, override) that gave it.
            found: dict[tuple[str, str], list[tuple[KeyPath, str]]] = {}
            for loc, value in taken:
                override = _override(parameter.path, value)
                try:
                    loaded = load_scenario_data(base.resolved, str(spec.base), [override])
                except ScenarioError as error:
                    for problem in error.problems:
                        found.setdefault((problem.path, problem.message), []).append((loc, override))
                    continue
                # The run is given the sweep's scale, and sim.run checks the persons at it.
                if spec.scale is not None and (persons := simulated_persons(loaded.scenario, spec.scale)) > MAX_SIMULATED_PERSONS:
                    message = f"{too_many_persons(persons)} with scale {spec.scale:g}"
                    found.setdefault(("departures", message), []).append((loc, override))
                    continue
                scenarios.append(loaded.scenario)
            for (at, message), givers in found.items():
                if len(givers) > 1 and len(givers) == len(taken):
                    # The same problem whatever the value: the path is at fault (an unknown key or id).
                    text = f"{at}: {message}" if at else message
                    problems.append(problem_at(("parameters", index, "path"), text, data, source, file))
                    continue
                # The override names the parameter's own key; another key it upset is named too.
                text = message if at in ("", parameter.path) else f"{at}: {message}"
                problems += [problem_at(loc, f"{override}: {text}", data, source, file) for loc, override in givers]
        return problems, scenarios

    def root_seed(self, spec: SweepFile, folder: Path) -> int:
        return load_scenario(folder / str(spec.base)).scenario.seed

    def evaluate(self, task: Task) -> Evaluation:
        from sim.run.api import run
        from sim.run.measures import summary_measures

        overrides = [_override(path, value) for path, value in task.params.items()]
        result = run(task.base, seed=task.seed, scale=task.scale, overrides=overrides)
        return Evaluation(summary_measures(result.daily, result.people), result.daily)


class IshigamiTarget(Target):
    """The Ishigami function, ``y = sin x1 + a sin² x2 + b x3⁴ sin x1`` with a = 7, b = 0.1.

    Inputs ``x1``, ``x2``, ``x3`` (uniform on [-π, π] in the usual test); measure ``y``.
    Known Sobol indices: S1 ≈ (0.314, 0.442, 0), ST ≈ (0.558, 0.442, 0.244).
    """

    name = "ishigami"
    inputs = ("x1", "x2", "x3")
    measures = ("y",)
    a, b = 7.0, 0.1

    def check(
        self, spec: SweepFile, points: list[list[Any]] | None, data: Any, source: Any, file: str, folder: Path
    ) -> list[Problem]:
        problems = []
        for index, parameter in enumerate(spec.parameters):
            if parameter.path not in self.inputs:
                problems.append(
                    problem_at(
                        ("parameters", index, "path"),
                        f"expected an input of ishigami ({', '.join(self.inputs)}), found {parameter.path!r}",
                        data,
                        source,
                        file,
                    )
                )
            for position, value in enumerate(parameter.values or ()):
                if isinstance(value, (str, bool)):
                    # Its inputs are numbers: "8" or true is a mistake, not 8.0 or 1.0.
                    loc = ("parameters", index, "values", position)
                    problems.append(problem_at(loc, f"expected a number, found {describe(value)}", data, source, file))
        return problems + _measure_problems(spec.measures, set(self.measures), data, source, file)

    def evaluate(self, task: Task) -> Evaluation:
        x1, x2, x3 = (float(task.params.get(name, 0.0)) for name in self.inputs)
        y = math.sin(x1) + self.a * math.sin(x2) ** 2 + self.b * x3**4 * math.sin(x1)
        return Evaluation({"y": y})


#: The targets a sweep file may name as ``model``.
TARGETS: dict[str, Target] = {target.name: target for target in (CrossingsTarget(), IshigamiTarget())}


# --------------------------------------------------------------------------- loading


@dataclass(frozen=True)
class LoadedSweep:
    """A validated sweep file and its plan.

    Attributes
    ----------
    spec
        The validated file.
    source
        The file as the caller named it.
    folder
        Its folder (``base`` is relative to it).
    points
        Parameter values of each point, in run order (see :mod:`sim.run.designs`).
    seeds
        Seed of each replicate, shared by every point.
    """

    spec: SweepFile
    source: str
    folder: Path
    points: list[list[Any]]
    seeds: list[int]

    @property
    def paths(self) -> list[str]:
        """The parameters' paths, in file order."""
        return [parameter.path for parameter in self.spec.parameters]

    def plan(self) -> dict[str, Any]:
        """What the store records in ``sweep.json``: enough to summarise and to check a resume."""
        return {
            "sweep": self.spec.model_dump(mode="json", exclude_none=True),
            "source": self.source,
            "parameters": self.paths,
            "points": self.points,
            "seeds": self.seeds,
        }


def load_sweep(path: str | Path, *, scale: float | None = None) -> LoadedSweep:
    """Read, validate and plan a sweep file.

    Parameters
    ----------
    path
        The sweep file (YAML).
    scale
        Replaces the file's ``scale``.

    Raises
    ------
    ScenarioError
        Every problem of the file (or of its base scenario), one per line: found
        before any run, and before a design larger than :data:`MAX_RUNS` is built.
    UsageError
        A ``scale`` outside (0, 1], NaN included.
    """
    # sim.run's own check, made once here rather than failing every run.
    if scale is not None:
        check_scale(scale)
    shown = str(path)
    data, source = read_yaml_file(path, "sweep")
    try:
        spec = SweepFile.model_validate(data)
    except ValidationError as error:
        raise ScenarioError(validation_problems(error, data, source, shown, root=SweepFile)) from None
    problems: list[Problem] = []
    if spec.design.kind == "grid":
        for index, parameter in enumerate(spec.parameters):
            if parameter.values is None:
                problems.append(
                    problem_at(("parameters", index), "expected values for a grid design, found a range or distribution", data, source, shown)
                )
    seen: set[str] = set()
    for index, parameter in enumerate(spec.parameters):
        if parameter.path in seen:
            problems.append(problem_at(("parameters", index, "path"), f"expected each path once, found {parameter.path!r} again", data, source, shown))
        seen.add(parameter.path)
    spaces = [parameter.space() for parameter in spec.parameters]
    problems += _size_problems(spec, spaces, data, source, shown)
    if scale is not None:
        spec = spec.model_copy(update={"scale": scale})
    # The design is built only for a file without problems so far: its size is bounded.
    points = None if problems else design_points(spec.design.kind, spaces, points=spec.design.points, seed=spec.design.seed)
    if points is not None and (non_finite := _non_finite_problems(spec, points, data, source, shown)):
        # No run can take such a value, and the target's check would only repeat it.
        problems += non_finite
        points = None
    folder = Path(path).parent
    target = TARGETS[spec.model]
    problems += target.check(spec, points, data, source, shown, folder)
    if problems:
        raise ScenarioError(problems)
    assert points is not None  # built whenever the file had no problems before the target's check
    root = spec.seed if spec.seed is not None else target.root_seed(spec, folder)
    return LoadedSweep(spec, shown, folder, points, replicate_seeds(root, spec.replicates))


def _non_finite_problems(spec: SweepFile, points: list[list[Any]], data: Any, source: Any, file: str) -> list[Problem]:
    """A range or distribution whose design drew a value that is not a finite number.

    A range or distribution near the largest float (``1e308``) can draw ``inf`` (its
    width overflows) or ``nan``; refused before any run, at the key that gives it.
    """
    problems = []
    for index, parameter in enumerate(spec.parameters):
        column = [point[index] for point in points]
        bad = [value for value in column if isinstance(value, float) and not math.isfinite(value)]
        if bad:
            key = "range" if parameter.range is not None else "distribution"
            message = (
                f"expected a {key} whose every draw is a finite number, found {bad[0]} drawn at "
                f"{len(bad):,} of {len(column):,} points"
            )
            problems.append(problem_at(("parameters", index, key), message, data, source, file))
    return problems


def _size_problems(spec: SweepFile, spaces: Sequence[ParameterSpace], data: Any, source: Any, file: str) -> list[Problem]:
    """A sweep of more than :data:`MAX_RUNS` runs, at the key that makes it so.

    Counted by arithmetic (Python integers do not overflow), so a design of 10¹² points
    is refused at once instead of being built until memory runs out.
    """
    points = design_size(spec.design.kind, spaces, points=spec.design.points)
    runs = points * spec.replicates
    if runs <= MAX_RUNS:
        return []
    loc: KeyPath
    if points > MAX_RUNS:
        # The design alone is too large: a grid by its lists of values, lhs and sobol by their points.
        if spec.design.kind == "grid":
            loc, what = ("parameters",), "grid points (the product of the numbers of values)"
        elif spec.design.kind == "sobol":
            loc, what = ("design", "points"), f"sobol points ({spec.design.points:,} base points × {len(spaces) + 2})"
        else:
            loc, what = ("design", "points"), "lhs points"
        message = f"expected at most {MAX_RUNS:,} runs, found {points:,} {what}"
    else:
        loc = ("replicates",)
        message = (
            f"expected at most {MAX_RUNS:,} runs (points × replicates), "
            f"found {runs:,} ({points:,} points × {spec.replicates:,} replicates)"
        )
    return [problem_at(loc, message, data, source, file)]


# --------------------------------------------------------------------------- one task


def run_folder_name(point: int, replicate: int) -> str:
    """``<point>-<replicate>``, zero-padded so folders sort in run order."""
    return f"{point:06d}-{replicate:03d}"


def plan_tasks(loaded: LoadedSweep, store: Path) -> list[Task]:
    """Every (point, replicate) task of a sweep, point-major."""
    spec = loaded.spec
    base = str((loaded.folder / spec.base).resolve()) if spec.base is not None else None
    runs = (store / "runs").resolve()
    return [
        Task(
            model=spec.model,
            base=base,
            point=point,
            replicate=replicate,
            seed=seed,
            scale=spec.scale,
            params=dict(zip(loaded.paths, values)),
            measures=tuple(spec.measures),
            run_dir=str(runs / run_folder_name(point, replicate)),
        )
        for point, values in enumerate(loaded.points)
        for replicate, seed in enumerate(loaded.seeds)
    ]


def _select(measures: Mapping[str, float], patterns: Sequence[str]) -> tuple[dict[str, float], list[str]]:
    """The measures named (or matched by a glob), and the exact names the run lacked.

    An exact name a run lacks counts 0, as in :mod:`sim.run.compare` (no asylum
    claims: no backlog); a name no run can have was refused by :func:`load_sweep`,
    and one lacking from every run is a warning of the sweep.
    """
    if not patterns:
        return dict(sorted(measures.items())), []
    chosen: dict[str, float] = {}
    absent: list[str] = []
    for pattern in patterns:
        if _is_glob(pattern):
            chosen.update({name: value for name, value in measures.items() if fnmatch(name, pattern)})
        else:
            if pattern not in measures:
                absent.append(pattern)
            chosen[pattern] = float(measures.get(pattern, 0.0))
    return dict(sorted(chosen.items())), sorted(absent)


def run_task(task: Task) -> dict[str, Any]:
    """Evaluate one task, store its outputs, and return its row.

    A run that raises becomes a ``failed`` row carrying the error's type and message;
    it never stops the sweep.  ``row.json`` is written last, atomically: its presence
    marks the run complete.
    """
    from sim.run.sweep_store import write_run

    row: dict[str, Any] = {
        "point": task.point,
        "replicate": task.replicate,
        "seed": task.seed,
        "status": "ok",
        "error": None,
        "params": task.params,
        "measures": {},
    }
    began = time.perf_counter()
    daily = None
    try:
        evaluation = TARGETS[task.model].evaluate(task)
        row["measures"], absent = _select(evaluation.measures, task.measures)
        if absent:
            row["absent"] = absent
        daily = evaluation.daily
    except Exception as error:  # noqa: BLE001 - any failure of one run is recorded, not raised
        message = str(error).replace("\n", "; ")
        row["status"], row["error"] = "failed", f"{type(error).__name__}: {message}"
    row["wall_seconds"] = round(time.perf_counter() - began, 3)
    write_run(Path(task.run_dir), row, daily)
    return row


# --------------------------------------------------------------------------- a whole sweep


@dataclass
class SweepOutcome:
    """What a finished sweep did."""

    store: Path
    runs: int
    ran: int
    skipped: int
    failed: int
    wall_seconds: float
    summary: Path
    errors: list[str] = field(default_factory=list)
    warnings: list[str] = field(default_factory=list)

    def to_json(self) -> dict[str, Any]:
        """As JSON-able data."""
        data = asdict(self)
        data["store"], data["summary"] = str(self.store), str(self.summary)
        return data


def run_sweep(
    sweep: str | Path | LoadedSweep,
    out: str | Path,
    *,
    executor: str = "local",
    workers: int | None = None,
    scheduler: str | None = None,
    scale: float | None = None,
    resume: bool = False,
    force: bool = False,
    progress: Callable[[int, int, int], None] | None = None,
) -> SweepOutcome:
    """Run every task of a sweep and write its store.

    Parameters
    ----------
    sweep
        A sweep file or an already loaded sweep.
    out
        The store folder.
    executor
        ``local`` (a process pool) or ``dask`` (a dask.distributed cluster).
    workers
        Worker processes (default: every core); ignored with ``scheduler``.
    scheduler
        Address of a running dask scheduler, e.g. ``tcp://10.0.0.5:8786``.
    scale
        Replaces the sweep file's scale.
    resume
        Keep the runs already complete in ``out`` (same sweep only).
    force
        Delete an existing store in ``out`` first.
    progress
        ``progress(done, failed, total)`` after each run.

    Returns
    -------
    SweepOutcome
    """
    from sim.run.executors import execute, scheduler_address
    from sim.run.sweep_store import complete_runs, prepare_store, write_summary

    loaded = sweep if isinstance(sweep, LoadedSweep) else load_sweep(sweep, scale=scale)
    if scheduler is not None:
        scheduler_address(scheduler)  # refused before the store exists, so a retry needs no --resume
    store = Path(out)
    plan = loaded.plan()
    prepare_store(store, plan, resume=resume, force=force)
    tasks = plan_tasks(loaded, store)
    done = complete_runs(store)
    todo = [task for task in tasks if Path(task.run_dir).name not in done]
    skipped = len(tasks) - len(todo)
    failed = 0
    finished = skipped
    began = time.perf_counter()
    if progress is not None:
        progress(finished, failed, len(tasks))

    def on_row(row: dict[str, Any]) -> None:
        nonlocal failed, finished
        finished += 1
        failed += row["status"] != "ok"
        if progress is not None:
            progress(finished, failed, len(tasks))

    execute(run_task, todo, on_row, executor=executor, workers=workers, scheduler=scheduler)
    summary, rows = write_summary(store, plan)
    bad = [row for row in rows if row["status"] != "ok"]
    good = [row for row in rows if row["status"] == "ok"]
    never = sorted(set.intersection(*(set(row.get("absent", ())) for row in good))) if good else []
    # Names no run can have were refused before running; these the runs could have had.
    warnings = [f"measure {name!r} is absent from every run (counted as 0)" for name in never]
    return SweepOutcome(
        store=store,
        runs=len(tasks),
        ran=len(todo),
        skipped=skipped,
        failed=len(bad),
        wall_seconds=time.perf_counter() - began,
        summary=summary,
        errors=[f"point {row['point']} replicate {row['replicate']}: {row['error']}" for row in bad],
        warnings=warnings,
    )


def dumps_row(row: Mapping[str, Any]) -> str:
    """A row as the JSON text of ``row.json``."""
    return json.dumps(row, indent=1, sort_keys=True) + "\n"
