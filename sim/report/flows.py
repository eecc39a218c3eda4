"""Where people went: a flow diagram and a schematic map, from a run's ``flows.csv``.

``flows``
    Four columns of bars, origin → crossing → first country → where they went next,
    each bar as tall as the persons through it, joined by bands as wide as the
    persons going from one to the other.  Every column adds up to everyone who
    entered a country in the period; the last column's "no onward move" holds those
    who stayed (or went home) rather than enter a second country.  A column with
    more than :data:`MAX_NODES` entries shows the largest and groups the rest.
    Bands take the colour (and the bars the hatch) of the first country, so a reader
    can follow one country's people from their origins to where they went on.
``map``
    Origins and crossings at their coordinates (longitude and latitude on a plain
    equirectangular grid: no tiles, nothing downloaded), with arrows from each origin
    to each crossing and from each crossing on to the next one, as wide as the flow.
    Flows under :data:`MIN_MAP_SHARE` of all entries are left out (the subtitle says
    how many persons that is), so that the map shows the routes that matter.
"""

from __future__ import annotations

import math
from collections import defaultdict
from collections.abc import Sequence
from dataclasses import dataclass
from pathlib import Path

import numpy as np
import pyarrow as pa
from matplotlib.axes import Axes
from matplotlib.lines import Line2D
from matplotlib.patches import FancyArrowPatch, PathPatch, Rectangle
from matplotlib.path import Path as MplPath
from matplotlib.ticker import FuncFormatter

from sim.report import style
from sim.scenario.schema import Scenario

__all__ = ["MAX_NODES", "MIN_MAP_SHARE", "flow_figure", "map_figure", "read_flows"]

#: Most bars in one column of the flow diagram (the rest are grouped as "other …").
MAX_NODES = 7
#: Flows below this share of all entries are not drawn on the map.
MIN_MAP_SHARE = 0.01
_NO_ONWARD = "no onward move"
_HATCHES = ("", "////", "....", "xxxx", "\\\\\\\\", "oo", "++", "--")


@dataclass(frozen=True)
class _Flow:
    origin: str
    crossing: str
    country: str
    onward_crossing: str
    onward_country: str
    persons: float


def read_flows(table: pa.Table) -> list[_Flow]:
    """The rows of a flows table (``flows.csv`` read with pyarrow, or :func:`sim.run.flows.flow_table`)."""
    columns = ("origin", "crossing", "country", "onward_crossing", "onward_country")
    data = {c: ["" if v is None else str(v) for v in table[c].to_pylist()] for c in columns}
    persons = [float(v) for v in table["persons"].to_pylist()]
    return [_Flow(*(data[c][i] for c in columns), persons[i]) for i in range(len(persons))]


def _country_order(flows: Sequence[_Flow]) -> list[str]:
    """Countries entered, by persons, largest first (ties by name): their style slots.

    First countries come before countries only entered onward, so the countries
    people first reached keep the first (most distinct) colours.
    """
    first: dict[str, float] = defaultdict(float)
    onward: dict[str, float] = defaultdict(float)
    for f in flows:
        first[f.country] += f.persons
        if f.onward_country:
            onward[f.onward_country] += f.persons
    ordered = sorted(first, key=lambda c: (-first[c], c))
    return ordered + sorted((c for c in onward if c not in first), key=lambda c: (-onward[c], c))


def _grouped(totals: dict[str, float], other: str, keep_last: str | None = None) -> dict[str, str]:
    """Name -> shown name: the largest :data:`MAX_NODES` kept, the rest as ``other (n)``."""
    order = sorted((n for n in totals if n != keep_last), key=lambda n: (-totals[n], n))
    room = MAX_NODES - (keep_last in totals)
    if len(order) <= room:
        shown = {n: n for n in order}
    else:
        kept, rest = order[: room - 1], order[room - 1 :]
        shown = {n: n for n in kept} | {n: f"{other} ({len(rest)})" for n in rest}
    if keep_last in totals:
        shown[keep_last] = keep_last
    return shown


