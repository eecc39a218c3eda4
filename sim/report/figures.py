"""The standard figures of one run, drawn from its tidy daily table.

A run writes ``daily.csv`` with one row per ``(date, place, measure)``; a missing
row means the measure was undefined that day (no waits, say) and is drawn as a
gap, never as zero.  :func:`write_run_figures` turns that table into four figures:

``entries_by_crossing.png``
    Daily entries per crossing.  With more than :data:`~sim.report.style.MAX_SERIES`
    crossings the seven largest (by total entries) are drawn and the rest are
    summed into one grey "other crossings (n)" line, so the total stays visible.
``entries_by_country.png``
    Daily entries per destination country, grouped the same way.
``waits.png``
    Two stacked panels on a shared scale: mean and 90th-percentile wait (hours)
    per crossing, only for crossings that had a wait.  Waits cannot be summed,
    so with too many such crossings the ones with the highest peaks are drawn
    and the subtitle says how many were left out.
``queues.png``
    Longest queue of the day (persons) per crossing that had a queue, selected
    the same way as waits.

With ``extra`` (as ``crossings plot`` asks), also:

``stocks.png``
    Persons in each destination country at the end of each day.
``asylum.png``
    Asylum claims and grants per day and the backlog, by country.

Given calibration targets, the entries figures carry the reported figures of the
places they show (:mod:`sim.report.reported`), with a note naming their sources.

**No waits or queues.**  When no crossing had a wait (or a queue) the figure is
still written, with a panel saying so, rather than skipped: the set of files a
run produces is then always the same, so manifests and reports can list them
without checking, and a reader sees "no queues" as a finding, not as a missing
file.

A crossing keeps the same colour, line style and marker in every figure of a run
(the style follows its rank by total entries), so a reader can follow it from
entries to queues to waits.

Grouping is done with pyarrow compute and numpy (no pandas): each measure is
pivoted into a ``places x days`` array with ``NaN`` for missing rows.
"""

from __future__ import annotations

import datetime as dt
from collections.abc import Sequence
from dataclasses import dataclass
from pathlib import Path

import numpy as np
import pyarrow as pa
import pyarrow.compute as pc
from matplotlib.axes import Axes
from matplotlib.figure import Figure

from sim.calibrate.targets import Target
from sim.report import style
from sim.report.reported import draw_marks, marks_top, reported_marks, source_notes

__all__ = ["write_run_figures", "DailyTableError", "CROSSING_PATTERN", "COUNTRY_PATTERN"]

#: ``place`` values naming a crossing (same rule as crossing ids in the scenario schema).
CROSSING_PATTERN = r"^[a-z0-9][a-z0-9-]*$"
#: ``place`` values naming a country (ISO 3166-1 alpha-2), including ``RU`` for the origin.
COUNTRY_PATTERN = r"^[A-Z]{2}$"

_REQUIRED_COLUMNS = ("date", "place", "measure", "value")
_OTHER_CROSSINGS = "other crossings"  # label of the summed remainder, followed by "(n)"
_OTHER_COUNTRIES = "other countries"


class DailyTableError(ValueError):
    """A daily table that is not what a run writes: a column missing, a date that is not one, a row twice.

    A ``ValueError`` (as before), with the problem as ``expected …, found …`` and the
    0-based ``row`` at fault (None for the table as a whole), so a caller that read
    the table from a file can name the file and the line.
    """

    def __init__(self, problem: str, row: int | None = None) -> None:
        self.problem = problem
        self.row = row
        super().__init__(f"daily table: {problem}")


@dataclass(frozen=True)
class _Daily:
    """The table as numpy arrays plus the day axis shared by every figure."""

    days: np.ndarray  # datetime64[D], every day from first to last, no holes
    day_index: np.ndarray  # int, row -> position in ``days``
    place: np.ndarray  # object (str), per row
    measure: pa.ChunkedArray  # kept in arrow for fast filtering
    place_arrow: pa.ChunkedArray
    value: np.ndarray  # float64, per row


@dataclass(frozen=True)
class _Pivot:
    """One measure for one kind of place: ``values[i, d]`` for ``names[i]`` on ``days[d]``."""

    names: list[str]
    values: np.ndarray  # (len(names), len(days)), NaN where no row


