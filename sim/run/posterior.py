"""A calibration's posterior, as parameter draws for the runs of a comparison.

A what-if answered at the point estimate alone says how much the policy changes one
world, the one the calibration found most like the reports.  The calibration also
says which other worlds fit (``posterior.csv``: an equal-weight sample of the last
generation, see :meth:`sim.calibrate.abc.ABCResult.resample`).  Run each replicate
of a comparison in a world drawn from it, the same world for base and policy (as the
same seed), and the spread of the paired differences holds both the simulation's
noise and what the reports leave unknown about the parameters.

Replicate ``r`` draws its row from a stream of its own seed's sequence
(``SeedSequence(root, spawn_key=(r, 0))``), so the first ten replicates of a
comparison with twenty are those of one with ten, and every policy compared with the
same base at the same root meets the same worlds.

A policy that sets a parameter the posterior varies would have its value overwritten
by the draw; that is refused (:func:`check_policy`) rather than answered wrongly.
"""

from __future__ import annotations

import codecs
import csv
import io
import json
import math
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import numpy as np

from sim.scenario.errors import ScenarioError, UsageError
from sim.scenario.loading import LoadedScenario, load_scenario_data
from sim.scenario.messages import identifier

__all__ = ["Posterior", "load_posterior", "check_policy", "value_at", "has_value", "parameter_override"]

_MISSING = object()


@dataclass(frozen=True)
class Posterior:
    """Equal-weight parameter draws of a calibration.

    Attributes
    ----------
    source
        The calibration folder as the caller named it.
    names
        Dotted scenario key paths, the columns of ``posterior.csv``.
    rows
        ``(n, len(names))`` draws.
    integer
        Per name, whether the prior was integer (its draws are rounded).
    """

    source: str
    names: tuple[str, ...]
    rows: np.ndarray
    integer: tuple[bool, ...]

    def draw(self, root: int, replicate: int) -> int:
        """The row replicate ``replicate`` of a comparison rooted at ``root`` runs with."""
        rng = np.random.default_rng(np.random.SeedSequence(root, spawn_key=(replicate, 0)))
        return int(rng.integers(len(self.rows)))

    def overrides(self, row: int) -> list[str]:
        """``--set`` overrides (``path=value``) of one row."""
        return [parameter_override(*column) for column in zip(self.names, self.rows[row], self.integer)]

    def scenario(self, loaded: LoadedScenario, row: int) -> LoadedScenario:
        """``loaded`` with one row's values, validated as a run would be.

        Raises
        ------
        UsageError
            When the scenario refuses a value of the row: one line naming ``posterior.csv``,
            the row's line and the key, rather than a ``--set`` the user never wrote.
        """
        try:
            return load_scenario_data(loaded.resolved, name=loaded.source, overrides=self.overrides(row))
        except ScenarioError as error:
            found = "; ".join(f"{problem.path}: {problem.message}" if problem.path else problem.message for problem in error.problems)
            table = Path(self.source) / "posterior.csv"
            raise UsageError(f"{table}:{row + 2}: {found} (with {loaded.source})") from None

    def distinct_sets(self, rows: list[int]) -> int:
        """How many different parameter sets ``rows`` hold: posterior.csv is a resample, its rows
        repeating the particles the weights favour."""
        return len({tuple(self.rows[row]) for row in rows})


def parameter_override(path: str, value: float, integer: bool = False) -> str:
    """A calibrated parameter's value as a ``--set`` override: rounded if its prior is
    integer, else the float in full (``repr``), so the scenario gets exactly the draw."""
    return f"{path}={int(round(value))}" if integer else f"{path}={float(value)!r}"


