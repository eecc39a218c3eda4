"""``crossings plot DIR``: every figure of a run, a comparison or a sweep, from its files alone.

A folder is recognised by what it holds:

* a **run** (``crossings run``): ``manifest.json`` and ``daily.csv`` (and ``flows.csv``);
* a **comparison** (``crossings compare --out``): ``compare.json`` and ``replicates.parquet``;
* a **sweep** store (``crossings sweep``): ``sweep.json`` and ``summary.parquet``.

The figures go to ``DIR/figures/`` unless another folder is given, in each of the
formats asked for (PNG at 200 dpi, SVG, PDF).  For a run, the reported figures of a
targets file are drawn over the entries (:mod:`sim.report.reported`): a file given
explicitly, or by default the project's ``calibration/targets.yaml`` over runs of
the scenario it was written for (:func:`targets_for`).
"""

from __future__ import annotations

import csv
from collections.abc import Mapping, Sequence
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import pyarrow as pa
import pyarrow.csv as pcsv

from sim.run.store import read_json
from sim.scenario.errors import Problem, ScenarioError, UsageError
from sim.scenario.messages import describe

__all__ = ["Plotted", "plot", "plot_run", "plot_comparison", "plot_sweep", "folder_kind", "default_targets", "targets_for"]

FORMATS = ("png", "svg", "pdf")


@dataclass(frozen=True)
class Plotted:
    """What ``plot`` drew: the kind of folder, the files, and what it could not draw and why."""

    kind: str
    files: list[Path]
    notes: list[str]


def _refuse_other_files(out_dir: Path) -> None:
    """Figures go into a new folder, an empty one, or one of figures (an earlier plot), whose
    same-named files they replace; a folder holding anything else is someone's, and refused."""
    if not out_dir.is_dir():
        return
    other = sorted(p.name for p in out_dir.iterdir() if not (p.is_file() and p.suffix.lstrip(".") in FORMATS))
    if other:
        raise UsageError(
            f"{out_dir}: expected a new folder, an empty one or one of figures (png, svg, pdf), found {other[0]!r}"
            f"{f' and {len(other) - 1} more' if len(other) > 1 else ''}; figures are not written among other files"
        )


def folder_kind(folder: Path) -> str:
    """``run``, ``comparison`` or ``sweep``, by the files in ``folder``.

    Raises
    ------
    UsageError
        If the folder is none of them.
    """
    folder = Path(folder)
    if (folder / "manifest.json").is_file() and (folder / "daily.csv").is_file():
        return "run"
    if (folder / "compare.json").is_file():
        return "comparison"
    if (folder / "sweep.json").is_file():
        return "sweep"
    raise UsageError(
        f"{folder}: expected a run folder (manifest.json, daily.csv), a comparison (compare.json) "
        f"or a sweep store (sweep.json), found {'no such folder' if not folder.is_dir() else 'none of them'}"
    )


def default_targets() -> Path | None:
    """The project's ``calibration/targets.yaml`` beside the package, if it is there."""
    import sim

    path = Path(sim.__file__).resolve().parent.parent / "calibration" / "targets.yaml"
    return path if path.is_file() else None


def targets_for(scenario_name: str, targets: str | Path | None) -> tuple[list, Path | None, str | None]:
    """The reported figures to draw over a run of ``scenario_name``, their file, and a note if none.

    Targets given explicitly are always drawn.  The default targets file is drawn
    only over runs of the scenario it names (``scenario:`` in the file): figures
    reported in 2022 are the yardstick of that scenario, not of a made-up network
    that happens to share place names.
    """
    from sim.calibrate.targets import load_targets
    from sim.scenario import load_scenario

    if targets is not None:
        return list(load_targets(targets).targets), Path(targets), None
    path = default_targets()
    if path is None:
        return [], None, "no targets file: entries drawn without reported figures"
    loaded = load_targets(path)
    own = load_scenario(loaded.scenario_path()).scenario.name
    if own != scenario_name:
        return [], None, (f"reported figures not drawn: {path.name} is for {own}, not {scenario_name} "
                          "(give --targets to draw them anyway)")
    return list(loaded.targets), path, None


def plot(
    folder: str | Path,
    *,
    out: str | Path | None = None,
    formats: Sequence[str] = ("png", "svg"),
    targets: str | Path | None = None,
) -> Plotted:
    """Draw every figure of the run, comparison or sweep in ``folder``.

    Parameters
    ----------
    folder
        A run folder, a comparison folder or a sweep store.
    out
        Where the figures go [default: ``folder/figures``].
    formats
        Any of ``png``, ``svg``, ``pdf``.
    targets
        A targets file whose reported figures are drawn over a run's entries
        [default: :func:`default_targets`]; ignored for comparisons and sweeps.
    """
    folder = Path(folder)
    unknown = [f for f in formats if f not in FORMATS]
    if unknown or not formats:
        raise UsageError(f"--format: expected png, svg or pdf, found {', '.join(unknown) or 'none'}")
    kind = folder_kind(folder)
    out_dir = Path(out) if out is not None else folder / "figures"
    _refuse_other_files(out_dir)
    out_dir.mkdir(parents=True, exist_ok=True)
    if kind == "run":
        return plot_run(folder, out_dir, formats=formats, targets=targets)
    if kind == "comparison":
        return plot_comparison(folder, out_dir, formats=formats)
    return plot_sweep(folder, out_dir, formats=formats)


