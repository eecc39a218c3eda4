"""`crossings run`: what it writes, where, and that a folder appears only when complete."""

from __future__ import annotations

import json
import subprocess
import sys
from pathlib import Path

import pytest
from model_scenarios import network_scenario
from ruamel.yaml import YAML

import sim
from sim.run.store import write_dir_atomic, write_file_atomic

ROOT = Path(__file__).resolve().parent.parent


def write_yaml(path: Path, data: dict) -> Path:
    yaml = YAML(typ="safe", pure=True)
    with path.open("w", encoding="utf-8") as handle:
        yaml.dump(data, handle)
    return path


def test_run_writes_daily_manifest_and_figures(cli, workdir: Path) -> None:
    scenario = write_yaml(workdir / "net.yaml", network_scenario(period={"start": "2022-09-14", "end": "2022-09-30"}))
    result = cli("run", str(scenario), "--seed", "3", "--scale", "0.02", "--quiet")
    assert result.exit_code == 0, result.stderr
    out = workdir / "outputs" / "network-3"
    assert sorted(p.name for p in out.iterdir()) == ["daily.csv", "figures", "flows.csv", "manifest.json"]
    header = (out / "daily.csv").read_text().splitlines()[0]
    assert header == "date,place,measure,value"
    manifest = json.loads((out / "manifest.json").read_text())
    assert manifest["seed"] == 3 and manifest["scale"] == 0.02
    assert manifest["scenario"]["name"] == "network"
    assert len(manifest["scenario_sha256"]) == 64
    people = manifest["people"]
    assert sum(people["by_state"].values()) == people["departed"] > 0
    figures = sorted(p.name for p in (out / "figures").iterdir())
    assert {"entries_by_crossing.png", "waits.png"} <= set(figures)
    # No temporary folder is left behind.
    assert [p.name for p in (workdir / "outputs").iterdir()] == ["network-3"]


def test_run_honours_out_and_set(cli, workdir: Path) -> None:
    scenario = write_yaml(workdir / "net.yaml", network_scenario(period={"start": "2022-09-14", "end": "2022-09-30"}))
    result = cli(
        "run", str(scenario), "--scale", "0.02", "--out", "elsewhere/run1", "--no-figures", "-q",
        "--set", "crossings.syrym.modes.car.lanes=20",
    )
    assert result.exit_code == 0, result.stderr
    manifest = json.loads((workdir / "elsewhere" / "run1" / "manifest.json").read_text())
    syrym = next(c for c in manifest["scenario"]["crossings"] if c["id"] == "syrym")
    assert syrym["modes"]["car"]["lanes"] == 20
    assert not (workdir / "elsewhere" / "run1" / "figures").exists()


def test_run_without_scenario_runs_the_default(cli, workdir: Path) -> None:
    result = cli("run", "--scale", "0.005", "--no-figures", "--quiet")
    assert result.exit_code == 0, result.stderr
    (folder,) = (workdir / "outputs").iterdir()
    assert folder.name.startswith("mobilization-2022-")
    assert (folder / "manifest.json").exists()


def test_run_bad_scale_is_a_usage_error(cli, workdir: Path) -> None:
    scenario = write_yaml(workdir / "net.yaml", network_scenario())
    result = cli("run", str(scenario), "--scale", "2")
    assert result.exit_code == 2
    assert "Traceback" not in result.stderr
    assert not (workdir / "outputs").exists()


@pytest.mark.parametrize(
    ("args", "line"),
    [
        (("run", "--sclae", "0.1"), "crossings run: No such option '--sclae'. (Did you mean one of: '--scale', '--seed', '--set'?) (see 'crossings run --help')"),
        (("run", "--scale", "2"), "crossings run: Invalid value for '--scale': 2.0 is not in the range 1e-06<=x<=1. (see 'crossings run --help')"),
        (("memo", "scenarios/mobilization-2022.yaml"), "crossings memo: Missing option '--out'. (see 'crossings memo --help')"),
        (("compare",), "crossings compare: Missing argument 'BASE'. (see 'crossings compare --help')"),
        (("--bogus",), "crossings: No such option '--bogus'. (see 'crossings --help')"),
        (("bogus",), "crossings: No such command 'bogus'. (see 'crossings --help')"),
        (("run", "x.yaml", "--set"), "crossings run: Option '--set' requires an argument. (see 'crossings run --help')"),
        (("validate", ""), "'':0:0: expected a scenario file, found an empty path"),
    ],
)
def test_a_mistake_on_the_command_line_is_one_line_and_exit_2(cli, args: tuple[str, ...], line: str) -> None:
    # click would print four lines (usage, a hint, a blank, the error); the project's rule is one.
    result = cli(*args)
    assert result.exit_code == 2
    assert result.stderr == line + "\n"
    assert result.stdout == ""


