"""Scenario dicts for model tests, built in Python so each test states what it varies."""

from __future__ import annotations

import copy
import datetime as dt
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


# -- Small purpose-made worlds for the policy tests ------------------------------------
#
# One origin ("a") in the home country; destinations and crossings chosen per test.
# Crossings out of the home country are ``travel_hours`` away from the origin; between
# crossings, travel time follows from their coordinates.  Every day of the period is
# ``day(n)``, so that tests speak in day numbers and hours since the start.

POLICY_START = dt.date(2022, 1, 1)


def day(n: int) -> str:
    """ISO date of day ``n`` of a :func:`policy_world` (day 0 is its first day)."""
    return (POLICY_START + dt.timedelta(days=n)).isoformat()


def country(iso: str, *, accepts: tuple[str, ...] = ("internal_passport",), visa_free_days: int = 0, **extra: Any) -> dict[str, Any]:
    """A destination admitting the given documents; no stay limit unless ``visa_free_days``."""
    return {"iso": iso, "name": iso, "accepts": list(accepts), "visa_free_days": visa_free_days, **extra}


def lanes(n: int, minutes: float, distribution: str = "fixed") -> dict[str, Any]:
    """A land mode with ``n`` lanes and a service time of ``minutes`` (fixed unless said otherwise)."""
    return {"lanes": n, "service": {"distribution": distribution, "mean_minutes": minutes}}


def crossing(
    id_: str, to: str, *, from_: str | None = None, hours: float = 5.0, lat: float = 50.0, lon: float = 41.0, **modes: Any
) -> dict[str, Any]:
    """A crossing into ``to``; out of the home country ``hours`` from the origin, else out of ``from_``."""
    data: dict[str, Any] = {"id": id_, "name": id_, "to": to, "lat": lat, "lon": lon, "modes": modes}
    if from_ is None:
        data["travel_hours"] = {"a": hours}
    else:
        data["from"] = from_
    return data


def group(id_: str, share: float, sizes: tuple[float, ...] = (1, 0, 0, 0, 0), patience: dict | None = None) -> dict[str, Any]:
    """A party group; party size 1 unless ``sizes`` says otherwise."""
    data: dict[str, Any] = {"id": id_, "share": share, "party_size": list(sizes)}
    if patience is not None:
        data["patience_hours"] = patience
    return data


def policy_world(
    *,
    days: int,
    countries: list[dict[str, Any]],
    crossings: list[dict[str, Any]],
    departures: dict[str, Any],
    groups: list[dict[str, Any]] | None = None,
    policies: list[dict[str, Any]] | None = None,
    seed: int = 1,
    **extra: Any,
) -> dict[str, Any]:
    """A scenario of ``days`` days at scale 1 from one origin; ``extra`` sets other top-level keys.

    People hold internal passports only, travel without cars and cannot fly unless
    ``people`` (merged over these defaults) says otherwise.
    """
    people = {
        "groups": groups or [group("others", 1.0)],
        "international_passport_share": 0,
        "schengen_visa_share": 0,
        "car_share": 0,
        "can_fly_share": 0,
        **extra.pop("people", {}),
    }
    return {
        "name": "policy-world",
        "description": "A purpose-made world for one policy test",
        "period": {"start": day(0), "end": day(days - 1)},
        "seed": seed,
        "scale": 1.0,
        "origins": [{"id": "a", "name": "A", "lat": 50.0, "lon": 40.0, "population_weight": 1}],
        "countries": countries,
        "crossings": crossings,
        "departures": departures,
        "people": people,
        "policies": policies or [],
        **extra,
    }
