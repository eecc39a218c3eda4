"""Calibration targets: reported figures the model is measured against.

A targets file (``calibration/targets.yaml``) lists figures from the seed reports
and the press, each tied to one measure of ``daily.csv``::

    - id: fi-se-0921
      source: RBC; Iltalehti (reported-figures.md)
      quote: "Russians entering at the three SE crossings (Imatra, Nuijamaa, Vaalimaa) … 4,443 … 21 Sept"
      place: [imatra, nuijamaa, vaalimaa]
      measure: entries
      aggregate: daily
      date: 2022-09-21
      value: 4443
      tolerance: 0.10
      use: fit

What a target reads from a daily table (:func:`simulated_value`):

1. the rows of ``measure`` at the target's places, day by day, combined over the
   places: **summed** for counts of persons (``entries``, ``exits``, ``stock``, …),
   the **maximum** for queues and waits (the busiest crossing of the day);
2. then over the days: the day's value (``daily``), or the ``sum``, ``max`` or
   ``mean`` from ``from`` to ``until`` (both included).

A count missing from the table is 0; a wait is absent on days nobody was served
and such days are skipped (a wait target with no day served reads NaN).

How a run set is judged (:func:`score`): the reported band is ``value × (1 ±
tolerance)`` or the ``range``.  The *relative difference* is ``|median − value| /
value`` for a value, and for a range the distance from the median to the range
over the range's midpoint (0 inside).  A target is *covered* when the 90% band of
the simulated values (5th to 95th percentile) meets the reported band.
:func:`summarise` averages both over targets, by ``use`` (``fit`` or ``check``).

Files are read with the scenario reader's machinery
(:func:`sim.scenario.loading.read_yaml_file`), so a broken file gives one line
per problem, ``FILE:LINE:COL: targets.ID.key: expected …, found …``.
"""

from __future__ import annotations

import datetime as dt
import math
from collections.abc import Iterable, Mapping, Sequence
from dataclasses import dataclass, field
from pathlib import Path
from typing import Annotated, Any, Literal

import numpy as np
import pyarrow as pa
import pyarrow.compute as pc
from pydantic import BaseModel, ConfigDict, Field, ValidationError

from sim.scenario.errors import Problem, ScenarioError
from sim.run.daily_measures import LEVELS, WAITS, measures_of
from sim.scenario.loading import read_yaml_file
from sim.scenario.messages import KeyPath, Position, did_you_mean, problem_at, validation_problems
from sim.scenario.schema import Date, Float, Scenario, one_problem

__all__ = [
    "CROSSING_MEASURES",
    "COUNTRY_MEASURES",
    "HOME_MEASURES",
    "LEVEL_MEASURES",
    "Target",
    "TargetsFile",
    "LoadedTargets",
    "load_targets",
    "check_targets",
    "simulated_value",
    "simulated_values",
    "score",
    "score_all",
    "summarise",
    "format_report",
]

CROSSING_MEASURES = measures_of(place="crossing")
"""``daily.csv`` measures of a crossing."""
COUNTRY_MEASURES = measures_of(place="country")
"""``daily.csv`` measures of a destination country."""
HOME_MEASURES = measures_of(place="home")
"""``daily.csv`` measures of the home country."""
_WAITS = frozenset(WAITS)
LEVEL_MEASURES = frozenset(LEVELS + WAITS)
"""Measures combined over places by their maximum, and never summed over days."""

# The same names, in the same order, as one type for the schema: written once, above.
Measure = Literal[tuple(dict.fromkeys(CROSSING_MEASURES + COUNTRY_MEASURES + HOME_MEASURES))]  # type: ignore[valid-type]

_PLACE = r"^([a-z0-9][a-z0-9-]*|[A-Z]{2})$"


class _Strict(BaseModel):
    model_config = ConfigDict(extra="forbid", frozen=True, populate_by_name=True)


