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

from sim.model.engine import Ledger
from sim.model.ledger import STATES, Decision, MoveKind
from sim.model.queueing import SERVED

__all__ = ["STATES", "people_accounting", "daily_table", "format_csv", "format_number"]


def people_accounting(ledger: Ledger) -> dict[str, object]:
    """Simulated persons by final state; ``by_state`` sums exactly to ``departed``."""
    size = ledger.parties.size.astype(np.int64)
    totals = np.bincount(ledger.status, weights=size, minlength=len(STATES)).astype(np.int64)
    if len(totals) > len(STATES) or (ledger.status < 0).any():
        raise AssertionError("a party ended in no known state")
    by_state = {name: int(totals[i]) for i, name in enumerate(STATES)}
    departed = int(size.sum())
    return {
        "departed": departed,
        "by_state": by_state,
        "parties": len(size),
        "full_scale_factor": 1.0 / ledger.scale,
    }


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

    rows: list[tuple[int, str, str, float]] = []

    def add(place_names: list[str], measure: str, table: np.ndarray, *, only: np.ndarray | None = None) -> None:
        for p, place in enumerate(place_names):
            for day in range(days):
                if only is None or only[p, day]:
                    rows.append((day, place, measure, float(table[p, day])))

    def count(place: np.ndarray, times: np.ndarray, mask: np.ndarray, n_places: int, weight: np.ndarray) -> np.ndarray:
        # The engine settles what falls due at the period's last instant (24:00 of its
        # last day, where stay limits counted in whole days often end) within the run,
        # so it counts on the last day, as the engine dates it.
        keep = mask & np.isfinite(times) & (times <= ledger.horizon_hours)
        day = np.minimum(times[keep] // 24, days - 1).astype(np.int64)
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
    mean, p90, any_served = _wait_stats(alt_crossing[served], (legs["start"][served] // 24).astype(np.int64), wait[served], persons[served], n_cross, days)
    add(crossing_ids, "wait_hours_mean", mean, only=any_served)
    add(crossing_ids, "wait_hours_p90", p90, only=any_served)

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
    exits = count(moves["country"].astype(np.int64), moves["time"], np.ones(len(move_persons), bool), n_countries, move_persons)
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
    depart_day = (parties.depart // 24).astype(np.int64)
    departures = np.bincount(depart_day, weights=parties.size.astype(np.float64), minlength=days)[None, :days] * per_person
    add([scenario.home], "departures", departures)

    start = scenario.period.start
    dates = [(start + dt.timedelta(days=d)).isoformat() for d in range(days)]
    # Warm-up days are simulated but not reported; stocks carry what they built up.
    rows = [row for row in rows if row[0] >= ledger.warmup_days]
    rows.sort(key=lambda r: (r[0], r[1], r[2]))
    return pa.table(
        {
            "date": pa.array([dates[r[0]] for r in rows], pa.string()),
            "place": pa.array([r[1] for r in rows], pa.string()),
            "measure": pa.array([r[2] for r in rows], pa.string()),
            "value": pa.array([r[3] for r in rows], pa.float64()),
        }
    )


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
    """Exact daily maximum of a queue per place, from its joins and leaves."""
    result = np.zeros((n_places, days))
    for p in range(n_places):
        keep = mask & (place == p) & (arrive < horizon)
        if not keep.any():
            continue
        times = np.concatenate([arrive[keep], out[keep]])
        change = np.concatenate([weight[keep], -weight[keep]])
        # Leaves before joins at the same instant: a queue never counts a party twice.
        order = np.lexsort((change, times))
        times, level = times[order], np.cumsum(change[order])
        within = times < horizon
        times, level = times[within], level[within]
        day = (times // 24).astype(np.int64)
        np.maximum.at(result[p], day, level)
        # A queue carried over midnight counts on the new day too.
        carried_index = np.searchsorted(times, np.arange(days) * 24.0, side="left") - 1
        carried = np.where(carried_index >= 0, level[np.maximum(carried_index, 0)], 0.0)
        result[p] = np.maximum(result[p], carried)
    return result


def _wait_stats(
    place: np.ndarray, day: np.ndarray, wait: np.ndarray, weight: np.ndarray, n_places: int, days: int
) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
    """Person-weighted mean and 90th percentile of waits per place and day of service."""
    key = place.astype(np.int64) * days + day
    size = n_places * days
    if len(key) == 0:  # nobody served at all
        nothing = np.zeros((n_places, days))
        return nothing, nothing.copy(), nothing.astype(bool)
    total = np.bincount(key, weights=weight, minlength=size)
    mean = np.divide(np.bincount(key, weights=weight * wait, minlength=size), total, out=np.zeros(size), where=total > 0)
    p90 = np.zeros(size)
    order = np.lexsort((wait, key))
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
