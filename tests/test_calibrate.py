"""Calibration end to end: a tiny ABC-SMC run writes every output and a checkpoint that
resumes (a budget-stopped run, resumed, ends where an uninterrupted one does); the fit
report's numbers are those of the runs it names; params-file mistakes are one line each."""

from __future__ import annotations

import csv
import json
import math
import re
from pathlib import Path

import numpy as np
import pytest
from model_scenarios import network_scenario

import sim
from sim.calibrate.abc import load_result
from sim.calibrate.fit import calibrate, load_params
from sim.calibrate.targets import load_targets, score, simulated_value, summarise
from sim.scenario.errors import ScenarioError, UsageError

PARAMS = """\
description: two priors for the tiny network
priors:
  - {path: departures.pool_persons, kind: loguniform, low: 100000, high: 1000000}
  - {path: choice.information_lag_hours, kind: uniform, low: 0, high: 36}
population: 12
generations: 2
scale: 0.01
seed: 3
replicates: 3
"""

# Two fit targets (a value with a tolerance, and a range) and one check target.
TARGETS = """\
description: tiny targets
scenario: base.yaml
targets:
  - {id: fi-0922, source: test, quote: "x", place: vaalimaa, measure: entries, aggregate: daily,
     date: 2022-09-22, value: 3000, tolerance: 0.2, use: fit}
  - {id: kz-week, source: test, quote: "x", place: KZ, measure: entries, aggregate: sum,
     from: 2022-09-21, until: 2022-09-27, range: [40000, 90000], use: fit}
  - {id: ul-wait, source: test, quote: "x", place: upper-lars, measure: wait_hours_mean, aggregate: max,
     from: 2022-09-22, until: 2022-09-28, value: 20, tolerance: 0.5, use: check}
"""

OUTPUTS = ("posterior.csv", "point.json", "intervals.csv", "generations.txt", "calibration.json",
           "fit_report.csv", "fit_report.json", "fit_report.png")


@pytest.fixture
def files(tmp_path: Path) -> Path:
    data = network_scenario(period={"start": "2022-09-14", "end": "2022-10-01"}, scale=0.01)
    (tmp_path / "base.yaml").write_text(json.dumps(data, indent=1), encoding="utf-8")
    (tmp_path / "targets.yaml").write_text(TARGETS, encoding="utf-8")
    (tmp_path / "tiny.yaml").write_text(PARAMS, encoding="utf-8")
    return tmp_path


def _calibrate(folder: Path, out: str, **options):
    return calibrate(folder / "base.yaml", folder / "targets.yaml", folder / "tiny.yaml", out=folder / out, workers=2, **options)


def test_tiny_calibration_writes_everything_and_resumes(files: Path) -> None:
    full = _calibrate(files, "full")
    for name in OUTPUTS:
        assert (files / "full" / name).is_file(), name
    assert len(full.result.generations) == 2 and full.stopped == "generations"
    checkpoint = files / "full" / "checkpoint"
    assert load_result(checkpoint).generations == full.result.generations
    with open(files / "full" / "posterior.csv", encoding="utf-8") as handle:
        rows = list(csv.reader(handle))
    assert rows[0] == ["departures.pool_persons", "choice.information_lag_hours"] and len(rows) == 13
    point = json.loads((files / "full" / "point.json").read_text(encoding="utf-8"))
    assert point["set"] == [f"departures.pool_persons={point['median']['departures.pool_persons']!r}",
                            f"choice.information_lag_hours={point['median']['choice.information_lag_hours']!r}"]
    # "best" is the last generation's closest particle, value for value
    closest = full.result.particles[int(np.argmin(full.result.distances))]
    assert point["best"] == pytest.approx(dict(zip(full.result.names, closest.tolist())), rel=1e-12)
    assert point["best_distance"] == float(np.min(full.result.distances))
    # Without --resume an existing calibration is refused.
    with pytest.raises(UsageError, match="already holds a calibration"):
        _calibrate(files, "full")

    # A budget of one generation stops after generation 0; resuming finishes the same calibration.
    cut = _calibrate(files, "cut", budget=12)
    assert cut.stopped == "budget" and len(cut.result.generations) == 1 and cut.simulations == 12
    assert (files / "cut" / "fit_report.json").is_file()
    record = json.loads((files / "cut" / "calibration.json").read_text())
    assert record["stopped"] == record["summary"]["stopped"] == "budget"
    resumed = _calibrate(files, "cut", resume=True)
    assert resumed.stopped == "generations"
    assert np.array_equal(resumed.result.particles, full.result.particles)
    assert resumed.result.median() == full.result.median()
    assert resumed.simulations == full.simulations


