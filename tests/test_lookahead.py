"""Looking one move ahead: the ways on out of a country count in choosing it (``choice.onward_option_weight``).

The option value is the logsum of a nested logit, ``onward_share * log(1 + sum(exp(u - appeal)))``
times the weight.  Held against that closed form: the pure function on hand-made
tables, and the engine on a world of two equally good countries, one of which has a
flight on, where the share of fliers choosing it is the logit's own probability.
"""

from __future__ import annotations

import math

import numpy as np
import pytest

import sim
from sim.model.lookahead import onward_option_value
from model_scenarios import country, crossing, day, lanes, policy_world

# Two countries (0: X, 1: Y), three alternatives: home -> X, home -> Y, X -> Z (the way on).
_CROSSING = np.array([0, 1, 2])
_COUNTRY = np.array([0, 1, 2])
_STAY = np.array([0.5, 0.0, 3.0])
_SHARE = np.array([0.8, 0.0, 0.0])


def _onward_utility() -> np.ndarray:
    utility = np.full((3, 3), -9.0)
    utility[0, 2] = 2.5  # from X's crossing, the way on to Z
    return utility


def _usable(kind_can_use_way_on: list[bool]) -> np.ndarray:
    usable = np.zeros((len(kind_can_use_way_on), 3, 3), dtype=bool)
    for kind, can in enumerate(kind_can_use_way_on):
        usable[kind, 0, 2] = can  # leaving X by the third alternative
    return usable


def test_the_value_is_the_nested_logits_logsum() -> None:
    value = onward_option_value(_onward_utility(), _CROSSING, _COUNTRY, _usable([True, False]), _STAY, _SHARE, 0.6)
    expected = 0.6 * 0.8 * math.log(1 + math.exp(2.5 - 0.5))
    np.testing.assert_allclose(value[0], [expected, 0.0, 0.0], rtol=1e-12)
    # A kind that may not use the way on gains nothing, wherever it goes.
    np.testing.assert_array_equal(value[1], 0.0)


def test_a_myopic_choice_and_a_country_nobody_leaves_gain_nothing() -> None:
    utility, usable = _onward_utility(), _usable([True])
    assert not onward_option_value(utility, _CROSSING, _COUNTRY, usable, _STAY, _SHARE, 0.0).any()
    assert not onward_option_value(utility, _CROSSING, _COUNTRY, usable, _STAY, np.zeros(3), 1.0).any()


def test_more_and_better_ways_on_are_worth_more() -> None:
    one = onward_option_value(_onward_utility(), _CROSSING, _COUNTRY, _usable([True]), _STAY, _SHARE, 1.0)[0, 0]
    better = _onward_utility()
    better[0, 2] += 1.0
    assert onward_option_value(better, _CROSSING, _COUNTRY, _usable([True]), _STAY, _SHARE, 1.0)[0, 0] > one
    # A second way on (Y's crossing, standing in as one more route out of X) adds to the first.
    two_ways = _onward_utility()
    two_ways[0, 1] = 2.5
    usable = _usable([True])
    usable[0, 0, 1] = True
    assert onward_option_value(two_ways, _CROSSING, _COUNTRY, usable, _STAY, _SHARE, 1.0)[0, 0] > one


# The engine: X and Y are as appealing and as far; Z, reached from X by a flight that leaves
# where X's crossing lets people out (no travel between), is more appealing than either.
_APPEAL_Z, _ONWARD_SHARE = 2.0, 0.5


def _world(weight: float) -> dict:
    return policy_world(
        days=3,
        countries=[
            country("XA", onward_share=_ONWARD_SHARE),
            country("YB"),
            country("ZC", appeal=_APPEAL_Z),
        ],
        crossings=[
            crossing("to-x", "XA", hours=5, lat=50.0, lon=41.0, foot=lanes(50, 0.01)),
            crossing("to-y", "YB", hours=5, lat=50.0, lon=39.0, foot=lanes(50, 0.01)),
            crossing("x-z", "ZC", from_="XA", lat=50.0, lon=41.0, air={"seats_per_day": 10_000, "flight_hours": 2}),
        ],
        departures={"pool_persons": 0, "baseline_per_day": 3000.0},
        people={"can_fly_share": 0.5},
        choice={"wait_hour_utility": 0.0, "onward_option_weight": weight},
    )


