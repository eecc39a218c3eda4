"""``crossings validate`` (and schema, list): every mistake is one exact line, exit status 2.

One broken file per mistake lives in the corpus ``tests/bad_scenarios/`` (wrong types,
unknown keys, bad dates and references, extends, unsafe YAML, limits), checked through
the real command by ``tests/test_bad_scenarios.py``.  Here: valid files, the many
spellings of a strict number, ``--set``, and problems that are not one file's.
"""

from __future__ import annotations

import json

import pytest
from helpers import minimal_scenario_yaml, position_of, replace_once, upper_lars_car


def assert_problems(result, *lines: str) -> None:
    assert result.exit_code == 2, result.stdout
    assert result.stdout == ""
    assert result.stderr.splitlines() == list(lines)


def edited(old: str, new: str) -> str:
    return replace_once(minimal_scenario_yaml(), old, new)


# --------------------------------------------------------------------------- success


def test_valid_file(cli, write_scenario):
    result = cli("validate", write_scenario())

    assert result.exit_code == 0, result.stderr
    assert result.stdout == "OK s.yaml: minimal — 3 crossings, 3 countries, 1 policies\n"


def test_valid_with_set(cli, write_scenario):
    result = cli(
        "validate", write_scenario(), "--set", "crossings.upper-lars.modes.car.lanes=12", "--set", "name=jam"
    )

    assert result.exit_code == 0, result.stderr
    assert result.stdout.startswith("OK s.yaml: jam — ")


# --------------------------------------------------------------------------- schema problems


@pytest.mark.parametrize(
    ("written", "found"),
    [
        ("true", "true"),  # not silently 1
        ('"12"', "'12'"),  # not silently 12
        ("'4'", "'4'"),
        ("4.0", "4.0"),
        ("4.5", "4.5"),
        ("yes", "'yes'"),  # YAML 1.2: a string
    ],
)
def test_lanes_must_be_an_integer(cli, write_scenario, written, found):
    text = upper_lars_car(minimal_scenario_yaml(), "lanes: 4", f"lanes: {written}")
    line, col = position_of(text, f"lanes: {written}")

    assert_problems(
        cli("validate", write_scenario(text)),
        f"s.yaml:{line}:{col}: crossings.upper-lars.modes.car.lanes: expected an integer, found {found}",
    )


@pytest.mark.parametrize(
    ("old", "new", "path", "found"),
    [
        ("seed: 42", "seed: true", "seed", "true"),
        ("tick_minutes: 60", 'tick_minutes: "60"', "tick_minutes", "'60'"),
        ("visa_free_days: 90", "visa_free_days: false", "countries.KZ.visa_free_days", "false"),
        (
            "  car_share: 0.5\n",
            "  car_share: 0.5\n  max_attempts: true\n",
            "people.max_attempts",
            "true",
        ),
        (
            "    accepts: [schengen_visa_other]\n",
            "    accepts: [schengen_visa_other]\n    visa_free_days: true\n",
            "policies.finland-closes-to-tourists.visa_free_days",
            "true",
        ),
    ],
)
def test_whole_numbers_are_strict(cli, write_scenario, old, new, path, found):
    text = edited(old, new)
    key = path.rsplit(".", 1)[-1]
    line, col = position_of(text, f"{key}: {new.strip().rsplit(': ', 1)[-1]}")

    assert_problems(
        cli("validate", write_scenario(text)),
        f"s.yaml:{line}:{col}: {path}: expected an integer, found {found}",
    )


VAALIMAA_SERVICE = "crossings.vaalimaa.modes.car.service"


@pytest.mark.parametrize(
    ("old", "new", "path", "found"),
    [
        ("mean_minutes: 4\n", "mean_minutes: true\n", f"{VAALIMAA_SERVICE}.mean_minutes", "true"),
        ("mean_minutes: 4\n", 'mean_minutes: "4"\n', f"{VAALIMAA_SERVICE}.mean_minutes", "'4'"),
        ("scale: 0.1", "scale: yes", "scale", "'yes'"),
        ("vladikavkaz: 1.5", "vladikavkaz: '1.5'", "crossings.upper-lars.travel_hours.vladikavkaz", "'1.5'"),
        ("  car_share: 0.5", "  car_share: false", "people.car_share", "false"),
    ],
)
def test_real_numbers_refuse_booleans_and_text(cli, write_scenario, old, new, path, found):
    text = edited(old, new)
    line, col = position_of(text, new.strip())

    assert_problems(
        cli("validate", write_scenario(text)),
        f"s.yaml:{line}:{col}: {path}: expected a number, found {found}",
    )


