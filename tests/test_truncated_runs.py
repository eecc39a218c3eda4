"""A run stopped early (``run(until=day)``) reads, day by day, exactly as the whole run.

Calibration relies on it: its fit targets all read days in September, so its runs
stop there instead of simulating to the end of October. The model draws nothing
ahead of time that a later day would change (every party owns fixed rows of
uniforms); what it looks ahead at is the rules, as travellers plan with those known
for the day they expect to arrive, so a stopped run keeps the whole period's rules
(the exit ban stopped on its first day, 22 Sept, once read more arrivals at Kyakhta
that day than the whole run: cut at the stop, the rules hid Upper Lars' foot lanes,
known to open on 25 Sept, from those planning on 22 Sept). These tests hold it on
the shipped baseline, on what-ifs whose policies start after the stop day, and on
a small world with a day-by-day policy change.
"""

from __future__ import annotations

import datetime as dt

import pytest

import sim
from sim.run.api import run_sha256
from sim.scenario.errors import UsageError
from helpers import daily_values
from model_scenarios import network_scenario

BASELINE = "scenarios/mobilization-2022.yaml"


def _same_days(whole: sim.Result, stopped: sim.Result, until: dt.date) -> None:
    got = daily_values(stopped)
    want = {key: value for key, value in daily_values(whole).items() if key[0] <= until.isoformat()}
    assert got and max(key[0] for key in got) == until.isoformat()
    # A whole run writes rows for measures that only later days fill (e.g. the US
    # asylum counters, all zero before the first claim); the stopped run may leave
    # them out. Every row it has must match, and every non-zero one must be there.
    assert got == {key: want.get(key) for key in got}
    assert {key for key, value in want.items() if value != 0} <= set(got)


@pytest.mark.parametrize(
    ("scenario", "until"),
    [
        (BASELINE, dt.date(2022, 9, 29)),  # before Finland's ban of 30 Sept: it never comes
        ("scenarios/russia-exit-ban.yaml", dt.date(2022, 9, 22)),  # the ban's first day
        ("scenarios/kazakhstan-passport-only.yaml", dt.date(2022, 9, 14)),  # the first reported day
    ],
)
def test_shipped_scenarios_stopped_early_read_as_whole_runs(scenario: str, until: dt.date) -> None:
    whole = sim.run(scenario, seed=11, scale=0.01)
    stopped = sim.run(scenario, seed=11, scale=0.01, until=until)
    _same_days(whole, stopped, until)
    assert stopped.until == until and whole.until is None
    assert stopped.manifest()["until"] == until.isoformat() and "until" not in whole.manifest()
    # a stopped run is never taken for the whole one (the memo reuses runs by this digest)
    assert stopped.manifest()["scenario_sha256"] != whole.manifest()["scenario_sha256"]
    assert whole.manifest()["scenario_sha256"] == run_sha256(whole.loaded, 11, 0.01)
    # Everyone is accounted for that night, and only those who had set off: the parties
    # due to leave after the stop are neither departed nor travelling.
    later = sum(value for (day, place, measure), value in daily_values(whole).items()
                if place == "RU" and measure == "departures" and day > until.isoformat())
    assert later > 0
    departed = stopped.people["departed"]
    assert whole.people["departed"] - departed == pytest.approx(later * 0.01, abs=1e-6)
    assert sum(stopped.people["by_state"].values()) == departed


def test_a_policy_after_the_stop_never_comes() -> None:
    # Closing Kairak from 25 Sept (unannounced): stopped on 24 Sept, the run is the open
    # world's, though those queued at 24:00 are turned away then, at the start of 25 Sept.
    data = network_scenario()
    closed = network_scenario(policies=[*data["policies"], {"kind": "closure", "crossing": "kairak", "from": "2022-09-25"}])
    until = dt.date(2022, 9, 24)
    open_world = sim.run(data, seed=3, scale=0.05, until=until)
    closed_world = sim.run(closed, seed=3, scale=0.05, until=until)
    assert open_world.daily.equals(closed_world.daily)
    _same_days(sim.run(closed, seed=3, scale=0.05), closed_world, until)


def test_a_stop_outside_the_period_is_a_usage_error() -> None:
    with pytest.raises(UsageError, match=r"until: expected a date within the period 2022-09-14\.\.2022-10-31, found 2022-11-01"):
        sim.run(BASELINE, seed=1, scale=0.01, until=dt.date(2022, 11, 1))


def test_stopped_on_the_last_day_is_the_whole_run() -> None:
    """Stays that a stay limit ends at exactly 24:00 of the period's last day count on that day in both.

    The 90-day limit counted from 14 Sept forces out those who entered in the warm-up at 00:00
    on 13 Dec: with the period ending on 12 Dec, those exits fall at its very end.
    """
    scenario, overrides = "scenarios/kazakhstan-stay-limit.yaml", ["period.end=2022-12-12"]
    whole = sim.run(scenario, seed=1, scale=0.005, overrides=overrides)
    stopped = sim.run(scenario, seed=1, scale=0.005, overrides=overrides, until=dt.date(2022, 12, 12))
    got, want = daily_values(stopped), daily_values(whole)
    assert got == want
    # the case at issue: moves at the period's very end, counted on its last day
    moves = whole.ledger.moves
    assert (moves["time"] == whole.ledger.horizon_hours).sum() > 0


def test_a_stopped_runs_folder_plots_and_its_scenario_reruns(tmp_path, cli) -> None:
    """The manifest's scenario is a scenario (``until`` sits beside it): plot reads it, and it runs as it did."""
    until = dt.date(2022, 9, 20)
    stopped = sim.run(BASELINE, seed=1, scale=0.002, until=until)
    folder = tmp_path / "run"
    stopped.write(folder)
    manifest = stopped.manifest()
    assert "until" not in manifest["scenario"] and manifest["until"] == until.isoformat()
    result = cli("plot", str(folder), "-q")
    assert result.exit_code == 0, result.stderr
    assert any((folder / "figures").iterdir())
    again = sim.run(manifest["scenario"], until=until)
    assert again.daily_csv == stopped.daily_csv
    assert again.manifest()["scenario_sha256"] == manifest["scenario_sha256"]
