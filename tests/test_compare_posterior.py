"""Comparisons over a calibration's posterior: each replicate one world, the same for both sides."""

from __future__ import annotations

import json
from pathlib import Path

import numpy as np
import pytest
from model_scenarios import network_scenario

from sim.run.api import run
from sim.run.compare import compare, difference
from sim.run.posterior import load_posterior, value_at
from sim.scenario.errors import UsageError

BASE = network_scenario(period={"start": "2022-09-14", "end": "2022-10-05"})
POLICY = {**BASE, "policies": [p for p in BASE["policies"] if p["kind"] != "entry"]}
# Two worlds far apart: Upper Lars with 2 or 30 car lanes, Georgia little or much liked.
HEADER = "countries.GE.appeal,crossings.upper-lars.modes.car.lanes"
ROWS = ["0.1,2", "3.0,29.6"]


def write_calibration(folder: Path, rows: list[str] = ROWS, header: str = HEADER) -> Path:
    folder.mkdir(parents=True, exist_ok=True)
    (folder / "posterior.csv").write_text("\n".join([header, *rows]) + "\n", encoding="utf-8")
    priors = [
        {"path": "countries.GE.appeal", "kind": "uniform", "low": 0, "high": 4, "integer": False},
        {"path": "crossings.upper-lars.modes.car.lanes", "kind": "uniform", "low": 1, "high": 40, "integer": True},
    ]
    (folder / "calibration.json").write_text(json.dumps({"settings": {"priors": priors}}), encoding="utf-8")
    return folder


def test_draws_are_reproducible_extendable_and_reach_every_row(tmp_path: Path) -> None:
    posterior = load_posterior(write_calibration(tmp_path / "cal"))
    draws = [posterior.draw(7, r) for r in range(200)]
    assert draws == [posterior.draw(7, r) for r in range(200)]
    assert set(draws) == {0, 1}  # 200 draws of two rows: both met (chance of not: 2 x 2^-200)
    assert draws != [posterior.draw(8, r) for r in range(200)]
    # an integer prior's draw is rounded; a float one is written in full
    assert posterior.overrides(1) == ["countries.GE.appeal=3.0", "crossings.upper-lars.modes.car.lanes=30"]


def test_each_replicate_runs_both_sides_in_its_drawn_world(tmp_path: Path) -> None:
    posterior = load_posterior(write_calibration(tmp_path / "cal"))
    result = compare(BASE, POLICY, replicates=4, seed=2, posterior=posterior)
    assert result.posterior_rows == [posterior.draw(2, r) for r in range(4)]
    assert result.policy_posterior_rows == result.posterior_rows
    assert len(set(result.posterior_rows)) == 2, "root 2 draws both worlds"
    table = result.replicate_daily.to_pylist()
    for r, row in enumerate(result.posterior_rows):
        for side, scenario in (("base", BASE), ("policy", POLICY)):
            expected = run(scenario, seed=result.seeds[r], overrides=posterior.overrides(row)).daily.to_pylist()
            got = [{k: v for k, v in x.items() if k in ("date", "place", "measure", "value")}
                   for x in table if x["scenario"] == side and x["replicate"] == r]
            assert got == expected, (side, r)
    # the worlds matter: the same seed without the draw gives other counts at Upper Lars
    plain = run(BASE, seed=result.seeds[0]).daily.to_pylist()
    drawn = run(BASE, seed=result.seeds[0], overrides=posterior.overrides(result.posterior_rows[0])).daily.to_pylist()
    assert plain != drawn


def test_independent_policy_runs_draw_worlds_of_their_own(tmp_path: Path) -> None:
    posterior = load_posterior(write_calibration(tmp_path / "cal"))
    result = compare(BASE, POLICY, replicates=3, posterior=posterior, independent=True)
    assert result.policy_posterior_rows == [posterior.draw(BASE["seed"], 3 + r) for r in range(3)]


