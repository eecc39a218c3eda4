"""The queueing core against queueing theory (Erlang C for M/M/c), in the style of Ciw's tests.

Each case simulates a long M/M/c run with a fixed seed and holds the mean wait in
queue against the Erlang C formula.  Tolerance: 5% relative.  The number of
customers per case is chosen so that the standard error of the estimate is about
2% or less (measured over independent seeds when the test was written): heavy
traffic (rho = 0.9) needs millions of customers, light traffic far fewer.
"""

from __future__ import annotations

import math

import numpy as np
import pytest

from sim.model.queueing import ABANDONED, CLOSED, SERVED, LaneBank, LaneSchedule, scaled_schedule

TOLERANCE = 0.05


def erlang_c_wait(arrival_rate: float, service_rate: float, lanes: int) -> float:
    """Mean wait in queue of M/M/c (Erlang C)."""
    offered = arrival_rate / service_rate
    rho = offered / lanes
    assert rho < 1
    top = offered**lanes / math.factorial(lanes) / (1 - rho)
    bottom = sum(offered**k / math.factorial(k) for k in range(lanes)) + top
    return top / bottom / (lanes * service_rate - arrival_rate)


def simulate_mmc(lanes: int, rho: float, customers: int, seed: int, bank: LaneBank | None = None) -> float:
    rng = np.random.default_rng(seed)
    service_rate = 1.0
    arrival_rate = rho * lanes * service_rate
    arrive = np.cumsum(rng.exponential(1 / arrival_rate, customers))
    service = rng.exponential(1 / service_rate, customers)
    bank = bank or LaneBank(scaled_schedule([0.0], [lanes], 1.0))
    start, _, outcome = bank.serve(arrive, service)
    assert (outcome == SERVED).all()
    warm = customers // 20  # drop the empty-system start
    return float((start - arrive)[warm:].mean())


# (lanes, rho, customers): sized for a standard error of about 2% or less.
CASES = [
    (1, 0.5, 200_000),
    (1, 0.7, 400_000),
    (1, 0.9, 3_600_000),
    (3, 0.5, 300_000),
    (3, 0.7, 400_000),
    (3, 0.9, 4_000_000),
    (10, 0.5, 2_400_000),
    (10, 0.7, 1_200_000),
    (10, 0.9, 5_000_000),
]


@pytest.mark.parametrize(("lanes", "rho", "customers"), CASES)
def test_mean_wait_matches_erlang_c(lanes: int, rho: float, customers: int) -> None:
    simulated = simulate_mmc(lanes, rho, customers, seed=1000 * lanes + int(rho * 100))
    theory = erlang_c_wait(rho * lanes, 1.0, lanes)
    assert simulated == pytest.approx(theory, rel=TOLERANCE)


def test_scheduled_path_matches_erlang_c() -> None:
    """The general (scheduled) path gives the same law when the schedule changes nothing."""
    schedule = LaneSchedule(starts=(0.0, 1e12), lanes=(3, 3), service_factor=(1.0, 1.0))
    assert not schedule.constant
    simulated = simulate_mmc(3, 0.7, 400_000, seed=7, bank=LaneBank(schedule))
    assert simulated == pytest.approx(erlang_c_wait(2.1, 1.0, 3), rel=TOLERANCE)


def test_same_input_same_output_on_both_paths() -> None:
    rng = np.random.default_rng(3)
    arrive = np.cumsum(rng.exponential(0.4, 5000))
    service = rng.exponential(1.0, 5000)
    fast = LaneBank(scaled_schedule([0.0], [3], 1.0)).serve(arrive, service)
    general = LaneBank(LaneSchedule((0.0, 1e12), (3, 3), (1.0, 1.0))).serve(arrive, service)
    for a, b in zip(fast, general):
        np.testing.assert_array_equal(a, b)


