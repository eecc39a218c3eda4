"""One look for every figure the project draws.

All figures of ``crossings`` go into memos and reports that are read on paper, on
screens and in greyscale print-outs, by readers some of whom are colour-blind.  This
module is the single place where that look is decided, so that a figure kind added
later only has to say *what* to plot:

* **No global state.**  Figures are built from :class:`matplotlib.figure.Figure`
  with an explicit :class:`~matplotlib.backends.backend_agg.FigureCanvasAgg`;
  ``matplotlib.pyplot`` is never imported, no backend is selected and no
  ``rcParams`` are changed.  Two runs in one process (tests, a batch of seeds,
  a notebook) therefore never share a "current figure", and importing this module
  cannot change how somebody else's plots look.  Every size and colour is passed
  to the artist that uses it instead of being set in ``rcParams``.
* **Readable without colour.**  Series take their colour from the Okabe–Ito
  palette (safe for the common colour-vision deficiencies) *and* a line style and
  a marker of their own (:func:`series_style`), so they remain distinguishable
  when printed in black and white.
* **Memo width.**  Figures are :data:`MEMO_WIDTH_IN` wide (a letter/A4 page minus
  margins) and saved at :data:`DPI`, so they are placed at 100 % without scaling
  and the font sizes below are the sizes the reader sees.
* **Self-describing.**  Every figure carries a title, a subtitle (scenario and
  seed), axis labels with units, a source line and, when series are labelled, a
  legend.  :func:`new_figure` draws the first two, :func:`finish` the last two and
  refuses to save a figure whose plotted axes have no labels.
* **Atomic files.**  :func:`finish` writes each file to a temporary name in the
  target folder and renames it into place, so a reader never sees half a PNG.

Typical use::

    fig, (ax,) = new_figure("Daily entries by crossing", run_subtitle("base", 1))
    ax.plot(days, values, label="upper-lars", **series_style(0))
    ax.set_xlabel("Date (2022)")
    ax.set_ylabel("Entries (persons per day)")
    finish(fig, [ax], source=source_line("0.1.0", "base", 1, 0.1),
           path_stem=out_dir / "entries_by_crossing")
"""

from __future__ import annotations

import datetime as dt
import math
import os
import uuid
from collections.abc import Iterable, Sequence
from pathlib import Path
from typing import Any

import matplotlib.dates as mdates  # also registers the numpy datetime64 unit converter
import numpy as np
from matplotlib.axes import Axes
from matplotlib.backends.backend_agg import FigureCanvasAgg
from matplotlib.figure import Figure
from matplotlib.layout_engine import ConstrainedLayoutEngine
from matplotlib.ticker import FuncFormatter, MaxNLocator

__all__ = [
    "OKABE_ITO",
    "SERIES_COLORS",
    "OTHER_COLOR",
    "LINESTYLES",
    "MARKERS",
    "MAX_SERIES",
    "MEMO_WIDTH_IN",
    "DPI",
    "default_height_in",
    "new_figure",
    "finish",
    "series_style",
    "other_style",
    "combined_style",
    "plot_series",
    "format_date_axis",
    "format_count_axis",
    "zero_based_y",
    "panel_title",
    "mark_events",
    "empty_panel",
    "run_subtitle",
    "source_line",
]

# --------------------------------------------------------------------------- colours

#: The Okabe–Ito palette (Okabe & Ito 2008, "Color Universal Design").
OKABE_ITO: dict[str, str] = {
    "black": "#000000",
    "orange": "#E69F00",
    "sky_blue": "#56B4E9",
    "bluish_green": "#009E73",
    "yellow": "#F0E442",
    "blue": "#0072B2",
    "vermillion": "#D55E00",
    "reddish_purple": "#CC79A7",
}

#: Order in which series take colours.  The darker, most distinct hues come first;
#: yellow is last because it is faint on white and only the eighth series gets it.
SERIES_COLORS: tuple[str, ...] = (
    OKABE_ITO["blue"],
    OKABE_ITO["vermillion"],
    OKABE_ITO["bluish_green"],
    OKABE_ITO["reddish_purple"],
    OKABE_ITO["orange"],
    OKABE_ITO["sky_blue"],
    OKABE_ITO["black"],
    OKABE_ITO["yellow"],
)

