"""The run's record: growable columnar tables, and the codes for states and decisions.

Each attempt at a crossing is a *leg*; each asylum claim a *claim*; each departure
from a country of stay (onward or home) a *move*.  Together with the parties'
final status they are the complete record of a run, from which every output is
computed afterwards (:mod:`sim.run.outputs`).
"""

from __future__ import annotations

import numpy as np

__all__ = ["Status", "STATES", "Decision", "MoveKind", "Table", "LEG_COLUMNS", "CLAIM_COLUMNS", "MOVE_COLUMNS"]


class Status:
    """Where a party is (its state at the end of the run); :data:`STATES` names them in order."""

    TRAVELLING = 0
    QUEUED = 1
    IN_COUNTRY = 2
    ASYLUM_PENDING = 3
    ASYLUM_GRANTED = 4
    RETURNED_HOME = 5
    REFUSED_HOME = 6
    TURNED_AWAY_HOME = 7
    GAVE_UP_HOME = 8
    TURNED_BACK = 9
    MOBILISED = 10
    NO_ROUTE_HOME = 11


#: Names of the states, indexed by :class:`Status`; they partition the departed.
STATES: tuple[str, ...] = (
    "travelling",
    "queued",
    "in_country",
    "asylum_pending",
    "asylum_granted",
    "returned_home",
    "refused_home",
    "turned_away_home",
    "gave_up_home",
    "turned_back",
    "mobilised",
    "no_route_home",
)


class Decision:
    """How an attempt at a crossing ended (``UNDECIDED`` while it goes on)."""

    UNDECIDED = -1
    ENTERED = 0
    REFUSED = 1
    TURNED_AWAY = 2
    GAVE_UP = 3
    TURNED_BACK = 4
    MOBILISED = 5


class MoveKind:
    """Why a party left a country it stayed in."""

    ONWARD = 0
    HOME = 1


LEG_COLUMNS = {
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

CLAIM_COLUMNS = {
    "party": np.int32,
    "country": np.int16,
    "policy": np.int16,
    "lodged": np.float64,
    "decided": np.float64,
    "granted": np.int8,
}

MOVE_COLUMNS = {
    "party": np.int32,
    "country": np.int16,
    "time": np.float64,
    "kind": np.int8,
}


class Table:
    """Growable columns; appending returns the new rows' ids."""

    def __init__(self, columns: dict[str, type], capacity: int = 16) -> None:
        self.size = 0
        self.data = {name: np.empty(max(capacity, 16), dtype=dtype) for name, dtype in columns.items()}

    def append(self, **values: np.ndarray | float | int) -> np.ndarray:
        """Add rows; columns not given are left for the caller to fill."""
        n = len(next(v for v in values.values() if np.ndim(v) > 0))
        if self.size + n > len(next(iter(self.data.values()))):
            grow = max(self.size + n, 2 * len(next(iter(self.data.values()))))
            for name, column in self.data.items():
                bigger = np.empty(grow, dtype=column.dtype)
                bigger[: self.size] = column[: self.size]
                self.data[name] = bigger
        ids = np.arange(self.size, self.size + n)
        for name, value in values.items():
            self.data[name][self.size : self.size + n] = value
        self.size += n
        return ids

    def frozen(self) -> dict[str, np.ndarray]:
        """The filled part of every column (copies)."""
        return {name: column[: self.size].copy() for name, column in self.data.items()}
