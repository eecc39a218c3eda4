"""Read scenario files: YAML -> extends -> overrides -> validated :class:`Scenario`.

The idea
--------
A scenario file is untrusted input, and a user who gets it wrong deserves one
line per mistake, ``FILE:LINE:COL: key.path: expected …, found …``, never a
traceback.  So loading happens in stages, each of which can only produce
:class:`~sim.scenario.errors.Problem` objects:

1. **Read**: at most :data:`MAX_SCENARIO_BYTES` (a larger file is refused before
   it is read), UTF-8 only.
2. **Parse** with ruamel.yaml (round-trip, pure Python, YAML 1.2, so ``NO`` stays
   the string ``"NO"``) into a *node graph* only: nothing is constructed from a
   tag, so ``!!python/object`` can do no harm, and aliases are still shared nodes.
3. **Convert** the nodes into *located* plain data (:class:`_Located`: a value plus
   the file/line/col of its key or list item).  This is where untrusted structure
   is refused: non-standard tags, duplicate keys, nesting deeper than
   :data:`MAX_DEPTH`, and more than :data:`MAX_NODES` nodes, as written (counted
   while parsing, which stops there) or once aliases are expanded (a "billion
   laughs" file stops here, quickly).
4. **Extend**: ``extends: base.yaml`` deep-merges the parent under the child (see
   :func:`_merge`); positions travel with the values, so a value inherited from
   the parent is reported at its line in the parent.  Mappings merge key by key.
   Lists of mappings (crossings, countries, policies, …) are *extended*: a child
   item whose ``id`` (``iso`` for countries) matches a parent item is merged into
   it, every other child item (a new id, or none at all) is appended, so a
   what-if scenario lists only the policies it adds.  To drop the parent's
   items, write an empty list (``policies: []``): an empty list always replaces.
   Lists of scalars (``accepts``, ``party_size``) are replaced by the child's.
5. **Override**: each ``--set dotted.path=value`` replaces one value (see
   :func:`_apply_override`).
6. **Flatten** into plain JSON-able data plus a *source map*
   ``key path -> (file, line, col)``, **validate** with pydantic and
   :func:`~sim.scenario.schema.reference_problems`, and map every error back
   through the source map (:mod:`sim.scenario.messages`).
"""

from __future__ import annotations

import datetime as dt
import hashlib
import json
import os
import re
import stat
import warnings
from collections.abc import Mapping, Sequence
from dataclasses import dataclass
from enum import Enum
from pathlib import Path
from typing import Any, NamedTuple

from pydantic import ValidationError
from ruamel.yaml import YAML
from ruamel.yaml.composer import Composer
from ruamel.yaml.error import MarkedYAMLError, ReusedAnchorWarning, YAMLError
from ruamel.yaml.nodes import MappingNode, Node, ScalarNode, SequenceNode
from ruamel.yaml.reader import ReaderError
from ruamel.yaml.scalarbool import ScalarBoolean

from sim.scenario.errors import Problem, ScenarioError
from sim.scenario.messages import (
    KeyPath,
    Position,
    describe,
    did_you_mean,
    identifier,
    identifier_key,
    problem_at,
    validation_problems,
)
from sim.scenario.schema import Scenario, reference_problems

__all__ = [
    "MAX_SCENARIO_BYTES",
    "MAX_NODES",
    "MAX_DEPTH",
    "MAX_EXTENDS",
    "LoadedScenario",
    "existing_file",
    "load_scenario",
    "load_scenario_data",
    "read_yaml_file",
]

MAX_SCENARIO_BYTES = 512 * 1024
"""Largest scenario (or sweep, params, targets) file read, bytes.

The largest real file, ``scenarios/mobilization-2022.yaml``, is 101 kB (most of it the
comments citing sources).  The pure-Python YAML parser reads plain text at about
1 MB/s, so 512 KiB keeps the worst case well inside the 2 s a bad file may take."""
MAX_NODES = 10_000
"""Most YAML nodes a file may hold, and may expand to counting every use of an alias.

Parsing costs about 50 µs a node, so a file dense with tiny values is stopped at this
count, not at its size; the largest real scenario has 1,922 nodes."""
MAX_DEPTH = 50
"""Deepest nesting of mappings and lists allowed in a file."""
MAX_EXTENDS = 16
"""Most files in a chain of ``extends`` (the file itself included)."""