def test_a_policy_setting_a_parameter_the_posterior_varies_is_refused(tmp_path: Path) -> None:
    folder = write_calibration(tmp_path / "cal")
    countries = [dict(c, appeal=2.0) if c["iso"] == "GE" else c for c in BASE["countries"]]
    with pytest.raises(UsageError, match=r"countries\.GE\.appeal: expected the base's value \(0\.5\).*found 2\.0"):
        compare(BASE, {**BASE, "countries": countries}, replicates=2, posterior=folder)


@pytest.mark.parametrize(
    ("rows", "header", "message"),
    [
        (["0.1,2", "abc,3"], HEADER, r"posterior\.csv:3: countries\.GE\.appeal: expected a finite number, found 'abc'"),
        (["0.1,2", "0.2"], HEADER, r"posterior\.csv:3: expected 2 values, found 1"),
        (["1"], "people.car_share", r"posterior\.csv:1: people\.car_share: expected a parameter of calibration\.json's"),
        ([], HEADER, r"posterior\.csv:1: expected a header and at least one draw, found 1 line"),
    ],
)
def test_a_broken_posterior_names_its_line(tmp_path: Path, rows: list[str], header: str, message: str) -> None:
    with pytest.raises(UsageError, match=message):
        load_posterior(write_calibration(tmp_path / "cal", rows, header))


def test_a_byte_order_mark_is_not_part_of_the_first_name(tmp_path: Path) -> None:
    # Excel's "CSV UTF-8" starts with one.
    folder = write_calibration(tmp_path / "cal")
    table = folder / "posterior.csv"
    table.write_bytes(b"\xef\xbb\xbf" + table.read_bytes())
    posterior = load_posterior(folder)
    assert posterior.names == tuple(HEADER.split(","))
    assert posterior.overrides(0) == ["countries.GE.appeal=0.1", "crossings.upper-lars.modes.car.lanes=2"]


@pytest.mark.parametrize(
    ("content", "expected"),
    [
        (HEADER.encode() + b"\n0.1,2\n0.5,1\xe92\n", "cal/posterior.csv:3: expected UTF-8 text, found the byte 0xe9"),
        (b"\xef\xbb\xbf" + HEADER.encode() + b"\n0.1,2\n\xe9,1\n", "cal/posterior.csv:3: expected UTF-8 text, found the byte 0xe9"),
        (
            (HEADER + "\n0.1,2\n0.2,\"" + "1" * 200_000 + "\"\n").encode(),
            "cal/posterior.csv:3: expected a value of at most 131,072 characters, found a longer one",
        ),
    ],
)
def test_a_posterior_that_is_not_utf8_csv_is_one_line_and_exit_2(cli, workdir: Path, content: bytes, expected: str) -> None:
    from ruamel.yaml import YAML

    with open(workdir / "base.yaml", "w", encoding="utf-8") as handle:
        YAML(typ="safe", pure=True).dump({**BASE, "scale": 0.02}, handle)
    (write_calibration(workdir / "cal") / "posterior.csv").write_bytes(content)
    result = cli("compare", "base.yaml", "base.yaml", "-n", "1", "--posterior", "cal")
    assert result.exit_code == 2 and result.stdout == ""
    assert result.stderr.splitlines() == [f"crossings: {expected}"]


def test_a_draw_the_scenario_refuses_names_its_line_of_the_posterior(tmp_path: Path) -> None:
    from sim.scenario.loading import load_scenario_data

    posterior = load_posterior(write_calibration(tmp_path / "cal", ["0.1,2", "0.5,-5"]))
    loaded = load_scenario_data(BASE, name="base.yaml")
    assert value_at(posterior.scenario(loaded, 0).resolved, "crossings.upper-lars.modes.car.lanes") == 2
    with pytest.raises(UsageError) as caught:
        posterior.scenario(loaded, 1)
    assert str(caught.value) == (
        f"{tmp_path / 'cal' / 'posterior.csv'}:3: crossings.upper-lars.modes.car.lanes: expected a value >= 1, found -5 "
        "(with base.yaml)"
    )


