"""Scenario dicts for model tests, built in Python so each test states what it varies."""

from __future__ import annotations

import copy
from typing import Any


def mmc_scenario(lanes: int, rho: float, mean_minutes: float, *, days: int, seed: int = 5) -> dict[str, Any]:
    """One origin, one crossing, one car lane group: Poisson arrivals, exponential service."""
    service_rate_per_hour = 60.0 / mean_minutes
    arrivals_per_day = rho * lanes * service_rate_per_hour * 24
    import datetime as dt

    start = dt.date(2022, 1, 1)
    return {
        "name": "mmc",
        "description": "M/M/c through the whole engine",
        "period": {"start": start.isoformat(), "end": (start + dt.timedelta(days=days - 1)).isoformat()},
        "seed": seed,
        "scale": 1.0,
        "origins": [{"id": "a", "name": "A", "lat": 50.0, "lon": 40.0, "population_weight": 1}],
        "countries": [{"iso": "KZ", "name": "Kazakhstan", "accepts": ["internal_passport"], "visa_free_days": 90}],
        "crossings": [
            {
                "id": "x",
                "name": "X",
                "to": "KZ",
                "lat": 50.0,
                "lon": 41.0,
                "travel_hours": {"a": 5},
                "modes": {
                    "car": {"lanes": lanes, "service": {"distribution": "exponential", "mean_minutes": mean_minutes}}
                },
            }
        ],
        "departures": {"pool_persons": 0, "baseline_per_day": arrivals_per_day},
        "people": {
            "groups": [{"id": "others", "share": 1, "party_size": [1, 0, 0, 0, 0]}],
            "international_passport_share": 0,
            "schengen_visa_share": 0,
            "car_share": 1,
        },
    }


_NETWORK: dict[str, Any] = {
    "name": "network",
    "description": "A small network: Kazakhstan, Georgia and Finland",
    "period": {"start": "2022-09-14", "end": "2022-10-10"},
    "seed": 7,
    "scale": 0.05,
    "origins": [
        {"id": "moscow", "name": "Moscow", "lat": 55.75, "lon": 37.62, "population_weight": 3},
        {"id": "samara", "name": "Samara", "lat": 53.2, "lon": 50.15, "population_weight": 1},
    ],
    "countries": [
        {"iso": "KZ", "name": "Kazakhstan", "accepts": ["internal_passport", "international_passport"], "visa_free_days": 90},
        {"iso": "GE", "name": "Georgia", "accepts": ["international_passport"], "visa_free_days": 365, "appeal": 0.5},
        {"iso": "FI", "name": "Finland", "accepts": ["schengen_visa_tourist", "schengen_visa_other"], "visa_free_days": 90, "appeal": 1.0},
    ],
    "crossings": [
        {
            "id": "upper-lars",
            "name": "Upper Lars",
            "to": "GE",
            "lat": 42.74,
            "lon": 44.63,
            "modes": {
                "car": {"lanes": 12, "service": {"mean_minutes": 8}},
                "foot": {"lanes": 4, "service": {"mean_minutes": 2}},
            },
        },
        {
            "id": "syrym",
            "name": "Mashtakovo-Syrym",
            "to": "KZ",
            "lat": 51.3,
            "lon": 51.9,
            "modes": {"car": {"lanes": 8, "service": {"mean_minutes": 6}}, "bus": {"lanes": 2, "service": {"mean_minutes": 1.5}}},
        },
        {
            "id": "kairak",
            "name": "Kairak",
            "to": "KZ",
            "lat": 54.0,
            "lon": 61.5,
            "modes": {"car": {"lanes": 6, "service": {"mean_minutes": 6}}, "bus": {"lanes": 2, "service": {"mean_minutes": 1.5}}},
        },
        {
            "id": "vaalimaa",
            "name": "Vaalimaa",
            "to": "FI",
            "lat": 60.6,
            "lon": 27.8,
            "modes": {"car": {"lanes": 10, "service": {"mean_minutes": 4}}, "bus": {"lanes": 4, "service": {"mean_minutes": 1}}},
        },
    ],
    "departures": {
        "pool_persons": 400000,
        "shocks": [{"id": "mobilization", "date": "2022-09-21", "hour": 10, "peak_per_day": 0.06, "half_life_days": 5}],
        "baseline_per_day": 12000,
    },
    "people": {
        "groups": [
            {"id": "draft_age_men", "share": 0.5, "party_size": [0.7, 0.2, 0.1, 0, 0]},
            {"id": "families", "share": 0.3, "party_size": [0, 0.3, 0.4, 0.2, 0.1]},
            {"id": "others", "share": 0.2, "party_size": [0.5, 0.3, 0.1, 0.1, 0]},
        ],
        "international_passport_share": 0.29,
        "schengen_visa_share": 0.02,
        "car_share": 0.5,
    },
    "policies": [
        {"kind": "entry", "country": "FI", "from": "2022-09-30", "accepts": ["schengen_visa_other"]},
        {"kind": "closure", "crossing": "upper-lars", "mode": "foot", "from": "2022-09-14", "until": "2022-09-26"},
    ],
}


def network_scenario(**changes: Any) -> dict[str, Any]:
    """The small network; keyword arguments replace top-level keys."""
    data = copy.deepcopy(_NETWORK)
    data.update(copy.deepcopy(changes))
    return data