class Target(_Strict):
    """One reported figure and the model measure it is compared with."""

    id: str = Field(pattern=r"^[a-z0-9][a-z0-9-]*$", description="Identifier, lower-case with dashes.")
    source: str = Field(min_length=1, description="Seed file (seeds/…) or outlet and date, and who said it.")
    quote: str = Field(min_length=1, description="The reported words.")
    place: Annotated[str | list[str], one_problem("a crossing id or ISO code, or a list of them")] = Field(
        description="Crossing id or ISO code; a list is combined (counts summed, queues and waits: the maximum)."
    )
    measure: Measure = Field(description="A daily.csv measure.")
    aggregate: Literal["daily", "sum", "max", "mean"] = Field(description="How the days are combined.")
    date: Date | None = Field(None, description="The day, for aggregate: daily.")
    from_: Date | None = Field(None, alias="from", description="First day, for sum, max and mean.")
    until: Date | None = Field(None, description="Last day (included), for sum, max and mean.")
    value: Float | None = Field(None, gt=0, description="The reported value (with tolerance).")
    tolerance: Float | None = Field(None, gt=0, le=1, description="Relative tolerance around value, stated.")
    range: list[Float] | None = Field(
        None, min_length=2, max_length=2, description="[low, high] where the report gives one or reports disagree."
    )
    use: Literal["fit", "check"] = Field(description="fit: calibrate on it; check: judge against it only.")
    note: str | None = Field(None, description="Scope, caveats, why a range.")

    @property
    def places(self) -> list[str]:
        """The places as a list."""
        return [self.place] if isinstance(self.place, str) else list(self.place)

    @property
    def window(self) -> tuple[dt.date, dt.date]:
        """First and last day read (the same day for ``daily``)."""
        if self.aggregate == "daily":
            assert self.date is not None
            return self.date, self.date
        assert self.from_ is not None and self.until is not None
        return self.from_, self.until

    @property
    def band(self) -> tuple[float, float]:
        """The reported band: ``value × (1 ± tolerance)``, or the range."""
        if self.range is not None:
            return float(self.range[0]), float(self.range[1])
        assert self.value is not None and self.tolerance is not None
        return self.value * (1 - self.tolerance), self.value * (1 + self.tolerance)

    @property
    def reference(self) -> float:
        """The value, or the range's midpoint: what relative differences are relative to."""
        if self.range is not None:
            return (self.range[0] + self.range[1]) / 2
        assert self.value is not None
        return float(self.value)


class TargetsFile(_Strict):
    """A targets file."""

    description: str = Field(description="What the targets are for.")
    scenario: str = Field(description="The scenario file they are checked against, relative to this file.")
    targets: list[Target] = Field(min_length=1, description="The targets.")


def _target_problems(targets: TargetsFile) -> list[tuple[KeyPath, str]]:
    """Cross-field problems: unique ids, dates fitting the aggregate, value or range."""

    problems: list[tuple[KeyPath, str]] = []
    seen: dict[str, int] = {}
    for i, t in enumerate(targets.targets):
        at = ("targets", i)
        if t.id in seen:
            problems.append(((*at, "id"), f"expected unique ids, found {t.id!r} twice (first as item {seen[t.id]})"))
        seen.setdefault(t.id, i)
        if not t.places:
            problems.append(((*at, "place"), "expected at least one place, found an empty list"))
        if t.aggregate == "daily":
            if t.date is None:
                problems.append(((*at, "date"), "expected this key (aggregate: daily), found nothing"))
            for key, given in (("from", t.from_), ("until", t.until)):
                if given is not None:
                    problems.append(((*at, key), f"expected no {key} with aggregate: daily (use date), found {given}"))
        else:
            if t.date is not None:
                problems.append(((*at, "date"), f"expected from/until with aggregate: {t.aggregate}, found date"))
            for key, given in (("from", t.from_), ("until", t.until)):
                if given is None:
                    problems.append(((*at, key), f"expected this key (aggregate: {t.aggregate}), found nothing"))
            if t.from_ is not None and t.until is not None and t.until < t.from_:
                problems.append(((*at, "until"), f"expected a date on or after from ({t.from_}), found {t.until}"))
        if t.aggregate == "sum" and t.measure in LEVEL_MEASURES:
            problems.append(((*at, "aggregate"), f"expected daily, max or mean for {t.measure}, found sum"))
        if (t.value is None) == (t.range is None):
            found = "both" if t.value is not None else "neither"
            problems.append((at, f"expected either value (with tolerance) or range, found {found}"))
        if t.value is not None and t.tolerance is None:
            problems.append(((*at, "tolerance"), "expected this key (a relative tolerance for value), found nothing"))
        if t.range is not None and t.tolerance is not None:
            problems.append(((*at, "tolerance"), "expected no tolerance with a range, found one"))
        if t.range is not None and len(t.range) == 2:
            low, high = t.range
            if low < 0 or high < low or high <= 0:
                problems.append(((*at, "range"), f"expected [low, high] with 0 <= low <= high, high > 0, found [{low}, {high}]"))
    return problems


