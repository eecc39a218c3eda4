"""Reported figures (calibration targets) drawn over a run's daily series.

A target of ``calibration/targets.yaml`` is one reported figure tied to a measure of
``daily.csv`` at one place or a sum of places (see :mod:`sim.calibrate.targets`).
This module turns the targets that concern a figure into marks a reader can compare
with the simulated line:

* a figure for one day (``aggregate: daily``) is a marker at the reported value with
  a bar over its band (value ± tolerance, or the range);
* a figure over several days is a box over those days spanning the band: the mean
  per day for ``mean``, the daily peak for ``max``, and for ``sum`` the total divided
  by the days (the note says so), so that every mark reads in persons per day.

Markers are filled for targets the model is calibrated on (``use: fit``) and open
for those it is only checked against.  Each mark carries the number of its source;
:func:`source_notes` lists the sources, so the figure names where every mark comes from.
"""

from __future__ import annotations

import datetime as dt
import re
from collections.abc import Mapping, Sequence
from dataclasses import dataclass

import numpy as np
from matplotlib.axes import Axes
from matplotlib.patches import Rectangle

from sim.calibrate.targets import Target

__all__ = ["Mark", "reported_marks", "draw_marks", "source_notes", "short_source", "source_numbers", "marks_top"]

_MARK_COLOUR = "#000000"
_BOX_COLOUR = "#777777"


@dataclass(frozen=True)
class Mark:
    """One reported figure as drawn: where, how high, and from which source.

    Attributes
    ----------
    target
        The target's id.
    places
        The places it covers (one, or several summed).
    first, last
        Its days (the same day for a daily figure).
    value
        The reported value per day (NaN for a range).
    low, high
        Its band per day.
    fit
        True if the model is calibrated on it (``use: fit``).
    source
        The source, shortened (:func:`short_source`).
    per_day_divisor
        Days a reported total was divided by (1 unless ``aggregate: sum``).
    """

    target: str
    places: tuple[str, ...]
    first: dt.date
    last: dt.date
    value: float
    low: float
    high: float
    fit: bool
    source: str
    per_day_divisor: int


def short_source(source: str) -> str:
    """A target's source for a figure note: seed files by their number, not their hash.

    ``seeds/000_1790692eca6e005b.txt, 001_9feb1aab00646f8c.txt (Gomelauri)`` becomes
    ``seeds 000, 001 (Gomelauri)``; the note that a press figure is listed in
    ``reported-figures.md`` is dropped (the targets file keeps it).
    """
    text = re.sub(r"seeds/(\d{3})_[0-9a-f]+\.txt", r"seeds \1", source)
    text = re.sub(r"(?<![\w/])(\d{3})_[0-9a-f]{8,}\.txt", r"\1", text)
    # Where the project listed a press figure, not who reported it.
    return re.sub(r"\s*\(reported-figures\.md\)", "", text)


def reported_marks(
    targets: Sequence[Target],
    measure: str,
    places: Sequence[str | tuple[str, ...]],
    start: dt.date,
    end: dt.date,
) -> list[Mark]:
    """The marks of the targets of ``measure`` at the given places within ``[start, end]``.

    Parameters
    ----------
    targets
        All targets (those of other measures, places or days are skipped).
    measure
        The measure drawn, e.g. ``"entries"``.
    places
        The places drawn: a name, or a tuple of names for a line summing them.  A
        target matches when its places are exactly one of these (in any order).
    start, end
        The days drawn; a target outside them is skipped, one partly outside is kept.
    """
    wanted = {frozenset([p] if isinstance(p, str) else p): p for p in places}
    marks = []
    for target in targets:
        key = frozenset(target.places)
        if target.measure != measure or key not in wanted:
            continue
        first, last = target.window
        if last < start or first > end:
            continue
        low, high = target.band
        divisor = (last - first).days + 1 if target.aggregate == "sum" else 1
        value = float(target.value) if target.value is not None else float("nan")
        drawn = wanted[key]
        marks.append(
            Mark(
                target=target.id,
                places=(drawn,) if isinstance(drawn, str) else tuple(drawn),
                first=first,
                last=last,
                value=value / divisor,
                low=low / divisor,
                high=high / divisor,
                fit=target.use == "fit",
                source=short_source(target.source),
                per_day_divisor=divisor,
            )
        )
    return marks


