"""Loading scenarios: YAML reading, extends merging, --set overrides, the resolved data."""

from __future__ import annotations

import hashlib
import json
import warnings

import pytest
from helpers import minimal_scenario_dict, minimal_scenario_yaml, replace_once

from sim.scenario import LoadedScenario, Problem, ScenarioError, load_scenario, load_scenario_data
from sim.scenario.schema import Mode


def problems_of(excinfo: pytest.ExceptionInfo[ScenarioError]) -> list[str]:
    return [str(problem) for problem in excinfo.value.problems]


# --------------------------------------------------------------------------- a valid file


def test_minimal_scenario_loads(write_scenario):
    loaded = load_scenario(write_scenario())

    assert isinstance(loaded, LoadedScenario)
    assert loaded.source == "s.yaml"
    scenario = loaded.scenario
    assert scenario.name == "minimal"
    assert [c.id for c in scenario.crossings] == ["upper-lars", "vaalimaa", "mashtakovo"]
    assert [c.iso for c in scenario.countries] == ["KZ", "GE", "FI"]
    assert set(scenario.crossings[0].modes) == {Mode.car, Mode.foot}
    assert scenario.policies[0].from_.isoformat() == "2022-09-30"


def test_resolved_is_plain_json_with_iso_dates_and_digest(write_scenario):
    loaded = load_scenario(write_scenario())

    assert loaded.resolved["period"] == {"start": "2022-09-15", "end": "2022-10-15"}
    assert loaded.resolved["policies"][0]["from"] == "2022-09-30"
    canonical = json.dumps(loaded.resolved, sort_keys=True, separators=(",", ":"))
    assert loaded.sha256 == hashlib.sha256(canonical.encode()).hexdigest()
    # Defaults are not filled in: resolved is what the user wrote.
    assert "travel" not in loaded.resolved


def test_load_scenario_data_matches_the_file(write_scenario):
    from_file = load_scenario(write_scenario())
    from_data = load_scenario_data(minimal_scenario_dict())

    assert from_data.source == "<data>"
    assert from_data.resolved == from_file.resolved
    assert from_data.sha256 == from_file.sha256
    assert from_data.scenario == from_file.scenario


def test_load_scenario_data_reports_problems_without_position():
    data = minimal_scenario_dict()
    data["crossings"][0]["modes"]["car"]["lanes"] = 0

    with pytest.raises(ScenarioError) as excinfo:
        load_scenario_data(data, name="notebook")

    assert excinfo.value.problems == [
        Problem("notebook", 0, 0, "crossings.upper-lars.modes.car.lanes", "expected a value >= 1, found 0")
    ]


@pytest.mark.parametrize(
    ("path", "value", "message"),
    [
        (("seed",), True, "seed: expected an integer, found true"),
        (("seed",), 42.0, "seed: expected an integer, found 42.0"),
        (
            ("crossings", 0, "modes", "car", "lanes"),
            "4",
            "crossings.upper-lars.modes.car.lanes: expected an integer, found '4'",
        ),
        (("scale",), True, "scale: expected a number, found true"),
        (("scale",), "0.1", "scale: expected a number, found '0.1'"),
    ],
)
def test_load_scenario_data_numbers_are_strict(path, value, message):
    data = minimal_scenario_dict()
    node = data
    for key in path[:-1]:
        node = node[key]
    node[path[-1]] = value

    with pytest.raises(ScenarioError) as excinfo:
        load_scenario_data(data)

    assert [f"{p.path}: {p.message}" for p in excinfo.value.problems] == [message]


def test_load_scenario_data_float_fields_take_integers():
    data = minimal_scenario_dict()
    data["scale"] = 1
    data["crossings"][0]["travel_hours"]["vladikavkaz"] = 2

    scenario = load_scenario_data(data).scenario

    assert scenario.scale == 1.0 and isinstance(scenario.scale, float)
    assert scenario.crossings[0].travel_hours == {"vladikavkaz": 2.0}


