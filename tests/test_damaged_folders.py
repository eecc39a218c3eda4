"""Damaged output folders are user mistakes: one line naming the file (and line or key), exit 2.

Every output is written atomically, so a file that does not read was damaged after
it was written (a disk fault, an edit, a copy cut short).  ``crossings plot``,
``summarise``, ``sweep --resume`` and ``calibrate --resume`` must then say which file
and what it should hold, never show a traceback; a sweep resumed over a damaged
``row.json`` runs that run again (see :func:`sim.run.sweep_store.complete_runs`).
"""

from __future__ import annotations

import json
import shutil
from collections.abc import Callable
from pathlib import Path

import numpy as np
import pytest
from model_scenarios import network_scenario

from sim.scenario.errors import UsageError

# --------------------------------------------------------------------------- helpers


def assert_one_line_error(result, *parts: str) -> str:
    """Exit 2, a single stderr line holding every part, no traceback; returns the line."""
    assert result.exit_code == 2, (result.exit_code, result.stderr)
    lines = result.stderr.strip().splitlines()
    assert len(lines) == 1, result.stderr
    assert "Traceback" not in result.stderr
    for part in parts:
        assert part in lines[0], (part, lines[0])
    return lines[0]


def first_line_with(path: Path, text: str) -> int:
    """1-based number of the first line of ``path`` containing ``text``."""
    return next(n for n, line in enumerate(path.read_text(encoding="utf-8").splitlines(), 1) if text in line)


# --------------------------------------------------------------------------- a run folder

TINY_PERIOD = {"start": "2022-09-14", "end": "2022-10-01"}


@pytest.fixture(scope="module")
def run_folder(tmp_path_factory: pytest.TempPathFactory) -> Path:
    """One run of the small network over 18 days at scale 0.01, without figures (written once)."""
    from sim.run.api import run

    folder = tmp_path_factory.mktemp("run") / "run"
    run(network_scenario(period=TINY_PERIOD, scale=0.01), scale=0.01).write(folder, figures=False)
    return folder


@pytest.fixture
def damaged_run(run_folder: Path, workdir: Path) -> Callable[[str, str | bytes], Path]:
    """A copy of the run in the working folder as ``run``, with one file replaced."""

    def damage(name: str, content: str | bytes) -> Path:
        target = workdir / "run"
        shutil.copytree(run_folder, target)
        path = target / name
        if isinstance(content, bytes):
            path.write_bytes(content)
        else:
            path.write_text(content, encoding="utf-8")
        return path

    return damage


def test_the_undamaged_run_plots(run_folder: Path, workdir: Path, cli) -> None:
    # The folder the damaged copies start from is a good one: the errors below are the damage's.
    shutil.copytree(run_folder, workdir / "run")
    result = cli("plot", "run", "--format", "png")
    assert result.exit_code == 0, result.stderr
    assert (workdir / "run" / "figures" / "entries_by_crossing.png").is_file()
    # --out a folder of someone's other files: refused before any figure, the files as they were
    (workdir / "mine").mkdir()
    (workdir / "mine" / "notes.txt").write_text("keep")
    refused = cli("plot", "run", "--format", "png", "--out", "mine")
    assert refused.exit_code == 2 and len(refused.stderr.strip().splitlines()) == 1
    assert "mine: expected a new folder, an empty one or one of figures" in refused.stderr
    assert sorted(p.name for p in (workdir / "mine").iterdir()) == ["notes.txt"]
    # an earlier plot's folder is plotted into again
    again = cli("plot", "run", "--format", "png", "--out", "run/figures")
    assert again.exit_code == 0, again.stderr


@pytest.mark.parametrize(
    "content, where, expected",
    [
        ('{"scenario": {"na', "run/manifest.json:1:15:", "expected a run manifest written by crossings run (JSON), found invalid JSON"),
        ("{}", "run/manifest.json:", "scenario: expected the run's scenario (a mapping), found none"),
        ('{"scenario": {}, "seed": "x", "scale": 1, "version": "1"}', "run/manifest.json:", "seed: expected the run's seed"),
        ("[1, 2]", "run/manifest.json:", "expected a run manifest written by crossings run (JSON), found a list"),
    ],
    ids=["invalid-json", "empty-mapping", "seed-not-a-number", "not-a-mapping"],
)
def test_plot_names_a_damaged_manifest(damaged_run, cli, content: str, where: str, expected: str) -> None:
    damaged_run("manifest.json", content)
    assert_one_line_error(cli("plot", "run"), where, expected)


