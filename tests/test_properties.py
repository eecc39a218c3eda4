"""Property-based tests: random valid scenarios keep the model's invariants.

A hypothesis strategy builds small scenarios (one or two origins, up to three
destination countries, up to four crossings, onward ones and air routes among them,
up to five dated policies of every kind, a few thousand simulated persons over a few
days).  Every run must

* account for every person: the final states sum to the departed, and each party's
  state agrees with what the ledger says happened to it (its last attempt, its moves);
* never have a negative queue, stock or backlog, and no attempt served before it
  arrived: waits are >= 0;
* obey the rules in force each day, read here from the scenario itself (not from the
  engine's tables): nobody enters a country without a document it accepts that day
  (unless claiming asylum at a border that takes claims), nobody is served at a
  crossing while it is closed, nobody is stopped by an exit screening not in force;
* give byte-identical outputs when run again.

The examples are derandomized (the same ones every run, so CI is not flaky); set
``HYPOTHESIS_PROFILE=explore`` to search afresh with more of them.
"""

from __future__ import annotations

import datetime as dt
import json
import os
from pathlib import Path
from typing import Any

import numpy as np
import pytest
from helpers import minimal_scenario_yaml, persons_in_countries
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st
from model_scenarios import country, crossing, day, lanes, policy_world

import sim
from sim.model.ledger import STATES, Decision, MoveKind, Status
from sim.model.policies import DocumentFlag
from sim.model.queueing import SERVED
from sim.scenario import ScenarioError, load_scenario
from sim.scenario.schema import Mode
from sim.scenario.errors import UsageError

settings.register_profile(
    "ci", max_examples=30, deadline=None, derandomize=True, database=None,
    suppress_health_check=[HealthCheck.too_slow],
)
settings.register_profile("explore", max_examples=300, deadline=None, suppress_health_check=[HealthCheck.too_slow])
PROFILE = settings.get_profile(os.environ.get("HYPOTHESIS_PROFILE", "ci"))

START = dt.date(2022, 9, 14)
DOCUMENTS = ["internal_passport", "international_passport", "schengen_visa_tourist", "schengen_visa_other"]
GROUPS = ["draft_age_men", "families", "others"]
ISOS = ["KZ", "GE", "FI"]


# --------------------------------------------------------------------------- the strategy


def _date(days: int) -> st.SearchStrategy[str]:
    return st.integers(0, days - 1).map(lambda d: (START + dt.timedelta(days=d)).isoformat())


@st.composite
def _span(draw: st.DrawFn, days: int) -> dict[str, str]:
    start = draw(st.integers(0, days - 1))
    span: dict[str, str] = {"from": (START + dt.timedelta(days=start)).isoformat()}
    if draw(st.booleans()):
        span["until"] = (START + dt.timedelta(days=draw(st.integers(start, days - 1)))).isoformat()
    return span


def _who(draw: st.DrawFn, *, documents: bool) -> dict[str, Any]:
    who: dict[str, Any] = {}
    if draw(st.booleans()):
        who["groups"] = draw(st.lists(st.sampled_from(GROUPS), min_size=1, max_size=3, unique=True))
    if documents and draw(st.booleans()):
        who["documents"] = draw(st.lists(st.sampled_from(DOCUMENTS), min_size=1, max_size=2, unique=True))
    return who


def _land_mode(draw: st.DrawFn) -> dict[str, Any]:
    return {
        "lanes": draw(st.integers(1, 4)),
        "service": {
            "distribution": draw(st.sampled_from(["exponential", "lognormal", "fixed"])),
            "mean_minutes": draw(st.floats(1, 60)),
        },
    }


