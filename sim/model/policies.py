"""Dated policies compiled into day-indexed tables: the model's rules as pure lookups.

Policies are exogenous and dated to whole days, so each compiles to a table
indexed by simulated day (and group, where a rule has a ``who:``).  The engine
only looks things up.  Where two policies overlap on the same thing, the later
one in the ``policies:`` list wins (a scenario that ``extends`` another appends its
policies, so its rules override the parent's).

Two views of the entry and closure rules exist: the rules *in force* on a day
(what border guards apply), and the rules *known* on a decision day for a later
day (what a traveller plans with): a rule is known from the day it takes effect,
or from its announcement if one was made.
"""

from __future__ import annotations

import datetime as dt
from dataclasses import dataclass
from enum import IntFlag

import numpy as np

from sim.scenario.schema import (
    AnnouncementPolicy,
    AsylumPolicy,
    CapacityPolicy,
    ClosurePolicy,
    Document,
    EntryPolicy,
    ExitScreeningPolicy,
    Group,
    MAX_LANES,
    Mode,
    Scenario,
    StayLimitPolicy,
    Who,
)

__all__ = [
    "DocumentFlag",
    "GROUPS",
    "document_mask",
    "day_index",
    "n_days",
    "policy_days",
    "concerns",
    "known_from_day",
    "entry_tables",
    "open_tables",
    "stay_limit_days",
    "stay_regimes",
    "stay_deadline",
    "LaneDays",
    "lane_days",
    "ScreeningRule",
    "screening_rules",
    "hazard_multipliers",
]

#: Group order used in every per-group table.
GROUPS: tuple[Group, ...] = tuple(Group)


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


def policy_days(scenario: Scenario, policy: object) -> slice:
    """The simulated days a policy is in force, as a slice (clipped to the period)."""
    first = max(0, day_index(scenario, policy.from_))
    last = n_days(scenario) if policy.until is None else min(n_days(scenario), day_index(scenario, policy.until) + 1)
    return slice(first, max(first, last))


def concerns(who: Who, group: np.ndarray, documents: np.ndarray) -> np.ndarray:
    """Which parties (by group index and document mask) a ``who:`` selector concerns."""
    match = _group_flags(who)[group]
    if who.documents is not None:
        match &= (documents & document_mask(who.documents)) != 0
    return match


def _group_flags(who: Who) -> np.ndarray:
    flags = np.ones(len(GROUPS), dtype=bool)
    if who.groups is not None:
        flags[:] = [g in who.groups for g in GROUPS]
    return flags


def known_from_day(scenario: Scenario, policy: object) -> int:
    """First day on which travellers know of a policy: its announcement, or its start."""
    first = day_index(scenario, policy.from_)
    for other in scenario.policies:
        if isinstance(other, AnnouncementPolicy) and policy.id is not None and other.of == policy.id:
            first = min(first, day_index(scenario, other.from_))
    return first


def entry_tables(scenario: Scenario) -> tuple[np.ndarray, np.ndarray]:
    """Accepted-document masks: in force, and as known when deciding.

    Returns
    -------
    in_force
        Shape (countries, days, groups): what the border applies on a day.
    known
        Shape (decision days, countries, days, groups): what a traveller deciding on a
        day believes will apply on each day.
    """
    days = n_days(scenario)
    index = {country.iso: i for i, country in enumerate(scenario.countries)}
    standing = np.array([document_mask(c.accepts) for c in scenario.countries], dtype=np.uint8)
    known = np.broadcast_to(standing[None, :, None, None], (days, len(standing), days, len(GROUPS))).copy()
    in_force = np.broadcast_to(standing[:, None, None], (len(standing), days, len(GROUPS))).copy()
    for policy in scenario.policies:
        if not isinstance(policy, EntryPolicy):
            continue
        country, span, groups = index[policy.country], policy_days(scenario, policy), _group_flags(policy.who)
        mask = document_mask(policy.accepts)
        in_force[country, span][:, groups] = mask
        known[max(0, known_from_day(scenario, policy)) :, country, span][:, :, groups] = mask
    return in_force, known


