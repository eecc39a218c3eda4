"""Paired comparison of two scenarios with common random numbers.

Replicate ``r`` runs the base and the policy scenario with the same seed, so each
party draws the same numbers in both (see :mod:`sim.model.population`): the
difference between the two runs is the policy's, not noise.  Per measure the
comparison reports the mean paired difference and a 95% t-interval over the
replicates.  With ``independent=True`` the policy runs get seeds of their own, which
is what the common-random-number design is measured against.

A comparison also keeps every replicate's daily table, and ``write`` puts them in
``replicates.parquet`` beside ``compare.csv`` and ``compare.json``, so the fan charts
of ``crossings plot`` are drawn from the comparison folder alone.

With ``posterior=`` (a calibration folder, see :mod:`sim.run.posterior`) each
replicate also draws a row of the calibration's posterior and runs both sides with
those parameter values: the paired differences then vary with what the calibration
leaves unknown as well as with the simulation's noise.  Beside the interval of the
mean difference each row carries the 5% and 95% quantiles of the paired differences
themselves (``effect_p05``, ``effect_p95``): with a posterior, the range of effects
the worlds that fit the reports give; without one, the spread of a single run's
answer.
"""

from __future__ import annotations

import io
import json
import math
from collections.abc import Callable, Sequence
from dataclasses import dataclass, field
from pathlib import Path

import numpy as np
import pyarrow as pa
import pyarrow.parquet as pq
from scipy import stats

from sim.run.api import resolve_scenario, run
from sim.run.measures import summary_measures
from sim.run.posterior import Posterior, check_policy, load_posterior
from sim.run.store import refuse_to_replace, write_file_atomic
from sim.scenario import LoadedScenario, load_scenario_data
from sim.scenario.errors import UsageError

__all__ = [
    "MeasureDifference", "Comparison", "replicate_seeds", "compare", "difference", "read_replicates", "tagged_daily",
    "REPLICATE_COLUMNS", "COMPARE_COLUMNS", "COMPARISON_FILES", "COMPARISON_MARKER",
]

#: The files a comparison writes into its folder; the last marks a complete one.
COMPARISON_FILES = ("replicates.parquet", "compare.csv", "compare.json")
COMPARISON_MARKER = COMPARISON_FILES[-1]

#: Columns of ``replicates.parquet``: which side and replicate, then the daily table's own columns.
REPLICATE_COLUMNS = ("scenario", "replicate", "seed", "date", "place", "measure", "value")

#: Columns of ``compare.csv``.
COMPARE_COLUMNS = (
    "measure", "base_mean", "policy_mean", "difference", "ci_low", "ci_high", "sd", "replicates",
    "effect_p05", "effect_p95",
)


def replicate_seeds(root: int, replicates: int, *, stream: int = 0) -> list[int]:
    """Seeds for ``replicates`` runs, spawned from ``root`` (``stream`` 1 gives a disjoint set)."""
    children = np.random.SeedSequence(root).spawn(2 * replicates)[stream * replicates : (stream + 1) * replicates]
    return [int(child.generate_state(1, np.uint32)[0]) for child in children]


@dataclass(frozen=True)
class MeasureDifference:
    """One measure: both sides' means, the paired difference with its 95% interval, and
    the 5% and 95% quantiles of the paired differences."""

    measure: str
    base_mean: float
    policy_mean: float
    difference: float
    ci_low: float
    ci_high: float
    sd: float
    replicates: int
    effect_p05: float
    effect_p95: float

    @property
    def half_width(self) -> float:
        """Half the width of the 95% interval."""
        return (self.ci_high - self.ci_low) / 2