@st.composite
def scenarios(draw: st.DrawFn) -> dict[str, Any]:
    """A small valid scenario (as a dict)."""
    days = draw(st.integers(3, 10))
    origins = [
        {"id": f"o{i}", "name": f"O{i}", "lat": draw(st.floats(45, 58)), "lon": draw(st.floats(30, 60)),
         "population_weight": draw(st.floats(0.5, 3))}
        for i in range(draw(st.integers(1, 2)))
    ]
    isos = ISOS[: draw(st.integers(1, 3))]
    countries = []
    for iso in isos:
        onward = draw(st.floats(0, 0.6))
        countries.append({
            "iso": iso, "name": iso,
            # Most countries admit someone, so that entries happen; the entry policies close doors.
            "accepts": draw(st.lists(st.sampled_from(DOCUMENTS), min_size=1, max_size=4, unique=True)),
            "visa_free_days": draw(st.sampled_from([0, 2, 5, 90])),
            "refusal_share": draw(st.sampled_from([0.0, 0.0, 0.2])),
            "dwell_days": {"distribution": draw(st.sampled_from(["fixed", "lognormal"])), "mean": draw(st.floats(0.2, 6))},
            "onward_share": onward,
            "return_share": draw(st.floats(0, 1 - onward)),
        })
    crossings = []
    for i in range(draw(st.integers(1, 4))):
        to = draw(st.sampled_from(isos))
        leaving = draw(st.sampled_from(["RU"] + [iso for iso in isos if iso != to]))
        crossing: dict[str, Any] = {
            "id": f"x{i}", "name": f"X{i}", "to": to, "lat": draw(st.floats(40, 62)), "lon": draw(st.floats(25, 70)),
        }
        if leaving != "RU":
            crossing["from"] = leaving
        elif draw(st.booleans()):
            crossing["travel_hours"] = {origins[0]["id"]: draw(st.floats(0.5, 30))}
        if draw(st.integers(0, 4)) == 0:
            crossing["modes"] = {"air": {"seats_per_day": draw(st.floats(5, 500)), "flight_hours": draw(st.floats(0, 8))}}
            crossing["arrival_lat"], crossing["arrival_lon"] = draw(st.floats(35, 60)), draw(st.floats(20, 60))
        else:
            kinds = draw(st.lists(st.sampled_from(["car", "foot", "bus"]), min_size=1, max_size=3, unique=True))
            crossing["modes"] = {kind: _land_mode(draw) for kind in sorted(kinds)}
        crossings.append(crossing)
    group_ids = draw(st.lists(st.sampled_from(GROUPS), min_size=1, max_size=3, unique=True))
    weights = [draw(st.integers(1, 4)) for _ in group_ids]
    shares = [w / sum(weights) for w in weights]
    shares[-1] = 1 - sum(shares[:-1])
    groups = []
    for gid, share in zip(group_ids, shares):
        sizes = draw(st.sampled_from([[1, 0, 0, 0, 0], [0.5, 0.3, 0.2, 0, 0], [0, 0.2, 0.3, 0.3, 0.2]]))
        group: dict[str, Any] = {"id": gid, "share": share, "party_size": sizes}
        if draw(st.booleans()):
            group["patience_hours"] = {"mean": draw(st.floats(0.5, 48)), "cv": draw(st.floats(0, 1))}
        groups.append(group)
    passport = draw(st.floats(0.3, 1))
    people = {
        "groups": groups,
        "international_passport_share": passport,
        "schengen_visa_share": draw(st.floats(0, passport)),
        "car_share": draw(st.floats(0, 1)),
        "can_fly_share": draw(st.floats(0, 1)),
        "rechoose_share": draw(st.floats(0, 1)),
        "max_attempts": draw(st.integers(1, 6)),
    }
    # Hypothesis tries the first choice and the low end first: make those busy runs.
    departures: dict[str, Any] = {
        "pool_persons": draw(st.sampled_from([50_000, 200_000, 0])),
        "pool_hazard_per_day": draw(st.floats(0.01, 0.2)),
        "baseline_per_day": draw(st.sampled_from([2_000, 5_000, 0])),
    }
    if draw(st.booleans()):
        departures["shocks"] = [{"id": "shock", "date": draw(_date(days)), "hour": draw(st.floats(0, 23)),
                                 "peak_per_day": draw(st.floats(0, 0.3)), "half_life_days": draw(st.floats(0.5, 5))}]
    policies = [draw(_policy(days, isos, crossings)) for _ in range(draw(st.integers(0, 5)))]
    return {
        "name": "random", "description": "a random valid scenario",
        "period": {"start": START.isoformat(), "end": (START + dt.timedelta(days=days - 1)).isoformat(),
                   "warmup_days": draw(st.sampled_from([0, 0, 2]))},
        "seed": draw(st.integers(0, 2**32)), "scale": draw(st.sampled_from([0.01, 0.02, 0.05])),
        "tick_minutes": draw(st.sampled_from([30, 60, 120])),
        "origins": origins, "countries": countries, "crossings": crossings,
        "departures": departures, "people": people,
        "choice": {"information_lag_hours": draw(st.floats(0, 24)), "report_interval_hours": draw(st.floats(1, 12))},
        "policies": policies,
    }