# ruamel.yaml's scanner looks up to 1024 characters ahead for a simple key, at a cost
# quadratic in the flow collections opened on the way: a line of 10,000 '[' costs it
# a second before the depth limit can stop it.  Such a run is refused first, at C speed.
_FLOW_RUN = re.compile(r"(?:[\[{][ \t]*){%d}" % (MAX_DEPTH + 1))

SET_FILE = "<set>"
"""The file name problems of ``--set`` overrides are reported under."""

_CORE = "tag:yaml.org,2002:"
# Tags a plain-data YAML document resolves to; anything else (!!python/…,
# !!binary, !!set, !custom) was written on purpose and is refused.
_SCALAR_TAGS = frozenset(_CORE + name for name in ("str", "null", "bool", "int", "float", "timestamp"))
_MAP_TAG = _CORE + "map"
_SEQ_TAG = _CORE + "seq"
_MERGE_TAG = _CORE + "merge"


@dataclass(frozen=True)
class LoadedScenario:
    """A validated scenario, with the exact data it was validated from.

    Attributes
    ----------
    scenario
        The validated model.
    resolved
        Plain JSON-able data after ``extends`` and overrides (dates as ISO strings):
        exactly what was validated.  Outputs record it so a run can be repeated.
    source
        The scenario file as the caller named it (or the name given to
        :func:`load_scenario_data`).
    sha256
        Hex digest of the canonical JSON of ``resolved`` (sorted keys, no spaces).
    """

    scenario: Scenario
    resolved: dict[str, Any]
    source: str
    sha256: str


def load_scenario(path: str | Path, overrides: Sequence[str] = ()) -> LoadedScenario:
    """Load, merge, override and validate a scenario file.

    Parameters
    ----------
    path
        The YAML scenario file.  ``extends`` paths inside it are relative to it.
    overrides
        ``dotted.key.path=value`` strings applied in order after ``extends``
        merging, e.g. ``crossings.upper-lars.modes.car.lanes=12``.  A path
        segment addresses a list item by its ``id`` (``iso`` for countries) or
        index; the value is read as YAML.

    Returns
    -------
    LoadedScenario

    Raises
    ------
    ScenarioError
        With every problem found, each at its file, line and key path.
    """

    shown = str(path)
    if shown == "":
        # Path("") is the current folder: say what was given, not "a directory".
        raise ScenarioError([Problem(repr(shown), 0, 0, "", "expected a scenario file, found an empty path")])
    tree = _resolve_extends(Path(path), shown, chain=())
    return _overridden(tree, overrides, shown)


def load_scenario_data(
    data: Mapping[str, Any], name: str = "<data>", overrides: Sequence[str] = ()
) -> LoadedScenario:
    """Validate a scenario built in Python (notebooks, tests).

    Parameters
    ----------
    data
        Scenario keys as plain data; dates may be :class:`datetime.date` or ISO
        strings, enum members are taken by value.  ``extends`` is not supported.
    name
        Stands for the file name in problems (which have no line numbers).
    overrides
        ``dotted.key.path=value`` strings, as for :func:`load_scenario`.

    Returns
    -------
    LoadedScenario

    Raises
    ------
    ScenarioError
        With every problem found.
    """

    problems: list[Problem] = []
    plain = _plain(data, (), name, problems)
    if not problems and not isinstance(plain, dict):
        problems.append(
            Problem(name, 0, 0, "", f"expected a mapping of scenario keys, found {describe(plain)}")
        )
    if problems:
        raise ScenarioError(problems)
    tree = _locate(plain, (name, 0, 0))
    return _overridden(tree, overrides, name)


def _overridden(tree: _Located, overrides: Sequence[str], name: str) -> LoadedScenario:
    """Apply ``overrides`` to ``tree`` and validate it: every problem at once.

    An override that cannot be applied is left out, and the rest is still validated,
    so a mistake in one ``--set`` does not hide the scenario's other problems.
    """
    problems = [problem for text in overrides if (problem := _apply_override(tree, text)) is not None]
    data, source = _flatten(tree)
    try:
        loaded = _validated(data, source, name)
    except ScenarioError as error:
        raise ScenarioError(problems + error.problems) from None
    if problems:
        raise ScenarioError(problems)
    return loaded