def flow_figure(
    flows: Sequence[_Flow],
    path_stem: Path,
    *,
    subtitle: str,
    source: str,
    formats: Sequence[str] = ("png",),
) -> list[Path]:
    """The flow diagram origin → crossing → first country → onward (see the module docstring)."""
    total = sum(f.persons for f in flows)
    fig, axes = style.new_figure(
        "Where people went: origin, crossing, first country, then",
        subtitle + "  ·  bar and band heights: persons entering in the period",
        height_in=5.2,
    )
    ax = axes[0]
    if total <= 0:
        style.empty_panel(ax, "Nobody entered a country in this run.")
        return style.finish(fig, axes, source=source, path_stem=Path(path_stem), formats=formats)

    columns = ["origin", "crossing", "country", "onward"]
    values = {
        "origin": lambda f: f.origin,
        "crossing": lambda f: f.crossing,
        "country": lambda f: f.country,
        "onward": lambda f: f.onward_country or _NO_ONWARD,
    }
    totals: dict[str, dict[str, float]] = {c: defaultdict(float) for c in columns}
    for f in flows:
        for c in columns:
            totals[c][values[c](f)] += f.persons
    names = {
        "origin": _grouped(totals["origin"], "other origins"),
        "crossing": _grouped(totals["crossing"], "other crossings"),
        "country": _grouped(totals["country"], "other countries"),
        "onward": _grouped(totals["onward"], "other countries", keep_last=_NO_ONWARD),
    }
    country_slot = {c: i for i, c in enumerate(_country_order(flows))}

    def colour(country: str) -> str:
        slot = country_slot.get(country, style.MAX_SERIES)
        return style.SERIES_COLORS[slot] if slot < style.MAX_SERIES - 1 else style.OTHER_COLOR

    # Node sizes per column, in shown names; layout top to bottom, largest first
    # (the "no onward move" bar last, so the onward countries sit together on top).
    x = {"origin": 0.13, "crossing": 0.42, "country": 0.66, "onward": 0.84}
    bar_w = 0.022
    gap = 0.018
    layout: dict[str, dict[str, tuple[float, float]]] = {}
    for c in columns:
        size: dict[str, float] = defaultdict(float)
        for raw, persons in totals[c].items():
            size[names[c][raw]] += persons
        order = sorted(size, key=lambda n: (n == _NO_ONWARD, n.startswith("other"), -size[n], n))
        height_left = 1.0 - gap * (len(order) - 1)
        y = 1.0
        layout[c] = {}
        for n in order:
            h = size[n] / total * height_left
            layout[c][n] = (y - h, y)
            y -= h + gap

    # Bands between neighbouring columns, split by first country (their colour).
    links: dict[tuple[str, str, str, str], float] = defaultdict(float)
    for f in flows:
        for a, b in zip(columns[:-1], columns[1:]):
            links[(a, names[a][values[a](f)], names[b][values[b](f)], f.country)] += f.persons
    out_cursor = {c: {n: top for n, (_, top) in layout[c].items()} for c in columns}
    in_cursor = {c: {n: top for n, (_, top) in layout[c].items()} for c in columns}
    height_of = {c: (1.0 - gap * (len(layout[c]) - 1)) / total for c in columns}
    ordered_links = sorted(
        links.items(),
        key=lambda item: (
            columns.index(item[0][0]),
            -layout[item[0][0]][item[0][1]][1],
            -layout[columns[columns.index(item[0][0]) + 1]][item[0][2]][1],
            country_slot.get(item[0][3], 99),
        ),
    )
    for (a, source_name, target_name, country), persons in ordered_links:
        b = columns[columns.index(a) + 1]
        h_a, h_b = persons * height_of[a], persons * height_of[b]
        y0_top = out_cursor[a][source_name]
        y1_top = in_cursor[b][target_name]
        out_cursor[a][source_name] -= h_a
        in_cursor[b][target_name] -= h_b
        _band(ax, x[a] + bar_w / 2, y0_top, y0_top - h_a, x[b] - bar_w / 2, y1_top, y1_top - h_b, colour(country))

    for c in columns:
        for n, (bottom, top) in layout[c].items():
            first_country = n if c == "country" else None
            face = colour(first_country) if first_country else "#444444"
            hatch = _HATCHES[country_slot.get(first_country, 0) % len(_HATCHES)] if first_country else ""
            ax.add_patch(Rectangle((x[c] - bar_w / 2, bottom), bar_w, top - bottom, facecolor=face,
                                   edgecolor="white", hatch=hatch, linewidth=0.4, zorder=3))
            persons = sum(p for raw, p in totals[c].items() if names[c][raw] == n)
            text = f"{n}  {persons:,.0f}"
            left = c == "origin"
            ax.text(x[c] + (-1 if left else 1) * (bar_w / 2 + 0.006), (bottom + top) / 2, text,
                    ha="right" if left else "left", va="center", fontsize=6.3, color="#222222", zorder=4,
                    bbox={"boxstyle": "square,pad=0.1", "fc": "white", "ec": "none", "alpha": 0.75})
    for country in names["country"].values():
        if country in country_slot and country_slot[country] < style.MAX_SERIES - 1:
            # A legend entry only (no size, nothing drawn): band colour and hatch -> first country.
            ax.add_patch(Rectangle((0, 0), 0, 0, facecolor=colour(country), edgecolor="white",
                                   hatch=_HATCHES[country_slot[country] % len(_HATCHES)],
                                   label=f"first entered {country}"))
    for c, heading in zip(columns, ("Origin", "Crossing out of home", "First country", "Then entered")):
        ax.text(x[c], 1.035, heading, ha="center", va="bottom", fontsize=7.5, fontweight="bold", color="#222222")
    ax.set_xlim(0.0, 1.0)
    ax.set_ylim(-0.01, 1.08)
    ax.set_axis_off()
    return style.finish(fig, axes, source=source, path_stem=Path(path_stem), formats=formats)