def test_fit_report_numbers_are_those_of_its_runs(files: Path) -> None:
    from sim.calibrate.fit import fit_report

    report = fit_report(files / "base.yaml", files / "targets.yaml", overrides=["choice.information_lag_hours=6"],
                        replicates=3, scale=0.01, out=files / "report", workers=2)
    saved = json.loads((files / "report" / "fit_report.json").read_text(encoding="utf-8"))
    targets = load_targets(files / "targets.yaml").targets
    dailies = [sim.run(str(files / "base.yaml"), seed=s, scale=saved["scale"], overrides=saved["overrides"]).daily
               for s in saved["seeds"]]
    scores = [score(t, [simulated_value(t, d) for d in dailies]) for t in targets]
    with open(files / "report" / "fit_report.csv", encoding="utf-8") as handle:
        table = list(csv.DictReader(handle))
    assert [row["id"] for row in table] == [t.id for t in targets]
    for row, expected in zip(table, scores):
        for column, key in (("simulated_median", "median"), ("simulated_p5", "low"), ("simulated_p95", "high"),
                            ("relative_difference", "relative_difference")):
            assert float(row[column]) == pytest.approx(expected[key], rel=1e-5), (row["id"], column)
        assert row["covered"] == ("yes" if expected["covered"] else "no")
        assert row["median_inside"] == ("yes" if expected["median_inside"] else "no")
        assert float(row["runs_inside"]) == pytest.approx(expected["runs_inside"], rel=1e-5)
    overall = summarise(scores)
    for use in ("fit", "all"):
        assert saved["overall"][use]["mean_relative_difference"] == pytest.approx(overall[use]["mean_relative_difference"])
        assert saved["overall"][use]["coverage"] == pytest.approx(overall[use]["coverage"])
        assert saved["overall"][use]["medians_inside"] == pytest.approx(overall[use]["medians_inside"])
    assert report.summary == overall


