"""day_of is floor division by 24, exactly, including a hair either side of midnight."""

from __future__ import annotations

import numpy as np
from hypothesis import given, settings
from hypothesis import strategies as st

from sim.model.days import day_of


def test_day_of_equals_floor_division_near_every_midnight() -> None:
    midnights = np.arange(-50, 5000) * 24.0
    hours = np.concatenate([midnights, np.nextafter(midnights, -np.inf), np.nextafter(midnights, np.inf)])
    hours = np.concatenate([hours, np.random.default_rng(1).uniform(-1e3, 1e6, 200_000), [0.0, -0.0]])
    assert np.array_equal(day_of(hours), (hours // 24).astype(np.int64))


@settings(max_examples=300, deadline=None)
@given(st.lists(st.floats(min_value=-1e9, max_value=1e9, allow_nan=False), min_size=1, max_size=50))
def test_day_of_equals_floor_division(values: list[float]) -> None:
    hours = np.array(values)
    assert np.array_equal(day_of(hours), (hours // 24).astype(np.int64))
    assert np.array_equal(day_of(hours, 3), np.minimum((hours // 24).astype(np.int64), 3))
