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

ROOT = Path(__file__).resolve().parent.parent
TARGETS = ROOT / "calibration" / "targets.yaml"
REPORT = ROOT / "calibration" / "fitted" / "baseline" / "fit_report.json"
SCALE = 0.05
REPLICATES = 16

#: Targets the baseline misses, and why (see the targets' notes and the scenario's header).
_GEORGIA = (
    "Georgia's counts are all its entry points, air arrivals by way of third countries included, while the"
    " model's Georgia is entered by Upper Lars only: its car lanes (~4,100 persons a day, whose queue and waits"
    " are fitted) and, from 27 Sept, its foot lanes (~4,300 a day)"
)
KNOWN_MISSES: dict[str, str] = {
    "ge-0922-0923": _GEORGIA,
    "ge-0925": _GEORGIA,
    "ge-0926": _GEORGIA,
    "ge-baseline": _GEORGIA,
    "kz-onward-air": (
        "~6,000 by air by 25 Sept: few of those in Kazakhstan hold a passport and can pay, and emigrants reach"
        " Almaty's and Astana's airports a day or two after crossing; the model flies ~1,000/day only from 24 Sept"
    ),
    "ul-queue-0924": (
        "~2,300 cars at Upper Lars on 24 Sept: the shock's fast rise (Finland's same-day jump) fills the model's"
        " queue to ~3,300 cars by then, while the reported queue still grew to ~3,500 on 26 Sept; the 40-50 h"
        " waits reported over 24-29 Sept need ~3,000 cars at the crossing's ~1,700 cars a day"
    ),
}

#: Overall scores of the shipped baseline (its committed fit report), held so that a change
#: that worsens the fit is seen.
FIT_MEAN_RELATIVE_DIFFERENCE_AT_MOST = 0.2
FIT_COVERAGE_AT_LEAST = 0.9


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
    overall = summarise(list(scores.values()))["fit"]
    assert overall["mean_relative_difference"] <= FIT_MEAN_RELATIVE_DIFFERENCE_AT_MOST
    assert overall["coverage"] >= FIT_COVERAGE_AT_LEAST


def test_the_committed_fit_report_is_what_the_baseline_gives(report) -> None:
    committed = json.loads(REPORT.read_text(encoding="utf-8"))
    assert committed["seeds"] == report.seeds and committed["scale"] == SCALE
    assert committed["values"].keys() == report.values.keys()
    for target_id, values in report.values.items():
        np.testing.assert_array_equal(committed["values"][target_id], values, err_msg=target_id)
