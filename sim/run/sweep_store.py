"""The sweep store: a folder that is complete run by run, never half-written.

Layout of a store::

    sweep.json                the plan: the sweep file as validated, the points, the seeds
    runs/<point>-<replicate>/ daily.parquet (simulation runs) and row.json, written last
    summary.parquet           one row per point × replicate, rebuilt from the row files

Every file is written atomically (:mod:`sim.run.store`), and ``row.json`` goes last,
so its presence marks a run complete: a killed sweep leaves only runs that are
either complete or visibly not, and ``--resume`` redoes exactly the latter.  The
summary is removed when a sweep starts and rebuilt from the row files, sorted by
(point, replicate), when it ends: it never describes an unfinished sweep, and it
is byte-identical whatever order the runs finished in and whichever executor ran them.

A ``row.json`` that is not a valid row of its run (see :func:`complete_runs`) counts
as a run not done, and ``--resume`` runs it again; a damaged ``sweep.json`` is refused
with an error naming it.
"""

from __future__ import annotations

import io
import json
import shutil
from pathlib import Path
from typing import Any

import pyarrow as pa
import pyarrow.parquet as pq

from sim.run.store import is_int, is_number, read_json, write_file_atomic
from sim.scenario.errors import UsageError
from sim.scenario.messages import describe, describe_key

__all__ = ["prepare_store", "complete_runs", "write_run", "read_rows", "write_summary", "read_plan"]

PLAN = "sweep.json"
SUMMARY = "summary.parquet"
ROW = "row.json"


_PLAN_EXPECTED = "the plan of a sweep store, written by crossings sweep (JSON)"
_ROW_STATUSES = ("ok", "failed")


def _plan_problem(plan: Any) -> str | None:
    """``key: expected …, found …`` for the first thing in ``plan`` the summary and figures could not use."""
    if not isinstance(plan, dict):
        return f"expected {_PLAN_EXPECTED}, found {describe(plan)}"
    sweep = plan.get("sweep")
    if not isinstance(sweep, dict):
        return f"sweep: expected the sweep file as validated (a mapping), found {describe_key(plan, 'sweep')}"
    if not isinstance(sweep.get("name"), str):
        return f"sweep.name: expected the sweep's name (text), found {describe_key(sweep, 'name')}"
    design = sweep.get("design")
    if not isinstance(design, dict) or not isinstance(design.get("kind"), str):
        found = describe_key(design, "kind") if isinstance(design, dict) else "none"
        return f"sweep.design.kind: expected grid, lhs or sobol, found {found}"
    # Optional, but the summary and the figures' source lines use them as numbers when present.
    if design.get("seed") is not None and not is_int(design["seed"]):
        return f"sweep.design.seed: expected an integer, found {describe(design['seed'])}"
    if sweep.get("scale") is not None and not is_number(sweep["scale"]):
        return f"sweep.scale: expected a number, found {describe(sweep['scale'])}"
    parameters = plan.get("parameters")
    if not isinstance(parameters, list) or not all(isinstance(path, str) for path in parameters):
        return f"parameters: expected a list of parameter paths, found {describe(parameters)}"
    points = plan.get("points")
    if not isinstance(points, list):
        return f"points: expected a list of points, found {describe(points)}"
    for i, point in enumerate(points):
        if not isinstance(point, list) or len(point) != len(parameters):
            found = f"{len(point)} value(s)" if isinstance(point, list) else describe(point)
            return f"points.{i}: expected a list of {len(parameters)} values (one per parameter), found {found}"
    seeds = plan.get("seeds")
    if not isinstance(seeds, list) or not seeds or not all(is_int(seed) for seed in seeds):
        return f"seeds: expected a list of the replicates' seeds (integers), found {describe(seeds)}"
    return None


