"""Tests of the run figures (sim.report.figures) and the shared style (sim.report.style).

The figures are checked from the outside, as a reader of the run folder would:
the files exist, are real images (not near-empty), and have the memo size.
Content is checked by intercepting ``style.finish`` and looking at the figure
just before it is saved.  Whether a figure *looks* right was checked by eye.
"""

from __future__ import annotations

import datetime as dt
import os
import struct
import subprocess
import sys
import textwrap
from pathlib import Path

import numpy as np
import pyarrow as pa
import pytest

from sim.report import style, write_run_figures

FIGURES = ("entries_by_crossing", "entries_by_country", "waits", "queues")
# Memo width 6.5 in at 200 dpi; one panel row is 3.8 in high, two rows 5.8 in.
ONE_ROW_PX = (1300, 760)
TWO_ROWS_PX = (1300, 1160)
EXPECTED_PX = {
    "entries_by_crossing": ONE_ROW_PX,
    "entries_by_country": ONE_ROW_PX,
    "waits": TWO_ROWS_PX,
    "queues": ONE_ROW_PX,
}
MOBILIZATION = [(dt.date(2022, 9, 21), "Mobilization announced")]
RUN = dict(scenario_name="mobilization-2022", seed=20220921, scale=0.1, version="0.1.0")


def png_size(path: Path) -> tuple[int, int]:
    """Width and height from the IHDR chunk (bytes 16-24 of every PNG)."""
    head = path.read_bytes()[:24]
    assert head[:8] == b"\x89PNG\r\n\x1a\n", f"{path.name} is not a PNG"
    return struct.unpack(">II", head[16:24])


def synthetic_daily(
    n_crossings: int = 3, n_days: int = 20, *, waits: bool = True, start: str = "2022-09-12"
) -> pa.Table:
    """A small run: a surge after 21 Sep at every crossing, queues and waits at two."""
    rng = np.random.default_rng(7)
    days = np.arange(np.datetime64(start), np.datetime64(start) + n_days)
    t = (days - np.datetime64("2022-09-21")).astype(int)
    surge = np.where(t >= 0, 6.0 * np.exp(-np.maximum(t, 0) / 6.0), 0.0) + 1.0
    names = ["upper-lars", "kairak", "vaalimaa"] + [f"crossing-{i}" for i in range(3, n_crossings)]
    rows: list[tuple[str, str, str, float]] = []
    for k, name in enumerate(names[:n_crossings]):
        entries = rng.poisson(400.0 / (k + 1) * surge)
        for d, e, s in zip(days, entries, surge):
            day = str(d)
            rows += [
                (day, name, "entries", float(e)),
                (day, name, "arrivals", float(e) * 1.1),
                (day, name, "refused", 0.0),
                (day, name, "queue_persons_max", float(max(0.0, (s - 1.5) * 300 / (k + 1)))),
                (day, name, "queue_vehicles_max", float(max(0.0, (s - 1.5) * 80))),
            ]
            # Waits exist only on days with a queue, at the first two crossings:
            # other days have no row (undefined), as in a real run.
            if waits and k < 2 and s > 1.5:
                rows += [
                    (day, name, "wait_hours_mean", float(s * 2.0)),
                    (day, name, "wait_hours_p90", float(s * 4.5)),
                ]
    for code, share in (("GE", 0.6), ("KZ", 0.4)):
        for d, s in zip(days, surge):
            rows += [
                (str(d), code, "entries", float(round(500 * share * s))),
                (str(d), code, "stock", float(round(3000 * share * s))),
            ]
    for d, s in zip(days, surge):
        rows.append((str(d), "RU", "departures", float(round(520 * s))))
    date, place, measure, value = zip(*rows)
    return pa.table(
        {
            "date": pa.array(date, pa.string()),
            "place": pa.array(place, pa.string()),
            "measure": pa.array(measure, pa.string()),
            "value": pa.array(value, pa.float64()),
        }
    )


@pytest.fixture
def captured(monkeypatch: pytest.MonkeyPatch) -> dict:
    """Record each figure (by file stem) as it is handed to ``style.finish``."""
    figs: dict = {}
    real_finish = style.finish

    def spy(fig, ax_list, **kwargs):
        figs[Path(kwargs["path_stem"]).name] = (fig, list(ax_list))
        return real_finish(fig, ax_list, **kwargs)

    monkeypatch.setattr(style, "finish", spy)
    return figs


