"""Hours since the period start to day numbers: floor division by 24, exact and fast.

numpy's floor division of floats (``hours // 24``) is exact but slow, as it goes
through ``fmod``; ``floor(hours / 24)`` is fast but rounds up to the next day when
``hours`` lies a hair below midnight.  :func:`day_of` divides fast and corrects that
one case, so it equals ``(hours // 24).astype(np.int64)`` for every finite input.
"""

from __future__ import annotations

import numpy as np

__all__ = ["day_of"]


def day_of(hours: np.ndarray, last_day: int | None = None) -> np.ndarray:
    """Day number of each time (hours, finite), as int64, optionally capped at ``last_day``.

    The quotient ``hours / 24`` rounds to at most the next integer above the true
    floor ``f`` (``f`` itself is representable and ``f <= hours / 24``), and
    ``24 (f + 1) > hours`` tells that case apart exactly.
    """
    quotient = np.floor(np.divide(hours, 24.0))
    quotient -= quotient * 24.0 > hours
    day = quotient.astype(np.int64)
    if last_day is not None:
        np.minimum(day, last_day, out=day)
    return day
