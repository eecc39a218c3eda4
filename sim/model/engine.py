"""The engine: simpy drives the clock, numpy moves the people in batches.

Time advances in ticks (``tick_minutes``).  At each tick the engine

1. releases the parties whose departure falls in the tick and lets each choose a
   (crossing, mode) by the logit of :mod:`sim.model.routes`, using the waits that
   were *reported* ``information_lag_hours`` ago and the rules known that day;
2. then, until nothing more happens within the tick, handles what falls due in it:

   * **arrivals** at a crossing are served per alternative, in arrival order, by the
     exact FIFO recurrence of :mod:`sim.model.queueing` (patience included);
   * **endings** of service: exit screening on the home side, then entry under the
     rules in force that day (or an asylum claim at the border); the refused, the
     turned-away and those who gave up try again or stop;
   * **claims** ready for decision join their asylum track's queue; **decisions**
     grant protection or send the party on;
   * **stays** that end: the party moves on, goes home, or stays on (stay limits
     force the first two).

At the end of a tick, every ``report_interval_hours``, the expected wait per
alternative is published from the queue as it stands.  A second simpy process
reports progress once a simulated day.  Every attempt at a crossing is a leg, every
claim and every departure from a country of stay a row; with each party's final
status they are the run's complete record (:class:`Ledger`).
"""

from __future__ import annotations

import dataclasses
import datetime as dt
from bisect import bisect_right
from collections import defaultdict
from collections.abc import Callable
from dataclasses import dataclass

import numpy as np
import simpy

from sim.model.crossings import CrossingMode, ServiceLaws, build_crossing_modes, service_hours
from sim.model.days import day_of
from sim.model.departures import hours_in_period, shock_profile
from sim.model.ledger import (
    CLAIM_COLUMNS,
    LEG_COLUMNS,
    MOVE_COLUMNS,
    Decision,
    MoveKind,
    Status,
    Table,
)
from sim.model.lookahead import onward_option_value
from sim.model.policies import (
    asylum_policies,
    concerns,
    entry_tables,
    known_from_day,
    lane_days,
    n_days,
    open_tables,
    policy_days,
    screening_rules,
    stay_deadline,
    stay_limit_days,
    stay_regimes,
)
from sim.model.population import ATTEMPT_DRAWS, BASELINE, Parties, generate_parties
from sim.model.queueing import ABANDONED, CLOSED, SERVED, LaneBank, scaled_schedule
from sim.model.randomness import make_streams
from sim.model.routes import Alternatives, build_alternatives, choose_pairs
from sim.model.spread import SpreadTable
from sim.model.weekdays import advance, weekly_clock
from sim.scenario.schema import Scenario

__all__ = ["Ledger", "simulate", "simulated_scenario", "truncated_scenario", "until_problem"]

_DRAW = {name: i for i, name in enumerate(ATTEMPT_DRAWS)}
_DOCUMENT_MASKS = 16  # document masks are 4 bits (DocumentFlag)
HOME = -1


@dataclass(frozen=True)
class Ledger:
    """Everything a run produced, before any aggregation.

    Attributes
    ----------
    scenario, scale, horizon_hours
        What was run.
    parties
        The parties drawn for the period (:class:`~sim.model.population.Parties`), sorted
        by departure.
    departed_parties
        How many of them set off before the run stopped: the first ``departed_parties``.
        All of them in a whole run; a run stopped early (``until``) leaves the rest at
        home, not yet departed, and counts them nowhere.
    status
        Each party's :class:`~sim.model.ledger.Status` at the end.
    country
        Each party's country of stay at the end (-1: home, or between countries).
    legs, claims, moves
        Columns of :data:`~sim.model.ledger.LEG_COLUMNS`, ``CLAIM_COLUMNS``, ``MOVE_COLUMNS``.
    alternatives
        The (crossing, mode) alternatives.
    report_times, report_waits
        Publication times (hours) and the reported wait (hours) per alternative.
    warmup_days
        Days at the start of ``scenario.period`` that were simulated as warm-up and are
        not reported (``scenario`` is the period as simulated, warm-up included).
    stopped_early
        The run stopped before its period's end (``simulate(until=…)``): what fell due
        at the very end of ``horizon_hours`` (midnight) belongs to the next day, which
        the run does not report, where a whole run's period end counts it on its last day.
    """

    scenario: Scenario
    scale: float
    horizon_hours: float
    parties: Parties
    status: np.ndarray
    country: np.ndarray
    legs: dict[str, np.ndarray]
    claims: dict[str, np.ndarray]
    moves: dict[str, np.ndarray]
    alternatives: Alternatives
    report_times: np.ndarray
    report_waits: np.ndarray
    departed_parties: int
    warmup_days: int = 0
    stopped_early: bool = False


