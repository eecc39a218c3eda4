"""The memo's key findings: a table of numbers with 95% intervals, from replicate runs.

Each row is one run measure (:mod:`sim.run.measures`, e.g. ``entries.KZ``), in
persons at full scale or in hours; each column a scenario (its mean over the
replicates with a 95% t-interval) or, for every policy, the paired difference
policy − baseline (replicate ``r`` of both ran with the same seed) with its 95%
t-interval (:func:`sim.run.compare.difference`).  The rows:

* **entries** into each country over the period (every country anybody entered);
* **peak waits**: the highest daily 90th-percentile wait at the crossings where it
  was highest (up to :data:`MAX_WAIT_ROWS`);
* **stopped or stranded**: persons turned back or mobilised at the exit, those who
  stopped trying after a refusal, a closure or a queue given up, those with no
  route, and those still queued or on the road at the end (states of
  ``manifest.json``); rows that are zero in every run are named, not shown;
* **asylum backlog**: claims not yet decided at the end, and the peak, by country.

A scenario's interval is cut at 0 (no count or wait is negative); a difference's is not.

:func:`findings_csv` writes the same numbers (full precision) as ``findings.csv``,
so every number in the memo can be traced to the runs it came from.
"""

from __future__ import annotations

import csv
import io
import math
from collections.abc import Mapping, Sequence
from dataclasses import dataclass

import numpy as np
from scipy import stats

from sim.run.compare import difference

__all__ = ["Cell", "Row", "Findings", "findings", "findings_csv", "mean_interval", "format_value", "MAX_WAIT_ROWS"]

#: Most crossings listed under peak waits.
MAX_WAIT_ROWS = 5

_STOPPED = (
    ("people.turned_back", "Turned back at the exit (screening)"),
    ("people.mobilised", "Mobilised at the exit (screening)"),
    ("people.refused_home", "Refused entry, then stopped trying"),
    ("people.turned_away_home", "Turned away by a closure, then stopped trying"),
    ("people.gave_up_home", "Gave up queueing, then stopped trying"),
    ("people.no_route_home", "Stayed home: no crossing they could or would use"),
    ("people.queued", "Still queued at a crossing at the end"),
    ("people.travelling", "Still on the road at the end"),
)


@dataclass(frozen=True)
class Cell:
    """One number of the table: a mean (or mean difference) and its 95% interval over ``n`` replicates."""

    mean: float
    low: float
    high: float
    n: int


@dataclass(frozen=True)
class Row:
    """One measure across the scenarios, and the policies' differences from the baseline."""

    section: str
    measure: str
    label: str
    unit: str
    scenarios: tuple[Cell, ...]
    differences: tuple[Cell, ...]


@dataclass(frozen=True)
class Findings:
    """The table: rows by section, the scenario names (baseline first), and what was left out and why."""

    names: tuple[str, ...]
    rows: tuple[Row, ...]
    notes: tuple[str, ...]

    def sections(self) -> list[str]:
        """Section names in order."""
        return list(dict.fromkeys(row.section for row in self.rows))


def mean_interval(values: Sequence[float], *, nonnegative: bool = True) -> Cell:
    """Mean and 95% t-interval of replicate values (NaN bounds from one replicate).

    Every quantity in the table is a count or a duration, never negative, so by
    default the interval is cut at 0 (a t-interval from a few replicates of a small,
    skewed quantity can reach below it).
    """
    x = np.asarray(values, dtype=float)
    n = len(x)
    mean = float(x.mean())
    if n < 2:
        return Cell(mean, math.nan, math.nan, n)
    half = float(stats.t.ppf(0.975, n - 1) * x.std(ddof=1) / math.sqrt(n))
    low = max(mean - half, 0.0) if nonnegative else mean - half
    return Cell(mean, low, mean + half, n)