def write_run_figures(
    daily_rows: pa.Table,
    out_dir: Path,
    *,
    scenario_name: str,
    seed: int,
    scale: float,
    version: str,
    events: Sequence[tuple[dt.date, str]] = (),
    reported: Sequence[Target] = (),
    targets_name: str = "calibration/targets.yaml",
    formats: Sequence[str] = ("png",),
    extra: bool = False,
) -> list[Path]:
    """Write the standard figures of a run into ``out_dir``.

    Parameters
    ----------
    daily_rows
        The run's daily table with columns ``date`` (ISO date string, or an
        arrow date type), ``place`` (string), ``measure`` (string) and ``value``
        (number).  Rows with other measures or places are ignored.
    out_dir
        Folder for the figures; created (with parents) if missing.
    scenario_name, seed
        Identify the run in subtitles and source lines.
    scale
        Population scale of the run, stated in the source line.
    version
        Version of ``crossings`` that made the run, stated in the source line.
    events
        ``(date, text)`` pairs drawn as dotted vertical lines with a label when
        the date lies within the data, e.g.
        ``[(date(2022, 9, 21), "Mobilization announced")]``.  Default: none.
    reported
        Calibration targets (:mod:`sim.calibrate.targets`); those of entries at
        places drawn are overlaid on the entries figures with their sources
        (:mod:`sim.report.reported`).  Default: none.
    targets_name
        How the notes name the targets file.
    formats
        File formats, any of ``png``, ``svg``, ``pdf`` (see :func:`style.finish`).
    extra
        Also draw ``stocks`` (persons in each country) and ``asylum`` (claims,
        grants and backlog), as ``crossings plot`` does.

    Returns
    -------
    list of pathlib.Path
        ``entries_by_crossing.png``, ``entries_by_country.png``, ``waits.png``
        and ``queues.png`` in ``out_dir``, in that order (then ``stocks`` and
        ``asylum`` with ``extra``; each in every format, formats innermost).  All
        are always written; a figure without data shows a message instead of lines.

    Raises
    ------
    DailyTableError
        (a ``ValueError``) If a required column is missing, a date does not
        parse, or a ``(date, place, measure)`` appears more than once.
    """
    out_dir = Path(out_dir)
    out_dir.mkdir(parents=True, exist_ok=True)
    daily = _prepare(daily_rows)
    ctx = _Context(
        daily=daily,
        out_dir=out_dir,
        scenario_name=scenario_name,
        seed=seed,
        source=style.source_line(version, scenario_name, seed, scale),
        events=list(events),
        reported=list(reported),
        targets_name=targets_name,
        formats=tuple(formats),
    )

    crossing_entries = _pivot(daily, "entries", CROSSING_PATTERN)
    country_entries = _pivot(daily, "entries", COUNTRY_PATTERN)
    # One style slot per crossing for the whole run: ranked by total entries,
    # so the busiest crossing is blue in every figure.
    crossing_rank = _rank(crossing_entries, by="total")

    written = [
        *_entries_figure(
            ctx, crossing_entries, crossing_rank,
            stem="entries_by_crossing", title="Daily entries by crossing",
            other_label=_OTHER_CROSSINGS, none_message="No entries at any crossing in this run.",
        ),
        *_entries_figure(
            ctx, country_entries, _rank(country_entries, by="total"),
            stem="entries_by_country", title="Daily entries by destination country",
            other_label=_OTHER_COUNTRIES, none_message="No entries into any country in this run.",
        ),
        *_waits_figure(ctx, crossing_rank),
        *_queues_figure(ctx, crossing_rank),
    ]
    if extra:
        country_rank = _rank(country_entries, by="total")
        written += _stocks_figure(ctx, country_rank)
        written += _asylum_figure(ctx, country_rank)
    return written


# --------------------------------------------------------------------------- data