#: Colour of a remainder series ("other crossings"): neutral, so it reads as background.
OTHER_COLOR = "#8C8C8C"

#: Line styles paired with the colours, so series differ in greyscale too.
LINESTYLES: tuple[Any, ...] = (
    "-",
    (0, (5, 1.5)),  # dashed
    (0, (6, 1.5, 1, 1.5)),  # dash-dot
    (0, (1, 1.2)),  # dotted
    (0, (8, 1.5, 1, 1.5, 1, 1.5)),  # dash-dot-dot
    (0, (3, 1.5)),  # short dash
    "-",
    (0, (10, 2)),  # long dash
)

#: Markers paired with the colours; drawn only every few points (see :func:`plot_series`).
MARKERS: tuple[str, ...] = ("o", "s", "^", "D", "v", "P", "X", "*")

#: Most series one panel shows; figures group or drop the rest (the palette has 8 entries).
MAX_SERIES = len(SERIES_COLORS)

_TEXT = "#222222"
_MUTED = "#555555"
_GRID = "#E3E3E3"
_EVENT = "#333333"

# --------------------------------------------------------------------------- geometry

#: Figure width in inches: a letter or A4 page less ~1 in margins, so figures are
#: placed in memos at 100 % and the font sizes below are what the reader sees.
MEMO_WIDTH_IN = 6.5
#: Resolution of PNG output.  6.5 in x 200 dpi = 1300 px wide.
DPI = 200

# Bands (inches) kept outside constrained layout for the title block and source line.
_MARGIN_IN = 0.10
_TITLE_BAND_IN = 0.62
_SOURCE_BAND_IN = 0.26
# Room left under the axes for a legend below them (part of the layout area).
_LEGEND_ROOM_IN = 0.50
_FIRST_PANEL_IN = 2.40
_MORE_PANEL_IN = 2.00

_TITLE_PT = 11.0
_SUBTITLE_PT = 8.5
_LABEL_PT = 8.5
_TICK_PT = 7.5
_LEGEND_PT = 7.5
_SOURCE_PT = 6.5
_NOTE_PT = 7.0


def default_height_in(nrows: int = 1) -> float:
    """Height of a figure with ``nrows`` rows of panels at memo width.

    Parameters
    ----------
    nrows
        Number of panel rows.

    Returns
    -------
    float
        Height in inches, a multiple of 0.05 in so that the PNG height in pixels is
        a whole number at :data:`DPI` (tests check exact pixel sizes).
    """
    if nrows < 1:
        raise ValueError(f"nrows must be at least 1, got {nrows}")
    h = (
        _TITLE_BAND_IN
        + _SOURCE_BAND_IN
        + _LEGEND_ROOM_IN
        + _FIRST_PANEL_IN
        + _MORE_PANEL_IN * (nrows - 1)
    )
    return round(h * 20) / 20


# --------------------------------------------------------------------------- text


def run_subtitle(scenario_name: str, seed: int, note: str | None = None) -> str:
    """Standard subtitle: scenario name and seed, optionally followed by a note.

    Parameters
    ----------
    scenario_name
        Name of the scenario that was run.
    seed
        Random seed of the run.
    note
        Extra text (e.g. which series are shown), appended after a separator.

    Returns
    -------
    str
        For example ``"Scenario mobilization-2022, seed 20220921"``.
    """
    text = f"Scenario {scenario_name}, seed {seed}"
    return f"{text}  ·  {note}" if note else text


def source_line(version: str, scenario_name: str, seed: int, scale: float) -> str:
    """Standard source line naming the model version and the run.

    Parameters
    ----------
    version
        Version of the ``crossings`` package that produced the run.
    scenario_name, seed
        Identify the run.
    scale
        Population scale of the run (1 = full population).

    Returns
    -------
    str
        For example ``"Source: crossings 0.1.0 simulation, scenario
        mobilization-2022, seed 20220921, scale 0.1"``.
    """
    return (
        f"Source: crossings {version} simulation, scenario {scenario_name}, "
        f"seed {seed}, scale {scale:g}"
    )


# --------------------------------------------------------------------------- figures


