"""A sweep file is checked whole before any run: each value its parameters take against
the base scenario, its measure names, its size and the scale it is given.  A mistake is
one line at the sweep file's key (exit 2) and no store is made, where it used to cost
every run (exit 0) or all the memory."""

from __future__ import annotations

import json
from pathlib import Path

import pytest
from test_sweep import tiny_base

import sim
from sim.run import sweep as sweep_module
from sim.run.measures import summary_measures
from sim.run.sweep import MAX_RUNS, load_sweep

ROOT = Path(sim.__file__).resolve().parent.parent

LANES = """\
name: s
base: base.yaml
parameters:
  - path: crossings.upper-lars.modes.car.lanes
    values: [4, 8]
design:
  kind: grid
replicates: 2
scale: 0.01
"""


def refused(cli, *args: str) -> list[str]:
    """Run ``crossings sweep`` expecting a refusal; its stderr lines."""
    result = cli("sweep", *args, "--out", "store", "--quiet", "--workers", "1")
    assert result.exit_code == 2, (result.stdout, result.stderr)
    assert not Path("store").exists()
    return result.stderr.splitlines()


# --------------------------------------------------------------------------- parameter values


@pytest.mark.parametrize(
    ("old", "new", "expected"),
    [
        # An unknown key fails for every value alike: the path is at fault.
        (
            "path: crossings.upper-lars.modes.car.lanes",
            "path: choice.nope",
            ["s.yaml:4:5: parameters.0.path: choice.nope: expected a known key, found 'nope'"],
        ),
        (
            "path: crossings.upper-lars.modes.car.lanes",
            "path: crossings.uper-lars.modes.car.lanes",
            ["s.yaml:4:5: parameters.0.path: crossings.uper-lars.modes.car.lanes: expected a known id or index in "
             "crossings, found 'uper-lars' (did you mean 'upper-lars'?)"],
        ),
        # Bad values: each at its own place in the list, with the override it makes.
        (
            "values: [4, 8]",
            "values: [-3, abc, 8]",
            [
                "s.yaml:5:14: parameters.0.values.0: crossings.upper-lars.modes.car.lanes=-3: expected a value >= 1, found -3",
                "s.yaml:5:18: parameters.0.values.1: crossings.upper-lars.modes.car.lanes=abc: expected an integer, found 'abc'",
            ],
        ),
    ],
)
def test_a_parameter_the_base_refuses_is_one_line_at_the_sweep_file(
    workdir: Path, cli, old: str, new: str, expected: list[str]
) -> None:
    tiny_base(workdir)
    (workdir / "s.yaml").write_text(LANES.replace(old, new), encoding="utf-8")
    assert refused(cli, "s.yaml") == expected


def test_a_value_that_upsets_another_key_names_both(workdir: Path, cli) -> None:
    tiny_base(workdir)  # international_passport_share 0.29
    text = LANES.replace("path: crossings.upper-lars.modes.car.lanes", "path: people.international_passport_share").replace(
        "values: [4, 8]", "values: [0.29, 0.01]"
    )
    (workdir / "s.yaml").write_text(text, encoding="utf-8")  # schengen_visa_share 0.02 in the base
    assert refused(cli, "s.yaml") == [
        "s.yaml:5:20: parameters.0.values.1: people.international_passport_share=0.01: people.schengen_visa_share: "
        "expected schengen_visa_share <= international_passport_share (0.01), found 0.02"
    ]


def test_a_range_is_checked_at_the_ends_the_design_draws(workdir: Path, cli) -> None:
    tiny_base(workdir)
    text = LANES.replace("values: [4, 8]", "range: {low: -6, high: 12}\n    integer: true").replace(
        "kind: grid", "kind: lhs\n  points: 4"
    )
    (workdir / "s.yaml").write_text(text, encoding="utf-8")
    lines = refused(cli, "s.yaml")
    assert len(lines) == 1
    # The lowest of 4 Latin-hypercube points lies in the range's lowest quarter, below 1 lane.
    assert lines[0].startswith("s.yaml:5:13: parameters.0.range.low: crossings.upper-lars.modes.car.lanes=")
    assert ": expected a value >= 1, found -" in lines[0]