def test_real_number_items_of_a_list_are_strict(cli, write_scenario):
    text = edited("party_size: [0.7, 0.2, 0.05, 0.05, 0]", "party_size: [0.7, 0.2, 0.05, 0.05, false]")
    line, col = position_of(text, "false]")  # the item itself

    assert_problems(
        cli("validate", write_scenario(text)),
        f"s.yaml:{line}:{col}: people.groups.draft_age_men.party_size.4: expected a number, found false",
    )


def test_real_numbers_take_integers(cli, write_scenario):
    # mean_minutes: 10, hour: 10, population_weight: 3 are written as integers.
    text = edited("  car_share: 0.5", "  car_share: 1")

    result = cli("validate", write_scenario(text))

    assert result.exit_code == 0, result.stderr


def test_set_value_is_strict_too(cli, write_scenario):
    assert_problems(
        cli("validate", write_scenario(), "--set", "crossings.upper-lars.modes.car.lanes=true"),
        "<set>:0:0: crossings.upper-lars.modes.car.lanes: expected an integer, found true",
    )


# --------------------------------------------------------------------------- cross-field problems


@pytest.mark.parametrize("until", ["2022-09-15", "2022-11-30"])
def test_policy_ending_in_or_after_the_period_is_fine(cli, write_scenario, until):
    # Started before the run and still in force on its first day, or past its end.
    text = edited("    from: 2022-09-30\n", f"    from: 2022-09-01\n    until: {until}\n")

    result = cli("validate", write_scenario(text))

    assert result.exit_code == 0, result.stderr


def test_all_problems_reported_at_once(cli, write_scenario):
    text = upper_lars_car(minimal_scenario_yaml(), "lanes: 4", "lanes: 0")
    text = replace_once(text, "seed: 42", "seed: -1")

    result = cli("validate", write_scenario(text))

    assert result.exit_code == 2
    assert [line.split(": ")[1] for line in result.stderr.splitlines()] == [
        "seed",
        "crossings.upper-lars.modes.car.lanes",
    ]


# --------------------------------------------------------------------------- files and extends


def test_missing_file(cli, workdir):
    assert_problems(
        cli("validate", "nope.yaml"), "nope.yaml:0:0: expected an existing scenario file, found nothing"
    )


# --------------------------------------------------------------------------- the command


def test_click_usage_error_exits_2(cli):
    result = cli("validate")

    assert result.exit_code == 2
    assert "Missing argument 'FILE'" in result.stderr


# --------------------------------------------------------------------------- schema and list


def test_schema_is_json(cli):
    result = cli("schema")

    assert result.exit_code == 0
    schema = json.loads(result.stdout)
    assert schema["title"] == "Scenario"
    assert "crossings" in schema["properties"]
    assert "from" in schema["$defs"]["ClosurePolicy"]["properties"]
    assert schema["$defs"]["ModeSpec"]["properties"]["lanes"]["description"]


def test_list_scenarios(cli, write_scenario, workdir):
    write_scenario(name="scenarios/minimal.yaml")
    write_scenario(
        "extends: minimal.yaml\ndescription: More lanes at Upper Lars.\n", name="scenarios/more-lanes.yaml"
    )
    write_scenario("name: broken\nseed: [\n", name="scenarios/broken.yaml")
    write_scenario("not a scenario", name="scenarios/notes.txt")

    result = cli("list", "--dir", "scenarios")

    assert result.exit_code == 0, result.stderr
    assert result.stdout.splitlines() == [
        "broken      scenarios/broken.yaml:3:1: "
        "expected the node content, found '<stream end>' (while parsing a flow node)",
        "minimal     Where do people go when Upper Lars jams?",
        "more-lanes  More lanes at Upper Lars.",
    ]


def test_list_missing_folder(cli, workdir):
    result = cli("list", "--dir", "nowhere")

    assert result.exit_code == 2
    assert result.stderr == "crossings: expected a folder of scenario files, found nothing at nowhere\n"


def test_problems_are_listed_in_reading_order(cli, write_scenario):
    """The schema checks tick_minutes after seed and scale; the user reads the file top down."""
    text = minimal_scenario_yaml()
    text = replace_once(text, "seed: 42\nscale: 0.1\ntick_minutes: 60\n", "tick_minutes: 0\nscale: 2\nseed: -1\n")
    result = cli("validate", write_scenario(text))
    lines = result.stderr.splitlines()
    assert result.exit_code == 2 and len(lines) == 3, result.stderr
    numbers = [int(line.split(":")[1]) for line in lines]
    assert numbers == sorted(numbers) and [line.split(": ")[1] for line in lines] == ["tick_minutes", "scale", "seed"]
