"""A party's journey over several legs: what it carries from one leg to the next.

Each case is a small world at scale 1 where the answer is exact:

* a party that crossed without its car (on foot, where the foot lanes admit car parties) has
  no car on the next leg: it cannot drive on;
* a party that gave up on a queue never rejoins that queue; with no other way it stops;
* a regular traveller passes through one country at most: its trip ends in the next;
* a party that boarded a flight before the run ends and lands after it is in the air
  (``travelling``), not queued.
"""

from __future__ import annotations

import numpy as np
import pytest

import sim
from sim.model.ledger import Decision, Status
from sim.model.queueing import SERVED
from model_scenarios import country, crossing, day, group, lanes, policy_world

FIXED_DAY = {"distribution": "fixed", "mean": 1}


def _total(result: sim.Result, place: str, measure: str) -> float:
    table = result.daily.to_pydict()
    return sum(v for p, m, v in zip(table["place"], table["measure"], table["value"]) if p == place and m == measure)


def test_a_car_left_at_the_border_stays_there() -> None:
    """Everyone walks into GE leaving the car (the only way in), then moves on to AM, reachable by car or bus."""

    def world(onward: dict) -> dict:
        return policy_world(
            days=10,
            countries=[country("GE", dwell_days=FIXED_DAY, onward_share=1.0), country("AM")],
            crossings=[
                crossing("walk-in", "GE", hours=5, foot={**lanes(5, 1), "car_parties": True}),
                crossing("ge-am", "AM", from_="GE", lon=42, **onward),
            ],
            departures={"pool_persons": 1000, "shocks": [{"id": "s", "date": day(0), "peak_per_day": 1.0, "half_life_days": 2}]},
            people={"car_share": 1.0},
        )

    by_car = sim.run(world({"car": lanes(5, 1)}))
    walked = _total(by_car, "walk-in", "entries")
    assert walked > 500
    # Its car is behind it: nobody drives on, and with no other mode nobody moves on.
    assert _total(by_car, "ge-am", "arrivals") == 0

    # A bus that does not take car parties is open to them now: they have no car.
    by_bus = sim.run(world({"bus": lanes(5, 1)}))
    assert _total(by_bus, "walk-in", "entries") == walked  # the same first leg (common random numbers)
    moved_on = _total(by_bus, "ge-am", "entries")
    assert moved_on > 0.9 * walked


def test_who_gave_up_on_a_queue_never_rejoins_it() -> None:
    """One crossing, one slow lane and two hours' patience: those who give up have nowhere else to go."""
    world = policy_world(
        days=3,
        countries=[country("KZ")],
        crossings=[crossing("x", "KZ", hours=5, foot=lanes(1, 60))],
        departures={"pool_persons": 0, "baseline_per_day": 100},
        groups=[group("others", 1.0, patience={"distribution": "fixed", "mean": 2})],
        people={"rechoose_share": 1.0, "max_attempts": 6},
    )
    result = sim.run(world)
    legs = result.ledger.legs
    gave_up = _total(result, "x", "gave_up")
    assert gave_up > 100
    # one attempt each: nobody went back to the queue it left
    assert len(np.unique(legs["party"])) == len(legs["party"])
    assert (legs["attempt"] == 0).all()
    assert result.people["by_state"]["gave_up_home"] == gave_up


def test_who_gave_up_tries_the_other_mode_of_the_same_crossing() -> None:
    """Another mode of the same crossing is another way: from a jammed car queue to the foot lanes."""
    world = policy_world(
        days=3,
        countries=[country("KZ")],
        crossings=[crossing("x", "KZ", hours=5, car=lanes(1, 60), foot={**lanes(5, 1), "car_parties": True})],
        departures={"pool_persons": 0, "baseline_per_day": 200},
        groups=[group("others", 1.0, patience={"distribution": "fixed", "mean": 2})],
        people={"car_share": 1.0, "rechoose_share": 1.0, "max_attempts": 6},
        choice={"leave_car_utility": -30.0},  # nobody walks at first
    )
    result = sim.run(world)
    legs = result.ledger.legs
    car_alt, foot_alt = 0, 1
    first, second = legs["attempt"] == 0, legs["attempt"] == 1
    assert (legs["alt"][first] == car_alt).all()
    gave_up = first & (legs["decision"] == Decision.GAVE_UP)
    assert gave_up.sum() > 50
    # every retry is on foot, and there are no third attempts: the foot lanes are free
    assert (legs["alt"][second] == foot_alt).all()
    assert second.sum() == gave_up.sum()
    assert not (legs["attempt"] >= 2).any()