def test_effect_quantiles_are_those_of_the_paired_differences() -> None:
    # differences 1..20: hazen places the 5% quantile halfway between the first two, 95% between the last two
    row = difference("x", [0.0] * 20, [float(v) for v in np.random.default_rng(3).permutation(np.arange(1, 21))])
    assert (row.effect_p05, row.effect_p95) == (1.5, 19.5)
    assert np.isnan(difference("x", [0.0], [1.0]).effect_p05)


def test_compare_command_with_a_posterior(cli, workdir: Path) -> None:
    from ruamel.yaml import YAML

    yaml = YAML(typ="safe", pure=True)
    small = {**BASE, "scale": 0.02}
    for name, data in (("base.yaml", small), ("policy.yaml", {**small, "name": "open", "policies": POLICY["policies"]})):
        with open(workdir / name, "w", encoding="utf-8") as handle:
            yaml.dump(data, handle)
    write_calibration(workdir / "cal")
    result = cli("compare", "base.yaml", "policy.yaml", "-n", "3", "--posterior", "cal", "--out", "cmp", "--measure", "entries.*")
    assert result.exit_code == 0, result.stderr
    assert "5–95% of replicates" in result.stdout and "posterior" in result.stdout.splitlines()[-1]
    assert (workdir / "cmp" / "compare.csv").read_text().splitlines()[0].endswith(",effect_p05,effect_p95")
    saved = json.loads((workdir / "cmp" / "compare.json").read_text())
    assert saved["posterior"] == "cal" and len(saved["posterior_rows"]) == 3
    missing = cli("compare", "base.yaml", "policy.yaml", "-n", "2", "--posterior", "nowhere")
    assert missing.exit_code == 2 and len(missing.stderr.strip().splitlines()) == 1
    assert "nowhere: expected a calibration folder" in missing.stderr


def test_a_set_of_a_parameter_the_posterior_varies_is_refused(cli, workdir: Path) -> None:
    from ruamel.yaml import YAML

    with open(workdir / "base.yaml", "w", encoding="utf-8") as handle:
        YAML(typ="safe", pure=True).dump({**BASE, "scale": 0.02}, handle)
    write_calibration(workdir / "cal")
    result = cli("compare", "base.yaml", "base.yaml", "-n", "1", "--posterior", "cal", "--set", "countries.GE.appeal=2")
    assert result.exit_code == 2 and len(result.stderr.strip().splitlines()) == 1
    assert "--set countries.GE.appeal: expected a parameter the posterior of cal does not vary" in result.stderr
    # a mapping that holds a varied value overwrites it too
    car = "crossings.upper-lars.modes.car={lanes: 4, service: {mean_minutes: 10}}"
    whole = cli("compare", "base.yaml", "base.yaml", "-n", "1", "--posterior", "cal", "--set", car)
    assert whole.exit_code == 2 and len(whole.stderr.strip().splitlines()) == 1
    assert "--set crossings.upper-lars.modes.car: expected a parameter the posterior of cal does not vary" in whole.stderr
    # named by list index rather than by id, it is the same value
    index = [c["iso"] for c in BASE["countries"]].index("GE")
    by_index = cli("compare", "base.yaml", "base.yaml", "-n", "1", "--posterior", "cal", "--set", f"countries.{index}.appeal=2")
    assert by_index.exit_code == 2 and len(by_index.stderr.strip().splitlines()) == 1
    assert f"--set countries.{index}.appeal: expected a parameter" in by_index.stderr
    assert by_index.stderr.strip().endswith("found one that sets countries.GE.appeal")
    # settings valid only together are applied together, as the runs apply them
    together = cli("compare", "base.yaml", "base.yaml", "-n", "1", "--posterior", "cal",
                   "--set", "people.groups.draft_age_men.share=0.4", "--set", "people.groups.families.share=0.4")
    assert together.exit_code == 0, together.stderr
    # a value the posterior does not vary is set on both sides as usual
    other = cli("compare", "base.yaml", "base.yaml", "-n", "1", "--posterior", "cal", "--set", f"countries.{index}.name=Sakartvelo")
    assert other.exit_code == 0, other.stderr