def test_plot_names_a_damaged_scenario_inside_the_manifest(run_folder: Path, damaged_run, cli) -> None:
    manifest = json.loads((run_folder / "manifest.json").read_text(encoding="utf-8"))
    manifest["scenario"]["period"]["end"] = "not a date"
    damaged_run("manifest.json", json.dumps(manifest))
    result = cli("plot", "run")
    assert result.exit_code == 2 and "Traceback" not in result.stderr
    assert result.stderr.strip().splitlines() == [
        "run/manifest.json:0:0: scenario.period.end: expected an ISO date (YYYY-MM-DD), found 'not a date'"
    ]


def _cut_mid_line(run_folder: Path) -> tuple[bytes, int]:
    """daily.csv cut in the middle of its fifth line, and that line's number."""
    text = (run_folder / "daily.csv").read_bytes()
    lines = text.split(b"\n")
    cut = sum(len(line) + 1 for line in lines[:4]) + len(lines[4]) // 2
    return text[:cut], 5


def test_plot_names_an_empty_daily_table(damaged_run, cli) -> None:
    damaged_run("daily.csv", b"")
    assert_one_line_error(
        cli("plot", "run"),
        "run/daily.csv: expected a CSV file written by crossings run with the columns date, place, measure, value, "
        "found an empty file",
    )


def test_plot_names_the_line_where_a_daily_table_is_cut_short(run_folder: Path, damaged_run, cli) -> None:
    content, line = _cut_mid_line(run_folder)
    damaged_run("daily.csv", content)
    assert_one_line_error(cli("plot", "run"), f"run/daily.csv:{line}: expected 4 values (date, place, measure, value), found ")


def test_plot_names_wrong_columns_of_a_daily_table(damaged_run, cli) -> None:
    damaged_run("daily.csv", "day,where,what,count\n2022-09-14,GE,entries,3\n")
    assert_one_line_error(
        cli("plot", "run"),
        "run/daily.csv:1: expected the columns date, place, measure, value, found day, where, what, count",
    )


def test_plot_names_the_line_of_a_value_that_is_not_a_number(run_folder: Path, damaged_run, cli) -> None:
    lines = (run_folder / "daily.csv").read_text(encoding="utf-8").splitlines()
    lines[6] = lines[6].rsplit(",", 1)[0] + ",lots"
    damaged_run("daily.csv", "\n".join(lines) + "\n")
    assert_one_line_error(cli("plot", "run"), "run/daily.csv:7: value: expected a number, found 'lots'")


def test_plot_names_the_line_of_a_date_that_is_not_one(run_folder: Path, damaged_run, cli) -> None:
    lines = (run_folder / "daily.csv").read_text(encoding="utf-8").splitlines()
    lines[9] = "2022-13-40" + lines[9][len("2022-09-14"):]
    damaged_run("daily.csv", "\n".join(lines) + "\n")
    assert_one_line_error(cli("plot", "run"), "run/daily.csv:10: date: expected an ISO date (YYYY-MM-DD), found '2022-13-40'")


def test_plot_names_the_line_of_a_repeated_row(run_folder: Path, damaged_run, cli) -> None:
    path = run_folder / "daily.csv"
    text = path.read_text(encoding="utf-8")
    repeated = text.splitlines()[first_line_with(path, ",GE,entries,") - 1]
    damaged = damaged_run("daily.csv", text + repeated + "\n")
    last = len(damaged.read_text(encoding="utf-8").splitlines())
    date = repeated.split(",")[0]
    assert_one_line_error(
        cli("plot", "run"),
        f"run/daily.csv:{last}: expected one row per (date, place, measure), found 2 rows for ({date}, GE, entries)",
    )


def test_plot_names_a_flows_table_cut_short(run_folder: Path, damaged_run, cli) -> None:
    text = (run_folder / "flows.csv").read_bytes()
    second = text.index(b"\n", text.index(b"\n") + 1)  # end of the first data line
    damaged_run("flows.csv", text[: second + 5])
    assert_one_line_error(cli("plot", "run"), "run/flows.csv:3: expected 6 values (origin, crossing, country,")


