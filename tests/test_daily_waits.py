"""The daily wait measures, recomputed from the ledger one leg at a time.

A crossing with a slow car queue and a fast foot queue: ``wait_hours_*`` weigh every
served person over both modes, ``car_wait_hours_*`` only the cars, one each.  Both are
held exactly to a plain re-computation (per day service began: the mean, and the 90th
percentile as the smallest wait with at least 90% of the weight at or below it).
"""

from __future__ import annotations

import numpy as np
import pyarrow.compute as pc
import pytest

import sim
from sim.model.queueing import SERVED
from model_scenarios import country, crossing, group, lanes, policy_world


@pytest.fixture(scope="module")
def result() -> sim.Result:
    world = policy_world(
        days=6,
        countries=[country("KZ")],
        # 2 car lanes at 20 min (144 cars/day) against ~300 parties/day, half by car: the car
        # queue grows by the day while the foot queue stays short.
        crossings=[crossing("x", "KZ", car=lanes(2, 20.0, "exponential"), foot=lanes(2, 3.0, "exponential"))],
        departures={"pool_persons": 0, "baseline_per_day": 700.0},
        groups=[group("others", 1.0, sizes=(0.4, 0.3, 0.2, 0.1, 0.0))],
        people={"car_share": 0.5},
    )
    return sim.run(world, seed=11)


def _daily(result: sim.Result, measure: str) -> dict[str, float]:
    rows = result.daily.filter(pc.and_(pc.equal(result.daily["place"], "x"), pc.equal(result.daily["measure"], measure)))
    return dict(zip(rows["date"].to_pylist(), rows["value"].to_pylist()))


def _expected(result: sim.Result, cars_only: bool) -> tuple[dict[str, float], dict[str, float]]:
    ledger = result.ledger
    legs = ledger.legs
    served = (legs["served"] == SERVED) & (legs["start"] < ledger.horizon_hours)
    is_car = ledger.alternatives.car[legs["alt"]]
    pick = served & is_car if cars_only else served
    dates = sorted(set(result.daily["date"].to_pylist()))
    mean, p90 = {}, {}
    for leg in np.flatnonzero(pick):
        day = int(legs["start"][leg] // 24)
        weight = 1.0 if cars_only else float(ledger.parties.size[legs["party"][leg]])
        mean.setdefault(dates[day], []).append((legs["start"][leg] - legs["arrive"][leg], weight))
    for date, pairs in mean.items():
        waits = np.array([w for w, _ in pairs])
        weights = np.array([k for _, k in pairs])
        order = np.argsort(waits, kind="stable")
        cumulative = np.cumsum(weights[order])
        p90[date] = float(waits[order][np.searchsorted(cumulative, 0.9 * weights.sum() - 1e-12)])
        mean[date] = float((waits * weights).sum() / weights.sum())
    return mean, p90


@pytest.mark.parametrize("cars_only", [False, True], ids=["all", "cars"])
def test_wait_measures_are_the_served_waits_of_each_day(result: sim.Result, cars_only: bool) -> None:
    prefix = "car_" if cars_only else ""
    mean, p90 = _expected(result, cars_only)
    assert len(mean) == 6
    got_mean, got_p90 = _daily(result, f"{prefix}wait_hours_mean"), _daily(result, f"{prefix}wait_hours_p90")
    assert got_mean.keys() == mean.keys() and got_p90.keys() == p90.keys()
    for date in mean:
        assert got_mean[date] == pytest.approx(mean[date], rel=1e-12, abs=1e-12), date
        assert got_p90[date] == pytest.approx(p90[date], rel=1e-12, abs=1e-12), date


def test_the_car_queue_waits_longer_than_everyone_on_average(result: sim.Result) -> None:
    # What the car measures are for: a slow car queue beside a fast foot queue is hidden
    # in the person-weighted mean over modes.
    everyone, cars = _daily(result, "wait_hours_mean"), _daily(result, "car_wait_hours_mean")
    last = max(cars)
    assert cars[last] > 12.0 and cars[last] > 1.5 * everyone[last]