def findings(
    names: Sequence[str],
    measures: Sequence[Sequence[Mapping[str, float]]],
    country_names: Mapping[str, str],
) -> Findings:
    """The key findings of runs of several scenarios.

    Parameters
    ----------
    names
        Scenario names, the baseline first.
    measures
        Per scenario, per replicate, the run's measures (:func:`sim.run.measures.summary_measures`);
        replicate ``r`` of every scenario ran with the same seed.
    country_names
        ISO code -> name, for the labels.
    """
    if len(names) != len(measures) or not names:
        raise ValueError("expected one list of replicate measures per scenario")
    replicates = {len(runs) for runs in measures}
    if len(replicates) != 1:
        raise ValueError(f"expected the same number of replicates for every scenario, found {sorted(replicates)}")

    def values(name: str, s: int) -> list[float]:
        return [float(run.get(name, 0.0)) for run in measures[s]]

    def row(section: str, measure: str, label: str, unit: str) -> Row:
        cells = tuple(mean_interval(values(measure, s)) for s in range(len(names)))
        diffs = []
        for s in range(1, len(names)):
            d = difference(measure, values(measure, 0), values(measure, s))
            diffs.append(Cell(d.difference, d.ci_low, d.ci_high, d.replicates))
        return Row(section, measure, label, unit, cells, tuple(diffs))

    every = sorted(set().union(*(run.keys() for runs in measures for run in runs)))

    def anywhere(measure: str) -> float:
        return max(abs(v) for s in range(len(names)) for v in values(measure, s))

    rows: list[Row] = []
    notes: list[str] = []
    countries = [m.split(".", 1)[1] for m in every if m.startswith("entries.") and len(m.split(".", 1)[1]) == 2
                 and m.split(".", 1)[1].isupper() and anywhere(m) > 0]
    base_mean = {c: float(np.mean(values(f"entries.{c}", 0))) for c in countries}
    for c in sorted(countries, key=lambda c: (-base_mean[c], c)):
        rows.append(row("Entries over the period", f"entries.{c}", f"{country_names.get(c, c)} ({c})", "persons"))

    waits = [m for m in every if m.startswith("wait_hours_p90_max.") and anywhere(m) > 0]
    peak = {m: max(float(np.mean(values(m, s))) for s in range(len(names))) for m in waits}
    chosen = sorted(waits, key=lambda m: (-peak[m], m))[:MAX_WAIT_ROWS]
    for m in chosen:
        rows.append(row("Peak wait (90th percentile, worst day)", m, m.split(".", 1)[1], "hours"))
    if len(waits) > len(chosen):
        notes.append(f"Peak waits: the {len(chosen)} crossings with the longest of {len(waits)} with a wait.")

    zero = []
    for measure, label in _STOPPED:
        if anywhere(measure) > 0:
            rows.append(row("Stopped or stranded", measure, label, "persons"))
        else:
            zero.append(label.lower())
    if zero:
        notes.append("Zero in every run: " + "; ".join(zero) + ".")

    backlog = [m for m in every if m.startswith("asylum_backlog_end.") and anywhere(m.replace("_end.", "_max.")) > 0]
    for m in sorted(backlog):
        iso = m.split(".", 1)[1]
        rows.append(row("Asylum backlog", m, f"{country_names.get(iso, iso)} ({iso}), at the end", "persons"))
        rows.append(row("Asylum backlog", m.replace("_end.", "_max."), f"{country_names.get(iso, iso)} ({iso}), peak",
                        "persons"))
    if not backlog:
        notes.append("No asylum claims in any run.")
    return Findings(tuple(names), tuple(rows), tuple(notes))


def format_value(value: float, unit: str, *, signed: bool = False) -> str:
    """A number as the memo prints it: persons to the unit with separators, hours to a tenth."""
    if not math.isfinite(value):
        return "n/a"
    text = f"{value:{'+' if signed else ''},.1f}" if unit == "hours" else f"{value:{'+' if signed else ''},.0f}"
    # "-0" and "+0" read as noise: a zero is a zero.
    return "0" if text.strip("+-").replace(",", "").replace(".", "").strip("0") == "" else text


def findings_csv(table: Findings) -> str:
    """``findings.csv``: one line per row and column, numbers at full precision."""
    buffer = io.StringIO()
    writer = csv.writer(buffer, lineterminator="\n")
    writer.writerow(["section", "measure", "label", "unit", "column", "mean", "ci_low", "ci_high", "replicates"])
    columns = list(table.names) + [f"{name} - {table.names[0]}" for name in table.names[1:]]
    for row in table.rows:
        for column, cell in zip(columns, [*row.scenarios, *row.differences]):
            numbers = ("" if not math.isfinite(x) else repr(float(x)) for x in (cell.mean, cell.low, cell.high))
            writer.writerow([row.section, row.measure, row.label, row.unit, column, *numbers, cell.n])
    return buffer.getvalue()