@dataclass(frozen=True)
class Comparison:
    """A finished comparison; ``rows`` are sorted by measure.

    ``replicate_daily`` holds every run's daily table (columns :data:`REPLICATE_COLUMNS`,
    ``scenario`` being ``base`` or ``policy``; the scenarios' names in the schema
    metadata, ``base_name`` and ``policy_name``), or None for a comparison built from
    summaries alone.  ``posterior`` names the calibration folder the replicates drew
    their parameters from (None: both scenarios as written), and ``posterior_rows``
    the row of ``posterior.csv`` each replicate ran with (base's, then policy's).
    """

    base: str
    policy: str
    seeds: list[int]
    policy_seeds: list[int]
    scale: float
    common_random_numbers: bool
    rows: list[MeasureDifference]
    replicate_daily: pa.Table | None = field(default=None, repr=False, compare=False)
    posterior: str | None = None
    posterior_rows: list[int] = field(default_factory=list)
    policy_posterior_rows: list[int] = field(default_factory=list)

    def row(self, measure: str) -> MeasureDifference:
        """The row of one measure."""
        for row in self.rows:
            if row.measure == measure:
                return row
        raise KeyError(measure)

    def to_json(self) -> dict[str, object]:
        """Everything, as JSON-able data."""
        return {
            "base": self.base,
            "policy": self.policy,
            "seeds": self.seeds,
            "policy_seeds": self.policy_seeds,
            "scale": self.scale,
            "common_random_numbers": self.common_random_numbers,
            "posterior": self.posterior,
            "posterior_rows": self.posterior_rows,
            "policy_posterior_rows": self.policy_posterior_rows,
            "measures": [{k: _finite_or_none(v) for k, v in row.__dict__.items()} for row in self.rows],
        }

    def to_csv(self) -> str:
        """One line per measure."""
        lines = [",".join(COMPARE_COLUMNS)]
        for row in self.rows:
            lines.append(",".join(_text(getattr(row, f)) for f in COMPARE_COLUMNS))
        return "\n".join(lines) + "\n"

    def write(self, out_dir: str | Path) -> list[Path]:
        """Write ``compare.csv``, ``compare.json`` and ``replicates.parquet`` into ``out_dir``, each atomically.

        ``replicates.parquet`` is written first, so ``compare.json`` (what marks a
        comparison folder) never sits beside a missing or stale one.
        """
        folder = Path(out_dir)
        daily, csv, js = (folder / name for name in COMPARISON_FILES)
        refuse_to_replace(folder, COMPARISON_FILES, markers=[COMPARISON_MARKER])
        written = []
        if self.replicate_daily is not None:
            buffer = io.BytesIO()
            pq.write_table(self.replicate_daily, buffer, compression="zstd")
            write_file_atomic(daily, buffer.getvalue())
            written.append(daily)
        write_file_atomic(csv, self.to_csv())
        write_file_atomic(js, json.dumps(self.to_json(), indent=2, allow_nan=False) + "\n")
        return [csv, js, *written]


def read_replicates(path: str | Path) -> pa.Table:
    """A comparison's ``replicates.parquet`` (columns :data:`REPLICATE_COLUMNS`)."""
    table = pq.read_table(path)
    missing = [c for c in REPLICATE_COLUMNS if c not in table.column_names]
    if missing:
        raise UsageError(f"{path}: expected the columns {', '.join(REPLICATE_COLUMNS)}, found no {', '.join(missing)}")
    return table


def tagged_daily(daily: pa.Table, scenario: str, replicate: int, seed: int) -> pa.Table:
    """A run's daily table with the columns that say which run it is."""
    n = daily.num_rows
    return pa.table(
        {
            "scenario": pa.array([scenario] * n, pa.string()),
            "replicate": pa.array(np.full(n, replicate, dtype=np.int32)),
            "seed": pa.array(np.full(n, seed, dtype=np.int64)),
            "date": daily["date"],
            "place": daily["place"],
            "measure": daily["measure"],
            "value": daily["value"],
        }
    )


def compare(
    base: str | Path | LoadedScenario | dict,
    policy: str | Path | LoadedScenario | dict,
    *,
    replicates: int = 10,
    seed: int | None = None,
    scale: float | None = None,
    independent: bool = False,
    measures: Sequence[str] | None = None,
    progress: Callable[[int, int], None] | None = None,
    posterior: Posterior | str | Path | None = None,
) -> Comparison:
    """Run base and policy ``replicates`` times each and report paired differences.

    Parameters
    ----------
    base, policy
        The two scenarios (files, loaded scenarios or dicts).
    replicates
        Pairs of runs; at least 2 for an interval.
    seed
        Root of the replicates' seeds (default: the base scenario's seed).
    scale
        Overrides both scenarios' scale.
    independent
        Give the policy runs seeds of their own (no common random numbers).
    measures
        Keep only these measures (default: all, see :mod:`sim.run.measures`).
    progress
        ``progress(runs_done, runs_total)`` after each run.
    posterior
        A calibration folder (or its loaded :class:`~sim.run.posterior.Posterior`):
        each replicate runs both sides with one row of its posterior (see the module
        docstring); with ``independent`` the policy draws rows of its own.

    Raises
    ------
    UsageError
        For fewer than one replicate, scenarios reporting other days, an unknown
        measure, a posterior folder that is not a calibration's, or a policy that sets
        a parameter the posterior varies.
    """
    if replicates < 1:
        raise UsageError(f"replicates: expected at least 1, found {replicates}")
    base_loaded, policy_loaded = resolve_scenario(base), resolve_scenario(policy)
    _same_days(base_loaded, policy_loaded)
    root = base_loaded.scenario.seed if seed is None else seed
    seeds = replicate_seeds(root, replicates)
    policy_seeds = replicate_seeds(root, replicates, stream=1) if independent else seeds
    drawn = _posterior_worlds(posterior, base_loaded, policy_loaded, root, replicates, independent)
    base_runs, policy_runs = [], []
    dailies: list[pa.Table] = []
    total = 2 * replicates
    for r in range(replicates):
        for side, loaded, run_seed, out in (
            ("base", base_loaded, seeds[r], base_runs), ("policy", policy_loaded, policy_seeds[r], policy_runs)
        ):
            if drawn is not None:
                loaded = drawn.scenario(side, r)
            result = run(loaded, seed=run_seed, scale=scale)
            out.append(summary_measures(result.daily, result.people))
            dailies.append(tagged_daily(result.daily, side, r, run_seed))
            if progress is not None:
                progress(len(base_runs) + len(policy_runs), total)
    names = sorted(set().union(*base_runs, *policy_runs))
    if measures is not None:
        unknown = sorted(set(measures) - set(names))
        if unknown:
            raise UsageError(f"measures: expected names among the run's measures, found {', '.join(unknown)}")
        names = [n for n in names if n in set(measures)]
    rows = [difference(n, [b.get(n, 0.0) for b in base_runs], [p.get(n, 0.0) for p in policy_runs]) for n in names]
    return Comparison(
        base=base_loaded.source,
        policy=policy_loaded.source,
        seeds=seeds,
        policy_seeds=policy_seeds,
        scale=base_loaded.scenario.scale if scale is None else scale,
        common_random_numbers=not independent,
        rows=rows,
        replicate_daily=pa.concat_tables(dailies).replace_schema_metadata(
            {"base_name": base_loaded.scenario.name, "policy_name": policy_loaded.scenario.name}
        ),
        posterior=None if drawn is None else drawn.posterior.source,
        posterior_rows=[] if drawn is None else drawn.rows["base"],
        policy_posterior_rows=[] if drawn is None else drawn.rows["policy"],
    )