def new_figure(
    title: str,
    subtitle: str,
    *,
    nrows: int = 1,
    ncols: int = 1,
    height_in: float | None = None,
    sharex: bool = True,
    sharey: bool = False,
    notes: Sequence[str] = (),
) -> tuple[Figure, list[Axes]]:
    """Create a memo-width figure with title, subtitle and a grid of styled panels.

    The figure is attached to its own Agg canvas and is not registered with
    ``pyplot``, so nothing else in the process can see or change it.

    Parameters
    ----------
    title
        Main title, drawn bold at the top left.
    subtitle
        Second line under the title; by convention :func:`run_subtitle`.
    nrows, ncols
        Panel grid.
    height_in
        Figure height in inches; default :func:`default_height_in` of ``nrows``.
        Use a multiple of 0.05 in to keep whole-pixel PNG heights.
    sharex, sharey
        Whether panels share their x / y axis (shared x is the default because
        every project figure has time on x).
    notes
        Lines printed small above the source line (e.g. where reported figures
        come from), each wrapped to the page.  The figure grows by their height,
        and so does a subtitle too long for one line, so the panels keep theirs.

    Returns
    -------
    fig : matplotlib.figure.Figure
        The figure.
    axes : list of matplotlib.axes.Axes
        Panels in row-major order (always a flat list, even for one panel).
    """
    if not title or not subtitle:
        raise ValueError("every figure needs a title and a subtitle")
    height = default_height_in(nrows) if height_in is None else float(height_in)
    subtitle_lines = _wrap(subtitle, _SUBTITLE_PT)
    note_lines = [line for note in notes for line in _wrap(note, _SOURCE_PT)]
    # Whole multiples of 0.05 in keep PNG heights whole pixels (see default_height_in).
    title_band = _TITLE_BAND_IN + math.ceil(_LINE_IN[_SUBTITLE_PT] * (len(subtitle_lines) - 1) * 20) / 20
    notes_band = math.ceil((_LINE_IN[_SOURCE_PT] * len(note_lines) + 0.06 * bool(note_lines)) * 20) / 20
    height += (title_band - _TITLE_BAND_IN) + notes_band
    fig = Figure(figsize=(MEMO_WIDTH_IN, height), dpi=DPI, facecolor="white")
    FigureCanvasAgg(fig)  # explicit Agg canvas: no backend selection, no pyplot
    # finish() needs the bands (the figure carries them: no module state).
    fig.crossings_bands = {"title": title_band, "bottom": _SOURCE_BAND_IN + notes_band}  # type: ignore[attr-defined]

    # Constrained layout arranges panels, tick labels and the legend; the title
    # block, notes and source line are placed by hand in bands it is told to leave
    # free (it does not account for plain fig.text).
    bottom = (_SOURCE_BAND_IN + notes_band) / height
    top = 1.0 - title_band / height
    fig.set_layout_engine(
        ConstrainedLayoutEngine(
            rect=(0.0, bottom, 1.0, top - bottom), h_pad=0.04, w_pad=0.06, hspace=0.04
        )
    )
    x0 = _MARGIN_IN / MEMO_WIDTH_IN
    fig.text(
        x0, 1.0 - 0.10 / height, title,
        ha="left", va="top", fontsize=_TITLE_PT, fontweight="bold", color=_TEXT,
    )
    fig.text(
        x0, 1.0 - 0.36 / height, "\n".join(subtitle_lines),
        ha="left", va="top", fontsize=_SUBTITLE_PT, color=_MUTED,
    )
    if note_lines:
        fig.text(
            x0, (_SOURCE_BAND_IN + notes_band - 0.03) / height, "\n".join(note_lines),
            ha="left", va="top", fontsize=_SOURCE_PT, color=_MUTED, linespacing=1.25,
        )

    grid = fig.subplots(nrows, ncols, sharex=sharex, sharey=sharey, squeeze=False)
    axes: list[Axes] = [ax for ax in np.asarray(grid).ravel()]
    for ax in axes:
        _style_axes(ax)
    return fig, axes


def _style_axes(ax: Axes) -> None:
    """Quiet axes: no top/right spines, light horizontal grid behind the data."""
    for side in ("top", "right"):
        ax.spines[side].set_visible(False)
    for side in ("left", "bottom"):
        ax.spines[side].set_color(_MUTED)
        ax.spines[side].set_linewidth(0.7)
    ax.tick_params(labelsize=_TICK_PT, colors=_MUTED, labelcolor=_TEXT, width=0.7, length=3)
    ax.grid(axis="y", color=_GRID, linewidth=0.6)
    ax.set_axisbelow(True)
    ax.xaxis.label.set_size(_LABEL_PT)
    ax.yaxis.label.set_size(_LABEL_PT)
    ax.xaxis.label.set_color(_TEXT)
    ax.yaxis.label.set_color(_TEXT)


