"""Weekly rhythms as a warped clock.

A weekly pattern is seven factors, Monday to Sunday, normalised to a mean of 1 so
that a week holds as much as it would without them.  Their running integral over
the period, :func:`weekly_clock`, is a clock that runs fast on busy days and slow on
quiet ones.  Regular travellers' departures are a unit-rate Poisson stream read on
that clock (time rescaling), and a trip of ``d`` hours that is made to end on the
busy days, :func:`advance`, lasts ``d`` hours of the warped clock: it ends where the
clock has moved on by ``d`` from where the trip began.  Over a week the trips are
as long as without the pattern; within it, their ends crowd onto the busy days.

Day boundaries are midnights counted from the period's start (hour 0).
"""

from __future__ import annotations

import numpy as np

__all__ = ["weekly_clock", "advance"]


def weekly_clock(factors: list[float], first_weekday: int, days: int) -> tuple[np.ndarray, np.ndarray]:
    """Midnights (hours from the period's start) and the warped clock's hours at each.

    Parameters
    ----------
    factors
        Seven factors, Monday to Sunday; their mean is taken as 1.
    first_weekday
        Weekday of the first day (Monday 0, as :meth:`datetime.date.weekday`).
    days
        How many days the clock covers.

    Returns
    -------
    midnights, clock
        Arrays of ``days + 1`` hours: the clock's reading at each midnight (0 at the first).
    """
    week = np.asarray(factors, dtype=float)
    week = week / week.mean()
    per_day = 24.0 * week[(first_weekday + np.arange(days)) % 7]
    return np.arange(days + 1) * 24.0, np.concatenate([[0.0], np.cumsum(per_day)])


def advance(midnights: np.ndarray, clock: np.ndarray, start: np.ndarray, hours: np.ndarray) -> np.ndarray:
    """The times (hours) at which the warped clock has run ``hours`` past ``start``.

    Past the last midnight the clock runs at the plain rate, so a trip that outlasts
    the covered days still ends (after the period, where nobody looks).
    """
    reading = np.interp(start, midnights, clock) + hours
    inside = reading <= clock[-1]
    # A day with a factor of 0 is a flat stretch of the clock: its inverse passes over it.
    ends = np.interp(np.where(inside, reading, clock[-1]), clock, midnights)
    return np.where(inside, ends, midnights[-1] + (reading - clock[-1]))
