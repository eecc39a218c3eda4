"""Summaries of a finished sweep: what each point did, and which parameters matter.

The idea: everything is computed from the store alone (``sweep.json`` and
``summary.parquet``), so a sweep run on a cluster is summarised anywhere.

* ``points.csv``: per point and measure, the mean over the replicates that
  completed and a 95% t-interval (none from a single replicate);
* ``sobol.csv`` and ``sobol.png`` (sobol designs only): first-order and total
  Sobol indices with their 95% bootstrap confidence intervals
  (:func:`SALib.analyze.sobol.analyze`), per measure, of the replicate means;
* ``response.png`` (grid and lhs designs): each measure against the first numeric
  parameter, the replicate means of every point;
* ``tornado.png``: per measure, the swing between each parameter's low and high
  settings (:mod:`sim.report.sweeps` draws the figures).
"""

from __future__ import annotations

import math
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import numpy as np
import pyarrow as pa
import pyarrow.parquet as pq
from scipy import stats

from sim.report.sweeps import response_figure, sobol_figure, tornado_figure
from sim.run.api import package_version
from sim.run.store import write_file_atomic
from sim.run.sweep_store import SUMMARY, read_plan
from sim.scenario.errors import UsageError

__all__ = ["SweepSummary", "summarise"]

_RUN_COLUMNS = ("point", "replicate", "seed", "status", "error")


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
    notes
        Why a measure has no Sobol indices.
    means
        Per measure, the replicate mean of every point (NaN where no run completed).
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
    means: dict[str, np.ndarray] = field(default_factory=dict)

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


def _read_summary(path: Path) -> pa.Table:
    """The store's ``summary.parquet``; a damaged one is a :class:`UsageError` naming it.

    The sweep writes it atomically from the row files, so a file that does not read
    was damaged afterwards; ``--resume`` rebuilds it from the rows.
    """
    again = "run the sweep again with --resume to rebuild it"
    try:
        table = pq.read_table(path)
    except (pa.ArrowInvalid, OSError) as error:
        # pyarrow names the file again ("Could not open Parquet input source '…': …"): keep what it found.
        detail = str(error).splitlines()[0].rsplit("': ", 1)[-1] if str(error) else type(error).__name__
        raise UsageError(
            f"{path}: expected the summary table written by crossings sweep (Parquet), found a damaged file ({detail}); {again}"
        ) from None
    missing = [name for name in _RUN_COLUMNS if name not in table.column_names]
    if missing:
        raise UsageError(f"{path}: expected the columns {', '.join(_RUN_COLUMNS)}, found no {', '.join(missing)}; {again}")
    for column in table.schema:
        measure = column.name not in _RUN_COLUMNS and not column.name.startswith("param.")
        numeric = pa.types.is_floating(column.type) or pa.types.is_integer(column.type) or pa.types.is_null(column.type)
        if measure and not numeric:
            raise UsageError(f"{path}: {column.name}: expected a measure (numbers), found a column of {column.type}; {again}")
    return table


def summarise(store: str | Path, *, figures: bool = True) -> SweepSummary:
    """Summarise a sweep store and write ``points.csv`` (and ``sobol.csv``, figures) into it.

    Parameters
    ----------
    store
        A store written by :func:`sim.run.sweep.run_sweep`.
    figures
        Also draw ``sobol.png`` / ``response.png``.

    Raises
    ------
    UsageError
        If the store is unfinished, or its ``sweep.json`` or ``summary.parquet`` is damaged.
    """
    store = Path(store)
    plan = read_plan(store)
    if not (store / SUMMARY).is_file():
        raise UsageError(f"{store}: expected a finished sweep (with {SUMMARY}), found none; run the sweep with --resume to finish it")
    table = _read_summary(store / SUMMARY)
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
        summary.files += response_figure(plan, measures, means, store / "response", version=package_version())
    if figures and measures:
        summary.files += tornado_figure(plan, measures, means, store / "tornado", version=package_version())
    summary.means = means
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
        summary.files += sobol_figure(plan, summary.sobol, store / "sobol", version=package_version())