def test_load_scenario_data_refuses_non_plain_values():
    data = minimal_scenario_dict()
    data["seed"] = {1, 2}

    with pytest.raises(ScenarioError) as excinfo:
        load_scenario_data(data)

    assert problems_of(excinfo) == ["<data>:0:0: seed: expected plain data, found a set"]


def test_yaml_1_2_keeps_no_a_string(write_scenario):
    norway_opens = (
        "  - id: norway-opens\n    kind: entry\n    from: 2022-09-20\n    country: NO\n"
        "    accepts: [international_passport]\n"
    )
    text = minimal_scenario_yaml() + norway_opens
    text = replace_once(
        text,
        "countries:\n",
        "countries:\n  - iso: NO\n    name: Norway\n    accepts: [schengen_visa_other]\n    visa_free_days: off\n",
    )
    # `off` is a boolean in YAML 1.1 but a string in 1.2: pydantic must see the text.
    with pytest.raises(ScenarioError) as excinfo:
        load_scenario(write_scenario(text))
    assert [p.message for p in excinfo.value.problems] == ["expected an integer, found 'off'"]

    loaded = load_scenario(write_scenario(text.replace("visa_free_days: off", "visa_free_days: 0")))
    assert loaded.resolved["countries"][0]["iso"] == "NO"
    assert loaded.scenario.policies[1].country == "NO"


def test_anchors_aliases_and_merge_keys(write_scenario):
    text = replace_once(
        minimal_scenario_yaml(),
        "        service:\n          mean_minutes: 10\n          cv: 0.5\n",
        "        service: &slow\n          mean_minutes: 10\n          cv: 0.5\n",
    )
    text = replace_once(
        text,
        "        service:\n          mean_minutes: 4\n",
        "        service:\n          <<: *slow\n          cv: 0.2\n",
    )
    text = replace_once(text, "        service:\n          mean_minutes: 3\n", "        service: *slow\n")

    with warnings.catch_warnings():
        warnings.simplefilter("error")
        loaded = load_scenario(write_scenario(text))

    upper_lars, vaalimaa = loaded.scenario.crossings[:2]
    assert upper_lars.modes[Mode.foot].service.mean_minutes == 10
    assert vaalimaa.modes[Mode.car].service.mean_minutes == 10
    assert vaalimaa.modes[Mode.car].service.cv == 0.2


# --------------------------------------------------------------------------- extends


BASE_EXTRA_POLICY = """\
  - kind: closure
    from: 2022-10-01
    crossing: vaalimaa
"""


def test_extends_child_wins_and_lists_merge_by_id(write_scenario):
    write_scenario(minimal_scenario_yaml(), name="base/base.yaml")
    child = """\
extends: ../base/base.yaml
name: jam
crossings:
  - id: upper-lars
    modes:
      car:
        lanes: 12
  - id: verkhny-lars-2
    name: Second lane block
    to: GE
    lat: 42.7
    lon: 44.6
    modes:
      bus:
        lanes: 1
        service: {mean_minutes: 2}
countries:
  - iso: FI
    accepts: [schengen_visa_other]
people:
  groups:
    - id: families
      party_size: [0, 0.2, 0.4, 0.3, 0.1]
"""
    loaded = load_scenario(write_scenario(child, name="variants/child.yaml"))
    scenario = loaded.scenario

    assert "extends" not in loaded.resolved
    assert scenario.name == "jam"
    assert scenario.description == "Where do people go when Upper Lars jams?"
    # Same id: merged recursively, the parent's other keys kept.
    assert [c.id for c in scenario.crossings] == ["upper-lars", "vaalimaa", "mashtakovo", "verkhny-lars-2"]
    upper_lars = scenario.crossings[0]
    assert upper_lars.modes[Mode.car].lanes == 12
    assert upper_lars.modes[Mode.car].service.mean_minutes == 10
    assert upper_lars.modes[Mode.foot].lanes == 2
    assert upper_lars.name == "Upper Lars"
    # Countries merge by iso.
    assert [c.iso for c in scenario.countries] == ["KZ", "GE", "FI"]
    assert [d.value for d in scenario.countries[2].accepts] == ["schengen_visa_other"]
    assert scenario.countries[2].name == "Finland"
    # A list of numbers is replaced, not merged.
    assert scenario.people.groups[1].party_size == [0, 0.2, 0.4, 0.3, 0.1]
    assert scenario.people.groups[0].party_size == [0.7, 0.2, 0.05, 0.05, 0]