def load_posterior(folder: str | Path) -> Posterior:
    """Read ``posterior.csv`` and ``calibration.json`` of a calibration folder.

    Parameters
    ----------
    folder
        A folder written by ``crossings calibrate`` (``calibration/fitted/<name>``).

    Raises
    ------
    UsageError
        When the folder, a file or a value is not what ``crossings calibrate`` writes.
    """
    path = Path(folder)
    if not path.is_dir():
        raise UsageError(f"{folder}: expected a calibration folder (crossings calibrate), found {_what(path)}")
    table, record = path / "posterior.csv", path / "calibration.json"
    for needed in (table, record):
        if not needed.is_file():
            raise UsageError(f"{needed}: expected the file crossings calibrate writes, found {_what(needed)}")
    try:
        # utf-8-sig: a byte-order mark (an editor's "UTF-8 with BOM") is not part of the text
        settings = json.loads(record.read_text(encoding="utf-8-sig"))["settings"]
        integer_of = {prior["path"]: bool(prior.get("integer", False)) for prior in settings["priors"]}
    except (ValueError, KeyError, TypeError) as error:
        raise UsageError(f"{record}: settings.priors: expected the priors crossings calibrate records, found {error!r}") from None
    lines = _read_table(table)
    if len(lines) < 2:
        raise UsageError(f"{table}:1: expected a header and at least one draw, found {len(lines)} line(s)")
    names = tuple(lines[0])
    unknown = [name for name in names if name not in integer_of]
    if unknown:
        raise UsageError(f"{table}:1: {unknown[0]}: expected a parameter of {record.name}'s priors, found none by that name")
    rows = np.empty((len(lines) - 1, len(names)))
    for number, line in enumerate(lines[1:], start=2):
        if len(line) != len(names):
            raise UsageError(f"{table}:{number}: expected {len(names)} values, found {len(line)}")
        for column, text in enumerate(line):
            value = _number(text)
            if not math.isfinite(value):
                raise UsageError(f"{table}:{number}: {names[column]}: expected a finite number, found {text!r}")
            rows[number - 2, column] = value
    return Posterior(str(folder), names, rows, tuple(integer_of[name] for name in names))


def value_at(resolved: dict[str, Any], dotted: str) -> Any:
    """The value at a dotted key path of resolved scenario data (list items by id, iso or index).

    A path that is not there gives a sentinel that equals nothing but itself.
    """
    node: Any = resolved
    for segment in dotted.split("."):
        if isinstance(node, dict) and segment in node:
            node = node[segment]
        elif isinstance(node, list):
            # as --set finds list items: by their id (or iso), else by index
            matches = [item for item in node if identifier(item) == segment]
            if len(matches) == 1:
                node = matches[0]
            elif segment.isdigit() and int(segment) < len(node):
                node = node[int(segment)]
            else:
                return _MISSING
        else:
            return _MISSING
    return node


def has_value(resolved: dict[str, Any], dotted: str) -> bool:
    """Whether resolved scenario data has a value at a dotted key path (see :func:`value_at`)."""
    return value_at(resolved, dotted) is not _MISSING


def check_policy(posterior: Posterior, base: dict[str, Any], policy: dict[str, Any], policy_name: str) -> None:
    """Refuse a policy that sets a parameter the posterior varies.

    Parameters
    ----------
    base, policy
        The two scenarios' resolved data (``LoadedScenario.resolved``).
    policy_name
        The policy as the user named it, for the message.

    Raises
    ------
    UsageError
        Naming the first such parameter and both values.
    """
    for name in posterior.names:
        mine, theirs = value_at(policy, name), value_at(base, name)
        if mine != theirs:
            raise UsageError(
                f"{policy_name}: {name}: expected the base's value ({_shown(theirs)}), since the posterior of "
                f"{posterior.source} varies it and would overwrite the policy's; found {_shown(mine)}"
            )


def _shown(value: Any) -> str:
    return "nothing" if value is _MISSING else repr(value)


def _read_table(table: Path) -> list[list[str]]:
    """The rows of ``posterior.csv``; text that is not UTF-8 or not CSV is a UsageError naming its line.

    Read as ``utf-8-sig``: the byte-order mark Excel writes before "CSV UTF-8" is not
    taken for part of the first column's name.
    """
    raw = table.read_bytes().removeprefix(codecs.BOM_UTF8)  # decoded as utf-8-sig, with positions in the text after it
    try:
        text = raw.decode("utf-8")
    except UnicodeDecodeError as error:
        line = raw[: error.start].count(b"\n") + 1
        found = raw[error.start : error.start + 1]
        raise UsageError(f"{table}:{line}: expected UTF-8 text, found the byte 0x{found.hex()}") from None
    reader = csv.reader(io.StringIO(text, newline=""))
    try:
        return list(reader)
    except csv.Error as error:
        if "field larger than field limit" in str(error):
            limit = csv.field_size_limit()
            message = f"expected a value of at most {limit:,} characters, found a longer one"
        else:
            message = f"expected CSV as crossings calibrate writes it, found {error}"
        raise UsageError(f"{table}:{reader.line_num}: {message}") from None


def _number(text: str) -> float:
    try:
        return float(text)
    except ValueError:
        return math.nan


def _what(path: Path) -> str:
    if path.is_dir():
        return "a folder"
    return "a file" if path.exists() else "nothing there"