@dataclass(frozen=True)
class LoadedTargets:
    """A validated targets file and where each key was written.

    Attributes
    ----------
    file
        The validated model.
    path
        The file as the caller named it.
    source
        Key path -> ``(file, line, col)``.
    data
        The plain data validated.
    """

    file: TargetsFile
    path: str
    source: Mapping[KeyPath, Position] = field(repr=False)
    data: Any = field(repr=False)

    @property
    def targets(self) -> list[Target]:
        return self.file.targets

    def scenario_path(self) -> Path:
        """The scenario the targets name, resolved next to the targets file."""
        return Path(self.path).parent / self.file.scenario

    def problem(self, loc: KeyPath, message: str) -> Problem:
        return problem_at(loc, message, self.data, self.source, self.path)


def load_targets(path: str | Path) -> LoadedTargets:
    """Read and validate a targets file.

    Raises
    ------
    ScenarioError
        With every problem, one line each (``FILE:LINE:COL: key.path: expected …, found …``).
    """

    shown = str(path)
    data, source = read_yaml_file(path, "targets")
    try:
        parsed = TargetsFile.model_validate(data)
    except ValidationError as error:
        raise ScenarioError(validation_problems(error, data, source, shown, root=TargetsFile)) from None
    loaded = LoadedTargets(parsed, shown, source, data)
    problems = [loaded.problem(loc, message) for loc, message in _target_problems(parsed)]
    if problems:
        raise ScenarioError(problems)
    return loaded


def check_targets(targets: LoadedTargets | TargetsFile | Sequence[Target], scenario: Scenario) -> list[Problem]:
    """Problems of targets against a scenario's outputs: unknown places, measures a place
    does not have, days outside the simulated period.

    Parameters
    ----------
    targets
        Loaded targets (problems then carry file positions) or targets alone.
    scenario
        The validated scenario whose ``daily.csv`` the targets read.

    Returns
    -------
    list of Problem
        Empty when every target resolves.
    """

    loaded = targets if isinstance(targets, LoadedTargets) else None
    if isinstance(targets, LoadedTargets):
        items = targets.targets
    elif isinstance(targets, TargetsFile):
        items = targets.targets
    else:
        items = list(targets)

    def problem(loc: KeyPath, message: str) -> Problem:
        if loaded is not None:
            return loaded.problem(loc, message)
        label = items[loc[1]].id if len(loc) > 1 and isinstance(loc[1], int) else ""
        return Problem("<targets>", 0, 0, ".".join(str(s) for s in ("targets", label, *loc[2:])), message)

    crossings = {c.id for c in scenario.crossings}
    countries = {c.iso for c in scenario.countries}
    asylum = {p.country for p in scenario.policies if p.kind == "asylum"}
    kinds: dict[str, str] = {**{c: "crossing" for c in crossings}, **{c: "country" for c in countries}, scenario.home: "home"}
    measures = {"crossing": CROSSING_MEASURES, "country": COUNTRY_MEASURES, "home": HOME_MEASURES}
    start, end = scenario.period.start, scenario.period.end
    problems: list[Problem] = []
    for i, t in enumerate(items):
        at: KeyPath = ("targets", i)
        found_kinds = set()
        for j, place in enumerate(t.places):
            where = (*at, "place", j) if isinstance(t.place, list) else (*at, "place")
            kind = kinds.get(place)
            if kind is None:
                hint = did_you_mean(place, sorted(kinds))
                problems.append(problem(where, f"expected a crossing id or country code of {scenario.name}, found {place!r}{hint}"))
                continue
            found_kinds.add(kind)
            if t.measure not in measures[kind]:
                problems.append(
                    problem((*at, "measure"), f"expected a measure of a {kind} ({', '.join(measures[kind])}), found {t.measure!r} for {place}")
                )
            elif t.measure.startswith("asylum_") and place not in asylum:
                problems.append(problem((*at, "measure"), f"expected a country with an asylum policy for {t.measure}, found {place}"))
        if len(found_kinds) > 1:
            problems.append(problem((*at, "place"), f"expected places of one kind, found {' and '.join(sorted(found_kinds))}s"))
        for key, day in (("date", t.date), ("from", t.from_), ("until", t.until)):
            if day is not None and not start <= day <= end:
                problems.append(problem((*at, key), f"expected a day of the period {start} to {end}, found {day}"))
    return problems


