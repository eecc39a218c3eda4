"""Faults: what a killed job, a dead worker or a full disk leaves behind.

* ``crossings run`` killed (SIGKILL) while writing leaves no output folder that looks
  complete, and running it again gives the complete folder;
* ``crossings calibrate`` killed in the middle of a generation resumes with ``--resume``
  to exactly the result of an uninterrupted calibration; sent SIGTERM, it stops its
  worker processes and exits 143, leaving none running;
* a dask worker killed in the middle of a sweep: its run is retried, the sweep completes
  with every run exactly once and the summary of a clean sweep, byte for byte;
* a full disk (a real one: a 32 KiB tmpfs in a user namespace) is one line, exit status
  1, and leaves nothing; the same through a write that fails in-process, everywhere.

A killed sweep resuming is in ``tests/test_sweep.py``
(``test_a_killed_sweep_resumes_to_the_same_summary``).
"""

from __future__ import annotations

import errno
import importlib
import io
import json
import os
import pickle
import shutil
import signal
import subprocess
import sys
import threading
import time
from pathlib import Path

import pytest
from helpers import minimal_scenario_yaml
from model_scenarios import network_scenario
from test_sweep import write_sweep

import sim
from sim.calibrate.abc import load_result
from sim.run.sweep import load_sweep, plan_tasks, run_sweep
from sim.run.sweep_store import complete_runs, read_rows

REPO = Path(sim.__file__).resolve().parent.parent
ENV = {**os.environ, "PYTHONPATH": os.pathsep.join(filter(None, [str(REPO), os.environ.get("PYTHONPATH")]))}


def crossings(*args: str, cwd: Path, **options) -> subprocess.Popen:
    """``python -m sim ARGS`` in its own session, so a kill reaches its workers too."""
    return subprocess.Popen(
        [sys.executable, "-m", "sim", *args], cwd=cwd, env=ENV, start_new_session=True,
        stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True, **options,
    )


def kill_when(process: subprocess.Popen, ready, what: str, timeout: float = 120) -> None:
    """SIGKILL the process group as soon as ``ready()``; fail if the process ends first."""
    deadline = time.monotonic() + timeout
    while not ready():
        assert process.poll() is None, f"ended before {what}: {process.stderr.read()}"
        assert time.monotonic() < deadline, f"no {what} in {timeout} s"
        time.sleep(0.005)
    os.killpg(process.pid, signal.SIGKILL)
    process.wait()


def tiny_network(folder: Path, **changes) -> Path:
    data = network_scenario(**{"period": {"start": "2022-09-14", "end": "2022-10-01"}, "scale": 0.01, **changes})
    path = folder / "network.yaml"
    path.write_text(json.dumps(data, indent=1), encoding="utf-8")
    return path


# --------------------------------------------------------------------------- a killed run


def test_a_run_killed_while_writing_leaves_nothing_that_looks_complete(tmp_path: Path) -> None:
    tiny_network(tmp_path)
    outputs = tmp_path / "outputs"

    def writing() -> bool:
        return outputs.is_dir() and any(p.name.endswith(".partial") for p in outputs.iterdir())

    kill_when(crossings("run", "network.yaml", "--quiet", cwd=tmp_path), writing, "output being written")

    visible = [p.name for p in outputs.iterdir() if not p.name.startswith(".")]
    assert visible == [], "a killed run left a folder that looks complete"
    assert all(p.name.endswith(".partial") for p in outputs.iterdir())

    again = crossings("run", "network.yaml", "--quiet", cwd=tmp_path)
    _, stderr = again.communicate(timeout=300)
    assert again.returncode == 0, stderr
    folder = outputs / "network-7"
    assert (folder / "manifest.json").is_file() and len(list((folder / "figures").glob("*.png"))) == 4
    assert (folder / "daily.csv").read_text(encoding="utf-8") == sim.run(str(tmp_path / "network.yaml")).daily_csv


# --------------------------------------------------------------------------- a killed calibration