def test_fifo_order_and_lane_count_respected() -> None:
    """Starts are in arrival order and never more than ``lanes`` parties in service at once."""
    rng = np.random.default_rng(11)
    arrive = np.cumsum(rng.exponential(0.3, 20_000))
    service = rng.lognormal(0.0, 0.8, 20_000)
    start, leave, _ = LaneBank(scaled_schedule([0.0], [4], 1.0)).serve(arrive, service)
    assert np.all(np.diff(start) >= 0)
    assert np.all(start >= arrive)
    events = np.concatenate([start, leave])
    change = np.concatenate([np.ones_like(start), -np.ones_like(leave)])
    order = np.lexsort((change, events))
    assert np.cumsum(change[order]).max() == 4


def test_closure_turns_away_and_disperses() -> None:
    """Closed from t=10 to t=20: arrivals then are turned away, the waiting are dispersed at 10."""
    schedule = LaneSchedule(starts=(0.0, 10.0, 20.0), lanes=(1, 0, 1), service_factor=(1.0, 1.0, 1.0))
    arrive = np.array([1.0, 2.0, 3.0, 12.0, 25.0])
    service = np.array([4.0, 4.0, 4.0, 1.0, 1.0])
    start, leave, outcome = LaneBank(schedule).serve(arrive, service)
    # 1: served 1-5; 2: served 5-9; 3: would start at 9 -> served 9-13 (service may run past the closure).
    np.testing.assert_array_equal(outcome, [SERVED, SERVED, SERVED, CLOSED, SERVED])
    np.testing.assert_allclose(start[[0, 1, 2, 4]], [1.0, 5.0, 9.0, 25.0])
    assert leave[3] == 12.0
    # Now one more party that cannot start before 10: dispersed at the closure.
    arrive = np.array([1.0, 2.0, 3.0, 4.0])
    start, leave, outcome = LaneBank(schedule).serve(arrive, np.full(4, 3.0))
    np.testing.assert_array_equal(outcome, [SERVED, SERVED, SERVED, CLOSED])
    assert leave[3] == 10.0 and np.isnan(start[3])


def test_patience_abandons_without_holding_a_lane() -> None:
    arrive = np.array([0.0, 0.1, 0.2])
    service = np.array([10.0, 1.0, 1.0])
    patience = np.array([np.inf, 2.0, np.inf])
    start, leave, outcome = LaneBank(scaled_schedule([0.0], [1], 1.0)).serve(arrive, service, patience)
    np.testing.assert_array_equal(outcome, [SERVED, ABANDONED, SERVED])
    assert leave[1] == pytest.approx(2.1)
    assert start[2] == 10.0  # the one who gave up did not use the lane


def test_scaled_schedule_keeps_capacity() -> None:
    """Pooling 12 lanes at scale 0.1 gives 1 lane whose capacity equals 1.2 real lanes."""
    schedule = scaled_schedule([0.0, 24.0], [12, 0], 0.1)
    assert schedule.lanes == (1, 0)
    assert schedule.lanes[0] / schedule.service_factor[0] == pytest.approx(12 * 0.1)


def test_open_ended_closure_serves_before_and_turns_away_after() -> None:
    """Closed for good from t=10: lanes that never reopen are dropped, and everyone later is turned away."""
    schedule = LaneSchedule(starts=(0.0, 10.0), lanes=(2, 0), service_factor=(1.0, 1.0))
    arrive = np.array([1.0, 2.0, 3.0, 4.0, 5.0, 9.5, 11.0])
    service = np.full(7, 4.0)
    start, leave, outcome = LaneBank(schedule).serve(arrive, service)
    # Lanes free at 5, 6, 9, 10, 13: the party of t=5 starts at 9, before the closure.
    np.testing.assert_array_equal(outcome, [SERVED, SERVED, SERVED, SERVED, SERVED, CLOSED, CLOSED])
    np.testing.assert_allclose(start[:5], [1.0, 2.0, 5.0, 6.0, 9.0])
    np.testing.assert_allclose(leave[5:], [10.0, 11.0])


def test_closed_for_the_whole_run_turns_everyone_away() -> None:
    bank = LaneBank(scaled_schedule([0.0], [0], 1.0))
    start, leave, outcome = bank.serve(np.array([1.0, 2.0]), np.array([1.0, 1.0]))
    np.testing.assert_array_equal(outcome, [CLOSED, CLOSED])
    np.testing.assert_array_equal(leave, [1.0, 2.0])
    assert np.isnan(start).all()
