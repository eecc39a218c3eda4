"""Every shipped what-if extends the baseline, says what it asks, runs, and compares with an interval."""

from __future__ import annotations

from pathlib import Path

import pytest

import sim
from sim.run.compare import compare

SCENARIOS = Path(__file__).resolve().parent.parent / "scenarios"
BASELINE = SCENARIOS / "mobilization-2022.yaml"
WHAT_IFS = sorted(p for p in SCENARIOS.glob("*.yaml") if p != BASELINE)


def test_there_are_what_ifs() -> None:
    assert len(WHAT_IFS) >= 7


@pytest.mark.parametrize("path", WHAT_IFS, ids=lambda p: p.stem)
def test_what_if_extends_the_baseline_asks_a_question_and_runs(path: Path) -> None:
    assert "extends: mobilization-2022.yaml" in path.read_text(encoding="utf-8")
    loaded = sim.load_scenario(path)
    assert loaded.scenario.description.startswith("What if") and loaded.scenario.description.endswith("?")
    result = sim.run(loaded, scale=0.003)
    assert sum(result.people["by_state"].values()) == result.people["departed"] > 0


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