def test_a_value_that_is_too_many_persons_at_the_sweeps_scale_is_refused(workdir: Path, cli) -> None:
    tiny_base(workdir)  # scale 0.01: 900 million at that scale is within the limit, at the sweep's scale 1 it is not
    text = LANES.replace("path: crossings.upper-lars.modes.car.lanes", "path: departures.pool_persons").replace(
        "values: [4, 8]", "values: [400000, 900000000]"
    ).replace("scale: 0.01", "scale: 1")
    (workdir / "s.yaml").write_text(text, encoding="utf-8")
    lines = refused(cli, "s.yaml")
    assert len(lines) == 1
    assert lines[0].startswith(
        "s.yaml:5:22: parameters.0.values.1: departures.pool_persons=900000000: departures: "
        "expected at most 10,000,000 simulated persons"
    )
    assert lines[0].endswith("with scale 1")


@pytest.mark.parametrize("where", ["file", "option"])
def test_a_scale_too_large_for_the_base_is_refused_once(workdir: Path, cli, where: str) -> None:
    tiny_base(workdir)
    base = json.loads((workdir / "base.yaml").read_text(encoding="utf-8"))
    base["departures"]["pool_persons"] = 50_000_000  # 500,000 persons at the base's scale 0.01
    (workdir / "base.yaml").write_text(json.dumps(base), encoding="utf-8")
    text = LANES.replace("scale: 0.01", "scale: 0.5" if where == "file" else "scale: 0.01")
    (workdir / "s.yaml").write_text(text, encoding="utf-8")
    lines = refused(cli, "s.yaml", *(["--scale", "0.5"] if where == "option" else []))
    assert len(lines) == 1
    start = "s.yaml:9:1: scale: expected at most" if where == "file" else "crossings: scale 0.5: expected at most"
    assert lines[0].startswith(start) and lines[0].endswith("; choose a smaller scale")


def test_a_distribution_is_not_refused_for_tails_it_never_draws(workdir: Path) -> None:
    # Lag hours must be >= 0: a normal(24, 4) reaches below 0 only 6 sd out, which 8 points never draw.
    tiny_base(workdir)
    text = LANES.replace("path: crossings.upper-lars.modes.car.lanes", "path: choice.information_lag_hours").replace(
        "values: [4, 8]", "distribution: {kind: normal, mean: 24, sd: 4}"
    ).replace("kind: grid", "kind: lhs\n  points: 8")
    (workdir / "s.yaml").write_text(text, encoding="utf-8")
    loaded = load_sweep("s.yaml")
    assert len(loaded.points) == 8 and min(point[0] for point in loaded.points) > 0


def test_a_key_that_takes_a_list_is_varied_by_values_written_as_yaml_lists(workdir: Path) -> None:
    # Text that is a YAML flow list reaches --set as written; a number in quotes stays text.
    tiny_base(workdir)
    iso = json.loads((workdir / "base.yaml").read_text())["countries"][0]["iso"]
    text = LANES.replace("path: crossings.upper-lars.modes.car.lanes", f"path: countries.{iso}.accepts").replace(
        "values: [4, 8]", 'values: ["[internal_passport]", "[internal_passport, international_passport]"]'
    )
    (workdir / "s.yaml").write_text(text, encoding="utf-8")
    loaded = load_sweep("s.yaml")
    assert len(loaded.points) == 2


@pytest.mark.parametrize("name", ["upper-lars-capacity.yaml", "sobol-departures.yaml"])
def test_the_shipped_sweeps_pass_the_checks(name: str) -> None:
    loaded = load_sweep(ROOT / "scenarios" / "sweeps" / name)
    assert loaded.points


# --------------------------------------------------------------------------- measures


@pytest.mark.parametrize(
    ("measures", "expected"),
    [
        (
            "[entries.GE, entries.XY]",
            "s.yaml:10:24: measures.1: expected a measure of the runs, found 'entries.XY' (did you mean 'entries.KZ'?)",
        ),
        (
            "[wait_hour_p90_max.*]",
            "s.yaml:10:12: measures.0: expected a pattern matching a measure of the runs (e.g. arrivals.kairak, "
            "arrivals.syrym, arrivals.upper-lars), found 'wait_hour_p90_max.*', which matches none",
        ),
    ],
)
def test_an_unknown_measure_is_refused_before_any_run(workdir: Path, cli, measures: str, expected: str) -> None:
    tiny_base(workdir)
    (workdir / "s.yaml").write_text(LANES + f"measures: {measures}\n", encoding="utf-8")
    assert refused(cli, "s.yaml") == [expected]