@st.composite
def _policy(draw: st.DrawFn, days: int, isos: list[str], crossings: list[dict[str, Any]]) -> dict[str, Any]:
    kind = draw(st.sampled_from(["closure", "entry", "exit_screening", "capacity", "stay_limit", "asylum"]))
    policy: dict[str, Any] = {"kind": kind, **draw(_span(days))}
    crossing = draw(st.sampled_from(crossings))
    modes = sorted(crossing["modes"])
    if kind == "closure":
        policy["crossing"] = crossing["id"]
        if draw(st.booleans()):
            policy["mode"] = draw(st.sampled_from(modes))
    elif kind == "entry":
        policy["country"] = draw(st.sampled_from(isos))
        policy["accepts"] = draw(st.lists(st.sampled_from(DOCUMENTS), max_size=3, unique=True))
        policy["who"] = _who(draw, documents=False)
        if draw(st.booleans()):
            policy["visa_free_days"] = draw(st.integers(0, 5))
    elif kind == "exit_screening":
        home_side = [c["id"] for c in crossings if "from" not in c]
        if home_side and draw(st.booleans()):
            policy["crossing"] = draw(st.sampled_from(home_side))
        policy["who"] = _who(draw, documents=True)
        policy["share"] = draw(st.sampled_from([0.0, 0.3, 1.0]))
        policy["outcome"] = draw(st.sampled_from(["turned_back", "mobilised"]))
    elif kind == "capacity":
        mode = draw(st.sampled_from(modes))
        policy.update(crossing=crossing["id"], mode=mode)
        if mode == "air":
            policy["seats_per_day"] = draw(st.floats(1, 300))
        elif draw(st.booleans()):
            policy["lanes"] = draw(st.integers(1, 3))
        else:
            policy["service_mean_minutes"] = draw(st.floats(0.5, 90))
    elif kind == "stay_limit":
        policy.update(country=draw(st.sampled_from(isos)), days=draw(st.integers(1, 5)))
    else:
        policy.update(
            country=draw(st.sampled_from(isos)), who=_who(draw, documents=True), claim_share=draw(st.floats(0, 1)),
            at_border=draw(st.booleans()), decisions_per_day=draw(st.floats(1, 200)),
            grant_share=draw(st.floats(0, 1)), processing_days=draw(st.floats(0, 3)),
        )
    return policy


# --------------------------------------------------------------------------- the rules, read from the scenario


def _mask(documents: list[Any]) -> int:
    mask = 0
    for document in documents:
        mask |= DocumentFlag[getattr(document, "value", document)]
    return mask


def _in_force(policy: Any, date: dt.date) -> bool:
    return policy.from_ <= date and (policy.until is None or date <= policy.until)


def _concerns(who: Any, group: str, documents: int) -> bool:
    if who.groups is not None and group not in [g.value for g in who.groups]:
        return False
    return who.documents is None or bool(documents & _mask(who.documents))


