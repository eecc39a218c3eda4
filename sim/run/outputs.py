"""From a run's ledger to its outputs: the accounting of people and the daily table.

Everything here is a pure function of the :class:`~sim.model.engine.Ledger`.
Counts of persons are scaled back to full scale (divided by ``scale``); waits are
not scaled.  The daily table is tidy (``date, place, measure, value``); places are
crossing ids, ISO country codes, and the home country (``RU`` by default) for departures.
"""

from __future__ import annotations

import datetime as dt

import numpy as np
import pyarrow as pa

from sim.model.days import day_of
from sim.model.engine import Ledger
from sim.model.ledger import STATES, Decision, MoveKind
from sim.model.queueing import SERVED

__all__ = ["STATES", "people_accounting", "daily_table", "last_counted_hour", "format_csv", "format_number"]


def people_accounting(ledger: Ledger) -> dict[str, object]:
    """Simulated persons by final state; ``by_state`` sums exactly to ``departed``.

    Only the parties that set off count: a run stopped early (``until``) has drawn the
    parties of the whole period, and those due to leave after the stop are still at home.
    """
    departed_parties = ledger.departed_parties
    size = ledger.parties.size[:departed_parties].astype(np.int64)
    status = ledger.status[:departed_parties]
    totals = np.bincount(status, weights=size, minlength=len(STATES)).astype(np.int64)
    if len(totals) > len(STATES) or (status < 0).any():
        raise AssertionError("a party ended in no known state")
    by_state = {name: int(totals[i]) for i, name in enumerate(STATES)}
    departed = int(size.sum())
    return {
        "departed": departed,
        "by_state": by_state,
        "parties": len(size),
        "full_scale_factor": 1.0 / ledger.scale,
    }


def last_counted_hour(ledger: Ledger) -> float:
    """The last instant a run's counts include.

    The engine settles what falls due at the period's last instant (24:00 of its last
    day, where stay limits counted in whole days often end) within the run, so it counts
    on the last day, as the engine dates it; a run stopped early leaves it to the next
    day, as the whole run does (closures begin at 00:00).
    """
    return float(np.nextafter(ledger.horizon_hours, -np.inf)) if ledger.stopped_early else ledger.horizon_hours


