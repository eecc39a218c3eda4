"""The people: parties of 1–5 persons, their group, documents, means, patience, and when they leave.

Two components make up who departs:

* the **pool**: would-be emigrants who leave once, with a hazard that jumps at
  dated shocks (the mobilization announcement) and, for some groups, rises ahead
  of announced rules.  Each pool party draws an Exp(1) threshold; it leaves when
  its group's cumulative hazard passes it, which is the exact way to drain a pool
  with a time-varying hazard, and is vectorised;
* the **baseline**: regular travellers (tourists, business, family), a steady
  Poisson stream that does not deplete; they go home after their trip.

Every party owns its row of uniforms for its attributes and for each attempt at a
crossing (route choice, service, exit screening, entry, retry, and what it does
after entering: stay, claim asylum, move on), drawn up front from its component's
streams.  Nothing a party draws depends on another party, which is what gives
common random numbers across scenarios.
"""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np

from sim.model.departures import cumulative_hazard, hours_in_period
from sim.model.policies import GROUPS, DocumentFlag, concerns, hazard_multipliers
from sim.model.randomness import Streams
from sim.model.spread import spread_quantile
from sim.model.weekdays import weekly_clock
from sim.scenario.schema import DocumentMix, Scenario

__all__ = ["ATTEMPT_DRAWS", "POOL", "BASELINE", "AttemptDraws", "Parties", "generate_parties"]

#: Per-attempt uniforms, one row per party and attempt.
ATTEMPT_DRAWS = ("choice", "service", "screen", "entry", "retry", "claim", "grant", "dwell", "next")
_DRAW_COLUMN = {name: i for i, name in enumerate(ATTEMPT_DRAWS)}
POOL, BASELINE = 0, 1