# --------------------------------------------------------------------------- a comparison folder


def test_plot_names_a_damaged_comparison(workdir: Path, cli) -> None:
    folder = workdir / "cmp"
    folder.mkdir()
    (folder / "replicates.parquet").write_bytes(b"PAR1 cut short")
    (folder / "compare.json").write_text('{"seeds": [1, 2', encoding="utf-8")
    assert_one_line_error(cli("plot", "cmp"), "cmp/compare.json:1:16: expected a comparison record written by crossings compare --out")
    (folder / "compare.json").write_text('{"seeds": [1, 2], "scale": 0.01}', encoding="utf-8")
    assert_one_line_error(cli("plot", "cmp"), "cmp/replicates.parquet: expected a Parquet file written by crossings compare --out, found ")


# --------------------------------------------------------------------------- a sweep store

GRID = """\
name: grid
model: ishigami
parameters:
  - {path: x1, values: [-3.0, 1.0, 3.0]}
  - {path: x2, values: [-2.0, 2.0]}
  - {path: x3, values: [0.5]}
design: {kind: grid}
measures: [y]
"""


@pytest.fixture(scope="module")
def sweep_store(tmp_path_factory: pytest.TempPathFactory) -> Path:
    """A finished store of a 6-point sweep of the Ishigami function (no simulation), beside its sweep file."""
    from sim.run.sweep import run_sweep

    folder = tmp_path_factory.mktemp("sweep")
    (folder / "grid.yaml").write_text(GRID, encoding="utf-8")
    with pytest.MonkeyPatch.context() as patch:
        # The plan records the sweep file as named: name it as the tests' commands do.
        patch.chdir(folder)
        run_sweep("grid.yaml", "store", workers=1)
    return folder


@pytest.fixture
def store_copy(sweep_store: Path, workdir: Path) -> Path:
    """The sweep file and its store, copied into the working folder (``grid.yaml``, ``store``)."""
    shutil.copy(sweep_store / "grid.yaml", workdir / "grid.yaml")
    shutil.copytree(sweep_store / "store", workdir / "store")
    return workdir / "store"


@pytest.mark.parametrize("command", ["summarise", "plot"])
@pytest.mark.parametrize(
    "content, expected",
    [
        ('{"sweep": {"na', "store/sweep.json:1:12: expected the plan of a sweep store, written by crossings sweep (JSON), found invalid JSON"),
        ("{}", "store/sweep.json: sweep: expected the sweep file as validated (a mapping), found none"),
        ("null", "store/sweep.json: expected the plan of a sweep store, written by crossings sweep (JSON), found null"),
    ],
    ids=["invalid-json", "empty-mapping", "null"],
)
def test_summarise_and_plot_name_a_damaged_plan(store_copy: Path, cli, command: str, content: str, expected: str) -> None:
    (store_copy / "sweep.json").write_text(content, encoding="utf-8")
    assert_one_line_error(cli(command, "store"), expected)


def test_summarise_names_a_plan_whose_points_do_not_fit_its_parameters(store_copy: Path, cli) -> None:
    plan = json.loads((store_copy / "sweep.json").read_text(encoding="utf-8"))
    plan["points"][2] = [1.0]
    (store_copy / "sweep.json").write_text(json.dumps(plan), encoding="utf-8")
    assert_one_line_error(
        cli("summarise", "store"), "store/sweep.json: points.2: expected a list of 3 values (one per parameter), found 1 value(s)"
    )


def test_summarise_names_a_damaged_summary_table(store_copy: Path, cli) -> None:
    summary = store_copy / "summary.parquet"
    summary.write_bytes(summary.read_bytes()[:200])
    assert_one_line_error(
        cli("summarise", "store"),
        "store/summary.parquet: expected the summary table written by crossings sweep (Parquet), found a damaged file",
        "--resume",
    )