PARAMS = """\
description: two priors, the least calibration that has a second generation
priors:
  - {path: departures.pool_persons, kind: loguniform, low: 100000, high: 1000000}
  - {path: choice.information_lag_hours, kind: uniform, low: 0, high: 36}
population: 4
generations: 2
scale: 0.005
seed: 3
replicates: 1
"""

TARGETS = """\
description: two fit targets on the small network
scenario: network.yaml
targets:
  - {id: fi-0922, source: test, quote: "x", place: vaalimaa, measure: entries, aggregate: daily,
     date: 2022-09-22, value: 3000, tolerance: 0.2, use: fit}
  - {id: kz-week, source: test, quote: "x", place: KZ, measure: entries, aggregate: sum,
     from: 2022-09-21, until: 2022-09-27, range: [40000, 90000], use: fit}
"""

FINAL = ("posterior.csv", "point.json", "intervals.csv", "generations.txt", "calibration.json")


def test_a_calibration_killed_mid_generation_resumes_to_the_uninterrupted_result(tmp_path: Path) -> None:
    tiny_network(tmp_path, period={"start": "2022-09-18", "end": "2022-09-27"}, policies=[])
    (tmp_path / "targets.yaml").write_text(TARGETS, encoding="utf-8")
    (tmp_path / "tiny.yaml").write_text(PARAMS, encoding="utf-8")
    command = ["calibrate", "network.yaml", "--targets", "targets.yaml", "--params", "tiny.yaml", "--workers", "1", "--quiet"]
    checkpoint = tmp_path / "killed" / "checkpoint"

    uninterrupted = crossings(*command, "--out", "whole", cwd=tmp_path)  # meanwhile, the reference
    # Killed once generation 0 is checkpointed (state.json, written after the generation's
    # file, names it): in the middle of generation 1.
    kill_when(crossings(*command, "--out", "killed", cwd=tmp_path), (checkpoint / "state.json").is_file, "generation 0")

    assert not any((tmp_path / "killed" / name).exists() for name in FINAL), "a killed calibration looks finished"
    state = json.loads((checkpoint / "state.json").read_text(encoding="utf-8"))
    assert len(state["generations"]) == 1 and len(load_result(checkpoint).generations) == 1
    resumed = crossings(*command, "--out", "killed", "--resume", cwd=tmp_path)
    for process in (resumed, uninterrupted):
        _, stderr = process.communicate(timeout=600)
        assert process.returncode == 0, stderr
    for name in ("posterior.csv", "point.json", "intervals.csv"):
        assert (tmp_path / "killed" / name).read_bytes() == (tmp_path / "whole" / name).read_bytes(), name
    finished = json.loads((tmp_path / "killed" / "calibration.json").read_text(encoding="utf-8"))
    assert finished["stopped"] == "generations" and len(finished["summary"]["generations"]) == 2


def _children(pid: int) -> list[int]:
    """Child processes of ``pid`` (Linux /proc)."""
    found: list[int] = []
    for task in Path(f"/proc/{pid}/task").glob("*"):
        try:
            found += [int(c) for c in (task / "children").read_text().split()]
        except OSError:
            pass
    return found


def _alive(pid: int) -> bool:
    try:
        return Path(f"/proc/{pid}/stat").read_text().split(") ", 1)[1][0] != "Z"
    except OSError:
        return False


