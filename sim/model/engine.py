"""The engine: simpy drives the clock, numpy moves the people in batches.

Time advances in ticks (``tick_minutes``).  At each tick the engine

1. releases the parties whose departure falls in the tick and lets each choose a
   (crossing, mode) by the logit of :mod:`sim.model.routes`, using the waits that
   were *reported* ``information_lag_hours`` ago;
2. serves, per alternative, the parties that arrived in the tick, in arrival
   order, with the exact FIFO recurrence of :mod:`sim.model.queueing`;
3. settles the attempts that end in the tick: entry under the rules in force that
   day, or refusal; the refused and the turned-away try again or go home;
4. repeats 2–3 until nothing more happens within the tick (a turned-away party
   may walk to the car lanes of the same crossing at once).

At the end of a tick, every ``report_interval_hours``, the expected wait per
alternative is published from the queue as it stands; choices use the report that
is ``information_lag_hours`` old.  A second simpy process reports progress once a
simulated day.  Each attempt at a crossing is a
*leg*; the ledger of legs is the run's complete record, from which every output
is computed afterwards (:mod:`sim.run.outputs`).
"""

from __future__ import annotations

import math
from collections import defaultdict
from collections.abc import Callable
from dataclasses import dataclass

import numpy as np
import simpy

from sim.model.crossings import CrossingMode, build_crossing_modes
from sim.model.departures import hours_in_period
from sim.model.policies import accepted_documents_by_day, n_days, open_by_day
from sim.model.population import ATTEMPT_DRAWS, Parties, generate_parties
from sim.model.queueing import ABANDONED, SERVED
from sim.model.randomness import make_streams
from sim.model.routes import Alternatives, build_alternatives, choose
from sim.scenario.schema import Scenario

__all__ = ["Decision", "Ledger", "simulate"]

_CHOICE, _SERVICE, _ENTRY, _RETRY = (ATTEMPT_DRAWS.index(k) for k in ("choice", "service", "entry", "retry"))


class Decision:
    """How an attempt at a crossing ended (``UNDECIDED`` while it goes on)."""

    UNDECIDED = -1
    ENTERED = 0
    REFUSED = 1
    TURNED_AWAY = 2
    GAVE_UP = 3


class _LegTable:
    """Growable columns of legs; a leg is one party's attempt at one alternative."""

    COLUMNS = {
        "party": np.int32,
        "attempt": np.int8,
        "alt": np.int16,
        "arrive": np.float64,
        "start": np.float64,
        "leave": np.float64,
        "served": np.int8,
        "decision": np.int8,
        "retried": np.bool_,
    }

    def __init__(self, capacity: int) -> None:
        self.size = 0
        self.data = {name: np.empty(max(capacity, 16), dtype=dtype) for name, dtype in self.COLUMNS.items()}

    def append(self, party: np.ndarray, attempt: np.ndarray, alt: np.ndarray, arrive: np.ndarray) -> np.ndarray:
        """Add legs; returns their ids."""
        n = len(party)
        if self.size + n > len(self.data["party"]):
            grow = max(self.size + n, 2 * len(self.data["party"]))
            for name, column in self.data.items():
                bigger = np.empty(grow, dtype=column.dtype)
                bigger[: self.size] = column[: self.size]
                self.data[name] = bigger
        ids = np.arange(self.size, self.size + n)
        d = self.data
        d["party"][ids] = party
        d["attempt"][ids] = attempt
        d["alt"][ids] = alt
        d["arrive"][ids] = arrive
        d["start"][ids] = np.nan
        d["leave"][ids] = np.nan
        d["served"][ids] = -1
        d["decision"][ids] = Decision.UNDECIDED
        d["retried"][ids] = False
        self.size += n
        return ids

    def frozen(self) -> dict[str, np.ndarray]:
        """The filled part of every column."""
        return {name: column[: self.size].copy() for name, column in self.data.items()}


@dataclass(frozen=True)
class Ledger:
    """Everything a run produced, before any aggregation.

    Attributes
    ----------
    scenario, scale, horizon_hours
        What was run.
    parties
        The parties that departed (:class:`~sim.model.population.Parties`).
    legs
        Columns of legs (see ``_LegTable.COLUMNS``), in creation order.
    no_route
        Per party: True if it found no crossing it could use and went home.
    alternatives
        The (crossing, mode) alternatives.
    reports
        Publication times (hours) and the reported wait (hours) per alternative.
    """

    scenario: Scenario
    scale: float
    horizon_hours: float
    parties: Parties
    legs: dict[str, np.ndarray]
    no_route: np.ndarray
    alternatives: Alternatives
    report_times: np.ndarray
    report_waits: np.ndarray