def test_interrupted_write_leaves_nothing_that_looks_complete(tmp_path: Path) -> None:
    destination = tmp_path / "outputs" / "run"

    def fill(folder: Path) -> None:
        (folder / "daily.csv").write_text("date,place,measure,value\n")
        raise KeyboardInterrupt  # the user pressed Ctrl-C half-way

    with pytest.raises(KeyboardInterrupt):
        write_dir_atomic(destination, fill)
    assert not destination.exists()
    assert list((tmp_path / "outputs").iterdir()) == []


def test_rewrite_replaces_a_complete_folder_only_when_the_new_one_is_complete(tmp_path: Path) -> None:
    destination = tmp_path / "run"
    write_dir_atomic(destination, lambda folder: (folder / "a.txt").write_text("old"), marker="a.txt")

    def failing(folder: Path) -> None:
        (folder / "a.txt").write_text("new, half")
        raise OSError("disk full")

    with pytest.raises(OSError):
        write_dir_atomic(destination, failing, marker="a.txt")
    assert (destination / "a.txt").read_text() == "old"
    write_dir_atomic(destination, lambda folder: (folder / "a.txt").write_text("new"), marker="a.txt")
    assert (destination / "a.txt").read_text() == "new"
    assert [p.name for p in tmp_path.iterdir()] == ["run"]


def test_python_dash_m_sim_is_the_same_program(tmp_path: Path) -> None:
    scenario = write_yaml(tmp_path / "net.yaml", network_scenario(period={"start": "2022-09-14", "end": "2022-09-30"}))
    done = subprocess.run(
        [sys.executable, "-m", "sim", "run", str(scenario), "--scale", "0.01", "--out", str(tmp_path / "o"), "-q", "--no-figures"],
        capture_output=True, text=True, cwd=tmp_path,
    )
    assert done.returncode == 0, done.stderr
    api = sim.run(network_scenario(period={"start": "2022-09-14", "end": "2022-09-30"}), scale=0.01)
    assert (tmp_path / "o" / "daily.csv").read_text() == api.daily_csv


def test_results_are_ordinary_files_not_private(tmp_path: Path) -> None:
    """Temp files and folders are private (0600/0700); the results must not stay so."""
    import os
    import stat

    mask = os.umask(0o022)
    try:
        destination = write_dir_atomic(tmp_path / "run", lambda folder: write_file_atomic(folder / "a.csv", "x\n"))
    finally:
        os.umask(mask)
    assert stat.S_IMODE((destination / "a.csv").stat().st_mode) == 0o644
    assert stat.S_IMODE(destination.stat().st_mode) == 0o755


def test_a_folder_that_is_not_an_earlier_run_is_never_replaced(cli, workdir: Path) -> None:
    """--out names a folder of someone's files: refused, the files untouched; an empty
    folder or an earlier run is written into."""
    scenario = write_yaml(workdir / "net.yaml", network_scenario(period={"start": "2022-09-14", "end": "2022-10-01"}))
    (workdir / "mine").mkdir()
    (workdir / "mine" / "precious.txt").write_text("keep")
    for out in ("mine", "."):
        result = cli("run", str(scenario), "--scale", "0.01", "--out", out, "-q", "--no-figures")
        assert result.exit_code == 2, (out, result.stderr)
        assert "found a folder holding other files" in result.stderr and len(result.stderr.strip().splitlines()) == 1
    assert (workdir / "mine" / "precious.txt").read_text() == "keep"
    assert sorted(p.name for p in (workdir / "mine").iterdir()) == ["precious.txt"]
    (workdir / "empty").mkdir()
    for _ in range(2):  # an empty folder, then the run it now holds
        result = cli("run", "net.yaml", "--scale", "0.01", "--out", "empty", "-q", "--no-figures")
        assert result.exit_code == 0, result.stderr
        assert (workdir / "empty" / "manifest.json").is_file()
    (workdir / "a-file").write_text("x")
    result = cli("run", "net.yaml", "--scale", "0.01", "--out", "a-file", "-q", "--no-figures")
    assert result.exit_code == 2
    # a folder beneath a file cannot be made: the user's path, so exit 2 naming it
    beneath = cli("run", "net.yaml", "--scale", "0.01", "--out", "a-file/sub", "-q", "--no-figures")
    assert beneath.exit_code == 2 and len(beneath.stderr.strip().splitlines()) == 1
    assert "a-file/sub: expected a folder that can be written" in beneath.stderr


