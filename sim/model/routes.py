"""Where a party may go and which way it chooses.

The alternatives are (crossing, mode) pairs.  A party's choice is a multinomial
logit over the ones it may use: travel time, the wait it has heard of (reported
with a lag, not the true queue), and the appeal of the destination.  The logit is
drawn in its Gumbel-max form with noise that belongs to the party and the
alternative, so a policy that changes one alternative moves only the parties whose
choice it really changes (common random numbers).
"""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np

from sim.scenario.schema import Mode, Scenario

__all__ = [
    "EARTH_RADIUS_KM",
    "Alternatives",
    "great_circle_km",
    "build_alternatives",
    "alternative_uniforms",
    "pair_uniforms",
    "choose",
    "choose_pairs",
]

EARTH_RADIUS_KM = 6371.0088


def great_circle_km(lat1: np.ndarray, lon1: np.ndarray, lat2: np.ndarray, lon2: np.ndarray) -> np.ndarray:
    """Haversine distance, km, broadcasting over its arguments (degrees)."""
    p1, p2 = np.radians(lat1), np.radians(lat2)
    dp, dl = p2 - p1, np.radians(lon2) - np.radians(lon1)
    h = np.sin(dp / 2) ** 2 + np.cos(p1) * np.cos(p2) * np.sin(dl / 2) ** 2
    return 2 * EARTH_RADIUS_KM * np.arcsin(np.sqrt(np.clip(h, 0.0, 1.0)))


@dataclass(frozen=True)
class Alternatives:
    """The (crossing, mode) alternatives and the fixed parts of their utilities.

    Attributes
    ----------
    crossing, mode, country
        Per alternative: crossing index, :class:`Mode`, destination country index.
    leaving
        Per alternative: index of the country left, -1 for the home country.
    car, air
        Per alternative: True for the car mode (only parties with a car use it, and
        they use no other land mode but those that admit car parties), and for air
        routes (only those who can fly).
    car_parties
        Per alternative: True for a land mode (not car) that parties with a car may use
        too, leaving their car behind.
    origin_hours
        Travel hours, shape (origins, crossings).
    between_hours
        Travel hours from one crossing (its near side) to another, shape (crossings,
        crossings), for those turned away who try elsewhere.
    onward_hours
        Travel hours from where a crossing lets people out (an air route's arrival
        airport) to where another begins, for moving on from a country of stay.
    origin_utility, between_utility, onward_utility
        Fixed utility of each alternative from each origin / crossing: travel time,
        destination and crossing appeal.  Shapes (origins, alternatives) and
        (crossings, alternatives).
    """

    crossing: np.ndarray
    mode: tuple[Mode, ...]
    country: np.ndarray
    leaving: np.ndarray
    car: np.ndarray
    air: np.ndarray
    car_parties: np.ndarray
    origin_hours: np.ndarray
    between_hours: np.ndarray
    onward_hours: np.ndarray
    origin_utility: np.ndarray
    between_utility: np.ndarray
    onward_utility: np.ndarray

    def __len__(self) -> int:
        return len(self.crossing)

    @property
    def pairs(self) -> list[tuple[int, Mode]]:
        """(crossing index, mode) per alternative."""
        return list(zip(self.crossing.tolist(), self.mode))


def build_alternatives(scenario: Scenario) -> Alternatives:
    """Compile the scenario's crossings into alternatives and travel-time matrices."""
    crossings = scenario.crossings
    country_index = {country.iso: i for i, country in enumerate(scenario.countries)}
    crossing_ids, modes = [], []
    for i, crossing in enumerate(crossings):
        for mode in Mode:  # fixed order: car, foot, bus, boat, air
            if mode in crossing.modes:
                crossing_ids.append(i)
                modes.append(mode)
    crossing_index = np.array(crossing_ids, dtype=np.int32)
    lat = np.array([c.lat for c in crossings])
    lon = np.array([c.lon for c in crossings])
    olat = np.array([o.lat for o in scenario.origins])
    olon = np.array([o.lon for o in scenario.origins])
    road_km_per_km = scenario.travel.detour_factor / scenario.travel.speed_kmh
    origin_hours = great_circle_km(olat[:, None], olon[:, None], lat[None, :], lon[None, :]) * road_km_per_km
    for j, crossing in enumerate(crossings):
        for i, origin in enumerate(scenario.origins):
            if origin.id in crossing.travel_hours:
                origin_hours[i, j] = crossing.travel_hours[origin.id]
    between_hours = great_circle_km(lat[:, None], lon[:, None], lat[None, :], lon[None, :]) * road_km_per_km
    # From where a crossing lets people out (an air route's arrival airport) to where the next begins.
    out_lat = np.array([c.lat if c.arrival_lat is None else c.arrival_lat for c in crossings])
    out_lon = np.array([c.lon if c.arrival_lon is None else c.arrival_lon for c in crossings])
    onward_hours = great_circle_km(out_lat[:, None], out_lon[:, None], lat[None, :], lon[None, :]) * road_km_per_km
    appeal = np.array(
        [
            scenario.countries[country_index[crossings[c].to]].appeal
            + crossings[c].appeal
            + scenario.choice.mode_utility.get(mode, 0.0)
            for c, mode in zip(crossing_ids, modes)
        ]
    )
    per_hour = scenario.choice.travel_hour_utility
    leaving = [crossings[c].from_ or scenario.home for c in crossing_ids]
    return Alternatives(
        crossing=crossing_index,
        mode=tuple(modes),
        country=np.array([country_index[crossings[c].to] for c in crossing_ids], dtype=np.int32),
        leaving=np.array([country_index.get(iso, -1) for iso in leaving], dtype=np.int32),
        car=np.array([m is Mode.car for m in modes]),
        air=np.array([m is Mode.air for m in modes]),
        car_parties=np.array([getattr(crossings[c].modes[m], "car_parties", False) for c, m in zip(crossing_ids, modes)]),
        origin_hours=origin_hours,
        between_hours=between_hours,
        origin_utility=per_hour * origin_hours[:, crossing_index] + appeal[None, :],
        between_utility=per_hour * between_hours[:, crossing_index] + appeal[None, :],
        onward_hours=onward_hours,
        onward_utility=per_hour * onward_hours[:, crossing_index] + appeal[None, :],
    )


