"""Calibration targets: the shipped file, reading a run, scoring, and problems in broken files."""

from __future__ import annotations

import math
from pathlib import Path

import numpy as np
import pyarrow as pa
import pytest
from helpers import position_of

import sim
from sim.run.daily_measures import measures_of
from sim.calibrate.targets import (
    COUNTRY_MEASURES,
    CROSSING_MEASURES,
    HOME_MEASURES,
    Target,
    check_targets,
    load_targets,
    score,
    simulated_value,
    summarise,
)
from sim.scenario import ScenarioError, load_scenario

ROOT = Path(__file__).resolve().parent.parent
TARGETS = ROOT / "calibration" / "targets.yaml"


@pytest.fixture(scope="module")
def shipped():
    return load_targets(TARGETS)


@pytest.fixture(scope="module")
def small_run(shipped):
    return sim.run(shipped.scenario_path(), seed=1, scale=0.02)


# --------------------------------------------------------------------------- the shipped file


def test_shipped_targets_load(shipped):
    ids = [t.id for t in shipped.targets]
    assert len(ids) == len(set(ids)) >= 30
    assert {t.use for t in shipped.targets} == {"fit", "check"}
    assert all(t.quote.strip() and t.source.strip() for t in shipped.targets)
    assert shipped.scenario_path().name == "mobilization-2022.yaml"


def test_shipped_targets_check_against_the_default_scenario(shipped):
    scenario = load_scenario(shipped.scenario_path()).scenario
    assert check_targets(shipped, scenario) == []


def test_every_target_resolves_in_a_real_run(shipped, small_run):
    values = {t.id: simulated_value(t, small_run.daily) for t in shipped.targets}
    assert all(math.isfinite(v) and v >= 0 for v in values.values()), values
    # The announcement lifts Kazakhstan's entries above its baseline.
    baseline = values["kz-baseline"] * 6
    assert values["kz-in-0921-0926"] > baseline


def _measures_written(run) -> dict[str, set[str]]:
    crossings = {c.id for c in run.scenario.crossings}
    countries = {c.iso for c in run.scenario.countries}
    written: dict[str, set[str]] = {"crossing": set(), "country": set(), "home": set()}
    for place, measure in set(zip(run.daily["place"].to_pylist(), run.daily["measure"].to_pylist())):
        kind = "crossing" if place in crossings else "country" if place in countries else "home"
        written[kind].add(measure)
    return written


def test_measure_lists_match_a_real_run(small_run):
    """The daily measures named in sim.run.daily_measures are exactly those a run writes, by kind of place.

    The targets read their lists of measures from there, so they accept exactly these.  Asylum measures
    are written only for countries where claims were lodged, so the run is the US asylum track's, where
    they are (the baseline may have a claim or none at this scale: its other measures are the same).
    """

    written = _measures_written(sim.run(str(ROOT / "scenarios" / "us-asylum-track.yaml"), seed=1, scale=0.02))
    assert written == {kind: set(measures_of(place=kind)) for kind in written}
    baseline = _measures_written(small_run)
    asylum = {m for m in written["country"] if m.startswith("asylum_")}
    assert asylum and baseline["country"] - asylum == written["country"] - asylum
    assert baseline["crossing"] == written["crossing"] and baseline["home"] == written["home"]
    assert written["crossing"] == set(CROSSING_MEASURES)
    assert written["country"] == set(COUNTRY_MEASURES)
    assert written["home"] == set(HOME_MEASURES)


# --------------------------------------------------------------------------- reading a daily table


def _target(**fields) -> Target:
    base = {"id": "t", "source": "s", "quote": "q", "use": "fit", "value": 100, "tolerance": 0.1}
    return Target.model_validate({**base, **fields})


def _daily(rows: list[tuple[str, str, str, float]]) -> pa.Table:
    date, place, measure, value = zip(*rows)
    return pa.table({"date": list(date), "place": list(place), "measure": list(measure), "value": list(value)})


DAILY = _daily(
    [
        ("2022-09-21", "a", "entries", 10.0),
        ("2022-09-21", "b", "entries", 5.0),
        ("2022-09-22", "a", "entries", 20.0),
        ("2022-09-23", "a", "entries", 30.0),
        ("2022-09-21", "a", "wait_hours_mean", 4.0),
        ("2022-09-21", "b", "wait_hours_mean", 6.0),
        ("2022-09-23", "a", "wait_hours_mean", 2.0),
        ("2022-09-24", "a", "wait_hours_mean", 9.0),
    ]
)


