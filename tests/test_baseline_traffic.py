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


def _abroad_world(share: float | None, half_life_days: float = 1e6) -> dict:
    """Regular travellers on fixed 2-day trips to KZ; a shock on day 20 after which some stay abroad.

    The shock peaks at once; by default it keeps its strength for the whole run.
    """
    world = _regular_world(40, 1000.0)
    kz = world["countries"][0]
    kz["trip_days"] = {"distribution": "fixed", "mean": 2.0}
    kz["dwell_days"] = {"distribution": "fixed", "mean": 1.0}
    kz["onward_share"] = 0.5
    kz["return_share"] = 0.25
    shock = {"id": "news", "date": day(20), "hour": 0.0, "peak_per_day": 0.0, "rise_hours": 0.0, "half_life_days": half_life_days}
    if share is not None:
        shock["abroad_stay_share"] = {"KZ": share}
    world["departures"]["shocks"] = [shock]
    return world


def test_abroad_stay_share_turns_that_share_of_regular_travellers_into_emigrants() -> None:
    result = sim.run(_abroad_world(0.6), seed=7)
    ledger = result.ledger
    legs, moves = ledger.legs, ledger.moves
    into_kz = (legs["decision"] == Decision.ENTERED) & (legs["alt"] == 0)
    entrants, entered = legs["party"][into_kz], legs["leave"][into_kz]
    trip_end = entered + 48.0
    shock = 20 * 24.0
    size = ledger.parties.size[entrants].astype(float)
    from_kz = moves["country"] == 0
    home_at_end = dict.fromkeys(moves["party"][from_kz & (moves["kind"] == MoveKind.HOME)].tolist())
    onward = dict.fromkeys(moves["party"][from_kz & (moves["kind"] == MoveKind.ONWARD)].tolist())
    went_home = np.array([p in home_at_end for p in entrants.tolist()])
    went_on = np.array([p in onward for p in entrants.tolist()])
    # Trips ending before the shock: everyone goes home, nobody moves on.
    before = trip_end < shock - 1.0
    assert went_home[before].all() and not went_on[before].any()
    # Trips ending after it (and whose next step falls in the run): 60% become emigrants, who
    # move on (0.5), go home (0.25) or stay (0.25): home 0.4 + 0.6 × 0.25 = 0.55, onward 0.30.
    after = (trip_end > shock + 1.0) & (trip_end < 36 * 24)
    assert size[after].sum() > 10_000
    # ~14,000 persons in parties of one: binomial standard errors ~0.4 percentage points.
    assert size[after & went_home].sum() / size[after].sum() == pytest.approx(0.55, abs=0.015)
    assert size[after & went_on].sum() / size[after].sum() == pytest.approx(0.30, abs=0.015)
    # Those who stayed abroad and went on are emigrants in Kyrgyzstan: no trip home from there.
    assert _series(result, "KG", "returns").sum() == 0
    assert sum(result.people["by_state"].values()) == result.people["departed"]


def test_the_share_staying_abroad_follows_the_shocks_decay() -> None:
    # Half-life 4 days: trips ending 0–1 days after the shock stay abroad at ~0.8 × 0.92,
    # those ending 8–9 days after at ~0.8 × 0.23; staying abroad, a quarter stay on and
    # the rest go home (return_share 0.25 of 0.25 + 0.25) or move on, so the share not
    # going home at the trip's end is 0.75 × the share staying abroad.
    result = sim.run(_abroad_world(0.8, half_life_days=4.0), seed=12)
    ledger = result.ledger
    legs, moves = ledger.legs, ledger.moves
    into_kz = (legs["decision"] == Decision.ENTERED) & (legs["alt"] == 0)
    trip_end = dict(zip(legs["party"][into_kz].tolist(), (legs["leave"][into_kz] + 48.0).tolist()))
    # Parties going home from KZ exactly when their trip ends.
    home_moves = (moves["country"] == 0) & (moves["kind"] == MoveKind.HOME)
    went_home = {p for p, t in zip(moves["party"][home_moves].tolist(), moves["time"][home_moves].tolist())
                 if abs(t - trip_end.get(p, -1.0)) < 1e-6}
    shock = 20 * 24.0
    for first, last in ((0, 1), (8, 9)):
        ending = [p for p, t in trip_end.items() if shock + first * 24 <= t < shock + last * 24]
        size = ledger.parties.size[ending].astype(float)
        stayed = np.array([p not in went_home for p in ending])
        expected = 0.75 * 0.8 * np.mean([2 ** (-(t - shock) / 96.0) for t in (trip_end[p] for p in ending)])
        # ~1,000 parties a day: standard error ~1.5 percentage points.
        assert size[stayed].sum() / size.sum() == pytest.approx(expected, abs=0.05), (first, last)


def test_abroad_stay_share_of_zero_changes_nothing() -> None:
    without = sim.run(_abroad_world(None), seed=8)
    with_zero = sim.run(_abroad_world(0.0), seed=8)
    assert without.daily.equals(with_zero.daily)


def test_exits_are_counted_where_the_border_is_passed() -> None:
    # Regular travellers pass through KZ (half a day) and drive on to the Kyrgyz border:
    # KZ's exits are those going home on the day their stay ends plus those moving on on
    # the day they enter Kyrgyzstan, day by day, and its stock is entries less exits.
    world = _regular_world(30, 1000.0)
    world["countries"][0]["transit_share"] = 0.5
    world["countries"][0]["dwell_days"] = {"distribution": "fixed", "mean": 0.5}
    result = sim.run(world, seed=9)
    exits = _series(result, "KZ", "exits")
    np.testing.assert_allclose(exits, _series(result, "KZ", "returns") + _series(result, "KZ", "onward_land"))
    np.testing.assert_allclose(_series(result, "KZ", "stock"), np.cumsum(_series(result, "KZ", "entries") - exits))
    assert _series(result, "KZ", "onward_land").sum() > 5_000


def test_those_who_stay_abroad_and_stay_on_leave_by_the_emigrants_split_when_their_stay_ends() -> None:
    # KZ allows 5 days: whoever stayed abroad at the end of a 2-day trip and chose to stay on
    # (a quarter) is made to leave 3 days later, moving on or going home as 0.5 : 0.25.
    world = _abroad_world(1.0)
    world["countries"][0]["visa_free_days"] = 5
    result = sim.run(world, seed=10)
    ledger = result.ledger
    legs, moves = ledger.legs, ledger.moves
    into_kz = (legs["decision"] == Decision.ENTERED) & (legs["alt"] == 0)
    entered = dict(zip(legs["party"][into_kz].tolist(), legs["leave"][into_kz].tolist()))
    from_kz = moves["country"] == 0
    stay = np.array([t - entered[p] for p, t in zip(moves["party"][from_kz].tolist(), moves["time"][from_kz].tolist())])
    kind = moves["kind"][from_kz]
    after_shock = np.array([entered[p] + 48.0 > 20 * 24.0 + 1.0 for p in moves["party"][from_kz].tolist()])
    forced = after_shock & np.isclose(stay, 120.0)
    assert forced.sum() > 1_000
    # Nobody leaves between the trip's end and the limit.
    assert not (after_shock & (stay > 48.0 + 1e-6) & (stay < 120.0 - 1e-6)).any()
    assert (kind[forced] == MoveKind.ONWARD).mean() == pytest.approx(2 / 3, abs=0.03)
