"""``crossings memo BASE [POLICY …] --out DIR``: what a policy analyst pastes into a memo.

The idea: run each scenario ``replicates`` times with the same seeds (common random
numbers), keep every run as an ordinary run folder, and build everything in the
memo from those folders, so each number can be traced to a file:

``DIR/runs/<scenario>/<replicate>-<seed>/``
    A run folder (``daily.csv``, ``flows.csv``, ``manifest.json``), reused when its
    manifest's ``scenario_sha256`` shows it is this scenario with this seed and scale.
``DIR/compare/<policy>/``
    Each policy against the baseline, as ``crossings compare --out`` writes it.
``DIR/figures/``
    The baseline's run figures (its first replicate), each policy's fan charts and
    paired differences, and the fit report of the baseline when there is one.
``DIR/findings.csv``
    The key findings table at full precision (:mod:`sim.report.findings`).
``DIR/memo.html``, ``DIR/memo.pdf``
    The memo: self-contained HTML (figures embedded, nothing fetched) and a PDF.
    ``memo.html`` is written last and the old one removed before anything else is
    rewritten, so a folder with ``memo.html`` holds a finished memo.
"""

from __future__ import annotations

import json
import platform
import shlex
from collections.abc import Callable, Sequence
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import pyarrow as pa
import pyarrow.csv as pcsv

from sim.report.findings import Findings, findings, findings_csv
from sim.run.api import package_version, run, run_sha256
from sim.run.compare import Comparison, difference, replicate_seeds
from sim.run.measures import summary_measures
from sim.run.posterior import check_policy, load_posterior
from sim.run.store import refuse_to_replace, write_file_atomic
from sim.scenario import LoadedScenario, load_scenario, load_scenario_data
from sim.scenario.errors import UsageError

__all__ = ["MemoFigure", "FitSection", "MemoContent", "Memo", "make_memo", "read_run", "run_or_reuse", "RunFiles", "DEFAULT_REPLICATES", "DEFAULT_SCALE"]

#: Replicates and scale when not given: enough for an interval, quick on a laptop.
DEFAULT_REPLICATES = 4
DEFAULT_SCALE = 0.02


@dataclass(frozen=True)
class MemoFigure:
    """A figure of the memo: its file, a caption, and the section it belongs to."""

    path: Path
    caption: str
    section: str


@dataclass(frozen=True)
class FitSection:
    """The calibration fit of the baseline: fit reports found (or why none), as rows to show."""

    found: list[dict[str, Any]]
    message: str


@dataclass(frozen=True)
class RunFiles:
    """One run as read back from its folder."""

    folder: Path
    seed: int
    daily: pa.Table
    manifest: dict[str, Any]
    reused: bool

    @property
    def measures(self) -> dict[str, float]:
        return summary_measures(self.daily, self.manifest["people"])


@dataclass(frozen=True)
class MemoContent:
    """Everything the memo shows, ready for :mod:`sim.report.memo_html` and :mod:`sim.report.memo_pdf`."""

    title: str
    scenarios: list[LoadedScenario]
    files: list[str | None]
    seeds: list[int]
    scale: float
    table: Findings
    figures: list[MemoFigure]
    fit: FitSection
    targets: dict[str, Any] | None
    targets_note: str | None
    reproducibility: list[tuple[str, str]]
    headers: list[str]
    runs_reused: int
    runs_made: int
    posterior: str | None = None
    posterior_sets: int = 0

    def method_text(self) -> str:
        """How the findings' numbers were made, one paragraph for the HTML and the PDF."""
        text = (
            f"Each number is the mean over {len(self.seeds)} replicate runs, with its 95% interval in brackets; "
            "differences are paired (replicate r of every scenario used the same seed"
        )
        if self.posterior is not None:
            text += (
                f" and the same parameter values, drawn from the posterior of the calibration {self.posterior}: "
                f"{self.posterior_sets} distinct sets), so the intervals hold what the reported figures leave open "
                "about the parameters as well as the runs' noise"
            )
        else:
            text += "), at the scenarios' own parameter values"
        return text + f". Persons at full scale (runs at scale {self.scale:g}, scaled back); waits in hours."


