"""Summaries of a finished sweep: what each point did, and which parameters matter.

The idea: everything is computed from the store alone (``sweep.json`` and
``summary.parquet``), so a sweep run on a cluster is summarised anywhere.

* ``points.csv``: per point and measure, the mean over the replicates that
  completed and a 95% t-interval (none from a single replicate);
* ``sobol.csv`` and ``sobol.png`` (sobol designs only): first-order and total
  Sobol indices with their 95% bootstrap confidence intervals
  (:func:`SALib.analyze.sobol.analyze`), per measure, of the replicate means;
* ``response.png`` (grid and lhs designs): each measure against each numeric
  parameter, the replicate means of every point.
"""

from __future__ import annotations

import math
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import numpy as np
import pyarrow.parquet as pq
from scipy import stats

from sim.run.store import write_file_atomic
from sim.run.sweep_store import SUMMARY, read_plan
from sim.scenario.errors import UsageError

__all__ = ["SweepSummary", "summarise"]

_RUN_COLUMNS = ("point", "replicate", "seed", "status", "error")
#: Most measures drawn in one figure (one panel each).
MAX_PANELS = 4


@dataclass
class SweepSummary:
    """A summarised sweep.

    Attributes
    ----------
    name, design
        The sweep's name and design kind.
    runs, failed
        Runs in the summary and how many of them failed.
    points
        Rows of ``points.csv``: point, parameters, measure, replicates, mean, ci_low, ci_high.
    sobol
        Rows of ``sobol.csv`` (sobol designs): measure, parameter, S1, S1_conf, ST, ST_conf.
    files
        What was written.
    errors
        ``point/replicate: error`` of each failed run.
    """

    name: str
    design: str
    runs: int
    failed: int
    points: list[dict[str, Any]]
    sobol: list[dict[str, Any]] = field(default_factory=list)
    files: list[Path] = field(default_factory=list)
    errors: list[str] = field(default_factory=list)
    notes: list[str] = field(default_factory=list)

    def sobol_index(self, measure: str, parameter: str) -> dict[str, Any]:
        """The Sobol row of one measure and parameter."""
        for row in self.sobol:
            if row["measure"] == measure and row["parameter"] == parameter:
                return row
        raise KeyError((measure, parameter))


def _text(value: Any) -> str:
    if value is None:
        return ""
    if isinstance(value, float):
        return "" if math.isnan(value) else f"{value:.10g}"
    text = str(value)
    return f'"{text}"' if any(ch in text for ch in ',"\n') else text


def _csv(rows: list[dict[str, Any]], fields: list[str]) -> str:
    lines = [",".join(fields)]
    lines += [",".join(_text(row.get(f)) for f in fields) for row in rows]
    return "\n".join(lines) + "\n"


def _interval(values: np.ndarray) -> tuple[float, float, float]:
    n = len(values)
    if n == 0:
        return math.nan, math.nan, math.nan
    mean = float(values.mean())
    if n < 2:
        return mean, math.nan, math.nan
    half = float(stats.t.ppf(0.975, n - 1) * values.std(ddof=1) / math.sqrt(n))
    return mean, mean - half, mean + half


