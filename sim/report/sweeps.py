"""Figures of a parameter sweep: response curves, a tornado chart and Sobol indices.

Everything is drawn from what a sweep store holds (``sweep.json``, the plan, and the
per-point replicate means computed by :mod:`sim.run.sweep_summary`), so a sweep run
on a cluster is drawn anywhere.

``response``
    Each measure (one panel each, up to :data:`MAX_PANELS`) against the first numeric
    parameter (one whose values an axis can hold, see :data:`MAX_AXIS_VALUE`); a grid
    design draws one line per combination of the other parameters, other designs draw
    the points.
``tornado``
    Per measure, how far the measure moves between a parameter's low and high
    settings, parameters sorted by that swing.  The low setting is the points at the
    parameter's smallest value (a grid) or in its lowest third (lhs, sobol), the high
    one at its largest value or highest third; each bar goes from the mean of the
    measure over the first to the mean over the second, so it also says in which
    direction the parameter pushes.  It is a global, not a one-at-a-time, swing: the
    other parameters vary within both groups.
``sobol``
    First-order and total Sobol indices with their 95% intervals (sobol designs).
"""

from __future__ import annotations

from collections.abc import Sequence
from pathlib import Path
from typing import Any

import math

import numpy as np

from sim.report import style

__all__ = ["MAX_PANELS", "response_figure", "tornado_figure", "sobol_figure", "swings", "measure_unit"]

#: Most measures drawn in one figure (one panel each).
MAX_PANELS = 4
#: A parameter with at most this many distinct values is read as levels (low = smallest value).
_LEVELS = 6
#: Largest parameter value (in size) the response figure draws on its x axis.  matplotlib's
#: tick arithmetic overflows for an axis spanning values near the largest float (1.8e308),
#: which a sweep's ``normal`` distribution can draw; such a parameter is left off the axis
#: (its values are still in ``points.csv``), not drawn by a crash.
MAX_AXIS_VALUE = 1e300


def _subtitle(plan: dict[str, Any], note: str) -> str:
    sweep = plan["sweep"]
    model = sweep.get("model", "crossings")
    what = f"model {model}" if model != "crossings" else f"base {sweep.get('base')}"
    replicates = len(plan["seeds"])
    seeds = ", ".join(str(s) for s in plan["seeds"][:2]) + ("…" if replicates > 2 else "")
    text = (
        f"Sweep {sweep['name']} ({what}): {len(plan['points'])} points × {replicates} "
        f"replicate{'s' * (replicates > 1)}, seed{'s' * (replicates > 1)} {seeds}"
    )
    return f"{text}  ·  {note}" if note else text


def _source(plan: dict[str, Any], version: str) -> str:
    sweep = plan["sweep"]
    scale = sweep.get("scale")
    return (
        f"Source: crossings {version} sweep {sweep['name']}, {sweep['design']['kind']} design, "
        f"design seed {sweep['design'].get('seed', 0)}" + (f", scale {scale:g}" if scale is not None else "")
    )


def _shown(names: Sequence[str], every: Sequence[str]) -> str:
    """A subtitle note when the figure leaves measures out (all are in the CSV)."""
    return "" if len(names) == len(every) else f"  ·  first {len(names)} of {len(every)} measures (all in the CSV)"


def measure_unit(measure: str) -> str:
    """Axis label of a run measure (``entries.GE``, ``wait_hours_p90_max.upper-lars``…), with its unit."""
    kind = measure.split(".", 1)[0]
    if kind.startswith(("wait_hours", "car_wait_hours")):
        return "Hours"
    if kind.startswith("queue_vehicles"):
        return "Vehicles"
    if kind in ("y",):
        return "y (dimensionless)"
    return "Persons (full scale)"


def _thousands(axis: Any) -> None:
    """Thousands separators on an axis of persons or vehicles ("240,000", not "240000")."""
    from matplotlib.ticker import FuncFormatter

    axis.set_major_formatter(FuncFormatter(lambda value, _pos=None: f"{value:,.0f}" if abs(value) >= 1000 else f"{value:g}"))


def _numeric(points: list[list[Any]], index: int) -> bool:
    return all(isinstance(p[index], (int, float)) and not isinstance(p[index], bool) for p in points)


def _drawable(points: list[list[Any]], index: int) -> bool:
    """A numeric parameter whose every value is finite and within :data:`MAX_AXIS_VALUE`."""
    return _numeric(points, index) and all(math.isfinite(p[index]) and abs(p[index]) <= MAX_AXIS_VALUE for p in points)