# --------------------------------------------------------------------------- reading a run


def simulated_value(target: Target, daily: pa.Table) -> float:
    """What ``target`` reads from one run's daily table (see the module docstring).

    Parameters
    ----------
    target
        The target.
    daily
        A run's tidy daily table (``date, place, measure, value``), e.g. ``Result.daily``.

    Returns
    -------
    float
        At full scale for counts; NaN only for a wait with no day served in the window.
    """

    first, last = target.window
    mask = pc.and_(
        pc.and_(pc.equal(daily["measure"], target.measure), pc.is_in(daily["place"], value_set=pa.array(target.places))),
        pc.and_(pc.greater_equal(daily["date"], first.isoformat()), pc.less_equal(daily["date"], last.isoformat())),
    )
    rows = daily.filter(mask)
    level = target.measure in LEVEL_MEASURES
    by_day: dict[str, float] = {}
    for date, value in zip(rows["date"].to_pylist(), rows["value"].to_pylist()):
        by_day[date] = max(by_day.get(date, -math.inf), value) if level else by_day.get(date, 0.0) + value
    days = [(first + dt.timedelta(days=d)).isoformat() for d in range((last - first).days + 1)]
    if target.measure in _WAITS:
        values = [by_day[d] for d in days if d in by_day]  # no one served: no wait that day
    else:
        values = [by_day.get(d, 0.0) for d in days]
    if not values:
        return math.nan
    if target.aggregate in ("daily", "max"):
        return float(max(values))
    if target.aggregate == "sum":
        return float(sum(values))
    return float(sum(values) / len(values))


def simulated_values(targets: Iterable[Target], dailies: Sequence[pa.Table]) -> dict[str, np.ndarray]:
    """``{target id: its value in each run}`` over several runs (replicates)."""
    return {t.id: np.array([simulated_value(t, daily) for daily in dailies], dtype=float) for t in targets}


# --------------------------------------------------------------------------- scoring


