"""The departure hazard: a standing rate plus dated shocks, and its running integral.

A pool member leaves at rate ``h(t)`` per day.  Each shock rises linearly from its
start to ``peak_per_day`` over ``rise_hours`` and then decays exponentially with
``half_life_days``.  The cumulative hazard ``H(t)`` is integrated on a fine grid;
a party with threshold ``E ~ Exp(1)`` departs at ``H⁻¹(E)``.
"""

from __future__ import annotations

import datetime as dt

import numpy as np

from sim.model.policies import concerns, hazard_multipliers
from sim.scenario.schema import Scenario, Shock

__all__ = ["GRID_MINUTES", "hours_in_period", "shock_start_hours", "shock_profile", "hazard_per_hour", "cumulative_hazard"]

#: Integration step of the hazard; fine enough that a 1-hour rise is resolved.
GRID_MINUTES = 5


def hours_in_period(scenario: Scenario) -> float:
    """Length of the simulated period, hours."""
    return ((scenario.period.end - scenario.period.start).days + 1) * 24.0


def shock_start_hours(scenario: Scenario, date: dt.date, hour: float) -> float:
    """Hours from the period start to ``date`` at ``hour``."""
    return (date - scenario.period.start).days * 24.0 + hour


def shock_profile(scenario: Scenario, shock: Shock, hours: np.ndarray) -> np.ndarray:
    """A shock's strength at the given times, from 0 to 1 at its peak: the linear rise, then the decay."""
    since = np.asarray(hours, dtype=float) - shock_start_hours(scenario, shock.date, shock.hour)
    rise = shock.rise_hours
    rising = np.clip(since / rise, 0.0, 1.0) if rise > 0 else (since >= 0).astype(float)
    decay = np.exp(-np.log(2.0) * np.maximum(since - rise, 0.0) / (24.0 * shock.half_life_days))
    return np.where(since >= 0, rising * decay, 0.0)


def hazard_per_hour(scenario: Scenario, hours: np.ndarray) -> np.ndarray:
    """Departure hazard per pool member per hour at the given times."""
    departures = scenario.departures
    rate = np.full(np.shape(hours), departures.pool_hazard_per_day, dtype=float)
    for shock in departures.shocks:
        rate += shock.peak_per_day * shock_profile(scenario, shock, hours)
    return rate / 24.0


def cumulative_hazard(
    scenario: Scenario, group: int | None = None, documents: int = 0
) -> tuple[np.ndarray, np.ndarray]:
    """Grid times (hours) and the cumulative hazard on them (trapezoid rule), from 0.

    With ``group`` (an index into :data:`sim.model.policies.GROUPS`) and ``documents``
    (a document mask), announced rules that make such parties rush ahead multiply
    their hazard until the rules take effect.
    """
    horizon = hours_in_period(scenario)
    steps = int(round(horizon * 60 / GRID_MINUTES))
    grid = np.linspace(0.0, horizon, steps + 1)
    rate = hazard_per_hour(scenario, grid)
    if group is not None:
        for start, end, who, factor in hazard_multipliers(scenario):
            if concerns(who, np.array([group]), np.array([documents], dtype=np.uint8))[0]:
                rate = np.where((grid >= start) & (grid < end), rate * factor, rate)
    cumulative = np.concatenate([[0.0], np.cumsum((rate[1:] + rate[:-1]) * 0.5 * np.diff(grid))])
    # Strictly increasing for interpolation: a zero-hazard stretch gets a tiny slope.
    cumulative = cumulative + np.arange(len(cumulative)) * 1e-15
    return grid, cumulative
