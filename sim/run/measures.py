"""Scalar summaries of a run: the numbers a comparison or a sweep reports.

Each measure is named ``<kind>.<place>`` (``entries.KZ``, ``wait_hours_p90_max.upper-lars``,
``people.turned_back``) and is a pure function of the run's daily table and its
accounting, in persons at full scale or in hours.
"""

from __future__ import annotations

from collections import defaultdict

import numpy as np
import pyarrow as pa

from sim.run.daily_measures import COUNTS, LEVELS, STOCKS, WAITS

__all__ = ["SUMMED", "PEAKED", "LAST", "summary_measures"]

#: Daily measures summed over the period: every count.
SUMMED = COUNTS
#: Daily measures whose peak over the period is reported (as ``<measure>_max``).
PEAKED = LEVELS + WAITS + ("asylum_backlog",)
#: Daily measures whose value on the last day is reported (as ``<measure>_end``).
LAST = STOCKS


def summary_measures(daily: pa.Table, people: dict[str, object]) -> dict[str, float]:
    """Scalar measures of one run, sorted by name.

    Parameters
    ----------
    daily
        The run's daily table (``date, place, measure, value``).
    people
        The run's accounting (``by_state`` in simulated persons, ``full_scale_factor``).
    """
    dates = daily["date"].to_pylist()
    places = daily["place"].to_pylist()
    measures = daily["measure"].to_pylist()
    values = daily["value"].to_numpy()
    last_date = max(dates) if dates else ""
    summed: dict[str, float] = defaultdict(float)
    peaked: dict[str, float] = {}
    result: dict[str, float] = {}
    for date, place, measure, value in zip(dates, places, measures, values.tolist()):
        if measure in SUMMED:
            summed[f"{measure}.{place}"] += value
        if measure in PEAKED:
            key = f"{measure.removesuffix('_max')}_max.{place}"
            peaked[key] = max(peaked.get(key, -np.inf), value)
        if measure in LAST and date == last_date:
            result[f"{measure}_end.{place}"] = value
    result.update(summed)
    result.update(peaked)
    factor = float(people["full_scale_factor"])
    for state, count in people["by_state"].items():
        result[f"people.{state}"] = count * factor
    result["people.departed"] = float(people["departed"]) * factor
    return dict(sorted(result.items()))