_DAILY_COLUMNS = ("date", "place", "measure", "value")
_FLOWS_COLUMNS = ("origin", "crossing", "country", "onward_crossing", "onward_country", "persons")


def _read_json(path: Path, expected: str) -> dict[str, Any]:
    """A JSON object the commands wrote, or a :class:`UsageError` naming the file (and line) if it is not one."""
    data = read_json(path, expected)
    if not isinstance(data, dict):
        raise UsageError(f"{path}: expected {expected}, found {describe(data)}")
    return data


def _require(path: Path, data: Mapping[str, Any], key: str, kind: type | tuple[type, ...], expected: str) -> Any:
    """``data[key]`` if it is of ``kind`` (never a bool standing for a number), else a :class:`UsageError`."""
    if key not in data:
        raise UsageError(f"{path}: {key}: expected {expected}, found none")
    value = data[key]
    if isinstance(value, bool) or not isinstance(value, kind):
        raise UsageError(f"{path}: {key}: expected {expected}, found {describe(value)}")
    return value


def _read_manifest(path: Path) -> dict[str, Any]:
    """A run's ``manifest.json``, checked for the keys :func:`plot_run` uses."""
    manifest = _read_json(path, "a run manifest written by crossings run (JSON)")
    _require(path, manifest, "scenario", dict, "the run's scenario (a mapping)")
    _require(path, manifest, "seed", int, "the run's seed (an integer)")
    _require(path, manifest, "scale", (int, float), "the run's scale (a number)")
    _require(path, manifest, "version", str, "the version of crossings that made the run (text)")
    return manifest


def _read_csv(path: Path, columns: Sequence[str], types: dict[str, str], *, strings_can_be_null: bool) -> pa.Table:
    """A CSV file a run wrote, with ``columns``; a damaged one is a :class:`UsageError` naming its line."""
    expected = f"a CSV file written by crossings run with the columns {', '.join(columns)}"
    options = pcsv.ConvertOptions(column_types=types, strings_can_be_null=strings_can_be_null)
    try:
        table = pcsv.read_csv(path, convert_options=options)
    except pa.ArrowInvalid as error:
        if path.stat().st_size == 0:
            raise UsageError(f"{path}: expected {expected}, found an empty file") from None
        # Arrow's message does not say where; look for the line ourselves (only on this error path).
        where = _bad_line(path, columns)
        if where is not None:
            raise UsageError(f"{path}:{where}") from None
        raise UsageError(f"{path}: expected {expected}, found {str(error).splitlines()[0]}") from None
    except UnicodeDecodeError:
        raise UsageError(f"{path}: expected {expected}, found bytes that are not UTF-8 text") from None
    missing = [name for name in columns if name not in table.column_names]
    if missing:
        raise UsageError(
            f"{path}:1: expected the columns {', '.join(columns)}, found {', '.join(table.column_names) or 'none'} "
            f"(no {', '.join(missing)})"
        )
    return table


def _bad_line(path: Path, columns: Sequence[str]) -> str | None:
    """``LINE: expected …, found …`` for the first row Arrow could not read, or None if none is found.

    Every row must have as many values as the header, and ``value`` / ``persons``
    must be numbers (an empty one is read as missing, as Arrow does).
    """
    numeric = {"value", "persons"}
    with open(path, newline="", encoding="utf-8", errors="replace") as handle:
        reader = csv.reader(handle)
        header = next(reader, [])
        numbers = [(i, name) for i, name in enumerate(header) if name in numeric and name in columns]
        for fields in reader:
            line = reader.line_num
            if len(fields) != len(header):
                return f"{line}: expected {len(header)} values ({', '.join(header)}), found {len(fields)}"
            for i, name in numbers:
                if fields[i] and not _is_number_text(fields[i]):
                    return f"{line}: {name}: expected a number, found {describe(fields[i])}"
    return None


def _is_number_text(text: str) -> bool:
    try:
        float(text)
    except ValueError:
        return False
    return True


def _read_daily(path: Path) -> pa.Table:
    types = {"date": "string", "place": "string", "measure": "string", "value": "float64"}
    return _read_csv(path, _DAILY_COLUMNS, types, strings_can_be_null=False)


def _read_flows(path: Path) -> pa.Table:
    types = {name: "string" for name in _FLOWS_COLUMNS[:-1]} | {"persons": "float64"}
    table = _read_csv(path, _FLOWS_COLUMNS, types, strings_can_be_null=False)
    # A flow without a number of persons cannot be drawn (a daily value may be missing, a flow may not).
    persons = table["persons"]
    if persons.null_count:
        row = next(i for i, value in enumerate(persons.to_pylist()) if value is None)
        raise UsageError(f"{path}:{row + 2}: persons: expected a number, found none")
    return table


