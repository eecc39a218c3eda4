"""The shipped baseline against every reported figure (calibration/targets.yaml).

The baseline runs as its committed fit report (``calibration/fitted/baseline/``) did: at
scale 0.05 (what the suite can afford: a few seconds a run) with sixteen replicate seeds
spawned from the scenario's seed (with eight, which targets sat at the edge of their
band, in or out, depended on the seeds: coverage read 83–92% for one scenario).  Each target's simulated 90% band over the runs must
meet its reported band (value ± tolerance, or range).  The targets the model is known
not to reproduce are listed below with the reason; they are strict expected failures,
so a change that brings one into its range fails here until it is taken off the list.
The committed report must be what the baseline gives now, number for number.
"""

from __future__ import annotations

from pathlib import Path

import json

import numpy as np
import pytest

from sim.calibrate.fit import fit_report
from sim.calibrate.targets import load_targets, summarise
from sim.run.posterior import parameter_override
from sim.scenario.loading import load_scenario

ROOT = Path(__file__).resolve().parent.parent
TARGETS = ROOT / "calibration" / "targets.yaml"
REPORT = ROOT / "calibration" / "fitted" / "baseline" / "fit_report.json"
CALIBRATED = ROOT / "calibration" / "fitted" / "mobilization-2022"
SCALE = 0.05
REPLICATES = 16

#: Targets the baseline misses, and why (see the targets' notes and the scenario's header).
KNOWN_MISSES: dict[str, str] = {
    "kz-onward-air": (
        "~6,000 by air by 25 Sept: few of those in Kazakhstan hold a passport and can pay (passport holders"
        " fly to Georgia or drive to Upper Lars and Finland), and emigrants reach Almaty's and Astana's airports"
        " a day or more after crossing; the model flies ~1,200 by then. Looking ahead (choice.onward_option_weight)"
        " meets it only by taking passport holders from Finland and Georgia (calibration/README.md)"
    ),
}

#: Overall scores of the shipped baseline (its committed fit report), held so that a change
#: that worsens the fit is seen.  All 38 targets: averaged relative difference 0.152, coverage
#: 97% (37 of 38), medians in the reported range 71%; the 28 fit targets: 0.148, 96% (27 of 28)
#: and 64%.  Both meet the issue's bar (at most 0.2, at least 90%), and so on three other sets
#: of 16 seeds (--seed 1, 2, 3: all 0.151-0.161 and 92-97%; fit 0.145-0.159 and 89-96%).
ALL_MEAN_RELATIVE_DIFFERENCE_AT_MOST = 0.2
ALL_COVERAGE_AT_LEAST = 0.9
FIT_MEAN_RELATIVE_DIFFERENCE_AT_MOST = 0.2
FIT_COVERAGE_AT_LEAST = 0.9
#: Coverage is lenient (a wide band meets a range with one run of 16 in it), so the medians in range
#: are held too, a target or so below the shipped 27 of 38 and 18 of 28.
ALL_MEDIANS_INSIDE_AT_LEAST = 26 / 38
FIT_MEDIANS_INSIDE_AT_LEAST = 17 / 28

#: Assumed inputs set by hand after the calibration, as the calibration ran them: regular
#: travellers' documents (the scenario's comments and calibration/README.md say why).  The
#: calibration's own report was rerun with them against the targets as they stand (the
#: simulated values do not depend on a target's reported value or tolerance).
CALIBRATED_WITH: dict[str, float] = {
    "departures.baseline_people.international_passport_share": 0.45,
    "departures.baseline_people.schengen_visa_share": 0.39,
}


@pytest.fixture(scope="module")
def report():
    targets = load_targets(TARGETS)
    return fit_report(targets.scenario_path(), targets, replicates=REPLICATES, scale=SCALE, workers=2)


@pytest.fixture(scope="module")
def scores(report) -> dict[str, dict]:
    return {s["id"]: s for s in report.scores}