def legend_labels(fig) -> list[str]:
    return [t.get_text() for leg in fig.legends for t in leg.get_texts()]


def all_texts(fig) -> list[str]:
    return [t.get_text() for t in fig.findobj(lambda a: hasattr(a, "get_text"))]


def test_writes_every_figure_at_memo_size(tmp_path: Path) -> None:
    out = tmp_path / "figures"  # does not exist yet: must be created
    paths = write_run_figures(synthetic_daily(), out, events=MOBILIZATION, **RUN)

    assert paths == [out / f"{name}.png" for name in FIGURES]
    for name in FIGURES:
        path = out / f"{name}.png"
        assert path.is_file(), name
        assert path.stat().st_size > 10_000, f"{name} is suspiciously small"
        assert png_size(path) == EXPECTED_PX[name], name
    # Atomic writing leaves no temporary files behind.
    assert sorted(p.name for p in out.iterdir()) == sorted(f"{n}.png" for n in FIGURES)


def test_figures_carry_title_subtitle_labels_source_and_legend(tmp_path: Path, captured: dict) -> None:
    write_run_figures(synthetic_daily(), tmp_path, events=MOBILIZATION, **RUN)

    source = "Source: crossings 0.1.0 simulation, scenario mobilization-2022, seed 20220921, scale 0.1"
    for name in FIGURES:
        fig, axes = captured[name]
        texts = all_texts(fig)
        assert source in texts, name
        assert "Scenario mobilization-2022, seed 20220921" in texts, name
        assert any(ax.get_ylabel() for ax in axes), name
        assert "Date (2022)" in [ax.get_xlabel() for ax in axes], name
        assert legend_labels(fig), name
        assert "Mobilization announced" in texts, name
    assert legend_labels(captured["entries_by_crossing"][0]) == ["upper-lars", "kairak", "vaalimaa"]
    assert legend_labels(captured["entries_by_country"][0]) == ["GE", "KZ"]
    # Only the two crossings that had waits are drawn.
    assert sorted(legend_labels(captured["waits"][0])) == ["kairak", "upper-lars"]


def test_crossing_keeps_its_style_across_figures(tmp_path: Path, captured: dict) -> None:
    write_run_figures(synthetic_daily(), tmp_path, **RUN)

    def colours(name: str) -> dict[str, str]:
        _, axes = captured[name]
        return {ln.get_label(): ln.get_color() for ln in axes[0].get_lines()
                if not ln.get_label().startswith("_")}

    entries = colours("entries_by_crossing")
    for other in ("waits", "queues"):
        for crossing, colour in colours(other).items():
            assert entries[crossing] == colour, (other, crossing)


def test_many_crossings_show_top_seven_and_sum_the_rest(tmp_path: Path, captured: dict) -> None:
    table = synthetic_daily(n_crossings=11)
    write_run_figures(table, tmp_path, **RUN)

    fig, axes = captured["entries_by_crossing"]
    labels = legend_labels(fig)
    assert len(labels) == 8
    assert labels[-1] == "other crossings (4)"

    # The remainder line is the sum of the four smallest crossings, day by day.
    entries = table.filter(pa.compute.equal(table["measure"], "entries"))
    place = np.asarray(entries["place"].to_pylist())
    value = np.asarray(entries["value"].to_pylist())
    crossings = [p for p in dict.fromkeys(place) if p.islower()]
    totals = {c: value[place == c].sum() for c in crossings}
    smallest = sorted(crossings, key=lambda c: (-totals[c], c))[7:]
    expected = sum(value[place == c] for c in smallest)
    (other,) = [ln for ln in axes[0].get_lines() if ln.get_label() == "other crossings (4)"]
    np.testing.assert_allclose(other.get_ydata(), expected)


def test_run_without_waits_still_writes_waits_figure(tmp_path: Path, captured: dict) -> None:
    """Decision: the waits figure is always written; without waits it says so.

    A fixed set of files keeps manifests and reports simple, and "no queues"
    is a result the reader should see.  The placeholder has one panel.
    """
    write_run_figures(synthetic_daily(waits=False), tmp_path, **RUN)

    path = tmp_path / "waits.png"
    assert path.is_file()
    assert png_size(path) == ONE_ROW_PX
    fig, _ = captured["waits"]
    assert "No waits: no crossing had a queue in this run." in all_texts(fig)
    assert not legend_labels(fig)


