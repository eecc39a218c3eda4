"""The straightforward simpy model of the same crossing network: the baseline ``bench/run.py`` measures against.

Usage::

    python bench/naive_simpy.py                          # the default scenario at full scale
    python bench/naive_simpy.py SCENARIO --scale 0.1

It is the textbook simpy pattern: **one process per party** and **one**
``simpy.Resource`` **per lane group** (a mode at a crossing, its lanes as capacity),
written plainly and with care (per-party work in plain Python, a party's options
listed once per kind), so that the comparison is with what a competent modeller
would write first, not with a strawman.

The same world as the engine
    The same parties, with the same departure times, sizes, groups, documents, cars,
    means to fly and patience (:func:`sim.model.population.generate_parties` with the
    run's seed); the same alternatives, travel times and fixed utilities
    (:func:`sim.model.routes.build_alternatives`); the same entry rules and closures in
    force day by day (:mod:`sim.model.policies`); the same lanes, service laws and
    seats, pooled at a scale below 1 as the engine pools them; the same period, a
    warm-up included (:func:`sim.model.engine.simulated_scenario`).

What a party does (the modelled work of the engine)
    It chooses a (crossing, mode) by the logit in Gumbel-max form over the
    alternatives its kind may use (out of where it is, car or not — a car party also
    the modes that admit car parties, at the cost of leaving its car — able to fly or
    not), from their fixed utility and the wait it would face (parties queued ×
    mean service ÷ lanes), among those whose destination admits its documents today,
    that are open today and whose country did not refuse or host it before.  It
    travels there; is turned away if the mode is closed; queues for a lane, leaving
    the queue when its patience runs out; is served (a car as one unit, people on
    foot, by bus or boat one by one; an air route sells its seats one at a time and
    then flies); enters if its documents are admitted that day (less the country's
    refusal share), else is refused; one that entered without its car has none from
    then on.  Refused, turned away or giving up, it tries again from where it stands,
    never the way it just failed at (``rechoose_share``, at most ``max_attempts``
    attempts in all) or goes home.  After entering, a regular traveller goes home
    at the end of its trip (the country's ``trip_days``), or, passing through (the
    country's ``transit_share``, one country at most), stays the dwell and moves on; an emigrant stays its dwell (cut by the visa-free stay),
    then moves on out of that country, goes home or stays on, in the country's
    shares.  Every party ends in one of the engine's states, which sum to the departed.

What it leaves out (so it does less work than the engine, not more)
    Waits reported with a lag (it sees the live queue), rules known or announced
    ahead, capacity changes, closures that begin while people wait, exit screening,
    asylum claims, stay limits that change over the period, regular travellers staying
    abroad after a shock (``abroad_stay_share``), trips that end on busy weekdays
    (``trip_end_weekday_factors``), and the engine's common
    random numbers (it draws from one ``random.Random`` as it goes).  Its outputs are
    therefore close to the engine's, not equal: ``bench/run.py`` prints both side by
    side as a check that the two do comparable work.
"""

from __future__ import annotations

import argparse
import json
import math
import random
import resource
import sys
import time
from dataclasses import dataclass
from pathlib import Path

import numpy as np
import simpy

HERE = Path(__file__).resolve().parent
ROOT = HERE.parent

# Where a party chooses from: its origin, the near side of a crossing, or the far side of one.
FROM_ORIGIN, FROM_CROSSING, ONWARD_FROM = 0, 1, 2


@dataclass(frozen=True)
class NaiveResult:
    """What the naive run produced: persons by final state, attempts, entries by country, timings."""

    persons: int
    parties: int
    legs: int
    by_state: dict[str, int]
    entries_by_country: dict[str, int]
    build_seconds: float
    simulate_seconds: float


def _draw(rng: random.Random, distribution: str, mean: float, cv: float) -> float:
    """One duration with the given mean and coefficient of variation, from Python's RNG."""
    if distribution == "fixed" or (distribution in ("lognormal", "gamma") and cv == 0):
        return mean
    if distribution == "exponential":
        return rng.expovariate(1.0 / mean)
    if distribution == "lognormal":
        sigma2 = math.log1p(cv * cv)
        return rng.lognormvariate(math.log(mean) - sigma2 / 2, math.sqrt(sigma2))
    shape = 1.0 / (cv * cv)
    return rng.gammavariate(shape, mean / shape)