def read_yaml_file(path: str | Path, kind: str) -> tuple[dict[str, Any], dict[KeyPath, Position]]:
    """Read another kind of project file (targets, …) with the scenario reader's safety.

    Stages 1–3 and the flattening of stage 6, as for a scenario (size and UTF-8 checks, tag-free
    parsing, duplicate keys, depth and alias limits), without ``extends`` or
    overrides; the caller validates the data with its own model and
    :func:`~sim.scenario.messages.validation_problems`.

    Parameters
    ----------
    path
        The YAML file, named as the user named it (problems repeat the name).
    kind
        What the file is, for messages: ``expected an existing {kind} file``.

    Returns
    -------
    (data, source)
        Plain JSON-able data (a mapping; dates as ISO strings) and its source map
        ``key path -> (file, line, col)``.

    Raises
    ------
    ScenarioError
        With every problem found while reading.
    """

    shown = str(path)
    tree = _parse(_read_text(Path(path), shown, kind), shown, kind=kind)
    return _flatten(tree)


# --------------------------------------------------------------------------- validation


def _validated(data: dict[str, Any], source: Mapping[KeyPath, Position], name: str) -> LoadedScenario:
    try:
        scenario = Scenario.model_validate(data)
    except ValidationError as error:
        raise ScenarioError(validation_problems(error, data, source, name)) from None
    problems = [problem_at(loc, message, data, source, name) for loc, message in reference_problems(scenario)]
    if problems:
        raise ScenarioError(problems)
    return LoadedScenario(scenario=scenario, resolved=data, source=name, sha256=_digest(data))


def _digest(data: dict[str, Any]) -> str:
    canonical = json.dumps(data, sort_keys=True, separators=(",", ":"))
    return hashlib.sha256(canonical.encode("utf-8")).hexdigest()


def _plain(value: Any, path: KeyPath, name: str, problems: list[Problem]) -> Any:
    """JSON-able copy of Python-built data; unsupported values become problems."""

    if isinstance(value, Enum):
        value = value.value
    if isinstance(value, (dt.date, dt.datetime)):
        return value.isoformat()
    if value is None or isinstance(value, (str, bool, int, float)):
        return value
    if isinstance(value, Mapping):
        result: dict[str, Any] = {}
        for key, item in value.items():
            key = key.value if isinstance(key, Enum) else key
            if not isinstance(key, str):
                problems.append(
                    Problem(name, 0, 0, _dotted(path), f"expected string keys, found {describe(key)}")
                )
                continue
            result[key] = _plain(item, (*path, key), name, problems)
        return result
    if isinstance(value, (list, tuple)):
        return [_plain(item, (*path, index), name, problems) for index, item in enumerate(value)]
    problems.append(
        Problem(name, 0, 0, _dotted(path), f"expected plain data, found a {type(value).__name__}")
    )
    return None


def _dotted(path: KeyPath) -> str:
    return ".".join(str(segment) for segment in path)


# --------------------------------------------------------------------------- located data


@dataclass
class _Located:
    """A value read from YAML and where it was written.

    ``value`` is a ``dict[str, _Located]``, a ``list[_Located]`` or a scalar
    (str, int, float, bool, None, date, datetime).  ``position`` is that of the
    key for a mapping value, of the item for a list item.
    """

    value: Any
    position: Position


def _flatten(
    tree: _Located, path: KeyPath = (), source: dict[KeyPath, Position] | None = None
) -> tuple[Any, dict[KeyPath, Position]]:
    """Plain JSON-able data (dates as ISO strings) and its source map."""

    source = {} if source is None else source
    source[path] = tree.position
    value = tree.value
    if isinstance(value, dict):
        return {key: _flatten(item, (*path, key), source)[0] for key, item in value.items()}, source
    if isinstance(value, list):
        return [_flatten(item, (*path, index), source)[0] for index, item in enumerate(value)], source
    if isinstance(value, (dt.date, dt.datetime)):
        return value.isoformat(), source
    return value, source


def _plain_of(tree: _Located) -> Any:
    return _flatten(tree)[0]


# --------------------------------------------------------------------------- reading and parsing