def summarise(store: str | Path, *, figures: bool = True) -> SweepSummary:
    """Summarise a sweep store and write ``points.csv`` (and ``sobol.csv``, figures) into it.

    Parameters
    ----------
    store
        A store written by :func:`sim.run.sweep.run_sweep`.
    figures
        Also draw ``sobol.png`` / ``response.png``.
    """
    store = Path(store)
    plan = read_plan(store)
    if not (store / SUMMARY).is_file():
        raise UsageError(f"{store}: expected a finished sweep (with {SUMMARY}), found none; run the sweep with --resume to finish it")
    table = pq.read_table(store / SUMMARY)
    data = table.to_pydict()
    sweep = plan["sweep"]
    parameters: list[str] = plan["parameters"]
    measures = [name for name in table.column_names if name not in _RUN_COLUMNS and not name.startswith("param.")]
    statuses = data["status"]
    ok = np.array([status == "ok" for status in statuses])
    point_ids = np.array(data["point"], dtype=np.int64)
    summary = SweepSummary(
        name=sweep["name"],
        design=sweep["design"]["kind"],
        runs=len(statuses),
        failed=int((~ok).sum()),
        points=[],
        errors=[
            f"point {p} replicate {r}: {e}"
            for p, r, s, e in zip(data["point"], data["replicate"], statuses, data["error"])
            if s != "ok"
        ],
    )
    # Replicate means per point and measure (NaN where no replicate completed).
    n_points = len(plan["points"])
    means = {name: np.full(n_points, np.nan) for name in measures}
    for point in range(n_points):
        rows = (point_ids == point) & ok
        values_at = dict(zip(parameters, plan["points"][point]))
        for name in measures:
            column = np.array([v for v, keep in zip(data[name], rows) if keep], dtype=float)
            mean, low, high = _interval(column)
            means[name][point] = mean
            summary.points.append(
                {
                    "point": point,
                    **{f"param.{path}": values_at[path] for path in parameters},
                    "measure": name,
                    "replicates": len(column),
                    "mean": mean,
                    "ci_low": low,
                    "ci_high": high,
                }
            )
    fields = ["point", *(f"param.{p}" for p in parameters), "measure", "replicates", "mean", "ci_low", "ci_high"]
    path = store / "points.csv"
    write_file_atomic(path, _csv(summary.points, fields))
    summary.files.append(path)
    if summary.design == "sobol":
        _sobol(summary, store, plan, measures, means, figures)
    elif figures and measures:
        summary.files += _response_figure(store, plan, measures, means)
    return summary


def _sobol(
    summary: SweepSummary,
    store: Path,
    plan: dict[str, Any],
    measures: list[str],
    means: dict[str, np.ndarray],
    figures: bool,
) -> None:
    from SALib.analyze import sobol

    from sim.run.designs import sobol_problem

    parameters = plan["parameters"]
    problem = sobol_problem(parameters)
    seed = int(plan["sweep"]["design"].get("seed", 0))
    for name in measures:
        y = means[name]
        if not np.all(np.isfinite(y)):
            summary.notes.append(f"{name}: no Sobol indices (some points have no completed run)")
            continue
        if float(np.var(y)) == 0.0:
            summary.notes.append(f"{name}: no Sobol indices (the same value at every point)")
            continue
        result = sobol.analyze(problem, y, calc_second_order=False, print_to_console=False, seed=seed)
        for i, parameter in enumerate(parameters):
            summary.sobol.append(
                {
                    "measure": name,
                    "parameter": parameter,
                    "S1": float(result["S1"][i]),
                    "S1_conf": float(result["S1_conf"][i]),
                    "ST": float(result["ST"][i]),
                    "ST_conf": float(result["ST_conf"][i]),
                }
            )
    path = store / "sobol.csv"
    write_file_atomic(path, _csv(summary.sobol, ["measure", "parameter", "S1", "S1_conf", "ST", "ST_conf"]))
    summary.files.append(path)
    if figures and summary.sobol:
        summary.files += _sobol_figure(store, plan, summary.sobol)


def _subtitle(plan: dict[str, Any], note: str) -> str:
    sweep = plan["sweep"]
    what = f"model {sweep.get('model', 'crossings')}" if sweep.get("model", "crossings") != "crossings" else f"base {sweep.get('base')}"
    replicates = len(plan["seeds"])
    text = f"Sweep {sweep['name']} ({what}): {len(plan['points'])} points × {replicates} replicate{'s' * (replicates > 1)}"
    return f"{text}  ·  {note}" if note else text


def _source(plan: dict[str, Any]) -> str:
    from sim.run.api import package_version

    sweep = plan["sweep"]
    scale = sweep.get("scale")
    return (
        f"Source: crossings {package_version()} sweep {sweep['name']}, {sweep['design']['kind']} design, "
        f"design seed {sweep['design'].get('seed', 0)}" + (f", scale {scale:g}" if scale is not None else "")
    )