# Height of one line of text at a font size (points x line spacing), inches.
_LINE_IN = {_SUBTITLE_PT: 8.5 * 1.2 / 72, _SOURCE_PT: 6.5 * 1.25 / 72}


def _wrap(text: str, size_pt: float) -> list[str]:
    """``text`` broken at spaces into lines that fit the page width at ``size_pt``.

    Widths are measured with the Agg renderer's own text metrics at :data:`DPI`, so a
    line that fits here fits in the saved figure.
    """
    from matplotlib.backends.backend_agg import RendererAgg
    from matplotlib.font_manager import FontProperties

    renderer = RendererAgg(10, 10, DPI)
    usable_px = (MEMO_WIDTH_IN - 2 * _MARGIN_IN) * DPI
    font = FontProperties(size=size_pt)

    def width(line: str) -> float:
        return renderer.get_text_width_height_descent(line, font, ismath=False)[0] if line else 0.0

    lines: list[str] = []
    for paragraph in text.split("\n"):
        if width(paragraph) <= usable_px:
            lines.append(paragraph)
            continue
        current = ""
        for word in paragraph.split(" "):
            candidate = f"{current} {word}" if current else word
            if current and width(candidate) > usable_px:
                lines.append(current)
                current = word
            else:
                current = candidate
        lines.append(current)
    return lines


def finish(
    fig: Figure,
    ax_list: Sequence[Axes],
    *,
    source: str,
    path_stem: Path,
    formats: Sequence[str] = ("png",),
    legend_ncols: int | None = None,
) -> list[Path]:
    """Add source line and legend, check labels, and save the figure atomically.

    Parameters
    ----------
    fig
        Figure made by :func:`new_figure`.
    ax_list
        Its panels.  Labelled series from all of them go into one legend below the
        panels (duplicates, e.g. the same crossing in two panels, appear once).
    source
        Source line, drawn small at the bottom left; by convention
        :func:`source_line`.
    path_stem
        Output path without suffix; one file per format is written next to it as
        ``path_stem.<format>``.  The folder must exist.
    formats
        Any of ``"png"`` (at :data:`DPI`), ``"svg"``, ``"pdf"``.
    legend_ncols
        Legend columns; default up to 4, so 8 series take two rows.

    Returns
    -------
    list of pathlib.Path
        The files written, in the order of ``formats``.

    Raises
    ------
    ValueError
        If the source line is empty, a format is unknown, or a panel with data
        lacks a y-axis label or no panel with data has an x-axis label.
    """
    if not source:
        raise ValueError("every figure needs a source line")
    unknown = [f for f in formats if f not in _SAVE_METADATA]
    if unknown:
        raise ValueError(f"unknown figure format(s) {unknown}; use png, svg or pdf")
    _check_labels(fig, ax_list)

    height = fig.get_figheight()
    fig.text(
        _MARGIN_IN / MEMO_WIDTH_IN, 0.5 * _SOURCE_BAND_IN / height, source,
        ha="left", va="center", fontsize=_SOURCE_PT, color=_MUTED,
    )

    handles: list[Any] = []
    labels: list[str] = []
    for ax in ax_list:
        for h, lab in zip(*ax.get_legend_handles_labels()):
            if lab not in labels:
                handles.append(h)
                labels.append(lab)
    if handles:
        _add_legend(fig, handles, labels, legend_ncols)

    path_stem = Path(path_stem)
    written = []
    for fmt in formats:
        path = path_stem.with_name(f"{path_stem.name}.{fmt}")
        _save_atomic(fig, path, fmt)
        written.append(path)
    return written