def _read_text(path: Path, shown: str, kind: str = "scenario") -> str:
    """The file's text; refuses missing, oversized and non-UTF-8 files.

    The size is checked before reading (a regular file's size is known), and the read
    itself stops one byte past the limit (a device or a pipe has no size to ask).
    """

    def fail(line: int, col: int, message: str) -> ScenarioError:
        return ScenarioError([Problem(shown, line, col, "", message)])

    try:
        with path.open("rb") as stream:
            info = os.fstat(stream.fileno())
            if stat.S_ISREG(info.st_mode) and info.st_size > MAX_SCENARIO_BYTES:
                found = _bytes(info.st_size)
                if found == _bytes(MAX_SCENARIO_BYTES):
                    # Just past the limit, both round alike: the exact count shows the excess.
                    found = f"{info.st_size:,} bytes"
                raise fail(0, 0, _too_large(found))
            raw = stream.read(MAX_SCENARIO_BYTES + 1)
    except (FileNotFoundError, ValueError):  # ValueError: a NUL byte, which no file name has
        raise fail(0, 0, f"expected an existing {kind} file, found nothing") from None
    except IsADirectoryError:
        raise fail(0, 0, f"expected a {kind} file, found a directory") from None
    except OSError as error:
        raise fail(0, 0, f"expected a readable {kind} file, found an error: {error.strerror}") from None
    if len(raw) > MAX_SCENARIO_BYTES:
        raise fail(0, 0, _too_large("more"))
    try:
        return raw.decode("utf-8-sig")
    except UnicodeDecodeError as error:
        line = raw.count(b"\n", 0, error.start) + 1
        col = error.start - (raw.rfind(b"\n", 0, error.start) + 1) + 1
        raise fail(line, col, f"expected UTF-8 text, found byte 0x{raw[error.start]:02x}") from None


def _too_large(found: str) -> str:
    return f"expected a file of at most {_bytes(MAX_SCENARIO_BYTES)}, found {found}"


def _bytes(size: int) -> str:
    """A size as people write it: ``512 KiB``, ``100 MiB``, ``3.5 GiB`` (bytes below 1 KiB)."""
    for unit, factor in (("GiB", 1 << 30), ("MiB", 1 << 20), ("KiB", 1 << 10)):
        if size >= factor:
            return f"{size / factor:.1f}".removesuffix(".0") + f" {unit}"
    return f"{size} bytes"


def _parse(text: str, file: str, *, root_mapping: bool = True, kind: str = "scenario") -> _Located:
    """YAML text -> located plain data, or ScenarioError with every problem found."""

    yaml = YAML(typ="rt", pure=True)
    # ruamel.yaml (>= 0.19) stops its recursive composer here, so a file nested 10,000
    # deep never reaches Python's recursion limit; the converter enforces MAX_DEPTH
    # itself in any case, including nesting built from aliases.
    yaml.max_depth = MAX_DEPTH + 2
    yaml.Composer = _BoundedComposer
    deep = _FLOW_RUN.search(text)
    if deep is not None:
        # The opener that passes the limit: the last one of the run.
        at = deep.start() + len(deep.group().rstrip(" \t")) - 1
        raise ScenarioError([Problem(file, *_line_col(text, at), "", _too_deep())])
    try:
        with warnings.catch_warnings():
            # A reused anchor name is legal YAML (the later one wins); no need to warn.
            warnings.simplefilter("ignore", ReusedAnchorWarning)
            root = yaml.compose(text)
    except RecursionError:
        raise ScenarioError([Problem(file, 0, 0, "", _too_deep())]) from None
    except YAMLError as error:
        raise ScenarioError([_unusual_line_break(error, text, file) or _syntax_problem(error, text, file)]) from None
    if root is None:
        if root_mapping:
            raise ScenarioError(
                [Problem(file, 0, 0, "", f"expected a mapping of {kind} keys, found an empty document")]
            )
        return _Located(None, (file, 0, 0))
    converter = _Converter(file, yaml)
    if root_mapping and not isinstance(root, MappingNode):
        found = "a list" if isinstance(root, SequenceNode) else f"{root.value!r}"
        raise ScenarioError(
            [Problem(*converter.position(root), "", f"expected a mapping of {kind} keys, found {found}")]
        )
    return converter.run(root)


class _NodeBudgetSpent(MarkedYAMLError):
    """Raised by :class:`_BoundedComposer` at the first node past :data:`MAX_NODES`."""


class _BoundedComposer(Composer):
    """ruamel.yaml's composer, stopping at the first node past :data:`MAX_NODES`.

    Counting while composing (not afterwards) is what bounds the time: the parser
    never reads past the node that spends the budget.
    """

    composed = 0

    def compose_node(self, parent: Any, index: Any) -> Any:
        self.composed += 1
        if self.composed > MAX_NODES:
            raise _NodeBudgetSpent(problem="too many nodes", problem_mark=self.parser.peek_event().start_mark)
        return super().compose_node(parent, index)


