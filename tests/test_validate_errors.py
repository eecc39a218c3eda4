"""``crossings validate`` (and schema, list): every mistake is one exact line, exit status 2."""

from __future__ import annotations

import json
import os
import subprocess
import sys
import time
from pathlib import Path

import pytest
from helpers import minimal_scenario_yaml, position_of, replace_once, upper_lars_car

import sim

REPO = Path(sim.__file__).resolve().parent.parent


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


def test_unknown_top_level_key_with_did_you_mean(cli, write_scenario):
    text = edited("scale: 0.1", "scael: 0.1")
    line, col = position_of(text, "scael")

    assert_problems(
        cli("validate", write_scenario(text)),
        f"s.yaml:{line}:{col}: scael: expected a known key, found 'scael' (did you mean 'scale'?)",
    )


def test_misspelt_required_key_reports_both_sides(cli, write_scenario):
    text = upper_lars_car(minimal_scenario_yaml(), "lanes: 4", "lanse: 4")
    car_line, car_col = position_of(text, "car:")
    line, col = position_of(text, "lanse")

    assert_problems(
        cli("validate", write_scenario(text)),
        f"s.yaml:{car_line}:{car_col}: crossings.upper-lars.modes.car.lanes: expected this key, found nothing",
        f"s.yaml:{line}:{col}: crossings.upper-lars.modes.car.lanse: "
        "expected a known key, found 'lanse' (did you mean 'lanes'?)",
    )


def test_wrong_type(cli, write_scenario):
    text = upper_lars_car(minimal_scenario_yaml(), "lanes: 4", "lanes: twelve")
    line, col = position_of(text, "lanes: twelve")

    assert_problems(
        cli("validate", write_scenario(text)),
        f"s.yaml:{line}:{col}: crossings.upper-lars.modes.car.lanes: expected an integer, found 'twelve'",
    )


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


@pytest.mark.parametrize("lanes", ["-2", "0"])
def test_lanes_below_one(cli, write_scenario, lanes):
    text = upper_lars_car(minimal_scenario_yaml(), "lanes: 4", f"lanes: {lanes}")
    line, col = position_of(text, f"lanes: {lanes}")

    assert_problems(
        cli("validate", write_scenario(text)),
        f"s.yaml:{line}:{col}: crossings.upper-lars.modes.car.lanes: expected a value >= 1, found {lanes}",
    )


def test_unknown_mode_with_did_you_mean(cli, write_scenario):
    text = upper_lars_car(minimal_scenario_yaml(), "      car:", "      cars:")
    line, col = position_of(text, "cars:")

    assert_problems(
        cli("validate", write_scenario(text)),
        f"s.yaml:{line}:{col}: crossings.upper-lars.modes.cars: "
        "expected a known key, found 'cars' (did you mean 'car'?)",
    )


def test_period_end_before_start(cli, write_scenario):
    text = edited("  end: 2022-10-15", "  end: 2022-09-01")
    line, col = position_of(text, "end: 2022-09-01")

    assert_problems(
        cli("validate", write_scenario(text)),
        f"s.yaml:{line}:{col}: period.end: expected period.end on or after period.start (2022-09-15), found 2022-09-01",
    )


def test_bad_date(cli, write_scenario):
    text = edited("from: 2022-09-30", "from: 2022-09-31")
    line, col = position_of(text, "from: 2022-09-31")

    assert_problems(
        cli("validate", write_scenario(text)),
        f"s.yaml:{line}:{col}: policies.finland-closes-to-tourists.from: "
        "expected an ISO date (YYYY-MM-DD), found '2022-09-31'",
    )


# --------------------------------------------------------------------------- cross-field problems


def test_unknown_crossing_in_closure_policy(cli, write_scenario):
    text = minimal_scenario_yaml() + "  - kind: closure\n    from: 2022-09-25\n    crossing: upper-lasr\n"
    line, col = position_of(text, "crossing: upper-lasr")

    assert_problems(
        cli("validate", write_scenario(text)),
        f"s.yaml:{line}:{col}: policies.1.crossing: "
        "expected a known crossing, found 'upper-lasr' (did you mean 'upper-lars'?)",
    )


