"""crossings: a policy-scenario simulation engine for emigrants moving through border crossings.

The Python API, for notebooks and scripts::

    import sim
    result = sim.run("scenarios/mobilization-2022.yaml", seed=1, scale=0.1)
    result.daily          # tidy pyarrow table: date, place, measure, value
    result.people         # {"departed": N, "by_state": {...}}
    result.write("outputs/my-run")

The ``crossings`` command is a thin layer over these functions.

The simulation (numpy, scipy, simpy, pyarrow) is imported on first use, not here: so
``crossings validate`` answers a bad file in a fraction of a second instead of paying
for the engine it does not need.
"""

from typing import Any

# The subpackage first: ``sim.run`` names both the subpackage and the function below,
# and the function must win the name (importing the subpackage later would not rebind it).
import sim.run  # noqa: F401
from sim.scenario import LoadedScenario, Problem, ScenarioError, load_scenario

__all__ = ["LoadedScenario", "Problem", "Result", "ScenarioError", "load_scenario", "run"]


def run(scenario: Any, **options: Any) -> Any:
    """Run a scenario and return its :class:`~sim.run.api.Result`.

    The same as :func:`sim.run.api.run` (see there for the parameters: ``seed``,
    ``scale``, ``overrides``, ``progress``), imported when first called.
    """
    from sim.run.api import run as run_scenario

    return run_scenario(scenario, **options)


def __getattr__(name: str) -> Any:
    # PEP 562: ``sim.Result`` without importing the engine at ``import sim``.
    if name == "Result":
        from sim.run.api import Result

        return Result
    raise AttributeError(f"module 'sim' has no attribute {name!r}")