class _Inbox:
    """Things falling due, filed by the tick they fall in: ids plus any extra columns.

    What falls due within the current day is filed by tick at once; what falls due
    later waits in a bucket for its day, with its times, and is filed by tick when
    that day begins, so a batch spread over weeks costs a piece per day, not a piece
    per tick.  Rows come out in the order they were filed, each batch sorted by tick.
    """

    def __init__(self, tick_hours: float, last_tick: int) -> None:
        self.tick_hours = tick_hours
        self.last_tick = last_tick
        self.ticks_per_day = int(round(24.0 / tick_hours))
        # Times past the run (and NaN) fall in the tick after the last one, which nobody takes.
        self._beyond = (last_tick + 1) * tick_hours
        # Keys run from -1 - (last day) to last_tick + 1; shifted to start at 0 they fit 16 bits
        # in most runs, where numpy's stable sort is a radix sort.
        self._key_offset = 1 + last_tick // self.ticks_per_day
        self._key_type = np.uint16 if last_tick + 1 + self._key_offset < 1 << 16 else np.int64
        # tick -> [(columns sorted by tick, first row, end row)]: one shared sort per batch;
        # day -> [(times, columns, first row, end row)] for later days.
        self.due: dict[int, list[tuple[list[np.ndarray], int, int]]] = defaultdict(list)
        self.later: dict[int, list[tuple[np.ndarray, list[np.ndarray], int, int]]] = defaultdict(list)
        self.open_day = 0

    def file(self, times: np.ndarray, now_tick: int, *columns: np.ndarray) -> None:
        """File rows under the tick in which ``times`` fall (never before ``now_tick``).

        The columns may be kept as they are, not copied: hand over arrays nobody changes later.
        """
        if len(times) == 0:
            return
        tick = np.ceil(np.fmin(times, self._beyond) / self.tick_hours - 1e-9).astype(np.int64)
        np.maximum(tick, now_tick, out=tick)
        first, last = int(tick.min()), int(tick.max())
        # The day a tick belongs to: tick k ends at k * tick_hours, inside day (k - 1) // ticks_per_day;
        # ticks up to (open_day + 1) * ticks_per_day fall in the days open already.
        if last <= (self.open_day + 1) * self.ticks_per_day:
            if first == last:  # all in one tick: nothing to sort
                if first <= self.last_tick:
                    self.due[first].append((list(columns), 0, len(times)))
                return
            key = tick
        else:
            day = (tick - 1) // self.ticks_per_day
            key = np.where(day <= self.open_day, tick, -1 - day)  # negative keys: later days
        order = np.argsort((key + self._key_offset).astype(self._key_type), kind="stable")
        key = key[order]
        sorted_columns = [c[order] for c in columns]
        sorted_times = None
        cuts = ((key[1:] != key[:-1]).nonzero()[0] + 1).tolist()
        for when, lo, hi in zip(key[[0, *cuts]].tolist(), [0, *cuts], [*cuts, len(key)]):
            if when >= 0:
                if when <= self.last_tick:
                    self.due[when].append((sorted_columns, lo, hi))
            elif (-1 - when) * self.ticks_per_day < self.last_tick:
                if sorted_times is None:
                    sorted_times = times[order]
                self.later[-1 - when].append((sorted_times, sorted_columns, lo, hi))

    def has(self, tick: int) -> bool:
        day = (tick - 1) // self.ticks_per_day
        while self.open_day < day:
            self.open_day += 1
            batches = self.later.pop(self.open_day, None)
            if batches:
                times = np.concatenate([times[lo:hi] for times, _, lo, hi in batches])
                self.file(times, tick, *self._joined([(columns, lo, hi) for _, columns, lo, hi in batches]))
        return bool(self.due.get(tick))

    def take(self, tick: int) -> tuple[np.ndarray, ...]:
        """The rows due in ``tick``."""
        return self._joined(self.due.pop(tick))

    @staticmethod
    def _joined(batches: list[tuple[list[np.ndarray], int, int]]) -> tuple[np.ndarray, ...]:
        if len(batches) == 1:
            columns, lo, hi = batches[0]
            return tuple(c[lo:hi] for c in columns)
        width = len(batches[0][0])
        return tuple(np.concatenate([columns[k][lo:hi] for columns, lo, hi in batches]) for k in range(width))


