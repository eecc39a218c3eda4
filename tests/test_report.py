"""Every figure kind renders from a small run, comparison and sweep (crossings plot and memo).

Each figure is checked from the outside (the file exists, is a real image of a
non-trivial size, at memo width and the expected height) and, where a number is
drawn, against the file it came from.  The run and comparison figures are those of
the memo built once for the session (``memo_folder``, see report_inputs); whether
they *look* right was checked by eye on the examples in docs/figures/.
"""

from __future__ import annotations

import csv
import struct
from collections import defaultdict
from pathlib import Path

import pytest

from sim.report import style
from sim.report.comparison import _panel_height
from sim.report.figures import default_asylum_height
from sim.report.plot import plot, targets_for

WIDTH_PX = round(style.MEMO_WIDTH_IN * style.DPI)  # 1300: memo width at 200 dpi
RUN_KINDS = ("entries_by_crossing", "entries_by_country", "waits", "queues", "stocks", "asylum", "flows", "map")
COMPARISON_KINDS = ("fan_entries", "difference_entries", "fan_waits")


def png_size(path: Path) -> tuple[int, int]:
    """Width and height from the IHDR chunk (bytes 16-24 of every PNG)."""
    head = path.read_bytes()[:24]
    assert head[:8] == b"\x89PNG\r\n\x1a\n", f"{path.name} is not a PNG"
    return struct.unpack(">II", head[16:24])


def px(inches: float) -> int:
    return round(inches * style.DPI)


def texts(fig) -> list[str]:
    return [t.get_text() for t in fig.findobj(lambda a: hasattr(a, "get_text"))]


def legend(fig) -> list[str]:
    return [t.get_text() for box in fig.legends for t in box.get_texts()]


def test_every_run_figure_kind_renders_at_memo_size(memo_folder) -> None:
    figures = memo_folder.memo.html.parent / "figures"
    for kind in RUN_KINDS:
        png = figures / f"{kind}.png"
        assert png.stat().st_size > 20_000, f"{kind}.png is suspiciously small"
        width, height = png_size(png)
        assert width == WIDTH_PX, kind
        assert px(3.8) <= height <= px(9), (kind, height)
    # Fixed layouts have exact heights: one panel row, two, three (asylum), the flow diagram.
    assert png_size(figures / "queues.png")[1] == px(style.default_height_in(1))
    assert png_size(figures / "stocks.png")[1] == px(style.default_height_in(1))
    assert png_size(figures / "waits.png")[1] == px(style.default_height_in(2))
    assert png_size(figures / "asylum.png")[1] == px(default_asylum_height())
    assert png_size(figures / "flows.png")[1] == px(5.2)
    # The entries figures carry a note naming the reported figures' sources: taller than one row.
    assert png_size(figures / "entries_by_country.png")[1] > px(style.default_height_in(1))
    assert not [p for p in figures.rglob(".*")], "a temporary file was left behind"


def test_every_comparison_figure_kind_renders_at_memo_size(memo_folder) -> None:
    figures = memo_folder.memo.html.parent / "figures" / "report-policy"
    for kind in COMPARISON_KINDS:
        png = figures / f"{kind}.png"
        assert png.stat().st_size > 20_000, kind
        width, height = png_size(png)
        # Four panels; a subtitle wrapped onto more lines adds whole 0.05 in steps.
        extra = height - px(_panel_height(4))
        assert width == WIDTH_PX and 0 <= extra <= px(0.5) and extra % px(0.05) == 0, (kind, width, height)


def test_reported_figures_are_drawn_with_their_sources(memo_folder) -> None:
    country = memo_folder.captured["entries_by_country"]
    notes = " ".join(texts(country))
    assert "[1] Test border guard, 25 Sept" in notes
    # Seed files by number; the reported-figures.md listing note dropped.
    assert "seeds 000 (a ministry)" in notes
    assert "reported on a day (used in calibration)" in legend(country)
    assert "reported over days (check, not calibrated on)" in legend(country)
    crossing = memo_folder.captured["entries_by_crossing"]
    # A figure reported for two crossings together is drawn against their sum.
    assert "kairak + syrym (sum)" in legend(crossing)
    assert "[1] Test press, 24 Sept." in " ".join(texts(crossing))


def test_every_figure_has_title_subtitle_source_and_axis_labels(memo_folder) -> None:
    assert set(RUN_KINDS + COMPARISON_KINDS) <= set(memo_folder.captured)
    for name, fig in memo_folder.captured.items():
        found = texts(fig)
        title, subtitle = fig.texts[0].get_text(), fig.texts[1].get_text()  # as new_figure placed them
        assert title, name
        assert "seed" in subtitle and ("report-base" in subtitle or "report-policy" in subtitle), (name, subtitle)
        assert any(t.startswith("Source: crossings ") and "scale 0.01" in t for t in found), name
        for ax in fig.axes:
            if ax.axison and (ax.lines or ax.patches or ax.collections):
                assert ax.get_ylabel() or fig.get_supylabel(), name
                assert ax.get_xlabel() or any(a.get_xlabel() for a in fig.axes), name