def daily_table(ledger: Ledger) -> pa.Table:
    """The tidy daily table of a run (see the module docstring)."""
    scenario = ledger.scenario
    days = int(round(ledger.horizon_hours / 24))
    per_person = 1.0 / ledger.scale
    crossing_ids = [c.id for c in scenario.crossings]
    countries = [c.iso for c in scenario.countries]
    legs, claims, moves = ledger.legs, ledger.claims, ledger.moves
    parties = ledger.parties
    alternatives = ledger.alternatives
    alt_crossing = alternatives.crossing[legs["alt"]]
    alt_country = alternatives.country[legs["alt"]]
    persons = parties.size[legs["party"]].astype(np.float64)
    is_car = alternatives.car[legs["alt"]]
    n_cross, n_countries = len(crossing_ids), len(countries)

    # Each measure's (places x days) table; rows are made from all of them at the end.
    blocks: list[tuple[list[str], str, np.ndarray, np.ndarray | None]] = []

    def add(place_names: list[str], measure: str, table: np.ndarray, *, only: np.ndarray | None = None) -> None:
        blocks.append((place_names, measure, table, only))

    last = last_counted_hour(ledger)

    def count(place: np.ndarray, times: np.ndarray, mask: np.ndarray, n_places: int, weight: np.ndarray) -> np.ndarray:
        keep = mask & np.isfinite(times) & (times <= last)
        day = day_of(times[keep], days - 1)
        flat = np.bincount(place[keep] * days + day, weights=weight[keep], minlength=n_places * days)
        return flat.reshape(n_places, days) * per_person

    processed = legs["served"] >= 0
    decision = legs["decision"]
    by_crossing = lambda times, mask: count(alt_crossing, times, mask, n_cross, persons)  # noqa: E731
    add(crossing_ids, "arrivals", by_crossing(legs["arrive"], processed))
    for measure, code in (
        ("entries", Decision.ENTERED),
        ("refused", Decision.REFUSED),
        ("turned_away", Decision.TURNED_AWAY),
        ("gave_up", Decision.GAVE_UP),
        ("turned_back", Decision.TURNED_BACK),
        ("mobilised", Decision.MOBILISED),
    ):
        add(crossing_ids, measure, by_crossing(legs["leave"], decision == code))
    out_of_queue = np.where(legs["served"] == SERVED, legs["start"], legs["leave"])
    horizon = ledger.horizon_hours
    add(crossing_ids, "queue_persons_max", _queue_daily_max(alt_crossing, legs["arrive"], out_of_queue, persons, processed, n_cross, days, horizon) * per_person)
    add(crossing_ids, "queue_vehicles_max", _queue_daily_max(alt_crossing, legs["arrive"], out_of_queue, np.ones_like(persons), processed & is_car, n_cross, days, horizon) * per_person)
    served = (legs["served"] == SERVED) & (legs["start"] < horizon)
    wait = legs["start"] - legs["arrive"]
    mean, p90, any_served = _wait_stats(alt_crossing[served], day_of(legs["start"][served]), wait[served], persons[served], n_cross, days)
    add(crossing_ids, "wait_hours_mean", mean, only=any_served)
    add(crossing_ids, "wait_hours_p90", p90, only=any_served)
    # The car queue's own waits, per car: what drivers and the press report as "the wait"
    # where pedestrians or buses pass by another queue.
    by_car = served & is_car
    mean, p90, any_served = _wait_stats(
        alt_crossing[by_car], day_of(legs["start"][by_car]), wait[by_car], np.ones(int(by_car.sum())), n_cross, days
    )
    add(crossing_ids, "car_wait_hours_mean", mean, only=any_served)
    add(crossing_ids, "car_wait_hours_p90", p90, only=any_served)

    entered = decision == Decision.ENTERED
    entries = count(alt_country, legs["leave"], entered, n_countries, persons)
    add(countries, "entries", entries)
    leaving = alternatives.leaving[legs["alt"]]
    abroad = leaving >= 0
    is_air = alternatives.air[legs["alt"]]
    leaving_index = np.maximum(leaving, 0)
    add(countries, "onward_land", count(leaving_index, legs["leave"], entered & abroad & ~is_air, n_countries, persons))
    add(countries, "onward_air", count(leaving_index, legs["leave"], entered & abroad & is_air, n_countries, persons))
    move_persons = parties.size[moves["party"]].astype(np.float64)
    exit_time = _exit_times(moves, legs)
    exits = count(moves["country"].astype(np.int64), exit_time, np.ones(len(move_persons), bool), n_countries, move_persons)
    returns = count(moves["country"].astype(np.int64), moves["time"], moves["kind"] == MoveKind.HOME, n_countries, move_persons)
    add(countries, "returns", returns)
    add(countries, "exits", exits)
    add(countries, "stock", np.cumsum(entries - exits, axis=1))
    claim_persons = parties.size[claims["party"]].astype(np.float64)
    claim_country = claims["country"].astype(np.int64)
    everyone = np.ones(len(claim_persons), bool)
    lodged = count(claim_country, claims["lodged"], everyone, n_countries, claim_persons)
    decided = count(claim_country, claims["decided"], everyone, n_countries, claim_persons)
    has_asylum = np.zeros((n_countries, days), dtype=bool)
    has_asylum[np.unique(claim_country)] = True
    add(countries, "asylum_claims", lodged, only=has_asylum)
    add(countries, "asylum_decisions", decided, only=has_asylum)
    add(countries, "asylum_grants", count(claim_country, claims["decided"], claims["granted"] == 1, n_countries, claim_persons), only=has_asylum)
    add(countries, "asylum_backlog", np.cumsum(lodged - decided, axis=1), only=has_asylum)
    depart_day = day_of(parties.depart)
    departures = np.bincount(depart_day, weights=parties.size.astype(np.float64), minlength=days)[None, :days] * per_person
    add([scenario.home], "departures", departures)

    start = scenario.period.start
    dates = [(start + dt.timedelta(days=d)).isoformat() for d in range(days)]
    # Warm-up days are simulated but not reported; stocks carry what they built up.
    return _tidy(blocks, days, dates, first_day=ledger.warmup_days)


