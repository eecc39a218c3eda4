"""Crossings as the engine sees them: one lane bank and one service law per (crossing, mode).

A car is served as one unit whatever its party size; on foot or by bus each person
is checked, so a party needs ``size`` service draws' worth of time at the booth.
Service times come from the party's own uniform for that attempt by the inverse
distribution function, so the same party at the same crossing always needs the
same time (common random numbers).
"""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np
from scipy import special

from sim.model.policies import n_days
from sim.model.queueing import LaneBank, scaled_schedule
from sim.scenario.schema import Mode, Scenario, ServiceTime

__all__ = ["ServiceLaw", "CrossingMode", "build_crossing_modes"]


@dataclass(frozen=True)
class ServiceLaw:
    """Service time of one unit: a distribution by mean (hours) and coefficient of variation."""

    distribution: str
    mean_hours: float
    cv: float

    @classmethod
    def from_spec(cls, spec: ServiceTime) -> "ServiceLaw":
        """From the scenario's ``service`` block."""
        return cls(spec.distribution, spec.mean_minutes / 60.0, spec.cv)

    def hours(self, uniform: np.ndarray) -> np.ndarray:
        """Service times (hours) for the given uniforms in (0, 1), by inverse CDF."""
        u = np.clip(uniform, 1e-12, 1 - 1e-12)
        mean, cv = self.mean_hours, self.cv
        if self.distribution == "fixed" or (cv == 0 and self.distribution != "exponential"):
            return np.full(u.shape, mean)
        if self.distribution == "exponential":
            return -mean * np.log1p(-u)
        if self.distribution == "lognormal":
            sigma2 = np.log1p(cv * cv)
            return np.exp(np.log(mean) - sigma2 / 2 + np.sqrt(sigma2) * special.ndtri(u))
        shape = 1.0 / (cv * cv)  # gamma
        return special.gammaincinv(shape, u) * mean / shape


@dataclass
class CrossingMode:
    """One alternative's server side: its lanes and its service law."""

    crossing: int
    mode: Mode
    law: ServiceLaw
    bank: LaneBank
    lanes_full_scale: int

    @property
    def per_person(self) -> bool:
        """True where each person, not each vehicle, is a unit of service."""
        return self.mode is not Mode.car

    def service_hours(self, uniform: np.ndarray, size: np.ndarray) -> np.ndarray:
        """Service each party needs, hours."""
        hours = self.law.hours(uniform)
        return hours * size if self.per_person else hours


def build_crossing_modes(
    scenario: Scenario, pairs: list[tuple[int, Mode]], open_table: np.ndarray, scale: float
) -> list[CrossingMode]:
    """Lane banks for every alternative, closed on the days its open flag is off."""
    result = []
    days = n_days(scenario)
    for a, (c, mode) in enumerate(pairs):
        spec = scenario.crossings[c].modes[mode]
        starts, lanes = [], []
        for day in range(days):
            n = spec.lanes if open_table[a, day] else 0
            if not lanes or lanes[-1] != n:
                starts.append(day * 24.0)
                lanes.append(n)
        if starts[0] != 0.0:
            starts.insert(0, 0.0)
            lanes.insert(0, spec.lanes)
        bank = LaneBank(scaled_schedule(starts, lanes, scale))
        result.append(CrossingMode(c, mode, ServiceLaw.from_spec(spec.service), bank, spec.lanes))
    return result