#: Characters YAML reads as line breaks though editors may show none (NEL, LS, PS).
_UNUSUAL_BREAKS = re.compile("[\u0085\u2028\u2029]")


def _unusual_line_break(error: YAMLError, text: str, file: str) -> Problem | None:
    """A parse error on a line that holds a line break an editor may not show: that character, named.

    YAML breaks the line there, so the parser's own message (``expected <block end>``)
    points past something the user cannot see.  Only a break on the line (as editors
    count lines) where the parser stopped is blamed; one elsewhere is left alone.
    """
    mark = getattr(error, "problem_mark", None)
    if mark is None or not 0 <= mark.index <= len(text):
        return None
    start = text.rfind("\n", 0, mark.index) + 1
    end = text.find("\n", mark.index)
    found = _UNUSUAL_BREAKS.search(text, start, len(text) if end < 0 else end)
    if found is None:
        return None
    return Problem(file, *_line_col(text, found.start()), "", f"expected ordinary line breaks, found U+{ord(found.group()):04X}, which YAML reads as one")


def _line_col(text: str, at: int) -> tuple[int, int]:
    """Line and column (from 1) of character offset ``at``, counting lines as editors do (by \\n)."""
    return text.count("\n", 0, at) + 1, at - (text.rfind("\n", 0, at) + 1) + 1


def _too_deep() -> str:
    return f"expected at most {MAX_DEPTH} levels of nesting, found more"


def _syntax_problem(error: YAMLError, text: str, file: str) -> Problem:
    """A ruamel.yaml error as ``expected …, found …`` at its line and column."""

    if isinstance(error, ReaderError):
        # Raised for control characters; its position is a character offset.
        code = error.character if isinstance(error.character, int) else ord(error.character)
        return Problem(file, *_line_col(text, error.position), "", f"expected printable characters, found U+{code:04X}")
    if not isinstance(error, MarkedYAMLError):
        return Problem(file, 0, 0, "", f"expected valid YAML, found an error: {error}")
    if type(error).__name__ == "MaxDepthExceededError":  # the class is missing from older ruamel.yaml
        message = _too_deep()
    elif isinstance(error, _NodeBudgetSpent):
        message = f"expected at most {MAX_NODES:,} YAML nodes, found more"
    else:
        message = _yaml_message(error.problem or "", error.context or "")
    mark = error.problem_mark or error.context_mark
    line, col = (mark.line + 1, mark.column + 1) if mark is not None else (0, 0)
    return Problem(file, line, col, "", message)


def _yaml_message(problem: str, context: str) -> str:
    """Reword ruamel.yaml's messages in the ``expected …, found …`` style."""

    problem = problem.replace(", but got ", ", found ").replace(", but found ", ", found ")
    where = f" ({context})" if context else ""
    if "'\\t'" in problem:
        return "expected spaces for indentation, found a tab"
    if context.startswith("expected") and problem.startswith("but found "):
        return f"{context}, {problem.removeprefix('but ')}"
    if problem.startswith("expected "):
        return f"{problem}{where}"
    if problem.startswith("found "):
        return f"expected valid YAML, {problem}{where}"
    return f"expected valid YAML, found: {problem}{where}"


class _Abort(Exception):
    """Conversion cannot sensibly go on (a size or depth limit): report one problem."""

    def __init__(self, position: Position, message: str, path: KeyPath = ()) -> None:
        super().__init__(message)
        self.position = position
        self.message = message
        self.path = path


class _TooManyNodes(_Abort):
    """The node budget ran out; where exactly is arbitrary, so it is reported at
    the top-level key whose value blew it."""


