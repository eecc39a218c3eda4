"""Where people went: origin → crossing → first country → onward country, from the ledger.

A party enters at most once from the home country (going home is the end of its
story), so its path begins with one *first entry*: the origin it left from, the
home-side crossing and the country entered there.  A party that moves on enters a
second country through a crossing out of the first: its *onward entry*.  Later
entries (a third country and beyond) are not split out: the flow diagram has four
columns, and the onward country is where a party went next, not where it ended.

Only entries within the period count, exactly as the ``entries`` rows of
``daily.csv`` do, so the persons of ``flows.csv`` summed by ``crossing`` equal the
daily entries at each home-side crossing summed over the period, and summed by
``onward_crossing`` they equal each onward crossing's entries that were a party's
second entry.  After a warm-up (``period.warmup_days``) only paths whose first entry
falls in the reported period count; an onward entry in the period of a path begun in
the warm-up is in ``daily.csv`` but not here.  Persons are scaled back to full scale
(divided by ``scale``).
"""

from __future__ import annotations

import numpy as np
import pyarrow as pa

from sim.model.engine import Ledger
from sim.model.ledger import Decision
from sim.run.outputs import format_number, last_counted_hour

__all__ = ["FLOW_COLUMNS", "flow_table", "format_flows_csv"]

#: Columns of ``flows.csv``; an empty onward crossing and country: no onward entry in the period.
FLOW_COLUMNS = ("origin", "crossing", "country", "onward_crossing", "onward_country", "persons")


def flow_table(ledger: Ledger) -> pa.Table:
    """Persons per (origin, crossing, country, onward crossing, onward country), full scale.

    Parameters
    ----------
    ledger
        A finished run's ledger.

    Returns
    -------
    pyarrow.Table
        Columns :data:`FLOW_COLUMNS`, one row per path taken by anybody, sorted by the
        five names (an empty onward pair sorts first).
    """
    scenario = ledger.scenario
    legs, parties, alternatives = ledger.legs, ledger.parties, ledger.alternatives
    crossing_ids = [c.id for c in scenario.crossings]
    countries = [c.iso for c in scenario.countries]
    origins = [o.id for o in scenario.origins]

    # Counted to the same instant as daily.csv's entries (24:00 of the last day included).
    entered = (legs["decision"] == Decision.ENTERED) & (legs["leave"] <= last_counted_hour(ledger))
    # Order each party's entries by time (then leg id, for entries at the same instant).
    rows = np.flatnonzero(entered)
    order = np.lexsort((rows, legs["leave"][rows], legs["party"][rows]))
    rows = rows[order]
    party = legs["party"][rows].astype(np.int64)
    first_of_party = np.concatenate(([True], party[1:] != party[:-1])) if len(rows) else np.zeros(0, bool)
    from_home = alternatives.leaving[legs["alt"][rows]] < 0
    if (first_of_party != from_home).any():
        # A path must start at home and nobody re-enters from home: anything else is an engine bug.
        raise AssertionError("a party's first entry is not from home, or it entered from home twice")
    second_of_party = np.zeros(len(rows), dtype=bool)
    second_of_party[1:] = ~first_of_party[1:] & first_of_party[:-1]

    first = rows[first_of_party]
    first_party = party[first_of_party]
    onward_alt = np.full(len(first), -1, dtype=np.int64)
    second = rows[second_of_party]
    position = np.searchsorted(first_party, party[second_of_party])
    onward_alt[position] = legs["alt"][second]

    # Paths begun during a warm-up are not reported, as their days are not (their onward
    # entries within the period still count in daily.csv, so totals differ by those).
    reported = legs["leave"][first] >= ledger.warmup_days * 24.0
    first, first_party, onward_alt = first[reported], first_party[reported], onward_alt[reported]

    first_alt = legs["alt"][first].astype(np.int64)
    key_origin = parties.origin[first_party].astype(np.int64)
    key_crossing = alternatives.crossing[first_alt].astype(np.int64)
    key_country = alternatives.country[first_alt].astype(np.int64)
    has_onward = onward_alt >= 0
    safe_onward = np.maximum(onward_alt, 0)
    key_onward_crossing = np.where(has_onward, alternatives.crossing[safe_onward], -1).astype(np.int64)
    key_onward_country = np.where(has_onward, alternatives.country[safe_onward], -1).astype(np.int64)
    persons = parties.size[first_party].astype(np.float64)

    keys = np.stack([key_origin, key_crossing, key_country, key_onward_crossing, key_onward_country], axis=1)
    if len(keys):
        unique, inverse = np.unique(keys, axis=0, return_inverse=True)
        totals = np.bincount(inverse.reshape(-1), weights=persons, minlength=len(unique)) / ledger.scale
    else:
        unique, totals = np.zeros((0, 5), dtype=np.int64), np.zeros(0)

    def name(names: list[str], index: int) -> str:
        return "" if index < 0 else names[index]

    records = sorted(
        (
            name(origins, o), name(crossing_ids, c), name(countries, k),
            name(crossing_ids, oc), name(countries, ok), float(total),
        )
        for (o, c, k, oc, ok), total in zip(unique.tolist(), totals.tolist())
    )
    columns = list(zip(*records)) if records else [[] for _ in FLOW_COLUMNS]
    return pa.table(
        {
            name_: pa.array(list(values), pa.float64() if name_ == "persons" else pa.string())
            for name_, values in zip(FLOW_COLUMNS, columns)
        }
    )


def format_flows_csv(table: pa.Table) -> str:
    """``flows.csv`` as text, numbers written as in ``daily.csv``."""
    lines = [",".join(FLOW_COLUMNS)]
    for row in zip(*(table[c].to_pylist() for c in FLOW_COLUMNS)):
        *names, persons = row
        lines.append(",".join([*names, format_number(persons)]))
    return "\n".join(lines) + "\n"