def test_extends_appends_policies_without_id(write_scenario):
    # The main use of extends: a what-if scenario adds one policy to a baseline.
    write_scenario(minimal_scenario_yaml(), name="base.yaml")

    child = "extends: base.yaml\npolicies:\n" + BASE_EXTRA_POLICY
    loaded = load_scenario(write_scenario(child, name="what-if.yaml"))

    assert [(p.id, p.kind) for p in loaded.scenario.policies] == [
        ("finland-closes-to-tourists", "entry"),
        (None, "closure"),
    ]
    assert loaded.resolved["policies"][1] == {"kind": "closure", "from": "2022-10-01", "crossing": "vaalimaa"}


def test_extends_appended_items_are_reported_in_the_child(write_scenario):
    write_scenario(minimal_scenario_yaml() + BASE_EXTRA_POLICY, name="base.yaml")
    child = "extends: base.yaml\npolicies:\n  - kind: closure\n    from: 2022-10-02\n    crossing: vaalimaaa\n"

    with pytest.raises(ScenarioError) as excinfo:
        load_scenario(write_scenario(child, name="child.yaml"))

    # The parent's id-less policy is item 1, the child's is appended as item 2.
    assert problems_of(excinfo) == [
        "child.yaml:5:5: policies.2.crossing: "
        "expected a known crossing, found 'vaalimaaa' (did you mean 'vaalimaa'?)"
    ]


def test_extends_empty_list_clears_the_parents(write_scenario):
    write_scenario(minimal_scenario_yaml() + BASE_EXTRA_POLICY, name="base.yaml")

    emptied = load_scenario(write_scenario("extends: base.yaml\npolicies: []\n", name="none.yaml"))

    assert emptied.scenario.policies == []
    assert emptied.resolved["policies"] == []


def test_extends_policy_with_same_id_merges(write_scenario):
    write_scenario(minimal_scenario_yaml() + BASE_EXTRA_POLICY, name="base.yaml")
    child = """\
extends: base.yaml
policies:
  - id: finland-closes-to-tourists
    until: 2022-10-10
  - id: vaalimaa-car-closed
    kind: closure
    from: 2022-10-05
    crossing: vaalimaa
    mode: car
"""
    loaded = load_scenario(write_scenario(child, name="child.yaml"))
    policies = loaded.scenario.policies

    assert [(p.id, p.kind) for p in policies] == [
        ("finland-closes-to-tourists", "entry"),
        (None, "closure"),
        ("vaalimaa-car-closed", "closure"),
    ]
    finland = policies[0]
    assert (finland.from_.isoformat(), finland.until.isoformat()) == ("2022-09-30", "2022-10-10")
    # A list of scalars inside the merged item is the parent's until the child sets it.
    assert [d.value for d in finland.accepts] == ["schengen_visa_other"]
    assert policies[2].mode == Mode.car


def test_extends_repeated_child_id_is_not_merged_twice(write_scenario):
    write_scenario(minimal_scenario_yaml(), name="base.yaml")
    child = """\
extends: base.yaml
policies:
  - id: finland-closes-to-tourists
    until: 2022-10-10
  - id: finland-closes-to-tourists
    kind: entry
    from: 2022-10-01
    country: FI
    accepts: []
"""
    name = write_scenario(child, name="child.yaml")

    with pytest.raises(ScenarioError) as excinfo:
        load_scenario(name)

    # The second is refused (not silently folded into the first, nor appended half-written).
    assert problems_of(excinfo) == [
        "child.yaml:5:5: policies.finland-closes-to-tourists.id: expected a unique id, "
        "found 'finland-closes-to-tourists' twice (first on line 3)"
    ]


