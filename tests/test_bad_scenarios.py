"""The bad-scenario corpus (``tests/bad_scenarios/``): every broken file, through the real command.

Each case is ``NAME.expected`` (the exact stderr lines) beside ``NAME.yaml`` (the broken
file; ``parents/`` holds files that cases extend).  A few files are too big or too
deep to commit and are generated here (:data:`GENERATED`).  Each case runs
``python -m sim validate NAME.yaml`` in a subprocess from a copy of the corpus, and
must end within :data:`BUDGET_SECONDS` of wall time (a limit of the product: a
scenario file from anywhere is refused quickly, whatever it holds), with exit status
2, nothing on stdout, exactly the expected lines on stderr, no traceback, and no
file written.  The cases in :data:`RUN_TOO` go through ``crossings run`` as well,
the command that would write outputs.
"""

from __future__ import annotations

import os
import shutil
import subprocess
import sys
import time
from collections.abc import Callable, Iterator
from pathlib import Path

import pytest
from helpers import minimal_scenario_yaml

import sim

REPO = Path(sim.__file__).resolve().parent.parent
CORPUS = Path(__file__).parent / "bad_scenarios"
BUDGET_SECONDS = 2.0


def _huge(path: Path) -> None:
    """A valid scenario followed by comment lines: 100 MiB, refused by size before it is parsed."""
    line = b"# " + b"padding " * 12 + b"\n"
    size = 100 * 1024 * 1024
    with path.open("wb") as handle:
        head = minimal_scenario_yaml().encode()
        handle.write(head)
        block = line * 10_000
        written = len(head)
        while written + len(block) <= size:
            handle.write(block)
            written += len(block)
        handle.write(b"#" * (size - written - 1) + b"\n")


def _just_over(path: Path) -> None:
    """One byte past the limit: both sizes round to 512 KiB, so the count is given in bytes."""
    head = minimal_scenario_yaml().encode()
    path.write_bytes(head + b"#" * (512 * 1024 + 1 - len(head) - 1) + b"\n")


def _text(text: str) -> Callable[[Path], None]:
    return lambda path: path.write_text(text, encoding="utf-8")


def _chain(path: Path) -> None:
    """A chain of 20 files, each extending the next (the limit is 16)."""
    links = [path] + [path.parent / "parents" / f"chain-{i}.yaml" for i in range(1, 20)]
    for i, link in enumerate(links[:-1]):
        link.write_text(f"extends: {'parents/' if i == 0 else ''}chain-{i + 1}.yaml\n", encoding="utf-8")
    links[-1].write_text("extends: minimal.yaml\n", encoding="utf-8")


#: Cases written at test time: a 100 MiB file, one a byte past the limit, three ways of nesting 10,000 deep, a long chain of files.
GENERATED: dict[str, Callable[[Path], None]] = {
    "huge-file": _huge,
    "just-over-the-size-limit": _just_over,
    "extends-chain-too-long": _chain,
    "deep-flow-lists": _text("name: " + "[" * 10_000 + "]" * 10_000 + "\n"),
    "deep-flow-mappings": _text("name: " + "{a: " * 10_000 + "1" + "}" * 10_000 + "\n"),
    "deep-block-lists": _text("- " * 10_000 + "x\n"),
}

#: Cases also given to ``crossings run``: output names, unsafe tags, resource limits.
RUN_TOO = {
    "name-parent-path",
    "name-absolute-path",
    "python-object-apply",
    "too-many-persons",
    "deep-flow-lists",
    "huge-file",
}

CASES = sorted(path.stem for path in CORPUS.glob("*.expected"))


def test_the_corpus_is_complete() -> None:
    files = {path.stem for path in CORPUS.glob("*.yaml")}
    assert len(CASES) >= 40
    assert files | set(GENERATED) == set(CASES), "every case needs its .yaml (or a generator) and its .expected"
    assert not files & set(GENERATED)
    assert RUN_TOO <= set(CASES)


@pytest.fixture(scope="module")
def corpus(tmp_path_factory: pytest.TempPathFactory) -> Iterator[Path]:
    """A copy of the corpus with the generated files, removed afterwards (one is 100 MiB)."""
    folder = tmp_path_factory.mktemp("bad") / "bad_scenarios"
    shutil.copytree(CORPUS, folder)
    for name, write in GENERATED.items():
        write(folder / f"{name}.yaml")
    yield folder
    shutil.rmtree(folder, ignore_errors=True)


def _snapshot(folder: Path) -> dict[str, tuple[int, int]]:
    return {str(p.relative_to(folder)): (p.stat().st_size, p.stat().st_mtime_ns) for p in sorted(folder.rglob("*"))}


def _command(*args: str, cwd: Path) -> tuple[subprocess.CompletedProcess[str], float]:
    env = {**os.environ, "PYTHONPATH": os.pathsep.join(filter(None, [str(REPO), os.environ.get("PYTHONPATH")]))}
    began = time.perf_counter()
    # The timeout only keeps a regression from hanging the suite; the budget is asserted below.
    result = subprocess.run(
        [sys.executable, "-m", "sim", *args], cwd=cwd, env=env, capture_output=True, text=True, timeout=60
    )
    return result, time.perf_counter() - began


@pytest.mark.parametrize(
    ("name", "command"),
    [(name, "validate") for name in CASES] + [(name, "run") for name in CASES if name in RUN_TOO],
)
def test_bad_scenario(corpus: Path, name: str, command: str) -> None:
    expected = (CORPUS / f"{name}.expected").read_text(encoding="utf-8").splitlines()
    before = _snapshot(corpus)

    result, seconds = _command(command, f"{name}.yaml", cwd=corpus)

    assert "Traceback" not in result.stderr, result.stderr
    assert result.returncode == 2, result.stderr
    assert result.stdout == ""
    assert result.stderr.splitlines() == expected
    assert len(expected) >= 1 and all(line.startswith(name) or line.startswith("parents/") for line in expected)
    assert _snapshot(corpus) == before, "a refused scenario wrote a file"
    assert seconds < BUDGET_SECONDS, f"{name}: {command} took {seconds:.2f} s"


def test_an_explicit_out_is_the_users_choice(workdir: Path) -> None:
    """Only the default folder is confined to outputs/: --out goes where the user says, even up a level."""
    (workdir / "here").mkdir()
    (workdir / "s.yaml").write_text(minimal_scenario_yaml(), encoding="utf-8")

    result, _ = _command("run", "../s.yaml", "--scale", "0.001", "--no-figures", "--quiet", "--out", "../elsewhere", cwd=workdir / "here")

    assert result.returncode == 0, result.stderr
    assert (workdir / "elsewhere" / "manifest.json").is_file()
    assert not (workdir / "here" / "outputs").exists()