def test_unknown_country_in_entry_policy(cli, write_scenario):
    text = edited("    country: FI", "    country: NO")
    line, col = position_of(text, "country: NO")

    assert_problems(
        cli("validate", write_scenario(text)),
        f"s.yaml:{line}:{col}: policies.finland-closes-to-tourists.country: expected a known country, found 'NO'",
    )


def test_duplicate_crossing_id(cli, write_scenario):
    text = edited("  - id: mashtakovo", "  - id: upper-lars")
    line, col = position_of(text, "id: upper-lars", occurrence=2)

    # Both items share the id, so the path names the duplicate by index.
    assert_problems(
        cli("validate", write_scenario(text)),
        f"s.yaml:{line}:{col}: crossings.2.id: expected a unique id, found 'upper-lars' twice",
    )


def test_policy_date_outside_period(cli, write_scenario):
    text = edited("from: 2022-09-30", "from: 2023-01-01")
    line, col = position_of(text, "from: 2023-01-01")

    assert_problems(
        cli("validate", write_scenario(text)),
        f"s.yaml:{line}:{col}: policies.finland-closes-to-tourists.from: "
        "expected a date within the period 2022-09-15..2022-10-15, found 2023-01-01",
    )


def test_policy_ending_before_the_period(cli, write_scenario):
    text = edited("    from: 2022-09-30\n", "    from: 2022-09-01\n    until: 2022-09-14\n")
    line, col = position_of(text, "until: 2022-09-14")

    assert_problems(
        cli("validate", write_scenario(text)),
        f"s.yaml:{line}:{col}: policies.finland-closes-to-tourists.until: "
        "expected a date within the period 2022-09-15..2022-10-15, found 2022-09-14",
    )


@pytest.mark.parametrize("until", ["2022-09-15", "2022-11-30"])
def test_policy_ending_in_or_after_the_period_is_fine(cli, write_scenario, until):
    # Started before the run and still in force on its first day, or past its end.
    text = edited("    from: 2022-09-30\n", f"    from: 2022-09-01\n    until: {until}\n")

    result = cli("validate", write_scenario(text))

    assert result.exit_code == 0, result.stderr


def test_party_size_not_summing_to_one(cli, write_scenario):
    text = edited("party_size: [0.7, 0.2, 0.05, 0.05, 0]", "party_size: [0.5, 0.2, 0.05, 0.05, 0]")
    line, col = position_of(text, "party_size: [0.5")

    assert_problems(
        cli("validate", write_scenario(text)),
        f"s.yaml:{line}:{col}: people.groups.draft_age_men.party_size: "
        "expected 5 non-negative probabilities summing to 1, found sum 0.8",
    )


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


def test_missing_extends_parent(cli, write_scenario):
    name = write_scenario("name: child\nextends: base.yaml\n", name="child.yaml")

    assert_problems(
        cli("validate", name), "child.yaml:2:1: extends: expected an existing file, found 'base.yaml'"
    )


def test_extends_cycle(cli, write_scenario):
    write_scenario("extends: b.yaml\nname: a\n", name="a.yaml")
    write_scenario("name: b\nextends: a.yaml\n", name="b.yaml")

    assert_problems(
        cli("validate", "a.yaml"),
        "b.yaml:2:1: extends: expected no cycle of extends, found a.yaml -> b.yaml -> a.yaml",
    )


def test_empty_file(cli, write_scenario):
    name = write_scenario("# nothing here yet\n")

    assert_problems(
        cli("validate", name), "s.yaml:0:0: expected a mapping of scenario keys, found an empty document"
    )


def test_non_utf8_bytes(cli, write_scenario):
    text = edited("    name: Moscow", "    name: Moskva-\xe9")
    line, col = position_of(text, "\xe9")
    name = write_scenario(text.encode("latin-1"))

    assert_problems(cli("validate", name), f"s.yaml:{line}:{col}: expected UTF-8 text, found byte 0xe9")


def test_file_too_large(cli, write_scenario):
    name = write_scenario(minimal_scenario_yaml() + "#" * (5 * 1024 * 1024) + "\n")

    assert_problems(cli("validate", name), "s.yaml:0:0: expected a file of at most 5 MiB, found a larger one")