def test_extends_a_parent_item_patched_twice_is_one_line(write_scenario):
    """Two partial patches of one crossing: one line naming both, not the second's missing keys."""
    write_scenario(minimal_scenario_yaml(), name="base.yaml")
    child = """\
extends: base.yaml
crossings:
  - {id: upper-lars, modes: {car: {lanes: 3}}}
  - {id: upper-lars, modes: {car: {lanes: 4}}}
"""
    with pytest.raises(ScenarioError) as excinfo:
        load_scenario(write_scenario(child, name="child.yaml"))
    assert problems_of(excinfo) == [
        "child.yaml:4:6: crossings.upper-lars.id: expected a unique id, found 'upper-lars' twice (first on line 3)"
    ]


def test_extends_chain(write_scenario):
    write_scenario(minimal_scenario_yaml(), name="a.yaml")
    write_scenario("extends: a.yaml\nseed: 7\n", name="b.yaml")
    loaded = load_scenario(write_scenario("extends: b.yaml\nname: c\n", name="c.yaml"))

    assert (loaded.scenario.name, loaded.scenario.seed, loaded.scenario.scale) == ("c", 7, 0.1)


def test_problems_point_into_the_file_that_wrote_the_value(write_scenario):
    base = replace_once(minimal_scenario_yaml(), "  pool_persons: 700000", "  pool_persons: -5")
    write_scenario(base, name="base.yaml")
    child = "extends: base.yaml\nseed: -1\n"

    with pytest.raises(ScenarioError) as excinfo:
        load_scenario(write_scenario(child, name="child.yaml"))

    line = base.splitlines().index("  pool_persons: -5") + 1
    assert problems_of(excinfo) == [
        "child.yaml:2:1: seed: expected a value >= 0, found -1",
        f"base.yaml:{line}:3: departures.pool_persons: expected a value >= 0, found -5",
    ]


# --------------------------------------------------------------------------- overrides


def test_override_by_dotted_path_and_list_id(write_scenario):
    loaded = load_scenario(
        write_scenario(),
        [
            "crossings.upper-lars.modes.car.lanes=12",
            "countries.FI.accepts=[schengen_visa_other]",
            "people.groups.1.share=0.4",
            "travel.speed_kmh=50",  # not in the file: the mapping is created
            "name=NO",
        ],
    )

    assert loaded.scenario.crossings[0].modes[Mode.car].lanes == 12
    assert [d.value for d in loaded.scenario.countries[2].accepts] == ["schengen_visa_other"]
    assert loaded.scenario.travel.speed_kmh == 50
    assert loaded.scenario.name == "NO"
    assert loaded.resolved["crossings"][0]["modes"]["car"]["lanes"] == 12
    assert loaded.resolved["travel"] == {"speed_kmh": 50}


def test_overrides_change_the_digest(write_scenario):
    name = write_scenario()
    assert load_scenario(name).sha256 != load_scenario(name, ["seed=43"]).sha256
    assert load_scenario(name).sha256 == load_scenario(name, ["seed=42"]).sha256


def test_override_value_is_validated_at_set(write_scenario):
    with pytest.raises(ScenarioError) as excinfo:
        load_scenario(write_scenario(), ["crossings.upper-lars.modes.car.lanes=-2"])

    assert problems_of(excinfo) == [
        "<set>:0:0: crossings.upper-lars.modes.car.lanes: expected a value >= 1, found -2"
    ]


def test_a_set_that_cannot_be_applied_hides_no_other_problem(write_scenario):
    """A bad --set, a bad value set by another, and a mistake in the file: all three at once."""
    name = write_scenario(replace_once(minimal_scenario_yaml(), "  pool_persons: 700000", "  pool_persons: -5"))
    with pytest.raises(ScenarioError) as excinfo:
        load_scenario(name, ["crossings.nope.lanes=1", "crossings.upper-lars.modes.car.lanes=-2"])
    found = problems_of(excinfo)
    assert len(found) == 3
    assert any(line.startswith("<set>:0:0: crossings.nope.lanes: expected a known id or index") for line in found)
    assert "<set>:0:0: crossings.upper-lars.modes.car.lanes: expected a value >= 1, found -2" in found
    assert any("departures.pool_persons" in line and "found -5" in line for line in found)