def test_a_regular_traveller_passes_through_one_country_at_most() -> None:
    """Passing through KZ (share 1) to KG, whose share is 1 too: the trip ends in KG, nobody goes on to UZ."""
    world = policy_world(
        days=20,
        countries=[
            country("KZ", transit_share=1.0, dwell_days=FIXED_DAY),
            country("KG", transit_share=1.0, dwell_days=FIXED_DAY),
            country("UZ"),
        ],
        crossings=[
            crossing("h-kz", "KZ", foot=lanes(5, 1)),
            crossing("kz-kg", "KG", from_="KZ", foot=lanes(5, 1)),
            crossing("kg-uz", "UZ", from_="KG", lon=42, foot=lanes(5, 1)),
        ],
        departures={"pool_persons": 0, "baseline_per_day": 200},
    )
    result = sim.run(world)
    assert _total(result, "kz-kg", "entries") > 3000
    assert _total(result, "kg-uz", "arrivals") == 0
    # they go home from KG at the end of their trip
    assert _total(result, "KG", "onward_land") == 0
    assert _total(result, "KG", "returns") > 0.5 * _total(result, "KG", "entries")


def test_a_party_in_the_air_at_the_end_is_travelling() -> None:
    """Flights of 20 hours: those who boarded on the last day and land after it are in the air."""
    world = policy_world(
        days=3,
        countries=[country("TR")],
        crossings=[crossing("air", "TR", hours=1, air={"seats_per_day": 100000, "flight_hours": 20})],
        departures={"pool_persons": 0, "baseline_per_day": 100},
        people={"can_fly_share": 1.0},
    )
    result = sim.run(world)
    ledger = result.ledger
    legs = ledger.legs
    boarded = legs["leave"] - 20.0
    airborne = (legs["served"] == SERVED) & (legs["decision"] == Decision.UNDECIDED)
    assert airborne.sum() > 50
    assert (boarded[airborne] <= ledger.horizon_hours).all()
    in_air = np.unique(legs["party"][airborne])
    assert (ledger.status[in_air] == Status.TRAVELLING).all()
    # the rest of the travellers are on the road to the airport, and nobody is left queued
    on_the_road = np.unique(legs["party"][legs["served"] == -1])
    size = ledger.parties.size
    assert result.people["by_state"]["travelling"] == int(size[in_air].sum()) + int(size[on_the_road].sum())
    assert result.people["by_state"]["queued"] == 0


def test_a_stay_limit_caps_and_never_lengthens_a_shorter_visa_free_stay() -> None:
    """Three visa-free days: a 90-day cap leaves them at three; a 5-day cap binds over a later 30-day entry rule."""

    def world(policies: list[dict]) -> dict:
        return policy_world(
            days=20,
            countries=[country("KZ", visa_free_days=3, return_share=0.0, dwell_days={"distribution": "fixed", "mean": 100})],
            crossings=[crossing("x", "KZ", hours=2, foot=lanes(10, 0.5))],
            departures={"pool_persons": 200, "pool_hazard_per_day": 1.0},
            policies=policies,
        )

    alone = sim.run(world([]))
    capped = sim.run(world([{"kind": "stay_limit", "country": "KZ", "from": day(0), "days": 90}]))
    assert alone.people["by_state"]["in_country"] == 0
    assert capped.people == alone.people
    # a cap of 5 days, then an entry rule of 30 visa-free days: the cap still binds
    relaxed = sim.run(world([
        {"kind": "stay_limit", "country": "KZ", "from": day(0), "days": 5},
        {"kind": "entry", "country": "KZ", "from": day(0), "accepts": ["internal_passport"], "visa_free_days": 30},
    ]))
    assert relaxed.people["departed"] > 150
    assert relaxed.people["by_state"]["in_country"] == 0


