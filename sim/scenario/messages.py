"""Turn validation failures into :class:`~sim.scenario.errors.Problem` lines.

Pydantic reports an error as a ``loc`` tuple (keys by name, list items by index,
plus a few synthetic segments such as the tag of a discriminated union or
``[key]`` for a bad mapping key) and an English sentence.  Users get instead::

    FILE:LINE:COL: crossings.upper-lars.modes.car.lanes: expected a value >= 1, found -2

Three pieces do that translation:

* :func:`walk_loc` follows ``loc`` through the :class:`~sim.scenario.schema.Scenario`
  model classes, dropping synthetic segments and remembering which model owns the
  last key (for did-you-mean suggestions) and what type it expects (to list the
  allowed values of a literal or enum);
* :func:`error_message` rewrites each pydantic error type as ``expected …, found …``;
* :func:`human_path` prints a key path with list items named by their ``id`` (or
  ``iso``) when they have a unique one, and :func:`problem_at` finds the line of
  the key through the source map built while reading the YAML.
"""

from __future__ import annotations

import datetime as dt
import types
from collections import Counter
from collections.abc import Mapping, Sequence
from dataclasses import dataclass
from difflib import get_close_matches
from enum import Enum
from typing import Annotated, Any, Literal, Union, get_args, get_origin

from pydantic import BaseModel, ValidationError

from sim.scenario.errors import Problem
from sim.scenario.schema import Scenario

__all__ = [
    "KeyPath",
    "Position",
    "SourceMap",
    "identifier",
    "identifier_key",
    "did_you_mean",
    "describe",
    "describe_key",
    "human_path",
    "problem_at",
    "walk_loc",
    "error_message",
    "validation_problems",
]

KeyPath = tuple[str | int, ...]
Position = tuple[str, int, int]
"""``(file, line, col)``, 1-based; ``(file, 0, 0)`` when there is no position."""
SourceMap = Mapping[KeyPath, Position]

# Keys that name an item of a list, in order of preference (countries use ``iso``).
IDENTIFIER_KEYS = ("id", "iso")

# Readable descriptions of the regular expressions used in schema.py.
_PATTERNS = {
    r"^[a-z0-9][a-z0-9-]*$": "a lower-case identifier (letters, digits, dashes)",
    r"^[A-Z]{2}$": "a two-letter upper-case ISO country code",
    # Only scenario names use it; they name the folder outputs/<name>-<seed>/, so say so.
    r"^[A-Za-z0-9][A-Za-z0-9_.-]*$": "a folder name inside outputs/ (a letter or digit, then letters, digits, '_', '.', '-')",
}

# pydantic error type -> what was expected; the found part is the offending input.
_EXPECTED = {
    "int_parsing": "an integer",
    "int_type": "an integer",
    "int_from_float": "an integer",
    "float_parsing": "a number",
    "float_type": "a number",
    "finite_number": "a finite number",
    "bool_parsing": "true or false",
    "bool_type": "true or false",
    "string_type": "a string",
    "list_type": "a list",
    "dict_type": "a mapping",
    "model_type": "a mapping",
    "model_attributes_type": "a mapping",
    "date_type": "an ISO date (YYYY-MM-DD)",
    "date_parsing": "an ISO date (YYYY-MM-DD)",
    "date_from_datetime_parsing": "an ISO date (YYYY-MM-DD)",
    "date_from_datetime_inexact": "a date without a time of day",
    "date_future": "a date in the future",
    "date_past": "a date in the past",
}

_BOUNDS = {
    "greater_than": ("gt", ">"),
    "greater_than_equal": ("ge", ">="),
    "less_than": ("lt", "<"),
    "less_than_equal": ("le", "<="),
}

_LENGTHS = {
    "too_short": ("at least", "min_length"),
    "too_long": ("at most", "max_length"),
    "string_too_short": ("at least", "min_length"),
    "string_too_long": ("at most", "max_length"),
}

# Errors a schema.py validator raises on a whole model, and the key inside it
# that is really at fault; pointing there puts the user on the right line.
_CULPRIT_KEYS = {
    "date_order": ("end", "until"),
    "shares_sum": ("groups",),
    "visa_share": ("schengen_visa_share",),
    "stay_window": ("days",),
}