def open_tables(scenario: Scenario, alternatives: list[tuple[int, Mode]]) -> tuple[np.ndarray, np.ndarray]:
    """Open flags per alternative: in force (alternatives, days) and known (decision days, alternatives, days)."""
    days = n_days(scenario)
    in_force = np.ones((len(alternatives), days), dtype=bool)
    known = np.ones((days, len(alternatives), days), dtype=bool)
    crossing_index = {crossing.id: i for i, crossing in enumerate(scenario.crossings)}
    for policy in scenario.policies:
        if not isinstance(policy, ClosurePolicy):
            continue
        target, span = crossing_index[policy.crossing], policy_days(scenario, policy)
        for a, (crossing, mode) in enumerate(alternatives):
            if crossing == target and (policy.mode is None or policy.mode == mode):
                in_force[a, span] = False
                known[max(0, known_from_day(scenario, policy)) :, a, span] = False
    return in_force, known


def stay_limit_days(scenario: Scenario) -> np.ndarray:
    """Stay limit in force per country, day and group, days (``inf`` where none).

    A limit is a country's visa-free stay (0 means a visa is needed and sets no
    limit; nor does a stay that border runs renew, ``visa_runs``), an entry
    policy's ``visa_free_days`` (renewed alike; later entry rules win), or a
    ``stay_limit`` policy, which caps the stay however it was renewed (later caps
    win).  The two are kept apart and the shorter binds: a cap never lengthens a
    shorter visa-free stay, and an entry rule never lifts a cap.
    """
    days = n_days(scenario)
    index = {country.iso: i for i, country in enumerate(scenario.countries)}
    visa_free = np.full((len(scenario.countries), days, len(GROUPS)), np.inf)
    cap = np.full_like(visa_free, np.inf)
    for i, country in enumerate(scenario.countries):
        if country.visa_free_days > 0 and not country.visa_runs:
            visa_free[i] = country.visa_free_days
    renewed = {country.iso for country in scenario.countries if country.visa_runs}
    for policy in scenario.policies:
        if isinstance(policy, EntryPolicy) and policy.visa_free_days is not None and policy.country not in renewed:
            value = policy.visa_free_days if policy.visa_free_days > 0 else np.inf
            visa_free[index[policy.country], policy_days(scenario, policy)][:, _group_flags(policy.who)] = value
        elif isinstance(policy, StayLimitPolicy):
            cap[index[policy.country], policy_days(scenario, policy)] = policy.days
    return np.minimum(visa_free, cap)


def stay_regimes(limits: np.ndarray) -> tuple[np.ndarray, np.ndarray, np.ndarray] | None:
    """Runs of equal stay limit in one country and group's row of :func:`stay_limit_days`.

    Returns (starts, ends, limits) in hours, the last run holding beyond the period;
    ``None`` where no limit ever binds.
    """
    if not np.isfinite(limits).any():
        return None
    change = np.flatnonzero(np.concatenate(([True], limits[1:] != limits[:-1])))
    starts = change * 24.0
    ends = np.concatenate((change[1:] * 24.0, [np.inf]))
    return starts, ends, limits[change] * 24.0


def stay_deadline(regimes: tuple[np.ndarray, np.ndarray, np.ndarray], entry_hours: np.ndarray) -> np.ndarray:
    """When a party entering at ``entry_hours`` must leave, hours (``inf`` if never).

    ``regimes`` comes from :func:`stay_regimes`.  A party must leave at the first
    moment at which its stay, counted from its entry or from the start of the
    regime then in force, whichever is later, reaches that regime's limit.  So a
    limit introduced mid-stay counts from its own first day, and a relaxed one
    extends the stay.
    """
    deadline = np.full(len(entry_hours), np.inf)
    for start, end, limit in zip(*regimes):
        if not np.isfinite(limit):
            continue
        candidate = np.maximum(entry_hours, start) + limit
        binding = (end > entry_hours) & (candidate < end)
        deadline = np.where(binding, np.minimum(deadline, candidate), deadline)
    return deadline


