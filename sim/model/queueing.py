"""The queueing core: lanes serving parties first come, first served, exactly.

For a FIFO queue in front of ``c`` identical lanes, a party's service start depends
only on the parties that arrived before it: it starts at the later of its arrival
and the moment the earliest lane frees.  So a batch of arrivals, sorted by time,
can be served in one pass over a heap of lane-free times, with no event per party
(the recurrence of Kiefer and Wolfowitz).  That is the whole speed of the engine,
and it is exact: it is checked against Erlang C in the tests.

Lanes follow a piecewise-constant schedule (lanes open from a time, none while the
crossing is closed).  A party arriving while the mode is closed is turned away at
once; a party still waiting when a closure begins is turned away at that moment;
a party whose patience runs out before its turn leaves the queue then.  Parties
that leave unserved do not hold a lane.
"""

from __future__ import annotations

import heapq
import math
from bisect import bisect_right
from dataclasses import dataclass, field

import numpy as np

__all__ = ["SERVED", "CLOSED", "ABANDONED", "LaneSchedule", "LaneBank"]

SERVED = 0
CLOSED = 1
ABANDONED = 2


@dataclass(frozen=True)
class LaneSchedule:
    """Lanes in service over time: ``lanes[j]`` from ``starts[j]`` until ``starts[j+1]``.

    ``service_factor[j]`` multiplies service times begun in segment ``j`` (used to keep
    capacity right when a scaled-down run pools lanes, see :func:`scaled_schedule`).
    """

    starts: tuple[float, ...]
    lanes: tuple[int, ...]
    service_factor: tuple[float, ...]

    def segment(self, time: float) -> int:
        """Index of the segment holding ``time``."""
        return max(0, bisect_right(self.starts, time) - 1)

    def lanes_at(self, time: float) -> int:
        """Lanes open at ``time``."""
        return self.lanes[self.segment(time)]

    @property
    def constant(self) -> bool:
        """True when lanes are open and nothing ever changes: the fast path applies."""
        return len(self.lanes) == 1 and self.lanes[0] > 0


def scaled_schedule(
    starts: list[float], lanes: list[int], scale: float, factors: list[float] | None = None
) -> LaneSchedule:
    """A lane schedule for a run that simulates a fraction ``scale`` of the people.

    A scaled run must keep each crossing's throughput per simulated person.  With
    ``c`` lanes at scale ``s`` it pools them into ``max(1, round(c s))`` lanes whose
    service times are stretched so that capacity is exactly ``c s`` real lanes.
    Throughput and utilisation are preserved, and so are queues and waits where
    arrivals outrun capacity; below capacity fewer, slower lanes wait longer (an
    M/M/10 at 80% load waits ~20 times as long at scale 0.1, where it is one lane),
    which is the price of not simulating everyone (see the README, "Scale").  ``factors`` (default 1)
    multiply service times segment by segment, e.g. where a policy changes them.
    """
    factors = [1.0] * len(lanes) if factors is None else factors
    pooled = [0 if n == 0 else max(1, round(n * scale)) for n in lanes]
    stretched = [f if n == 0 else f * p / (n * scale) for n, p, f in zip(lanes, pooled, factors)]
    merged_starts: list[float] = []
    merged_lanes: list[int] = []
    merged_factors: list[float] = []
    for start, n, factor in zip(starts, pooled, stretched):
        if merged_lanes and merged_lanes[-1] == n and merged_factors[-1] == factor:
            continue
        merged_starts.append(start)
        merged_lanes.append(n)
        merged_factors.append(factor)
    return LaneSchedule(tuple(merged_starts), tuple(merged_lanes), tuple(merged_factors))