class _Converter:
    """Convert one composed YAML document into :class:`_Located` plain data.

    Collects problems (bad tags, duplicate keys) instead of stopping at the
    first, so a file is fixed in one pass; limits abort at once.
    """

    def __init__(self, file: str, yaml: YAML) -> None:
        self.file = file
        self.constructor = yaml.constructor
        self.nodes = 0
        self.problems: list[tuple[KeyPath, Position, str]] = []

    def run(self, root: Node) -> _Located:
        try:
            tree = self.convert(root, (), self.position(root), depth=1)
        except _Abort as abort:
            raise ScenarioError([Problem(*abort.position, _dotted(abort.path), abort.message)]) from None
        if self.problems:
            data = _plain_of(tree)
            raise ScenarioError(
                [
                    problem_at(path, message, data, {path: position}, self.file)
                    for path, position, message in self.problems
                ]
            )
        return tree

    def position(self, node: Node) -> Position:
        return (self.file, node.start_mark.line + 1, node.start_mark.column + 1)

    def convert(self, node: Node, path: KeyPath, position: Position, depth: int) -> _Located:
        # Counting every visit (not every distinct node) is what bounds alias expansion.
        self.nodes += 1
        if self.nodes > MAX_NODES:
            raise _TooManyNodes(
                position, f"expected at most {MAX_NODES:,} YAML nodes after expanding aliases, found more"
            )
        if isinstance(node, MappingNode):
            return self._collection(node, _MAP_TAG, path, position, depth, self._mapping)
        if isinstance(node, SequenceNode):
            return self._collection(node, _SEQ_TAG, path, position, depth, self._sequence)
        return _Located(self._scalar(node, path, position), position)

    def _collection(
        self, node: Node, tag: str, path: KeyPath, position: Position, depth: int, convert_items: Any
    ) -> _Located:
        if depth > MAX_DEPTH:
            raise _Abort(position, _too_deep())
        if node.tag != tag:
            self._refuse_tag(node, path, position)
            return _Located(None, position)
        return _Located(convert_items(node, path, depth), position)

    def _refuse_tag(self, node: Node, path: KeyPath, position: Position) -> None:
        shown = node.tag.replace(_CORE, "!!", 1) if node.tag.startswith(_CORE) else node.tag
        self.problems.append((path, position, f"expected plain YAML data, found tag {shown}"))

    def _mapping(self, node: MappingNode, path: KeyPath, depth: int) -> dict[str, _Located]:
        items: dict[str, _Located] = {}
        merged: list[Node] = []
        for key_node, value_node in node.value:
            if key_node.tag == _MERGE_TAG:
                merged.append(value_node)
                continue
            key = self._key(key_node, path)
            if key is None:
                continue
            position = self.position(key_node)
            if key in items:
                first = items[key].position[1]
                self.problems.append(
                    (
                        (*path, key),
                        position,
                        f"expected unique keys, found {key!r} twice (first on line {first})",
                    )
                )
                continue
            try:
                items[key] = self.convert(value_node, (*path, key), position, depth + 1)
            except _TooManyNodes as abort:
                if depth == 1:
                    raise _TooManyNodes(position, abort.message, (key,)) from None
                raise
        for source in merged:
            self._merge_key(items, source, path, depth)
        return items

    def _merge_key(self, items: dict[str, _Located], source: Node, path: KeyPath, depth: int) -> None:
        """YAML ``<<: *anchor`` (or a list of them): copy keys not written here."""

        sources = source.value if isinstance(source, SequenceNode) else [source]
        for mapping in sources:
            if not isinstance(mapping, MappingNode):
                self.problems.append(
                    (
                        path,
                        self.position(mapping),
                        "expected a mapping to merge with <<, found something else",
                    )
                )
                continue
            merged = self.convert(mapping, path, self.position(mapping), depth)
            for key, value in (merged.value or {}).items():
                items.setdefault(key, value)

    def _key(self, node: Node, path: KeyPath) -> str | None:
        # Keys are names: the text as written ("1", "yes" and "2022-09-21" stay strings).
        if isinstance(node, ScalarNode) and node.tag in _SCALAR_TAGS:
            return str(node.value)
        if isinstance(node, ScalarNode):
            self._refuse_tag(node, path, self.position(node))
        else:
            self.problems.append(
                (path, self.position(node), "expected a plain key, found a mapping or list as key")
            )
        return None

    def _sequence(self, node: SequenceNode, path: KeyPath, depth: int) -> list[_Located]:
        return [
            self.convert(item, (*path, index), self.position(item), depth + 1)
            for index, item in enumerate(node.value)
        ]

    def _scalar(self, node: Node, path: KeyPath, position: Position) -> Any:
        if node.tag not in _SCALAR_TAGS:
            self._refuse_tag(node, path, position)
            return None
        if node.tag == _CORE + "str":
            return str(node.value)
        try:
            value = self.constructor.construct_object(node)
        except (YAMLError, ValueError, TypeError, OverflowError):
            # E.g. 2022-13-01 looks like a date but is not one: keep the text and
            # let validation say what was expected.
            return str(node.value)
        return _builtin(value)