def read_plan(store: Path) -> dict[str, Any]:
    """The plan a store was made for.

    Raises
    ------
    UsageError
        If ``store`` has no ``sweep.json``, or one that is damaged (not JSON, or not a plan).
    """
    path = Path(store) / PLAN
    if not path.is_file():
        raise UsageError(f"{store}: expected a sweep store (with {PLAN}), found none")
    plan = read_json(path, _PLAN_EXPECTED)
    problem = _plan_problem(plan)
    if problem is not None:
        raise UsageError(f"{path}: {problem}")
    return plan


def prepare_store(store: Path, plan: dict[str, Any], *, resume: bool, force: bool) -> None:
    """Make ``store`` ready for ``plan``: new, resumed, or (``force``) wiped and new.

    Raises
    ------
    UsageError
        The folder already holds a sweep and neither ``resume`` nor ``force`` was
        given, it holds a different sweep than the one resumed, or it is not a store.
    """
    store = Path(store)
    text = json.dumps(plan, indent=1, sort_keys=True) + "\n"
    if store.exists() and any(store.iterdir()):
        if not (store / PLAN).is_file():
            raise UsageError(f"{store}: expected an empty folder or a sweep store, found other files")
        if force:
            shutil.rmtree(store)
        elif not resume:
            raise UsageError(f"{store}: a sweep store exists already; use --resume to complete it or --force to start over")
        elif (store / PLAN).read_bytes() != text.encode("utf-8"):
            # A damaged plan is said to be damaged (not "a different sweep"), and never rewritten
            # over: nothing then shows that the runs beside it are of this sweep.
            try:
                read_plan(store)
            except UsageError as error:
                raise UsageError(f"{error}; use --force to start over") from None
            raise UsageError(f"{store}: expected the same sweep to resume, found a store of a different sweep (use --force to start over)")
    (store / "runs").mkdir(parents=True, exist_ok=True)
    # A stale summary must never sit beside an unfinished store.
    (store / SUMMARY).unlink(missing_ok=True)
    # Runs interrupted while writing: their temporary folders, and temporary files in their folders.
    for partial in [*(store / "runs").glob(".*"), *(store / "runs").glob("*/.*.tmp")]:
        if partial.is_dir():
            shutil.rmtree(partial, ignore_errors=True)
        else:
            partial.unlink(missing_ok=True)
    write_file_atomic(store / PLAN, text)


def _row_problem(path: Path, row: Any) -> str | None:
    """``key: expected …, found …`` for the first thing wrong with the row read from ``path``, or None."""
    from sim.run.sweep import run_folder_name

    if not isinstance(row, dict):
        return f"expected a run's row, written by crossings sweep (a JSON mapping), found {describe(row)}"
    for key in ("point", "replicate", "seed"):
        if not is_int(row.get(key)):
            return f"{key}: expected an integer, found {describe_key(row, key)}"
    if row.get("status") not in _ROW_STATUSES:
        return f"status: expected ok or failed, found {describe_key(row, 'status')}"
    if not (row.get("error") is None or isinstance(row.get("error"), str)):
        return f"error: expected null or text, found {describe(row.get('error'))}"
    if not isinstance(row.get("params"), dict):
        return f"params: expected a mapping, found {describe_key(row, 'params')}"
    measures = row.get("measures")
    if not isinstance(measures, dict) or not all(is_number(value) for value in measures.values()):
        return f"measures: expected a mapping of numbers, found {describe_key(row, 'measures')}"
    folder = run_folder_name(row["point"], row["replicate"]) if row["point"] >= 0 and row["replicate"] >= 0 else "?"
    if folder != path.parent.name:
        return f"point, replicate: expected those of the run folder {path.parent.name}, found {row['point']}, {row['replicate']}"
    return None


def _read_row(path: Path) -> tuple[dict[str, Any] | None, str]:
    """A run's row, or None and ``PATH[:LINE:COL]: expected …, found …`` when the file is not a valid row."""
    try:
        row = read_json(path, "a run's row, written by crossings sweep (JSON)")
    except UsageError as error:
        return None, str(error)
    problem = _row_problem(path, row)
    return (row, "") if problem is None else (None, f"{path}: {problem}")