def _exit_times(moves: dict[str, np.ndarray], legs: dict[str, np.ndarray]) -> np.ndarray:
    """When each move takes its party out of the country it stayed in (``inf``: not by the end).

    Going home leaves at once: the way back is not modelled.  Moving on leaves at the
    border, where the country counts it: when the party's next attempt after the move
    that ends its journey is over — it entered the next country, or it stopped there and
    went home.  One still on the road or in a queue has not left.
    """
    times = moves["time"].astype(np.float64).copy()
    onward = np.flatnonzero(moves["kind"] == MoveKind.ONWARD)
    if not len(onward):
        return times
    # An attempt ends a journey's step if it entered or was not followed by another.
    decided = legs["decision"] != Decision.UNDECIDED
    final = decided & ((legs["decision"] == Decision.ENTERED) | ~legs["retried"])
    party, arrive, leave = legs["party"][final], legs["arrive"][final], legs["leave"][final]
    # One sorted key per (party, time): a party's attempts after a move follow the move.
    span = float(max(np.nanmax(arrive, initial=0.0), np.nanmax(times, initial=0.0))) + 1.0
    key = party.astype(np.float64) * span + arrive
    order = np.argsort(key, kind="stable")
    key, leave, party = key[order], leave[order], party[order]
    wanted = moves["party"][onward].astype(np.float64) * span + times[onward]
    at = np.searchsorted(key, wanted, side="left")
    found = at < len(key)
    found[found] = party[at[found]] == moves["party"][onward][found]
    times[onward] = np.inf
    times[onward[found]] = leave[at[found]]
    return times


def _tidy(
    blocks: list[tuple[list[str], str, np.ndarray, np.ndarray | None]], days: int, dates: list[str], first_day: int = 0
) -> pa.Table:
    """Rows ``date, place, measure, value`` of every (place, day) of every block, sorted by date, place, measure.

    A block is (place names, measure, table of shape (places, days), which cells to
    keep or ``None`` for all).  Places and measures are sorted by rank among their
    names, which is the order of the names themselves; the sort is stable.  Days
    before ``first_day`` (a warm-up) are left out.
    """
    place_names = sorted({place for names, *_ in blocks for place in names})
    measure_names = sorted({measure for _, measure, *_ in blocks})
    place_rank = {place: i for i, place in enumerate(place_names)}
    measure_rank = {measure: i for i, measure in enumerate(measure_names)}
    day_parts, place_parts, measure_parts, value_parts = [], [], [], []
    for names, measure, table, only in blocks:
        cells = np.ones((len(names), days), dtype=bool) if only is None else only.copy()
        cells[:, :first_day] = False
        place, day = np.nonzero(cells)  # place by place, day by day
        day_parts.append(day)
        place_parts.append(np.array([place_rank[name] for name in names], dtype=np.int64)[place])
        measure_parts.append(np.full(len(day), measure_rank[measure], dtype=np.int64))
        value_parts.append(np.asarray(table, dtype=np.float64)[place, day])
    day, place, measure, value = (np.concatenate(parts) for parts in (day_parts, place_parts, measure_parts, value_parts))
    order = np.lexsort((measure, place, day))
    return pa.table(
        {
            "date": _arrow_strings(dates, day[order]),
            "place": _arrow_strings(place_names, place[order]),
            "measure": _arrow_strings(measure_names, measure[order]),
            "value": pa.Array.from_buffers(pa.float64(), len(order), [None, pa.py_buffer(np.ascontiguousarray(value[order]))]),
        }
    )


def _arrow_strings(names: list[str], codes: np.ndarray) -> pa.Array:
    """The strings ``names[codes]`` as an arrow string array, built from its buffers.

    Building it from Python objects (``pa.array``) would make pyarrow import pandas
    first, which takes longer than everything else in the daily table.
    """
    encoded = [name.encode() for name in names]
    offsets = np.zeros(len(codes) + 1, dtype=np.int64)
    np.cumsum(np.array([len(text) for text in encoded], dtype=np.int64)[codes], out=offsets[1:])
    if offsets[-1] >= 1 << 31:
        return pa.array([names[c] for c in codes.tolist()], pa.string())
    data = b"".join([encoded[c] for c in codes.tolist()])
    return pa.Array.from_buffers(pa.string(), len(codes), [None, pa.py_buffer(offsets.astype(np.int32)), pa.py_buffer(data)])


