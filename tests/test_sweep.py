"""Sweeps: executors agree byte for byte, a killed sweep resumes to the same summary,
Sobol indices of the Ishigami function come out right through the same code path, a
failing run is recorded and the others go on, and sweep-file mistakes are one line each."""

from __future__ import annotations

import json
import math
import os
import signal
import subprocess
import sys
import time
from pathlib import Path

import pyarrow.parquet as pq
import pytest
from model_scenarios import network_scenario

import sim
from sim.run.sweep import run_sweep
from sim.run.sweep_store import complete_runs, read_rows
from sim.run.sweep_summary import summarise

ROOT = Path(sim.__file__).resolve().parent.parent


def tiny_base(folder: Path) -> str:
    """The small network over 18 days, as a scenario file (JSON is YAML)."""
    data = network_scenario(period={"start": "2022-09-14", "end": "2022-10-01"}, scale=0.01)
    (folder / "base.yaml").write_text(json.dumps(data, indent=1), encoding="utf-8")
    return "base.yaml"


def write_sweep(folder: Path, *, lanes: list[int], lags: list[float] = (0, 24), replicates: int = 2, name: str = "tiny") -> Path:
    tiny_base(folder)
    text = f"""\
name: {name}
description: a tiny grid
base: base.yaml
parameters:
  - path: crossings.upper-lars.modes.car.lanes
    values: {list(lanes)}
  - path: choice.information_lag_hours
    values: {list(lags)}
design:
  kind: grid
replicates: {replicates}
scale: 0.01
measures: [entries.GE, entries.KZ, "wait_hours_p90_max.*", stock_end.KZ]
"""
    path = folder / f"{name}.yaml"
    path.write_text(text, encoding="utf-8")
    return path


def test_local_and_dask_give_byte_identical_summaries(tmp_path: Path) -> None:
    from dask.distributed import LocalCluster

    sweep = write_sweep(tmp_path, lanes=[4, 12], lags=[0], replicates=2)
    local = run_sweep(sweep, tmp_path / "local", executor="local", workers=2)
    # A real cluster of 2 workers, reached by its address as a remote one would be
    # (threads in one process: quick to start, and runs share no state).
    with LocalCluster(n_workers=2, threads_per_worker=1, processes=False, dashboard_address=None) as cluster:
        dask = run_sweep(sweep, tmp_path / "dask", executor="dask", scheduler=cluster.scheduler_address)
    assert local.runs == dask.runs == 4 and local.failed == dask.failed == 0
    assert local.summary.read_bytes() == dask.summary.read_bytes()
    table = pq.read_table(local.summary)
    assert table.column_names[:7] == [
        "point", "replicate", "seed", "status", "error",
        "param.crossings.upper-lars.modes.car.lanes", "param.choice.information_lag_hours",
    ]
    assert "wait_hours_p90_max.upper-lars" in table.column_names
    # Common random numbers: replicate r has the same seed at every point.
    rows = table.to_pylist()
    assert {r["seed"] for r in rows if r["replicate"] == 0} == {rows[0]["seed"]}
    assert rows[0]["seed"] != rows[1]["seed"]
    # Each run's daily table is in the store beside its row.
    assert all((tmp_path / "local" / "runs" / name / "daily.parquet").is_file() for name in complete_runs(tmp_path / "local"))


def test_a_killed_sweep_resumes_to_the_same_summary(tmp_path: Path) -> None:
    sweep = write_sweep(tmp_path, lanes=[2, 4, 8, 12], lags=[0], replicates=2, name="killed")
    store = tmp_path / "store"
    env = dict(os.environ, PYTHONPATH=os.pathsep.join([str(ROOT), os.environ.get("PYTHONPATH", "")]))
    command = [sys.executable, "-m", "sim", "sweep", str(sweep), "--out", str(store), "--workers", "1", "--quiet"]
    process = subprocess.Popen(command, cwd=tmp_path, env=env, start_new_session=True,
                               stdout=subprocess.DEVNULL, stderr=subprocess.PIPE)
    deadline = time.monotonic() + 60
    while len(complete_runs(store)) < 2 if (store / "runs").is_dir() else True:
        assert process.poll() is None, process.stderr.read().decode()
        assert time.monotonic() < deadline, "no run completed in 60 s"
        time.sleep(0.05)
    os.killpg(process.pid, signal.SIGKILL)
    process.wait()
    done = complete_runs(store)
    assert 2 <= len(done) < 8
    assert not (store / "summary.parquet").exists()
    # Only runs with a row.json count, and each of those rows is whole.
    rows = read_rows(store)
    assert len(rows) == len(done)
    assert all(row["status"] == "ok" for row in rows)

    resumed = subprocess.run([*command, "--resume"], cwd=tmp_path, env=env, capture_output=True, text=True)
    assert resumed.returncode == 0, resumed.stderr
    reference = run_sweep(sweep, tmp_path / "reference", workers=2)
    assert (store / "summary.parquet").read_bytes() == reference.summary.read_bytes()
    # Without --resume an existing store is refused, with a hint.
    again = subprocess.run(command, cwd=tmp_path, env=env, capture_output=True, text=True)
    assert again.returncode == 2
    assert "--resume" in again.stderr and "--force" in again.stderr