def _first_legs(result: sim.Result) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
    """Per party's first leg: the party, whether it went to X, whether it can fly."""
    legs, ledger = result.ledger.legs, result.ledger
    first = legs["attempt"] == 0
    party = legs["party"][first]
    to_x = ledger.alternatives.country[legs["alt"][first]] == 0
    return party, to_x, ledger.parties.can_fly[party]


@pytest.fixture(scope="module")
def myopic() -> sim.Result:
    return sim.run(_world(0.0), seed=3)


@pytest.fixture(scope="module")
def looking_ahead() -> sim.Result:
    return sim.run(_world(1.0), seed=3)


def test_fliers_choose_the_country_with_a_flight_on_as_the_logit_says(looking_ahead: sim.Result) -> None:
    _, to_x, can_fly = _first_legs(looking_ahead)
    gain = _ONWARD_SHARE * math.log(1 + math.exp(_APPEAL_Z - 0.0))
    expected = math.exp(gain) / (math.exp(gain) + 1)  # ~0.74
    fliers = to_x[can_fly]
    standard_error = math.sqrt(expected * (1 - expected) / len(fliers))
    assert len(fliers) > 3000
    assert abs(fliers.mean() - expected) < 4 * standard_error  # ~0.03
    # Those who cannot fly see no way on from X: an even split, as without looking ahead.
    others = to_x[~can_fly]
    assert abs(others.mean() - 0.5) < 4 * math.sqrt(0.25 / len(others))


def test_only_those_whose_options_differ_choose_differently(myopic: sim.Result, looking_ahead: sim.Result) -> None:
    """Common random numbers: those who cannot fly choose exactly as a myopic party would."""
    party_m, to_x_m, fly_m = _first_legs(myopic)
    party_a, to_x_a, fly_a = _first_legs(looking_ahead)
    np.testing.assert_array_equal(party_m, party_a)
    np.testing.assert_array_equal(to_x_m[~fly_m], to_x_a[~fly_a])
    # Fliers only ever switch towards X.
    switched = to_x_m[fly_m] != to_x_a[fly_a]
    assert switched.any() and to_x_a[fly_a][switched].all()


def test_a_party_that_would_leave_its_car_looks_ahead_without_it() -> None:
    """Into GE by car, or on foot leaving the car; on from GE to AM (appeal 5) by car only.

    Looking ahead, the car lane gains AM's value and the foot lanes none (a walker has no car
    on the far side), so fewer walk than when nobody looks ahead (at 1: 407 against 914; when
    the walkers were credited with the car's ways on, 1,097 walked and went home for want of one).
    """
    fixed_day = {"distribution": "fixed", "mean": 1}

    def world(weight: float) -> dict:
        return policy_world(
            days=10,
            countries=[country("GE", dwell_days=fixed_day, onward_share=1.0), country("KZ", appeal=0.0),
                       country("AM", appeal=5.0)],
            crossings=[
                crossing("to-ge", "GE", hours=5, car=lanes(1, 30), foot={**lanes(5, 1), "car_parties": True}),
                crossing("to-kz", "KZ", hours=5, car=lanes(1, 30)),
                crossing("ge-am", "AM", from_="GE", lon=42, car=lanes(5, 1)),
            ],
            departures={"pool_persons": 2000, "shocks": [{"id": "s", "date": day(0), "peak_per_day": 1.0, "half_life_days": 2}]},
            people={"car_share": 1.0},
            choice={"onward_option_weight": weight, "leave_car_utility": -1.0},
        )

    def walkers(weight: float) -> int:
        legs = sim.run(world(weight)).ledger.legs
        return int(((legs["attempt"] == 0) & (legs["alt"] == 1)).sum())  # alternative 1: to-ge on foot

    myopic, ahead = walkers(0.0), walkers(1.0)
    assert myopic > 500
    assert ahead < 0.75 * myopic