@dataclass
class Memo:
    """What :func:`make_memo` wrote."""

    html: Path
    pdf: Path
    findings: Path
    content: MemoContent
    files: list[Path] = field(default_factory=list)


def read_run(folder: Path) -> tuple[pa.Table, dict[str, Any]]:
    """A run folder's daily table and manifest."""
    options = pcsv.ConvertOptions(column_types={"date": "string", "place": "string", "measure": "string", "value": "float64"})
    daily = pcsv.read_csv(folder / "daily.csv", convert_options=options)
    manifest = json.loads((folder / "manifest.json").read_text(encoding="utf-8"))
    return daily, manifest


def run_or_reuse(loaded: LoadedScenario, seed: int, scale: float, folder: Path) -> RunFiles:
    """The run of ``loaded`` with ``seed`` at ``scale`` in ``folder``: reused if it is there, else made."""
    expected = run_sha256(loaded, seed, scale)
    manifest_path = folder / "manifest.json"
    if manifest_path.is_file() and (folder / "daily.csv").is_file() and (folder / "flows.csv").is_file():
        try:
            manifest = json.loads(manifest_path.read_text(encoding="utf-8"))
            if isinstance(manifest, dict) and manifest.get("scenario_sha256") == expected:
                daily, manifest = read_run(folder)
                return RunFiles(folder, seed, daily, manifest, reused=True)
        except (ValueError, UnicodeDecodeError):
            pass  # a damaged cached run (pyarrow's ArrowInvalid is a ValueError too) is made again, not trusted
    run(loaded, seed=seed, scale=scale).write(folder, figures=False)
    daily, manifest = read_run(folder)
    return RunFiles(folder, seed, daily, manifest, reused=False)


def _header_comment(path: Path) -> str:
    """The comment block at the top of a scenario file: where its authors say what it is and cite sources."""
    lines = []
    for line in path.read_text(encoding="utf-8").splitlines():
        stripped = line.strip()
        if stripped.startswith("#"):
            text = stripped[1:]
            lines.append(text[1:] if text.startswith(" ") else text)
        elif stripped:
            break
        else:
            lines.append("")
    body = [line for line in lines if set(line) - {"=", "-", " "} or not line]
    return "\n".join(body).strip("\n")


def _shown_path(path: Path) -> Path:
    """``path`` relative to the working folder when it lies inside it (as the user would type it)."""
    try:
        return Path(path).resolve().relative_to(Path.cwd().resolve())
    except ValueError:
        return Path(path)


def _fit_section(base: LoadedScenario, fitted: Path | None) -> FitSection:
    """Fit reports in ``fitted/*/`` for the baseline scenario, the scenario as it is first."""
    name = base.scenario.name
    if fitted is None or not fitted.is_dir():
        return FitSection([], f"No calibration folder ({fitted}); the fit of {name} to the reported figures is not shown.")
    found = []
    for report in sorted(fitted.glob("*/fit_report.json")):
        try:
            data = json.loads(report.read_text(encoding="utf-8"))
        except (ValueError, UnicodeDecodeError) as error:
            raise UsageError(f"{report}: expected a fit report written by crossings fit-report, found {error}") from None
        if not isinstance(data, dict):
            raise UsageError(f"{report}: expected a fit report written by crossings fit-report, found {type(data).__name__}")
        if data.get("scenario_name") != name:
            continue
        csv_path = report.with_name("fit_report.csv")
        rows = pcsv.read_csv(csv_path, convert_options=pcsv.ConvertOptions(strings_can_be_null=False)).to_pylist() \
            if csv_path.is_file() else []
        found.append({
            "folder": report.parent, "as_is": not data.get("overrides"), "overrides": data.get("overrides", []),
            "overall": data.get("overall", {}), "replicates": data.get("replicates"), "scale": data.get("scale"),
            "seed": data.get("seed"), "version": data.get("version"), "rows": rows,
            "figure": report.with_name("fit_report.png") if report.with_name("fit_report.png").is_file() else None,
        })
    found.sort(key=lambda f: (not f["as_is"], str(f["folder"])))
    if not found:
        return FitSection([], f"No fit report for {name} in {_shown_path(fitted)}: this scenario has not been scored against the "
                              "reported figures (crossings fit-report writes one).")
    return FitSection(found, "")