def response_figure(
    plan: dict[str, Any],
    measures: Sequence[str],
    means: dict[str, np.ndarray],
    path_stem: Path,
    *,
    version: str,
    formats: Sequence[str] = ("png",),
) -> list[Path]:
    """Each measure against the first numeric parameter (nothing when no parameter is numeric).

    A parameter whose values an axis cannot hold (beyond :data:`MAX_AXIS_VALUE` or not
    finite) is not drawn against: the next numeric one is, or nothing.

    Parameters
    ----------
    plan
        The store's ``sweep.json``.
    measures
        Measures in the store, in order; the first :data:`MAX_PANELS` are drawn.
    means
        Per measure, the replicate mean of every point (NaN where none completed).
    path_stem
        Output path without suffix.
    """
    parameters = plan["parameters"]
    points = plan["points"]
    numeric = [i for i in range(len(parameters)) if _drawable(points, i)]
    if not numeric or not measures:
        return []
    first = numeric[0]
    names = list(measures[:MAX_PANELS])
    others = [i for i in range(len(parameters)) if i != first]
    fig, axes = style.new_figure(
        "Response of each measure to the swept parameters",
        _subtitle(plan, "replicate means" + _shown(names, measures)),
        nrows=len(names),
        sharex=True,
    )
    # One line per combination of the other parameters (a grid), or scattered points (lhs).
    groups: dict[tuple[Any, ...], list[int]] = {}
    for index, values in enumerate(points):
        groups.setdefault(tuple(values[i] for i in others), []).append(index)
    grid = plan["sweep"]["design"]["kind"] == "grid" and len(groups) <= style.MAX_SERIES
    for ax, name in zip(axes, names):
        if grid:
            for g, (key, indexes) in enumerate(groups.items()):
                indexes = sorted(indexes, key=lambda j: points[j][first])
                label = ", ".join(f"{parameters[i]}={v}" for i, v in zip(others, key)) or name
                ax.plot([points[j][first] for j in indexes], [means[name][j] for j in indexes], label=label,
                        **style.series_style(g))
        else:
            marker_only = {k: v for k, v in style.series_style(0).items() if k != "linestyle"}
            ax.plot([p[first] for p in points], means[name], linestyle="none", label="point (replicate mean)",
                    **marker_only)
        ax.set_title(name, loc="left", fontsize=9)
        ax.set_ylabel(measure_unit(name))
        _thousands(ax.yaxis)
    axes[-1].set_xlabel(f"{parameters[first]} (as in the scenario)")
    return style.finish(fig, axes, source=_source(plan, version), path_stem=Path(path_stem), formats=formats)


def swings(plan: dict[str, Any], means: np.ndarray) -> list[dict[str, Any]]:
    """Per numeric parameter, the mean of a measure at its low and at its high setting.

    Parameters
    ----------
    plan
        The store's ``sweep.json``.
    means
        The measure's replicate mean per point (points without a value are left out).

    Returns
    -------
    list of dict
        ``parameter``, ``low_label``, ``high_label``, ``low_mean``, ``high_mean``,
        ``swing`` (high minus low), sorted by the size of the swing, largest first.
    """
    parameters = plan["parameters"]
    points = plan["points"]
    means = np.asarray(means, dtype=float)
    rows = []
    for i, parameter in enumerate(parameters):
        if not _numeric(points, i):
            continue
        values = np.array([float(p[i]) for p in points])
        ok = np.isfinite(means)
        levels = np.unique(values[ok])
        if len(levels) < 2:
            continue
        if len(levels) <= _LEVELS:
            low, high = values == levels[0], values == levels[-1]
            low_label, high_label = f"{levels[0]:g}", f"{levels[-1]:g}"
        else:
            # Interpolating between values near the largest float overflows: the
            # labels may then read inf, but the thirds are no less a split.
            with np.errstate(over="ignore", invalid="ignore"):
                third, two_thirds = np.quantile(values[ok], [1 / 3, 2 / 3])
            low, high = values <= third, values >= two_thirds
            low_label, high_label = f"≤ {third:.3g}", f"≥ {two_thirds:.3g}"
        low_mean = float(means[low & ok].mean())
        high_mean = float(means[high & ok].mean())
        rows.append({
            "parameter": parameter, "low_label": low_label, "high_label": high_label,
            "low_mean": low_mean, "high_mean": high_mean, "swing": high_mean - low_mean,
        })
    return sorted(rows, key=lambda r: (-abs(r["swing"]), r["parameter"]))