def test_every_measure_a_run_reports_is_known_before_it(workdir: Path) -> None:
    """The names known before running include every name a run of the base reports (no false refusal)."""
    tiny_base(workdir)
    result = sim.run("base.yaml")
    names = sorted(summary_measures(result.daily, result.people))
    assert "wait_hours_p90_max.upper-lars" in names and "people.departed" in names
    (workdir / "s.yaml").write_text(LANES + f"measures: {json.dumps(names)}\n", encoding="utf-8")
    assert load_sweep("s.yaml").spec.measures == names


def test_an_unknown_measure_of_ishigami_is_refused(workdir: Path, cli) -> None:
    (workdir / "s.yaml").write_text(
        "name: s\nmodel: ishigami\nparameters:\n  - {path: x1, values: [0, 1]}\ndesign: {kind: grid}\nmeasures: [y, z]\n",
        encoding="utf-8",
    )
    assert refused(cli, "s.yaml") == ["s.yaml:6:15: measures.1: expected a measure of the runs, found 'z'"]


# --------------------------------------------------------------------------- scale


def test_sweep_refuses_a_nan_scale(workdir: Path, cli) -> None:
    tiny_base(workdir)
    (workdir / "s.yaml").write_text(LANES, encoding="utf-8")
    assert refused(cli, "s.yaml", "--scale", "nan") == ["crossings: scale: expected a fraction in [1e-06, 1], found nan"]


def test_fit_report_refuses_a_nan_scale(workdir: Path, cli) -> None:
    tiny_base(workdir)
    (workdir / "targets.yaml").write_text(
        """\
description: one target on the small network
scenario: base.yaml
targets:
  - {id: kz-week, source: test, quote: "x", place: KZ, measure: entries, aggregate: sum,
     from: 2022-09-21, until: 2022-09-27, range: [40000, 90000], use: fit}
""",
        encoding="utf-8",
    )
    result = cli("fit-report", "base.yaml", "--targets", "targets.yaml", "-n", "1", "--workers", "1", "--scale", "nan", "--out", "report")
    assert result.exit_code == 2, (result.stdout, result.stderr)
    assert result.stderr.splitlines() == ["crossings: scale: expected a fraction in [1e-06, 1], found nan"]
    assert not (workdir / "report").exists()


# --------------------------------------------------------------------------- size


def _values(n: int) -> str:
    return "[" + ", ".join(str(i) for i in range(n)) + "]"


@pytest.mark.parametrize(
    ("body", "expected"),
    [
        (
            "parameters:\n  - {path: x1, range: {low: 0, high: 1}}\ndesign: {kind: lhs, points: 1000000000000}\n",
            "s.yaml:5:21: design.points: expected at most 1,000,000 runs, found 1,000,000,000,000 lhs points",
        ),
        (
            "parameters:\n  - {path: x1, range: {low: 0, high: 1}}\n  - {path: x2, range: {low: 0, high: 1}}\n"
            "design: {kind: sobol, points: 262144}\n",
            "s.yaml:6:23: design.points: expected at most 1,000,000 runs, found 1,048,576 sobol points "
            "(262,144 base points × 4)",
        ),
        (
            f"parameters:\n  - {{path: x1, values: {_values(1000)}}}\n  - {{path: x2, values: {_values(1000)}}}\n"
            f"  - {{path: x3, values: {_values(1000)}}}\ndesign: {{kind: grid}}\nreplicates: 1000\n",
            "s.yaml:3:1: parameters: expected at most 1,000,000 runs, found 1,000,000,000 grid points "
            "(the product of the numbers of values)",
        ),
        (
            "parameters:\n  - {path: x1, values: [0, 1, 2]}\ndesign: {kind: grid}\nreplicates: 400000\n",
            "s.yaml:6:1: replicates: expected at most 1,000,000 runs (points × replicates), "
            "found 1,200,000 (3 points × 400,000 replicates)",
        ),
    ],
)
def test_a_sweep_of_too_many_runs_is_refused_before_its_design_is_built(
    workdir: Path, cli, monkeypatch: pytest.MonkeyPatch, body: str, expected: str
) -> None:
    def never(*args: object, **kwargs: object) -> None:
        raise AssertionError("the design was built: a large one would exhaust memory before it ran")

    monkeypatch.setattr(sweep_module, "design_points", never)
    (workdir / "s.yaml").write_text("name: s\nmodel: ishigami\n" + body, encoding="utf-8")
    assert refused(cli, "s.yaml") == [expected]


