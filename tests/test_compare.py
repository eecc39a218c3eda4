"""Paired comparisons: common random numbers, intervals, and the command."""

from __future__ import annotations

import json
from pathlib import Path

import pytest
from model_scenarios import network_scenario

from sim.report.comparison import write_crn_figure
from sim.run.compare import compare, replicate_seeds

# A real policy change: Finland does not bar tourist visas from 30 September.
BASE = network_scenario(period={"start": "2022-09-14", "end": "2022-10-10"})
POLICY = {**BASE, "policies": [p for p in BASE["policies"] if p["kind"] != "entry"]}
REPLICATES = 8


def test_self_comparison_is_exactly_zero() -> None:
    result = compare(BASE, BASE, replicates=3)
    assert result.rows
    for row in result.rows:
        assert row.difference == 0.0 and row.ci_low == 0.0 and row.ci_high == 0.0, row


def test_replicate_seeds_are_reproducible_and_disjoint() -> None:
    assert replicate_seeds(7, 5) == replicate_seeds(7, 5)
    assert not set(replicate_seeds(7, 5)) & set(replicate_seeds(7, 5, stream=1))


@pytest.fixture(scope="module")
def both_designs() -> tuple:
    paired = compare(BASE, POLICY, replicates=REPLICATES)
    independent = compare(BASE, POLICY, replicates=REPLICATES, independent=True)
    return paired, independent


def test_common_random_numbers_narrow_the_interval_threefold(both_designs, tmp_path: Path) -> None:
    """The displaced go to Georgia: that difference is known >= 3x more precisely when paired.

    Measured when written: 8x for entries.GE and 26x for people.in_country.
    """
    paired, independent = both_designs
    for measure in ("entries.GE", "people.in_country"):
        assert independent.row(measure).half_width >= 3 * paired.row(measure).half_width, measure
    # The effect is real and has the expected sign: more enter Finland, fewer Georgia.
    assert paired.row("entries.FI").ci_low > 0
    assert paired.row("entries.GE").ci_high < 0
    # Both designs estimate the same effect (their intervals overlap).
    for measure in ("entries.GE", "entries.FI"):
        a, b = paired.row(measure), independent.row(measure)
        assert a.ci_low <= b.ci_high and b.ci_low <= a.ci_high
    paths = write_crn_figure(
        paired, independent, ["entries.FI", "entries.GE", "returns.FI", "people.in_country"], tmp_path / "crn", version="test"
    )
    assert paths[0].stat().st_size > 10_000


def test_compare_command_writes_csv_and_json(cli, workdir: Path) -> None:
    from ruamel.yaml import YAML

    yaml = YAML(typ="safe", pure=True)
    small = {**BASE, "scale": 0.02, "period": {"start": "2022-09-14", "end": "2022-10-01"}}
    for name, data in (("base.yaml", small), ("policy.yaml", {**small, "name": "open", "policies": POLICY["policies"]})):
        with open(workdir / name, "w", encoding="utf-8") as handle:
            yaml.dump(data, handle)
    result = cli("compare", "base.yaml", "policy.yaml", "-n", "2", "--out", "cmp", "--measure", "entries.*")
    assert result.exit_code == 0, result.stderr
    assert "entries.FI" in result.stdout and "95% interval" in result.stdout
    header = (workdir / "cmp" / "compare.csv").read_text().splitlines()[0]
    assert header == "measure,base_mean,policy_mean,difference,ci_low,ci_high,sd,replicates,effect_p05,effect_p95"
    data = json.loads((workdir / "cmp" / "compare.json").read_text())
    assert data["common_random_numbers"] is True and len(data["seeds"]) == 2
    assert any(m["measure"] == "entries.FI" for m in data["measures"])
    # The replicates' daily values, for crossings plot: both sides, every replicate, with their seeds,
    # and they add up to the means in compare.json.
    from sim.run.compare import read_replicates

    table = read_replicates(workdir / "cmp" / "replicates.parquet").to_pylist()
    assert {(r["scenario"], r["replicate"], r["seed"]) for r in table} == {
        (side, k, seed) for side in ("base", "policy") for k, seed in enumerate(data["seeds"])
    }
    row = next(m for m in data["measures"] if m["measure"] == "entries.FI")
    for side, key in (("base", "base_mean"), ("policy", "policy_mean")):
        total = sum(r["value"] for r in table if r["scenario"] == side and r["place"] == "FI" and r["measure"] == "entries")
        assert total / 2 == pytest.approx(row[key], rel=1e-12)