def identifier(item: Any) -> str | None:
    """The identifier of a list item: its ``id`` or ``iso`` string, if any.

    Parameters
    ----------
    item
        A list item of plain data.

    Returns
    -------
    str or None
        ``None`` unless ``item`` is a mapping with a non-empty string ``id``
        (or, failing that, ``iso``).
    """

    key = identifier_key(item)
    return None if key is None else item[key]


def identifier_key(item: Any) -> str | None:
    """Which key gives a list item its identifier (:func:`identifier`): ``id`` or ``iso``, or ``None``."""

    if isinstance(item, Mapping):
        for key in IDENTIFIER_KEYS:
            value = item.get(key)
            if isinstance(value, str) and value:
                return key
    return None


def item_labels(items: Sequence[Any]) -> list[str]:
    """How each item of a list is named in a printed key path.

    An item's identifier when no other item shares it (and it cannot be mistaken
    for a path separator), else its index.
    """

    ids = [identifier(item) for item in items]
    counts = Counter(ids)
    return [
        ident if ident is not None and counts[ident] == 1 and "." not in ident else str(index)
        for index, ident in enumerate(ids)
    ]


def human_path(loc: KeyPath, data: Any) -> str:
    """Dotted key path with list items named by identifier.

    Parameters
    ----------
    loc
        Key path: ``str`` keys and ``int`` list indexes.
    data
        The data the path points into, used to find the identifiers.

    Returns
    -------
    str
        For example ``crossings.upper-lars.modes.car.lanes`` or
        ``policies.0.crossing`` (a policy without ``id``).
    """

    parts: list[str] = []
    node = data
    for segment in loc:
        if isinstance(segment, int) and isinstance(node, list):
            labels = item_labels(node)
            parts.append(labels[segment] if 0 <= segment < len(labels) else str(segment))
            node = node[segment] if 0 <= segment < len(node) else None
        else:
            parts.append(str(segment))
            node = node.get(segment) if isinstance(node, Mapping) else None
    return ".".join(parts)


def problem_at(loc: KeyPath, message: str, data: Any, source: SourceMap, file: str) -> Problem:
    """A :class:`Problem` for the key at ``loc``.

    The position is that of ``loc`` in ``source``, or of its closest ancestor
    that has one (a missing key is reported at its parent mapping).  Without
    any, the problem is placed at ``file:0:0``.
    """

    return Problem(*_position(loc, source, file), human_path(loc, data), message)


def _position(loc: KeyPath, source: SourceMap, file: str) -> Position:
    for end in range(len(loc), -1, -1):
        if loc[:end] in source:
            return source[loc[:end]]
    return (file, 0, 0)


@dataclass(frozen=True)
class LocWalk:
    """Where a pydantic ``loc`` leads in the scenario model.

    Attributes
    ----------
    loc
        The key path with pydantic's synthetic segments (union tags, ``[key]``) dropped.
    owner
        The model class whose field (or missing/extra key) ``loc`` ends at, if known.
    expected
        The type annotation expected at ``loc`` (for a bad mapping key: the key type).
    """

    loc: KeyPath
    owner: type[BaseModel] | None
    expected: Any


def walk_loc(loc: Sequence[str | int], root: type[BaseModel] = Scenario) -> LocWalk:
    """Follow a pydantic error ``loc`` through the model classes.

    Parameters
    ----------
    loc
        ``error["loc"]`` from :meth:`pydantic.ValidationError.errors`.
    root
        The model that was validated.

    Returns
    -------
    LocWalk
    """

    clean: list[str | int] = []
    owner: type[BaseModel] | None = None
    expected: Any = root
    dict_key_type: Any = None
    for segment in loc:
        expected = _unwrap(expected)
        if segment == "[key]":
            # pydantic appends this after a mapping key it could not validate.
            expected = dict_key_type
            continue
        if _is_model(expected):
            owner = expected
            field = _field(expected, segment)
            expected = field.annotation if field is not None else None
        elif get_origin(expected) is list:
            expected = get_args(expected)[0]
        elif get_origin(expected) is dict:
            dict_key_type, expected = get_args(expected)
        elif _is_union(expected) and isinstance(segment, str):
            member = _tagged_member(expected, segment)
            if member is not None:
                # A discriminated union names the branch it tried; not a key of the file.
                expected = member
                continue
            expected = None
        else:
            expected = None
        clean.append(segment)
    return LocWalk(tuple(clean), owner, _unwrap(expected))