class AttemptDraws:
    """Each party's uniforms for each attempt, drawn one attempt number at a time, when first needed.

    Attempt ``k`` of every party of a component comes from that component's ``k``-th
    spawned sequence, one row per party *as generated* (before the parties that do not
    depart in the period are dropped), so a party's draws never depend on how many
    others depart, or how many attempts anyone makes.  The rows stay where the
    generator put them, all components one after the other in one block per attempt
    number, and each party knows its row: drawing a block is one call to the
    generator, with nothing moved.

    Parameters
    ----------
    sources
        Per component: its attempts seed sequence, the number of rows it generated,
        and, for each party kept, its generated row and its position among all parties.
    n_parties, max_attempts
        Sizes.
    """

    def __init__(
        self,
        sources: list[tuple[np.random.SeedSequence, int, np.ndarray, np.ndarray]],
        n_parties: int,
        max_attempts: int,
    ) -> None:
        self._children: list[tuple[list[np.random.SeedSequence], int, int]] = []
        self._row = np.zeros(n_parties, dtype=np.int64)
        offset = 0
        for seq, rows, kept, position in sources:
            self._children.append((seq.spawn(max_attempts), offset, rows))
            self._row[position] = offset + kept
            offset += rows
        self._rows = offset
        # All attempts' blocks in one array, so that a batch of mixed attempts is one gather;
        # a block's memory is only touched once it is drawn.
        self._all = np.empty((max_attempts, self._rows, len(ATTEMPT_DRAWS)), dtype=np.float32)
        self._drawn = [False] * max_attempts

    def block(self, attempt: int) -> np.ndarray:
        """Every generated row's uniforms for attempt number ``attempt``, shape (rows, len(ATTEMPT_DRAWS)).

        Party ``p``'s row is ``rows_of(p)``.
        """
        block = self._all[attempt]
        if not self._drawn[attempt]:
            for children, offset, rows in self._children:
                generator = np.random.Generator(np.random.PCG64(children[attempt]))
                generator.random(out=block[offset : offset + rows], dtype=np.float32)
            self._drawn[attempt] = True
        return block

    def rows_of(self, party: np.ndarray) -> np.ndarray:
        """Each party's row in the blocks."""
        return self._row[party]

    def __call__(self, party: np.ndarray, attempt: np.ndarray, draw: str | None = None) -> np.ndarray:
        """Uniforms of ``party`` at ``attempt`` (element-wise): one draw, or all of them."""
        attempt = np.asarray(attempt)
        if len(attempt) == 0:
            return np.empty((0, len(ATTEMPT_DRAWS)) if draw is None else 0, dtype=np.float32)
        # Whoever is at attempt k went through attempts 0..k-1, so their blocks are drawn
        # already but for the highest; a block's numbers do not depend on when it is drawn.
        for k in range(int(attempt.max()) + 1):
            if not self._drawn[k]:
                self.block(k)
        at = attempt.astype(np.int64) * self._rows + self._row[party]
        if draw is None:
            # ``take`` along rows is several times faster than fancy indexing for whole rows.
            return self._all.reshape(-1, len(ATTEMPT_DRAWS)).take(at, axis=0)
        return self._all.reshape(-1)[at * len(ATTEMPT_DRAWS) + _DRAW_COLUMN[draw]]


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
        Index into :data:`~sim.model.policies.GROUPS`.
    documents
        :class:`~sim.model.policies.DocumentFlag` mask.
    car
        True if the party travels in its own car.
    can_fly
        True if the party has the means to fly.
    patience
        Longest wait it accepts in a queue, hours (``inf``: unlimited).
    component
        :data:`POOL` or :data:`BASELINE`.
    draws
        The parties' uniforms per attempt (:class:`AttemptDraws`).
    """

    depart: np.ndarray
    origin: np.ndarray
    size: np.ndarray
    group: np.ndarray
    documents: np.ndarray
    car: np.ndarray
    can_fly: np.ndarray
    patience: np.ndarray
    component: np.ndarray
    draws: AttemptDraws

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
        attributes = _attributes(scenario, scenario.people, pool, count, origin_visa_factors=True)
        covered = int(np.searchsorted(np.cumsum(attributes["size"]), pool_persons)) + 1
        attributes = {k: v[:covered] for k, v in attributes.items()}
        thresholds = pool.times.exponential(size=covered)
        depart = np.full(covered, np.inf)
        # Rushes ahead of announced rules differ by group and documents: one hazard per kind of party.
        kinds = attributes["group"].astype(np.int64) * 256 + attributes["documents"]
        rushes = hazard_multipliers(scenario)
        curves: dict[tuple[int, ...], tuple[np.ndarray, np.ndarray]] = {}
        for kind in np.unique(kinds):
            group, documents = int(kind // 256), int(kind % 256)
            applying = tuple(
                i for i, (_, _, who, _) in enumerate(rushes)
                if concerns(who, np.array([group]), np.array([documents], dtype=np.uint8))[0]
            )
            if applying not in curves:
                curves[applying] = cumulative_hazard(scenario, group, documents)
            grid, cumulative = curves[applying]
            members = kinds == kind
            depart[members] = np.interp(thresholds[members], cumulative, grid, right=np.inf)
        parts.append(_component(attributes, depart, POOL, pool.attempts, horizon))
    # Baseline travellers: a Poisson stream of parties at (persons per day) / (mean size).
    per_hour = scenario.departures.baseline_per_day * scale / mean_size / 24.0
    if per_hour > 0:
        base = streams["baseline"]
        factors = scenario.departures.baseline_weekday_factors
        weekly = None if factors is None else _weekday_rates(scenario, factors, per_hour)
        expected = per_hour * horizon if weekly is None else float(weekly[1][-1])
        count = int(expected + 6 * np.sqrt(expected) + 32)
        if weekly is None:
            depart = np.cumsum(base.times.exponential(1.0 / per_hour, size=count))
        else:
            # Time-rescaling: unit-rate arrivals through the inverse of the cumulative rate.
            grid, cumulative = weekly
            depart = np.interp(np.cumsum(base.times.exponential(1.0, size=count)), cumulative, grid, right=np.inf)
        mix = scenario.departures.baseline_people or scenario.people
        attributes = _attributes(scenario, mix, base, count, origin_visa_factors=False)
        parts.append(_component(attributes, depart, BASELINE, base.attempts, horizon))
    columns = [key for key in parts[0][0]] if parts else []
    merged = {key: np.concatenate([p[key] for p, _ in parts]) for key in columns}
    order = _stable_order(merged["depart"]) if parts else np.empty(0, dtype=np.int64)
    # Where each component's kept parties end up once all are sorted by departure.
    position = np.empty(len(order), dtype=np.int64)
    position[order] = np.arange(len(order))
    sources, offset = [], 0
    for part, (sequence, rows, kept) in parts:
        sources.append((sequence, rows, kept, position[offset : offset + len(kept)]))
        offset += len(kept)
    draws = AttemptDraws(sources, len(order), scenario.people.max_attempts)
    if not parts:
        return _empty(draws)
    return Parties(**{key: value[order] for key, value in merged.items()}, draws=draws)


def _weekday_rates(scenario: Scenario, factors: list[float], per_hour: float) -> tuple[np.ndarray, np.ndarray]:
    """Day boundaries (hours) and the expected parties departed by each, for a weekly pattern."""
    days = int(round(hours_in_period(scenario) / 24))
    midnights, clock = weekly_clock(factors, scenario.period.start.weekday(), days)
    return midnights, per_hour * clock


def _visa_factors(scenario: Scenario) -> np.ndarray:
    """Per origin, the factor on the pool's visa share among passport holders: a ratio between origins.

    The factors are divided by their mean weighted by population, so an origin at factor
    ``f`` holds visas ``f / mean`` times as often as the pool's share says, and the pool's
    share is kept overall, until the passport share caps an origin (every passport holder
    there holds a visa): the cap then lowers the overall share.
    """
    weights = np.array([o.population_weight for o in scenario.origins])
    factors = np.array([o.schengen_visa_factor for o in scenario.origins])
    mean = float(np.dot(weights, factors) / weights.sum())
    return factors / mean if mean > 0 else factors


def _stable_order(values: np.ndarray) -> np.ndarray:
    """``np.argsort(values, kind="stable")`` (values without NaN), by the faster unstable sort where no two are equal."""
    order = np.argsort(values)
    ordered = values[order]
    if (ordered[1:] == ordered[:-1]).any():
        return np.argsort(values, kind="stable")
    return order


def _mean_party_size(scenario: Scenario) -> float:
    sizes = np.arange(1, 6)
    return float(sum(g.share * np.dot(g.party_size, sizes) for g in scenario.people.groups))


def _attributes(
    scenario: Scenario, mix: DocumentMix, streams: Streams, count: int, *, origin_visa_factors: bool
) -> dict[str, np.ndarray]:
    """Attributes of ``count`` parties, one row of uniforms each (row i is party i's).

    ``origin_visa_factors``: whether the origins' ``schengen_visa_factor`` applies (to the
    pool's would-be emigrants, not to regular travellers, whatever mix they take).
    """
    people = scenario.people
    u = streams.attributes.random(size=(count, 9))
    group_pick = np.searchsorted(np.cumsum([g.share for g in people.groups]), u[:, 0], side="right")
    group_pick = np.minimum(group_pick, len(people.groups) - 1)
    size_cdf = np.cumsum(np.array([g.party_size for g in people.groups]), axis=1)
    # One more person for every step of the group's size distribution the uniform passes.
    size = np.ones(count, dtype=np.int64)
    size_uniform = np.ascontiguousarray(u[:, 1])
    for step in size_cdf.T:
        size += size_uniform >= step[group_pick]
    weights = np.array([o.population_weight for o in scenario.origins])
    origin = np.searchsorted(np.cumsum(weights) / weights.sum(), u[:, 2], side="right")
    origin = np.minimum(origin, len(weights) - 1)
    passport = u[:, 3] < mix.international_passport_share
    visa_given_passport = (
        mix.schengen_visa_share / mix.international_passport_share if mix.international_passport_share else 0.0
    )
    if origin_visa_factors:
        visa_given_passport = visa_given_passport * _visa_factors(scenario)[origin]
    visa = passport & (u[:, 4] < visa_given_passport)
    tourist = u[:, 5] < mix.schengen_visa_tourist_share
    documents = (
        DocumentFlag.internal_passport
        + passport * int(DocumentFlag.international_passport)
        + (visa & tourist) * int(DocumentFlag.schengen_visa_tourist)
        + (visa & ~tourist) * int(DocumentFlag.schengen_visa_other)
    ).astype(np.uint8)
    patience = np.full(count, np.inf)
    for k, group in enumerate(people.groups):
        members = group_pick == k
        if group.patience_hours is not None and members.any():
            patience[members] = spread_quantile(group.patience_hours, u[members, 8])
    return {
        "origin": origin.astype(np.int16),
        "size": np.minimum(size, 5).astype(np.int8),
        "group": np.array([GROUPS.index(g.id) for g in people.groups], dtype=np.int8)[group_pick],
        "documents": documents,
        "car": u[:, 6] < mix.car_share,
        "can_fly": u[:, 7] < mix.can_fly_share,
        "patience": patience,
    }


def _component(
    attributes: dict[str, np.ndarray],
    depart: np.ndarray,
    component: int,
    attempts: np.random.SeedSequence,
    horizon: float,
) -> tuple[dict[str, np.ndarray], tuple[np.random.SeedSequence, int, np.ndarray]]:
    """The parties of one component that depart within the period, and where their draws come from."""
    inside = depart < horizon
    result = {key: value[inside] for key, value in attributes.items()}
    result["depart"] = depart[inside]
    result["component"] = np.full(int(inside.sum()), component, dtype=np.int8)
    return result, (attempts, len(depart), np.flatnonzero(inside))


def _empty(draws: AttemptDraws) -> Parties:
    return Parties(
        depart=np.empty(0),
        origin=np.empty(0, dtype=np.int16),
        size=np.empty(0, dtype=np.int8),
        group=np.empty(0, dtype=np.int8),
        documents=np.empty(0, dtype=np.uint8),
        car=np.empty(0, dtype=bool),
        can_fly=np.empty(0, dtype=bool),
        patience=np.empty(0),
        component=np.empty(0, dtype=np.int8),
        draws=draws,
    )