def test_compare_with_one_replicate_has_no_interval() -> None:
    result = compare(BASE, POLICY, replicates=1, scale=0.02)
    row = result.row("entries.FI")
    assert row.replicates == 1 and row.ci_low != row.ci_low  # NaN: no interval from one pair
    assert json.dumps(result.to_json(), allow_nan=False)


def test_scenarios_reporting_other_days_are_not_compared() -> None:
    from sim.scenario.errors import UsageError

    shorter = {**POLICY, "period": {"start": "2022-09-14", "end": "2022-10-05"}}
    with pytest.raises(UsageError, match=r"period: expected the base's days \(2022-09-14\.\.2022-10-10\).*found 2022-09-14\.\.2022-10-05"):
        compare(BASE, shorter, replicates=2)


def test_a_measure_pattern_matching_nothing_is_a_mistake(cli, workdir: Path) -> None:
    from ruamel.yaml import YAML

    small = {**BASE, "scale": 0.02, "period": {"start": "2022-09-14", "end": "2022-10-01"}}
    with open(workdir / "base.yaml", "w", encoding="utf-8") as handle:
        YAML(typ="safe", pure=True).dump(small, handle)
    result = cli("compare", "base.yaml", "base.yaml", "-n", "1", "--measure", "entries.*", "--measure", "entires.*", "--out", "cmp")
    assert result.exit_code == 2 and len(result.stderr.strip().splitlines()) == 1
    assert "--measure: expected a pattern matching a measure" in result.stderr and "'entires.*'" in result.stderr
    assert not (workdir / "cmp").exists()


def test_set_changes_both_sides_alike(cli, workdir: Path) -> None:
    """``compare --set`` is the comparison of the two scenarios as both would be with the change: a longer
    period here, which a policy file alone could not set (its days must be the base's)."""
    from ruamel.yaml import YAML

    yaml = YAML(typ="safe", pure=True)
    small = {**BASE, "scale": 0.02, "period": {"start": "2022-09-14", "end": "2022-10-01"}}
    for name, data in (("base.yaml", small), ("policy.yaml", {**small, "name": "open", "policies": POLICY["policies"]})):
        with open(workdir / name, "w", encoding="utf-8") as handle:
            yaml.dump(data, handle)
    longer = cli("compare", "base.yaml", "policy.yaml", "-n", "2", "--set", "period.end=2022-10-10", "--out", "long", "-q")
    assert longer.exit_code == 0, longer.stderr
    wider = {**small, "period": {"start": "2022-09-14", "end": "2022-10-10"}}
    expected = compare(wider, {**wider, "name": "open", "policies": POLICY["policies"]}, replicates=2)
    saved = json.loads((workdir / "long" / "compare.json").read_text())
    assert {m["measure"]: m["difference"] for m in saved["measures"]} == {r.measure: r.difference for r in expected.rows}
    short = compare(small, {**small, "name": "open", "policies": POLICY["policies"]}, replicates=2)
    # Finland's ban from 30 Sept: two days of it in the files' period, eleven in the longer one
    assert expected.row("entries.FI").difference > short.row("entries.FI").difference > 0
    wrong = cli("compare", "base.yaml", "policy.yaml", "-n", "1", "--set", "period.ends=2022-10-10")
    assert wrong.exit_code == 2 and len(wrong.stderr.strip().splitlines()) == 1 and "period.ends" in wrong.stderr