def _builtin(value: Any) -> Any:
    """Plain Python value of a ruamel scalar (which may be a subclass carrying format)."""

    if value is None or isinstance(value, bool):
        return value
    if isinstance(value, int):
        return bool(value) if isinstance(value, ScalarBoolean) else int(value)
    if isinstance(value, float):
        return float(value)
    if isinstance(value, dt.datetime):
        return dt.datetime.combine(value.date(), value.timetz())
    if isinstance(value, dt.date):
        return dt.date(value.year, value.month, value.day)
    return str(value)


# --------------------------------------------------------------------------- extends


def _resolve_extends(path: Path, shown: str, chain: tuple[tuple[Path, str], ...]) -> _Located:
    """The file's located data with its ``extends`` chain merged underneath.

    ``chain`` holds the files extending this one, outermost first, to detect cycles.
    """

    tree = _parse(_read_text(path, shown), shown)
    extends = tree.value.pop("extends", None)
    if extends is None:
        return tree
    if not isinstance(extends.value, str) or not extends.value.strip():
        raise ScenarioError(
            [
                Problem(
                    *extends.position,
                    "extends",
                    f"expected a file path, found {describe(_plain_of(extends))}",
                )
            ]
        )
    parent_path = path.parent / extends.value
    parent_shown = str(Path(shown).parent / extends.value)
    here = (*chain, (path.resolve(), shown))
    parent_file = existing_file(parent_path)
    seen = [resolved for resolved, _ in here]
    if parent_file in seen:
        # Named as it was first met, so the cycle reads as one: a -> b -> a.
        cycle = " -> ".join([name for _, name in here] + [here[seen.index(parent_file)][1]])
        raise ScenarioError(
            [Problem(*extends.position, "extends", f"expected no cycle of extends, found {cycle}")]
        )
    if parent_file is None:
        raise ScenarioError(
            [Problem(*extends.position, "extends", f"expected an existing file, found {describe(extends.value)}")]
        )
    if len(here) >= MAX_EXTENDS:
        raise ScenarioError(
            [Problem(*extends.position, "extends", f"expected at most {MAX_EXTENDS} files in a chain of extends, found more")]
        )
    return _merge(_resolve_extends(parent_path, parent_shown, here), tree)


def existing_file(path: Path) -> Path | None:
    """``path`` resolved if it names an existing regular file, else None.

    A path no file can have (a NUL byte, a name too long) is simply not one, rather
    than an error from the operating system.
    """
    try:
        return path.resolve() if path.is_file() else None
    except (OSError, ValueError):
        return None


def _merge(parent: _Located, child: _Located, path: KeyPath = ()) -> _Located:
    """Deep-merge ``child`` over ``parent``; the winning value keeps its position.

    * mappings merge key by key;
    * an empty list in the child replaces the parent's value: ``policies: []``
      clears the inherited policies;
    * lists of mappings merge item by item: a child item whose identifier
      (``id``, or ``iso`` for countries) matches a parent item is merged into
      it, recursively; every other child item (a new identifier, or none, like
      a policy written without ``id``) is appended, in the child's order;
    * anything else (scalars, lists of scalars such as ``accepts``, a change of
      type) is replaced by the child's value.

    An item merged into one of another ``kind`` (a policy id reused for a policy of
    another kind) is refused: its keys would mix with the other kind's.
    """

    if isinstance(parent.value, dict) and isinstance(child.value, dict):
        merged = dict(parent.value)
        for key, value in child.value.items():
            merged[key] = _merge(merged[key], value, (*path, key)) if key in merged else value
        return _Located(merged, child.position)
    if child.value and _mappings(parent) and _mappings(child):
        return _Located(_merge_items(parent.value, child.value, path), child.position)
    return child


def _mappings(tree: _Located) -> bool:
    """Whether ``tree`` is a list whose every item is a mapping."""

    return isinstance(tree.value, list) and all(isinstance(item.value, dict) for item in tree.value)


def _identifier_of(item: _Located) -> str | None:
    if not isinstance(item.value, dict):
        return None
    return identifier({key: value.value for key, value in item.value.items()})