def test_params_file_mistakes_are_one_line_each_and_exit_2(files: Path, cli, monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.chdir(files)
    bad = PARAMS.replace("kind: loguniform, low: 100000", "kind: gaussian, low: 100000").replace(
        "kind: uniform, low: 0, high: 36", "kind: uniform, low: 40, high: 36"
    ) + "populaton: 5\n"
    Path("bad.yaml").write_text(bad, encoding="utf-8")
    result = cli("calibrate", "base.yaml", "--targets", "targets.yaml", "--params", "bad.yaml")
    assert result.exit_code == 2 and result.stdout == ""
    lines = result.stderr.strip().splitlines()
    assert len(lines) == 3, lines
    assert all(re.match(r"^bad\.yaml:\d+:\d+: ", line) for line in lines), lines
    text = "\n".join(lines)
    assert "priors" in text and "gaussian" in text and "low < high" in text and "populaton" in text

    # A path the scenario does not have is reported at the path, in the params file.
    Path("lost.yaml").write_text(PARAMS.replace("choice.information_lag_hours", "choice.information_lag"), encoding="utf-8")
    result = cli("calibrate", "base.yaml", "--targets", "targets.yaml", "--params", "lost.yaml")
    assert result.exit_code == 2
    (line,) = result.stderr.strip().splitlines()
    assert re.match(r"^lost\.yaml:4:\d+: priors\.\S*: expected a path that overrides", line), line

    # An --out holding someone's file of a name the calibration writes: refused before any run.
    Path("mine").mkdir()
    Path("mine/posterior.csv").write_text("keep", encoding="utf-8")
    result = cli("calibrate", "base.yaml", "--targets", "targets.yaml", "--params", "tiny.yaml", "--out", "mine")
    assert result.exit_code == 2 and len(result.stderr.strip().splitlines()) == 1
    assert "mine/posterior.csv: expected a new file, or a folder holding an earlier result" in result.stderr
    assert sorted(p.name for p in Path("mine").iterdir()) == ["posterior.csv"]

    # Duplicate paths.
    Path("twice.yaml").write_text(PARAMS.replace("choice.information_lag_hours", "departures.pool_persons"), encoding="utf-8")
    with pytest.raises(Exception, match="again"):
        load_params("twice.yaml")
    assert math.isfinite(load_params("tiny.yaml").spec.priors[0].typical())


@pytest.mark.parametrize(
    ("old", "new", "expected"),
    [
        # Strict numbers and booleans: text, a float or a boolean is not a count, nor text a fraction.
        ("population: 12", 'population: "2"', "loose.yaml:5:1: population: expected an integer, found '2'"),
        ("population: 12", "population: 2.0", "loose.yaml:5:1: population: expected an integer, found 2.0"),
        ("population: 12", "population: true", "loose.yaml:5:1: population: expected an integer, found true"),
        ("seed: 3", "seed: 1.0", "loose.yaml:8:1: seed: expected an integer, found 1.0"),
        ("scale: 0.01", 'scale: "0.005"', "loose.yaml:7:1: scale: expected a number, found '0.005'"),
        ("scale: 0.01", "scale: .nan", "loose.yaml:7:1: scale: expected a finite number, found nan"),
        (
            "high: 36}",
            'high: 36, integer: "yes"}',
            "loose.yaml:4:75: priors.1.integer: expected true or false, found 'yes'",
        ),
    ],
)
def test_params_file_values_of_the_wrong_type_are_one_line(files: Path, cli, monkeypatch: pytest.MonkeyPatch,
                                                            old: str, new: str, expected: str) -> None:
    monkeypatch.chdir(files)
    assert old in PARAMS
    Path("loose.yaml").write_text(PARAMS.replace(old, new), encoding="utf-8")
    result = cli("calibrate", "base.yaml", "--targets", "targets.yaml", "--params", "loose.yaml", "--out", "out")
    assert result.exit_code == 2 and result.stdout == ""
    assert result.stderr.splitlines() == [expected]


def test_a_prior_reaching_values_the_scenario_refuses_is_one_line_at_its_bound(
    files: Path, cli, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.chdir(files)
    # Its typical value (3.5 lanes) overrides, its low end does not: particles drawn there would all fail.
    lanes = "  - {path: crossings.upper-lars.modes.car.lanes, kind: uniform, low: -5, high: 12, integer: true}\n"
    Path("wide.yaml").write_text(PARAMS.replace("priors:\n", "priors:\n" + lanes), encoding="utf-8")
    result = cli("calibrate", "base.yaml", "--targets", "targets.yaml", "--params", "wide.yaml", "--out", "out")
    assert result.exit_code == 2 and result.stdout == ""
    assert result.stderr.splitlines() == [
        "wide.yaml:3:65: priors.0.low: crossings.upper-lars.modes.car.lanes=-5: expected a value >= 1, found -5"
    ]
    assert not Path("out").exists()
    # A bound that upsets another key names it; a normal prior's truncation is a bound too.
    share = "  - {path: people.international_passport_share, kind: normal, mean: 0.3, sd: 0.1, low: 0.01, high: 0.9}\n"
    Path("wide.yaml").write_text(PARAMS.replace("priors:\n", "priors:\n" + share), encoding="utf-8")
    result = cli("calibrate", "base.yaml", "--targets", "targets.yaml", "--params", "wide.yaml", "--out", "out")
    assert result.exit_code == 2
    assert result.stderr.splitlines() == [
        "wide.yaml:3:83: priors.0.low: people.international_passport_share=0.01: people.schengen_visa_share: "
        "expected schengen_visa_share <= international_passport_share (0.01), found 0.02"
    ]
    # An integer prior from 0.5 to 12.5 gives the lanes 1..12 equal room: no draw rounds to 0 or 13.
    from sim.calibrate.fit import check_paths, load_params

    lanes = "  - {path: crossings.upper-lars.modes.car.lanes, kind: uniform, low: 0.5, high: 12.5, integer: true}\n"
    Path("halves.yaml").write_text(PARAMS.replace("priors:\n", "priors:\n" + lanes), encoding="utf-8")
    check_paths(load_params("halves.yaml"), "base.yaml")


def test_the_shipped_params_pass_the_checks() -> None:
    from sim.calibrate.fit import check_paths

    root = Path(sim.__file__).resolve().parent.parent
    check_paths(load_params(root / "calibration" / "params" / "mobilization-2022.yaml"), root / "scenarios" / "mobilization-2022.yaml")


def test_replicated_particles_and_a_point_chosen_among_rerun_finalists(files: Path) -> None:
    from sim.calibrate.abc import Distance
    from sim.calibrate.fit import overrides_of, particle_seeds

    (files / "tiny.yaml").write_text(PARAMS + "runs_per_particle: 2\npoint: best\nfinalists: 3\n", encoding="utf-8")
    done = _calibrate(files, "best")
    result = done.result
    # Every particle ran on two seeds, and the budget counts runs, not particles.
    assert done.simulations == 2 * sum(g.simulated for g in result.generations)

    fit = [t for t in load_targets(files / "targets.yaml").targets if t.use == "fit"]
    distance = Distance.ranges([t.band[0] for t in fit], [t.band[1] for t in fit], scale=[t.reference for t in fit])
    params = load_params(files / "tiny.yaml")

    def medians(values: dict[str, float], seeds: list[int]) -> np.ndarray:
        dailies = [sim.run(str(files / "base.yaml"), seed=s, scale=0.01, overrides=overrides_of(params, values)).daily
                   for s in seeds]
        return np.median([[simulated_value(t, d) for t in fit] for d in dailies], axis=0)

    # A particle's distance is that of the medians of its own two runs, recomputed here.
    first = dict(zip(result.names, map(float, result.particles[0])))
    seeds = particle_seeds(int(result.seeds[0]), 2)
    assert seeds[0] == int(result.seeds[0]) and len(set(seeds)) == 2
    assert distance(medians(first, seeds)[None, :])[0] == pytest.approx(result.distances[0], abs=1e-12)

    # The finalists are the three closest particles; the point is the finalist closest on the rerun,
    # whose seeds are not the fit report's.
    point = json.loads((files / "best" / "point.json").read_text(encoding="utf-8"))
    assert point["point"] == "best" and len(point["finalists"]) == 3
    closest = sorted(result.distances)[:3]
    assert [f["distance"] for f in point["finalists"]] == pytest.approx(closest)
    winner = min(point["finalists"], key=lambda f: f["rerun_distance"])
    assert point["values"] == winner["values"] and point["set"] == overrides_of(params, winner["values"])
    assert distance(medians(winner["values"], point["seeds"])[None, :])[0] == pytest.approx(winner["rerun_distance"], abs=1e-12)
    report = json.loads((files / "best" / "fit_report.json").read_text(encoding="utf-8"))
    assert report["overrides"] == point["set"] and not set(report["seeds"]) & set(point["seeds"])
    # Each finalist's rerun is also judged as the fit report judges: coverage and averaged relative difference.
    for finalist in point["finalists"]:
        runs = [[simulated_value(t, sim.run(str(files / "base.yaml"), seed=s, scale=0.01,
                                            overrides=overrides_of(params, finalist["values"])).daily) for t in fit]
                for s in point["seeds"]]
        judged = summarise([score(t, [run[j] for run in runs]) for j, t in enumerate(fit)])["fit"]
        assert finalist["rerun_coverage"] == judged["coverage"]
        assert finalist["rerun_mean_relative_difference"] == pytest.approx(judged["mean_relative_difference"], abs=1e-12)

    # Chosen by those criteria instead (the finished calibration resumed: no new particle), the point is
    # the finalist that covers most fit targets, then the one with the smallest averaged difference.
    (files / "tiny.yaml").write_text(PARAMS + "runs_per_particle: 2\npoint: best\nfinalists: 3\nchoose_by: coverage\n",
                                     encoding="utf-8")
    again = _calibrate(files, "best", resume=True)
    assert again.simulations == done.simulations
    covering = json.loads((files / "best" / "point.json").read_text(encoding="utf-8"))
    assert covering["choose_by"] == "coverage" and covering["finalists"] == point["finalists"]
    ranked = sorted(point["finalists"], key=lambda f: (-f["rerun_coverage"], f["rerun_mean_relative_difference"]))
    assert covering["values"] == ranked[0]["values"]

    # Resuming with another number of runs per particle is refused: the checkpoint's distances would mix.
    (files / "tiny.yaml").write_text(PARAMS + "runs_per_particle: 3\npoint: best\nfinalists: 3\n", encoding="utf-8")
    with pytest.raises(UsageError, match="other settings"):
        _calibrate(files, "best", resume=True)
    # So is a prior now rounded to whole numbers, or a fit target read elsewhere: the same bounds and
    # bands, but not the same statistics.
    rounded = PARAMS.replace("low: 0, high: 36}", "low: 0, high: 36, integer: true}")
    assert rounded != PARAMS
    (files / "tiny.yaml").write_text(rounded + "runs_per_particle: 2\npoint: best\nfinalists: 3\n", encoding="utf-8")
    with pytest.raises(UsageError, match="other settings"):
        _calibrate(files, "best", resume=True)
    (files / "tiny.yaml").write_text(PARAMS + "runs_per_particle: 2\npoint: best\nfinalists: 3\n", encoding="utf-8")
    (files / "targets.yaml").write_text(TARGETS.replace("measure: entries, aggregate: sum", "measure: exits, aggregate: sum"),
                                        encoding="utf-8")
    with pytest.raises(UsageError, match="other settings"):
        _calibrate(files, "best", resume=True)


def test_finalists_rank_by_distance_or_by_the_fit_reports_criteria() -> None:
    from sim.calibrate.fit import _finalist_order

    def finalist(name: str, distance: float, coverage: float, difference: float) -> dict:
        return {"values": name, "rerun_distance": distance, "rerun_coverage": coverage,
                "rerun_mean_relative_difference": difference}

    finalists = [finalist("near", 0.10, 0.80, 0.15), finalist("covering", 0.12, 0.90, 0.18),
                 finalist("covering, closer", 0.13, 0.90, 0.16), finalist("lost", math.nan, 0.0, math.nan)]
    assert [f["values"] for f in sorted(finalists, key=_finalist_order("distance"))] == [
        "near", "covering", "covering, closer", "lost"]
    # Coverage first, then the averaged difference; a rerun with missing values (NaN) ranks last either way.
    assert [f["values"] for f in sorted(finalists, key=_finalist_order("coverage"))] == [
        "covering, closer", "covering", "near", "lost"]


def test_refine_searches_the_posterior_quantiles_one_parameter_at_a_time() -> None:
    """The search with a judge whose best point is known: (a, b, lanes) = (0.9, 0.1, 5).

    The judge's coverage is 1 less how far each value is from its best, so every move
    towards the best is a strict improvement, and a level no better is never taken.
    """
    from sim.calibrate.abc import ABCResult, weighted_quantile
    from sim.calibrate.fit import _finalist_order, _refine

    rng = np.random.default_rng(5)
    names = ("a", "b", "lanes")
    particles = np.column_stack([rng.uniform(0, 1, 200), rng.uniform(0, 1, 200), rng.uniform(1, 9, 200)])
    weights = rng.uniform(0.5, 1.5, 200)
    weights /= weights.sum()
    result = ABCResult(names=names, particles=particles, weights=weights, distances=np.zeros(200),
                       stats=np.zeros((200, 1)), seeds=np.arange(200), epsilon=1.0, generations=(), stopped="test",
                       entropy=0)
    judged: list[np.ndarray] = []

    def judge(theta: np.ndarray) -> list[dict[str, float]]:
        judged.append(theta.copy())
        off = np.abs(theta[:, 0] - 0.9) + np.abs(theta[:, 1] - 0.1) + np.abs(np.round(theta[:, 2]) - 5) / 8
        return [{"rerun_distance": float(o), "rerun_coverage": float(1 - o), "rerun_mean_relative_difference": 0.1}
                for o in off]

    start = {"a": 0.5, "b": 0.5, "lanes": 2.0}
    record = judge(np.array([[0.5, 0.5, 2.0]]))[0]
    quantiles = [0.1, 0.5, 0.9]
    lines: list[str] = []
    point, steps = _refine(start, record, result, quantiles, {"lanes"}, judge, _finalist_order("coverage"), lines.append)
    assert [line.split(":")[0] for line in lines] == ["refine 1/3 a", "refine 2/3 b", "refine 3/3 lanes"]

    levels = {n: weighted_quantile(particles[:, k], weights, np.array(quantiles)) for k, n in enumerate(names)}
    # a: 0.5 → its 90% quantile (nearest 0.9); b: → its 10% quantile; lanes (rounded): → the level nearest 5
    assert point["a"] == pytest.approx(levels["a"][2]) and point["b"] == pytest.approx(levels["b"][0])
    assert point["lanes"] == min({round(v) for v in levels["lanes"]}, key=lambda v: abs(v - 5))
    assert [s["parameter"] for s in steps] == ["a", "b", "lanes"]
    assert steps[0]["from"] == 0.5 and steps[1]["from"] == 0.5 and steps[2]["from"] == 2.0
    coverage = [record["rerun_coverage"]] + [s["rerun_coverage"] for s in steps]
    assert all(later > earlier for earlier, later in zip(coverage, coverage[1:]))
    # one judge call per parameter, each with the others held at the point so far; an integer's levels
    # are tried rounded, once each
    assert [len(t) for t in judged[1:]] == [3, 3, len({round(v) for v in levels["lanes"]} - {2})]
    assert np.all(judged[2][:, 0] == point["a"]) and np.all(judged[3][:, :2] == [point["a"], point["b"]])

    # From the best point itself nothing moves.
    best = {"a": 0.9, "b": 0.1, "lanes": 5.0}
    same, none = _refine(best, judge(np.array([[0.9, 0.1, 5.0]]))[0], result, quantiles, {"lanes"}, judge,
                         _finalist_order("coverage"))
    assert same == best and none == []


def test_a_refined_point_is_written_with_its_steps(files: Path) -> None:
    from sim.calibrate.fit import _finalist_order, overrides_of

    (files / "tiny.yaml").write_text(PARAMS + "runs_per_particle: 2\npoint: best\nfinalists: 3\nchoose_by: coverage\n"
                                     "refine: [0.1, 0.5, 0.9]\n", encoding="utf-8")
    _calibrate(files, "refined")
    point = json.loads((files / "refined" / "point.json").read_text(encoding="utf-8"))
    values = dict(min(point["finalists"], key=_finalist_order("coverage"))["values"])
    for step in point["refined"]:
        assert step["from"] == values[step["parameter"]]
        values[step["parameter"]] = step["to"]
    assert point["values"] == values and point["set"] == overrides_of(load_params(files / "tiny.yaml"), values)
    report = json.loads((files / "refined" / "fit_report.json").read_text(encoding="utf-8"))
    assert report["overrides"] == point["set"] and not set(report["seeds"]) & set(point["seeds"])
    # a refine quantile outside (0, 1) is a params-file mistake
    (files / "tiny.yaml").write_text(PARAMS + "point: best\nrefine: [0.5, 1.5]\n", encoding="utf-8")
    with pytest.raises(ScenarioError, match=r"tiny.yaml:11:15: refine.1: expected a value < 1, found 1.5"):
        load_params(files / "tiny.yaml")