def _prepare(table: pa.Table) -> _Daily:
    """Check columns, parse dates and build the continuous day axis."""
    missing = [c for c in _REQUIRED_COLUMNS if c not in table.column_names]
    if missing:
        raise DailyTableError(
            f"expected the columns {', '.join(_REQUIRED_COLUMNS)}, found {', '.join(table.column_names) or 'none'} "
            f"(it lacks column(s) {', '.join(missing)})"
        )
    date_col = table["date"]
    if pa.types.is_date(date_col.type) or pa.types.is_timestamp(date_col.type):
        dates = np.asarray(date_col.to_numpy(), dtype="datetime64[D]")
    else:
        raw = np.asarray(date_col.to_numpy(zero_copy_only=False), dtype=str)
        try:
            dates = raw.astype("datetime64[D]")
        except ValueError:
            # Only on this error path: find the first value numpy refused, to name its row.
            row = next((i for i, d in enumerate(raw) if not _is_iso_date(d)), None)
            found = repr(str(raw[row])) if row is not None else "a value that is not one"
            raise DailyTableError(f"date: expected an ISO date (YYYY-MM-DD), found {found}", row) from None
    if np.isnat(dates).any():
        row = int(np.flatnonzero(np.isnat(dates))[0])
        raise DailyTableError("date: expected an ISO date (YYYY-MM-DD), found none", row)

    place_arrow = table["place"].cast(pa.string())
    value = np.asarray(table["value"].cast(pa.float64()).to_numpy(zero_copy_only=False), dtype=float)
    if len(dates):
        first, last = dates.min(), dates.max()
        # Every day of the range, also days with no rows at all, so gaps show as gaps.
        days = np.arange(first, last + np.timedelta64(1, "D"), dtype="datetime64[D]")
        day_index = ((dates - first) / np.timedelta64(1, "D")).astype(np.int64)
    else:
        days = np.array([], dtype="datetime64[D]")
        day_index = np.array([], dtype=np.int64)
    return _Daily(
        days=days,
        day_index=day_index,
        place=np.asarray(place_arrow.to_numpy(zero_copy_only=False), dtype=object),
        measure=table["measure"].cast(pa.string()),
        place_arrow=place_arrow,
        value=value,
    )


def _is_iso_date(text: str) -> bool:
    """Whether numpy reads ``text`` as a day (the rule :func:`_prepare` applies to the whole column)."""
    if not text:
        return True  # an empty date is reported on its own (found none)
    try:
        np.datetime64(text, "D")
    except ValueError:
        return False
    return True


def _pivot(daily: _Daily, measure: str, place_pattern: str) -> _Pivot:
    """Rows of one measure whose place matches ``place_pattern``, as places x days."""
    mask = pc.and_(
        pc.equal(daily.measure, measure),
        pc.match_substring_regex(daily.place_arrow, place_pattern),
    )
    rows = np.flatnonzero(np.asarray(mask.to_numpy(zero_copy_only=False), dtype=bool))
    if rows.size == 0:
        return _Pivot(names=[], values=np.empty((0, len(daily.days))))
    names, place_idx = np.unique(daily.place[rows].astype(str), return_inverse=True)
    day_idx = daily.day_index[rows]

    # Tidy data has one row per (date, place, measure); a second one is an upstream
    # bug, and silently keeping either would draw a wrong number.
    key = place_idx.astype(np.int64) * len(daily.days) + day_idx
    uniq, counts = np.unique(key, return_counts=True)
    if (counts > 1).any():
        k = int(uniq[np.argmax(counts > 1)])
        p, d = divmod(k, len(daily.days))
        second = int(rows[np.flatnonzero(key == k)[1]])  # the repeat, not the first occurrence
        raise DailyTableError(
            f"expected one row per (date, place, measure), found {int(counts[np.argmax(counts > 1)])} "
            f"rows for ({daily.days[d]}, {names[p]}, {measure})",
            second,
        )

    values = np.full((len(names), len(daily.days)), np.nan)
    values[place_idx, day_idx] = daily.value[rows]
    return _Pivot(names=[str(n) for n in names], values=values)


def _score(pivot: _Pivot, by: str) -> np.ndarray:
    """Per-place ranking score: ``total`` (sum) or ``peak`` (max), NaN-free."""
    if pivot.values.size == 0:
        return np.zeros(len(pivot.names))
    finite = np.where(np.isfinite(pivot.values), pivot.values, 0.0)
    return finite.sum(axis=1) if by == "total" else finite.max(axis=1)


def _rank(pivot: _Pivot, by: str) -> dict[str, int]:
    """Place -> rank (0 = largest); ties broken by name so ranks are reproducible."""
    score = _score(pivot, by)
    order = sorted(range(len(pivot.names)), key=lambda i: (-score[i], pivot.names[i]))
    return {pivot.names[i]: r for r, i in enumerate(order)}