ISHIGAMI_S1 = {"x1": 0.3139, "x2": 0.4424, "x3": 0.0}
ISHIGAMI_ST = {"x1": 0.5576, "x2": 0.4424, "x3": 0.2437}


def test_sobol_indices_of_ishigami_through_the_sweep_path(tmp_path: Path) -> None:
    bounds = f"{{low: {-math.pi!r}, high: {math.pi!r}}}"
    sweep = tmp_path / "ishigami.yaml"
    sweep.write_text(
        f"""\
name: ishigami
model: ishigami
parameters:
  - {{path: x1, range: {bounds}}}
  - {{path: x2, range: {bounds}}}
  - {{path: x3, range: {bounds}}}
design: {{kind: sobol, points: 1024, seed: 3}}
measures: [y]
""",
        encoding="utf-8",
    )
    outcome = run_sweep(sweep, tmp_path / "store", workers=2)
    assert outcome.runs == 1024 * 5 and outcome.failed == 0
    summary = summarise(tmp_path / "store")
    for name in ("x1", "x2", "x3"):
        row = summary.sobol_index("y", name)
        assert row["S1"] == pytest.approx(ISHIGAMI_S1[name], abs=0.05), (name, row)
        assert row["ST"] == pytest.approx(ISHIGAMI_ST[name], abs=0.05), (name, row)
    assert (tmp_path / "store" / "sobol.csv").read_text().startswith("measure,parameter,S1,S1_conf,ST,ST_conf\n")
    assert (tmp_path / "store" / "sobol.png").stat().st_size > 10_000


def test_a_failing_run_is_recorded_and_the_others_complete(tmp_path: Path, monkeypatch: pytest.MonkeyPatch, cli) -> None:
    monkeypatch.chdir(tmp_path)
    tiny_base(tmp_path)
    # Each value is valid alone (the sweep file is checked value by value before it runs),
    # but point 1 puts more Schengen visas than international passports: only its runs fail.
    sweep = tmp_path / "failing.yaml"
    sweep.write_text(
        """\
name: failing
base: base.yaml
parameters:
  - {path: people.international_passport_share, values: [0.29, 0.05]}
  - {path: people.schengen_visa_share, values: [0.2]}
design: {kind: grid}
replicates: 2
scale: 0.01
measures: [entries.GE, entries.KZ]
""",
        encoding="utf-8",
    )
    outcome = run_sweep(sweep, tmp_path / "store", workers=2)
    assert (outcome.runs, outcome.failed) == (4, 2)
    rows = pq.read_table(outcome.summary).to_pylist()
    assert [r["status"] for r in rows] == ["ok", "ok", "failed", "failed"]
    failed = rows[2]
    assert failed["error"].startswith("ScenarioError: ")
    assert "people.schengen_visa_share: expected schengen_visa_share <= international_passport_share (0.05), found 0.2" in failed["error"]
    assert failed["entries.GE"] is None and rows[0]["entries.GE"] > 0
    assert not (tmp_path / "store" / "runs" / "000001-000" / "daily.parquet").exists()
    result = cli("summarise", "store")
    assert result.exit_code == 0, result.stderr
    assert "failing: grid design, 4 runs, 2 failed" in result.stdout
    assert "failed: point 1 replicate 0: ScenarioError" in result.stdout
    points = (tmp_path / "store" / "points.csv").read_text().splitlines()
    assert points[0] == "point,param.people.international_passport_share,param.people.schengen_visa_share,measure,replicates,mean,ci_low,ci_high"
    assert any(line.startswith("1,0.05,0.2,entries.GE,0,") for line in points)
    quiet = cli("summarise", "store", "-q", "--no-figures")
    assert quiet.exit_code == 0 and quiet.stdout == "", quiet.stderr


GOOD = """\
name: s
base: base.yaml
parameters:
  - path: crossings.upper-lars.modes.car.lanes
    values: [4, 8]
design:
  kind: grid
replicates: 2
"""


@pytest.mark.parametrize(
    ("old", "new", "expected"),
    [
        ("replicates: 2", "replicate: 2", "s.yaml:8:1: replicate: expected a known key, found 'replicate' (did you mean 'replicates'?)"),
        ("kind: grid", "kind: grids", "s.yaml:7:3: design.kind: expected one of grid, lhs, sobol, found 'grids' (did you mean 'grid'?)"),
        ("base: base.yaml", "base: missing.yaml", "s.yaml:2:1: base: expected an existing scenario file, found 'missing.yaml'"),
    ],
)
def test_sweep_file_mistakes_exit_2_one_line_each(workdir: Path, cli, old: str, new: str, expected: str) -> None:
    tiny_base(workdir)
    (workdir / "s.yaml").write_text(GOOD.replace(old, new), encoding="utf-8")
    result = cli("sweep", "s.yaml", "--out", "store", "--quiet")
    assert result.exit_code == 2
    assert result.stderr.splitlines() == [expected]
    assert not (workdir / "store").exists()
