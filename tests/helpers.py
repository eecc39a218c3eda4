"""Small scenarios and helpers shared by the tests.

``persons_in_countries(ledger)`` says who a run leaves in each country, for the stock
invariant; ``daily_values(result)`` is a run's daily table keyed by (date, place, measure).  ``minimal_scenario_yaml()`` is a complete, valid scenario small enough to read:
2 origins, 3 countries (KZ, GE, FI; Finland admits Schengen visa holders only),
3 crossings (``upper-lars`` into Georgia with car and foot modes), one shock, two
groups and one entry policy.  Tests derive broken variants from it by replacing
one line, and locate the line with :func:`position_of` so expected messages stay
exact without hard-coding line numbers.
"""

from __future__ import annotations

import datetime as dt
from typing import Any

import numpy as np

from sim.model.ledger import MoveKind, Status

_MINIMAL = """\
name: minimal
description: Where do people go when Upper Lars jams?
period:
  start: 2022-09-15
  end: 2022-10-15
seed: 42
scale: 0.1
tick_minutes: 60
origins:
  - id: moscow
    name: Moscow
    lat: 55.75
    lon: 37.62
    population_weight: 3
  - id: vladikavkaz
    name: Vladikavkaz
    lat: 43.02
    lon: 44.68
    population_weight: 1
countries:
  - iso: KZ
    name: Kazakhstan
    accepts: [internal_passport, international_passport]
    visa_free_days: 90
  - iso: GE
    name: Georgia
    accepts: [international_passport]
    visa_free_days: 365
  - iso: FI
    name: Finland
    accepts: [schengen_visa_tourist, schengen_visa_other]
    visa_free_days: 0
crossings:
  - id: upper-lars
    name: Upper Lars
    to: GE
    lat: 42.74
    lon: 44.63
    modes:
      car:
        lanes: 4
        service:
          mean_minutes: 10
          cv: 0.5
      foot:
        lanes: 2
        service:
          mean_minutes: 3
    travel_hours:
      vladikavkaz: 1.5
  - id: vaalimaa
    name: Vaalimaa
    to: FI
    lat: 60.58
    lon: 27.82
    modes:
      car:
        lanes: 6
        service:
          mean_minutes: 4
  - id: mashtakovo
    name: Mashtakovo
    to: KZ
    lat: 50.93
    lon: 49.04
    modes:
      car:
        lanes: 3
        service:
          distribution: exponential
          mean_minutes: 8
departures:
  pool_persons: 700000
  pool_hazard_per_day: 0.001
  shocks:
    - id: mobilization
      date: 2022-09-21
      hour: 10
      peak_per_day: 0.05
      half_life_days: 4
  baseline_per_day: 20000
people:
  groups:
    - id: draft_age_men
      share: 0.6
      party_size: [0.7, 0.2, 0.05, 0.05, 0]
    - id: families
      share: 0.4
      party_size: [0, 0.3, 0.3, 0.3, 0.1]
  international_passport_share: 0.7
  schengen_visa_share: 0.2
  car_share: 0.5
policies:
  - id: finland-closes-to-tourists
    kind: entry
    from: 2022-09-30
    country: FI
    accepts: [schengen_visa_other]
"""


def minimal_scenario_yaml() -> str:
    """A small valid scenario, as YAML text."""

    return _MINIMAL