class _Engine:
    """One run's mutable state; built fresh per run so runs never share anything."""

    def __init__(
        self,
        scenario: Scenario,
        seed: int,
        scale: float,
        progress: Callable[[int, int], None] | None,
        stop_hours: float | None = None,
    ):
        self.scenario = scenario
        self.scale = scale
        self.progress = progress
        self.tick_hours = scenario.tick_minutes / 60.0
        self.horizon = hours_in_period(scenario)
        # The clock may stop before the period ends (a run stopped early); the rules' tables
        # still cover the whole period, as travellers plan for the days they expect to arrive.
        self.stop_hours = self.horizon if stop_hours is None else stop_hours
        self.ticks = int(round(self.horizon / self.tick_hours))
        self.days = n_days(scenario)
        self.parties = generate_parties(scenario, make_streams(seed), scale)
        self.alternatives = build_alternatives(scenario)
        self.accepted, self.accepted_known = entry_tables(scenario)
        open_in_force, self.open_known = open_tables(scenario, self.alternatives.pairs)
        plans = lane_days(scenario, self.alternatives.pairs, open_in_force)
        self.servers: list[CrossingMode] = build_crossing_modes(scenario, self.alternatives.pairs, plans, scale)
        self.refusal_share = np.array([c.refusal_share for c in scenario.countries])
        self.after_hours = np.array([server.after_hours for server in self.servers])
        self._onward_share = np.array([c.onward_share for c in scenario.countries])
        self._return_share = np.array([c.return_share for c in scenario.countries])
        self._transit_share = np.array([c.transit_share for c in scenario.countries])
        # Regular travellers whose trip ends after a shock may stay abroad: (shock, share by country at its peak).
        self._abroad = [
            (shock, np.array([shock.abroad_stay_share.get(c.iso, 0.0) for c in scenario.countries]))
            for shock in scenario.departures.shocks
            if shock.abroad_stay_share
        ]
        limits = stay_limit_days(scenario)
        self.stay_regimes = [[stay_regimes(limits[c, :, g]) for g in range(limits.shape[2])] for c in range(limits.shape[0])]
        # Where a limit never changes over the period, it is a plain number of hours (inf: none).
        self._steady_limit_hours = np.where((limits == limits[:, :1, :]).all(axis=1), limits[:, 0, :] * 24.0, np.nan)
        self._changing_limits = {(int(c), int(g)) for c, g in zip(*np.nonzero(np.isnan(self._steady_limit_hours)))}
        self.screenings = screening_rules(scenario)
        # Per screening rule, which crossings it screens at (a lookup by crossing index).
        self._screened_crossings = [np.isin(np.arange(len(scenario.crossings)), rule.crossings) for rule in self.screenings]
        self._deterring = any(rule.deterred > 0 for rule in self.screenings)
        # Legs stopped by exit screening, decided when their service ends (leg id -> Decision):
        # a party stopped before a flight is settled then, not when the flight would have
        # landed, so a day's count of those stopped is complete at the end of that day.
        self._stopped_at_exit: dict[int, int] = {}
        self.asylum = asylum_policies(scenario)
        self._asylum_days = [policy_days(scenario, policy) for policy in self.asylum]
        # Per track, with a trailing entry for "no track" (index -1).
        self._claim_shares = np.array([p.claim_share for p in self.asylum] + [0.0])
        self._at_border = np.array([p.at_border for p in self.asylum] + [False])
        self._country_index = {c.iso: i for i, c in enumerate(scenario.countries)}
        # Tracks taking claims at the border: (policy, days in force, first day known, country).
        self._at_border_tracks = [
            (p, policy_days(scenario, p), known_from_day(scenario, p), self._country_index[p.country])
            for p in self.asylum
            if p.at_border
        ]
        self._at_border_country = np.zeros(len(scenario.countries), dtype=bool)
        self._at_border_country[[country for *_, country in self._at_border_tracks]] = True
        # The rules as known, flat, for one gather per batch of (party, alternative) pairs:
        # documents by (decision day, group, country, day), open by (decision day, alternative, day).
        _, n_countries, _, self._n_groups = self.accepted_known.shape
        self._known_flat = np.ascontiguousarray(self.accepted_known.transpose(0, 3, 1, 2)).reshape(-1)
        self._known_stride = n_countries * self.days
        self._known_column = self.alternatives.country.astype(np.int64) * self.days
        self._open_known_flat = np.ascontiguousarray(self.open_known).reshape(-1)
        self._open_stride = len(self.alternatives) * self.days
        self._open_column = np.arange(len(self.alternatives), dtype=np.int64) * self.days
        self._usable = self._usable_table()
        self._option_value = self._option_value_table()
        self._car_parties_anywhere = bool(self.alternatives.car_parties.any())
        self._alternative_numbers = np.arange(len(self.alternatives))
        self.asylum_banks = [LaneBank(scaled_schedule([0.0], [1], scale)) for _ in self.asylum]
        n, n_countries = len(self.parties), len(scenario.countries)
        self.status = np.full(n, Status.TRAVELLING, dtype=np.int8)
        # Regular travellers (round trips) as opposed to emigrants; one who stays abroad after a shock becomes one.
        self.regular = self.parties.component == BASELINE
        # For those who stayed abroad: at which attempt's stay, and by what share (-1: never).
        self._abroad_attempt = np.full(n, -1, dtype=np.int8)
        self._abroad_share = np.zeros(n) if self._abroad else np.zeros(0)
        self.country = np.full(n, HOME, dtype=np.int16)
        self.location = np.full(n, -1, dtype=np.int32)  # crossing last passed; -1: still at the origin
        self.next_attempt = np.zeros(n, dtype=np.int8)
        self.entered_at = np.full(n, np.nan)
        self.excluded = np.zeros((n, n_countries), dtype=bool)  # refused there, or been there
        # A car stays behind the border a party crossed without it (on foot, by bus or boat, by air).
        self.has_car = self.parties.car.copy()
        # Regular travellers pass through one country at most: the trip ends in the next.
        self.passed_through = np.zeros(n, dtype=bool)
        self.legs = Table(LEG_COLUMNS, int(n * 1.3))
        self.claims = Table(CLAIM_COLUMNS)
        self.moves = Table(MOVE_COLUMNS)
        inbox = lambda: _Inbox(self.tick_hours, self.ticks)  # noqa: E731 - one constructor, five inboxes
        self.arrivals, self.endings, self.ready, self.decisions, self.stays = (inbox() for _ in range(5))
        # Queued units: their alternative, when they leave the queue, how many units they are.
        self.waiting: list[tuple[np.ndarray, np.ndarray, np.ndarray]] = []
        self._service_laws = ServiceLaws.of(self.servers)
        self._banks = [server.bank for server in self.servers]
        trips = [c.trip_days or scenario.departures.baseline_trip_days for c in scenario.countries]
        self._stay_laws = SpreadTable.of([c.dwell_days for c in scenario.countries] + trips)
        # Trips that end on the busy days: per country with a pattern, its warped clock.
        clock_days = int(round(hours_in_period(scenario) / 24.0)) + 1
        self._trip_clocks = {
            number: weekly_clock(c.trip_end_weekday_factors, scenario.period.start.weekday(), clock_days)
            for number, c in enumerate(scenario.countries)
            if c.trip_end_weekday_factors is not None
        }
        self.report_times: list[float] = []
        self.report_waits: list[np.ndarray] = []
        self.released = 0
        self.next_report = scenario.choice.report_interval_hours

    # -- the simpy processes -------------------------------------------------------

    def clock(self, env: simpy.Environment):
        """Tick by tick: departures, then everything that falls due, until the tick is quiet."""
        for tick in range(1, self.ticks + 1):
            yield env.timeout(self.tick_hours)
            now = tick * self.tick_hours
            self._release(tick, now)
            while True:
                if self.arrivals.has(tick):
                    self._serve(tick, *self.arrivals.take(tick))
                elif self.endings.has(tick):
                    self._settle(tick, *self.endings.take(tick))
                elif self.ready.has(tick):
                    self._lodge(tick, *self.ready.take(tick))
                elif self.decisions.has(tick):
                    self._decide(tick, *self.decisions.take(tick))
                elif self.stays.has(tick):
                    self._stay_over(tick, *self.stays.take(tick))
                else:
                    break
            # Reports go out at the end of a tick, so that they see all of it.
            if now + 1e-9 >= self.next_report:
                self._publish(now)
                self.next_report += self.scenario.choice.report_interval_hours

    def day_counter(self, env: simpy.Environment):
        """Tell the progress callback once per simulated day."""
        days = int(round(self.stop_hours / 24.0))
        for day in range(1, days + 1):
            yield env.timeout(24.0)
            if self.progress is not None:
                self.progress(day, days)

    # -- leaving home --------------------------------------------------------------

    def _release(self, tick: int, now: float) -> None:
        depart = self.parties.depart
        end = int(np.searchsorted(depart, now, side="right")) if tick < self.ticks else len(depart)
        if end <= self.released:
            return
        party = np.arange(self.released, end, dtype=np.int64)
        self.released = end
        origin = self.parties.origin[party]
        times = depart[party]
        alts = self.alternatives
        found = self._go(tick, party, times, alts.origin_utility, alts.origin_hours, origin, now)
        # No crossing it may use (none it can reach by its means, none that would let it in,
        # or none it would try for a known exit screening): it stays home.
        self.status[party[~found]] = Status.NO_ROUTE_HOME

    def _go(
        self,
        tick: int,
        party: np.ndarray,
        times: np.ndarray,
        utility: np.ndarray,
        hours: np.ndarray,
        source: np.ndarray,
        now: float,
        leaving: np.ndarray | None = None,
        avoid: np.ndarray | None = None,
    ) -> np.ndarray:
        """Choose and set off; returns which parties found a way (the others are untouched).

        ``utility`` and ``hours`` are tables of utility per alternative and travel hours
        per crossing, one row per place a party may set off from; ``source`` is each
        party's row.  ``leaving`` is the country each party sets off from (``HOME`` for
        the home country); by default the country it is in.  ``avoid`` is an alternative
        each party will not choose (-1: none): the one it has just failed at.
        """
        attempt = self.next_attempt[party]
        has_attempt = attempt < self.scenario.people.max_attempts
        if leaving is None:
            leaving = self.country[party]
        alt = np.full(len(party), -1, dtype=np.int32)
        if has_attempt.all():
            alt = self._choose(party, attempt, utility, hours, source, times, now, leaving, avoid)
        elif has_attempt.any():
            alt[has_attempt] = self._choose(
                party[has_attempt], attempt[has_attempt], utility, hours, source[has_attempt], times[has_attempt],
                now, leaving[has_attempt], None if avoid is None else avoid[has_attempt],
            )
        ok = alt >= 0
        party, alt, times, source, attempt = party[ok], alt[ok], times[ok], source[ok], attempt[ok]
        arrive = times + hours[source, self.alternatives.crossing[alt]]
        legs = self.legs.append(
            party=party, attempt=attempt, alt=alt, arrive=arrive, start=np.nan, leave=np.nan,
            served=-1, decision=Decision.UNDECIDED, retried=False,
        )
        self.next_attempt[party] = attempt + 1
        self.status[party] = Status.TRAVELLING
        self.arrivals.file(arrive, tick, legs)
        return ok

    def _choose(
        self,
        party: np.ndarray,
        attempt: np.ndarray,
        utility: np.ndarray,
        hours: np.ndarray,
        source: np.ndarray,
        times: np.ndarray,
        now: float,
        leaving: np.ndarray,
        avoid: np.ndarray | None = None,
    ) -> np.ndarray:
        """Alternative chosen by each party (-1 if none is open to it) out of the country it leaves.

        A party may use only the alternatives of its kind (country left, car or not, able
        to fly or not) that its group and documents could ever be let through (see
        :meth:`_usable_table`).  The batch is handled as a list of (party, alternative)
        pairs, one per alternative a party may use, each pair checked against the rules
        the party knows of and dropped when ruled out; the logit's noise is drawn only for
        the pairs left.  That is the same choice as a party looking at its own alternatives
        alone, as the noise belongs to the alternative and ties go to the lowest one.
        """
        parties, alts, days = self.parties, self.alternatives, self.days
        car = self.has_car[party]
        kind = (leaving.astype(np.int64) + 1) * 4 + car * 2 + parties.can_fly[party]
        kind = (kind * _DOCUMENT_MASKS + parties.documents[party]) * self._n_groups + parties.group[party]
        row, alt = np.nonzero(self._usable[kind])
        # What a traveller expects: the rules it knows of, on the day it expects to get there.
        wait = self._reported_wait(now)[alt]
        decision_day = day_of(times, days - 1)
        row_source = source[row].astype(np.int64)
        reach = times[row] + hours.reshape(-1)[row_source * hours.shape[1] + alts.crossing[alt]]
        arrival_day = day_of(reach + wait, days - 1)
        # Flat lookups: a part per party, a part per alternative, and the day.
        group = parties.group[party].astype(np.int64)
        known = self._known_flat[((decision_day * self._n_groups + group) * self._known_stride)[row] + self._known_column[alt] + arrival_day]
        allowed = (known & parties.documents[party][row]) != 0
        country = alts.country[alt]
        # Pairs into a country taking asylum claims at its border (few): open to those who plan to claim.
        at = self._at_border_country[country].nonzero()[0]
        if len(at):
            allowed[at] |= self._asylum_planned(party, attempt, decision_day, row[at], arrival_day[at], country[at])
        # A crossing closed when the party reaches it turns it away at once, and one that
        # closes while it waits turns it away then: it must be known open on both days.
        open_at = (decision_day * self._open_stride)[row] + self._open_column[alt]
        allowed &= self._open_known_flat[open_at + arrival_day]
        allowed &= self._open_known_flat[open_at + day_of(reach, days - 1)]
        if attempt.any():  # at a first attempt nobody has been anywhere, or been refused
            allowed &= ~self.excluded.reshape(-1)[(party.astype(np.int64) * self.excluded.shape[1])[row] + country]
        if avoid is not None:
            allowed &= alt != avoid[row]
        if self._deterring:
            allowed &= ~self._deterred(party, attempt, row, alt, decision_day, arrival_day, allowed)
        keep = allowed.nonzero()[0]
        row, alt = row[keep], alt[keep]
        utility = utility.reshape(-1)[row_source[keep] * utility.shape[1] + alt]
        total = utility + self.scenario.choice.wait_hour_utility * wait[keep]
        if self._car_parties_anywhere:
            total += self.scenario.choice.leave_car_utility * (alts.car_parties[alt] & car[row])
        if self._option_value is not None:
            # The option table's rows are _usable's without the country left: the party's kind
            # within it, with the car it will have on the far side (none, once across without it).
            across = kind[row] % len(self._option_value)
            across -= (car[row] & ~alts.car[alt]) * (2 * _DOCUMENT_MASKS * self._n_groups)
            total += self._option_value[across, alt]
        return choose_pairs(row, alt, total, parties.draws(party, attempt, "choice"), self._alternative_numbers)

    def _usable_table(self) -> np.ndarray:
        """Alternatives each kind of party may use: out of its country, by its modes, open to its papers.

        Row ``((leaving + 1) * 4 + car * 2 + can_fly) * 16 + documents) * groups + group``
        (``leaving`` -1 for the home country).  Left out: alternatives known closed on every
        day, whatever the day of decision, and those into a country whose rules, as known
        on any day for any day, never admit the group's documents, unless the country
        takes asylum claims at the border.  A party would find those ruled out every time.
        """
        alts = self.alternatives
        n_countries, n_groups = len(self.scenario.countries), self._n_groups
        ever_open = self.open_known.any(axis=(0, 2))
        # Every document the rules ever admit, per country and group (OR over both days),
        # and so whether a party's papers may get it in: shape (documents, groups, alternatives).
        ever_admitted = np.bitwise_or.reduce(self.accepted_known, axis=(0, 2))[alts.country].T
        documents = np.arange(_DOCUMENT_MASKS, dtype=np.uint8)[:, None, None]
        papers = ((ever_admitted[None] & documents) != 0) | self._at_border_country[alts.country]
        usable = np.zeros(((n_countries + 1) * 4, _DOCUMENT_MASKS, n_groups, len(alts)), dtype=bool)
        for key in range(len(usable)):
            leaving, car, fly = key // 4 - 1, bool(key & 2), bool(key & 1)
            by_mode = np.where(alts.air, fly, (alts.car == car) | (car & alts.car_parties))
            usable[key] = papers & by_mode & (alts.leaving == leaving) & ever_open
        return usable.reshape(-1, len(alts))

    def _option_value_table(self) -> np.ndarray | None:
        """Utility of the ways on out of each alternative's country, per kind of party (see :mod:`sim.model.lookahead`).

        Row ``((car * 2 + can_fly) * 16 + documents) * groups + group``; None when people do
        not look ahead, so that a myopic choice adds nothing.
        """
        weight = self.scenario.choice.onward_option_weight
        if weight == 0:
            return None
        alts, countries = self.alternatives, self.scenario.countries
        n_countries, kinds = len(countries), 4 * _DOCUMENT_MASKS * self._n_groups
        # _usable's rows by (country left, kind): the ways on a kind may use out of each country.
        usable_from = self._usable.reshape(n_countries + 1, kinds, len(alts))[1:].transpose(1, 0, 2)
        return onward_option_value(
            alts.onward_utility,
            alts.crossing,
            alts.country,
            usable_from,
            np.array([c.appeal for c in countries]),
            self._onward_share,
            weight,
        )

    def _asylum_planned(
        self,
        party: np.ndarray,
        attempt: np.ndarray,
        decision_day: np.ndarray,
        row: np.ndarray,
        arrival_day: np.ndarray,
        country: np.ndarray,
    ) -> np.ndarray:
        """Pairs open to a party because it means to claim asylum at the border there.

        An emigrant who means to claim (its claim draw for this attempt falls under the
        track's ``claim_share``) plans for a country whose ``at_border`` track it knows of
        and will find in force when it arrives.  ``party``, ``attempt``, ``decision_day``
        are per party; ``row`` (the pair's party), ``arrival_day`` and ``country`` (its
        alternative's destination) per pair.
        """
        planned = np.zeros(len(row), dtype=bool)
        parties = self.parties
        pool = ~self.regular[party]
        uniform = parties.draws(party, attempt, "claim")
        group, documents = parties.group[party], parties.documents[party]
        for policy, span, known_from, policy_country in self._at_border_tracks:
            intends = pool & (uniform < policy.claim_share) & concerns(policy.who, group, documents)
            intends &= decision_day >= known_from
            planned |= intends[row] & (country == policy_country) & (arrival_day >= span.start) & (arrival_day < span.stop)
        return planned

    def _reported_wait(self, now: float) -> np.ndarray:
        """The latest published waits at least ``information_lag_hours`` old."""
        cutoff = now - self.tick_hours - self.scenario.choice.information_lag_hours
        index = bisect_right(self.report_times, cutoff + 1e-9) - 1
        if index < 0:
            return np.zeros(len(self.servers))
        return self.report_waits[index]

    # -- at the crossing ------------------------------------------------------------

    def _serve(self, tick: int, legs: np.ndarray) -> None:
        """Serve the tick's arrivals: per alternative, in arrival order, in one pass each."""
        d = self.legs.data
        alt = d["alt"][legs]
        order = np.lexsort((d["arrive"][legs], alt))
        legs, alt = legs[order], alt[order].astype(np.int64)
        party = d["party"][legs]
        size = self.parties.size[party]
        uniform = self.parties.draws(party, d["attempt"][legs], "service")
        service = service_hours(self._service_laws, alt, uniform, size)
        arrive = d["arrive"][legs]
        # One conversion to lists for the whole batch; each bank serves its slice in place.
        n = len(legs)
        start_list, leave_list, served_list = [np.nan] * n, [0.0] * n, [SERVED] * n
        arrive_list, service_list = arrive.tolist(), service.tolist()
        patience_list = self.parties.patience[party].tolist()
        cuts = ((alt[1:] != alt[:-1]).nonzero()[0] + 1).tolist()
        for lo, hi in zip([0, *cuts], [*cuts, n]):
            self._banks[alt[lo]].serve_lists(
                arrive_list, service_list, patience_list, lo, hi, start_list, leave_list, served_list
            )
        start, leave = np.array(start_list, dtype=np.float64), np.array(leave_list, dtype=np.float64)
        served = np.array(served_list, dtype=np.int8)
        done = served == SERVED
        stopped = self._screen_at_exit(legs, party, alt, leave, done) if self.screenings else np.zeros(n, dtype=bool)
        leave = np.where(done & ~stopped, leave + self.after_hours[alt], leave)
        d["start"][legs], d["leave"][legs], d["served"][legs] = start, leave, served
        self.status[party] = Status.QUEUED
        units = np.where(self._service_laws.per_person[alt], size, 1).astype(np.float64)
        self.waiting.append((alt, np.where(done, start, leave), units))
        self.endings.file(leave, tick, legs)

    def _settle(self, tick: int, legs: np.ndarray) -> None:
        """Attempts that end in the tick: screening, entry or refusal, then what each party does next."""
        d = self.legs.data
        parties = self.parties
        party = d["party"][legs]
        attempt = d["attempt"][legs]
        leave = d["leave"][legs]
        alt = d["alt"][legs]
        country = self.alternatives.country[alt]
        served = d["served"][legs]
        day = day_of(leave, self.days - 1)
        group, documents = parties.group[party], parties.documents[party]
        draws = parties.draws(party, attempt)
        decision = np.where(served == ABANDONED, Decision.GAVE_UP, Decision.TURNED_AWAY).astype(np.int8)
        was_served = served == SERVED
        if self._stopped_at_exit:
            # Stopped by exit screening when service ended (see _screen_at_exit).
            pending = self._stopped_at_exit
            decided = np.array([pending.pop(leg, Decision.UNDECIDED) for leg in legs.tolist()], dtype=np.int8)
            stopped = was_served & (decided != Decision.UNDECIDED)
            decision[stopped] = decided[stopped]
            self.status[party[decision == Decision.TURNED_BACK]] = Status.TURNED_BACK
            self.status[party[decision == Decision.MOBILISED]] = Status.MOBILISED
        else:
            stopped = np.zeros(len(legs), dtype=bool)
        checked = was_served & ~stopped
        admissible = (self.accepted[country, day, group] & documents) != 0
        lucky = draws[:, _DRAW["entry"]] >= self.refusal_share[country]
        track = self._asylum_track(country, day, group, documents)
        # Emigrants (never regular travellers) claim on entry, or at the border where a
        # track takes claims there from those the entry rules would refuse.
        claims = ~self.regular[party] & (draws[:, _DRAW["claim"]] < self._claim_share(track))
        at_border = checked & ~(admissible & lucky) & claims & self._at_border[track]
        entered = checked & ((admissible & lucky) | at_border)
        decision[checked & ~entered] = Decision.REFUSED
        decision[entered] = Decision.ENTERED
        d["decision"][legs] = decision
        self.excluded[party[checked & ~entered], country[checked & ~entered]] = True
        if entered.any():
            self._enter(tick, party[entered], country[entered], leave[entered], alt[entered],
                        attempt[entered], track[entered], claims[entered])
        failed = ~entered & ~stopped
        if failed.any():
            self._retry_or_stop(tick, legs[failed], party[failed], attempt[failed], leave[failed],
                                alt[failed], decision[failed])

    def _screen_at_exit(self, legs, party, alt, served_at, done) -> np.ndarray:
        """Which served legs exit screening stops (turned back, or mobilised on the spot).

        Screening is on the home side, when service there ends and before any flight,
        so those stopped leave the crossing then (their ending is filed at ``served_at``).
        """
        exit_day = day_of(served_at, self.days - 1)
        group, documents = self.parties.group[party], self.parties.documents[party]
        share, mobilise, _ = self._screening(self.alternatives.crossing[alt], exit_day, group, documents)
        draws = self.parties.draws(party, self.legs.data["attempt"][legs])
        stopped = done & (self.alternatives.leaving[alt] == HOME) & (draws[:, _DRAW["screen"]] < share)
        decided = np.where(mobilise, Decision.MOBILISED, Decision.TURNED_BACK)
        self._stopped_at_exit.update(zip(legs[stopped].tolist(), decided[stopped].tolist()))
        return stopped

    def _deterred(self, party, attempt, row, alt, decision_day, arrival_day, allowed) -> np.ndarray:
        """Which (party, alternative) pairs a party leaves out, knowing exit screening there would stop it.

        A party knows of a screening from its ``known_from`` day and plans with the rules
        it knows, later ones winning, for the day it expects to reach the booth.  Of those
        the rule would stop, ``deterred`` keep away: the party's own screening uniform for
        the attempt decides, the very one the booth would use, so with ``deterred`` 1 those
        who keep away are exactly those who would have been stopped.
        """
        pairs = (allowed & (self.alternatives.leaving[alt] == HOME)).nonzero()[0]
        deterred = np.zeros(len(row), dtype=bool)
        if not len(pairs):
            return deterred
        who, crossing, day = party[row[pairs]], self.alternatives.crossing[alt[pairs]], arrival_day[pairs]
        group, documents = self.parties.group[who], self.parties.documents[who]
        share, _, deterrence = self._screening(crossing, day, group, documents, decision_day[row[pairs]])
        draw = self.parties.draws(who, attempt[row[pairs]], "screen")
        deterred[pairs] = draw < share * deterrence
        return deterred

    def _screening(
        self, crossing, day, group, documents, decided_on: np.ndarray | None = None
    ) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
        """Share stopped, whether they are mobilised, and the share of those who keep away, per party.

        Later rules win.  With ``decided_on``, only the rules known on that day count:
        the screening a traveller plans with, rather than the one the booth applies.
        """
        share = np.zeros(len(day))
        mobilise = np.zeros(len(day), dtype=bool)
        deterred = np.zeros(len(day))
        for rule, at_crossing in zip(self.screenings, self._screened_crossings):
            match = at_crossing[crossing] & (day >= rule.days.start) & (day < rule.days.stop)
            if decided_on is not None:
                match &= decided_on >= rule.known_from
            match &= concerns(rule.who, group, documents)
            share[match], mobilise[match], deterred[match] = rule.share, rule.mobilise, rule.deterred
        return share, mobilise, deterred

    def _asylum_track(self, country, day, group, documents) -> np.ndarray:
        """Index of the asylum policy that takes a party's claim (-1: none); later policies win."""
        track = np.full(len(day), -1, dtype=np.int64)
        for k, (policy, span) in enumerate(zip(self.asylum, self._asylum_days)):
            match = (country == self._country_index[policy.country]) & (day >= span.start) & (day < span.stop)
            match &= concerns(policy.who, group, documents)
            track[match] = k
        return track

    def _claim_share(self, track: np.ndarray) -> np.ndarray:
        return self._claim_shares[track]  # track -1 picks the trailing 0

    def _retry_or_stop(self, tick, legs, party, attempt, leave, alt, decision) -> None:
        """After a failed attempt: try another way from where the party stands, or stop.

        Another way is any other alternative: another crossing, or another mode at the
        same one (leaving one's car for the foot lanes), never the one just failed at.
        """
        draws = self.parties.draws(party, attempt)
        retry = draws[:, _DRAW["retry"]] < self.scenario.people.rechoose_share
        here = self.alternatives.crossing[alt]
        went = np.zeros(len(party), dtype=bool)
        if retry.any():
            # A party turned away, refused or giving up is still on the near side of that
            # crossing: out of home, or out of the country it was moving on from.  One
            # refused on landing is flown back there first, a flight's time later.
            ready = np.where(decision == Decision.REFUSED, leave + self.after_hours[alt], leave)
            went[retry] = self._go(
                tick, party[retry], ready[retry], self.alternatives.between_utility, self.alternatives.between_hours,
                here[retry], tick * self.tick_hours, self.alternatives.leaving[alt[retry]], alt[retry],
            )
            self.legs.data["retried"][legs[went]] = True
            self.location[party[went]] = here[went]
        stop = ~went
        # Whoever stops goes home: a failed onward move ends the journey too (see README).
        home_status = np.select(
            [decision == Decision.REFUSED, decision == Decision.GAVE_UP],
            [Status.REFUSED_HOME, Status.GAVE_UP_HOME],
            default=Status.TURNED_AWAY_HOME,
        )
        self.status[party[stop]] = home_status[stop]
        self.country[party[stop]] = HOME

    # -- in a country -----------------------------------------------------------------

    def _enter(self, tick, party, country, time, alt, attempt, track, claims) -> None:
        """Parties enter a country: claimants join their asylum track, the others begin a stay."""
        self.status[party] = Status.IN_COUNTRY
        self.country[party] = country
        self.entered_at[party] = time
        self.location[party] = self.alternatives.crossing[alt]
        self.excluded[party, country] = True
        self.has_car[party[~self.alternatives.car[alt]]] = False
        if claims.any():
            policy = track[claims]
            lodged = time[claims]
            processing = np.array([self.asylum[k].processing_days * 24.0 for k in policy])
            ids = self.claims.append(
                party=party[claims], country=country[claims], policy=policy, lodged=lodged,
                decided=np.nan, granted=-1,
            )
            self.status[party[claims]] = Status.ASYLUM_PENDING
            self.ready.file(lodged + processing, tick, ids)
        stay = ~claims
        if stay.any():
            self._begin_stay(tick, party[stay], country[stay], time[stay], attempt[stay])

    def _begin_stay(self, tick, party, country, time, attempt) -> None:
        """Draw how long each party stays, capped by the stay limit, and file its end."""
        parties = self.parties
        uniform = parties.draws(party, attempt, "dwell")
        # Each party's stay law: its country's dwell (rows 0..n-1), or for regular travellers
        # making a trip (not passing through) the trip there (rows n..2n-1).
        tripping = self.regular[party] & ~self._passing_through(party, country, attempt)
        law = np.where(tripping, len(self.scenario.countries) + country, country)
        lasting = self._stay_laws.draw(law, uniform) * 24.0
        ends = time + lasting
        for number, (midnights, clock) in self._trip_clocks.items():
            warped = tripping & (country == number)
            if warped.any():
                ends[warped] = advance(midnights, clock, time[warped], lasting[warped])
        deadline = self._deadline(party, country, time)
        forced = deadline <= ends
        ends = np.minimum(ends, deadline)
        self.stays.file(ends, tick, party, attempt, forced, ends, np.zeros(len(party), dtype=bool))

    def _passing_through(self, party: np.ndarray, country: np.ndarray, attempt: np.ndarray) -> np.ndarray:
        """Which regular travellers entering ``country`` at ``attempt`` are passing through it.

        Decided by the same uniform that later picks what an emigrant does next, so it is
        the same decision at the start and at the end of the stay.
        """
        share = self._transit_shares(party, country)
        if not share.any():
            return np.zeros(len(party), dtype=bool)
        u = self.parties.draws(party, attempt, "next")
        return self.regular[party] & (u < share)

    def _transit_shares(self, party: np.ndarray, country: np.ndarray) -> np.ndarray:
        """Each party's chance of passing through ``country``: its share, or 0 for one that passed through another."""
        share = self._transit_share[country]
        return np.where(self.passed_through[party], 0.0, share) if share.any() else share

    def _staying_abroad(
        self,
        party: np.ndarray,
        attempt: np.ndarray,
        country: np.ndarray,
        when: np.ndarray,
        u: np.ndarray,
        baseline: np.ndarray,
        stayed_on: np.ndarray | None,
    ) -> tuple[np.ndarray, np.ndarray]:
        """Regular travellers whose trip ends after a shock and who stay abroad: they become emigrants.

        The share staying abroad is the shock's ``abroad_stay_share`` for the country times
        the shock's strength when the trip ends (1 at its peak).

        The "next" uniform of a regular traveller at or above its country's transit share
        (not passing through) is rescaled to [0, 1) to decide staying abroad, and rescaled
        again for the emigrant's choice that follows, so that no new draw is needed and a
        scenario without the rule keeps every other draw.  One who stayed abroad and then
        stayed on, now made to leave that country by a stay limit, gets the same rescaled
        uniform back.  Returns the uniforms and who is still a regular traveller.
        """
        # The share follows the shock's strength (its rise and decay), like the departures it
        # sets off: a trip ending at the peak stays abroad at the full share, one ending a
        # half-life later at half of it.  With several shocks, the strongest at that time.
        share = np.zeros(len(party))
        for shock, by_country in self._abroad:
            share = np.maximum(share, by_country[country] * shock_profile(self.scenario, shock, when))
        if stayed_on is not None:
            # Made to leave the stay in which they chose to stay abroad: the share they chose by.
            again = stayed_on & (self._abroad_attempt[party] == attempt)
            share = np.where(again, self._abroad_share[party], share)
        else:
            again = np.zeros(len(party), dtype=bool)
        transit = self._transit_shares(party, country)
        rest = 1.0 - transit
        v = np.divide(u - transit, rest, out=np.ones_like(u), where=rest > 0)
        stays = baseline & (u >= transit) & (v < share)
        if not (stays.any() or again.any()):
            return u, baseline
        self.regular[party[stays]] = False
        self._abroad_attempt[party[stays]] = attempt[stays]
        self._abroad_share[party[stays]] = share[stays]
        fresh = np.divide(v, share, out=np.zeros_like(v), where=share > 0)
        u = np.where(stays | again, np.clip(fresh, 0.0, np.nextafter(1.0, 0.0)), u)
        return u, baseline & ~stays

    def _deadline(self, party: np.ndarray, country: np.ndarray, time: np.ndarray) -> np.ndarray:
        """When each party must leave the country it entered at ``time`` (``inf``: never)."""
        group = self.parties.group[party].astype(np.int64)
        # Most countries keep one limit all period: entry + limit, for all of them at once.
        deadline = time + self._steady_limit_hours[country, group]
        changing = set(zip(country.tolist(), group.tolist())) & self._changing_limits if self._changing_limits else ()
        for c, g in changing:
            members = (country == c) & (group == g)
            deadline[members] = stay_deadline(self.stay_regimes[c][g], time[members])
        return deadline

    def _stay_over(
        self,
        tick: int,
        party: np.ndarray,
        attempt: np.ndarray,
        forced: np.ndarray,
        when: np.ndarray,
        stayed_on: np.ndarray | None = None,
    ) -> None:
        """A stay ends at ``when``: move on, go home, or (unless forced) stay on.

        ``stayed_on`` marks parties that chose to stay on at the end of their stay and
        are now made to leave by a stay limit.
        """
        parties = self.parties
        country = self.country[party].astype(np.int64)
        onward_share = self._onward_share[country]
        return_share = self._return_share[country]
        u = parties.draws(party, attempt, "next").astype(np.float64)
        baseline = self.regular[party]
        if self._abroad:
            u, baseline = self._staying_abroad(party, attempt, country, when, u, baseline, stayed_on)
        leaving = onward_share + return_share
        if stayed_on is not None and stayed_on.any():
            # Their uniform already chose staying on (u >= leaving); rescaled to [0, 1) it
            # is a fresh uniform for the split below, as for anyone else forced to leave.
            rest = 1.0 - leaving
            rescaled = np.divide(u - leaving, rest, out=np.zeros_like(u), where=rest > 0)
            u = np.where(stayed_on, np.clip(rescaled, 0.0, np.nextafter(1.0, 0.0)), u)
        # Forced to leave: the same split between moving on and going home, renormalised.
        onward_if_forced = np.divide(onward_share, leaving, out=np.zeros_like(leaving), where=leaving > 0)
        # Regular travellers passing through (decided on entry by this same uniform: _passing_through).
        transit = baseline & (u < self._transit_shares(party, country))
        self.passed_through[party[transit]] = True
        onward = (np.where(forced, u < onward_if_forced, u < onward_share) & ~baseline) | transit
        home = ~onward & (forced | baseline | (u < leaving))
        stays = ~onward & ~home
        if stays.any():
            # Staying on: still bound by a stay limit that lies ahead.
            p = party[stays]
            deadline = self._deadline(p, country[stays], self.entered_at[p])
            later = np.isfinite(deadline) & (deadline > when[stays])
            forced_later = np.ones(int(later.sum()), dtype=bool)
            self.stays.file(deadline[later], tick, p[later], attempt[stays][later], forced_later, deadline[later], forced_later)
        if onward.any():
            p, c, t = party[onward], country[onward], when[onward]
            here = self.location[p]
            alts = self.alternatives
            went = self._go(tick, p, t, alts.onward_utility, alts.onward_hours, here, tick * self.tick_hours)
            self.moves.append(party=p[went], country=c[went], time=t[went], kind=MoveKind.ONWARD)
            self.country[p[went]] = HOME  # between countries now
            # Nowhere to go on to: go home instead.
            home[onward.nonzero()[0][~went]] = True
        if home.any():
            self.moves.append(party=party[home], country=country[home], time=when[home], kind=MoveKind.HOME)
            self.status[party[home]] = Status.RETURNED_HOME
            self.country[party[home]] = HOME

    # -- asylum ---------------------------------------------------------------------

    def _lodge(self, tick: int, claims: np.ndarray) -> None:
        """Claims ready for decision join their track's queue."""
        c = self.claims.data
        policy = c["policy"][claims]
        for k in np.unique(policy):
            ids = claims[policy == k]
            ready = c["lodged"][ids] + self.asylum[k].processing_days * 24.0
            order = np.argsort(ready, kind="stable")
            ids, ready = ids[order], ready[order]
            size = self.parties.size[c["party"][ids]].astype(np.float64)
            service = size * 24.0 / self.asylum[k].decisions_per_day
            _, decided, _ = self.asylum_banks[k].serve(ready, service)
            c["decided"][ids] = decided
            self.decisions.file(decided, tick, ids, decided)

    def _decide(self, tick: int, claims: np.ndarray, decided: np.ndarray) -> None:
        c = self.claims.data
        party = c["party"][claims]
        policy = c["policy"][claims]
        grant_share = np.array([p.grant_share for p in self.asylum])[policy]
        attempt = np.maximum(self.next_attempt[party].astype(np.int64) - 1, 0)
        granted = self.parties.draws(party, attempt, "grant") < grant_share
        c["granted"][claims] = granted
        self.status[party[granted]] = Status.ASYLUM_GRANTED
        refused = ~granted
        if refused.any():
            # Refused protection: leave, as at the end of a stay that must end.
            self.status[party[refused]] = Status.IN_COUNTRY
            self._stay_over(tick, party[refused], attempt[refused], np.ones(int(refused.sum()), dtype=bool), decided[refused])

    # -- reports and the run ---------------------------------------------------------

    def _publish(self, now: float) -> None:
        """Publish each alternative's expected wait: units still queued × service per unit / lanes."""
        waits = np.zeros(len(self.servers))
        if self.waiting:
            alt, out_of_queue, units = (np.concatenate(parts) for parts in zip(*self.waiting))
            still = out_of_queue > now
            self.waiting = [(alt[still], out_of_queue[still], units[still])]
            queued = np.bincount(alt[still], weights=units[still], minlength=len(self.servers))
            for a in np.flatnonzero(queued):
                server = self.servers[a]
                lanes = server.bank.lanes_at(now)
                if lanes:
                    # What a traveller hears, in real (unscaled) terms.
                    waits[a] = queued[a] * server.mean_unit_hours(now) / lanes
        self.report_times.append(now)
        self.report_waits.append(waits)

    def _status_at_stop(self) -> np.ndarray:
        """Each party's state when the clock stops.

        A served leg keeps its party ``QUEUED`` until it is settled; on an air route that
        is at landing, so one that boarded before the stop and lands after it is in the
        air: travelling.
        """
        status = self.status.copy()
        legs = {name: column[: self.legs.size] for name, column in self.legs.data.items()}
        pending = np.flatnonzero(
            (legs["decision"] == Decision.UNDECIDED) & (legs["served"] == SERVED) & self.alternatives.air[legs["alt"]]
        )
        if len(pending):
            alt = legs["alt"][pending]
            boarded = legs["leave"][pending] - self.after_hours[alt]
            # Those stopped by exit screening never boarded (their leave is the end of service).
            screened = np.isin(pending, np.fromiter(self._stopped_at_exit, dtype=np.int64, count=len(self._stopped_at_exit)))
            airborne = pending[(boarded <= self.stop_hours) & ~screened]
            status[legs["party"][airborne]] = Status.TRAVELLING
        return status

    def run(self) -> Ledger:
        env = simpy.Environment()
        env.process(self.clock(env))
        env.process(self.day_counter(env))
        env.run(until=self.stop_hours + self.tick_hours / 2)
        return Ledger(
            scenario=self.scenario,
            scale=self.scale,
            horizon_hours=self.stop_hours,
            parties=self.parties,
            status=self._status_at_stop(),
            country=self.country.copy(),
            legs=self.legs.frozen(),
            claims=self.claims.frozen(),
            moves=self.moves.frozen(),
            alternatives=self.alternatives,
            report_times=np.array(self.report_times),
            report_waits=np.array(self.report_waits).reshape(len(self.report_times), len(self.servers)),
            departed_parties=self.released,
        )