def _merge_items(parents: list[_Located], children: list[_Located], path: KeyPath = ()) -> list[_Located]:
    """The parent's items, those the child names merged, then the child's others.

    A child item merges into the first parent item with its identifier, once: a
    second child item patching the same parent item is refused, naming both, rather
    than one silently absorbing the other (or being appended half-written).
    """

    merged = list(parents)
    index: dict[str, int] = {}
    for position, item in enumerate(parents):
        key = _identifier_of(item)
        if key is not None:
            index.setdefault(key, position)
    patched: dict[str, _Located] = {}
    for child in children:
        key = _identifier_of(child)
        if key is not None and key in patched:
            first, again = _identifier_key(patched[key]), _identifier_key(child)
            message = f"expected a unique {again.name}, found {key!r} twice (first on line {first.located.position[1]})"
            raise ScenarioError([Problem(*again.located.position, _dotted((*path, key, again.name)), message)])
        if key is not None and key in index:
            at = index.pop(key)
            patched[key] = child
            _same_kind(merged[at], child, (*path, key))
            merged[at] = _merge(merged[at], child, (*path, key))
        else:
            merged.append(child)
    return merged


class _Key(NamedTuple):
    name: str
    located: _Located


def _identifier_key(item: _Located) -> _Key:
    """The key that gives ``item`` its identifier (as :func:`identifier` chooses it), and its value."""
    name = identifier_key({key: value.value for key, value in item.value.items()})
    if name is None:
        raise AssertionError("an item without an identifier was taken for a duplicate")
    return _Key(name, item.value[name])


def _same_kind(parent: _Located, child: _Located, path: KeyPath) -> None:
    """Refuse a child item that names a parent item of another ``kind``."""
    theirs, mine = parent.value.get("kind"), child.value.get("kind")
    if theirs is None or mine is None or theirs.value == mine.value:
        return
    raise ScenarioError(
        [
            Problem(
                *mine.position,
                _dotted((*path, "kind")),
                f"expected {describe(theirs.value)}, the kind of the {path[-1]!r} it extends (an id names one"
                f" policy: give a new one its own id), found {describe(mine.value)}",
            )
        ]
    )


# --------------------------------------------------------------------------- overrides


def _apply_override(tree: _Located, text: str) -> Problem | None:
    """Apply one ``dotted.path=value`` to ``tree`` in place; a Problem if malformed."""

    dotted, sep, raw_value = text.partition("=")
    dotted = dotted.strip()

    def problem(message: str) -> Problem:
        return Problem(SET_FILE, 0, 0, dotted, message)

    if not sep:
        return problem(f"expected KEY.PATH=VALUE, found {text!r}")
    segments = dotted.split(".")
    if not all(segments):
        return problem(f"expected a dotted key path before '=', found {dotted!r}")
    try:
        value = _parse(raw_value, SET_FILE, root_mapping=False)
    except ScenarioError as error:
        return problem(error.problems[0].message)
    _place(value, (SET_FILE, 0, 0))

    node = tree
    for depth, segment in enumerate(segments):
        last = depth == len(segments) - 1
        where = ".".join(segments[:depth]) or "the top level"
        if isinstance(node.value, dict):
            if last:
                node.value[segment] = value
            else:
                # A mapping that is not there yet is created: the schema judges the result.
                node = node.value.setdefault(segment, _Located({}, (SET_FILE, 0, 0)))
        elif isinstance(node.value, list):
            index = _list_index(node.value, segment)
            if index is None:
                known = [ident for item in node.value if (ident := _identifier_of(item)) is not None]
                return problem(
                    f"expected a known id or index in {where}, found {segment!r}{did_you_mean(segment, known)}"
                )
            if last:
                node.value[index] = value
            else:
                node = node.value[index]
        else:
            return problem(f"expected a mapping or list at {where}, found {describe(_plain_of(node))}")
    return None


def _list_index(items: list[_Located], segment: str) -> int | None:
    matches = [index for index, item in enumerate(items) if _identifier_of(item) == segment]
    if len(matches) == 1:
        return matches[0]
    if segment.isdigit() and int(segment) < len(items):
        return int(segment)
    return None


def _place(tree: _Located, position: Position) -> None:
    """Give a ``--set`` value, and everything in it, the position of the override."""

    tree.position = position
    if isinstance(tree.value, dict):
        children: Any = tree.value.values()
    elif isinstance(tree.value, list):
        children = tree.value
    else:
        children = ()
    for child in children:
        _place(child, position)


def _locate(value: Any, position: Position) -> _Located:
    """Plain data as a located tree, every value at ``position``."""

    if isinstance(value, dict):
        return _Located({key: _locate(item, position) for key, item in value.items()}, position)
    if isinstance(value, list):
        return _Located([_locate(item, position) for item in value], position)
    return _Located(value, position)
