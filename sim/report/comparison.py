"""Figures of scenario comparisons: fan charts, paired differences, and what pairing buys.

``fan_entries`` and ``fan_waits``
    Baseline and policy over time: the mean over the replicates of the daily entries
    into each country (or the daily 90th-percentile wait at each crossing) with its
    95% t-interval as a band, one panel per place.  The places shown are those the
    policy changes most (largest total paired difference, or largest change of the
    peak wait).
``difference_entries``
    The paired difference policy − baseline of the daily entries, replicate by
    replicate (common random numbers), its mean and 95% t-interval, same places.
``crn_vs_independent``
    For each measure, the interval of the paired design beside the interval from
    independent seeds, so a reader sees what the design buys: the same policy
    effect, known far more precisely.

Bands are drawn so they stay apart in greyscale: the baseline plain and solid, the
policy hatched and dashed.
"""

from __future__ import annotations

from collections.abc import Sequence
from pathlib import Path



import numpy as np
import pyarrow as pa
import pyarrow.compute as pc
from matplotlib.axes import Axes
from matplotlib.ticker import FuncFormatter
from scipy import stats

from sim.report import style
from sim.run.compare import Comparison

__all__ = ["write_crn_figure", "write_comparison_figures", "replicate_series", "mean_band"]

#: Panels in a fan chart: the places the policy changes most.
FAN_PANELS = 4
_BASE_STYLE = {"color": style.OKABE_ITO["blue"], "linestyle": "-", "fill": style.OKABE_ITO["blue"], "hatch": None}
_POLICY_STYLE = {"color": style.OKABE_ITO["vermillion"], "linestyle": (0, (5, 1.5)), "fill": style.OKABE_ITO["vermillion"],
                 "hatch": "////"}


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
    seeds = ", ".join(str(s) for s in paired.seeds[:2]) + ("…" if len(paired.seeds) > 2 else "")
    fig, (ax,) = style.new_figure(
        "Common random numbers narrow the interval of a policy effect",
        f"{Path(independent.policy).stem} minus {Path(independent.base).stem}: mean difference, 95% interval, "
        f"{paired.rows[0].replicates} replicates, paired seeds {seeds}",
        height_in=round((1.4 + 0.45 * rows) * 20) / 20,
    )
    y = np.arange(rows)[::-1].astype(float)
    for offset, comparison, label, style_index in (
        (0.15, paired, "common random numbers (same seed in both runs)", 0),
        (-0.15, independent, "independent seeds", 1),
    ):
        look = style.series_style(style_index)
        diffs = np.array([comparison.row(m).difference for m in measures])
        low = np.array([comparison.row(m).ci_low for m in measures])
        high = np.array([comparison.row(m).ci_high for m in measures])
        ax.errorbar(
            diffs,
            y + offset,
            xerr=[diffs - low, high - diffs],
            fmt=look.get("marker", "o"),
            color=look["color"],
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
    return style.finish(fig, [ax], source=source, path_stem=Path(path_stem), formats=formats)


def replicate_series(
    table: pa.Table, measure: str, scenario: str
) -> tuple[np.ndarray, list[str], np.ndarray]:
    """One measure of one side as an array ``[place, replicate, day]`` (NaN where a run has no row).

    Parameters
    ----------
    table
        ``replicates.parquet`` of a comparison.
    measure
        A daily measure, e.g. ``"entries"``.
    scenario
        ``"base"`` or ``"policy"``.

    Returns
    -------
    days : numpy.ndarray
        Every day of the period (``datetime64[D]``).
    places : list of str
        Places with at least one row of the measure, sorted.
    values : numpy.ndarray
        Shape ``(len(places), replicates, len(days))``.
    """
    dates = np.asarray(table["date"].to_numpy(zero_copy_only=False), dtype="datetime64[D]")
    days = np.arange(dates.min(), dates.max() + np.timedelta64(1, "D")) if len(dates) else np.array([], "datetime64[D]")
    replicates = int(pc.max(table["replicate"]).as_py()) + 1 if table.num_rows else 0
    mask = pc.and_(pc.equal(table["measure"], measure), pc.equal(table["scenario"], scenario))
    part = table.filter(mask)
    places = sorted(set(part["place"].to_pylist()))
    values = np.full((len(places), replicates, len(days)), np.nan)
    if part.num_rows:
        index = {p: i for i, p in enumerate(places)}
        p = np.array([index[x] for x in part["place"].to_pylist()])
        r = np.asarray(part["replicate"].to_numpy())
        d = ((np.asarray(part["date"].to_numpy(zero_copy_only=False), dtype="datetime64[D]") - days[0])
             / np.timedelta64(1, "D")).astype(int)
        values[p, r, d] = np.asarray(part["value"].to_numpy())
    return days, places, values


def mean_band(values: np.ndarray) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
    """Mean over replicates (axis 0) and its 95% t-interval, day by day, ignoring NaN.

    A day with one defined replicate has its value and no band (NaN bounds).
    """
    n = np.sum(np.isfinite(values), axis=0)
    with np.errstate(invalid="ignore", divide="ignore"):
        mean = np.where(n > 0, np.nansum(values, axis=0) / np.maximum(n, 1), np.nan)
        sd = np.sqrt(np.where(n > 1, np.nansum((values - mean) ** 2, axis=0) / np.maximum(n - 1, 1), np.nan))
        half = stats.t.ppf(0.975, np.maximum(n - 1, 1)) * sd / np.sqrt(np.maximum(n, 1))
    half = np.where(n > 1, half, np.nan)
    return mean, mean - half, mean + half


def _band(ax: Axes, days: np.ndarray, values: np.ndarray, label: str, look: dict) -> None:
    mean, low, high = mean_band(values)
    ok = np.isfinite(low) & np.isfinite(high)
    ax.fill_between(days, np.where(ok, low, np.nan), np.where(ok, high, np.nan), facecolor=look["fill"],
                    alpha=0.22, hatch=look["hatch"], edgecolor=look["color"], linewidth=0.0,
                    label=f"95% interval ({label.split(':')[0]})" if look.get("band_label", True) else "_band")
    ax.plot(days, mean, color=look["color"], linestyle=look["linestyle"], linewidth=1.4, label=label)


def _names(table: pa.Table, info: dict) -> tuple[str, str]:
    meta = table.schema.metadata or {}
    base = meta.get(b"base_name", b"").decode() or Path(str(info.get("base", "base"))).stem
    policy = meta.get(b"policy_name", b"").decode() or Path(str(info.get("policy", "policy"))).stem
    return base, policy


def write_comparison_figures(
    table: pa.Table,
    info: dict,
    out_dir: Path,
    *,
    version: str | None = None,
    formats: Sequence[str] = ("png",),
) -> list[Path]:
    """Fan charts and paired differences of a comparison (see the module docstring).

    Parameters
    ----------
    table
        The comparison's ``replicates.parquet``.
    info
        Its ``compare.json`` (seeds, scale, design).
    out_dir
        Folder for the figures (must exist).
    version
        Version of crossings named in the source line [default: the installed one].
    """
    from sim.run.api import package_version

    version = version or package_version()
    base_name, policy_name = _names(table, info)
    seeds = info["seeds"]
    replicates = len(seeds)
    design = "common random numbers" if info.get("common_random_numbers", True) else "independent seeds"
    if info.get("posterior"):
        design += f", parameters drawn from the posterior of {Path(info['posterior']).name}"
    seed_text = ", ".join(str(x) for x in seeds[:2]) + ("…" if replicates > 2 else "")
    subtitle = f"{policy_name} against {base_name}, {replicates} replicates ({design}), seeds {seed_text}"
    source = (
        f"Source: crossings {version} simulation, scenarios {base_name} and {policy_name}, "
        f"seeds {seed_text}, scale {info['scale']:g}"
    )
    out_dir = Path(out_dir)
    files: list[Path] = []

    days, base_places, base = replicate_series(table, "entries", "base")
    _, policy_places, policy = replicate_series(table, "entries", "policy")
    countries = sorted(p for p in set(base_places) | set(policy_places) if len(p) == 2 and p.isupper())
    base_c = _aligned(base, base_places, countries, days)
    policy_c = _aligned(policy, policy_places, countries, days)
    paired = np.nan_to_num(policy_c) - np.nan_to_num(base_c)
    change = np.abs(paired.sum(axis=2).mean(axis=1)) if countries else np.zeros(0)
    shown = [countries[i] for i in sorted(range(len(countries)), key=lambda i: (-change[i], countries[i]))][:FAN_PANELS]
    note = "mean of the replicates, band: its 95% interval; countries the policy changes most"
    files += _fan(days, shown, countries, base_c, policy_c, base_name, policy_name,
                  "Daily entries: baseline and policy", f"{subtitle}  ·  {note}", "Entries (persons per day)",
                  source, out_dir / "fan_entries", formats)
    files += _difference_figure(days, shown, countries, paired, f"{subtitle}  ·  policy minus baseline, replicate by "
                                "replicate: mean and 95% interval", source, out_dir / "difference_entries", formats)

    _, base_w_places, base_w = replicate_series(table, "wait_hours_p90", "base")
    _, policy_w_places, policy_w = replicate_series(table, "wait_hours_p90", "policy")
    crossings = sorted(set(base_w_places) | set(policy_w_places))
    base_w = _aligned(base_w, base_w_places, crossings, days)
    policy_w = _aligned(policy_w, policy_w_places, crossings, days)
    peak_change = np.abs(_peak(policy_w) - _peak(base_w)) if crossings else np.zeros(0)
    wait_shown = [crossings[i] for i in sorted(range(len(crossings)), key=lambda i: (-peak_change[i], crossings[i]))]
    wait_shown = wait_shown[:FAN_PANELS]
    files += _fan(days, wait_shown, crossings, base_w, policy_w, base_name, policy_name,
                  "Waits at crossings: baseline and policy",
                  f"{subtitle}  ·  90th-percentile wait, mean of the replicates with a wait that day, band: 95% "
                  "interval; crossings whose peak changes most", "Wait, 90th percentile (hours)",
                  source, out_dir / "fan_waits", formats)
    return files


def _peak(waits: np.ndarray) -> np.ndarray:
    """Each crossing's highest wait over replicates and days (axis 0: crossings); 0 where it had none.

    A crossing without a wait on any day (nobody crossed it) is all NaN: its peak is 0,
    without numpy's warning of an all-NaN slice reaching the user.
    """
    filled = np.where(np.isnan(waits), -np.inf, waits).max(axis=(1, 2))
    return np.where(np.isneginf(filled), 0.0, filled)


def _aligned(values: np.ndarray, places: list[str], wanted: list[str], days: np.ndarray) -> np.ndarray:
    """``values`` rearranged to the places ``wanted`` (all NaN for a place it lacks)."""
    out = np.full((len(wanted), values.shape[1] if values.ndim == 3 else 0, len(days)), np.nan)
    index = {p: i for i, p in enumerate(places)}
    for k, place in enumerate(wanted):
        if place in index:
            out[k] = values[index[place]]
    return out


def _panel_height(panels: int) -> float:
    return round((0.62 + 0.26 + 0.5 + 0.45 + 1.55 * max(panels, 1)) * 20) / 20


def _fan(days, shown, places, base, policy, base_name, policy_name, title, subtitle, ylabel, source, stem, formats):
    fig, axes = style.new_figure(title, subtitle, nrows=max(len(shown), 1), height_in=_panel_height(len(shown)))
    if not shown:
        style.empty_panel(axes[0], "Nothing to compare: no place has this measure in either scenario.")
        return style.finish(fig, axes, source=source, path_stem=stem, formats=formats)
    index = {p: i for i, p in enumerate(places)}
    for ax, place in zip(axes, shown):
        _band(ax, days, base[index[place]], f"baseline: {base_name}", _BASE_STYLE)
        _band(ax, days, policy[index[place]], f"policy: {policy_name}", _POLICY_STYLE)
        style.panel_title(ax, place)
        style.format_count_axis(ax, ylabel) if "Entries" in ylabel else ax.set_ylabel(ylabel)
        style.zero_based_y([ax])
    style.format_date_axis(axes[-1], days[0], days[-1])
    _label_once(fig, axes, ylabel)
    return style.finish(fig, axes, source=source, path_stem=stem, formats=formats)


def _difference_figure(days, shown, places, paired, subtitle, source, stem, formats):
    fig, axes = style.new_figure("Daily entries: the policy's effect", subtitle, nrows=max(len(shown), 1),
                           height_in=_panel_height(len(shown)))
    if not shown:
        style.empty_panel(axes[0], "Nothing to compare: no entries in either scenario.")
        return style.finish(fig, axes, source=source, path_stem=stem, formats=formats)
    index = {p: i for i, p in enumerate(places)}
    look = {"color": "#222222", "linestyle": "-", "fill": "#777777", "hatch": None, "band_label": False}
    for ax, place in zip(axes, shown):
        _band(ax, days, paired[index[place]], "policy minus baseline (mean, 95% interval)", look)
        ax.axhline(0.0, color="#555555", linewidth=0.7, linestyle=":")
        style.panel_title(ax, place)
        ax.yaxis.set_major_formatter(FuncFormatter(lambda v, _pos=None: f"{v:+,.0f}" if v else "0"))
        ax.set_ylabel("Difference (persons per day)")
    style.format_date_axis(axes[-1], days[0], days[-1])
    _label_once(fig, axes, "Difference (persons per day)")
    return style.finish(fig, axes, source=source, path_stem=stem, formats=formats)


def _label_once(fig, axes: list[Axes], label: str) -> None:
    """One y label for stacked panels (the figure's), instead of one per panel."""
    if len(axes) > 1:
        for ax in axes:
            ax.set_ylabel("")
        fig.supylabel(label, fontsize=8.5, color="#222222")


