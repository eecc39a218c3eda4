"""Dated policies as day-indexed tables: which documents a country accepts, which lanes are open.

Policies are exogenous and dated to whole days, so each one compiles to a table
indexed by simulated day.  The engine only looks things up; the rules themselves
are the pure functions here.  Where two policies overlap on the same thing, the
later one in the ``policies:`` list wins (a scenario that ``extends`` another
appends its policies, so its rules override the parent's).
"""

from __future__ import annotations

import datetime as dt
from enum import IntFlag

import numpy as np

from sim.scenario.schema import ClosurePolicy, Document, EntryPolicy, Mode, Scenario

__all__ = [
    "DocumentFlag",
    "document_mask",
    "day_index",
    "policy_days",
    "accepted_documents_by_day",
    "open_by_day",
]


class DocumentFlag(IntFlag):
    """Documents as bits, so a party's papers and a country's rule meet in one ``&``."""

    internal_passport = 1
    international_passport = 2
    schengen_visa_tourist = 4
    schengen_visa_other = 8


def document_mask(documents: list[Document]) -> int:
    """Bit mask of a list of documents."""
    mask = 0
    for document in documents:
        mask |= DocumentFlag[document.value]
    return mask


def day_index(scenario: Scenario, date: dt.date) -> int:
    """Days from ``period.start`` to ``date`` (may fall outside the period)."""
    return (date - scenario.period.start).days


def n_days(scenario: Scenario) -> int:
    """Number of simulated days."""
    return (scenario.period.end - scenario.period.start).days + 1


def policy_days(scenario: Scenario, policy: ClosurePolicy | EntryPolicy) -> slice:
    """The simulated days a policy is in force, as a slice (clipped to the period)."""
    first = max(0, day_index(scenario, policy.from_))
    last = n_days(scenario) if policy.until is None else min(n_days(scenario), day_index(scenario, policy.until) + 1)
    return slice(first, max(first, last))


def accepted_documents_by_day(scenario: Scenario) -> np.ndarray:
    """Accepted-document masks, shape (countries, days), after applying entry policies in order."""
    table = np.empty((len(scenario.countries), n_days(scenario)), dtype=np.uint8)
    index = {country.iso: i for i, country in enumerate(scenario.countries)}
    for i, country in enumerate(scenario.countries):
        table[i, :] = document_mask(country.accepts)
    for policy in scenario.policies:
        if isinstance(policy, EntryPolicy):
            table[index[policy.country], policy_days(scenario, policy)] = document_mask(policy.accepts)
    return table


def open_by_day(scenario: Scenario, alternatives: list[tuple[int, Mode]]) -> np.ndarray:
    """Open flags, shape (alternatives, days): False where a closure covers that crossing mode."""
    table = np.ones((len(alternatives), n_days(scenario)), dtype=bool)
    crossing_index = {crossing.id: i for i, crossing in enumerate(scenario.crossings)}
    for policy in scenario.policies:
        if isinstance(policy, ClosurePolicy):
            target = crossing_index[policy.crossing]
            for a, (crossing, mode) in enumerate(alternatives):
                if crossing == target and (policy.mode is None or policy.mode == mode):
                    table[a, policy_days(scenario, policy)] = False
    return table