def _band(ax: Axes, x0: float, y0_top: float, y0_bottom: float, x1: float, y1_top: float, y1_bottom: float,
          colour: str) -> None:
    """A band from one bar to the next, its edges S-shaped cubic curves."""
    mid = (x0 + x1) / 2
    vertices = [
        (x0, y0_top), (mid, y0_top), (mid, y1_top), (x1, y1_top),
        (x1, y1_bottom), (mid, y1_bottom), (mid, y0_bottom), (x0, y0_bottom), (x0, y0_top),
    ]
    codes = [MplPath.MOVETO, MplPath.CURVE4, MplPath.CURVE4, MplPath.CURVE4,
             MplPath.LINETO, MplPath.CURVE4, MplPath.CURVE4, MplPath.CURVE4, MplPath.CLOSEPOLY]
    ax.add_patch(PathPatch(MplPath(vertices, codes), facecolor=colour, edgecolor="none", alpha=0.45, zorder=2))


def _unwrap(lons: np.ndarray) -> np.ndarray:
    """Longitudes shifted by 360° where that makes the points sit closer together.

    A run spanning the antimeridian (Chukotka and St Lawrence Island) would
    otherwise stretch across the whole world.
    """
    lons = np.asarray(lons, dtype=float)
    shifted = np.where(lons < 0, lons + 360.0, lons)
    return shifted if np.ptp(shifted) < np.ptp(lons) else lons