class _Engine:
    """One run's mutable state; built fresh per run so runs never share anything."""

    def __init__(self, scenario: Scenario, seed: int, scale: float, progress: Callable[[int, int], None] | None):
        self.scenario = scenario
        self.scale = scale
        self.progress = progress
        self.tick_hours = scenario.tick_minutes / 60.0
        self.horizon = hours_in_period(scenario)
        self.ticks = int(round(self.horizon / self.tick_hours))
        self.days = n_days(scenario)
        self.parties = generate_parties(scenario, make_streams(seed), scale)
        self.alternatives = build_alternatives(scenario)
        self.accepted = accepted_documents_by_day(scenario)
        self.open = open_by_day(scenario, self.alternatives.pairs)
        self.servers: list[CrossingMode] = build_crossing_modes(scenario, self.alternatives.pairs, self.open, scale)
        self.refusal_share = np.array([c.refusal_share for c in scenario.countries])
        self.legs = _LegTable(int(len(self.parties) * 1.3))
        self.no_route = np.zeros(len(self.parties), dtype=bool)
        self.refused_by = np.zeros((len(self.parties), len(scenario.countries)), dtype=bool)
        self.arrivals: dict[int, list[np.ndarray]] = defaultdict(list)
        self.endings: dict[int, list[np.ndarray]] = defaultdict(list)
        # Per alternative: when queued units leave the queue, and how many units they are.
        self.waiting: list[list[tuple[np.ndarray, np.ndarray]]] = [[] for _ in self.servers]
        self.report_times: list[float] = []
        self.report_waits: list[np.ndarray] = []
        self.released = 0
        self.next_report = scenario.choice.report_interval_hours

    # -- the simpy processes -------------------------------------------------------

    def clock(self, env: simpy.Environment):
        """Tick by tick: departures, then queues and decisions until the tick is quiet."""
        for tick in range(1, self.ticks + 1):
            yield env.timeout(self.tick_hours)
            now = tick * self.tick_hours
            self._release(tick, now)
            while self.arrivals.get(tick) or self.endings.get(tick):
                if self.arrivals.get(tick):
                    self._serve(tick, np.concatenate(self.arrivals.pop(tick)))
                if self.endings.get(tick):
                    self._settle(tick, np.concatenate(self.endings.pop(tick)))
            # Reports go out at the end of a tick, so that they see all of it.
            if now + 1e-9 >= self.next_report:
                self._publish(now)
                self.next_report += self.scenario.choice.report_interval_hours

    def day_counter(self, env: simpy.Environment):
        """Tell the progress callback once per simulated day."""
        for day in range(1, self.days + 1):
            yield env.timeout(24.0)
            if self.progress is not None:
                self.progress(day, self.days)

    # -- phases ------------------------------------------------------------------

    def _release(self, tick: int, now: float) -> None:
        depart = self.parties.depart
        end = int(np.searchsorted(depart, now, side="right")) if tick < self.ticks else len(depart)
        if end <= self.released:
            return
        batch = np.arange(self.released, end)
        self.released = end
        origin = self.parties.origin[batch]
        times = depart[batch]
        alt = self._choose(batch, np.zeros(len(batch), dtype=np.int8), self.alternatives.origin_utility[origin], times, now)
        ok = alt >= 0
        self.no_route[batch[~ok]] = True
        batch, alt, times, origin = batch[ok], alt[ok], times[ok], origin[ok]
        arrive = times + self.alternatives.origin_hours[origin, self.alternatives.crossing[alt]]
        self._schedule(self.arrivals, self.legs.append(batch, np.zeros(len(batch), np.int8), alt, arrive), arrive, tick)

    def _choose(
        self, party: np.ndarray, attempt: np.ndarray, utility: np.ndarray, times: np.ndarray, now: float
    ) -> np.ndarray:
        """Alternative chosen by each party (-1 if none is open to it)."""
        alts = self.alternatives
        day = np.minimum((times // 24).astype(np.int64), self.days - 1)
        docs = self.parties.documents[party]
        allowed = (self.accepted[alts.country[None, :], day[:, None]] & docs[:, None]) != 0
        allowed &= self.open[:, day].T
        allowed &= alts.car[None, :] == self.parties.car[party][:, None]
        allowed &= ~self.refused_by[party][:, alts.country]
        wait = self._reported_wait(now)
        total = utility + self.scenario.choice.wait_hour_utility * wait[None, :]
        uniform = self.parties.attempt_uniforms[party, attempt, _CHOICE]
        return choose(total, allowed, uniform)

    def _reported_wait(self, now: float) -> np.ndarray:
        """The latest published waits at least ``information_lag_hours`` old."""
        cutoff = now - self.tick_hours - self.scenario.choice.information_lag_hours
        index = int(np.searchsorted(self.report_times, cutoff + 1e-9, side="right")) - 1
        if index < 0:
            return np.zeros(len(self.servers))
        return self.report_waits[index]

    def _serve(self, tick: int, legs: np.ndarray) -> None:
        d = self.legs.data
        alt = d["alt"][legs]
        order = np.lexsort((d["arrive"][legs], alt))
        legs, alt = legs[order], alt[order]
        bounds = np.flatnonzero(np.diff(alt)) + 1
        for group in np.split(legs, bounds):
            a = int(d["alt"][group[0]])
            server = self.servers[a]
            party = d["party"][group]
            size = self.parties.size[party]
            uniform = self.parties.attempt_uniforms[party, d["attempt"][group], _SERVICE]
            start, leave, served = server.bank.serve(d["arrive"][group], server.service_hours(uniform, size))
            d["start"][group], d["leave"][group], d["served"][group] = start, leave, served
            out_of_queue = np.where(served == SERVED, start, leave)
            units = size.astype(np.float64) if server.per_person else np.ones(len(group))
            self.waiting[a].append((out_of_queue, units))
            self._schedule(self.endings, group, leave, tick)

    def _settle(self, tick: int, legs: np.ndarray) -> None:
        d = self.legs.data
        party = d["party"][legs]
        attempt = d["attempt"][legs]
        leave = d["leave"][legs]
        country = self.alternatives.country[d["alt"][legs]]
        served = d["served"][legs] == SERVED
        day = np.minimum((leave // 24).astype(np.int64), self.days - 1)
        admissible = (self.accepted[country, day] & self.parties.documents[party]) != 0
        lucky = self.parties.attempt_uniforms[party, attempt, _ENTRY] >= self.refusal_share[country]
        entered = served & admissible & lucky
        unserved = np.where(d["served"][legs] == ABANDONED, Decision.GAVE_UP, Decision.TURNED_AWAY)
        decision = np.where(entered, Decision.ENTERED, np.where(served, Decision.REFUSED, unserved))
        d["decision"][legs] = decision
        self.refused_by[party[served & ~entered], country[served & ~entered]] = True
        retry = (
            ~entered
            & (attempt + 1 < self.scenario.people.max_attempts)
            & (self.parties.attempt_uniforms[party, attempt, _RETRY] < self.scenario.people.rechoose_share)
        )
        if not retry.any():
            return
        legs, party, leave, attempt = legs[retry], party[retry], leave[retry], attempt[retry] + 1
        here = self.alternatives.crossing[d["alt"][legs]]
        now = tick * self.tick_hours
        alt = self._choose(party, attempt, self.alternatives.between_utility[here], leave, now)
        ok = alt >= 0
        d["retried"][legs[ok]] = True
        party, alt, leave, here, attempt = party[ok], alt[ok], leave[ok], here[ok], attempt[ok]
        arrive = leave + self.alternatives.between_hours[here, self.alternatives.crossing[alt]]
        self._schedule(self.arrivals, self.legs.append(party, attempt, alt, arrive), arrive, tick)

    def _schedule(self, inbox: dict[int, list[np.ndarray]], legs: np.ndarray, times: np.ndarray, tick: int) -> None:
        """File legs under the tick in which ``times`` fall (never before the current tick)."""
        if len(legs) == 0:
            return
        due = np.maximum(np.ceil(times / self.tick_hours - 1e-9).astype(np.int64), tick)
        due = np.where(np.isfinite(times), due, self.ticks + 1)
        order = np.argsort(due, kind="stable")
        due, legs = due[order], legs[order]
        cuts = np.flatnonzero(np.diff(due)) + 1
        for group, when in zip(np.split(legs, cuts), due[np.r_[0, cuts]]):
            if when <= self.ticks:
                inbox[int(when)].append(group)

    def _publish(self, now: float) -> None:
        waits = np.zeros(len(self.servers))
        for a, server in enumerate(self.servers):
            if not self.waiting[a]:
                continue
            leave = np.concatenate([w[0] for w in self.waiting[a]])
            units = np.concatenate([w[1] for w in self.waiting[a]])
            still = leave > now
            self.waiting[a] = [(leave[still], units[still])] if still.any() else []
            lanes = server.bank.lanes_at(now)
            if lanes == 0:
                continue
            # What a traveller hears: units ahead × service per unit / lanes, in real (unscaled) terms.
            per_unit = server.law.mean_hours * server.bank.service_factor_at(now)
            waits[a] = units[still].sum() * per_unit / lanes
        self.report_times.append(now)
        self.report_waits.append(waits)

    def run(self) -> Ledger:
        env = simpy.Environment()
        env.process(self.clock(env))
        env.process(self.day_counter(env))
        env.run(until=self.horizon + self.tick_hours / 2)
        return Ledger(
            scenario=self.scenario,
            scale=self.scale,
            horizon_hours=self.horizon,
            parties=self.parties,
            legs=self.legs.frozen(),
            no_route=self.no_route,
            alternatives=self.alternatives,
            report_times=np.array(self.report_times),
            report_waits=np.array(self.report_waits).reshape(len(self.report_times), len(self.servers)),
        )


def simulate(
    scenario: Scenario,
    *,
    seed: int | None = None,
    scale: float | None = None,
    progress: Callable[[int, int], None] | None = None,
) -> Ledger:
    """Run one scenario and return its ledger.

    Parameters
    ----------
    scenario
        A validated scenario.
    seed, scale
        Override the scenario's own.
    progress
        Called as ``progress(days_done, days_total)`` once per simulated day.
    """
    return _Engine(
        scenario,
        scenario.seed if seed is None else seed,
        scenario.scale if scale is None else scale,
        progress,
    ).run()