def _add_legend(fig: Figure, handles: list[Any], labels: list[str], ncols: int | None) -> None:
    """One legend for the figure, centred below the panels and above the source line.

    Constrained layout only reserves room for a figure legend anchored to the
    figure edge, which is where the source line is.  So the legend is anchored
    just above the source band, measured, and the layout rectangle is raised by
    its height: the panels shrink to make room and the legend never covers data.
    """
    height = fig.get_figheight()
    bands = getattr(fig, "crossings_bands", {"title": _TITLE_BAND_IN, "bottom": _SOURCE_BAND_IN})
    source_band = bands["bottom"] / height
    usable_px = (MEMO_WIDTH_IN - 2 * _MARGIN_IN) * fig.dpi
    renderer = fig.canvas.get_renderer()
    # Fewer columns when long labels would make the legend wider than the page.
    for n in ([ncols] if ncols else range(min(4, len(handles)), 0, -1)):
        legend = fig.legend(
            handles, labels, loc="lower center", ncols=n, frameon=False,
            bbox_to_anchor=(0.5, source_band), bbox_transform=fig.transFigure,
            fontsize=_LEGEND_PT, handlelength=3.2, columnspacing=1.6, labelcolor=_TEXT,
            borderaxespad=0.2,
        )
        if legend.get_window_extent(renderer).width <= usable_px or n == 1 or ncols:
            break
        legend.remove()
    legend.set_in_layout(False)  # placed by hand; the rectangle below accounts for it
    legend_h = legend.get_window_extent(renderer).height / (fig.dpi * height)
    bottom = source_band + legend_h + 0.04 / height
    top = 1.0 - bands["title"] / height
    engine = fig.get_layout_engine()
    if isinstance(engine, ConstrainedLayoutEngine):
        engine.set(rect=(0.0, bottom, 1.0, top - bottom))


def _check_labels(fig: Figure, ax_list: Sequence[Axes]) -> None:
    """Refuse figures whose data panels lack axis labels (units live in the labels)."""
    with_data = [
        ax for ax in ax_list
        if ax.axison and (ax.lines or ax.collections or ax.patches or ax.images)
    ]
    if not with_data:
        return  # placeholder figure ("no data"): nothing to label
    has_supy = bool(fig.get_supylabel())
    has_supx = bool(fig.get_supxlabel())
    missing_y = [i for i, ax in enumerate(ax_list) if ax in with_data and not ax.get_ylabel()]
    if missing_y and not has_supy:
        raise ValueError(f"panels {missing_y} have data but no y-axis label (with units)")
    if not has_supx and not any(ax.get_xlabel() for ax in with_data):
        raise ValueError("no panel with data has an x-axis label (with units)")


# Metadata that would make the same figure differ byte-for-byte between runs
# (software version strings, creation dates) is dropped, so that outputs of a
# seeded run are reproducible and diffable.
_SAVE_METADATA: dict[str, dict[str, Any]] = {
    "png": {"Software": None},
    "svg": {"Date": None},
    "pdf": {"CreationDate": None},
}


def _save_atomic(fig: Figure, path: Path, fmt: str) -> None:
    """Write ``fig`` to ``path`` via a temporary file in the same folder + os.replace."""
    # Same folder, so os.replace is a rename within one file system (atomic); a
    # dot-name so that globbing the folder does not pick up a half-written file.
    # Opened with open(), not mkstemp, so the file gets the usual umask permissions.
    tmp = path.with_name(f".{path.name}.{os.getpid()}.{uuid.uuid4().hex}.tmp")
    try:
        with open(tmp, "xb") as fh:
            fig.savefig(fh, format=fmt, dpi=DPI, facecolor="white",
                        metadata=_SAVE_METADATA[fmt])
            fh.flush()
            os.fsync(fh.fileno())
        os.replace(tmp, path)
    except BaseException:
        tmp.unlink(missing_ok=True)
        raise


# --------------------------------------------------------------------------- series


def series_style(index: int) -> dict[str, Any]:
    """Colour, line style and marker of the ``index``-th series.

    Parameters
    ----------
    index
        Position of the series; styles repeat after :data:`MAX_SERIES`.

    Returns
    -------
    dict
        Keyword arguments for :meth:`matplotlib.axes.Axes.plot`.
    """
    i = index % MAX_SERIES
    return {
        "color": SERIES_COLORS[i],
        "linestyle": LINESTYLES[i],
        "marker": MARKERS[i],
        "linewidth": 1.4,
        "markersize": 4.0,
        "markeredgewidth": 0.6,
    }


def other_style() -> dict[str, Any]:
    """Style of a remainder series such as "other crossings": grey, thin, no marker."""
    return {
        "color": OTHER_COLOR,
        "linestyle": (0, (2, 1)),
        "marker": "None",
        "linewidth": 1.6,
    }