def map_figure(
    flows: Sequence[_Flow],
    scenario: Scenario,
    path_stem: Path,
    *,
    subtitle: str,
    source: str,
    formats: Sequence[str] = ("png",),
) -> list[Path]:
    """The schematic map of routes (see the module docstring)."""
    total = sum(f.persons for f in flows)
    origins = {o.id: o for o in scenario.origins}
    crossings = {c.id: c for c in scenario.crossings}
    country_names = {c.iso: c.name for c in scenario.countries}
    first_leg: dict[tuple[str, str], float] = defaultdict(float)
    onward_leg: dict[tuple[str, str], float] = defaultdict(float)
    for f in flows:
        first_leg[(f.origin, f.crossing)] += f.persons
        if f.onward_crossing:
            onward_leg[(f.crossing, f.onward_crossing)] += f.persons
    threshold = MIN_MAP_SHARE * total
    drawn_first = {k: v for k, v in first_leg.items() if v >= threshold}
    drawn_onward = {k: v for k, v in onward_leg.items() if v >= threshold}
    left_out = sum(v for k, v in first_leg.items() if k not in drawn_first)
    left_out += sum(v for k, v in onward_leg.items() if k not in drawn_onward)

    note = f"arrows from {MIN_MAP_SHARE:.0%} of entries up; {left_out:,.0f} persons on smaller routes not drawn"
    title = "Routes out, and on: the main flows"
    if total <= 0 or not drawn_first:
        fig, axes = style.new_figure(title, f"{subtitle}  ·  {note}")
        style.empty_panel(axes[0], "Nobody entered a country in this run.")
        return style.finish(fig, axes, source=source, path_stem=Path(path_stem), formats=formats)

    def exit_point(crossing_id: str) -> tuple[float, float]:
        c = crossings[crossing_id]
        return (c.arrival_lon if c.arrival_lon is not None else c.lon,
                c.arrival_lat if c.arrival_lat is not None else c.lat)

    # Every place drawn, with unwrapped longitudes so the map is compact.
    places: dict[str, tuple[float, float]] = {}
    for o, c in drawn_first:
        places[f"o:{o}"] = (origins[o].lon, origins[o].lat)
        places[f"c:{c}"] = (crossings[c].lon, crossings[c].lat)
    for a, b in drawn_onward:
        places[f"c:{b}"] = (crossings[b].lon, crossings[b].lat)
        places[f"x:{b}"] = exit_point(b)
    keys = list(places)
    lon = _unwrap(np.array([places[k][0] for k in keys]))
    lat = np.array([places[k][1] for k in keys])
    where = {k: (float(lon[i]), float(lat[i])) for i, k in enumerate(keys)}
    frame, aspect, panel_height = _frame(lon, lat)
    fig, axes = style.new_figure(title, f"{subtitle}  ·  {note}", sharex=False,
                                 height_in=round((panel_height + 2.1) * 20) / 20)
    ax = axes[0]

    country_slot = {c: i for i, c in enumerate(_country_order(flows))}

    def crossing_style(crossing_id: str) -> dict[str, object]:
        slot = country_slot.get(crossings[crossing_id].to, style.MAX_SERIES - 1)
        st = style.series_style(min(slot, style.MAX_SERIES - 1))
        return {"color": st["color"], "marker": st["marker"]}

    # Crossings a degree or so apart share one label, so their names do not overprint.
    labels: dict[str, list[str]] = {}
    anchors: dict[str, tuple[float, float]] = {}
    for key in sorted((k for k in where if k.startswith("c:")), key=lambda k: (-where[k][1], where[k][0])):
        x, y = where[key]
        near = next((a for a, (ax_, ay) in anchors.items() if abs(ax_ - x) < 2.5 and abs(ay - y) < 1.2), None)
        if near is None:
            anchors[key] = (x, y)
            labels[key] = [key[2:]]
        else:
            labels[near].append(key[2:])

    biggest = max([*drawn_first.values(), *drawn_onward.values()])
    max_width_pt = 7.0

    def width(persons: float) -> float:
        return max(0.6, max_width_pt * math.sqrt(persons / biggest))

    for (o, c), persons in sorted(drawn_first.items(), key=lambda kv: -kv[1]):
        _arrow(ax, where[f"o:{o}"], where[f"c:{c}"], width(persons), "#555555", "-")
    for (a, b), persons in sorted(drawn_onward.items(), key=lambda kv: -kv[1]):
        start = where.get(f"c:{a}", (crossings[a].lon, crossings[a].lat))
        end = where[f"x:{b}"]
        # An air route: the arrow flies from the airport to where it lands.
        _arrow(ax, start, where[f"c:{b}"], width(persons), "#555555", (0, (3, 1.5)))
        if where[f"x:{b}"] != where[f"c:{b}"]:
            _arrow(ax, where[f"c:{b}"], end, width(persons), "#999999", (0, (1, 1.5)))

    for key, (x, y) in where.items():
        kind, name = key.split(":", 1)
        if kind == "o":
            ax.plot([x], [y], marker="H", color="#222222", markersize=5, linestyle="none", zorder=5,
                    label="origin (city)")
            city = origins[name].name.split(" (")[0]
            ax.annotate(city, (x, y), xytext=(0, -6), textcoords="offset points", ha="center",
                        va="top", fontsize=6, color="#222222", zorder=6, fontstyle="italic")
        elif kind == "c":
            st = crossing_style(name)
            country = crossings[name].to
            ax.plot([x], [y], linestyle="none", markersize=6, markeredgecolor="white", markeredgewidth=0.6,
                    zorder=6, label=f"crossing into {country_names.get(country, country)}", **st)
            if key in labels:
                ax.annotate(", ".join(labels[key]), (x, y), xytext=(4, 3), textcoords="offset points", ha="left",
                            va="bottom", fontsize=5.8, color="#333333", zorder=6,
                            bbox={"boxstyle": "square,pad=0.05", "fc": "white", "ec": "none", "alpha": 0.7})

    ax.set_xlim(*frame[0])
    ax.set_ylim(*frame[1])
    # Equal distances in x and y at the mid latitude (the figure height was chosen for it).
    ax.set_aspect(aspect, adjustable="box")
    ax.grid(True, color="#E3E3E3", linewidth=0.5)
    ax.xaxis.set_major_formatter(_degrees("E", "W"))
    ax.yaxis.set_major_formatter(_degrees("N", "S"))
    ax.set_xlabel("Longitude (degrees)")
    ax.set_ylabel("Latitude (degrees)")
    for persons in _reference_flows(biggest):
        ax.plot([], [], color="#555555", linewidth=width(persons), label=f"{persons:,.0f} persons")
    ax.add_line(Line2D([], [], color="#555555", linestyle=(0, (3, 1.5)), linewidth=1.2, label="moving on"))
    return style.finish(fig, axes, source=source, path_stem=Path(path_stem), formats=formats, legend_ncols=3)