def _unwrap(annotation: Any) -> Any:
    """Strip ``Annotated`` and ``Optional`` so the walk sees the real type."""

    while True:
        if get_origin(annotation) is Annotated:
            annotation = get_args(annotation)[0]
        elif _is_union(annotation):
            members = [a for a in get_args(annotation) if a is not type(None)]
            if len(members) != 1:
                return annotation
            annotation = members[0]
        else:
            return annotation


def _is_union(annotation: Any) -> bool:
    return get_origin(annotation) in (Union, types.UnionType)


def _is_model(annotation: Any) -> bool:
    return isinstance(annotation, type) and issubclass(annotation, BaseModel)


def _field(model: type[BaseModel], key: str | int) -> Any:
    for name, field in model.model_fields.items():
        if key in (name, field.alias):
            return field
    return None


def _field_names(model: type[BaseModel]) -> list[str]:
    """Keys a user may write in this model: aliases where they exist (``from``)."""

    return [field.alias or name for name, field in model.model_fields.items()]


def _tagged_member(union: Any, tag: str) -> type[BaseModel] | None:
    for member in get_args(union):
        if _is_model(member) and tag in _literal_values(member):
            return member
    return None


def _literal_values(model: type[BaseModel]) -> set[Any]:
    values: set[Any] = set()
    for field in model.model_fields.values():
        if get_origin(field.annotation) is Literal:
            values.update(get_args(field.annotation))
    return values


def _allowed_values(annotation: Any) -> list[str]:
    if get_origin(annotation) is Literal:
        return [str(value) for value in get_args(annotation)]
    if isinstance(annotation, type) and issubclass(annotation, Enum):
        return [str(member.value) for member in annotation]
    return []


def _discriminator_values(union: Any, key: str) -> list[str]:
    values: list[str] = []
    for member in get_args(union):
        field = _field(member, key) if _is_model(member) else None
        if field is not None and get_origin(field.annotation) is Literal:
            values.extend(str(v) for v in get_args(field.annotation))
    return values


def describe(value: Any) -> str:
    """How a found value is shown: YAML-like, short, quoted when it is text."""

    if isinstance(value, bool):
        return "true" if value else "false"
    if value is None:
        return "null"
    if isinstance(value, Mapping):
        return "a mapping"
    if isinstance(value, (list, tuple)):
        return "a list"
    if isinstance(value, (dt.date, dt.datetime)):
        return value.isoformat()
    if isinstance(value, Enum):
        value = value.value
    if isinstance(value, str):
        return repr(value if len(value) <= 60 else value[:57] + "...")
    return str(value)


def describe_key(data: Mapping[str, Any], key: str) -> str:
    """How the value at ``key`` of a mapping read from a file is shown: ``none`` when the key is missing
    (``null`` is a value that is there)."""
    return describe(data[key]) if key in data else "none"


def _number(bound: Any) -> str:
    # A bound on a float field arrives as 0.0; users wrote (and read) 0.
    return str(int(bound)) if isinstance(bound, float) and bound.is_integer() else str(bound)


def did_you_mean(found: str, known: Sequence[str]) -> str:
    """`` (did you mean 'x'?)`` for the closest of ``known``, or an empty string."""

    near = get_close_matches(found, list(known), n=1, cutoff=0.6)
    return f" (did you mean {near[0]!r}?)" if near else ""