def alternative_uniforms(uniform: np.ndarray, alternatives: np.ndarray) -> np.ndarray:
    """One uniform per (party, alternative), derived from the party's own choice uniform.

    The party's uniform (float32, 24 random bits) seeds a counter-based stream: each
    alternative's number is the splitmix64 hash of (seed, alternative).  So each
    alternative gets its own number, the same in every scenario that has it, and
    adding or closing one alternative changes no other's.  Shape (parties, alternatives).
    """
    return pair_uniforms(np.asarray(uniform)[:, None], np.asarray(alternatives)[None, :])


def pair_uniforms(uniform: np.ndarray, alternatives: np.ndarray) -> np.ndarray:
    """:func:`alternative_uniforms` element by element: the uniform of each (party uniform, alternative) pair.

    ``uniform`` and ``alternatives`` broadcast against each other; the number of a pair
    is the same whichever other pairs are computed with it.
    """
    return _mixed(_seed_part(uniform) + _counter_part(alternatives))


# The splitmix64 hash of (seed, alternative) is a sum of a part of each, mixed; the parts can
# be worked out once per party and once per alternative.  Arrays, never scalars: numpy wraps
# array integer arithmetic modulo 2**64 without a warning.
def _seed_part(uniform: np.ndarray) -> np.ndarray:
    seed = np.atleast_1d(np.asarray(uniform, dtype=np.float32)).view(np.uint32).astype(np.uint64)
    return seed * np.uint64(0x9E3779B97F4A7C15)


def _counter_part(alternatives: np.ndarray) -> np.ndarray:
    counter = np.atleast_1d(np.asarray(alternatives, dtype=np.uint64)) + np.uint64(1)
    return counter * np.uint64(0xD1B54A32D192ED03)


def _mixed(z: np.ndarray) -> np.ndarray:
    z ^= z >> np.uint64(30)
    z *= np.uint64(0xBF58476D1CE4E5B9)
    z ^= z >> np.uint64(27)
    z *= np.uint64(0x94D049BB133111EB)
    z ^= z >> np.uint64(31)
    return ((z >> np.uint64(11)).astype(np.float64) + 0.5) * (1.0 / 9007199254740992.0)


def choose(
    utility: np.ndarray, allowed: np.ndarray, uniform: np.ndarray, alternatives: np.ndarray | None = None
) -> np.ndarray:
    """Draw one alternative per row from a logit over the allowed alternatives.

    The draw is the Gumbel-max form of the logit: the alternative with the highest
    utility plus a Gumbel noise term wins.  Each (party, alternative) has its own
    noise (:func:`alternative_uniforms`), so when a policy changes one alternative
    only the parties for whom that alternative was, or becomes, the best one
    switch: the closest coupling of two scenarios a logit allows.

    Parameters
    ----------
    utility
        Utilities, shape (parties, alternatives).
    allowed
        Which alternatives each party may use, same shape.
    uniform
        The party's choice uniform, one per party.
    alternatives
        Which alternatives the columns are (their noise is theirs whatever the
        subset); ``0..n-1`` if absent.

    Returns
    -------
    numpy.ndarray
        Index of the chosen alternative, or -1 where nothing is allowed.
    """
    if alternatives is None:
        alternatives = np.arange(utility.shape[1])
    row, column = np.nonzero(allowed)
    return choose_pairs(row, column, utility[row, column], np.asarray(uniform), np.asarray(alternatives))


def choose_pairs(
    row: np.ndarray, column: np.ndarray, utility: np.ndarray, uniform: np.ndarray, alternatives: np.ndarray
) -> np.ndarray:
    """:func:`choose` with the allowed (party, alternative) pairs listed instead of masked.

    A batch where each party may use few of the alternatives draws noise only for
    those, which is most of the saving; the choice is the same as :func:`choose`'s.

    Parameters
    ----------
    row, column
        Each allowed pair's party (row) and column.
    utility
        Each pair's utility.
    uniform
        Each party's choice uniform, one per row.
    alternatives
        Which alternative each column is, one per column (its noise is the alternative's).

    Returns
    -------
    numpy.ndarray
        Per row, the column with the highest utility plus noise (the lowest such
        column on a tie), or -1 where the row has no allowed pair.
    """
    parties, width = len(uniform), len(alternatives)
    noise = -np.log(-np.log(_mixed(_seed_part(uniform)[row] + _counter_part(alternatives)[column])))
    score = np.full((parties, width), -np.inf)
    score[row, column] = utility + noise
    choice = np.argmax(score, axis=1).astype(np.int32)
    some = np.zeros(parties, dtype=bool)
    some[row] = True
    choice[~some] = -1
    return choice