@pytest.mark.parametrize(
    "content",
    ['{"point": 2, "repl', "{}", None],
    ids=["invalid-json", "empty-mapping", "row-of-another-run"],
)
def test_sweep_resume_runs_a_damaged_row_again(store_copy: Path, cli, content: str | None) -> None:
    from sim.run.sweep_store import complete_runs

    summary = (store_copy / "summary.parquet").read_bytes()
    row_path = store_copy / "runs" / "000002-000" / "row.json"
    good = json.loads(row_path.read_text(encoding="utf-8"))
    if content is None:  # a valid row, but of another folder's run
        content = (store_copy / "runs" / "000003-000" / "row.json").read_text(encoding="utf-8")
    row_path.write_text(content, encoding="utf-8")
    assert "000002-000" not in complete_runs(store_copy) and len(complete_runs(store_copy)) == 5

    result = cli("sweep", "grid.yaml", "--out", "store", "--resume", "--workers", "1")
    assert result.exit_code == 0, result.stderr
    assert "1 run now, 5 kept from before" in result.stdout + result.stderr
    rerun = json.loads(row_path.read_text(encoding="utf-8"))
    assert {k: v for k, v in rerun.items() if k != "wall_seconds"} == {k: v for k, v in good.items() if k != "wall_seconds"}
    # Runs are reproducible from their seeds: the store ends as if it had never been damaged.
    assert (store_copy / "summary.parquet").read_bytes() == summary


def test_reading_rows_names_a_damaged_row(store_copy: Path) -> None:
    from sim.run.sweep_store import read_rows

    (store_copy / "runs" / "000001-000" / "row.json").write_text("[]", encoding="utf-8")
    with pytest.raises(UsageError, match=r"runs/000001-000/row.json: expected a run's row, written by crossings sweep"):
        read_rows(store_copy)


def test_sweep_resume_refuses_a_damaged_plan(store_copy: Path, cli) -> None:
    (store_copy / "sweep.json").write_text('{"sweep": ', encoding="utf-8")
    line = assert_one_line_error(
        cli("sweep", "grid.yaml", "--out", "store", "--resume", "--workers", "1"),
        "store/sweep.json:1:11: expected the plan of a sweep store, written by crossings sweep (JSON), found invalid JSON",
        "use --force to start over",
    )
    assert "different sweep" not in line


def test_a_scheduler_that_is_not_an_address_is_one_line(workdir: Path, cli) -> None:
    (workdir / "grid.yaml").write_text(GRID, encoding="utf-8")
    assert_one_line_error(
        cli("sweep", "grid.yaml", "--out", "store", "--executor", "dask", "--scheduler", "notanaddress"),
        "crossings: scheduler: expected HOST:PORT or tcp://HOST:PORT, found 'notanaddress'",
    )
    assert not (workdir / "store").exists(), "refused before the store is made: a retry needs no --resume"


def test_scheduler_addresses() -> None:
    from sim.run.executors import scheduler_address

    assert scheduler_address("10.0.0.5:8786") == "tcp://10.0.0.5:8786"
    assert scheduler_address("tcp://scheduler.example:8786") == "tcp://scheduler.example:8786"
    assert scheduler_address("tls://[::1]:8786") == "tls://[::1]:8786"
    assert scheduler_address("inproc://192.0.2.2/1/1") == "inproc://192.0.2.2/1/1"  # a cluster in this process
    for bad in ("notanaddress", "host:", ":8786", "host:0", "host:65536", "host:port", "ftp://host:21", "tcp://host"):
        with pytest.raises(UsageError, match="scheduler: expected HOST:PORT or tcp://HOST:PORT"):
            scheduler_address(bad)


# --------------------------------------------------------------------------- a calibration checkpoint

PARAMS = """\
description: two priors for the tiny network
priors:
  - {path: departures.pool_persons, kind: loguniform, low: 100000, high: 1000000}
  - {path: choice.information_lag_hours, kind: uniform, low: 0, high: 36}
population: 12
generations: 2
scale: 0.01
seed: 3
"""

TARGETS = """\
description: tiny targets
scenario: base.yaml
targets:
  - {id: kz-week, source: test, quote: "x", place: KZ, measure: entries, aggregate: sum,
     from: 2022-09-21, until: 2022-09-27, range: [40000, 90000], use: fit}
"""