@pytest.mark.parametrize(
    ("fields", "expected"),
    [
        ({"place": ["a", "b"], "measure": "entries", "aggregate": "daily", "date": "2022-09-21"}, 15.0),
        ({"place": "a", "measure": "entries", "aggregate": "sum", "from": "2022-09-21", "until": "2022-09-23"}, 60.0),
        ({"place": ["a", "b"], "measure": "entries", "aggregate": "max", "from": "2022-09-21", "until": "2022-09-23"}, 30.0),
        # b has no row on 22-23 Sept: its count is 0 there; 24 Sept has no entries at all.
        ({"place": "b", "measure": "entries", "aggregate": "mean", "from": "2022-09-21", "until": "2022-09-24"}, 1.25),
        # Waits: the busiest place of the day; days nobody was served are skipped.
        ({"place": ["a", "b"], "measure": "wait_hours_mean", "aggregate": "daily", "date": "2022-09-21"}, 6.0),
        ({"place": ["a", "b"], "measure": "wait_hours_mean", "aggregate": "mean", "from": "2022-09-21", "until": "2022-09-23"}, 4.0),
        ({"place": "a", "measure": "wait_hours_mean", "aggregate": "max", "from": "2022-09-21", "until": "2022-09-23"}, 4.0),
        ({"place": "b", "measure": "entries", "aggregate": "daily", "date": "2022-09-25"}, 0.0),
    ],
)
def test_simulated_value(fields, expected):
    assert simulated_value(_target(**fields), DAILY) == pytest.approx(expected, abs=1e-12)


def test_a_wait_with_nobody_served_reads_nan():
    target = _target(place="b", measure="wait_hours_mean", aggregate="daily", date="2022-09-22")
    assert math.isnan(simulated_value(target, DAILY))


# --------------------------------------------------------------------------- scoring


VALUE = _target(place="a", measure="entries", aggregate="daily", date="2022-09-21")  # 100 ± 10%
RANGE = _target(
    id="r", use="check", place="a", measure="wait_hours_mean", aggregate="max",
    **{"from": "2022-09-21", "until": "2022-09-23"}, value=None, tolerance=None, range=[40, 50],
)


def test_score_value_on_target():
    result = score(VALUE, [80, 90, 100, 110, 120])
    assert result["median"] == 100.0
    assert result["relative_difference"] == 0.0
    # Linear percentiles of five points: 80 + 0.2 * 10 and 110 + 0.8 * 10.
    assert (result["low"], result["high"]) == pytest.approx((82.0, 118.0))
    assert (result["reported_low"], result["reported_high"]) == pytest.approx((90.0, 110.0))
    assert result["covered"] is True


def test_score_value_off_target():
    result = score(VALUE, [130, 140, 150, 160, 170])
    assert result["relative_difference"] == pytest.approx(0.5)
    assert result["low"] == pytest.approx(132.0)
    assert result["covered"] is False  # 132 > 110


def test_coverage_is_looser_than_a_median_in_range():
    """A band that meets the reported one with one run in five is covered; its median is not inside."""
    wide = score(VALUE, [60, 70, 80, 85, 100])  # reported 90–110: only 100 in range
    assert wide["covered"] is True and wide["median_inside"] is False
    assert wide["runs_inside"] == pytest.approx(0.2)
    centred = score(VALUE, [80, 90, 100, 110, 120])
    assert centred["median_inside"] is True and centred["runs_inside"] == pytest.approx(0.6)
    assert summarise([wide, centred])["all"]["medians_inside"] == pytest.approx(0.5)
    assert summarise([wide, centred])["all"]["coverage"] == 1.0
    empty = score(VALUE, [float("nan")])
    assert empty["median_inside"] is False and empty["runs_inside"] != empty["runs_inside"]


def test_score_band_edges_meet():
    # The 90% band [110, 110] touches the reported band at 110: covered.
    assert score(VALUE, [110.0] * 4)["covered"] is True
    assert score(VALUE, [110.0] * 4)["relative_difference"] == pytest.approx(0.1)


def test_score_range():
    inside = score(RANGE, [41, 43, 45, 47, 49])
    assert inside["relative_difference"] == 0.0
    assert inside["reference"] == 45.0
    assert inside["covered"] is True
    below = score(RANGE, [30, 32, 34, 36, 38])
    assert below["relative_difference"] == pytest.approx(6 / 45)  # (40 - 34) / 45
    assert below["high"] == pytest.approx(37.6)
    assert below["covered"] is False
    above = score(RANGE, [45, 50, 60, 70, 80])
    assert above["relative_difference"] == pytest.approx(10 / 45)  # (60 - 50) / 45
    assert above["covered"] is True  # its 90% band [46, 78] reaches into [40, 50]


