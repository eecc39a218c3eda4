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
"""

from __future__ import annotations

import io
import json
import shutil
from pathlib import Path
from typing import Any

import pyarrow as pa
import pyarrow.parquet as pq

from sim.run.store import write_file_atomic
from sim.scenario.errors import UsageError

__all__ = ["prepare_store", "complete_runs", "write_run", "read_rows", "write_summary", "read_plan"]

PLAN = "sweep.json"
SUMMARY = "summary.parquet"
ROW = "row.json"


def read_plan(store: Path) -> dict[str, Any]:
    """The plan a store was made for."""
    path = Path(store) / PLAN
    if not path.is_file():
        raise UsageError(f"{store}: expected a sweep store (with {PLAN}), found none")
    return json.loads(path.read_text(encoding="utf-8"))


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
        elif (store / PLAN).read_text(encoding="utf-8") != text:
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


def complete_runs(store: Path) -> set[str]:
    """Names of the run folders holding a ``row.json``."""
    return {path.parent.name for path in (Path(store) / "runs").glob(f"*/{ROW}")}


def write_run(run_dir: Path, row: dict[str, Any], daily: pa.Table | None) -> None:
    """Write one run's outputs, ``row.json`` last."""
    from sim.run.sweep import dumps_row

    run_dir.mkdir(parents=True, exist_ok=True)
    if daily is not None:
        write_file_atomic(run_dir / "daily.parquet", _parquet_bytes(daily))
    write_file_atomic(run_dir / ROW, dumps_row(row))


def read_rows(store: Path) -> list[dict[str, Any]]:
    """Every complete run's row, sorted by (point, replicate)."""
    rows = [json.loads(path.read_text(encoding="utf-8")) for path in (Path(store) / "runs").glob(f"*/{ROW}")]
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
        columns[name] = pa.array(
            [float(row["measures"][name]) if name in row["measures"] else None for row in rows], pa.float64()
        )
    return pa.table(columns)


def write_summary(store: Path, plan: dict[str, Any]) -> tuple[Path, list[dict[str, Any]]]:
    """Rebuild ``summary.parquet`` from the row files; returns its path and the rows."""
    rows = read_rows(store)
    path = Path(store) / SUMMARY
    write_file_atomic(path, _parquet_bytes(summary_table(rows, plan)))
    return path, rows