def test_empty_table_writes_placeholders(tmp_path: Path) -> None:
    empty = synthetic_daily().slice(0, 0)
    paths = write_run_figures(empty, tmp_path, **RUN)
    assert [png_size(p) for p in paths] == [ONE_ROW_PX] * 4


def test_event_outside_data_is_not_drawn(tmp_path: Path, captured: dict) -> None:
    write_run_figures(synthetic_daily(start="2022-10-01"), tmp_path, events=MOBILIZATION, **RUN)
    fig, _ = captured["entries_by_crossing"]
    assert "Mobilization announced" not in all_texts(fig)


def test_same_run_gives_identical_files(tmp_path: Path) -> None:
    table = synthetic_daily()
    a = write_run_figures(table, tmp_path / "a", events=MOBILIZATION, **RUN)
    b = write_run_figures(table, tmp_path / "b", events=MOBILIZATION, **RUN)
    for pa_, pb in zip(a, b):
        assert pa_.read_bytes() == pb.read_bytes(), pa_.name


def test_duplicate_rows_are_an_error(tmp_path: Path) -> None:
    table = synthetic_daily()
    doubled = pa.concat_tables([table, table.slice(0, 1)])
    with pytest.raises(ValueError, match="rows for"):
        write_run_figures(doubled, tmp_path, **RUN)


def test_missing_column_is_an_error(tmp_path: Path) -> None:
    with pytest.raises(ValueError, match="lacks column"):
        write_run_figures(synthetic_daily().drop_columns(["value"]), tmp_path, **RUN)


def test_finish_refuses_unlabelled_axes(tmp_path: Path) -> None:
    fig, (ax,) = style.new_figure("Title", "Subtitle")
    ax.plot([0, 1], [0, 1], label="series")
    with pytest.raises(ValueError, match="label"):
        style.finish(fig, [ax], source="Source: test", path_stem=tmp_path / "x")
    assert not list(tmp_path.iterdir())


def test_finish_writes_requested_formats(tmp_path: Path) -> None:
    fig, (ax,) = style.new_figure("Title", "Subtitle")
    ax.plot([0, 1], [0, 1], label="series")
    ax.set_xlabel("x (units)")
    ax.set_ylabel("y (units)")
    paths = style.finish(fig, [ax], source="Source: test", path_stem=tmp_path / "x",
                         formats=("png", "svg", "pdf"))
    assert [p.name for p in paths] == ["x.png", "x.svg", "x.pdf"]
    assert paths[1].read_text().lstrip().startswith("<?xml")
    assert paths[2].read_bytes().startswith(b"%PDF")


def test_no_global_matplotlib_state_is_touched(tmp_path: Path) -> None:
    """Importing and rendering never loads pyplot, picks a backend or edits rcParams."""
    script = textwrap.dedent(
        f"""
        import sys
        import matplotlib
        # Read every rcParam except "backend": reading that one would resolve it.
        keys = [k for k in matplotlib.rcParams.keys() if k != "backend"]
        before = {{k: repr(matplotlib.rcParams[k]) for k in keys}}
        backend_before = dict.__getitem__(matplotlib.rcParams, "backend")

        import sim.report
        import sim.report.figures
        import sim.report.style
        assert "matplotlib.pyplot" not in sys.modules, "pyplot imported by import"

        sys.path.insert(0, {str(Path(__file__).parent)!r})
        from test_figures import synthetic_daily
        sim.report.write_run_figures(
            synthetic_daily(), __import__("pathlib").Path({str(tmp_path)!r}),
            scenario_name="s", seed=1, scale=1.0, version="0",
        )
        assert "matplotlib.pyplot" not in sys.modules, "pyplot imported by rendering"
        after = {{k: repr(matplotlib.rcParams[k]) for k in keys}}
        changed = [k for k in keys if before[k] != after[k]]
        assert not changed, f"rcParams changed: {{changed}}"
        assert dict.__getitem__(matplotlib.rcParams, "backend") is backend_before, "backend set"
        print("ok")
        """
    )
    root = Path(__file__).resolve().parents[1]
    env = {k: v for k, v in os.environ.items() if k != "MPLBACKEND"}
    env["PYTHONPATH"] = os.pathsep.join([str(root), env.get("PYTHONPATH", "")])
    result = subprocess.run(
        [sys.executable, "-c", script], capture_output=True, text=True, cwd=root,
        env=env, timeout=120,
    )
    assert result.returncode == 0, result.stderr
    assert result.stdout.strip() == "ok"