@pytest.mark.skipif(not Path("/proc/self/task").is_dir(), reason="needs Linux /proc to see the worker processes")
def test_a_calibration_terminated_stops_its_workers_and_leaves_no_orphan(tmp_path: Path) -> None:
    tiny_network(tmp_path, period={"start": "2022-09-18", "end": "2022-09-27"}, policies=[])
    (tmp_path / "targets.yaml").write_text(TARGETS, encoding="utf-8")
    (tmp_path / "tiny.yaml").write_text(PARAMS, encoding="utf-8")
    command = ["calibrate", "network.yaml", "--targets", "targets.yaml", "--params", "tiny.yaml", "--workers", "2", "--quiet"]
    process = crossings(*command, "--out", "stopped", cwd=tmp_path)
    deadline = time.monotonic() + 120
    while len(workers := _children(process.pid)) < 2:
        assert process.poll() is None, f"ended before its workers started: {process.stderr.read()}"
        assert time.monotonic() < deadline, "no workers in 120 s"
        time.sleep(0.01)
    time.sleep(2.0)  # the workers at work, past their start-up (a signal while they start is not this test)
    assert process.poll() is None, "the calibration ended before it could be stopped"
    # SIGTERM to the parent alone (what a scheduler or `kill` sends), not to its group.
    os.kill(process.pid, signal.SIGTERM)
    _, stderr = process.communicate(timeout=60)
    assert process.returncode == 128 + signal.SIGTERM, stderr
    assert "Traceback" not in stderr
    deadline = time.monotonic() + 20
    while any(_alive(pid) for pid in workers):
        assert time.monotonic() < deadline, f"workers left running: {[p for p in workers if _alive(p)]}"
        time.sleep(0.05)
    assert not any((tmp_path / "stopped" / name).exists() for name in FINAL), "a stopped calibration looks finished"


# --------------------------------------------------------------------------- a dead dask worker


def _executing(dask_worker) -> int:  # noqa: ANN001 - run by dask on each worker
    return len(dask_worker.state.executing)