def _targets_summary(path: Path | None) -> dict[str, Any] | None:
    if path is None:
        return None
    from sim.calibrate.targets import load_targets
    from sim.report.reported import short_source

    targets = load_targets(path).targets
    return {
        "path": _shown_path(path),
        "count": len(targets),
        "fit": sum(t.use == "fit" for t in targets),
        "sources": list(dict.fromkeys(short_source(t.source) for t in targets)),
    }


def make_memo(
    base: str | Path,
    policies: Sequence[str | Path],
    out: str | Path,
    *,
    replicates: int = DEFAULT_REPLICATES,
    scale: float | None = DEFAULT_SCALE,
    seed: int | None = None,
    targets: str | Path | None = None,
    fitted: str | Path | None = None,
    progress: Callable[[str], None] | None = None,
    posterior: str | Path | None = None,
) -> Memo:
    """Run (or reuse) what the memo needs and write it (see the module docstring).

    Parameters
    ----------
    base, policies
        Scenario files: the baseline and the policies compared with it.
    out
        The memo's folder.
    replicates
        Runs of each scenario, replicate ``r`` of each with the same seed.
    scale
        Fraction of people simulated [default :data:`DEFAULT_SCALE`; None: each scenario's own].
    seed
        Root of the replicates' seeds [default: the baseline's seed].
    targets
        Targets file of the reported figures [default: the project's calibration/targets.yaml].
    fitted
        Folder of fit reports [default: the project's calibration/fitted].
    progress
        Called with a line of text after each run.
    posterior
        A calibration folder: replicate ``r`` of every scenario runs with the same row
        drawn from its posterior (as ``crossings compare --posterior``); None: the
        scenarios as written.
    """
    from sim.report.plot import default_targets, targets_for

    if replicates < 1:
        raise UsageError(f"replicates: expected at least 1, found {replicates}")
    out = Path(out)
    # An earlier memo (or one stopped half-way, whose runs are kept) is replaced; anyone else's files are not.
    refuse_to_replace(out, ["findings.csv", "memo.html", "memo.pdf", "figures"], markers=["memo.html", "runs"])
    paths = [Path(base), *(Path(p) for p in policies)]
    loaded = [load_scenario(p) for p in paths]
    names = [item.scenario.name for item in loaded]
    if len(set(names)) != len(names):
        raise UsageError(f"scenarios: expected different names, found {', '.join(names)}")
    scale_used = loaded[0].scenario.scale if scale is None else float(scale)
    root = loaded[0].scenario.seed if seed is None else int(seed)
    seeds = replicate_seeds(root, replicates)
    drawn = None if posterior is None else load_posterior(posterior)
    if drawn is not None:
        for item in loaded[1:]:
            check_policy(drawn, loaded[0].resolved, item.resolved, item.source)
    rows = [] if drawn is None else [drawn.draw(root, r) for r in range(replicates)]
    reported, targets_path, targets_note = targets_for(names[0], targets)
    project_targets = default_targets()
    fitted_dir = Path(fitted) if fitted is not None else (project_targets.parent / "fitted" if project_targets else None)

    runs: list[list[RunFiles]] = []
    for item in loaded:
        mine = []
        for r, run_seed in enumerate(seeds):
            folder = out / "runs" / item.scenario.name / f"{r}-{run_seed}"
            world = item if drawn is None else load_scenario_data(
                item.resolved, name=item.source, overrides=drawn.overrides(rows[r]))
            # a run folder is reused only for the same resolved scenario, so a drawn world is never confused
            # with the scenario as written
            done = run_or_reuse(world, run_seed, scale_used, folder)
            mine.append(done)
            if progress is not None:
                progress(f"{item.scenario.name} replicate {r} seed {run_seed}: {'reused' if done.reused else 'ran'} {folder}")
        runs.append(mine)

    measures = [[r.measures for r in mine] for mine in runs]
    country_names = {c.iso: c.name for item in loaded for c in item.scenario.countries}
    table = findings(names, measures, country_names)
    # memo.html, written last, marks a complete memo: the old one goes before anything new is
    # written, so a memo stopped half-way never leaves new findings beside an old memo that
    # looks finished.
    for stale in ("memo.html", "memo.pdf"):
        (out / stale).unlink(missing_ok=True)
    findings_path = out / "findings.csv"
    write_file_atomic(findings_path, findings_csv(table))

    figures_dir = out / "figures"
    figures_dir.mkdir(parents=True, exist_ok=True)
    figures = _figures(loaded, runs, measures, seeds, scale_used, out, figures_dir, reported, targets_path,
                       posterior=None if drawn is None else (str(posterior), rows))
    fit = _fit_section(loaded[0], fitted_dir)
    if fit.found and fit.found[0]["figure"] is not None:
        shown = fit.found[0]
        copied = figures_dir / f"fit_report-{shown['folder'].name}.png"
        write_file_atomic(copied, Path(shown["figure"]).read_bytes())
        values = "as it is" if shown["as_is"] else "with calibrated values"
        figures.append(MemoFigure(copied, f"Calibration fit of {names[0]} {values} ({shown['folder'].name}): each "
                                  "reported figure beside the simulated median and 90% band, as a ratio to the "
                                  "reported value.", "fit"))

    command = ["crossings", "memo", *(str(p) for p in paths), "--out", str(out), "-n", str(replicates),
               "--seed", str(root), "--scale", f"{scale_used:g}"]
    if targets is not None:
        command += ["--targets", str(targets)]
    if fitted is not None:
        command += ["--fitted", str(fitted)]
    if posterior is not None:
        command += ["--posterior", str(posterior)]
    reproducibility = [
        ("Command", shlex.join(command)),
        ("crossings version", package_version()),
        ("Replicates", f"{replicates}, scale {scale_used:g} (outputs scaled back to full scale)"),
        ("Seeds (replicate 0, 1, …; the same for every scenario)", ", ".join(str(s) for s in seeds)),
        *(() if drawn is None else ((f"Rows of {Path(drawn.source) / 'posterior.csv'} (replicate 0, 1, …)",
                                     ", ".join(str(row) for row in rows)),)),
        *((f"Scenario {item.scenario.name}", f"{item.source}, sha256 {item.sha256}") for item in loaded),
        ("Reported figures", str(_shown_path(targets_path)) if targets_path else (targets_note or "none")),
        ("Python", f"{platform.python_version()} on {platform.system()} {platform.machine()}"),
    ]
    title = (
        f"{names[0]}: what the scenario gives" if len(names) == 1
        else f"{', '.join(names[1:])} against {names[0]}"
    )
    content = MemoContent(
        title=title,
        scenarios=loaded,
        files=[str(p) for p in paths],
        seeds=seeds,
        scale=scale_used,
        table=table,
        figures=figures,
        fit=fit,
        targets=_targets_summary(targets_path),
        targets_note=targets_note,
        reproducibility=reproducibility,
        headers=[_header_comment(p) for p in paths],
        runs_reused=sum(r.reused for mine in runs for r in mine),
        runs_made=sum(not r.reused for mine in runs for r in mine),
        posterior=None if drawn is None else str(posterior),
        posterior_sets=0 if drawn is None else drawn.distinct_sets(rows),
    )
    from sim.report.memo_html import memo_html
    from sim.report.memo_pdf import write_memo_pdf

    pdf_path = write_memo_pdf(content, out / "memo.pdf")
    html_path = out / "memo.html"
    write_file_atomic(html_path, memo_html(content))
    return Memo(html_path, pdf_path, findings_path, content, [findings_path, *(f.path for f in figures), html_path, pdf_path])