def source_numbers(marks: Sequence[Mark]) -> dict[str, int]:
    """Number of each source, in order of first appearance (1, 2, …)."""
    numbers: dict[str, int] = {}
    for mark in marks:
        numbers.setdefault(mark.source, len(numbers) + 1)
    return numbers


def source_notes(marks: Sequence[Mark], targets_name: str) -> list[str]:
    """The note lines naming each mark's source (empty without marks)."""
    if not marks:
        return []
    numbers = source_numbers(marks)
    listed = "; ".join(f"[{n}] {source}" for source, n in numbers.items())
    divided = sorted({(m.target, m.per_day_divisor) for m in marks if m.per_day_divisor > 1})
    per_day = (
        "  Totals over several days are drawn per day: "
        + ", ".join(f"{target} ÷ {days}" for target, days in divided) + "."
        if divided else ""
    )
    return [f"Reported figures ({targets_name}): {listed}.{per_day}"]


def draw_marks(ax: Axes, marks: Sequence[Mark], colours: Mapping[str, str] | None = None) -> None:
    """Draw ``marks`` on a panel with dates on x (after its lines, before its limits).

    One-day figures are diamonds with a bar over their band; figures over several
    days are boxes over their days.  Each carries its source number.  A filled
    diamond takes the colour of its place's line (``colours``, place -> colour;
    black for a sum of places); an open one is a check.
    """
    numbers = source_numbers(marks)
    colours = colours or {}
    for mark in marks:
        number = numbers[mark.source]
        fill = colours.get(mark.places[0], _MARK_COLOUR) if len(mark.places) == 1 else _MARK_COLOUR
        if mark.first == mark.last:
            day = np.datetime64(mark.first, "D")
            centre = mark.value if np.isfinite(mark.value) else (mark.low + mark.high) / 2
            ax.plot([day, day], [mark.low, mark.high], color=_MARK_COLOUR, linewidth=1.0,
                    solid_capstyle="butt", zorder=4, label="_band")
            ax.plot([day], [centre], linestyle="none", marker="D", markersize=4.5, zorder=5,
                    markeredgecolor=_MARK_COLOUR, markeredgewidth=1.0,
                    markerfacecolor=fill if mark.fit else "white",
                    label="reported on a day (used in calibration)" if mark.fit
                    else "reported on a day (check, not calibrated on)")
            # The number beside the diamond (not above its bar, where another mark's bar may pass).
            ax.annotate(str(number), xy=(day, centre), xytext=(4.5, 0), textcoords="offset points",
                        ha="left", va="center", fontsize=6, color=_MARK_COLOUR, zorder=6,
                        bbox={"boxstyle": "square,pad=0.05", "fc": "white", "ec": "none", "alpha": 0.8})
        else:
            x0 = np.datetime64(mark.first, "D") - np.timedelta64(12, "h")
            x1 = np.datetime64(mark.last, "D") + np.timedelta64(12, "h")
            box = Rectangle(
                (x0, mark.low), x1 - x0, mark.high - mark.low,
                facecolor="none", edgecolor=_BOX_COLOUR if mark.fit else _MARK_COLOUR,
                hatch="////" if mark.fit else None, linewidth=0.9,
                linestyle="-" if mark.fit else (0, (2, 1.5)), zorder=3,
                label="reported over days (used in calibration)" if mark.fit
                else "reported over days (check, not calibrated on)",
            )
            ax.add_patch(box)
            ax.annotate(str(number), xy=(x1, min(mark.high, _top_hint(ax, mark))), xytext=(2, -1),
                        textcoords="offset points", ha="left", va="top", fontsize=6, color=_MARK_COLOUR,
                        zorder=5)


def _top_hint(ax: Axes, mark: Mark) -> float:
    """Where a box's number goes: its top, unless the box runs far above the lines."""
    ax.relim()
    top = ax.dataLim.y1
    return mark.high if not np.isfinite(top) or mark.high <= 1.5 * top else 1.05 * top


def marks_top(marks: Sequence[Mark], data_top: float) -> float:
    """Highest value the y axis must show for ``marks`` beside data peaking at ``data_top``.

    A band reaching far above the data (a generous range such as "up to 40,000") is
    cut at the top of the panel rather than squashing every line under it.
    """
    top = data_top
    for mark in marks:
        centre = mark.value if np.isfinite(mark.value) else mark.low
        top = max(top, centre, mark.low)
        if data_top <= 0 or mark.high <= 1.3 * max(data_top, centre):
            top = max(top, mark.high)
    return top