def test_score_drops_nans_and_reports_none_left():
    assert score(VALUE, [np.nan, 100, np.nan])["n"] == 1
    empty = score(VALUE, [np.nan])
    assert math.isnan(empty["relative_difference"]) and empty["covered"] is False


def test_summarise():
    scores = [
        score(VALUE, [80, 90, 100, 110, 120]),  # fit: 0.0, covered
        score(VALUE, [130, 140, 150, 160, 170]),  # fit: 0.5, not covered
        score(RANGE, [30, 32, 34, 36, 38]),  # check: 6/45, not covered
        score(RANGE, [np.nan]),  # check: unresolved
    ]
    report = summarise(scores)
    assert report["fit"] == {
        "targets": 2, "mean_relative_difference": 0.25, "coverage": 0.5, "medians_inside": 0.5, "unresolved": 0
    }
    assert report["check"]["targets"] == 2
    assert report["check"]["mean_relative_difference"] == pytest.approx(6 / 45)
    assert report["check"]["coverage"] == 0.0 and report["check"]["unresolved"] == 1
    assert report["all"]["mean_relative_difference"] == pytest.approx((0.5 + 6 / 45) / 3)
    assert report["all"]["coverage"] == 0.25


# --------------------------------------------------------------------------- broken files


GOOD = """\
description: test targets
scenario: s.yaml
targets:
  - id: kz-in
    source: seed
    quote: "some words"
    place: KZ
    measure: entries
    aggregate: sum
    from: 2022-09-21
    until: 2022-09-27
    value: 98000
    tolerance: 0.1
    use: fit
  - id: ul-wait
    source: press
    quote: "40-50 hours"
    place: upper-lars
    measure: wait_hours_mean
    aggregate: max
    from: 2022-09-24
    until: 2022-09-29
    range: [40, 50]
    use: fit
"""


def _problems(workdir: Path, text: str) -> list[str]:
    (workdir / "t.yaml").write_text(text, encoding="utf-8")
    with pytest.raises(ScenarioError) as raised:
        load_targets("t.yaml")
    lines = [str(problem) for problem in raised.value.problems]
    assert all("\n" not in line for line in lines)
    return lines


def test_good_file_loads(workdir):
    (workdir / "t.yaml").write_text(GOOD, encoding="utf-8")
    loaded = load_targets("t.yaml")
    assert [t.id for t in loaded.targets] == ["kz-in", "ul-wait"]
    assert loaded.targets[1].band == (40.0, 50.0)


def test_schema_problems_one_line_each(workdir):
    text = (
        GOOD.replace("measure: entries", "measure: entrys")
        .replace("use: fit\n  - id", "use: fitt\n  - id")
        .replace("    quote: \"40-50 hours\"\n", "")
        .replace("tolerance: 0.1", "tolerance: true")
    )
    line, col = position_of(text, "measure: entrys")
    use = position_of(text, "use: fitt")
    tol = position_of(text, "tolerance: true")
    item = position_of(text, "id: ul-wait")
    assert _problems(workdir, text) == [
        f"t.yaml:{line}:{col}: targets.kz-in.measure: expected one of arrivals, entries, refused, turned_away, "
        "gave_up, turned_back, mobilised, queue_persons_max, queue_vehicles_max, wait_hours_mean, wait_hours_p90, "
        "car_wait_hours_mean, car_wait_hours_p90, onward_land, onward_air, returns, exits, stock, asylum_claims, asylum_decisions, asylum_grants, "
        "asylum_backlog, departures, found 'entrys' (did you mean 'entries'?)",
        f"t.yaml:{tol[0]}:{tol[1]}: targets.kz-in.tolerance: expected a number, found true",
        f"t.yaml:{use[0]}:{use[1]}: targets.kz-in.use: expected one of fit, check, found 'fitt' (did you mean 'fit'?)",
        f"t.yaml:{item[0]}:{item[1]}: targets.ul-wait.quote: expected this key, found nothing",
    ]


def test_a_place_or_a_date_of_the_wrong_kind_is_one_line(workdir):
    """A number for a place (a text or a list) is one problem, not one per kind it might have been; a
    date written as a number (which pydantic would read as a Unix time) is refused."""
    text = GOOD.replace("place: KZ", "place: 5").replace("from: 2022-09-24", "from: 20220924")
    place = position_of(text, "place: 5")
    date = position_of(text, "from: 20220924")
    assert _problems(workdir, text) == [
        f"t.yaml:{place[0]}:{place[1]}: targets.kz-in.place: expected a crossing id or ISO code, or a list of them, found 5",
        f"t.yaml:{date[0]}:{date[1]}: targets.ul-wait.from: expected an ISO date (YYYY-MM-DD), found 20220924",
    ]