@pytest.mark.parametrize(
    ("command", "foreign"),
    [
        (("compare", "net.yaml", "net.yaml", "-n", "1", "--scale", "0.01"), "compare.csv"),
        (("memo", "net.yaml", "-n", "1", "--scale", "0.01"), "findings.csv"),
        (("fit-report", "net.yaml", "--targets", "targets.yaml", "-n", "1", "--scale", "0.01"), "fit_report.csv"),
    ],
)
def test_commands_writing_into_a_folder_replace_only_their_own_files(cli, workdir: Path, command, foreign: str) -> None:
    """compare, memo and fit-report write their files into --out: a file there of the same name that
    is not an earlier result of theirs is refused before any run, one line, exit 2, and left as it was."""
    write_yaml(workdir / "net.yaml", network_scenario(period={"start": "2022-09-14", "end": "2022-10-01"}))
    (workdir / "targets.yaml").write_text("targets: []\n")
    (workdir / "mine").mkdir()
    (workdir / "mine" / foreign).write_text("keep")
    result = cli(*command, "--out", "mine", "-q")
    assert result.exit_code == 2, result.stderr
    assert len(result.stderr.strip().splitlines()) == 1
    assert f"mine/{foreign}: expected a new file, or a folder holding an earlier result" in result.stderr
    assert sorted(p.name for p in (workdir / "mine").iterdir()) == [foreign]
    assert (workdir / "mine" / foreign).read_text() == "keep"


def test_a_compare_set_of_a_key_only_the_policy_has_says_so(cli, workdir: Path) -> None:
    """compare --set changes both sides: a key only the policy scenario has is named as such, one line, exit 2."""
    net = network_scenario(period={"start": "2022-09-14", "end": "2022-10-01"})
    write_yaml(workdir / "net.yaml", net)
    crossing = net["crossings"][0]["id"]
    policy = {"extends": "net.yaml", "name": "shut", "policies": [{"id": "shut", "kind": "closure", "crossing": crossing, "from": "2022-09-20"}]}
    write_yaml(workdir / "shut.yaml", policy)
    result = cli("compare", "net.yaml", "shut.yaml", "-n", "1", "--scale", "0.01", "--set", "policies.shut.from=2022-09-21")
    assert result.exit_code == 2 and len(result.stderr.strip().splitlines()) == 1
    assert "--set policies.shut.from: expected a key both scenarios have" in result.stderr
    assert "found one only shut.yaml has" in result.stderr
    # a key both have, refused on one side for another reason, is that reason, not "only one has it"
    both = cli("compare", "net.yaml", "shut.yaml", "-n", "1", "--scale", "0.01", "--set", "period.end=2022-09-10")
    assert both.exit_code == 2 and "only" not in both.stderr
    assert "period.end: expected period.end on or after period.start" in both.stderr


def test_a_reader_that_goes_away_is_no_error() -> None:
    """`crossings list | head -1`: the pipe closes before the listing is written; no message, exit 0."""
    process = subprocess.Popen(
        [sys.executable, "-m", "sim", "list"], stdout=subprocess.PIPE, stderr=subprocess.PIPE,
        cwd=Path(__file__).resolve().parents[1],
    )
    process.stdout.close()  # before the program (still importing) writes a line
    stderr = process.stderr.read().decode()
    assert process.wait(timeout=60) == 0, stderr
    assert stderr == ""