def _option_values(scenario: object, alts: object, accepted: list, options: dict) -> dict:
    """Per kind of party (car, means to fly, documents, group), what the ways on out of each
    alternative's country add to its utility (:mod:`sim.model.lookahead`); empty when people
    do not look ahead.  The ways on are those the kind's options hold whose country admits
    its documents on some day: the engine's, but for ways into a country that takes asylum
    claims at its border, which the engine counts for everyone and this leaves out."""
    import numpy as np

    from sim.model.lookahead import onward_option_value

    weight = scenario.choice.onward_option_weight
    if weight == 0:
        return {}
    countries = scenario.countries
    groups = len(accepted[0][0])  # the rules' groups (every group the model knows), as parties number them
    ever = [[_any_day(accepted[c], g) for g in range(groups)] for c in range(len(countries))]
    kinds = [
        (car, fly, documents, g) for car in (False, True) for fly in (False, True) for documents in range(16) for g in range(groups)
    ]
    usable_from = np.zeros((len(kinds), len(countries), len(alts)), dtype=bool)
    for k, (car, fly, documents, g) in enumerate(kinds):
        for c in range(len(countries)):
            for a in options[(c, car, fly)]:
                usable_from[k, c, a] = bool(ever[int(alts.country[a])][g] & documents)
    share = np.array([c.onward_share for c in countries])
    stay = np.array([c.appeal for c in countries])
    value = onward_option_value(alts.onward_utility, alts.crossing, alts.country, usable_from, stay, share, weight)
    return {kind: value[k].tolist() for k, kind in enumerate(kinds)}


def _any_day(by_day: list, group: int) -> int:
    """Every document a country admits for a group on any day of the period (a bit mask)."""
    mask = 0
    for day in by_day:
        mask |= day[group]
    return mask