def minimal_scenario_dict() -> dict[str, Any]:
    """The same scenario as :func:`minimal_scenario_yaml`, as Python data (dates as dates)."""

    def crossing(id_: str, name: str, to: str, lat: float, lon: float, modes: dict, **extra: Any) -> dict:
        return {"id": id_, "name": name, "to": to, "lat": lat, "lon": lon, "modes": modes, **extra}

    return {
        "name": "minimal",
        "description": "Where do people go when Upper Lars jams?",
        "period": {"start": dt.date(2022, 9, 15), "end": dt.date(2022, 10, 15)},
        "seed": 42,
        "scale": 0.1,
        "tick_minutes": 60,
        "origins": [
            {"id": "moscow", "name": "Moscow", "lat": 55.75, "lon": 37.62, "population_weight": 3},
            {"id": "vladikavkaz", "name": "Vladikavkaz", "lat": 43.02, "lon": 44.68, "population_weight": 1},
        ],
        "countries": [
            {
                "iso": "KZ",
                "name": "Kazakhstan",
                "accepts": ["internal_passport", "international_passport"],
                "visa_free_days": 90,
            },
            {"iso": "GE", "name": "Georgia", "accepts": ["international_passport"], "visa_free_days": 365},
            {
                "iso": "FI",
                "name": "Finland",
                "accepts": ["schengen_visa_tourist", "schengen_visa_other"],
                "visa_free_days": 0,
            },
        ],
        "crossings": [
            crossing(
                "upper-lars",
                "Upper Lars",
                "GE",
                42.74,
                44.63,
                {
                    "car": {"lanes": 4, "service": {"mean_minutes": 10, "cv": 0.5}},
                    "foot": {"lanes": 2, "service": {"mean_minutes": 3}},
                },
                travel_hours={"vladikavkaz": 1.5},
            ),
            crossing(
                "vaalimaa",
                "Vaalimaa",
                "FI",
                60.58,
                27.82,
                {"car": {"lanes": 6, "service": {"mean_minutes": 4}}},
            ),
            crossing(
                "mashtakovo",
                "Mashtakovo",
                "KZ",
                50.93,
                49.04,
                {"car": {"lanes": 3, "service": {"distribution": "exponential", "mean_minutes": 8}}},
            ),
        ],
        "departures": {
            "pool_persons": 700000,
            "pool_hazard_per_day": 0.001,
            "shocks": [
                {
                    "id": "mobilization",
                    "date": dt.date(2022, 9, 21),
                    "hour": 10,
                    "peak_per_day": 0.05,
                    "half_life_days": 4,
                }
            ],
            "baseline_per_day": 20000,
        },
        "people": {
            "groups": [
                {"id": "draft_age_men", "share": 0.6, "party_size": [0.7, 0.2, 0.05, 0.05, 0]},
                {"id": "families", "share": 0.4, "party_size": [0, 0.3, 0.3, 0.3, 0.1]},
            ],
            "international_passport_share": 0.7,
            "schengen_visa_share": 0.2,
            "car_share": 0.5,
        },
        "policies": [
            {
                "id": "finland-closes-to-tourists",
                "kind": "entry",
                "from": dt.date(2022, 9, 30),
                "country": "FI",
                "accepts": ["schengen_visa_other"],
            }
        ],
    }


def replace_once(text: str, old: str, new: str) -> str:
    """``text`` with the single occurrence of ``old`` replaced (fails loudly if not single)."""

    assert text.count(old) == 1, f"{old!r} occurs {text.count(old)} times"
    return text.replace(old, new)


def position_of(text: str, needle: str, occurrence: int = 1) -> tuple[int, int]:
    """1-based (line, col) of the ``occurrence``-th ``needle`` in ``text``."""

    start = -1
    for _ in range(occurrence):
        start = text.index(needle, start + 1)
    line = text.count("\n", 0, start) + 1
    col = start - (text.rfind("\n", 0, start) + 1) + 1
    return line, col


def upper_lars_car(text: str, old: str, new: str) -> str:
    """Replace ``old`` by ``new`` inside upper-lars' car block only."""

    start = text.index("  - id: upper-lars")
    car = text.index("      car:\n", start)
    end = text.index("      foot:\n", car)
    return text[:car] + replace_once(text[car:end], old, new) + text[end:]


#: Statuses of parties that stay in a destination country.
STAYING = (Status.IN_COUNTRY, Status.ASYLUM_PENDING, Status.ASYLUM_GRANTED)


def persons_in_countries(ledger) -> np.ndarray:
    """Persons in each destination country at the end of the run (index: country).

    Those staying there by their status, and those who left their stay there to move on
    and have not passed the next border yet (on the road or in its queue): the country
    counts an exit at its border.
    """
    n_countries = len(ledger.scenario.countries)
    size = ledger.parties.size.astype(np.int64)
    staying = np.isin(ledger.status, STAYING)
    there = np.bincount(ledger.country[staying].astype(np.int64), weights=size[staying], minlength=n_countries)
    # The country each party last left to move on (-1: none); moves are in time order per party.
    moves = ledger.moves
    leaving = np.full(len(size), -1, dtype=np.int64)
    onward = moves["kind"] == MoveKind.ONWARD
    order = np.argsort(moves["time"][onward], kind="stable")
    leaving[moves["party"][onward][order]] = moves["country"][onward][order]
    on_the_way = np.isin(ledger.status, (Status.TRAVELLING, Status.QUEUED)) & (leaving >= 0)
    there += np.bincount(leaving[on_the_way], weights=size[on_the_way], minlength=n_countries)
    return there.astype(np.int64)


def daily_values(result) -> dict[tuple[str, str, str], float]:
    """A run's daily table as ``{(date, place, measure): value}``."""
    return {(row["date"], row["place"], row["measure"]): row["value"] for row in result.daily.to_pylist()}