def complete_runs(store: Path) -> set[str]:
    """Names of the run folders holding a valid ``row.json``.

    Rows are written atomically and last, so a sweep that is killed never leaves a
    damaged one: one that does not parse, or is not a row of its folder's run, was
    damaged afterwards (a disk fault, an edit).  Such a run is counted as not done, so
    ``--resume`` runs it again and its new row replaces the damaged one.  Redoing it
    is safe: a run is reproducible from its seed, so the store ends exactly as an
    undamaged one would, whereas refusing would leave the user to find and delete
    the file for the same outcome.
    """
    return {path.parent.name for path in (Path(store) / "runs").glob(f"*/{ROW}") if _read_row(path)[0] is not None}


def write_run(run_dir: Path, row: dict[str, Any], daily: pa.Table | None) -> None:
    """Write one run's outputs, ``row.json`` last."""
    from sim.run.sweep import dumps_row

    run_dir.mkdir(parents=True, exist_ok=True)
    if daily is not None:
        write_file_atomic(run_dir / "daily.parquet", _parquet_bytes(daily))
    write_file_atomic(run_dir / ROW, dumps_row(row))


def read_rows(store: Path) -> list[dict[str, Any]]:
    """Every complete run's row, sorted by (point, replicate).

    Raises
    ------
    UsageError
        If a ``row.json`` is damaged: a summary must not silently leave a run out
        (a sweep resumed just before runs such a row again, see :func:`complete_runs`).
    """
    rows = []
    for path in (Path(store) / "runs").glob(f"*/{ROW}"):
        row, problem = _read_row(path)
        if row is None:
            raise UsageError(f"{problem}; run the sweep again with --resume to redo that run")
        rows.append(row)
    return sorted(rows, key=lambda row: (row["point"], row["replicate"]))


def _parquet_bytes(table: pa.Table) -> bytes:
    buffer = io.BytesIO()
    pq.write_table(table, buffer, compression="zstd")
    return buffer.getvalue()


def _column_type(values: list[Any]) -> pa.DataType:
    present = [v for v in values if v is not None]
    if present and all(isinstance(v, bool) for v in present):
        return pa.bool_()
    if present and all(isinstance(v, int) and not isinstance(v, bool) for v in present):
        return pa.int64()
    if all(isinstance(v, (int, float)) and not isinstance(v, bool) for v in present):
        return pa.float64()
    return pa.string()


def summary_table(rows: list[dict[str, Any]], plan: dict[str, Any]) -> pa.Table:
    """The summary table of sorted rows: run columns, ``param.<path>``, then measures (sorted)."""
    measures = sorted({name for row in rows for name in row["measures"]})
    columns: dict[str, pa.Array] = {
        "point": pa.array([row["point"] for row in rows], pa.int64()),
        "replicate": pa.array([row["replicate"] for row in rows], pa.int64()),
        "seed": pa.array([row["seed"] for row in rows], pa.int64()),
        "status": pa.array([row["status"] for row in rows], pa.string()),
        "error": pa.array([row["error"] for row in rows], pa.string()),
    }
    for path in plan["parameters"]:
        values = [row["params"].get(path) for row in rows]
        kind = _column_type(values)
        columns[f"param.{path}"] = pa.array([str(v) if kind == pa.string() and v is not None else v for v in values], kind)
    for name in measures:
        # A finished run without a measure had nothing to count there (nobody served at a
        # crossing, no wait to report): 0, as `compare` and the memo read it.  A failed run has no value.
        columns[name] = pa.array(
            [float(row["measures"][name]) if name in row["measures"] else 0.0 if row["status"] == "ok" else None for row in rows],
            pa.float64(),
        )
    return pa.table(columns)


def write_summary(store: Path, plan: dict[str, Any]) -> tuple[Path, list[dict[str, Any]]]:
    """Rebuild ``summary.parquet`` from the row files; returns its path and the rows."""
    rows = read_rows(store)
    path = Path(store) / SUMMARY
    write_file_atomic(path, _parquet_bytes(summary_table(rows, plan)))
    return path, rows