def test_cross_field_problems(workdir):
    text = (
        GOOD.replace("aggregate: sum\n    from: 2022-09-21\n", "aggregate: daily\n    from: 2022-09-21\n")
        .replace("aggregate: max", "aggregate: sum")
        .replace("range: [40, 50]", "range: [50, 40]\n    tolerance: 0.2")
        .replace("id: ul-wait", "id: kz-in")
    )
    first = position_of(text, "id: kz-in")
    frm = position_of(text, "from: 2022-09-21")
    until = position_of(text, "until: 2022-09-27")
    second = position_of(text, "id: kz-in", 2)
    agg = position_of(text, "aggregate: sum")
    tol = position_of(text, "tolerance: 0.2")
    rng = position_of(text, "range: [50, 40]")
    assert _problems(workdir, text) == [
        # A missing key is reported at the mapping it is missing from.
        f"t.yaml:{first[0]}:{first[1]}: targets.0.date: expected this key (aggregate: daily), found nothing",
        f"t.yaml:{frm[0]}:{frm[1]}: targets.0.from: expected no from with aggregate: daily (use date), found 2022-09-21",
        f"t.yaml:{until[0]}:{until[1]}: targets.0.until: expected no until with aggregate: daily (use date), found 2022-09-27",
        f"t.yaml:{second[0]}:{second[1]}: targets.1.id: expected unique ids, found 'kz-in' twice (first as item 0)",
        f"t.yaml:{agg[0]}:{agg[1]}: targets.1.aggregate: expected daily, max or mean for wait_hours_mean, found sum",
        # in reading order: the range, then the tolerance written under it
        f"t.yaml:{rng[0]}:{rng[1]}: targets.1.range: expected [low, high] with 0 <= low <= high, high > 0, found [50.0, 40.0]",
        f"t.yaml:{tol[0]}:{tol[1]}: targets.1.tolerance: expected no tolerance with a range, found one",
    ]


def test_unreadable_and_unsafe_files(workdir):
    with pytest.raises(ScenarioError) as raised:
        load_targets("missing.yaml")
    assert [str(p) for p in raised.value.problems] == ["missing.yaml:0:0: expected an existing targets file, found nothing"]
    assert _problems(workdir, "- a\n- b\n") == ["t.yaml:1:1: expected a mapping of targets keys, found a list"]
    assert _problems(workdir, "description: !!python/object:os.system x\n") == [
        "t.yaml:1:1: description: expected plain YAML data, found tag !!python/object:os.system"
    ]


def test_check_targets_against_a_scenario(workdir):
    scenario = load_scenario(ROOT / "scenarios" / "mobilization-2022.yaml").scenario
    text = (
        GOOD.replace("place: KZ", "place: [KZ, upper-larz]")
        .replace("place: upper-lars", "place: GE")
        .replace("until: 2022-09-29", "until: 2022-11-29")
    )
    (workdir / "t.yaml").write_text(text, encoding="utf-8")
    loaded = load_targets("t.yaml")
    place = position_of(text, "upper-larz")  # the list item itself
    measure = position_of(text, "measure: wait_hours_mean")
    until = position_of(text, "until: 2022-11-29")
    assert [str(p) for p in check_targets(loaded, scenario)] == [
        f"t.yaml:{place[0]}:{place[1]}: targets.kz-in.place.1: expected a crossing id or country code of "
        "mobilization-2022, found 'upper-larz' (did you mean 'upper-lars'?)",
        f"t.yaml:{measure[0]}:{measure[1]}: targets.ul-wait.measure: expected a measure of a country (entries, "
        "onward_land, onward_air, returns, exits, stock, asylum_claims, asylum_decisions, asylum_grants, "
        "asylum_backlog), found 'wait_hours_mean' for GE",
        f"t.yaml:{until[0]}:{until[1]}: targets.ul-wait.until: expected a day of the period 2022-09-14 to "
        "2022-10-31, found 2022-11-29",
    ]
    # Without positions (targets built in Python), the same problems name the target.
    bare = check_targets(loaded.file, scenario)
    assert [p.path for p in bare] == ["targets.kz-in.place.1", "targets.ul-wait.measure", "targets.ul-wait.until"]
