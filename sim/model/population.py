"""The people: parties of 1–5 persons, their documents, cars, and when they leave.

Two components make up who departs:

* the **pool**: would-be emigrants who leave once, with a hazard that jumps at
  dated shocks (the mobilization announcement).  Each pool party draws an
  Exp(1) threshold; it leaves when the cumulative hazard passes it, which is the
  exact way to drain a pool with a time-varying hazard, and is vectorised;
* the **baseline**: regular travellers (tourists, business, family), a steady
  Poisson stream that does not deplete.

Every party owns its row of uniforms for its attributes and for each attempt at a
crossing (route choice, service time, entry check, whether to try again), drawn
up front from its component's streams.  Nothing a party draws depends on another
party, which is what gives common random numbers across scenarios.
"""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np

from sim.model.departures import cumulative_hazard, hours_in_period
from sim.model.policies import DocumentFlag
from sim.model.randomness import Streams
from sim.scenario.schema import DocumentMix, Scenario

__all__ = ["ATTEMPT_DRAWS", "GROUPS", "Parties", "generate_parties"]

#: Per-attempt uniforms: route choice, service time, entry check, try again.
ATTEMPT_DRAWS = ("choice", "service", "entry", "retry")
GROUPS = ("draft_age_men", "families", "others")


@dataclass(frozen=True)
class Parties:
    """All parties that depart within the period, as parallel arrays sorted by departure.

    Attributes
    ----------
    depart
        Departure time, hours since the period start.
    origin
        Origin index.
    size
        Persons in the party (1–5).
    group
        Index into :data:`GROUPS`.
    documents
        :class:`~sim.model.policies.DocumentFlag` mask.
    car
        True if the party travels in its own car.
    component
        0 for the pool, 1 for baseline travellers.
    attempt_uniforms
        Shape (parties, max_attempts, len(ATTEMPT_DRAWS)).
    """

    depart: np.ndarray
    origin: np.ndarray
    size: np.ndarray
    group: np.ndarray
    documents: np.ndarray
    car: np.ndarray
    component: np.ndarray
    attempt_uniforms: np.ndarray

    def __len__(self) -> int:
        return len(self.depart)

    @property
    def persons(self) -> int:
        """Persons in all parties."""
        return int(self.size.sum())


def generate_parties(scenario: Scenario, streams: dict[str, Streams], scale: float) -> Parties:
    """Draw every party that departs in the period.

    Parameters
    ----------
    scenario
        The scenario.
    streams
        From :func:`sim.model.randomness.make_streams`.
    scale
        Fraction of people simulated.
    """
    horizon = hours_in_period(scenario)
    mean_size = _mean_party_size(scenario)
    parts = []
    # The pool: parties until the pool's persons are covered, each with its own threshold.
    pool_persons = scenario.departures.pool_persons * scale
    if pool_persons > 0:
        pool = streams["pool"]
        count = int(pool_persons / mean_size * 1.2) + 32
        attributes = _attributes(scenario, scenario.people, pool, count)
        covered = np.searchsorted(np.cumsum(attributes["size"]), pool_persons) + 1
        attributes = {k: v[:covered] for k, v in attributes.items()}
        thresholds = pool.times.exponential(size=covered)
        grid, cumulative = cumulative_hazard(scenario)
        depart = np.interp(thresholds, cumulative, grid, right=np.inf)
        parts.append(_component(attributes, depart, 0, pool, scenario, horizon))
    # Baseline travellers: a Poisson stream of parties at (persons per day) / (mean size).
    per_hour = scenario.departures.baseline_per_day * scale / mean_size / 24.0
    if per_hour > 0:
        base = streams["baseline"]
        expected = per_hour * horizon
        count = int(expected + 6 * np.sqrt(expected) + 32)
        depart = np.cumsum(base.times.exponential(1.0 / per_hour, size=count))
        attributes = _attributes(scenario, scenario.departures.baseline_people or scenario.people, base, count)
        parts.append(_component(attributes, depart, 1, base, scenario, horizon))
    if not parts:
        return _empty(scenario)
    merged = {key: np.concatenate([p[key] for p in parts]) for key in parts[0]}
    order = np.argsort(merged["depart"], kind="stable")
    return Parties(**{key: value[order] for key, value in merged.items()})


def _mean_party_size(scenario: Scenario) -> float:
    sizes = np.arange(1, 6)
    return float(sum(g.share * np.dot(g.party_size, sizes) for g in scenario.people.groups))


def _attributes(scenario: Scenario, mix: DocumentMix, streams: Streams, count: int) -> dict[str, np.ndarray]:
    """Attributes of ``count`` parties, one row of uniforms each (row i is party i's)."""
    people = scenario.people
    u = streams.attributes.random(size=(count, 7))
    group_ids = [GROUPS.index(g.id) for g in people.groups]
    group_pick = np.searchsorted(np.cumsum([g.share for g in people.groups]), u[:, 0], side="right")
    group_pick = np.minimum(group_pick, len(people.groups) - 1)
    size_cdf = np.cumsum(np.array([g.party_size for g in people.groups]), axis=1)
    size = (u[:, 1][:, None] >= size_cdf[group_pick]).sum(axis=1) + 1
    weights = np.array([o.population_weight for o in scenario.origins])
    origin = np.searchsorted(np.cumsum(weights) / weights.sum(), u[:, 2], side="right")
    passport = u[:, 3] < mix.international_passport_share
    visa_given_passport = (
        mix.schengen_visa_share / mix.international_passport_share if mix.international_passport_share else 0.0
    )
    visa = passport & (u[:, 4] < visa_given_passport)
    tourist = u[:, 5] < mix.schengen_visa_tourist_share
    documents = (
        DocumentFlag.internal_passport
        + passport * int(DocumentFlag.international_passport)
        + (visa & tourist) * int(DocumentFlag.schengen_visa_tourist)
        + (visa & ~tourist) * int(DocumentFlag.schengen_visa_other)
    ).astype(np.uint8)
    car = u[:, 6] < mix.car_share
    return {
        "origin": np.minimum(origin, len(weights) - 1).astype(np.int16),
        "size": np.minimum(size, 5).astype(np.int8),
        "group": np.array(group_ids, dtype=np.int8)[group_pick],
        "documents": documents,
        "car": car,
    }


def _component(
    attributes: dict[str, np.ndarray],
    depart: np.ndarray,
    component: int,
    streams: Streams,
    scenario: Scenario,
    horizon: float,
) -> dict[str, np.ndarray]:
    count = len(depart)
    attempts = streams.attempts.random(size=(count, scenario.people.max_attempts, len(ATTEMPT_DRAWS)))
    inside = depart < horizon
    result = {key: value[inside] for key, value in attributes.items()}
    result["depart"] = depart[inside]
    result["component"] = np.full(int(inside.sum()), component, dtype=np.int8)
    result["attempt_uniforms"] = attempts[inside]
    return result


def _empty(scenario: Scenario) -> Parties:
    draws = (0, scenario.people.max_attempts, len(ATTEMPT_DRAWS))
    return Parties(
        depart=np.empty(0),
        origin=np.empty(0, dtype=np.int16),
        size=np.empty(0, dtype=np.int8),
        group=np.empty(0, dtype=np.int8),
        documents=np.empty(0, dtype=np.uint8),
        car=np.empty(0, dtype=bool),
        component=np.empty(0, dtype=np.int8),
        attempt_uniforms=np.empty(draws),
    )
