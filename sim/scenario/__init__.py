"""Scenario files: the format (:mod:`.schema`), loading and validation (:mod:`.loading`),
and the problems reported to users (:mod:`.errors`)."""

from sim.scenario.errors import Problem, ScenarioError, UsageError
from sim.scenario.loading import LoadedScenario, load_scenario, load_scenario_data
from sim.scenario.schema import Scenario

__all__ = [
    "LoadedScenario",
    "Problem",
    "Scenario",
    "ScenarioError",
    "UsageError",
    "load_scenario",
    "load_scenario_data",
]