def _frame(lon: np.ndarray, lat: np.ndarray) -> tuple[tuple[tuple[float, float], tuple[float, float]], float, float]:
    """Axis limits around the places, the aspect (1 / cos of the mid latitude), and the panel height, inches.

    The panel is as high as the memo width allows for that aspect, within 2.5 to 5 in.
    """
    pad_x, pad_y = max(2.0, 0.08 * np.ptp(lon)), max(1.5, 0.1 * np.ptp(lat))
    x0, x1 = float(lon.min() - pad_x), float(lon.max() + pad_x)
    y0, y1 = float(lat.min() - pad_y), float(lat.max() + pad_y)
    aspect = 1.0 / max(0.2, math.cos(math.radians((y0 + y1) / 2)))
    width_in = style.MEMO_WIDTH_IN - 0.9  # less the latitude labels
    panel = width_in * (y1 - y0) * aspect / (x1 - x0)
    return ((x0, x1), (y0, y1)), aspect, float(np.clip(panel, 2.5, 5.0))


def _degrees(positive: str, negative: str) -> FuncFormatter:
    """Tick labels in degrees with a hemisphere letter ("60°E", "171°W" past the antimeridian)."""

    def label(value: float, _pos: int | None = None) -> str:
        wrapped = ((value + 180.0) % 360.0) - 180.0 if positive == "E" else value
        hemisphere = positive if wrapped >= 0 else negative
        return f"{abs(wrapped):.0f}°{hemisphere}"

    return FuncFormatter(label)


def _reference_flows(biggest: float) -> list[float]:
    """Two round numbers of persons for the legend's arrow widths: about the largest flow, and a tenth."""
    top = 10 ** math.floor(math.log10(biggest))
    top = max(k * top for k in (1, 2, 5) if k * top <= biggest)
    return [top, top / 10]


def _arrow(ax: Axes, start: tuple[float, float], end: tuple[float, float], width_pt: float, colour: str,
           linestyle: object) -> None:
    """A slightly curved arrow ``width_pt`` points wide, its head growing with it."""
    ax.add_patch(
        FancyArrowPatch(
            start, end, arrowstyle=f"-|>,head_length={1.5 + width_pt * 0.35:.2f},head_width={1.0 + width_pt * 0.3:.2f}",
            connectionstyle="arc3,rad=0.12", linewidth=width_pt, color=colour, alpha=0.75,
            linestyle=linestyle, zorder=3, shrinkA=2, shrinkB=3,
        )
    )