def test_flow_diagram_totals_are_those_of_flows_csv(memo_folder) -> None:
    run_dir = next((memo_folder.memo.html.parent / "runs" / "report-base").glob("0-*"))
    totals: dict[str, float] = defaultdict(float)
    with open(run_dir / "flows.csv", newline="", encoding="utf-8") as handle:
        for row in csv.DictReader(handle):
            totals[row["country"]] += float(row["persons"])
            totals[row["onward_country"] or "no onward move"] += float(row["persons"])
    drawn = texts(memo_folder.captured["flows"])
    for name, persons in totals.items():
        assert f"{name}  {persons:,.0f}" in drawn, name


def test_plot_command_draws_a_run_folder_in_every_format(memo_folder, cli, tmp_path: Path) -> None:
    run_dir = next((memo_folder.memo.html.parent / "runs" / "report-base").glob("0-*"))
    result = cli("plot", str(run_dir), "--out", str(tmp_path), "--format", "svg", "--targets", str(memo_folder.targets))
    assert result.exit_code == 0, result.stderr
    assert sorted(p.name for p in tmp_path.iterdir()) == sorted(f"{k}.svg" for k in RUN_KINDS)
    assert all((tmp_path / f"{k}.svg").read_text(encoding="utf-8").lstrip().startswith("<?xml") for k in RUN_KINDS)


def test_plot_recognises_a_comparison_folder(memo_folder, tmp_path: Path) -> None:
    folder = memo_folder.memo.html.parent / "compare" / "report-policy"
    plotted = plot(folder, out=tmp_path, formats=("pdf",))
    assert plotted.kind == "comparison"
    assert sorted(p.name for p in plotted.files) == sorted(f"{k}.pdf" for k in COMPARISON_KINDS)
    assert all(p.read_bytes().startswith(b"%PDF") for p in plotted.files)


def test_plot_refuses_a_folder_it_does_not_know(cli, tmp_path: Path) -> None:
    result = cli("plot", str(tmp_path))
    assert result.exit_code == 2
    assert result.stderr.strip() == (
        f"crossings: {tmp_path}: expected a run folder (manifest.json, daily.csv), a comparison (compare.json) "
        "or a sweep store (sweep.json), found none of them"
    )


def test_default_targets_are_drawn_only_over_their_own_scenario() -> None:
    reported, path, note = targets_for("report-base", None)
    assert reported == [] and path is None
    assert note is not None and "is for mobilization-2022, not report-base" in note
    reported, path, note = targets_for("mobilization-2022", None)
    assert len(reported) > 20 and path is not None and path.name == "targets.yaml" and note is None


def _sweep_file(folder: Path, design: str) -> Path:
    if design == "grid":
        parameters = "  - {path: x1, values: [-3.0, -1.0, 1.0, 3.0]}\n  - {path: x2, values: [-2.0, 2.0]}\n" \
                     "  - {path: x3, values: [0.5]}\n"
        spec = "{kind: grid}"
    else:
        parameters = "".join(f"  - {{path: x{i}, range: {{low: -3.1, high: 3.1}}}}\n" for i in (1, 2, 3))
        spec = "{kind: sobol, points: 16, seed: 3}"
    path = folder / f"{design}.yaml"
    path.write_text(f"name: {design}\nmodel: ishigami\nparameters:\n{parameters}design: {spec}\nmeasures: [y]\n",
                    encoding="utf-8")
    return path


@pytest.mark.parametrize("design, names", [("grid", ["response.png", "tornado.png"]),
                                           ("sobol", ["sobol.png", "tornado.png"])])
def test_sweep_figures_render(tmp_path: Path, design: str, names: list[str]) -> None:
    from sim.run.sweep import run_sweep

    store = tmp_path / design
    run_sweep(_sweep_file(tmp_path, design), store, workers=1)
    plotted = plot(store, formats=("png",))
    assert plotted.kind == "sweep"
    assert sorted(p.name for p in plotted.files) == names
    for path in plotted.files:
        assert path.stat().st_size > 20_000, path
        assert png_size(path)[0] == WIDTH_PX, path


def test_a_crossing_without_waits_peaks_at_zero_without_a_warning() -> None:
    """The comparison's wait panels rank crossings by their peak wait: one nobody crossed (all NaN) is 0,
    and numpy's all-NaN warning does not reach the user's terminal."""
    import warnings

    import numpy as np

    from sim.report.comparison import _peak

    waits = np.array([[[np.nan, np.nan], [np.nan, np.nan]], [[1.0, np.nan], [3.0, 2.0]]])  # crossings, replicates, days
    with warnings.catch_warnings():
        warnings.simplefilter("error")
        assert _peak(waits).tolist() == [0.0, 3.0]