def _ids() -> list:
    return [
        pytest.param(t.id, marks=pytest.mark.xfail(strict=True, reason=KNOWN_MISSES[t.id]))
        if t.id in KNOWN_MISSES
        else t.id
        for t in load_targets(TARGETS).targets
    ]


@pytest.mark.parametrize("target_id", _ids())
def test_target_is_within_its_reported_range(scores: dict[str, dict], target_id: str) -> None:
    s = scores[target_id]
    assert s["covered"], (
        f"{target_id}: reported {s['reported_low']:g}–{s['reported_high']:g}, "
        f"simulated median {s['median']:g}, 90% band {s['low']:g}–{s['high']:g}"
    )


def test_known_misses_are_targets() -> None:
    ids = {t.id for t in load_targets(TARGETS).targets}
    assert set(KNOWN_MISSES) <= ids


def test_overall_fit_is_held(scores: dict[str, dict]) -> None:
    overall = summarise(list(scores.values()))
    assert overall["all"]["mean_relative_difference"] <= ALL_MEAN_RELATIVE_DIFFERENCE_AT_MOST
    assert overall["all"]["coverage"] >= ALL_COVERAGE_AT_LEAST
    assert overall["fit"]["mean_relative_difference"] <= FIT_MEAN_RELATIVE_DIFFERENCE_AT_MOST
    assert overall["fit"]["coverage"] >= FIT_COVERAGE_AT_LEAST
    assert overall["all"]["medians_inside"] >= ALL_MEDIANS_INSIDE_AT_LEAST
    assert overall["fit"]["medians_inside"] >= FIT_MEDIANS_INSIDE_AT_LEAST


def test_the_committed_fit_report_is_what_the_baseline_gives(report) -> None:
    committed = json.loads(REPORT.read_text(encoding="utf-8"))
    assert committed["seeds"] == report.seeds and committed["scale"] == SCALE
    assert committed["values"].keys() == report.values.keys()
    for target_id, values in report.values.items():
        np.testing.assert_array_equal(committed["values"][target_id], values, err_msg=target_id)


def test_the_baseline_is_the_calibrated_point_estimate() -> None:
    """The scenario's fitted values are the ABC point estimate (point.json) exactly, and with the inputs
    set by hand after the calibration put back as it ran them, its report is the calibration's own
    report of that point, run for run."""
    point = json.loads((CALIBRATED / "point.json").read_text(encoding="utf-8"))
    targets = load_targets(TARGETS)
    scenario = targets.scenario_path()
    shipped = load_scenario(scenario).scenario
    assert load_scenario(scenario, point["set"]).scenario == shipped
    assert load_scenario(scenario, point["set_median"]).scenario != shipped  # the check can tell values apart
    as_calibrated = [parameter_override(path, value) for path, value in CALIBRATED_WITH.items()]
    assert load_scenario(scenario, as_calibrated).scenario != shipped  # they are set by hand
    assert not CALIBRATED_WITH.keys() & point["values"].keys()  # and not fitted
    calibrated = json.loads((CALIBRATED / "fit_report.json").read_text(encoding="utf-8"))
    as_run = fit_report(
        scenario, targets, overrides=as_calibrated, replicates=REPLICATES, scale=SCALE, workers=2
    )
    assert calibrated["seeds"] == as_run.seeds
    assert calibrated["values"] == json.loads(json.dumps(as_run.values))


def test_the_shipped_calibration_ran_the_shipped_params() -> None:
    """calibration/fitted/mobilization-2022 is the run of calibration/params/mobilization-2022.yaml as it
    stands: a prior or a setting changed without running the calibration again fails here."""
    from sim.calibrate.fit import load_params

    spec = load_params(ROOT / "calibration" / "params" / "mobilization-2022.yaml").spec
    ran = json.loads((CALIBRATED / "calibration.json").read_text(encoding="utf-8"))
    assert ran["params"] == "calibration/params/mobilization-2022.yaml"
    assert ran["settings"] == spec.model_dump(mode="json")