def plot_run(
    folder: Path,
    out_dir: Path,
    *,
    formats: Sequence[str] = ("png",),
    targets: str | Path | None = None,
) -> Plotted:
    """Every figure of one run folder (see :func:`plot`)."""
    from sim.report import style
    from sim.report.figures import DailyTableError, write_run_figures
    from sim.report.flows import flow_figure, map_figure, read_flows
    from sim.scenario import load_scenario_data

    manifest_path = folder / "manifest.json"
    manifest = _read_manifest(manifest_path)
    try:
        loaded = load_scenario_data(manifest["scenario"], name=str(manifest_path))
    except ScenarioError as error:
        # The scenario sits under the manifest's ``scenario`` key: say so in each problem's key path.
        raise ScenarioError(
            [Problem(p.file, p.line, p.col, f"scenario.{p.path}" if p.path else "scenario", p.message) for p in error.problems]
        ) from None
    scenario = loaded.scenario
    seed, scale, version = int(manifest["seed"]), float(manifest["scale"]), str(manifest["version"])
    notes: list[str] = []
    reported, targets_path, why_not = targets_for(scenario.name, targets)
    if why_not:
        notes.append(why_not)
    daily_path = folder / "daily.csv"
    daily = _read_daily(daily_path)
    try:
        files = write_run_figures(
            daily, out_dir,
            scenario_name=scenario.name, seed=seed, scale=scale, version=version,
            events=[(shock.date, shock.id) for shock in scenario.departures.shocks],
            reported=reported, targets_name=targets_path.name if targets_path else "", formats=formats, extra=True,
        )
    except DailyTableError as error:
        # Table row r is line r + 2 of the file (after the header): a run writes no line breaks inside values.
        where = f"{daily_path}:{error.row + 2}" if error.row is not None else str(daily_path)
        raise UsageError(f"{where}: {error.problem}") from None
    if (folder / "flows.csv").is_file():
        flows = read_flows(_read_flows(folder / "flows.csv"))
        subtitle = style.run_subtitle(scenario.name, seed)
        source = style.source_line(version, scenario.name, seed, scale)
        files += flow_figure(flows, out_dir / "flows", subtitle=subtitle, source=source, formats=formats)
        files += map_figure(flows, scenario, out_dir / "map", subtitle=subtitle, source=source, formats=formats)
    else:
        notes.append("no flows.csv (a run written before flows were recorded): no flow diagram or map; run it again")
    return Plotted("run", files, notes)


def plot_comparison(folder: Path, out_dir: Path, *, formats: Sequence[str] = ("png",)) -> Plotted:
    """The fan charts and paired differences of a comparison folder (see :func:`plot`)."""
    from sim.report.comparison import write_comparison_figures
    from sim.run.compare import read_replicates

    if not (folder / "replicates.parquet").is_file():
        raise UsageError(
            f"{folder}: expected replicates.parquet beside compare.json (written by crossings compare --out), "
            "found none; run the comparison again"
        )
    info_path = folder / "compare.json"
    info = _read_json(info_path, "a comparison record written by crossings compare --out (JSON)")
    _require(info_path, info, "seeds", list, "the replicates' seeds (a list)")
    _require(info_path, info, "scale", (int, float), "the comparison's scale (a number)")
    replicates_path = folder / "replicates.parquet"
    try:
        replicates = read_replicates(replicates_path)
    except pa.ArrowInvalid as error:
        raise UsageError(
            f"{replicates_path}: expected a Parquet file written by crossings compare --out, found {str(error).splitlines()[0]}"
        ) from None
    files = write_comparison_figures(replicates, info, out_dir, formats=formats)
    return Plotted("comparison", files, [])


def plot_sweep(folder: Path, out_dir: Path, *, formats: Sequence[str] = ("png",)) -> Plotted:
    """Response curves, tornado and Sobol charts of a sweep store (see :func:`plot`).

    The per-point means come from :func:`sim.run.sweep_summary.summarise`, which also
    (re)writes the store's ``points.csv`` and ``sobol.csv``, exactly as ``crossings summarise`` does.
    """
    from sim.report.sweeps import response_figure, sobol_figure, tornado_figure
    from sim.run.api import package_version
    from sim.run.sweep_store import read_plan
    from sim.run.sweep_summary import summarise

    summary = summarise(folder, figures=False)
    plan = read_plan(folder)
    measures = list(summary.means)
    version = package_version()
    files: list[Path] = []
    if summary.design == "sobol" and summary.sobol:
        files += sobol_figure(plan, summary.sobol, out_dir / "sobol", version=version, formats=formats)
    elif summary.design != "sobol":
        files += response_figure(plan, measures, summary.means, out_dir / "response", version=version, formats=formats)
    files += tornado_figure(plan, measures, summary.means, out_dir / "tornado", version=version, formats=formats)
    return Plotted("sweep", files, list(summary.notes))