def _queue_daily_max(
    place: np.ndarray,
    arrive: np.ndarray,
    out: np.ndarray,
    weight: np.ndarray,
    mask: np.ndarray,
    n_places: int,
    days: int,
    horizon: float,
) -> np.ndarray:
    """Exact daily maximum of a queue per place, from its joins and leaves.

    Leaves count before joins at the same instant, so a queue never counts a party
    twice: within an instant the level first falls from the level before it, then
    rises to the level after it, and no level inside an instant passes both.  So the
    daily maximum is taken over the levels at the end of each instant (and the level
    carried over midnight), which do not depend on the order within an instant: the
    weights are counts, whose sums are exact in any order.
    """
    result = np.zeros((n_places, days))
    # Rows place by place, each place's in their own order (one sort instead of a pass per place).
    rows = np.flatnonzero(mask & (arrive < horizon))
    rows = rows[np.argsort(_small_ints(place[rows], n_places), kind="stable")]
    bounds = np.searchsorted(place[rows], np.arange(n_places + 1), side="left")
    for p in range(n_places):
        keep = rows[bounds[p] : bounds[p + 1]]
        if len(keep) == 0:
            continue
        times = np.concatenate([arrive[keep], out[keep]])
        change = np.concatenate([weight[keep], -weight[keep]])
        order = np.argsort(times)
        times, level = times[order], np.cumsum(change[order])
        instant_ends = np.flatnonzero(np.append(times[1:] != times[:-1], True))
        times, level = times[instant_ends], level[instant_ends]
        within = times < horizon
        times, level = times[within], level[within]
        day = day_of(times)
        np.maximum.at(result[p], day, level)
        # A queue carried over midnight counts on the new day too.
        carried_index = np.searchsorted(times, np.arange(days) * 24.0, side="left") - 1
        carried = np.where(carried_index >= 0, level[np.maximum(carried_index, 0)], 0.0)
        result[p] = np.maximum(result[p], carried)
    return result


def _wait_stats(
    place: np.ndarray, day: np.ndarray, wait: np.ndarray, weight: np.ndarray, n_places: int, days: int
) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
    """Weighted (by persons, or by cars) mean and 90th percentile of waits per place and day of service.

    Waits are sorted within each (place, day); among equal waits the order does not
    matter, as the percentile is a wait and the weights (persons) sum exactly in any
    order, so a fast unstable sort by wait goes first and a stable one by key second.
    """
    key = place.astype(np.int64) * days + day
    size = n_places * days
    if len(key) == 0:  # nobody served at all
        nothing = np.zeros((n_places, days))
        return nothing, nothing.copy(), nothing.astype(bool)
    total = np.bincount(key, weights=weight, minlength=size)
    mean = np.divide(np.bincount(key, weights=weight * wait, minlength=size), total, out=np.zeros(size), where=total > 0)
    p90 = np.zeros(size)
    by_wait = np.argsort(wait)
    order = by_wait[np.argsort(_small_ints(key[by_wait], size), kind="stable")]
    key_sorted, wait_sorted, weight_sorted = key[order], wait[order], weight[order]
    cumulative = np.cumsum(weight_sorted)
    group_start = np.searchsorted(key_sorted, np.arange(size), side="left")
    before = np.where(group_start > 0, cumulative[np.maximum(group_start - 1, 0)], 0.0)
    for k in np.flatnonzero(total > 0):
        lo = group_start[k]
        hi = int(np.searchsorted(key_sorted, k, side="right"))
        target = before[k] + 0.9 * total[k]
        at = lo + int(np.searchsorted(cumulative[lo:hi], target - 1e-12, side="left"))
        p90[k] = wait_sorted[min(at, hi - 1)]
    return mean.reshape(n_places, days), p90.reshape(n_places, days), (total > 0).reshape(n_places, days)


def _small_ints(values: np.ndarray, bound: int) -> np.ndarray:
    """Non-negative integers below ``bound`` in the narrowest type, where numpy's stable sort is a radix sort."""
    return values.astype(np.uint8 if bound <= 1 << 8 else np.uint16 if bound <= 1 << 16 else np.int64)


def format_csv(table: pa.Table) -> str:
    """The daily table as CSV text, with numbers written the same way on every machine."""
    lines = ["date,place,measure,value"]
    for date, place, measure, value in zip(
        table["date"].to_pylist(), table["place"].to_pylist(), table["measure"].to_pylist(), table["value"].to_pylist()
    ):
        lines.append(f"{date},{place},{measure},{format_number(value)}")
    return "\n".join(lines) + "\n"


def format_number(value: float) -> str:
    """A number as the output files write it: at most 4 decimals, no trailing zeros, no -0."""
    text = f"{value:.4f}".rstrip("0").rstrip(".")
    return "0" if text in ("-0", "") else text