def simulate_naive(scenario: object, *, scale: float, seed: int) -> NaiveResult:
    """Run the naive model of ``scenario`` (a validated :class:`sim.scenario.schema.Scenario`)."""
    from sim.model.departures import hours_in_period
    from sim.model.engine import simulated_scenario
    from sim.model.ledger import STATES, Status
    from sim.model.policies import entry_tables, n_days, open_tables
    from sim.model.population import BASELINE, generate_parties
    from sim.model.randomness import make_streams
    from sim.model.routes import build_alternatives
    from sim.scenario.schema import Mode

    began = time.perf_counter()
    scenario = simulated_scenario(scenario)  # a warm-up is simulated as part of the period
    horizon = hours_in_period(scenario)
    days = n_days(scenario)
    parties = generate_parties(scenario, make_streams(seed), scale)
    alts = build_alternatives(scenario)
    accepted = entry_tables(scenario)[0].tolist()  # [country][day][group] -> document mask
    open_today = open_tables(scenario, alts.pairs)[0].tolist()  # [alternative][day]
    countries = scenario.countries
    people = scenario.people
    env = simpy.Environment()
    rng = random.Random(seed)

    # Lane groups: one Resource each, lanes pooled at a scale below 1 as in the engine.
    lanes, capacity, law, per_person, flight = [], [], [], [], []
    for c, mode in alts.pairs:
        spec = scenario.crossings[c].modes[mode]
        if mode is Mode.air:
            real, unit = 1, ("fixed", 24.0 / spec.seats_per_day, 0.0)
            flight.append(spec.flight_hours)
        else:
            real, unit = spec.lanes, (spec.service.distribution, spec.service.mean_minutes / 60.0, spec.service.cv)
            flight.append(0.0)
        pooled = max(1, round(real * scale))
        stretch = pooled / (real * scale)
        lanes.append(simpy.Resource(env, capacity=pooled))
        capacity.append(pooled)
        law.append((unit[0], unit[1] * stretch, unit[2]))
        per_person.append(mode is not Mode.car)
    alt_crossing, alt_country = alts.crossing.tolist(), alts.country.tolist()
    alt_leaving, alt_car, alt_air = alts.leaving.tolist(), alts.car.tolist(), alts.air.tolist()
    alt_car_parties = alts.car_parties.tolist()
    leave_car = scenario.choice.leave_car_utility
    # A party's options: the alternatives out of where it is, by its car and means to fly.
    options: dict[tuple[int, bool, bool], list[int]] = {}
    for leaving in range(-1, len(countries)):
        for car in (False, True):
            for fly in (False, True):
                options[(leaving, car, fly)] = [
                    a for a in range(len(alts))
                    if alt_leaving[a] == leaving
                    and (fly if alt_air[a] else alt_car[a] == car or (car and alt_car_parties[a]))
                ]
    tables = {
        FROM_ORIGIN: (alts.origin_utility.tolist(), alts.origin_hours.tolist()),
        FROM_CROSSING: (alts.between_utility.tolist(), alts.between_hours.tolist()),
        ONWARD_FROM: (alts.onward_utility.tolist(), alts.onward_hours.tolist()),
    }
    wait_utility = scenario.choice.wait_hour_utility
    option_value = _option_values(scenario, alts, accepted, options)
    # a stay that border runs renew (visa_runs) forces no one out, as in the engine
    stay_limit_hours = [c.visa_free_days * 24.0 if c.visa_free_days > 0 and not c.visa_runs else math.inf for c in countries]
    depart, origin, size = parties.depart.tolist(), parties.origin.tolist(), parties.size.tolist()
    group, documents = parties.group.tolist(), parties.documents.tolist()
    car, can_fly, patience = parties.car.tolist(), parties.can_fly.tolist(), parties.patience.tolist()
    regular = (parties.component == BASELINE).tolist()
    passed_through = [False] * len(depart)  # regular travellers pass through one country at most
    state = [Status.TRAVELLING] * len(depart)
    entries = [0] * len(countries)
    legs = [0]

    def choose(i: int, where: int, place: int, leaving: int, excluded: set[int], avoid: int) -> int:
        utility, _ = tables[where]
        row = utility[place]
        day = min(int(env.now // 24), days - 1)
        best, best_score = -1, -math.inf
        for a in options[(leaving, car[i], can_fly[i])]:
            country = alt_country[a]
            if a == avoid or country in excluded or not open_today[a][day] or not accepted[country][day][group[i]] & documents[i]:
                continue
            wait = len(lanes[a].queue) * law[a][1] / capacity[a]
            score = row[a] + wait_utility * wait - math.log(-math.log(rng.random() or 1e-300))
            if car[i] and alt_car_parties[a]:
                score += leave_car
            if option_value:
                # the ways on open to it on the far side: without its car, once across without it
                score += option_value[(car[i] and alt_car[a], can_fly[i], documents[i], group[i])][a]
            if score > best_score:
                best, best_score = a, score
        return best

    def journey(i: int):
        where, place, leaving = FROM_ORIGIN, origin[i], -1
        excluded: set[int] = set()
        stop = Status.NO_ROUTE_HOME  # where the party ends if it finds no way on
        avoid = -1  # the way just failed at: never chosen again at once
        for _ in range(people.max_attempts):
            a = choose(i, where, place, leaving, excluded, avoid)
            avoid = -1
            if a < 0:
                break
            legs[0] += 1
            state[i] = Status.TRAVELLING
            yield env.timeout(tables[where][1][place][alt_crossing[a]])
            country = alt_country[a]
            if not open_today[a][min(int(env.now // 24), days - 1)]:
                failed = Status.TURNED_AWAY_HOME
            else:
                state[i] = Status.QUEUED
                with lanes[a].request() as turn:
                    got = yield turn | env.timeout(patience[i])
                    if turn not in got:
                        failed = Status.GAVE_UP_HOME
                    else:
                        distribution, mean, cv = law[a]
                        units = size[i] if per_person[a] else 1
                        yield env.timeout(_draw(rng, distribution, mean, cv) * units)
                        failed = None
                if failed is None:
                    if flight[a]:
                        state[i] = Status.TRAVELLING
                        yield env.timeout(flight[a])
                    day = min(int(env.now // 24), days - 1)
                    if accepted[country][day][group[i]] & documents[i] and rng.random() >= countries[country].refusal_share:
                        entries[country] += size[i]
                        state[i] = Status.IN_COUNTRY
                        excluded.add(country)
                        if not alt_car[a]:
                            car[i] = False  # the car, if any, stays behind the border
                        spec = countries[country]
                        passing = regular[i] and not passed_through[i] and rng.random() < spec.transit_share
                        passed_through[i] = passed_through[i] or passing
                        if regular[i] and not passing:
                            trip = spec.trip_days or scenario.departures.baseline_trip_days
                            yield env.timeout(_draw(rng, trip.distribution, trip.mean, trip.cv) * 24.0)
                            state[i] = Status.RETURNED_HOME
                            return
                        if passing:  # a regular traveller passing through: a short stay, then on
                            yield env.timeout(_draw(rng, spec.dwell_days.distribution, spec.dwell_days.mean, spec.dwell_days.cv) * 24.0)
                            where, place, leaving = ONWARD_FROM, alt_crossing[a], country
                            stop = Status.RETURNED_HOME
                            continue
                        limit = stay_limit_hours[country]
                        dwell = _draw(rng, spec.dwell_days.distribution, spec.dwell_days.mean, spec.dwell_days.cv) * 24.0
                        yield env.timeout(min(dwell, limit))
                        u, forced = rng.random(), dwell >= limit
                        leaving_share = spec.onward_share + spec.return_share
                        if not forced and u >= leaving_share:
                            if limit == math.inf:
                                return  # stays on for good
                            yield env.timeout(limit - dwell)  # stays on until the limit makes it leave
                            u, forced = rng.random(), True
                        if forced:
                            u *= leaving_share  # made to leave: the same split, renormalised
                        if u < spec.onward_share:
                            where, place, leaving = ONWARD_FROM, alt_crossing[a], country
                            stop = Status.RETURNED_HOME  # nowhere to go on to: home instead
                            continue
                        state[i] = Status.RETURNED_HOME
                        return
                    excluded.add(country)
                    failed = Status.REFUSED_HOME
            state[i] = Status.TRAVELLING
            if rng.random() >= people.rechoose_share:
                state[i] = failed
                return
            if failed == Status.REFUSED_HOME and flight[a]:
                yield env.timeout(flight[a])  # refused on landing: flown back first
            where, place, stop, avoid = FROM_CROSSING, alt_crossing[a], failed, a
        state[i] = stop

    def departures():
        for i, when in enumerate(depart):
            yield env.timeout(when - env.now)
            env.process(journey(i))

    env.process(departures())
    built = time.perf_counter()
    env.run(until=horizon)
    done = time.perf_counter()
    persons = np.bincount(np.array(state, dtype=np.int64), weights=parties.size.astype(np.int64), minlength=len(STATES))
    return NaiveResult(
        persons=int(parties.size.sum()),
        parties=len(depart),
        legs=legs[0],
        by_state={name: int(persons[k]) for k, name in enumerate(STATES)},
        entries_by_country={c.iso: entries[k] for k, c in enumerate(countries)},
        build_seconds=built - began,
        simulate_seconds=done - built,
    )


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("scenario", nargs="?", type=Path, default=ROOT / "scenarios" / "mobilization-2022.yaml")
    parser.add_argument("--scale", type=float, default=1.0)
    parser.add_argument("--seed", type=int, default=None)
    args = parser.parse_args()
    sys.path.insert(0, str(ROOT))
    import sim

    scenario = sim.load_scenario(args.scenario).scenario
    began = time.perf_counter()
    result = simulate_naive(scenario, scale=args.scale, seed=scenario.seed if args.seed is None else args.seed)
    wall = time.perf_counter() - began
    summary = {
        **result.__dict__,
        "wall_seconds": wall,
        "persons_per_second": result.persons / wall,
        "peak_rss_mib": resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024,
    }
    print(json.dumps(summary))


if __name__ == "__main__":
    main()
