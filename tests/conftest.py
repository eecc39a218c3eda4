"""Fixtures: scenario files written in a temporary working folder, and a CLI runner."""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass
from pathlib import Path

import pytest
from click.testing import CliRunner
from helpers import minimal_scenario_yaml

from sim.cli import main


@pytest.fixture
def workdir(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> Path:
    """A temporary folder made the working directory, so problems name files briefly."""

    monkeypatch.chdir(tmp_path)
    return tmp_path


@pytest.fixture
def write_scenario(workdir: Path) -> Callable[..., str]:
    """Write a scenario file into the working folder and return its (relative) name.

    Called with no text, it writes :func:`helpers.minimal_scenario_yaml`; ``text``
    may also be ``bytes`` to write raw (e.g. non-UTF-8) content.
    """

    def write(text: str | bytes | None = None, name: str = "s.yaml") -> str:
        content = minimal_scenario_yaml() if text is None else text
        path = workdir / name
        path.parent.mkdir(parents=True, exist_ok=True)
        if isinstance(content, bytes):
            path.write_bytes(content)
        else:
            path.write_text(content, encoding="utf-8")
        return name

    return write


@dataclass(frozen=True)
class CliResult:
    exit_code: int
    stdout: str
    stderr: str


@pytest.fixture
def cli() -> Callable[..., CliResult]:
    """Run ``crossings ARGS…`` in-process; stdout and stderr kept apart."""

    try:
        runner = CliRunner(mix_stderr=False)  # click < 8.2 mixes them by default
    except TypeError:
        runner = CliRunner()  # click >= 8.2 keeps them apart and dropped the option

    def run(*args: str) -> CliResult:
        result = runner.invoke(main, list(args))
        if result.exception is not None and not isinstance(result.exception, SystemExit):
            raise result.exception
        return CliResult(result.exit_code, result.stdout, result.stderr)

    return run


@pytest.fixture(scope="session")
def memo_folder(tmp_path_factory: pytest.TempPathFactory):
    """One memo of the report scenarios, built once for the figure and memo tests (see report_inputs)."""
    from report_inputs import build_memo

    return build_memo(tmp_path_factory.mktemp("memo"))