def _nansum_rows(values: np.ndarray) -> np.ndarray:
    """Column sums ignoring NaN, but NaN where every row is NaN (undefined stays undefined)."""
    defined = np.isfinite(values).any(axis=0)
    return np.where(defined, np.nansum(values, axis=0), np.nan)


def _assign_styles(shown: list[str], run_rank: dict[str, int]) -> dict[str, int]:
    """Style slot per shown series: its run-wide rank if that fits the palette, else a free slot."""
    slots: dict[str, int] = {}
    for name in shown:
        r = run_rank.get(name)
        if r is not None and r < style.MAX_SERIES:
            slots[name] = r
    free = [i for i in range(style.MAX_SERIES) if i not in slots.values()]
    for name in shown:
        if name not in slots:
            # More shown series than palette slots cannot happen (callers cap at
            # MAX_SERIES), but cycle rather than fail if it ever does.
            slots[name] = free.pop(0) if free else len(slots) % style.MAX_SERIES
    return slots


# --------------------------------------------------------------------------- figures


@dataclass(frozen=True)
class _Context:
    """What every figure of one run needs besides its own data."""

    daily: _Daily
    out_dir: Path
    scenario_name: str
    seed: int
    source: str
    events: list[tuple[dt.date, str]]
    reported: list[Target]
    targets_name: str
    formats: tuple[str, ...]

    def finish(self, fig: Figure, axes: list[Axes], stem: str) -> list[Path]:
        """Save a figure of this run in every format."""
        return style.finish(fig, axes, source=self.source, path_stem=self.out_dir / stem, formats=self.formats)

    def subtitle(self, note: str | None = None) -> str:
        return style.run_subtitle(self.scenario_name, self.seed, note)

    def dates(self, axes: list[Axes]) -> None:
        """Common date axis and event markers for panels sharing x."""
        days = self.daily.days
        style.format_date_axis(axes[-1], days[0], days[-1])
        style.mark_events(axes, self.events, days[0], days[-1])


def _plot_lines(
    ax: Axes,
    days: np.ndarray,
    names: list[str],
    values: np.ndarray,
    slots: dict[str, int],
) -> None:
    """One line per name, in the given order, with its run-wide style (grey if it has none)."""
    for k, name in enumerate(names):
        st = style.series_style(slots[name]) if name in slots else style.other_style()
        style.plot_series(ax, days, values[k], label=name, style=st, marker_offset=k)


def _entries_figure(
    ctx: _Context,
    pivot: _Pivot,
    run_rank: dict[str, int],
    *,
    stem: str,
    title: str,
    other_label: str,
    none_message: str,
) -> list[Path]:
    """Entries per place; beyond MAX_SERIES places, top 7 plus the rest summed; reported figures on top."""
    order = sorted(pivot.names, key=lambda n: run_rank[n])
    idx = {n: i for i, n in enumerate(pivot.names)}
    keep = order
    if len(order) > style.MAX_SERIES:
        keep = order[: style.MAX_SERIES - 1]
        rest = order[style.MAX_SERIES - 1 :]
        # The remainder is summed, not dropped, so the figure still shows all entries;
        # its label says how many places it stands for.
        names = keep + [f"{other_label} ({len(rest)})"]
        values = np.vstack(
            [pivot.values[[idx[n] for n in keep]], _nansum_rows(pivot.values[[idx[n] for n in rest]])]
        )
    else:
        names = order
        values = pivot.values[[idx[n] for n in order]] if order else pivot.values

    # Reported figures of one place drawn here, or of several places summed (drawn as
    # their own line, since the report counts them together).
    days = ctx.daily.days
    combined = _combined_places(ctx.reported, pivot.names) if len(days) else []
    marks = (
        reported_marks(ctx.reported, "entries", [*keep, *combined], _date(days[0]), _date(days[-1]))
        if len(days) else []
    )
    combined = [c for c in combined if any(m.places == c for m in marks)]

    fig, axes = style.new_figure(title, ctx.subtitle(), notes=source_notes(marks, ctx.targets_name))
    ax = axes[0]
    if not names or not np.isfinite(values).any():
        style.empty_panel(ax, none_message)
    else:
        # Only real places get a style slot; the remainder line is drawn grey.
        slots = _assign_styles(keep, run_rank)
        _plot_lines(ax, days, names, values, slots)
        for places in combined:
            summed = _nansum_rows(pivot.values[[idx[n] for n in places]])
            style.plot_series(ax, days, summed, label=" + ".join(places) + " (sum)", style=style.combined_style())
        style.format_count_axis(ax, "Entries (persons per day)")
        style.zero_based_y(axes)
        if marks:
            top = ax.get_ylim()[1] / 1.12
            colours = {name: style.series_style(slot)["color"] for name, slot in slots.items()}
            draw_marks(ax, marks, colours)
            ax.set_ylim(0.0, marks_top(marks, top) * 1.12)
        ctx.dates(axes)
    return ctx.finish(fig, axes, stem)