@pytest.mark.parametrize(
    ("override", "expected"),
    [
        ("seed", "<set>:0:0: seed: expected KEY.PATH=VALUE, found 'seed'"),
        (
            "crossings..lanes=1",
            "<set>:0:0: crossings..lanes: expected a dotted key path before '=', found 'crossings..lanes'",
        ),
        (
            "crossings.upper-lasr.modes.car.lanes=1",
            "<set>:0:0: crossings.upper-lasr.modes.car.lanes: "
            "expected a known id or index in crossings, found 'upper-lasr' (did you mean 'upper-lars'?)",
        ),
        (
            "crossings.7.name=x",
            "<set>:0:0: crossings.7.name: expected a known id or index in crossings, found '7'",
        ),
        ("seed.value=1", "<set>:0:0: seed.value: expected a mapping or list at seed, found 42"),
        (
            "seed=[1",
            "<set>:0:0: seed: expected ',' or ']', found '<stream end>' (while parsing a flow sequence)",
        ),
        (
            "seed=!!python/name:os.system",
            "<set>:0:0: seed: expected plain YAML data, found tag !!python/name:os.system",
        ),
    ],
)
def test_malformed_overrides(write_scenario, override, expected):
    with pytest.raises(ScenarioError) as excinfo:
        load_scenario(write_scenario(), [override])

    assert problems_of(excinfo) == [expected]


def test_load_scenario_data_with_overrides():
    loaded = load_scenario_data(
        minimal_scenario_dict(), overrides=["crossings.upper-lars.modes.car.lanes=12"]
    )

    assert loaded.scenario.crossings[0].modes[Mode.car].lanes == 12
    assert loaded.resolved["crossings"][0]["modes"]["car"]["lanes"] == 12

    with pytest.raises(ScenarioError) as excinfo:
        load_scenario_data(minimal_scenario_dict(), overrides=["crossings.upper-lars.modes.car.lanes=0"])
    assert problems_of(excinfo) == [
        "<set>:0:0: crossings.upper-lars.modes.car.lanes: expected a value >= 1, found 0"
    ]


def test_load_scenario_data_accepts_a_dumped_scenario(write_scenario):
    scenario = load_scenario(write_scenario()).scenario
    dumped = scenario.model_dump(mode="json", by_alias=True, exclude_none=True)

    assert load_scenario_data(dumped).scenario == scenario


def test_messages_for_lengths_and_choices():
    data = minimal_scenario_dict()
    data["origins"] = []
    data["crossings"][0]["modes"] = {}
    data["crossings"][2]["modes"]["car"]["service"]["distribution"] = "normal"
    del data["policies"][0]["kind"]

    with pytest.raises(ScenarioError) as excinfo:
        load_scenario_data(data)

    assert [f"{p.path}: {p.message}" for p in excinfo.value.problems] == [
        "origins: expected at least 1 item, found 0",
        "crossings.upper-lars.modes: expected at least one of car, foot, bus, boat, air, found none",
        "crossings.mashtakovo.modes.car.service.distribution: "
        "expected one of exponential, lognormal, gamma, fixed, found 'normal' (did you mean 'lognormal'?)",
        "policies.finland-closes-to-tourists.kind: expected this key (one of closure, entry, exit_screening, capacity, stay_limit, asylum, announcement), found nothing",
    ]


def test_extends_a_country_patched_twice_is_named_by_its_iso(write_scenario):
    """Countries are named by ``iso``: the second patch names it, even with an ``id`` beside it."""
    write_scenario(minimal_scenario_yaml(), name="base.yaml")
    child = """\
extends: base.yaml
countries:
  - {iso: KZ, appeal: 1}
  - {iso: KZ, id: 7, appeal: 2}
"""
    with pytest.raises(ScenarioError) as excinfo:
        load_scenario(write_scenario(child, name="child.yaml"))
    assert problems_of(excinfo) == [
        "child.yaml:4:6: countries.KZ.iso: expected a unique iso, found 'KZ' twice (first on line 3)"
    ]