def _figures(
    loaded: list[LoadedScenario],
    runs: list[list[RunFiles]],
    measures: list[list[dict[str, float]]],
    seeds: list[int],
    scale: float,
    out: Path,
    figures_dir: Path,
    reported: list,
    targets_path: Path | None,
    *,
    posterior: tuple[str, list[int]] | None = None,
) -> list[MemoFigure]:
    """The baseline's run figures and each policy's comparison figures (``posterior``: the
    calibration folder and each replicate's row, when the runs drew their parameters)."""
    from sim.report import style
    from sim.report.comparison import write_comparison_figures
    from sim.report.figures import write_run_figures
    from sim.report.flows import flow_figure, map_figure, read_flows
    from sim.run.compare import tagged_daily

    base = loaded[0].scenario
    first = runs[0][0]
    version = package_version()
    written = write_run_figures(
        first.daily, figures_dir, scenario_name=base.name, seed=first.seed, scale=scale, version=version,
        events=[(shock.date, shock.id) for shock in base.departures.shocks], reported=reported,
        targets_name=targets_path.name if targets_path else "", extra=True,
    )
    by_stem = {p.stem: p for p in written}
    run_note = f"{base.name}, one run (replicate 0, seed {first.seed})"
    figures = [
        MemoFigure(by_stem["entries_by_country"], f"Daily entries by destination country, {run_note}"
               + ("; diamonds and boxes: reported figures with their sources." if reported else "."), "baseline"),
        MemoFigure(by_stem["entries_by_crossing"], f"Daily entries by crossing, {run_note}.", "baseline"),
        MemoFigure(by_stem["waits"], f"Mean and 90th-percentile waits by crossing, {run_note}.", "baseline"),
        MemoFigure(by_stem["queues"], f"Longest queue of the day by crossing, {run_note}.", "baseline"),
    ]
    flows_table = pcsv.read_csv(
        first.folder / "flows.csv",
        convert_options=pcsv.ConvertOptions(
            column_types={c: "string" for c in ("origin", "crossing", "country", "onward_crossing", "onward_country")}
            | {"persons": "float64"}, strings_can_be_null=False),
    )
    flows = read_flows(flows_table)
    subtitle = style.run_subtitle(base.name, first.seed)
    source = style.source_line(version, base.name, first.seed, scale)
    flow_png = flow_figure(flows, figures_dir / "flows", subtitle=subtitle, source=source)[0]
    map_png = map_figure(flows, base, figures_dir / "map", subtitle=subtitle, source=source)[0]
    figures += [
        MemoFigure(flow_png, f"Where people went: origin, crossing, first country and the country entered next, {run_note}.",
               "baseline"),
        MemoFigure(map_png, f"The main routes out and on, at the crossings' coordinates, {run_note}.", "baseline"),
        MemoFigure(by_stem["stocks"], f"People in each destination country, {run_note}.", "baseline"),
    ]
    if any(m.startswith("asylum_claims.") and v > 0 for m, v in measures[0][0].items()):
        figures.append(MemoFigure(by_stem["asylum"], f"Asylum claims, grants and backlog, {run_note}.", "baseline"))
    else:
        by_stem["asylum"].unlink(missing_ok=True)

    for k, item in enumerate(loaded[1:], start=1):
        name = item.scenario.name
        rows = [
            difference(m, [run.get(m, 0.0) for run in measures[0]], [run.get(m, 0.0) for run in measures[k]])
            for m in sorted(set().union(*measures[0], *measures[k]))
        ]
        dailies = [
            tagged_daily(r.daily, side, i, r.seed)
            for side, side_runs in (("base", runs[0]), ("policy", runs[k]))
            for i, r in enumerate(side_runs)
        ]
        comparison = Comparison(
            base=loaded[0].source, policy=item.source, seeds=seeds, policy_seeds=seeds, scale=scale,
            common_random_numbers=True, rows=rows,
            replicate_daily=pa.concat_tables(dailies).replace_schema_metadata(
                {"base_name": base.name, "policy_name": name}),
            posterior=None if posterior is None else posterior[0],
            posterior_rows=[] if posterior is None else posterior[1],
            policy_posterior_rows=[] if posterior is None else posterior[1],
        )
        compare_dir = out / "compare" / name
        comparison.write(compare_dir)
        policy_dir = figures_dir / name
        policy_dir.mkdir(parents=True, exist_ok=True)
        made = {p.stem: p for p in write_comparison_figures(
            comparison.replicate_daily, comparison.to_json(), policy_dir, version=version)}
        replicates = len(seeds)
        figures += [
            MemoFigure(made["fan_entries"], f"{name} against {base.name}: daily entries, mean of {replicates} replicates "
                   "with its 95% interval, in the countries the policy changes most.", name),
            MemoFigure(made["difference_entries"], f"{name} minus {base.name}: the paired daily difference in entries "
                   "(same seeds), mean and 95% interval.", name),
            MemoFigure(made["fan_waits"], f"{name} against {base.name}: 90th-percentile waits where the peak changes most.",
                   name),
        ]
    return figures
