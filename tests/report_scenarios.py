"""A small scenario that exercises every figure and memo section, and a policy variant of it.

The model tests' small network (Kazakhstan, Georgia, Finland) with what the report
needs besides: onward moves (Kazakhstan to Kyrgyzstan by road, Georgia to Turkey by
air), an asylum track at the border in Finland, a closure, and a short period, so a
run at scale 0.01 takes well under a second.
"""

from __future__ import annotations

from typing import Any

from model_scenarios import network_scenario


def report_scenario(**changes: Any) -> dict[str, Any]:
    """The base scenario of the report tests; keyword arguments replace top-level keys."""
    base = network_scenario()
    for country in base["countries"]:
        if country["iso"] == "KZ":
            country.update(onward_share=0.4, return_share=0.1, dwell_days={"distribution": "lognormal", "mean": 3, "cv": 0.5})
        if country["iso"] == "GE":
            country.update(onward_share=0.5, return_share=0.05, dwell_days={"distribution": "lognormal", "mean": 2, "cv": 0.5})
    base["countries"] += [
        {"iso": "KG", "name": "Kyrgyzstan", "accepts": ["internal_passport", "international_passport"], "visa_free_days": 90},
        {"iso": "TR", "name": "Turkey", "accepts": ["international_passport"], "visa_free_days": 60},
    ]
    base["crossings"] += [
        {
            "id": "korday",
            "name": "Korday",
            "from": "KZ",
            "to": "KG",
            "lat": 43.05,
            "lon": 74.7,
            "modes": {"car": {"lanes": 4, "service": {"mean_minutes": 6}}, "bus": {"lanes": 1, "service": {"mean_minutes": 2}}},
        },
        {
            "id": "tbilisi-istanbul",
            "name": "Tbilisi → Istanbul",
            "from": "GE",
            "to": "TR",
            "lat": 41.67,
            "lon": 44.95,
            "arrival_lat": 41.26,
            "arrival_lon": 28.74,
            "modes": {"air": {"seats_per_day": 300, "flight_hours": 3}},
        },
    ]
    base["name"] = "report-base"
    base["description"] = "A small network for the report tests: Kazakhstan, Georgia, Finland, and on to Kyrgyzstan and Turkey"
    base["period"] = {"start": "2022-09-14", "end": "2022-10-05"}
    base["scale"] = 0.01
    base["tick_minutes"] = 240
    base["departures"] = {**base["departures"], "pool_persons": 150000, "baseline_per_day": 6000}
    base["people"] = {**base["people"], "can_fly_share": 0.6, "international_passport_share": 0.5, "schengen_visa_share": 0.1}
    base["policies"] = base["policies"] + [
        {
            "id": "fi-asylum",
            "kind": "asylum",
            "country": "FI",
            "from": "2022-09-14",
            "who": {"groups": ["draft_age_men"]},
            "claim_share": 0.5,
            "at_border": True,
            "decisions_per_day": 150.0,
            "grant_share": 0.5,
            "processing_days": 5.0,
        }
    ]
    base.update(changes)
    return base


def report_policy(**changes: Any) -> dict[str, Any]:
    """The policy variant: Upper Lars closed to cars from 24 September."""
    policy = report_scenario(name="report-policy", description="What if Georgia had closed Upper Lars to cars on 24 September?")
    policy["policies"] = policy["policies"] + [
        {"id": "close-upper-lars", "kind": "closure", "crossing": "upper-lars", "mode": "car", "from": "2022-09-24"}
    ]
    policy.update(changes)
    return policy
