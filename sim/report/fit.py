"""The fit report's figure: every calibration target, reported against simulated.

Each target's reported band (value ± tolerance, or range), the simulated 5–95%
band and median, all divided by the reported value (or the range's midpoint) so
that counts of hundreds and of hundreds of thousands share one log axis, on which
1 means "as reported".  Drawn by :func:`sim.calibrate.fit.fit_report` next to
``fit_report.csv``.
"""

from __future__ import annotations

from collections.abc import Sequence
from pathlib import Path
from typing import Any

import numpy as np

from sim.calibrate.targets import Target
from sim.report.style import OKABE_ITO, finish, new_figure

__all__ = ["fit_report_figure"]


#: Ratios drawn on the figure's log axis are clipped to this range.
_CLIP = (0.05, 20.0)


def fit_report_figure(
    scores: Sequence[dict[str, Any]],
    summary: dict[str, dict[str, Any]],
    items: Sequence[Target],
    meta: dict[str, Any],
    path_stem: Path,
    *,
    version: str,
    formats: Sequence[str] = ("png",),
) -> list[Path]:
    """Per target, the reported band beside the simulated median and 90% band, as ratios.

    Parameters
    ----------
    scores
        :func:`sim.calibrate.targets.score` of each target, in the order of ``items``.
    summary
        :func:`sim.calibrate.targets.summarise` of the scores (``fit`` and ``all``).
    items
        The targets.
    meta
        ``scenario_name``, ``label`` (or None), ``replicates``, ``scale``, ``seed``, ``targets`` (path).
    path_stem
        Output path without suffix.
    """
    n = len(items)
    height = round((1.9 + 0.2 * n) * 20) / 20
    fit = summary["fit"]
    every = summary["all"]
    subtitle = (
        f"{meta['scenario_name']}{' (' + meta['label'] + ')' if meta.get('label') else ''}, {meta['replicates']} runs, "
        f"seeds from {meta['seed']}, scale {meta['scale']:g}  ·  mean rel. difference {fit['mean_relative_difference']:.2f} (fit), "
        f"{every['mean_relative_difference']:.2f} (all); coverage {fit['coverage']:.0%}, {every['coverage']:.0%}; "
        f"medians in range {fit['medians_inside']:.0%}, {every['medians_inside']:.0%}"
    )
    fig, (ax,) = new_figure("Simulated against reported figures, target by target", subtitle, height_in=height)
    y = np.arange(n)[::-1]
    low_clip, high_clip = _CLIP
    clipped = False

    def ratio(value: float, reference: float) -> float:
        nonlocal clipped
        r = value / reference
        if r < low_clip or r > high_clip:
            clipped = True
        return float(np.clip(r, low_clip, high_clip))

    for k, (t, s) in enumerate(zip(items, scores)):
        ref = s["reference"]
        ax.plot(
            [ratio(s["reported_low"], ref), ratio(s["reported_high"], ref)], [y[k], y[k]],
            color=OKABE_ITO["sky_blue"], linewidth=7, solid_capstyle="butt",
            alpha=0.8, label="Reported (value ± tolerance, or range)",
        )
        if s["n"]:
            ax.plot([ratio(s["low"], ref), ratio(s["high"], ref)], [y[k], y[k]], color="#333333", linewidth=1.2,
                    marker="|", markersize=7, label="Simulated 90% band (5th–95th percentile)")
            ax.plot([ratio(s["median"], ref)], [y[k]], linestyle="none", marker="o", markersize=5,
                    color=OKABE_ITO["vermillion"], label="Simulated median")
    ax.axvline(1.0, color="#333333", linewidth=0.6, linestyle=":")
    ax.set_xscale("log")
    drawn = [x for line in ax.lines for x in line.get_xdata()]
    ax.set_xlim(min([0.5, *drawn]) / 1.25, max([2.0, *drawn]) * 1.25)
    ax.set_yticks(y, [f"{t.id} ({t.use})" for t in items], fontsize=7)
    ax.set_ylim(-0.8, n - 0.2)
    note = f", clipped to {low_clip:g}–{high_clip:g}" if clipped else ""
    ax.set_xlabel(f"Value ÷ reported value or range midpoint (ratio, log scale{note})")
    ax.set_ylabel("Target (use)")
    ax.grid(axis="x", color="#DDDDDD", linewidth=0.6)
    source = (
        f"Source: crossings {version} simulation, scenario {meta['scenario_name']}, seeds from {meta['seed']}, "
        f"scale {meta['scale']:g}; targets {Path(meta['targets']).name}"
    )
    return finish(fig, [ax], source=source, path_stem=Path(path_stem), formats=formats)