def _sobol_figure(store: Path, plan: dict[str, Any], rows: list[dict[str, Any]]) -> list[Path]:
    from sim.report.style import OKABE_ITO, new_figure, finish

    every = list(dict.fromkeys(row["measure"] for row in rows))
    names = every[:MAX_PANELS]
    parameters = plan["parameters"]
    fig, axes = new_figure(
        "Which parameters drive each measure",
        _subtitle(plan, "whiskers: 95% intervals" + _shown(names, every)),
        nrows=len(names),
        sharex=True,
    )
    x = np.arange(len(parameters))
    width = 0.38
    for ax, name in zip(axes, names):
        mine = {row["parameter"]: row for row in rows if row["measure"] == name}
        for offset, key, colour, hatch, label in (
            (-width / 2, "S1", OKABE_ITO["blue"], None, "First order (S1)"),
            (width / 2, "ST", OKABE_ITO["vermillion"], "//", "Total (ST)"),
        ):
            values = [mine[p][key] for p in parameters]
            errors = [mine[p][f"{key}_conf"] for p in parameters]
            ax.bar(x + offset, values, width, yerr=errors, color=colour, hatch=hatch, edgecolor="white",
                   error_kw={"ecolor": "#333333", "capsize": 2, "linewidth": 0.8}, label=label)
        ax.set_title(name, loc="left", fontsize=9)
        ax.set_ylabel("Sobol index (share of variance)")
        ax.set_xticks(x, parameters)
        ax.axhline(0, color="#333333", linewidth=0.6)
    axes[-1].set_xlabel("Parameter (override path)")
    return finish(fig, axes, source=_source(plan), path_stem=store / "sobol")


def _response_figure(store: Path, plan: dict[str, Any], measures: list[str], means: dict[str, np.ndarray]) -> list[Path]:
    from sim.report.style import new_figure, finish, series_style

    parameters = plan["parameters"]
    points = plan["points"]
    numeric = [i for i, _ in enumerate(parameters) if all(isinstance(p[i], (int, float)) and not isinstance(p[i], bool) for p in points)]
    if not numeric:
        return []
    first = numeric[0]
    names = measures[:MAX_PANELS]
    others = [i for i in range(len(parameters)) if i != first]
    fig, axes = new_figure(
        "Response of each measure to the swept parameters",
        _subtitle(plan, "replicate means" + _shown(names, measures)),
        nrows=len(names),
        sharex=True,
    )
    # One line per combination of the other parameters (a grid), or scattered points (lhs).
    groups: dict[tuple[Any, ...], list[int]] = {}
    for index, values in enumerate(points):
        groups.setdefault(tuple(values[i] for i in others), []).append(index)
    grid = plan["sweep"]["design"]["kind"] == "grid" and len(groups) <= 8
    for ax, name in zip(axes, names):
        if grid:
            for g, (key, indexes) in enumerate(groups.items()):
                indexes = sorted(indexes, key=lambda j: points[j][first])
                label = ", ".join(f"{parameters[i]}={v}" for i, v in zip(others, key)) or name
                ax.plot([points[j][first] for j in indexes], [means[name][j] for j in indexes], label=label, **series_style(g))
        else:
            ax.plot([p[first] for p in points], means[name], linestyle="none", label="point (replicate mean)", **{
                k: v for k, v in series_style(0).items() if k != "linestyle"})
        ax.set_title(name, loc="left", fontsize=9)
        ax.set_ylabel(_unit(name))
    axes[-1].set_xlabel(f"{parameters[first]} (as in the scenario)")
    return finish(fig, axes, source=_source(plan), path_stem=store / "response")


def _shown(names: list[str], every: list[str]) -> str:
    """A subtitle note when the figure leaves measures out (all are in the CSV)."""
    return "" if len(names) == len(every) else f"  ·  first {len(names)} of {len(every)} measures (all in the CSV)"


def _unit(measure: str) -> str:
    kind = measure.split(".", 1)[0]
    if kind.startswith("wait_hours"):
        return "Hours"
    if kind.startswith("queue_vehicles"):
        return "Vehicles"
    if kind in ("y",):
        return "y (dimensionless)"
    return "Persons (full scale)"
