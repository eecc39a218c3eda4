"""The measures of the daily table, named once: where each is measured and how it adds up.

Every row of ``daily.csv`` is ``date, place, measure, value``.  A measure belongs to
one kind of place (a crossing, a destination country, or the home country) and is one
of:

* a **count**: persons that day (entries, departures…); counts over days are summed;
* a **level**: the day's maximum of something standing (a queue); combined over places
  and days by the maximum, never summed;
* a **wait**: hours, for those served that day (absent on days nobody was); combined
  like a level;
* a **stock**: persons present at the end of the day (a cumulated balance); its last
  value, or its peak, is what a period says of it.

:mod:`sim.run.outputs` writes exactly these (``tests/test_targets.py`` checks it on a
real run); the targets (:mod:`sim.calibrate.targets`) and the run summaries
(:mod:`sim.run.measures`) read their lists from here.
"""

from __future__ import annotations

from typing import Literal, NamedTuple

__all__ = ["DailyMeasure", "DAILY_MEASURES", "measures_of", "COUNTS", "LEVELS", "WAITS", "STOCKS"]

Place = Literal["crossing", "country", "home"]
Kind = Literal["count", "level", "wait", "stock"]


class DailyMeasure(NamedTuple):
    """One measure of the daily table."""

    name: str
    place: Place
    kind: Kind


DAILY_MEASURES: tuple[DailyMeasure, ...] = (
    DailyMeasure("arrivals", "crossing", "count"),
    DailyMeasure("entries", "crossing", "count"),
    DailyMeasure("refused", "crossing", "count"),
    DailyMeasure("turned_away", "crossing", "count"),
    DailyMeasure("gave_up", "crossing", "count"),
    DailyMeasure("turned_back", "crossing", "count"),
    DailyMeasure("mobilised", "crossing", "count"),
    DailyMeasure("queue_persons_max", "crossing", "level"),
    DailyMeasure("queue_vehicles_max", "crossing", "level"),
    DailyMeasure("wait_hours_mean", "crossing", "wait"),
    DailyMeasure("wait_hours_p90", "crossing", "wait"),
    DailyMeasure("car_wait_hours_mean", "crossing", "wait"),
    DailyMeasure("car_wait_hours_p90", "crossing", "wait"),
    DailyMeasure("entries", "country", "count"),
    DailyMeasure("onward_land", "country", "count"),
    DailyMeasure("onward_air", "country", "count"),
    DailyMeasure("returns", "country", "count"),
    DailyMeasure("exits", "country", "count"),
    DailyMeasure("stock", "country", "stock"),
    DailyMeasure("asylum_claims", "country", "count"),
    DailyMeasure("asylum_decisions", "country", "count"),
    DailyMeasure("asylum_grants", "country", "count"),
    DailyMeasure("asylum_backlog", "country", "stock"),
    DailyMeasure("departures", "home", "count"),
)


def measures_of(*, place: Place | None = None, kinds: tuple[Kind, ...] | None = None) -> tuple[str, ...]:
    """Names of the measures of a kind of place and/or of some kinds, in table order, each once."""
    names = (m.name for m in DAILY_MEASURES if (place is None or m.place == place) and (kinds is None or m.kind in kinds))
    return tuple(dict.fromkeys(names))


#: Measures summed over days.
COUNTS = measures_of(kinds=("count",))
#: Measures combined by their maximum: queues.
LEVELS = measures_of(kinds=("level",))
#: Waits, in hours, absent on days nobody was served.
WAITS = measures_of(kinds=("wait",))
#: Balances at the end of each day.
STOCKS = measures_of(kinds=("stock",))