def combined_style() -> dict[str, Any]:
    """Style of a line summing several places (a reported figure counts them together): black, thin."""
    return {
        "color": OKABE_ITO["black"],
        "linestyle": (0, (4, 1, 1, 1)),
        "marker": "None",
        "linewidth": 1.1,
    }


def plot_series(
    ax: Axes,
    x: np.ndarray,
    y: np.ndarray,
    *,
    label: str,
    style: dict[str, Any],
    marker_offset: int = 0,
) -> None:
    """Plot one daily series: a line with sparse markers; lone points stay visible.

    Parameters
    ----------
    ax
        Target panel.
    x
        Dates (``datetime64[D]``), one per value.
    y
        Values; ``NaN`` where the measure was undefined (drawn as a gap).
    label
        Legend label.
    style
        From :func:`series_style` or :func:`other_style`.
    marker_offset
        Shift of the marker positions, so markers of different series do not
        pile up on the same days.
    """
    y = np.asarray(y, dtype=float)
    ok = np.isfinite(y)
    # A marker on every day turns long runs into a smear; ~10 per line identify
    # the series in greyscale without hiding the shape.  Counted over the days
    # with a value, so a series defined on a few days of a long run still gets
    # its markers.
    defined = np.flatnonzero(ok)
    step = max(1, math.ceil(len(defined) / 10))
    kwargs = dict(style)
    kwargs["markevery"] = defined[marker_offset % step :: step].tolist()
    (line,) = ax.plot(x, y, label=label, **kwargs)
    line.set_markeredgecolor("white" if kwargs.get("marker") not in (None, "None") else "none")

    # A value with undefined days on both sides has no segment to draw and would
    # vanish; show it as a marker in the series' colour.
    prev_ok = np.concatenate(([False], ok[:-1]))
    next_ok = np.concatenate((ok[1:], [False]))
    lone = ok & ~prev_ok & ~next_ok
    if lone.any():
        marker = kwargs.get("marker")
        ax.plot(
            np.asarray(x)[lone], y[lone], linestyle="None",
            marker="o" if marker in (None, "None") else marker,
            color=kwargs["color"], markersize=4.0, label=f"_{label}_lone",
        )


# --------------------------------------------------------------------------- axes


def format_date_axis(ax: Axes, start: np.datetime64, end: np.datetime64) -> None:
    """Readable day-month ticks ("21 Sep") over ``[start, end]`` and the year in the label.

    Parameters
    ----------
    ax
        Panel with dates on x (for shared axes one call formats all panels).
    start, end
        First and last day shown (``datetime64[D]``).  A half-day margin keeps
        the end points off the frame.
    """
    start = np.datetime64(start, "D")
    end = np.datetime64(end, "D")
    ax.set_xlim(start - np.timedelta64(12, "h"), end + np.timedelta64(12, "h"))
    span_days = int((end - start) / np.timedelta64(1, "D"))
    ax.xaxis.set_major_locator(_date_locator(span_days))

    if span_days > 400:
        fmt = "%b %Y"

        def _label(value: float, _pos: int | None = None) -> str:
            return mdates.num2date(value).strftime(fmt)
    else:
        # "21 Sep" without a leading zero; strftime's %-d is not portable.
        def _label(value: float, _pos: int | None = None) -> str:
            d = mdates.num2date(value)
            return f"{d.day} {d:%b}"

    ax.xaxis.set_major_formatter(FuncFormatter(_label))
    y0 = start.astype(dt.date).year
    y1 = end.astype(dt.date).year
    years = f"{y0}" if y0 == y1 else f"{y0}–{y1}"
    ax.set_xlabel(f"Date ({years})")


def _date_locator(span_days: int, max_ticks: int = 8) -> mdates.DateLocator:
    """At most ``max_ticks`` evenly spaced day, week (Mondays) or month ticks.

    Chosen by hand rather than AutoDateLocator, whose day-of-month multiples
    restart every month and put "29 Sep" next to "1 Oct".
    """
    for k in (1, 2, 3, 4, 5):
        if span_days / k <= max_ticks:
            return mdates.DayLocator(interval=k)  # counted from the first day shown
    for weeks in (1, 2, 3, 4):
        if span_days / (7 * weeks) <= max_ticks:
            return mdates.WeekdayLocator(byweekday=mdates.MO, interval=weeks)
    months = max(1, math.ceil(span_days / 30.4 / max_ticks))
    return mdates.MonthLocator(bymonthday=1, interval=months)