@pytest.fixture
def checkpointed(workdir: Path) -> Path:
    """The files of a tiny calibration and a real checkpoint of its generation 0 in ``out/checkpoint``.

    The checkpoint is made by :func:`sim.calibrate.abc.abc_smc` with a stand-in for the
    simulations (a checkpoint's files do not depend on what made the statistics), so no
    simulation runs: every damage below is found before one would.
    """
    from sim.calibrate.abc import Distance, Prior, abc_smc

    (workdir / "base.yaml").write_text(json.dumps(network_scenario(period=TINY_PERIOD, scale=0.01)), encoding="utf-8")
    (workdir / "targets.yaml").write_text(TARGETS, encoding="utf-8")
    (workdir / "tiny.yaml").write_text(PARAMS, encoding="utf-8")
    priors = [Prior.loguniform("departures.pool_persons", 1e5, 1e6), Prior.uniform("choice.information_lag_hours", 0, 36)]

    def evaluate(theta: np.ndarray, seeds: list[int]) -> np.ndarray:
        return theta[:, :1] / 10

    checkpoint = workdir / "out" / "checkpoint"
    abc_smc(evaluate, priors, Distance.ranges([40000], [90000]), population=12, generations=1, seed=3, checkpoint=checkpoint)
    assert sorted(p.name for p in checkpoint.iterdir()) == ["generation_0.npz", "state.json"]
    return checkpoint


def resume(cli):
    return cli("calibrate", "base.yaml", "--targets", "targets.yaml", "--params", "tiny.yaml", "--out", "out", "--resume", "-q")


@pytest.mark.parametrize(
    "content, expected",
    [
        ('{"format": "crossings-abc-smc/1", "settings": ', "out/checkpoint/state.json:1:47: expected the state of a checkpoint "
         "written by crossings calibrate (JSON), found invalid JSON"),
        ("{}", "out/checkpoint/state.json: format: expected crossings-abc-smc/1, found none"),
        (b"\xff\xfe{}", "out/checkpoint/state.json: expected the state of a checkpoint written by crossings calibrate (JSON), "
         "found bytes that are not UTF-8 text"),
    ],
    ids=["invalid-json", "empty-mapping", "not-utf-8"],
)
def test_calibrate_resume_names_a_damaged_state(checkpointed: Path, cli, content: str | bytes, expected: str) -> None:
    path = checkpointed / "state.json"
    path.write_bytes(content if isinstance(content, bytes) else content.encode("utf-8"))
    assert_one_line_error(resume(cli), expected)


def test_calibrate_resume_names_a_damaged_generation_row(checkpointed: Path, cli) -> None:
    path = checkpointed / "state.json"
    state = json.loads(path.read_text(encoding="utf-8"))
    del state["generations"][0]["simulated"]
    path.write_text(json.dumps(state), encoding="utf-8")
    assert_one_line_error(resume(cli), "out/checkpoint/state.json: generations.0: expected the keys generation, epsilon,")


def _other_arrays(path: Path) -> None:
    np.savez(path.with_suffix(""), something=np.zeros(3))  # numpy adds the .npz


@pytest.mark.parametrize(
    "damage, found",
    [
        (lambda path: path.write_bytes(b"not a checkpoint at all"), "found a damaged file"),  # numpy: "pickled data"
        (lambda path: path.write_bytes(path.read_bytes()[:300]), "found a damaged file"),
        (lambda path: path.write_bytes(b""), "found an empty file"),
        (lambda path: path.unlink(), "named by state.json, found no such file"),
        (_other_arrays, "found no particles, weights, distances, epsilon, stats, seeds"),
    ],
    ids=["not-an-archive", "cut-short", "empty", "missing", "other-arrays"],
)
def test_calibrate_resume_names_a_damaged_generation(checkpointed: Path, cli, damage, found: str) -> None:
    damage(checkpointed / "generation_0.npz")
    line = assert_one_line_error(
        resume(cli),
        "out/checkpoint/generation_0.npz: expected generation 0 of a checkpoint written by crossings calibrate "
        "(a NumPy .npz archive)",
        found,
    )
    assert "pickle" not in line.lower()


def test_a_generation_of_other_shapes_is_named(checkpointed: Path) -> None:
    from sim.calibrate.abc import load_result

    path = checkpointed / "generation_0.npz"
    with np.load(path) as data:
        arrays = dict(data)
    arrays["particles"] = arrays["particles"][:, :1]
    np.savez(path.with_suffix(""), **arrays)
    with pytest.raises(UsageError, match=r"generation_0.npz: particles: expected numbers of shape \(12, 2\), found float64 of shape \(12, 1\)"):
        load_result(checkpointed)