def accepted(scenario: Any, iso: str, date: dt.date, group: str) -> int:
    """Documents ``iso`` accepts from ``group`` on ``date``: its standing rule, or the last entry policy in force."""
    country = next(c for c in scenario.countries if c.iso == iso)
    mask = _mask(country.accepts)
    for policy in scenario.policies:
        if policy.kind == "entry" and policy.country == iso and _in_force(policy, date) and _concerns(policy.who, group, 0xFF):
            mask = _mask(policy.accepts)
    return mask


def closed(scenario: Any, crossing: str, mode: str, date: dt.date) -> bool:
    return any(
        p.kind == "closure" and p.crossing == crossing and (p.mode is None or p.mode.value == mode) and _in_force(p, date)
        for p in scenario.policies
    )


def screening(scenario: Any, crossing: str, date: dt.date, group: str, documents: int) -> tuple[float, str | None]:
    """Share stopped and outcome of the last exit screening in force there for this party."""
    share, outcome = 0.0, None
    for p in scenario.policies:
        if p.kind == "exit_screening" and p.crossing in (None, crossing) and _in_force(p, date) and _concerns(p.who, group, documents):
            share, outcome = p.share, p.outcome
    return share, outcome


# --------------------------------------------------------------------------- the checks


def check_accounting(result: sim.Result) -> None:
    """Every person in exactly one state, and each party's state what its record says."""
    ledger, people = result.ledger, result.people
    size = ledger.parties.size.astype(np.int64)
    assert sum(people["by_state"].values()) == people["departed"] == int(size.sum())
    assert set(people["by_state"]) == set(STATES)
    daily = result.daily.to_pydict()
    if not ledger.warmup_days:  # the daily table leaves the warm-up out
        departures = sum(v for m, v in zip(daily["measure"], daily["value"]) if m == "departures")
        assert abs(departures * result.scale - people["departed"]) <= 1e-6 * max(1, people["departed"])

    legs = ledger.legs
    n = len(size)
    last = np.full(n, -1)
    np.maximum.at(last, legs["party"].astype(np.int64), np.arange(len(legs["party"])))
    status = ledger.status
    no_leg = last < 0
    # A party that found no crossing it could use never set off.
    assert (status[no_leg] == Status.NO_ROUTE_HOME).all(), np.unique(status[no_leg])
    assert not (status[~no_leg] == Status.NO_ROUTE_HOME).any()
    has = ~no_leg
    decision = np.full(n, -99)
    served = np.full(n, -99)
    decision[has] = legs["decision"][last[has]]
    served[has] = legs["served"][last[has]]
    undecided = has & (decision == Decision.UNDECIDED)
    assert set(np.unique(status[undecided])) <= {Status.TRAVELLING, Status.QUEUED}
    # Travelling: on the way to a crossing (not yet served), or in the air: boarded before
    # the end and landing after it.  Queued: served, or being served, on the near side.
    alt = np.zeros(n, dtype=np.int64)
    alt[has] = legs["alt"][last[has]]
    leave = np.full(n, np.nan)
    leave[has] = legs["leave"][last[has]]
    crossings = ledger.scenario.crossings
    flight = np.array([crossings[c].modes[m].flight_hours if m is Mode.air else 0.0 for c, m in ledger.alternatives.pairs])[alt]
    boarded = has & (decision == Decision.UNDECIDED) & (served == SERVED) & ledger.alternatives.air[alt]
    flying = boarded & (leave - flight <= ledger.horizon_hours)
    # (one way: a leg stopped by exit screening before boarding is pending too, and queued)
    assert not (has & (status == Status.TRAVELLING) & (served != -1) & ~flying).any()
    assert (decision[has & (status == Status.TRAVELLING)] == Decision.UNDECIDED).all()
    assert (served[has & (status == Status.QUEUED)] != -1).all()
    assert (decision[has & (status == Status.QUEUED)] == Decision.UNDECIDED).all()
    ends = {
        Status.REFUSED_HOME: Decision.REFUSED, Status.TURNED_AWAY_HOME: Decision.TURNED_AWAY,
        Status.GAVE_UP_HOME: Decision.GAVE_UP, Status.TURNED_BACK: Decision.TURNED_BACK, Status.MOBILISED: Decision.MOBILISED,
    }
    for state, code in ends.items():
        assert (decision[status == state] == code).all(), STATES[state]
    abroad = np.isin(status, [Status.IN_COUNTRY, Status.ASYLUM_PENDING, Status.ASYLUM_GRANTED])
    assert (decision[abroad] == Decision.ENTERED).all()
    alt_country = ledger.alternatives.country[legs["alt"][last[abroad]]]
    assert (ledger.country[abroad] == alt_country).all()
    assert (ledger.country[~abroad] == -1).all()
    went_home = np.zeros(n, dtype=bool)
    went_home[ledger.moves["party"][ledger.moves["kind"] == MoveKind.HOME]] = True
    assert went_home[status == Status.RETURNED_HOME].all()
    assert (decision[status == Status.RETURNED_HOME] == Decision.ENTERED).all()
    # Each country's final stock is the persons the ledger leaves there.
    stock = {p: v for d, p, m, v in zip(daily["date"], daily["place"], daily["measure"], daily["value"])
             if m == "stock" and d == max(daily["date"])}
    in_countries = persons_in_countries(ledger)
    for index, destination in enumerate(result.scenario.countries):
        there = int(in_countries[index])
        assert abs(stock[destination.iso] * result.scale - there) < 1e-6 * max(1, there) + 1e-9, destination.iso


