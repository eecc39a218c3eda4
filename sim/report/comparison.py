"""Figures of scenario comparisons: paired differences with their 95% intervals.

The common-random-numbers figure puts, for each measure, the interval of the
paired design beside the interval from independent seeds, so a reader sees what
the design buys: the same policy effect, known far more precisely.
"""

from __future__ import annotations

from collections.abc import Sequence
from pathlib import Path

import numpy as np
from matplotlib.ticker import FuncFormatter

from sim.report.style import finish, new_figure, series_style
from sim.run.compare import Comparison

__all__ = ["write_crn_figure"]


def write_crn_figure(
    paired: Comparison,
    independent: Comparison,
    measures: Sequence[str],
    path_stem: Path,
    *,
    version: str,
    formats: Sequence[str] = ("png",),
) -> list[Path]:
    """Intervals of the paired (common random numbers) and independent designs, per measure.

    Parameters
    ----------
    paired, independent
        The same comparison run both ways (``compare(..., independent=True)``).
    measures
        Measures to show, top to bottom.
    path_stem
        Output path without suffix.
    """
    rows = len(measures)
    fig, (ax,) = new_figure(
        "Common random numbers narrow the interval of a policy effect",
        f"{Path(independent.policy).stem} minus {Path(independent.base).stem}: mean difference, 95% interval, "
        f"{paired.rows[0].replicates} replicates",
        height_in=1.4 + 0.45 * rows,
    )
    y = np.arange(rows)[::-1].astype(float)
    for offset, comparison, label, style_index in (
        (0.15, paired, "common random numbers (same seed in both runs)", 0),
        (-0.15, independent, "independent seeds", 1),
    ):
        style = series_style(style_index)
        diffs = np.array([comparison.row(m).difference for m in measures])
        low = np.array([comparison.row(m).ci_low for m in measures])
        high = np.array([comparison.row(m).ci_high for m in measures])
        ax.errorbar(
            diffs,
            y + offset,
            xerr=[diffs - low, high - diffs],
            fmt=style.get("marker", "o"),
            color=style["color"],
            capsize=3,
            markersize=4,
            label=label,
        )
    ratios = [independent.row(m).half_width / max(paired.row(m).half_width, 1e-12) for m in measures]
    ax.axvline(0.0, color="#888888", lw=0.8, ls=":")
    ax.set_yticks(y)
    ax.set_yticklabels([f"{m}\n{r:.1f}× narrower" for m, r in zip(measures, ratios)])
    ax.xaxis.set_major_formatter(FuncFormatter(lambda value, _: f"{value:,.0f}"))
    ax.set_xlabel(f"Policy minus base (persons over the period, full scale; runs at scale {paired.scale})")
    ax.set_ylabel("Measure")
    source = f"Source: crossings {version} simulation; seeds {paired.seeds[0]}… (paired) and {independent.policy_seeds[0]}… (independent policy runs)"
    return finish(fig, [ax], source=source, path_stem=Path(path_stem), formats=formats)
