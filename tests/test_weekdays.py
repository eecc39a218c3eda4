"""The warped weekly clock (sim.model.weekdays) and trips that end on busy days.

The clock is checked exactly on hand-worked cases; the engine's use of it against
what it must produce in expectation: with trips long enough to forget the weekday
they began on, trip ends fall on each weekday in proportion to its factor.
"""

from __future__ import annotations

import datetime as dt

import numpy as np
import pyarrow.compute as pc
import pytest

import sim
from sim.model.weekdays import advance, weekly_clock
from model_scenarios import POLICY_START, country, crossing, lanes, policy_world

# Monday to Saturday at half the mean rate, Sunday at four times it (mean 1 after normalising).
SUNDAY_HEAVY = [1.0, 1.0, 1.0, 1.0, 1.0, 1.0, 8.0]


def test_a_flat_week_is_the_plain_clock() -> None:
    midnights, clock = weekly_clock([1.0] * 7, first_weekday=3, days=30)
    start = np.array([0.0, 5.5, 100.25, 700.0])
    np.testing.assert_allclose(advance(midnights, clock, start, np.full(4, 30.0)), start + 30.0, rtol=0, atol=1e-9)


def test_trips_run_on_the_warped_clock() -> None:
    midnights, clock = weekly_clock(SUNDAY_HEAVY, first_weekday=0, days=14)  # day 0 a Monday
    # Monday runs at 0.5: 12 warped hours take the whole day.
    assert advance(midnights, clock, np.array([0.0]), np.array([12.0]))[0] == pytest.approx(24.0, abs=1e-9)
    # From Saturday noon: 12 real hours are 6 warped; Sunday runs at 4, so 48 more are 12 real hours.
    saturday_noon = 5 * 24.0 + 12.0
    assert advance(midnights, clock, np.array([saturday_noon]), np.array([54.0]))[0] == pytest.approx(6 * 24.0 + 12.0, abs=1e-9)
    # A week of warped hours is a week of real hours, from any start.
    start = np.linspace(0.0, 7 * 24.0, 50)
    np.testing.assert_allclose(advance(midnights, clock, start, np.full(50, 168.0)), start + 168.0, atol=1e-9)


def test_past_the_covered_days_the_clock_runs_plainly() -> None:
    midnights, clock = weekly_clock(SUNDAY_HEAVY, first_weekday=0, days=7)
    assert advance(midnights, clock, np.array([0.0]), np.array([168.0 + 10.0]))[0] == pytest.approx(178.0, abs=1e-9)


def test_a_day_with_factor_zero_sees_no_trip_end() -> None:
    factors = [1.0, 1.0, 1.0, 1.0, 1.0, 1.0, 0.0]
    midnights, clock = weekly_clock(factors, first_weekday=0, days=70)
    rng = np.random.default_rng(1)
    ends = advance(midnights, clock, rng.uniform(0, 30 * 24, 10_000), rng.exponential(5 * 24, 10_000))
    inside = ends < midnights[-1]
    sundays = (ends[inside] // 24).astype(int) % 7 == 6
    assert not sundays.any()


def _trips_world(days: int, factors: list[float] | None) -> dict:
    """Regular travellers into KZ on trips of ~10 days, going home when they end."""
    kz = country("KZ")
    kz["trip_days"] = {"distribution": "lognormal", "mean": 10.0, "cv": 1.0}
    if factors is not None:
        kz["trip_end_weekday_factors"] = factors
    return policy_world(
        days=days,
        countries=[kz],
        crossings=[crossing("north", "KZ", hours=2.0, foot=lanes(50, 0.01))],
        departures={"pool_persons": 0, "baseline_per_day": 2000.0},
    )


def _returns(result) -> np.ndarray:
    daily = result.daily
    rows = daily.filter(pc.and_(pc.equal(daily["place"], "KZ"), pc.equal(daily["measure"], "returns")))
    return np.array(rows["value"].to_pylist())


def test_trip_ends_fall_on_each_weekday_by_its_factor() -> None:
    # 20 weeks of 2,000 persons a day on ~10-day trips; the first 4 weeks fill the country.
    # After them, each weekday's mean of those going home is within 4% of its factor's
    # share of the flat run's mean (Poisson standard error ~0.6% per weekday, and the
    # trips' spread smooths the pattern by a little), and the total is unchanged (1%).
    factors = [1.0, 0.8, 0.8, 0.8, 1.0, 1.1, 1.5]
    flat = _returns(sim.run(_trips_world(140, None), seed=11))[28:]
    warped = _returns(sim.run(_trips_world(140, factors), seed=11))[28:]
    weekdays = np.array([(POLICY_START + dt.timedelta(days=d)).weekday() for d in range(28, 140)])
    expected = flat.mean() * np.array(factors) / np.mean(factors)
    for weekday in range(7):
        assert warped[weekdays == weekday].mean() == pytest.approx(expected[weekday], rel=0.04)
    assert warped.sum() == pytest.approx(flat.sum(), rel=0.01)


def test_no_trip_end_pattern_changes_nothing_else() -> None:
    # Emigrants' stays and other countries keep their times: a pattern on a country no
    # regular traveller visits leaves every output as it was.
    world = _trips_world(30, None)
    other = country("GE")
    world["countries"].append(other)
    plain = sim.run(world, seed=12)
    other["trip_end_weekday_factors"] = SUNDAY_HEAVY
    patterned = sim.run(world, seed=12)
    assert plain.daily.equals(patterned.daily)