def simulated_scenario(scenario: Scenario) -> Scenario:
    """The scenario as simulated: its period starts ``period.warmup_days`` earlier, with no warm-up left.

    The warm-up is simulated like any other day; only the outputs leave it out
    (:attr:`Ledger.warmup_days`).
    """
    warmup = scenario.period.warmup_days
    if not warmup:
        return scenario
    period = scenario.period.model_copy(
        update={"start": scenario.period.start - dt.timedelta(days=warmup), "warmup_days": 0}
    )
    return scenario.model_copy(update={"period": period})


def until_problem(scenario: Scenario, until: dt.date) -> str | None:
    """Why a run of ``scenario`` cannot stop at the end of ``until``, or ``None`` if it can."""
    period = scenario.period
    if period.start <= until <= period.end:
        return None
    return f"until: expected a date within the period {period.start}..{period.end}, found {until}"


def truncated_scenario(scenario: Scenario, until: dt.date) -> Scenario:
    """The scenario with its period ending on ``until`` (within the period), not validated again.

    It is what a run stopped early reports on (see :func:`simulate`); the engine
    itself runs the whole scenario's rules and stops its clock.
    """
    if (problem := until_problem(scenario, until)) is not None:
        raise ValueError(problem)
    return scenario.model_copy(update={"period": scenario.period.model_copy(update={"end": until})})