def format_count_axis(ax: Axes, label: str) -> None:
    """Y axis for counts of persons: whole-number ticks with thousands separators.

    Call :func:`zero_based_y` after plotting to fix the range.

    Parameters
    ----------
    ax
        Panel.
    label
        Axis label including the unit, e.g. ``"Entries (persons per day)"``.
    """
    ax.set_ylabel(label)
    ax.yaxis.set_major_locator(MaxNLocator(nbins=6, integer=True, min_n_ticks=3))
    ax.yaxis.set_major_formatter(FuncFormatter(lambda v, _pos=None: f"{v:,.0f}"))


def zero_based_y(axes: Sequence[Axes], headroom: float = 0.12) -> None:
    """Y range from 0 to the largest plotted value plus headroom, on all ``axes``.

    Counts and durations are never negative, so the axis starts at zero (bars and
    lines are then read against a true baseline).  The headroom keeps the tallest
    peak clear of event labels drawn at the top of the panel.  Call after all
    series are plotted: setting limits freezes autoscaling.

    Parameters
    ----------
    axes
        Panels to set (typically panels sharing y, so they get one range).
    headroom
        Fraction of the maximum added above it.
    """
    top = 0.0
    for ax in axes:
        ax.relim()
        y1 = ax.dataLim.y1
        if np.isfinite(y1):
            top = max(top, float(y1))
    top = top * (1.0 + headroom) if top > 0 else 1.0
    for ax in axes:
        ax.set_ylim(0.0, top)


def panel_title(ax: Axes, text: str) -> None:
    """Small left-aligned heading of one panel in a multi-panel figure.

    Parameters
    ----------
    ax
        Panel.
    text
        Heading, e.g. ``"Mean wait of the day"``.
    """
    ax.set_title(text, loc="left", pad=3, fontsize=_LABEL_PT, color=_TEXT)


def mark_events(
    axes: Sequence[Axes],
    events: Iterable[tuple[dt.date, str]],
    start: np.datetime64,
    end: np.datetime64,
    *,
    label_axes: int = 0,
) -> None:
    """Draw a dotted vertical line for each event within ``[start, end]``.

    Parameters
    ----------
    axes
        Panels to mark (all share the same dates).
    events
        ``(date, text)`` pairs, e.g. ``(date(2022, 9, 21), "Mobilization announced")``.
        Events outside the data range are skipped.
    start, end
        Date range of the data (``datetime64[D]``).
    label_axes
        Index of the panel that gets the text; the others get only the line, so
        stacked panels do not repeat it.
    """
    start = np.datetime64(start, "D")
    end = np.datetime64(end, "D")
    span = max(1, int((end - start) / np.timedelta64(1, "D")))
    for when, text in events:
        day = np.datetime64(when, "D")
        if not (start <= day <= end):
            continue
        # Text to the right of the line, unless that would run off the panel.
        right_side = (day - start) / np.timedelta64(1, "D") < 0.7 * span
        for i, ax in enumerate(axes):
            ax.axvline(day, color=_EVENT, linestyle=":", linewidth=1.0, zorder=1.5,
                       label="_event")
            if i == label_axes and text:
                ax.annotate(
                    text, xy=(day, 1.0), xycoords=("data", "axes fraction"),
                    xytext=(3 if right_side else -3, -1), textcoords="offset points",
                    ha="left" if right_side else "right", va="top",
                    fontsize=_NOTE_PT, color=_EVENT,
                    bbox={"boxstyle": "square,pad=0.15", "fc": "white", "ec": "none",
                          "alpha": 0.8},
                )


def empty_panel(ax: Axes, message: str) -> None:
    """Turn a panel into a message saying why there is nothing to plot.

    Parameters
    ----------
    ax
        Panel.
    message
        Sentence shown in the middle, e.g. ``"No waits: no crossing had a queue."``.
    """
    ax.set_axis_off()
    ax.text(0.5, 0.5, message, transform=ax.transAxes, ha="center", va="center",
            fontsize=_LABEL_PT + 1, color=_MUTED, wrap=True)
