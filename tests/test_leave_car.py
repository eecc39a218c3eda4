"""Leaving the car: a foot mode that admits car parties (``car_parties``), at ``choice.leave_car_utility``.

One crossing with a busy car queue (hours of wait) and free foot lanes; every party has a car.  Without
``car_parties`` no car party walks.  With it, how many walk follows the cost of leaving
the car: none at a prohibitive cost, many at none; and those who walk are served as
pedestrians (one unit per person).
"""

from __future__ import annotations

import numpy as np
import pytest

import sim
from sim.model.ledger import Decision
from model_scenarios import country, crossing, group, lanes, policy_world


def _world(car_parties: bool, leave_car: float) -> dict:
    foot = {**lanes(4, 1.0), "car_parties": car_parties}
    return policy_world(
        days=5,
        countries=[country("GE")],
        crossings=[crossing("x", "GE", car=lanes(6, 20.0, "exponential"), foot=foot)],
        departures={"pool_persons": 0, "baseline_per_day": 600.0},
        groups=[group("others", 1.0, sizes=(0.5, 0.5, 0.0, 0.0, 0.0))],
        people={"car_share": 1.0},
        choice={"wait_hour_utility": -0.5, "report_interval_hours": 1.0, "information_lag_hours": 0.0, "leave_car_utility": leave_car},
    )


def _walked(result: sim.Result) -> float:
    """Share of entering parties that crossed on foot."""
    legs, alternatives = result.ledger.legs, result.ledger.alternatives
    entered = legs["decision"] == Decision.ENTERED
    return float((~alternatives.car[legs["alt"][entered]]).mean())


def test_without_car_parties_nobody_leaves_a_car() -> None:
    assert _walked(sim.run(_world(False, 0.0), seed=1)) == 0.0


def test_the_cost_of_leaving_the_car_sets_how_many_walk() -> None:
    free = _walked(sim.run(_world(True, 0.0), seed=1))
    costly = _walked(sim.run(_world(True, -3.0), seed=1))
    prohibitive = _walked(sim.run(_world(True, -60.0), seed=1))
    assert prohibitive == 0.0
    assert free > costly > 0.0
    assert free > 0.3  # the car queue costs hours, the foot lanes nothing


def test_those_who_walk_are_served_one_person_at_a_time() -> None:
    result = sim.run(_world(True, 0.0), seed=2)
    legs, ledger = result.ledger.legs, result.ledger
    walking = (legs["decision"] == Decision.ENTERED) & ~ledger.alternatives.car[legs["alt"]]
    persons = ledger.parties.size[legs["party"][walking]]
    # Fixed 1-minute service per person on foot: a party of two spends 2 minutes at the booth.
    service_hours = legs["leave"][walking] - legs["start"][walking]
    np.testing.assert_allclose(service_hours, persons / 60.0, atol=1e-9)
    assert (persons == 2).any()
