"""Crossings as the engine sees them: one lane bank and one service law per (crossing, mode).

A car is served as one unit whatever its party size; on foot, by bus or boat each
person is checked, so a party needs ``size`` units of service.  An air route is one
lane selling seats first come, first served: each person takes one seat's share of
the day, and the party lands ``flight_hours`` later.  Service times come from the
party's own uniform for that attempt by the inverse distribution function, so the
same party at the same crossing always needs the same time (common random numbers).
"""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np

from sim.model.policies import LaneDays
from sim.model.queueing import LaneBank, scaled_schedule
from sim.model.spread import SpreadTable
from sim.scenario.schema import Mode, Scenario

__all__ = ["CrossingMode", "ServiceLaws", "build_crossing_modes", "service_hours"]


@dataclass
class CrossingMode:
    """One alternative's server side: its lanes, its service law, and time after service."""

    crossing: int
    mode: Mode
    distribution: str
    mean_hours: float
    cv: float
    bank: LaneBank
    after_hours: float

    @property
    def per_person(self) -> bool:
        """True where each person, not each vehicle, is a unit of service."""
        return self.mode is not Mode.car

    def mean_unit_hours(self, time: float) -> float:
        """Mean service of one unit at ``time``, hours, after any capacity change or pooling."""
        return self.mean_hours * self.bank.service_factor_at(time)


@dataclass(frozen=True)
class ServiceLaws:
    """Every alternative's service law, compiled to draw a mixed batch in one go (row: alternative)."""

    laws: SpreadTable
    per_person: np.ndarray

    @classmethod
    def of(cls, servers: list[CrossingMode]) -> "ServiceLaws":
        """From the alternatives' servers."""
        return cls(
            SpreadTable.from_laws([s.distribution for s in servers], [s.mean_hours for s in servers], [s.cv for s in servers]),
            np.array([s.per_person for s in servers]),
        )


def service_hours(laws: ServiceLaws, alt: np.ndarray, uniform: np.ndarray, size: np.ndarray) -> np.ndarray:
    """Service each party needs at its alternative's standing rate, hours (vectorised over alternatives)."""
    hours = laws.laws.draw(alt, uniform)
    return np.where(laws.per_person[alt], hours * size, hours)


def build_crossing_modes(
    scenario: Scenario, pairs: list[tuple[int, Mode]], lanes_by_day: list[LaneDays], scale: float
) -> list[CrossingMode]:
    """Lane banks for every alternative from its lanes and service factor per day."""
    result = []
    for (c, mode), plan in zip(pairs, lanes_by_day):
        starts, lanes, factors = [], [], []
        for day, (n, factor) in enumerate(zip(plan.lanes.tolist(), plan.service_factor.tolist())):
            if not lanes or (lanes[-1], factors[-1]) != (n, factor):
                starts.append(day * 24.0)
                lanes.append(n)
                factors.append(factor)
        bank = LaneBank(scaled_schedule(starts, lanes, scale, factors))
        spec = scenario.crossings[c].modes[mode]
        if mode is Mode.air:
            # One seat per person; the day's seats set the rate (the factor is hours per seat).
            result.append(CrossingMode(c, mode, "fixed", 1.0, 0.0, bank, spec.flight_hours))
        else:
            service = spec.service
            result.append(
                CrossingMode(c, mode, service.distribution, service.mean_minutes / 60.0, service.cv, bank, 0.0)
            )
    return result