def error_message(error: Mapping[str, Any], walk: LocWalk) -> str:
    """``expected …, found …`` for one pydantic error.

    Parameters
    ----------
    error
        One item of :meth:`pydantic.ValidationError.errors`.
    walk
        :func:`walk_loc` of its ``loc``.
    """

    kind = error["type"]
    ctx = error.get("ctx") or {}
    found = describe(error.get("input"))
    if kind == "missing":
        return "expected this key, found nothing"
    if kind == "extra_forbidden":
        key = str(walk.loc[-1])
        known = _field_names(walk.owner) if walk.owner is not None else []
        return f"expected a known key, found {key!r}{did_you_mean(key, known)}"
    if kind in ("literal_error", "enum"):
        return _choice_message(error.get("input"), _allowed_values(walk.expected), ctx)
    if kind == "union_tag_invalid":
        return _choice_message(ctx.get("tag"), [], {"expected": ctx.get("expected_tags", "")})
    if kind == "union_tag_not_found":
        allowed = _discriminator_values(walk.expected, str(ctx.get("discriminator", "")).strip("'"))
        hint = f" (one of {', '.join(allowed)})" if allowed else ""
        return f"expected this key{hint}, found nothing"
    if kind in _LENGTHS:
        return _length_message(kind, ctx, error.get("input"))
    if kind == "string_pattern_mismatch":
        pattern = str(ctx.get("pattern", ""))
        return f"expected {_PATTERNS.get(pattern, f'text matching {pattern}')}, found {found}"
    if kind in _BOUNDS:
        key, sign = _BOUNDS[kind]
        return f"expected a value {sign} {_number(ctx.get(key))}, found {found}"
    if kind in _EXPECTED:
        return f"expected {_EXPECTED[kind]}, found {found}"
    return _fallback_message(str(error.get("msg", "")), found)


def _length_message(kind: str, ctx: Mapping[str, Any], value: Any) -> str:
    bound, limit_key = _LENGTHS[kind]
    if kind.startswith("string"):
        return f"expected {bound} {ctx.get(limit_key)} characters, found {len(str(value))}"
    limit = ctx.get(limit_key)
    if ctx.get("field_type") == "Dictionary":
        noun = "entry" if limit == 1 else "entries"
    else:
        noun = "item" if limit == 1 else "items"
    return f"expected {bound} {limit} {noun}, found {ctx.get('actual_length')}"


def _choice_message(value: Any, allowed: list[str], ctx: Mapping[str, Any]) -> str:
    if not allowed:
        # pydantic's own list looks like "'a', 'b' or 'c'".
        allowed = [part.strip(" '") for part in str(ctx.get("expected", "")).replace(" or ", ", ").split(",")]
        allowed = [part for part in allowed if part]
    hint = did_you_mean(value, allowed) if isinstance(value, str) else ""
    return f"expected one of {', '.join(allowed)}, found {describe(value)}{hint}"


def _fallback_message(msg: str, found: str) -> str:
    # Validators in schema.py already speak the house style.
    if msg.startswith("expected "):
        return msg
    msg = msg.removeprefix("Value error, ")
    if msg.startswith("Input should be "):
        return f"expected {msg.removeprefix('Input should be ')}, found {found}"
    return f"expected valid input ({msg}), found {found}"


def _error_loc(error: Mapping[str, Any], walk: LocWalk, data: Any) -> KeyPath:
    """The key path to report: the walked ``loc``, moved onto the key really at fault."""

    loc = walk.loc
    if error["type"] in ("union_tag_invalid", "union_tag_not_found"):
        discriminator = str((error.get("ctx") or {}).get("discriminator", "")).strip("'")
        return (*loc, discriminator) if discriminator else loc
    node = _lookup(data, loc)
    for key in _CULPRIT_KEYS.get(error["type"], ()):
        if isinstance(node, Mapping) and key in node:
            return (*loc, key)
    return loc


def _lookup(data: Any, loc: KeyPath) -> Any:
    for segment in loc:
        if isinstance(data, Mapping):
            data = data.get(segment)
        elif isinstance(data, list) and isinstance(segment, int) and 0 <= segment < len(data):
            data = data[segment]
        else:
            return None
    return data


def validation_problems(
    error: ValidationError, data: Any, source: SourceMap, file: str, root: type[BaseModel] = Scenario
) -> list[Problem]:
    """Every error of a pydantic validation, as problems at their place in the files.

    Parameters
    ----------
    error
        Raised by ``root.model_validate(data)``.
    data
        The data that was validated.
    source
        Key path -> position of that key in the files (see :mod:`sim.scenario.loading`).
    file
        File named by problems without a position.
    root
        The model that was validated.
    """

    problems: list[Problem] = []
    for item in error.errors(include_url=False):
        walk = walk_loc(item["loc"], root)
        problem = problem_at(_error_loc(item, walk, data), error_message(item, walk), data, source, file)
        if problem not in problems:
            problems.append(problem)
    return problems