@dataclass
class LaneBank:
    """The lanes of one mode at one crossing, carrying their state from batch to batch.

    Parameters
    ----------
    schedule
        When how many lanes are open.
    """

    schedule: LaneSchedule
    _free: list = field(init=False, repr=False)
    _closes_after: tuple[float, ...] = field(init=False, repr=False)
    _opens_after: tuple[tuple[float, ...], ...] = field(init=False, repr=False)

    def __post_init__(self) -> None:
        schedule = self.schedule
        if schedule.constant:
            # Fast path: a heap of bare floats, one per lane.
            self._free = [schedule.starts[0]] * schedule.lanes[0]
        else:
            # General path: (free time, lane number), lane k open where lanes > k.
            self._free = [(0.0, k) for k in range(max(schedule.lanes))]
        heapq.heapify(self._free)
        # Per segment j: the start of the first closed segment after j, and per lane k the
        # start of the first segment after j where lane k is open (inf: none).
        segments = range(len(schedule.lanes))
        self._closes_after = tuple(
            next((schedule.starts[i] for i in range(j + 1, len(schedule.lanes)) if schedule.lanes[i] == 0), math.inf)
            for j in segments
        )
        self._opens_after = tuple(
            tuple(
                next((schedule.starts[i] for i in range(j + 1, len(schedule.lanes)) if schedule.lanes[i] > k), math.inf)
                for j in segments
            )
            for k in range(max(schedule.lanes))
        )

    def serve(
        self, arrive: np.ndarray, service: np.ndarray, patience: np.ndarray | None = None
    ) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
        """Serve a batch of arrivals, in the order given (sort by arrival time first).

        Parameters
        ----------
        arrive
            Arrival times, hours, non-decreasing.
        service
            Service time each party needs, hours (before any schedule factor).
        patience
            Longest wait each party accepts, hours; ``None`` for unlimited.

        Returns
        -------
        start, leave, outcome
            ``start``: service start (NaN if unserved); ``leave``: when the party leaves
            the crossing (end of service, or the moment it is turned away or gives
            up); ``outcome``: :data:`SERVED`, :data:`CLOSED` or :data:`ABANDONED`.
        """
        n = len(arrive)
        start, leave, outcome = [math.nan] * n, [0.0] * n, [SERVED] * n
        if n:
            patience_list = [math.inf] * n if patience is None else patience.tolist()
            self.serve_lists(arrive.tolist(), service.tolist(), patience_list, 0, n, start, leave, outcome)
        return np.array(start, dtype=np.float64), np.array(leave, dtype=np.float64), np.array(outcome, dtype=np.int8)

    def serve_lists(
        self,
        arrive: list[float],
        service: list[float],
        patience: list[float],
        lo: int,
        hi: int,
        start: list[float],
        leave: list[float],
        outcome: list[int],
    ) -> None:
        """:meth:`serve` for rows ``lo:hi`` of Python lists, writing the results in place.

        A caller serving many banks in one batch converts its columns to lists once and
        hands each bank its slice; ``start`` must come filled with NaN and ``outcome``
        with :data:`SERVED`, as :meth:`serve` leaves them for parties it does not serve.
        """
        if self.schedule.constant:
            self._serve_constant(arrive, service, patience, lo, hi, start, leave, outcome)
        else:
            self._serve_scheduled(arrive, service, patience, lo, hi, start, leave, outcome)

    def _serve_constant(self, arrive, service, patience, lo, hi, start, leave, outcome) -> None:
        free = self._free
        factor = self.schedule.service_factor[0]
        replace = heapq.heapreplace
        for i in range(lo, hi):
            a = arrive[i]
            f = free[0]
            s = f if f > a else a
            if s - a > patience[i]:
                leave[i] = a + patience[i]
                outcome[i] = ABANDONED
                continue
            end = s + service[i] * factor
            replace(free, end)
            start[i] = s
            leave[i] = end

    def _serve_scheduled(self, arrive, service, patience, lo, hi, start, leave, outcome) -> None:
        schedule = self.schedule
        starts, lanes, factors = schedule.starts, schedule.lanes, schedule.service_factor
        closes_after, opens_after = self._closes_after, self._opens_after
        free = self._free
        pop, push = heapq.heappop, heapq.heappush
        for i in range(lo, hi):
            a = arrive[i]
            segment = max(0, bisect_right(starts, a) - 1)
            if lanes[segment] == 0:
                leave[i] = a
                outcome[i] = CLOSED
                continue
            closes = closes_after[segment]
            gives_up = a + patience[i]
            while free:
                f, k = pop(free)
                s = f if f > a else a
                # The earliest moment at or after s when lane k is open.
                at = max(0, bisect_right(starts, s) - 1)
                opens = s if lanes[at] > k else opens_after[k][at]
                if opens == s:
                    break
                # A lane that never opens again is dropped: later parties arrive later still.
                if opens < math.inf:
                    push(free, (opens, k))
            else:
                s = f = math.inf
            if s >= closes or s > gives_up:
                if f < math.inf:
                    push(free, (f, k))
                if closes <= gives_up:
                    leave[i] = closes
                    outcome[i] = CLOSED
                else:
                    leave[i] = gives_up
                    outcome[i] = ABANDONED
                continue
            end = s + service[i] * factors[max(0, bisect_right(starts, s) - 1)]
            push(free, (end, k))
            start[i] = s
            leave[i] = end

    def lanes_at(self, time: float) -> int:
        """Lanes open at ``time`` (pooled lanes in a scaled run)."""
        return self.schedule.lanes_at(time)

    def service_factor_at(self, time: float) -> float:
        """Service-time factor at ``time``."""
        return self.schedule.service_factor[self.schedule.segment(time)]