# --------------------------------------------------------------------------- unsafe or broken YAML


def test_duplicate_key(cli, write_scenario):
    text = edited("tick_minutes: 60\n", "tick_minutes: 60\nseed: 43\n")
    first, _ = position_of(text, "seed: 42")
    line, col = position_of(text, "seed: 43")

    assert_problems(
        cli("validate", write_scenario(text)),
        f"s.yaml:{line}:{col}: seed: expected unique keys, found 'seed' twice (first on line {first})",
    )


def test_python_object_tag_is_refused_not_constructed(cli, write_scenario, workdir):
    text = edited(
        "description: Where do people go when Upper Lars jams?",
        "description: !!python/object/apply:os.system ['touch pwned']",
    )

    assert_problems(
        cli("validate", write_scenario(text)),
        "s.yaml:2:1: description: expected plain YAML data, found tag !!python/object/apply:os.system",
    )
    assert not (workdir / "pwned").exists()


def test_custom_tag_is_refused(cli, write_scenario):
    text = upper_lars_car(minimal_scenario_yaml(), "lanes: 4", "lanes: !many 4")
    line, col = position_of(text, "lanes: !many")

    assert_problems(
        cli("validate", write_scenario(text)),
        f"s.yaml:{line}:{col}: crossings.upper-lars.modes.car.lanes: expected plain YAML data, found tag !many",
    )


def test_billion_laughs_stops_fast(cli, write_scenario):
    levels = ['lol0: &l0 ["lol", "lol", "lol", "lol", "lol", "lol", "lol", "lol", "lol"]']
    levels += [f"lol{i}: &l{i} [{', '.join([f'*l{i - 1}'] * 9)}]" for i in range(1, 10)]
    text = "\n".join(levels) + "\n"
    # 9 + 81 + ... passes 100,000 nodes inside lol5 (9**6 = 531,441 nodes).
    line, col = position_of(text, "lol5:")

    started = time.perf_counter()
    result = cli("validate", write_scenario(text))

    assert time.perf_counter() - started < 5
    assert_problems(
        result,
        f"s.yaml:{line}:{col}: lol5: expected at most 100000 YAML nodes after expanding aliases, found more",
    )


def test_deep_nesting_is_refused(cli, write_scenario):
    text = "name: " + "[" * 60 + "]" * 60 + "\n"

    result = cli("validate", write_scenario(text))

    assert result.exit_code == 2
    assert result.stderr.endswith(": expected at most 50 levels of nesting, found more\n")


def test_tab_indentation(cli, write_scenario):
    text = upper_lars_car(minimal_scenario_yaml(), "        lanes: 4", "\tlanes: 4")
    line, _ = position_of(text, "\tlanes")

    assert_problems(
        cli("validate", write_scenario(text)),
        f"s.yaml:{line}:1: expected spaces for indentation, found a tab",
    )


def test_yaml_syntax_error(cli, write_scenario):
    text = edited("seed: 42", "seed: [42")
    line, col = position_of(text, ": 0.1")  # `scale: 0.1` cannot be an item of the open list

    assert_problems(
        cli("validate", write_scenario(text)),
        f"s.yaml:{line}:{col}: expected ',' or ']', found ':' (while parsing a flow sequence)",
    )


# --------------------------------------------------------------------------- the real command


def test_subprocess_reports_without_traceback(write_scenario, workdir):
    text = upper_lars_car(minimal_scenario_yaml(), "lanes: 4", "lanes: -2")
    line, col = position_of(text, "lanes: -2")
    name = write_scenario(text)
    env = {
        **os.environ,
        "PYTHONPATH": os.pathsep.join(filter(None, [str(REPO), os.environ.get("PYTHONPATH")])),
    }

    result = subprocess.run(
        [sys.executable, "-m", "sim", "validate", name],
        cwd=workdir,
        env=env,
        capture_output=True,
        text=True,
        timeout=60,
    )

    assert result.returncode == 2
    assert result.stdout == ""
    assert (
        result.stderr
        == f"s.yaml:{line}:{col}: crossings.upper-lars.modes.car.lanes: expected a value >= 1, found -2\n"
    )


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