def test_the_limit_itself_is_allowed(workdir: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    # A grid of exactly MAX_RUNS points passes the bound and is built (stubbed here: a million points is not the point).
    built = []
    monkeypatch.setattr(sweep_module, "design_points", lambda *args, **kwargs: built.append(args) or [[0, 0]])
    side = int(MAX_RUNS**0.5)
    assert side * side == MAX_RUNS
    (workdir / "s.yaml").write_text(
        f"name: s\nmodel: ishigami\nparameters:\n  - {{path: x1, values: {_values(side)}}}\n"
        f"  - {{path: x2, values: {_values(side)}}}\ndesign: {{kind: grid}}\n",
        encoding="utf-8",
    )
    assert load_sweep("s.yaml").points == [[0, 0]] and len(built) == 1


# --------------------------------------------------------------------------- types and values


@pytest.mark.parametrize(
    ("old", "new", "expected"),
    [
        # Strict numbers: text, a float or a boolean is not a count of replicates, nor text a scale.
        ("replicates: 2", 'replicates: "1"', "s.yaml:8:1: replicates: expected an integer, found '1'"),
        ("replicates: 2", "replicates: 1.0", "s.yaml:8:1: replicates: expected an integer, found 1.0"),
        ("replicates: 2", "replicates: true", "s.yaml:8:1: replicates: expected an integer, found true"),
        ("scale: 0.01", 'scale: "0.005"', "s.yaml:9:1: scale: expected a number, found '0.005'"),
        ("scale: 0.01", "scale: .nan", "s.yaml:9:1: scale: expected a finite number, found nan"),
        ("kind: grid", 'kind: lhs\n  points: "4"', "s.yaml:8:3: design.points: expected an integer, found '4'"),
        ("values: [4, 8]", 'values: [4, 8]\n    integer: "yes"', "s.yaml:6:5: parameters.0.integer: expected true or false, found 'yes'"),
        # A value of no kind a sweep takes: one line, not one per kind it might have been.
        ("values: [4, 8]", "values: [null, 12]", "s.yaml:5:14: parameters.0.values.0: expected a number, a string, true or false, found null"),
        ("values: [4, 8]", "values: [[8], 12]", "s.yaml:5:14: parameters.0.values.0: expected a number, a string, true or false, found a list"),
        ("values: [4, 8]", "values: [{a: 1}, 12]", "s.yaml:5:14: parameters.0.values.0: expected a number, a string, true or false, found a mapping"),
        # Text stays text: "8" is not the integer the key takes (nor is true).
        (
            "values: [4, 8]",
            'values: ["8", 12, true]',
            [
                's.yaml:5:14: parameters.0.values.0: crossings.upper-lars.modes.car.lanes="8": expected an integer, found \'8\'',
                "s.yaml:5:23: parameters.0.values.2: crossings.upper-lars.modes.car.lanes=true: expected an integer, found true",
            ],
        ),
    ],
)
def test_a_value_of_the_wrong_type_is_one_line(workdir: Path, cli, old: str, new: str, expected: str | list[str]) -> None:
    tiny_base(workdir)
    (workdir / "s.yaml").write_text(LANES.replace(old, new), encoding="utf-8")
    assert refused(cli, "s.yaml") == ([expected] if isinstance(expected, str) else expected)


def test_an_ishigami_input_is_a_number(workdir: Path, cli) -> None:
    (workdir / "s.yaml").write_text(
        'name: s\nmodel: ishigami\nparameters:\n  - {path: x1, values: ["8", 1, false]}\ndesign: {kind: grid}\n', encoding="utf-8"
    )
    assert refused(cli, "s.yaml") == [
        "s.yaml:4:25: parameters.0.values.0: expected a number, found '8'",
        "s.yaml:4:33: parameters.0.values.2: expected a number, found false",
    ]


def test_a_lognormal_with_mu_written_as_a_mean_is_refused(workdir: Path, cli) -> None:
    tiny_base(workdir)
    text = LANES.replace("path: crossings.upper-lars.modes.car.lanes", "path: choice.information_lag_hours").replace(
        "values: [4, 8]", "distribution: {kind: lognormal, mu: 800, sigma: 1}"
    ).replace("kind: grid", "kind: lhs\n  points: 4")
    (workdir / "s.yaml").write_text(text, encoding="utf-8")
    assert refused(cli, "s.yaml") == [
        "s.yaml:5:5: parameters.0.distribution: expected mu + 8 × sigma <= 700 (mu and sigma are the mean and sd of "
        "the value's logarithm, so that exp of every draw is finite), found mu 800, sigma 1"
    ]
    # The largest that passes draws finite values (and the scenario judges them).
    (workdir / "s.yaml").write_text(text.replace("mu: 800", "mu: 3"), encoding="utf-8")
    assert all(0 < point[0] < 1e6 for point in load_sweep("s.yaml").points)


@pytest.mark.parametrize(
    ("source", "expected"),
    [
        (
            "distribution: {kind: normal, mean: 1e308, sd: 1e308}\n    integer: true",
            "s.yaml:5:5: parameters.0.distribution: expected a distribution whose every draw is a finite number, "
            "found inf drawn at 1 of 4 points",
        ),
        (
            "range: {low: -1.7e308, high: 1.7e308}",
            "s.yaml:5:5: parameters.0.range: expected a range whose every draw is a finite number, found inf drawn at 4 of 4 points",
        ),
    ],
)
def test_a_draw_that_is_not_a_finite_number_is_refused_before_any_run(workdir: Path, cli, source: str, expected: str) -> None:
    tiny_base(workdir)
    text = LANES.replace("path: crossings.upper-lars.modes.car.lanes", "path: choice.information_lag_hours").replace(
        "values: [4, 8]", source
    ).replace("kind: grid", "kind: lhs\n  points: 4")
    (workdir / "s.yaml").write_text(text, encoding="utf-8")
    assert refused(cli, "s.yaml") == [expected]


def test_a_store_with_values_near_the_largest_float_summarises(workdir: Path, cli) -> None:
    # Finite draws up to ~1.7e308: the runs take them, and no axis can hold them.
    (workdir / "s.yaml").write_text(
        "name: s\nmodel: ishigami\nparameters:\n  - {path: x1, distribution: {kind: normal, mean: 1e308, sd: 1e307}}\n"
        "  - {path: x2, range: {low: 0, high: 1}}\ndesign: {kind: lhs, points: 8}\n",
        encoding="utf-8",
    )
    loaded = load_sweep("s.yaml")
    assert max(point[0] for point in loaded.points) > 1.2e308
    # The sweep's steps, in this process (a process pool costs more than these runs).
    from sim.run.sweep import plan_tasks, run_task
    from sim.run.sweep_store import prepare_store, write_summary

    prepare_store(workdir / "store", loaded.plan(), resume=False, force=False)
    assert all(run_task(task)["status"] == "ok" for task in plan_tasks(loaded, workdir / "store"))
    write_summary(workdir / "store", loaded.plan())
    result = cli("summarise", "store")
    assert result.exit_code == 0, result.stderr
    # The response figure is drawn against x2, the tornado chart with both.
    assert (workdir / "store" / "response.png").is_file() and (workdir / "store" / "tornado.png").is_file()


def test_a_finished_run_without_a_measure_reads_0_in_the_summary_as_in_compare() -> None:
    """Nobody served at a crossing in one run: its wait measure is absent; the summary reads 0, a failed run nothing."""
    from sim.run.sweep_store import summary_table

    def row(replicate: int, status: str, measures: dict[str, float]) -> dict:
        return {"point": 0, "replicate": replicate, "seed": replicate, "status": status,
                "error": None if status == "ok" else "boom", "params": {"x": 1.0}, "measures": measures}

    rows = [row(0, "ok", {"wait.a": 2.0}), row(1, "ok", {}), row(2, "failed", {})]
    table = summary_table(rows, {"parameters": ["x"]})
    assert table.column("wait.a").to_pylist() == [2.0, 0.0, None]
