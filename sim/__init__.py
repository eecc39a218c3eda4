"""crossings: a policy-scenario simulation engine for emigrants moving through border crossings.

The Python API, for notebooks and scripts::

    import sim
    result = sim.run("scenarios/mobilization-2022.yaml", seed=1, scale=0.1)
    result.daily          # tidy pyarrow table: date, place, measure, value
    result.people         # {"departed": N, "by_state": {...}}
    result.write("outputs/my-run")

The ``crossings`` command is a thin layer over these functions.
"""

from sim.run.api import Result, run
from sim.scenario import LoadedScenario, Problem, ScenarioError, load_scenario

__all__ = ["LoadedScenario", "Problem", "Result", "ScenarioError", "load_scenario", "run"]