def _date(day: np.datetime64) -> dt.date:
    return day.astype("datetime64[D]").astype(dt.date)


def _combined_places(targets: Sequence[Target], names: Sequence[str]) -> list[tuple[str, ...]]:
    """Sets of places whose entries a target reports together, all of them among ``names``."""
    present = set(names)
    sets = [
        tuple(sorted(t.places)) for t in targets
        if t.measure == "entries" and len(t.places) > 1 and set(t.places) <= present
    ]
    # At most two summed lines: more would crowd out the places themselves.
    return list(dict.fromkeys(sets))[:2]


def _with_positive_peak(pivots: Sequence[_Pivot]) -> tuple[list[str], dict[str, float]]:
    """Places whose peak over all ``pivots`` is > 0, with that peak."""
    peak: dict[str, float] = {}
    for pv in pivots:
        for name, p in zip(pv.names, _score(pv, "peak")):
            peak[name] = max(peak.get(name, 0.0), float(p))
    names = [n for n, p in peak.items() if p > 0]
    return names, peak


def _select_by_peak(names: list[str], peak: dict[str, float], what: str) -> tuple[list[str], str | None]:
    """At most MAX_SERIES names with the highest peaks; a note if some are left out."""
    ordered = sorted(names, key=lambda n: (-peak[n], n))
    if len(ordered) <= style.MAX_SERIES:
        return ordered, None
    shown = ordered[: style.MAX_SERIES]
    return shown, f"{len(shown)} of {len(ordered)} crossings with {what} shown (highest peaks)"


def _rows_for(pivot: _Pivot, names: list[str], n_days: int) -> np.ndarray:
    """Rows of ``pivot`` for ``names`` in that order; all-NaN for a name it lacks."""
    idx = {n: i for i, n in enumerate(pivot.names)}
    out = np.full((len(names), n_days), np.nan)
    for k, n in enumerate(names):
        if n in idx:
            out[k] = pivot.values[idx[n]]
    return out


def _waits_figure(ctx: _Context, run_rank: dict[str, int]) -> list[Path]:
    """Mean and p90 wait per crossing that had a wait, two panels on one scale."""
    mean = _pivot(ctx.daily, "wait_hours_mean", CROSSING_PATTERN)
    p90 = _pivot(ctx.daily, "wait_hours_p90", CROSSING_PATTERN)
    candidates, peak = _with_positive_peak([mean, p90])
    shown, note = _select_by_peak(candidates, peak, "waits")
    title = "Waiting time at crossings"

    if not shown:
        fig, axes = style.new_figure(title, ctx.subtitle())
        style.empty_panel(axes[0], "No waits: no crossing had a queue in this run.")
        return ctx.finish(fig, axes, "waits")

    # Shared y so the p90 panel can be read against the mean panel directly.
    fig, axes = style.new_figure(title, ctx.subtitle(note), nrows=2, sharey=True)
    slots = _assign_styles(shown, run_rank)
    n_days = len(ctx.daily.days)
    for ax, pv, heading in (
        (axes[0], mean, "Mean wait of the day"),
        (axes[1], p90, "90th percentile: one in ten waited longer"),
    ):
        _plot_lines(ax, ctx.daily.days, shown, _rows_for(pv, shown, n_days), slots)
        style.panel_title(ax, heading)
        ax.set_ylabel("Wait (hours)")
    style.zero_based_y(axes)
    ctx.dates(axes)
    return ctx.finish(fig, axes, "waits")