def check_no_negative(result: sim.Result) -> None:
    """No negative count anywhere, waits >= 0, nobody leaves a queue before joining it."""
    daily = result.daily.to_pydict()
    values = np.array(daily["value"])
    assert np.isfinite(values).all()
    assert (values >= -1e-9).all(), [(p, m) for p, m, v in zip(daily["place"], daily["measure"], values) if v < -1e-9][:5]
    legs = result.ledger.legs
    processed = legs["served"] >= 0
    was_served = legs["served"] == SERVED
    assert (legs["start"][was_served] >= legs["arrive"][was_served]).all()
    assert (legs["leave"][was_served] >= legs["start"][was_served]).all()
    assert (legs["leave"][processed & ~was_served] >= legs["arrive"][processed & ~was_served]).all()


def check_rules(result: sim.Result) -> None:
    """Entries, services and screenings obey the rules in force that day."""
    # The ledger's clock starts with the warm-up, where its copy of the scenario's period starts.
    scenario, ledger = result.ledger.scenario, result.ledger
    start = scenario.period.start
    legs, parties, alts = ledger.legs, ledger.parties, ledger.alternatives
    days = (scenario.period.end - start).days + 1
    isos = [c.iso for c in scenario.countries]
    claims = ledger.claims
    lodged = {(int(p), int(c), float(t)) for p, c, t in zip(claims["party"], claims["country"], claims["lodged"])}
    for leg in range(len(legs["party"])):
        party, alt, decision = int(legs["party"][leg]), int(legs["alt"][leg]), int(legs["decision"][leg])
        group = parties_group(parties, party)
        documents = int(parties.documents[party])
        crossing = scenario.crossings[int(alts.crossing[alt])]
        mode = alts.mode[alt].value
        if legs["served"][leg] == SERVED:
            started = start + dt.timedelta(days=int(legs["start"][leg] // 24))
            assert not closed(scenario, crossing.id, mode, started), (crossing.id, mode, started)
        if decision in (Decision.UNDECIDED, Decision.TURNED_AWAY, Decision.GAVE_UP):
            continue
        assert legs["served"][leg] == SERVED
        leave = float(legs["leave"][leg])
        date = start + dt.timedelta(days=min(int(leave // 24), days - 1))
        iso = isos[int(alts.country[alt])]
        admissible = bool(accepted(scenario, iso, date, group) & documents)
        if decision == Decision.ENTERED and not admissible:
            # Only as an asylum claimant at a border that takes claims.
            assert (party, int(alts.country[alt]), leave) in lodged, (iso, date, group, documents)
            assert any(p.kind == "asylum" and p.at_border and p.country == iso and _in_force(p, date) for p in scenario.policies)
        if decision == Decision.REFUSED:
            assert not admissible or scenario.countries[int(alts.country[alt])].refusal_share > 0
        if decision in (Decision.TURNED_BACK, Decision.MOBILISED):
            assert crossing.from_ is None
            # Screened when service on the home side ends: the attempt's leave time.
            share, outcome = screening(scenario, crossing.id, date, group, documents)
            assert share > 0 and outcome == ("turned_back" if decision == Decision.TURNED_BACK else "mobilised")


def parties_group(parties: Any, party: int) -> str:
    from sim.model.policies import GROUPS

    return GROUPS[int(parties.group[party])].value


# --------------------------------------------------------------------------- the properties


@settings(PROFILE)
@given(scenarios())
def test_random_scenarios_keep_the_invariants(data: dict[str, Any]) -> None:
    result = sim.run(data)
    check_accounting(result)
    check_no_negative(result)
    check_rules(result)
    again = sim.run(json.loads(json.dumps(data)))
    assert again.daily_csv == result.daily_csv
    assert again.people == result.people


# --------------------------------------------------------------------------- regressions the properties found


def test_regression_parties_with_no_usable_crossing_end_no_route_home() -> None:
    """Only an air route, and half the parties cannot fly: those never set off.

    They used to stay ``travelling`` to the end (the state no_route_home was never set).
    """
    data = policy_world(
        days=3, countries=[country("KZ")], crossings=[crossing("x0", "KZ", air={"seats_per_day": 50, "flight_hours": 1})],
        departures={"pool_persons": 0, "baseline_per_day": 200}, people={"can_fly_share": 0.5},
    )
    result = sim.run(data)
    check_accounting(result)
    no_route = result.people["by_state"]["no_route_home"]
    assert 0.3 < no_route / result.people["departed"] < 0.7


def test_regression_a_run_in_which_nobody_departs(tmp_path: Path) -> None:
    """No pool and no baseline: an empty run, not an IndexError in the wait statistics."""
    data = policy_world(
        days=3, countries=[country("KZ")], crossings=[crossing("x0", "KZ", car=lanes(1, 5))],
        departures={"pool_persons": 0, "baseline_per_day": 0},
    )
    result = sim.run(data)
    assert result.people["departed"] == 0
    check_no_negative(result)
    assert (result.write(tmp_path / "run") / "manifest.json").is_file()


def test_regression_a_stay_ending_at_the_last_instant_counts_as_an_exit() -> None:
    """A 2-day stay limit from day 1 of 3 ends stays at 24:00 of the last day, the period's end.

    The engine sent those parties home then, but the daily table dropped their exits
    (it kept times before the end only): the final stock counted people who had left.
    """
    data = policy_world(
        days=3, countries=[country("KZ")], crossings=[crossing("x0", "KZ", hours=1.0, foot=lanes(4, 1))],
        departures={"pool_persons": 0, "baseline_per_day": 200},
        policies=[{"kind": "stay_limit", "country": "KZ", "from": day(1), "days": 2}],
    )
    result = sim.run(data)
    assert (result.ledger.moves["time"] == result.ledger.horizon_hours).sum() > 0
    check_accounting(result)


# --------------------------------------------------------------------------- extreme numbers

# The small scenario with one of each kind of thing a number can belong to.
_EXTREME_BASE = """\
  - id: asylum-ge
    kind: asylum
    from: 2022-09-20
    country: GE
    claim_share: 0.5
    at_border: true
    decisions_per_day: 100
    grant_share: 0.5
    processing_days: 2
  - id: more-lanes
    kind: capacity
    from: 2022-09-20
    crossing: vaalimaa
    mode: car
    lanes: 2
  - id: limit-kz
    kind: stay_limit
    from: 2022-09-20
    country: KZ
    days: 5
  - id: announced
    kind: announcement
    from: 2022-09-18
    of: finland-closes-to-tourists
    departure_multiplier: 2
"""
_AIR = "crossings:\n  - id: air\n    name: Air\n    to: FI\n    lat: 55\n    lon: 37\n    modes:\n      air: {seats_per_day: 100, flight_hours: 3}\n"

#: Numeric paths of that scenario, and whether each takes a whole number.
_NUMBERS = {
    "countries.KZ.visa_free_days": int, "countries.KZ.appeal": float, "countries.KZ.dwell_days.mean": float,
    "countries.KZ.dwell_days.cv": float, "crossings.upper-lars.modes.car.lanes": int,
    "crossings.upper-lars.modes.car.service.mean_minutes": float, "crossings.upper-lars.modes.car.service.cv": float,
    "crossings.upper-lars.travel_hours.vladikavkaz": float, "crossings.air.modes.air.seats_per_day": float,
    "crossings.air.modes.air.flight_hours": float, "departures.pool_hazard_per_day": float,
    "departures.shocks.mobilization.peak_per_day": float, "departures.shocks.mobilization.half_life_days": float,
    "departures.shocks.mobilization.rise_hours": float, "departures.baseline_trip_days.mean": float,
    "people.groups.draft_age_men.patience_hours.mean": float, "choice.information_lag_hours": float,
    "choice.report_interval_hours": float, "choice.wait_hour_utility": float, "choice.travel_hour_utility": float,
    "travel.speed_kmh": float, "travel.detour_factor": float, "policies.asylum-ge.decisions_per_day": float,
    "policies.asylum-ge.processing_days": float, "policies.more-lanes.lanes": int, "policies.limit-kz.days": int,
    "policies.limit-kz.window_days": int, "policies.announced.departure_multiplier": float,
}


@st.composite
def _extreme(draw: st.DrawFn) -> str:
    path = draw(st.sampled_from(sorted(_NUMBERS)))
    if _NUMBERS[path] is int:
        value = draw(st.one_of(st.integers(-5, 5), st.integers(-(2**70), 2**70)))
    else:
        value = draw(st.floats(allow_nan=False, allow_infinity=False))
    return f"{path}={value!r}"


def _extreme_scenario() -> str:
    text = minimal_scenario_yaml().replace("crossings:\n", _AIR, 1) + _EXTREME_BASE
    for old, new in (
        ("0.05, 0.05, 0]\n", "0.05, 0.05, 0]\n      patience_hours: {mean: 24}\n"),
        ("  baseline_per_day: 20000\n", "  baseline_per_day: 20000\n  baseline_trip_days: {mean: 5}\n"),
        ("    visa_free_days: 90\n", "    visa_free_days: 90\n    dwell_days: {mean: 3}\n"),
    ):
        assert text.count(old) == 1, old
        text = text.replace(old, new)
    return text


@settings(PROFILE, max_examples=20)
@given(override=_extreme())
def test_any_number_validation_accepts_runs(override: str, tmp_path_factory: pytest.TempPathFactory) -> None:
    """A value is refused with a message, or the run works: never a crash, nor a machine brought down.

    Extreme values once overflowed the clock (a travel time of 1e300 hours: an IndexError) or
    memory (1e18 lanes: the process killed).
    """
    path = tmp_path_factory.mktemp("extreme") / "s.yaml"
    path.write_text(_extreme_scenario(), encoding="utf-8")
    try:
        loaded = load_scenario(path, [override])
    except ScenarioError as error:
        assert len(error.problems) == 1 and error.problems[0].path, error.problems
        return
    try:
        result = sim.run(loaded, scale=0.001)
    except UsageError:  # more persons than a run may hold
        return
    check_accounting(result)