def _same_days(base: LoadedScenario, policy: LoadedScenario) -> None:
    """Totals over other days differ by the days, not the policy: refuse them."""
    base_days, policy_days = (
        f"{period.start.isoformat()}..{period.end.isoformat()}" for period in (base.scenario.period, policy.scenario.period)
    )
    if base_days != policy_days:
        raise UsageError(
            f"{policy.source}: period: expected the base's days ({base_days}), since a paired "
            f"difference of totals over other days is not the policy's, found {policy_days}"
        )


@dataclass(frozen=True)
class _Worlds:
    """Each replicate's posterior row, per side, and the scenarios they make."""

    posterior: Posterior
    loaded: dict[str, LoadedScenario]
    rows: dict[str, list[int]]

    def scenario(self, side: str, replicate: int) -> LoadedScenario:
        # A value the scenario refuses is named by its line of posterior.csv, not as a --set.
        return self.posterior.scenario(self.loaded[side], self.rows[side][replicate])


def _posterior_worlds(
    posterior: Posterior | str | Path | None,
    base: LoadedScenario,
    policy: LoadedScenario,
    root: int,
    replicates: int,
    independent: bool,
) -> _Worlds | None:
    if posterior is None:
        return None
    drawn = posterior if isinstance(posterior, Posterior) else load_posterior(posterior)
    check_policy(drawn, base.resolved, policy.resolved, policy.source)
    base_rows = [drawn.draw(root, r) for r in range(replicates)]
    # Independent policy runs draw their worlds as they draw their seeds: from stream 1.
    policy_rows = [drawn.draw(root, replicates + r) for r in range(replicates)] if independent else base_rows
    return _Worlds(drawn, {"base": base, "policy": policy}, {"base": base_rows, "policy": policy_rows})


def difference(measure: str, base: Sequence[float], policy: Sequence[float]) -> MeasureDifference:
    """Both sides' means and the mean paired difference ``policy − base`` with its 95% t-interval.

    Replicate ``r`` of ``base`` is paired with replicate ``r`` of ``policy``; with one
    replicate the interval is NaN.
    """
    b, p = np.array(base), np.array(policy)
    d = p - b
    n = len(d)
    mean = float(d.mean())
    sd = float(d.std(ddof=1)) if n > 1 else math.nan
    if n > 1:
        half = float(stats.t.ppf(0.975, n - 1) * sd / math.sqrt(n))
        low, high = mean - half, mean + half
        # hazen: the quantiles of n values without leaning on either end
        p05, p95 = (float(q) for q in np.quantile(d, [0.05, 0.95], method="hazen"))
    else:
        low = high = p05 = p95 = math.nan
    return MeasureDifference(measure, float(b.mean()), float(p.mean()), mean, low, high, sd, n, p05, p95)


def _text(value: object) -> str:
    if isinstance(value, float):
        return "" if math.isnan(value) else f"{value:.10g}"
    return str(value)


def _finite_or_none(value: object) -> object:
    """NaN (no interval from one replicate) becomes JSON null."""
    return None if isinstance(value, float) and math.isnan(value) else value
