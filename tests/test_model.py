"""The model end to end: queueing theory through the engine, accounting, determinism, policies."""

from __future__ import annotations

import math
from concurrent.futures import ThreadPoolExecutor

import numpy as np
import pytest

import sim
from sim.model.engine import Decision
from sim.model.policies import DocumentFlag
from sim.run.outputs import STATES
from model_scenarios import mmc_scenario, network_scenario
from test_queueing_theory import erlang_c_wait


def daily_value(result: sim.Result, date: str, place: str, measure: str) -> float:
    table = result.daily
    for d, p, m, v in zip(*(table[c].to_pylist() for c in ("date", "place", "measure", "value"))):
        if (d, p, m) == (date, place, measure):
            return v
    raise KeyError((date, place, measure))


def test_mmc_through_the_engine_matches_erlang_c() -> None:
    """Poisson departures, fixed travel time, exponential service: the crossing is M/M/3.

    About 200,000 customers at rho = 0.7 (standard error about 2%); tolerance 5%.
    """
    lanes, rho, mean_minutes = 3, 0.7, 6.0
    result = sim.run(mmc_scenario(lanes, rho, mean_minutes, days=400))
    legs = result.ledger.legs
    wait = legs["start"] - legs["arrive"]
    wait = wait[np.isfinite(wait)]
    assert len(wait) > 190_000
    simulated = wait[len(wait) // 20 :].mean()
    service_rate = 60.0 / mean_minutes
    assert simulated == pytest.approx(erlang_c_wait(rho * lanes * service_rate, service_rate, lanes), rel=0.05)


@pytest.mark.parametrize("seed", [1, 2, 3])
def test_every_person_is_accounted_for(seed: int) -> None:
    result = sim.run(network_scenario(), seed=seed)
    people = result.people
    assert set(people["by_state"]) == set(STATES)
    assert sum(people["by_state"].values()) == people["departed"] > 10_000
    assert people["departed"] == int(result.ledger.parties.size.sum())
    # And the daily departures, scaled back, add up to the same people.
    departures = sum(v for p, m, v in zip(result.daily["place"].to_pylist(), result.daily["measure"].to_pylist(), result.daily["value"].to_pylist()) if (p, m) == ("RU", "departures"))
    assert departures == pytest.approx(people["departed"] / result.scale)


def test_same_seed_same_bytes_and_other_seed_differs() -> None:
    first = sim.run(network_scenario(), seed=11).daily_csv
    again = sim.run(network_scenario(), seed=11).daily_csv
    other = sim.run(network_scenario(), seed=12).daily_csv
    assert first == again
    assert first != other


def test_runs_share_no_state_in_one_process() -> None:
    """Interleaved and concurrent runs of two scenarios give the same bytes as lone runs."""
    closed = network_scenario(
        policies=[{"kind": "closure", "crossing": "syrym", "from": "2022-09-20", "until": "2022-09-30"}]
    )
    alone_a = sim.run(network_scenario(), seed=3).daily_csv
    alone_b = sim.run(closed, seed=3).daily_csv
    with ThreadPoolExecutor(max_workers=2) as pool:
        a, b = pool.map(lambda s: sim.run(s, seed=3).daily_csv, [network_scenario(), closed])
    assert (a, b) == (alone_a, alone_b)
    assert sim.run(network_scenario(), seed=3).daily_csv == alone_a


def test_closure_gives_zero_entries_and_shifts_people_elsewhere() -> None:
    closure = {"kind": "closure", "crossing": "syrym", "from": "2022-09-22", "until": "2022-09-30"}
    base = network_scenario()
    closed = network_scenario(policies=[*base["policies"], closure])
    before, after = sim.run(base, seed=5), sim.run(closed, seed=5)
    days = [f"2022-09-{d}" for d in range(22, 31)]
    # No service starts while closed; a car already at the booth at 00:00 on the 22nd is finished.
    legs = after.ledger.legs
    at_syrym = after.ledger.alternatives.crossing[legs["alt"]] == 1
    closed_hours = (8 * 24.0, 17 * 24.0)  # 22 Sept 00:00 to 1 Oct 00:00
    started = legs["start"][at_syrym]
    assert not ((started >= closed_hours[0]) & (started < closed_hours[1])).any()
    assert all(daily_value(after, d, "syrym", "entries") == 0 for d in days[1:])
    assert daily_value(after, days[0], "syrym", "entries") < 0.05 * daily_value(before, days[0], "syrym", "entries")
    assert all(daily_value(after, d, "syrym", "queue_persons_max") == 0 for d in days[1:])
    assert sum(daily_value(before, d, "syrym", "entries") for d in days) > 1000
    # The people go elsewhere: more come to Kairak and Upper Lars (which may already run at capacity).
    other = lambda r, place: sum(daily_value(r, d, place, "arrivals") for d in days)  # noqa: E731
    assert other(after, "kairak") > 1.2 * other(before, "kairak")
    assert other(after, "upper-lars") > other(before, "upper-lars")
    # Those in the queue when it closed were turned away on the first day.
    assert daily_value(after, "2022-09-22", "syrym", "turned_away") > 0
    # It reopens.
    assert daily_value(after, "2022-10-02", "syrym", "entries") > 0
    assert sum(after.people["by_state"].values()) == after.people["departed"]


def test_entry_rule_checked_on_the_day_of_entry() -> None:
    """From 30 Sept Finland admits only non-tourist Schengen visas: no tourist-visa-only entries after."""
    result = sim.run(network_scenario(), seed=9)
    legs, parties = result.ledger.legs, result.ledger.parties
    alternatives = result.ledger.alternatives
    finland = [c.iso for c in result.scenario.countries].index("FI")
    entered = (legs["decision"] == Decision.ENTERED) & (alternatives.country[legs["alt"]] == finland)
    day = legs["leave"] // 24
    policy_day = 16  # 2022-09-30 is day 16 after 2022-09-14
    documents = parties.documents[legs["party"]]
    after = entered & (day >= policy_day)
    assert entered[day < policy_day].any()
    assert not ((documents[after] & DocumentFlag.schengen_visa_other) == 0).any()
    refused = (legs["decision"] == Decision.REFUSED) & (alternatives.country[legs["alt"]] == finland)
    assert refused[day >= policy_day].any()


def test_wait_reports_are_lagged() -> None:
    """Choices see waits as reported information_lag_hours ago, never the queue as it is.

    With a lag longer than the period no report is ever old enough to be seen, so the
    run must be exactly the run in which people ignore waits; with a 12-hour lag they
    react, and the run differs.
    """
    base = network_scenario()
    never_seen = sim.run({**base, "choice": {"information_lag_hours": 10_000}}, seed=4)
    ignored = sim.run({**base, "choice": {"wait_hour_utility": 0.0}}, seed=4)
    reacting = sim.run({**base, "choice": {"information_lag_hours": 12}}, seed=4)
    assert never_seen.daily_csv == ignored.daily_csv
    assert reacting.daily_csv != ignored.daily_csv
    times, waits = reacting.ledger.report_times, reacting.ledger.report_waits
    np.testing.assert_allclose(np.diff(times), reacting.scenario.choice.report_interval_hours)
    assert waits.max() > 1.0 and math.isfinite(waits.max())  # a queue formed and was reported
