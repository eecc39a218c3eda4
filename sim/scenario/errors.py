"""User mistakes, reported as ``FILE:LINE:COL: key.path: expected …, found …``.

A :class:`ScenarioError` carries every problem found in one go, so a user fixes a
file in one pass.  Library code raises it; only the CLI turns it into exit status 2.
"""

from __future__ import annotations

from dataclasses import dataclass

__all__ = ["Problem", "ScenarioError", "UsageError"]


@dataclass(frozen=True)
class Problem:
    """One problem at one place in one file.

    Parameters
    ----------
    file
        The file as the user named it (or ``<set>`` for a ``--set`` override).
    line, col
        1-based position of the key at fault; 0 when the problem has no position
        (a missing file, an empty document).
    path
        Dotted key path, e.g. ``crossings.upper-lars.modes.car.lanes``; empty for
        whole-file problems.
    message
        ``expected …, found …``.
    """

    file: str
    line: int
    col: int
    path: str
    message: str

    def __str__(self) -> str:
        where = f"{self.file}:{self.line}:{self.col}"
        return f"{where}: {self.path}: {self.message}" if self.path else f"{where}: {self.message}"


class ScenarioError(Exception):
    """A scenario (or sweep, targets, …) file that cannot be used, with every problem in it."""

    def __init__(self, problems: list[Problem]) -> None:
        # in reading order within each file, so a user works down a file once; the files in the
        # order their first problem came (the file named before the files it extends)
        files = {problem.file: rank for rank, problem in reversed(list(enumerate(problems)))}
        self.problems = sorted(problems, key=lambda p: (files[p.file], p.line, p.col))
        super().__init__("\n".join(str(p) for p in self.problems))


class UsageError(Exception):
    """A mistake in how a command or API function was called (bad option value, bad output folder)."""