def score(target: Target, values: Sequence[float] | np.ndarray) -> dict[str, Any]:
    """How the simulated values of one target compare with the report.

    Parameters
    ----------
    target
        The target.
    values
        Its simulated value in each run (NaNs are dropped).

    Returns
    -------
    dict
        ``id``, ``use``, ``n`` (finite values), ``median``, ``low`` and ``high``
        (5th and 95th percentiles: the 90% band), ``reported_low``,
        ``reported_high`` (the reported band), ``reference`` (value or midpoint),
        ``relative_difference``, ``covered`` (the 90% band meets the reported
        band), ``median_inside`` (the median lies in the reported band: a stricter
        test than coverage, which a wide band passes with few runs in range) and
        ``runs_inside`` (the share of runs in the reported band).  With no finite
        value: NaN median, difference and share, not covered, not inside.
    """

    array = np.asarray(values, dtype=float)
    array = array[np.isfinite(array)]
    reported_low, reported_high = target.band
    reference = target.reference
    result: dict[str, Any] = {
        "id": target.id,
        "use": target.use,
        "n": int(array.size),
        "reported_low": reported_low,
        "reported_high": reported_high,
        "reference": reference,
    }
    if array.size == 0:
        return {
            **result, "median": math.nan, "low": math.nan, "high": math.nan, "relative_difference": math.nan,
            "covered": False, "median_inside": False, "runs_inside": math.nan,
        }
    median = float(np.median(array))
    low, high = (float(q) for q in np.quantile(array, [0.05, 0.95]))
    if target.range is not None:
        distance = max(reported_low - median, median - reported_high, 0.0)
    else:
        distance = abs(median - reference)
    return {
        **result,
        "median": median,
        "low": low,
        "high": high,
        "relative_difference": distance / reference,
        "covered": bool(low <= reported_high and high >= reported_low),
        "median_inside": bool(reported_low <= median <= reported_high),
        "runs_inside": float(np.mean((array >= reported_low) & (array <= reported_high))),
    }


def score_all(targets: Iterable[Target], dailies: Sequence[pa.Table]) -> list[dict[str, Any]]:
    """:func:`score` of every target over the daily tables of several runs."""
    values = simulated_values(list(targets), dailies)
    return [score(t, values[t.id]) for t in targets]


def summarise(scores: Sequence[Mapping[str, Any]]) -> dict[str, dict[str, float]]:
    """The overall report: per ``use`` (``fit``, ``check``) and for ``all``, the number of
    targets, the mean relative difference, the share of targets covered, and the share
    whose median lies in the reported band (``medians_inside``).

    Targets without a finite value count as not covered and are left out of the
    mean difference (``unresolved`` counts them).
    """

    groups = {"fit": [s for s in scores if s["use"] == "fit"], "check": [s for s in scores if s["use"] == "check"], "all": list(scores)}
    report: dict[str, dict[str, float]] = {}
    for name, group in groups.items():
        differences = [s["relative_difference"] for s in group if math.isfinite(s["relative_difference"])]
        report[name] = {
            "targets": len(group),
            "mean_relative_difference": float(np.mean(differences)) if differences else math.nan,
            "coverage": float(np.mean([bool(s["covered"]) for s in group])) if group else math.nan,
            "medians_inside": float(np.mean([bool(s["median_inside"]) for s in group])) if group else math.nan,
            "unresolved": len(group) - len(differences),
        }
    return report


def format_report(scores: Sequence[Mapping[str, Any]]) -> str:
    """A plain-text table of the scores and the summary."""

    def number(x: float) -> str:
        return f"{x:,.0f}" if not math.isfinite(x) or abs(x) >= 100 else f"{x:.1f}"

    lines = [
        f"{'target':<28} {'use':<5} {'reported':>19} {'median':>10} {'90% band':>21} {'rel.diff':>8}  covered"
        "  runs in range"
    ]
    for s in scores:
        reported = f"{number(s['reported_low'])}–{number(s['reported_high'])}"
        band = f"{number(s['low'])}–{number(s['high'])}"
        inside = f"{s['runs_inside']:.0%}" if math.isfinite(s["runs_inside"]) else "n/a"
        lines.append(
            f"{s['id']:<28} {s['use']:<5} {reported:>19} {number(s['median']):>10} {band:>21} "
            f"{s['relative_difference']:>8.2f}  {'yes' if s['covered'] else 'no':<7}  {inside}"
        )
    for name, row in summarise(scores).items():
        lines.append(
            f"{name}: {row['targets']} targets, mean relative difference {row['mean_relative_difference']:.3f}, coverage"
            f" {row['coverage']:.2f}, medians in the reported range {row['medians_inside']:.2f}"
        )
    return "\n".join(lines)