def test_flows_count_the_entries_of_the_last_instant_as_daily_does() -> None:
    """Forced out of KZ at 00:00 of the last day, queued at a slow crossing: the last enters at 24:00."""
    world = policy_world(
        days=6,
        countries=[country("KZ", onward_share=1.0, dwell_days={"distribution": "fixed", "mean": 100}), country("KG")],
        crossings=[
            crossing("x", "KZ", hours=1, foot=lanes(20, 0.5)),
            crossing("z", "KG", from_="KZ", lat=50.0, lon=41.0, foot=lanes(1, 60.0)),
        ],
        departures={"pool_persons": 60, "pool_hazard_per_day": 5.0},
        policies=[{"kind": "stay_limit", "country": "KZ", "from": day(4), "days": 1}],
    )
    result = sim.run(world)
    legs = result.ledger.legs
    assert (legs["leave"] == result.ledger.horizon_hours).any()  # the case at issue
    flows = result.flows.to_pydict()
    onward = sum(p for c, p in zip(flows["onward_crossing"], flows["persons"]) if c == "z")
    assert onward == _total(result, "z", "entries") > 0


def test_who_is_refused_on_landing_is_flown_back_before_trying_again() -> None:
    """Refused on landing after a 10-hour flight: the next attempt starts from the airport left, 10 hours later."""
    world = policy_world(
        days=6,
        countries=[country("TR", refusal_share=1.0, appeal=5.0), country("GE")],
        crossings=[
            crossing("air", "TR", hours=2, lat=55.0, lon=37.0, air={"seats_per_day": 1000, "flight_hours": 10.0}),
            crossing("y", "GE", hours=20, lat=55.0, lon=37.0, foot=lanes(4, 1.0)),
        ],
        departures={"pool_persons": 20, "pool_hazard_per_day": 1.0},
        people={"can_fly_share": 1, "rechoose_share": 1.0},
    )
    world["crossings"][0].update(arrival_lat=41.0, arrival_lon=29.0)
    legs = sim.run(world).ledger.legs
    refused = np.flatnonzero((legs["alt"] == 0) & (legs["decision"] == Decision.REFUSED))
    assert len(refused) > 5
    for leg in refused:
        later = np.flatnonzero((legs["party"] == legs["party"][leg]) & (legs["attempt"] == legs["attempt"][leg] + 1))
        assert len(later) == 1
        # y is at the airport left: no travel, so the next arrival is the return flight's landing
        assert legs["arrive"][later[0]] == legs["leave"][leg] + 10.0


def test_the_origins_visa_factor_concerns_emigrants_not_regular_travellers() -> None:
    """Regular travellers take the pool's documents when they have none of their own, but not its origins' visa factor."""
    from sim.model.policies import DocumentFlag

    def world(**departures: object) -> dict:
        data = policy_world(
            days=30,
            countries=[country("FI", accepts=("schengen_visa_tourist", "schengen_visa_other"))],
            crossings=[crossing("x", "FI", foot=lanes(50, 0.1))],
            departures={"pool_persons": 0, "baseline_per_day": 4000, **departures},
            people={"international_passport_share": 0.5, "schengen_visa_share": 0.2},
        )
        data["origins"] = [
            {"id": "a", "name": "A", "lat": 50.0, "lon": 40.0, "population_weight": 3},
            {"id": "b", "name": "B", "lat": 50.0, "lon": 40.0, "population_weight": 1, "schengen_visa_factor": 3.0},
        ]
        return data

    same = world(baseline_people={"international_passport_share": 0.5, "schengen_visa_share": 0.2, "car_share": 0.0, "can_fly_share": 0.0})
    for scenario in (world(), same):
        parties = sim.run(scenario).ledger.parties
        visa = (parties.documents & int(DocumentFlag.schengen_visa_tourist | DocumentFlag.schengen_visa_other)) != 0
        by_origin = [visa[parties.origin == k].mean() for k in (0, 1)]
        # ~30,000 parties from a, ~10,000 from b: a standard error of 0.004 at most
        assert by_origin == pytest.approx([0.2, 0.2], abs=0.02)