@dataclass(frozen=True)
class LaneDays:
    """Lanes and service-time factor per day for one alternative (air: one lane, hours per seat)."""

    lanes: np.ndarray
    service_factor: np.ndarray


def lane_days(scenario: Scenario, alternatives: list[tuple[int, Mode]], open_in_force: np.ndarray) -> list[LaneDays]:
    """Per alternative and day: lanes open (0 while closed) and the factor on service times.

    Air routes are one lane whose service per person is one seat's share of the day,
    so ``service_factor`` there is hours per seat.
    """
    days = n_days(scenario)
    crossing_index = {crossing.id: i for i, crossing in enumerate(scenario.crossings)}
    result = []
    for a, (c, mode) in enumerate(alternatives):
        spec = scenario.crossings[c].modes[mode]
        if mode is Mode.air:
            lanes = np.ones(days, dtype=np.int64)
            factor = np.full(days, 24.0 / spec.seats_per_day)
        else:
            lanes = np.full(days, spec.lanes, dtype=np.int64)
            factor = np.ones(days)
        for policy in scenario.policies:
            if isinstance(policy, CapacityPolicy) and crossing_index[policy.crossing] == c and policy.mode == mode:
                span = policy_days(scenario, policy)
                if policy.seats_per_day is not None:
                    factor[span] = 24.0 / policy.seats_per_day
                if policy.lanes is not None:
                    lanes[span] = policy.lanes
                if policy.lanes_factor is not None:
                    lanes[span] = min(MAX_LANES, max(1, round(spec.lanes * policy.lanes_factor)))
                if policy.service_mean_minutes is not None:
                    factor[span] = policy.service_mean_minutes / spec.service.mean_minutes
        lanes = np.where(open_in_force[a], lanes, 0)
        result.append(LaneDays(lanes, factor))
    return result


@dataclass(frozen=True)
class ScreeningRule:
    """One exit-screening policy as lookups: which crossings, which days, whom, how many, what then.

    ``known_from`` is the first decision day travellers know of it, and ``deterred`` the
    share of those it would stop who then keep away from the crossings it screens.
    """

    crossings: np.ndarray
    days: slice
    who: Who
    share: float
    mobilise: bool
    known_from: int = 0
    deterred: float = 0.0


def screening_rules(scenario: Scenario) -> list[ScreeningRule]:
    """Exit screenings in policy order (later ones win where they overlap)."""
    home = [i for i, c in enumerate(scenario.crossings) if (c.from_ or scenario.home) == scenario.home]
    index = {crossing.id: i for i, crossing in enumerate(scenario.crossings)}
    rules = []
    for policy in scenario.policies:
        if isinstance(policy, ExitScreeningPolicy):
            crossings = np.array([index[policy.crossing]] if policy.crossing else home, dtype=np.int64)
            rules.append(
                ScreeningRule(
                    crossings,
                    policy_days(scenario, policy),
                    policy.who,
                    policy.share,
                    policy.outcome == "mobilised",
                    known_from_day(scenario, policy),
                    policy.deterred_share,
                )
            )
    return rules


def asylum_policies(scenario: Scenario) -> list[AsylumPolicy]:
    """Asylum policies in policy order."""
    return [p for p in scenario.policies if isinstance(p, AsylumPolicy)]


def hazard_multipliers(scenario: Scenario) -> list[tuple[float, float, Who, float]]:
    """Rushes ahead of announced rules: (from hour, until hour, whom, multiplier)."""
    ids = {p.id: p for p in scenario.policies if p.id is not None}
    rushes = []
    for policy in scenario.policies:
        if isinstance(policy, AnnouncementPolicy) and policy.departure_multiplier != 1.0:
            start = day_index(scenario, policy.from_) * 24.0
            end = day_index(scenario, ids[policy.of].from_) * 24.0
            rushes.append((start, end, policy.who, policy.departure_multiplier))
    return rushes
