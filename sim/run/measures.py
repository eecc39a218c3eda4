"""Scalar summaries of a run: the numbers a comparison or a sweep reports.

Each measure is named ``<kind>.<place>`` (``entries.KZ``, ``wait_hours_p90_max.upper-lars``,
``people.turned_back``) and is a pure function of the run's daily table and its
accounting, in persons at full scale or in hours.
"""

from __future__ import annotations

from collections import defaultdict
from collections.abc import Sequence
from fnmatch import fnmatch
from typing import TYPE_CHECKING

import numpy as np
import pyarrow as pa

from sim.model.ledger import STATES
from sim.run.daily_measures import COUNTS, DAILY_MEASURES, LEVELS, STOCKS, WAITS

if TYPE_CHECKING:
    from sim.scenario.schema import Scenario

__all__ = ["SUMMED", "PEAKED", "LAST", "summary_measures", "possible_measures", "unmatched_pattern"]

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


def possible_measures(scenario: Scenario) -> set[str]:
    """Every measure name a run of ``scenario`` can report, without running it.

    :func:`summary_measures` is given one row of every daily measure at every place
    the daily table names (crossing ids, country ISO codes, the home country; see
    :mod:`sim.run.outputs`) and every final state, so the names come from the same
    code as a run's.  A run may lack some of them (no asylum claims: no backlog),
    never have others.
    """
    places = {
        "crossing": [crossing.id for crossing in scenario.crossings],
        "country": [country.iso for country in scenario.countries],
        "home": [scenario.home],
    }
    rows = [(place, measure.name) for measure in DAILY_MEASURES for place in places[measure.place]]
    daily = pa.table(
        {
            "date": [scenario.period.start.isoformat()] * len(rows),
            "place": [place for place, _ in rows],
            "measure": [name for _, name in rows],
            "value": pa.array([0.0] * len(rows), pa.float64()),
        }
    )
    people = {"by_state": dict.fromkeys(STATES, 0), "departed": 0, "full_scale_factor": 1.0}
    return set(summary_measures(daily, people))


def unmatched_pattern(pattern: str, names: Sequence[str]) -> str | None:
    """``expected …, found …`` for a measure glob that matches none of ``names`` (sorted), else None."""
    if any(fnmatch(name, pattern) for name in names):
        return None
    return f"expected a pattern matching a measure of the runs (e.g. {', '.join(names[:3])}), found {pattern!r}, which matches none"