def test_a_dask_worker_killed_mid_sweep_is_retried_and_no_run_is_lost_or_doubled(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    """Through the cluster ``--executor dask`` starts itself: TLS only, a worker killed mid-run."""
    import dask.distributed
    from dask.distributed import Client

    clusters: list[dask.distributed.LocalCluster] = []

    class Watched(dask.distributed.LocalCluster):
        def __init__(self, *args, **kwargs) -> None:
            super().__init__(*args, **kwargs)
            clusters.append(self)

    monkeypatch.setattr(dask.distributed, "LocalCluster", Watched)
    sweep = write_sweep(tmp_path, lanes=[2, 8], lags=[0], replicates=2, name="dead-worker")
    store = tmp_path / "store"
    outcome: dict[str, object] = {}

    def run() -> None:
        try:
            outcome["sweep"] = run_sweep(sweep, store, executor="dask", workers=2)
        except BaseException as error:  # noqa: BLE001 - reported by the test below
            outcome["error"] = error

    thread = threading.Thread(target=run)
    thread.start()
    deadline = time.monotonic() + 120
    while not clusters:
        assert thread.is_alive(), outcome
        assert time.monotonic() < deadline, "no cluster started"
        time.sleep(0.01)
    cluster = clusters[0]
    assert cluster.scheduler_address.startswith("tls://")
    # Without its credentials nobody else gets in (dask's messages are pickles: that would be running code).
    with pytest.raises(Exception):  # noqa: B017 - refused, whichever way dask says it
        Client(cluster.scheduler_address.replace("tls://", "tcp://"), timeout="2s")
    with Client(cluster.scheduler_address, security=cluster.security) as client:
        pids = client.run(os.getpid)
        busy: list[str] = []
        while not busy:
            assert thread.is_alive(), outcome
            assert time.monotonic() < deadline, "no worker ran a task"
            busy = [worker for worker, count in client.run(_executing).items() if count]
            time.sleep(0.01)
        os.kill(pids[busy[0]], signal.SIGKILL)  # mid-run: the run it was executing is lost with it
        thread.join(timeout=300)
        assert not thread.is_alive(), "the sweep did not finish after a worker died"
        assert "error" not in outcome, outcome.get("error")

    result = outcome["sweep"]
    assert (result.runs, result.failed) == (4, 0)
    rows = read_rows(store)
    assert [(row["point"], row["replicate"]) for row in rows] == [(p, r) for p in range(2) for r in range(2)]
    assert len(complete_runs(store)) == 4
    # Local and dask summaries agree byte for byte (test_sweep): the clean reference runs locally.
    clean = run_sweep(sweep, tmp_path / "clean", workers=2)
    assert result.summary.read_bytes() == clean.summary.read_bytes()


class _OnlyTasks(pickle.Unpickler):
    """Unpickles a task and refuses every other class or function a pickle might name."""

    allowed = {("sim.run.sweep", "Task"), ("sim.calibrate.fit", "TargetRun")}

    def find_class(self, module: str, name: str) -> object:
        assert (module, name) in self.allowed, f"a task pickle names {module}.{name}"
        return super().find_class(module, name)


def _plain(value: object) -> bool:
    if isinstance(value, (list, tuple)):
        return all(_plain(item) for item in value)
    if isinstance(value, dict):
        return all(isinstance(key, str) and _plain(item) for key, item in value.items())
    return value is None or isinstance(value, (str, int, float, bool))


def test_workers_receive_plain_data_not_pickled_user_objects(tmp_path: Path) -> None:
    """What sweeps and calibrations ship to a worker: their task class by name, then plain values."""
    from sim.calibrate.fit import TargetRun, _target_data
    from sim.calibrate.targets import load_targets

    tasks: list[object] = plan_tasks(load_sweep(write_sweep(tmp_path, lanes=[2, 4], replicates=1)), tmp_path / "store")
    tiny_network(tmp_path)
    (tmp_path / "targets.yaml").write_text(TARGETS, encoding="utf-8")
    data = _target_data(load_targets(tmp_path / "targets.yaml").targets)
    tasks.append(TargetRun(0, str(tmp_path / "network.yaml"), 1, 0.01, ("choice.information_lag_hours=6",), data))
    for task in tasks:
        shipped = pickle.dumps(task, protocol=pickle.HIGHEST_PROTOCOL)
        assert _OnlyTasks(io.BytesIO(shipped)).load() == task
        assert all(_plain(value) for value in vars(task).values())


# --------------------------------------------------------------------------- a full disk


def _tmpfs_available(folder: Path) -> bool:
    if shutil.which("unshare") is None:
        return False
    probe = subprocess.run(
        ["unshare", "--user", "--map-root-user", "--mount", "sh", "-c", 'mount -t tmpfs -o size=32k tmpfs "$0"', str(folder)],
        capture_output=True,
    )
    return probe.returncode == 0


def test_a_full_disk_is_one_line_exit_1_and_leaves_nothing(tmp_path: Path) -> None:
    """A real full disk: the run writes to a 32 KiB tmpfs mounted in a user namespace."""
    disk = tmp_path / "disk"
    disk.mkdir()
    if not _tmpfs_available(disk):
        pytest.skip("needs `unshare --user --map-root-user --mount` (unprivileged user namespaces) for a small tmpfs")
    (tmp_path / "s.yaml").write_text(minimal_scenario_yaml(), encoding="utf-8")
    script = (
        'mount -t tmpfs -o size=32k tmpfs "$0" || exit 99; '
        '"$1" -m sim run s.yaml --scale 0.001 --no-figures --quiet --out "$0/run"; status=$?; '
        'ls -A "$0"; exit $status'  # what is left on the disk, seen from inside before it goes
    )
    result = subprocess.run(
        ["unshare", "--user", "--map-root-user", "--mount", "sh", "-c", script, str(disk), sys.executable],
        cwd=tmp_path, env=ENV, capture_output=True, text=True, timeout=300,
    )
    assert result.returncode == 1, result.stderr
    assert result.stderr == f"crossings: could not write {disk}/run: No space left on device\n"
    assert result.stdout == "", "the full disk kept a partial output"


def test_a_failed_write_is_one_line_exit_1_and_leaves_nothing(cli, workdir: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    """The same through the store's write layer, wherever the test runs: every flush to disk fails."""
    (workdir / "s.yaml").write_text(minimal_scenario_yaml(), encoding="utf-8")

    def full(fd: int) -> None:
        raise OSError(errno.ENOSPC, os.strerror(errno.ENOSPC))

    # The store's module (``sim.run`` is also the name of the API function).
    monkeypatch.setattr(importlib.import_module("sim.run.store").os, "fsync", full)
    result = cli("run", "s.yaml", "--scale", "0.001", "--no-figures", "--quiet")

    assert result.exit_code == 1
    assert result.stderr == f"crossings: could not write {workdir / 'outputs' / 'minimal-42'}: No space left on device\n"
    assert list((workdir / "outputs").iterdir()) == []