def _queues_figure(ctx: _Context, run_rank: dict[str, int]) -> list[Path]:
    """Longest queue of the day (persons) per crossing that had a queue."""
    queue = _pivot(ctx.daily, "queue_persons_max", CROSSING_PATTERN)
    candidates, peak = _with_positive_peak([queue])
    shown, note = _select_by_peak(candidates, peak, "queues")
    fig, axes = style.new_figure("Longest queue of the day by crossing", ctx.subtitle(note))
    ax = axes[0]
    if not shown:
        style.empty_panel(ax, "No queues at any crossing in this run.")
    else:
        values = _rows_for(queue, shown, len(ctx.daily.days))
        _plot_lines(ax, ctx.daily.days, shown, values, _assign_styles(shown, run_rank))
        style.format_count_axis(ax, "Queue, daily maximum (persons)")
        style.zero_based_y(axes)
        ctx.dates(axes)
    return ctx.finish(fig, axes, "queues")


def _stocks_figure(ctx: _Context, country_rank: dict[str, int]) -> list[Path]:
    """Persons in each destination country at the end of each day (entries − exits, cumulated)."""
    stock = _pivot(ctx.daily, "stock", COUNTRY_PATTERN)
    final = {name: float(np.nan_to_num(row[-1])) for name, row in zip(stock.names, stock.values)} if len(ctx.daily.days) else {}
    order = sorted(stock.names, key=lambda n: (-final[n], n))
    idx = {n: i for i, n in enumerate(stock.names)}
    keep, names, values = order, order, stock.values[[idx[n] for n in order]] if order else stock.values
    if len(order) > style.MAX_SERIES:
        keep, rest = order[: style.MAX_SERIES - 1], order[style.MAX_SERIES - 1 :]
        names = keep + [f"{_OTHER_COUNTRIES} ({len(rest)})"]
        values = np.vstack([stock.values[[idx[n] for n in keep]], _nansum_rows(stock.values[[idx[n] for n in rest]])])
    fig, axes = style.new_figure("People in each destination country", ctx.subtitle("entries minus exits, cumulated"))
    ax = axes[0]
    if not names or not np.isfinite(values).any() or not np.nanmax(values) > 0:
        style.empty_panel(ax, "Nobody stayed in any destination country in this run.")
    else:
        _plot_lines(ax, ctx.daily.days, names, values, _assign_styles(keep, country_rank))
        style.format_count_axis(ax, "In the country, end of day (persons)")
        style.zero_based_y(axes)
        ctx.dates(axes)
    return ctx.finish(fig, axes, "stocks")


def _asylum_figure(ctx: _Context, country_rank: dict[str, int]) -> list[Path]:
    """Asylum claims and grants per day, and the backlog of undecided claims, by country."""
    claims = _pivot(ctx.daily, "asylum_claims", COUNTRY_PATTERN)
    grants = _pivot(ctx.daily, "asylum_grants", COUNTRY_PATTERN)
    backlog = _pivot(ctx.daily, "asylum_backlog", COUNTRY_PATTERN)
    candidates, peak = _with_positive_peak([claims, backlog])
    shown, note = _select_by_peak(candidates, peak, "asylum claims")
    note = note.replace("crossings", "countries") if note else None
    title = "Asylum claims, grants and backlog"
    if not shown:
        fig, axes = style.new_figure(title, ctx.subtitle())
        style.empty_panel(axes[0], "No asylum claims in this run.")
        return ctx.finish(fig, axes, "asylum")
    fig, axes = style.new_figure(title, ctx.subtitle(note), nrows=3, height_in=default_asylum_height())
    slots = _assign_styles(shown, country_rank)
    n_days = len(ctx.daily.days)
    for ax, pivot, heading, label in (
        (axes[0], claims, "Claims lodged per day", "Claims (persons per day)"),
        (axes[1], grants, "Protection granted per day", "Grants (persons per day)"),
        (axes[2], backlog, "Backlog: claims not yet decided, end of day", "Backlog (persons)"),
    ):
        _plot_lines(ax, ctx.daily.days, shown, _rows_for(pivot, shown, n_days), slots)
        style.panel_title(ax, heading)
        style.format_count_axis(ax, label)
        style.zero_based_y([ax])
    ctx.dates(axes)
    return ctx.finish(fig, axes, "asylum")


def default_asylum_height() -> float:
    """Three panels a little lower than the default, so the figure fits a memo page."""
    return round((style.default_height_in(3) - 1.0) * 20) / 20