def simulate(
    scenario: Scenario,
    *,
    seed: int | None = None,
    scale: float | None = None,
    progress: Callable[[int, int], None] | None = None,
    until: dt.date | None = None,
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
    until
        Stop at the end of this day (within the period): the ledger is that of the
        whole run up to it, at a fraction of the cost.  A calibration whose targets
        all read early days needs no more.  Nothing the engine draws depends on days
        still to come (departures, service times and choices are drawn tick by tick
        from streams that a stop does not move); what it looks ahead at is the rules,
        as travellers plan with those known for the day they expect to arrive (a
        crossing known to open after the stop, say), so the rules' tables are built
        for the whole period and only the clock stops.  tests/test_truncated_runs.py
        holds that every day up to ``until`` reads as in the whole run.
    """
    warmup = scenario.period.warmup_days
    simulated = simulated_scenario(scenario)
    stop_hours = None
    if until is not None:
        stopped = simulated_scenario(truncated_scenario(scenario, until))
        stop_hours = hours_in_period(stopped)
    ledger = _Engine(
        simulated,
        scenario.seed if seed is None else seed,
        scenario.scale if scale is None else scale,
        progress,
        stop_hours,
    ).run()
    if until is not None:
        # Reported on as a scenario whose period ends on ``until``; one that ends on the
        # period's own last day is the whole run, and counts what falls due at its end.
        ledger = dataclasses.replace(ledger, scenario=stopped, stopped_early=until < scenario.period.end)
    return dataclasses.replace(ledger, warmup_days=warmup)
