"""Regular traffic and the warm-up: weekly pattern, trips by country, transit, unreported warm-up days.

Each is checked against what it must produce exactly or in expectation, on purpose-made
worlds (``tests/model_scenarios.py``) at scale 1.
"""

from __future__ import annotations

import datetime as dt

import numpy as np
import pyarrow.compute as pc
import pytest

import sim
from sim.model.population import BASELINE
from sim.model.ledger import Decision, MoveKind
from model_scenarios import POLICY_START, country, crossing, day, lanes, policy_world


def _regular_world(days: int, per_day: float, **changes) -> dict:
    """Regular travellers only, one wide-open crossing into KZ and one on to KG."""
    world = policy_world(
        days=days,
        countries=[country("KZ"), country("KG")],
        crossings=[
            crossing("north", "KZ", hours=2.0, foot=lanes(50, 0.01)),
            crossing("south", "KG", from_="KZ", lat=43.0, lon=75.0, foot=lanes(50, 0.01)),
        ],
        departures={"pool_persons": 0, "baseline_per_day": per_day},
    )
    for key, value in changes.items():
        world[key] = {**world.get(key, {}), **value} if isinstance(value, dict) else value
    return world


def _series(result, place: str, measure: str) -> np.ndarray:
    daily = result.daily
    rows = daily.filter(pc.and_(pc.equal(daily["place"], place), pc.equal(daily["measure"], measure)))
    return np.array(rows["value"].to_pylist())


def test_weekday_factors_shape_departures_and_keep_the_weekly_total() -> None:
    # 20 weeks of 2,000 persons a day: each weekday's mean within 3% of its factor's share
    # (Poisson standard error ~0.5% per weekday).
    factors = [1.0, 1.0, 1.0, 1.0, 2.0, 1.5, 0.5]
    world = _regular_world(140, 2000.0)
    world["departures"]["baseline_weekday_factors"] = factors
    result = sim.run(world, seed=3)
    departures = _series(result, "RU", "departures")
    weekdays = np.array([(POLICY_START + dt.timedelta(days=d)).weekday() for d in range(140)])
    expected = 2000.0 * np.array(factors) / np.mean(factors)
    for weekday in range(7):
        assert departures[weekdays == weekday].mean() == pytest.approx(expected[weekday], rel=0.03)
    assert departures.sum() == pytest.approx(2000.0 * 140, rel=0.01)


def test_warmup_days_are_simulated_but_not_reported() -> None:
    world = _regular_world(10, 500.0)
    world["period"]["warmup_days"] = 6
    warmed = sim.run(world, seed=4)
    dates = sorted(set(warmed.daily["date"].to_pylist()))
    assert dates[0] == day(0) and dates[-1] == day(9) and len(dates) == 10
    # The stock on day 0 carries those who entered during the warm-up and are still there.
    ledger = warmed.ledger
    legs = ledger.legs
    entered = (legs["decision"] == Decision.ENTERED) & (legs["leave"] < 7 * 24)
    moved = ledger.moves["time"] < 7 * 24
    persons = ledger.parties.size[legs["party"][entered]].sum() - ledger.parties.size[ledger.moves["party"][moved]].sum()
    assert _series(warmed, "KZ", "stock")[0] + _series(warmed, "KG", "stock")[0] == pytest.approx(persons)
    # Everyone is accounted for, warm-up departures included.
    assert sum(warmed.people["by_state"].values()) == warmed.people["departed"]
    assert (ledger.parties.depart < 6 * 24).any()


def test_trip_days_by_country_set_regular_travellers_stays() -> None:
    world = _regular_world(60, 1000.0)
    world["countries"][0]["trip_days"] = {"distribution": "fixed", "mean": 2.0}
    result = sim.run(world, seed=5)
    ledger = result.ledger
    moves = ledger.moves
    home = moves["kind"] == MoveKind.HOME
    legs = ledger.legs
    entered = legs["decision"] == Decision.ENTERED
    entry_time = dict(zip(legs["party"][entered].tolist(), legs["leave"][entered].tolist()))
    stays = np.array([t - entry_time[p] for p, t in zip(moves["party"][home].tolist(), moves["time"][home].tolist())])
    assert len(stays) > 10_000
    np.testing.assert_allclose(stays, 48.0, atol=1e-6)


def test_transit_share_sends_that_share_of_regular_travellers_on() -> None:
    world = _regular_world(60, 1000.0)
    world["countries"][0]["transit_share"] = 0.3
    world["countries"][0]["dwell_days"] = {"distribution": "fixed", "mean": 0.5}
    result = sim.run(world, seed=6)
    ledger = result.ledger
    assert (ledger.parties.component == BASELINE).all()
    legs, moves = ledger.legs, ledger.moves
    # Among parties entering Kazakhstan in the first 50 days (each resolved half a day later),
    # the share of persons that moved on.
    into_kz = (legs["decision"] == Decision.ENTERED) & (legs["alt"] == 0) & (legs["leave"] < 50 * 24)
    entrants = legs["party"][into_kz]
    moved_on = np.isin(entrants, moves["party"][(moves["kind"] == MoveKind.ONWARD) & (moves["country"] == 0)])
    size = ledger.parties.size[entrants]
    share = size[moved_on].sum() / size.sum()
    # ~50,000 persons in parties of one: binomial standard error ~0.2 percentage points.
    assert share == pytest.approx(0.3, abs=0.01)
    # They pass through: half a day in Kazakhstan, then a trip in Kyrgyzstan and home from there.
    assert _series(result, "KG", "returns").sum() > 0
    assert _series(result, "KZ", "onward_land").sum() == pytest.approx(_series(result, "KG", "entries").sum())
