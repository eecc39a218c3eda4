"""Every shipped what-if extends the baseline, says what it asks, runs, and compares with an interval."""

from __future__ import annotations

import re
from pathlib import Path

import pyarrow as pa
import pytest

import sim
from helpers import daily_values
from sim.run.compare import compare

SCENARIOS = Path(__file__).resolve().parent.parent / "scenarios"
BASELINE = SCENARIOS / "mobilization-2022.yaml"
WHAT_IFS = sorted(p for p in SCENARIOS.glob("*.yaml") if p != BASELINE)


def test_there_are_what_ifs() -> None:
    assert len(WHAT_IFS) >= 7


#: Enough people that a few reach the US by way of Mexico (at 0.02 none does on the default seed).
SCALE = 0.03


@pytest.fixture(scope="module")
def baselines() -> dict[tuple[str, ...], pa.Table]:
    """The baseline's daily table per set of overrides, run once each."""
    return {}


@pytest.mark.parametrize("path", WHAT_IFS, ids=lambda p: p.stem)
def test_what_if_extends_the_baseline_asks_a_question_runs_and_changes_something(path: Path, baselines) -> None:
    """Each what-if is a question the baseline does not already answer: on the same seed its daily
    table differs from the baseline's, over the period its description asks for (``--set ...``
    in the description applies to both, as ``crossings compare --set`` would)."""
    assert "extends: mobilization-2022.yaml" in path.read_text(encoding="utf-8")
    description = sim.load_scenario(path).scenario.description
    assert description.startswith("What if") and description.endswith("?")
    overrides = re.findall(r"--set ([^\s:,;)]+)", description)
    result = sim.run(sim.load_scenario(path, overrides), scale=SCALE)
    assert sum(result.people["by_state"].values()) == result.people["departed"] > 0
    key = tuple(overrides)
    if key not in baselines:
        baselines[key] = sim.run(sim.load_scenario(BASELINE, overrides), scale=SCALE).daily
    assert not result.daily.equals(baselines[key])


def test_the_stay_limit_binds_only_past_the_baselines_period() -> None:
    """Kazakhstan's 90 days in 180, whose description asks for a period to 31 March 2023: none of its
    stays reach 90 days by 31 Oct (the same daily table as the baseline's), and at the end of March
    fewer are in Kazakhstan than in the baseline on the same seed, in each of two seeds, and those
    made to leave have moved on or gone home (more have left it)."""
    what_if = SCENARIOS / "kazakhstan-stay-limit.yaml"
    assert sim.run(what_if, scale=0.003).daily.equals(sim.run(BASELINE, scale=0.003).daily)
    longer = ["period.end=2023-03-31"]
    base, policy = sim.load_scenario(BASELINE, longer), sim.load_scenario(what_if, longer)
    for seed in (1, 2):
        runs = [daily_values(sim.run(loaded, seed=seed, scale=0.003)) for loaded in (base, policy)]
        stock = [run[("2023-03-31", "KZ", "stock")] for run in runs]
        left = [sum(v for (_, place, measure), v in run.items() if place == "KZ" and measure == "exits") for run in runs]
        assert stock[1] < stock[0] and left[1] > left[0], (seed, stock, left)


def test_a_what_if_compares_with_the_baseline_with_an_interval() -> None:
    """Finland keeping tourist visas: more enter Finland, and the interval says so."""
    result = compare(BASELINE, SCENARIOS / "finland-stays-open.yaml", replicates=3, scale=0.005)
    row = result.row("entries.FI")
    assert row.replicates == 3 and row.ci_low <= row.difference <= row.ci_high
    assert row.ci_low > 0


def test_every_what_if_can_be_compared_over_the_calibrations_posterior() -> None:
    """No what-if sets a value the posterior varies (a draw would overwrite it), and the
    shipped posterior's columns are all keys of the baseline."""
    from sim.run.posterior import check_policy, load_posterior, value_at

    posterior = load_posterior(SCENARIOS.parent / "calibration" / "fitted" / "mobilization-2022")
    base = sim.load_scenario(BASELINE).resolved
    assert all(isinstance(value_at(base, name), (int, float)) for name in posterior.names)
    for path in WHAT_IFS:
        check_policy(posterior, base, sim.load_scenario(path).resolved, path.name)


def test_a_what_if_over_the_posterior_carries_the_parameters_uncertainty() -> None:
    """Kazakhstan passport-only, over posterior draws: fewer enter Kazakhstan in every world."""
    posterior = SCENARIOS.parent / "calibration" / "fitted" / "mobilization-2022"
    result = compare(BASELINE, SCENARIOS / "kazakhstan-passport-only.yaml", replicates=3, scale=0.005, posterior=posterior)
    row = result.row("entries.KZ")
    assert row.ci_high < 0 and row.effect_p95 < 0
    assert len(result.posterior_rows) == 3