def tornado_figure(
    plan: dict[str, Any],
    measures: Sequence[str],
    means: dict[str, np.ndarray],
    path_stem: Path,
    *,
    version: str,
    formats: Sequence[str] = ("png",),
) -> list[Path]:
    """Tornado chart: per measure, each parameter's swing from low to high, largest on top.

    Returns nothing when no measure has a parameter with two settings.
    """
    names = [m for m in measures if swings(plan, means[m])][:MAX_PANELS]
    if not names:
        return []
    every = [m for m in measures if swings(plan, means[m])]
    n_params = max(len(swings(plan, means[m])) for m in names)
    panel_in = 0.75 + 0.32 * n_params
    height = round((0.62 + 0.26 + 0.55 + panel_in * len(names)) * 20) / 20
    fig, axes = style.new_figure(
        "Which parameters move each measure most",
        _subtitle(plan, "means over the points at each setting" + _shown(names, every)),
        nrows=len(names),
        sharex=False,
        height_in=height,
    )
    low_style = {"marker": "o", "color": style.SERIES_COLORS[0], "markersize": 6, "linestyle": "none"}
    high_style = {"marker": "s", "color": style.SERIES_COLORS[1], "markersize": 6, "linestyle": "none"}
    for ax, name in zip(axes, names):
        rows = swings(plan, means[name])
        centre = float(np.nanmean(means[name]))
        y = np.arange(len(rows))[::-1]
        for k, row in enumerate(rows):
            low, high = row["low_mean"], row["high_mean"]
            ax.barh(y[k], high - low, left=low, height=0.45, color="#BBBBBB", edgecolor="none")
            ax.plot([low], [y[k]], label="mean at the low setting", **low_style)
            ax.plot([high], [y[k]], label="mean at the high setting", **high_style)
            # Each setting's label on the outer side of its marker, so the two never collide.
            for value, text, outward in ((low, row["low_label"], -1 if low <= high else 1),
                                         (high, row["high_label"], 1 if high >= low else -1)):
                ax.annotate(text, xy=(value, y[k]), xytext=(6 * outward, 0), textcoords="offset points",
                            ha="left" if outward > 0 else "right", va="center", fontsize=6.5, color="#333333")
        ax.axvline(centre, color="#333333", linewidth=0.8, linestyle=":")
        ax.set_yticks(y, [r["parameter"] for r in rows], fontsize=7)
        ax.set_ylim(-0.7, len(rows) - 0.3)
        lo = min(min(r["low_mean"], r["high_mean"]) for r in rows)
        hi = max(max(r["low_mean"], r["high_mean"]) for r in rows)
        pad = 0.3 * max(hi - lo, abs(centre) * 0.02, 1e-9)
        ax.set_xlim(min(lo, centre) - pad, max(hi, centre) + pad)
        ax.grid(axis="x", color="#E3E3E3", linewidth=0.6)
        ax.grid(axis="y", visible=False)
        ax.set_title(name, loc="left", fontsize=9)
        ax.set_xlabel(f"{measure_unit(name)}; dotted line: mean over all points")
        _thousands(ax.xaxis)
        ax.set_ylabel("Parameter")
    return style.finish(fig, axes, source=_source(plan, version), path_stem=Path(path_stem), formats=formats)


def sobol_figure(
    plan: dict[str, Any],
    rows: Sequence[dict[str, Any]],
    path_stem: Path,
    *,
    version: str,
    formats: Sequence[str] = ("png",),
) -> list[Path]:
    """First-order and total Sobol indices with 95% intervals, one panel per measure.

    Parameters
    ----------
    rows
        Rows of ``sobol.csv``: measure, parameter, S1, S1_conf, ST, ST_conf.
    """
    every = list(dict.fromkeys(row["measure"] for row in rows))
    names = every[:MAX_PANELS]
    parameters = plan["parameters"]
    fig, axes = style.new_figure(
        "Which parameters drive each measure",
        _subtitle(plan, "whiskers: 95% intervals" + _shown(names, every)),
        nrows=len(names),
        sharex=True,
    )
    x = np.arange(len(parameters))
    width = 0.38
    for ax, name in zip(axes, names):
        mine = {row["parameter"]: row for row in rows if row["measure"] == name}
        for offset, key, colour, hatch, label in (
            (-width / 2, "S1", style.OKABE_ITO["blue"], None, "First order (S1)"),
            (width / 2, "ST", style.OKABE_ITO["vermillion"], "//", "Total (ST)"),
        ):
            values = [mine[p][key] for p in parameters]
            errors = [mine[p][f"{key}_conf"] for p in parameters]
            ax.bar(x + offset, values, width, yerr=errors, color=colour, hatch=hatch, edgecolor="white",
                   error_kw={"ecolor": "#333333", "capsize": 2, "linewidth": 0.8}, label=label)
        ax.set_title(name, loc="left", fontsize=9)
        ax.set_ylabel("Sobol index (share of variance)")
        ax.set_xticks(x, parameters)
        ax.axhline(0, color="#333333", linewidth=0.6)
    axes[-1].set_xlabel("Parameter (override path)")
    return style.finish(fig, axes, source=_source(plan, version), path_stem=Path(path_stem), formats=formats)
