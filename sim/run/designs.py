"""Experimental designs: which parameter values a sweep runs.

The idea: every design first draws points in the unit hypercube ``[0, 1)^D`` (or,
for a grid, picks list indexes), and each parameter then maps its column to
values through its own inverse CDF: a uniform ``range``, a ``normal`` or
``lognormal`` distribution, or a ``values`` list (the unit interval cut into equal
slices, one per value).  So a design never needs to know what kind of parameter
it samples, and a Sobol design's points stay in the order SALib's analysis
expects.

* ``grid``: the cartesian product of every parameter's ``values``, first
  parameter slowest;
* ``lhs``: ``points`` Latin-hypercube points (:class:`scipy.stats.qmc.LatinHypercube`);
* ``sobol``: Saltelli's extension of the Sobol' sequence
  (:func:`SALib.sample.sobol.sample`, first and total order only), ``points``
  (a power of 2) base points giving ``points × (D + 2)`` runs.
"""

from __future__ import annotations

import itertools
import math
from collections.abc import Sequence
from dataclasses import dataclass
from typing import Any

import numpy as np
from scipy import stats

__all__ = ["ParameterSpace", "design_points", "design_size", "to_values"]

# Keep inverse CDFs finite at the ends of the unit interval.
_EPS = 1e-12


@dataclass(frozen=True)
class ParameterSpace:
    """How one parameter maps the unit interval to values.

    Attributes
    ----------
    path
        The dotted override path (or a synthetic target's input name).
    kind
        ``values``, ``uniform``, ``normal`` or ``lognormal``.
    args
        ``values``: the list; ``uniform``: ``(low, high)``; ``normal``: ``(mean, sd)``;
        ``lognormal``: ``(mu, sigma)`` of the logarithm.
    integer
        Round sampled numbers to the nearest integer.
    """

    path: str
    kind: str
    args: tuple[Any, ...]
    integer: bool = False

    def value(self, u: float) -> Any:
        """The parameter's value at ``u`` in [0, 1)."""
        u = min(max(float(u), _EPS), 1 - _EPS)
        if self.kind == "values":
            return self.args[min(int(u * len(self.args)), len(self.args) - 1)]
        if self.kind == "uniform":
            low, high = self.args
            x = low + u * (high - low)
        elif self.kind == "normal":
            mean, sd = self.args
            x = float(stats.norm.ppf(u, loc=mean, scale=sd))
        elif self.kind == "lognormal":
            mu, sigma = self.args
            x = float(np.exp(stats.norm.ppf(u, loc=mu, scale=sigma)))  # inf where math.exp raises OverflowError
        else:  # pragma: no cover - the sweep file model admits only the kinds above
            raise ValueError(f"unknown parameter kind {self.kind!r}")
        if not math.isfinite(x):
            # Not a value any run can take (a range or distribution too wide for a float):
            # returned as it is, never rounded (int(inf) raises), for the caller to refuse.
            return float(x)
        return int(round(x)) if self.integer else float(x)


def design_size(kind: str, spaces: Sequence[ParameterSpace], *, points: int | None) -> int:
    """The number of points a design has, by arithmetic alone: nothing is built.

    Parameters
    ----------
    kind
        ``grid``, ``lhs`` or ``sobol``.
    spaces
        The parameters, in the sweep file's order.
    points
        ``lhs``: the number of points; ``sobol``: the base sample size N.

    Returns
    -------
    int
        ``grid``: the product of the numbers of values; ``lhs``: ``points``;
        ``sobol``: ``points × (D + 2)``, D the number of parameters.
    """
    if kind == "grid":
        return math.prod(len(space.args) for space in spaces)
    if kind == "lhs":
        return int(points or 0)
    if kind == "sobol":
        return int(points or 0) * (len(spaces) + 2)
    raise ValueError(f"unknown design kind {kind!r}")


def design_points(kind: str, spaces: Sequence[ParameterSpace], *, points: int | None, seed: int) -> list[list[Any]]:
    """The parameter values of every point of a design, in run order.

    Parameters
    ----------
    kind
        ``grid``, ``lhs`` or ``sobol``.
    spaces
        The parameters, in the sweep file's order.
    points
        ``lhs``: the number of points; ``sobol``: the base sample size N (a power of 2).
    seed
        Seed of the random design (``lhs`` and the scrambling of ``sobol``).

    Returns
    -------
    list of lists
        One list of values per point, in the order of ``spaces``.
    """
    if kind == "grid":
        return [list(combo) for combo in itertools.product(*(space.args for space in spaces))]
    if kind == "lhs":
        from scipy.stats import qmc

        unit = qmc.LatinHypercube(d=len(spaces), seed=seed).random(n=int(points or 0))
    elif kind == "sobol":
        unit = sobol_unit_sample(len(spaces), int(points or 0), seed=seed)
    else:
        raise ValueError(f"unknown design kind {kind!r}")
    return to_values(unit, spaces)


def sobol_unit_sample(dimensions: int, base: int, *, seed: int) -> np.ndarray:
    """Saltelli's sample in the unit hypercube: ``base × (dimensions + 2)`` rows."""
    from SALib.sample import sobol

    problem = sobol_problem([f"x{i}" for i in range(dimensions)])
    return sobol.sample(problem, base, calc_second_order=False, scramble=True, seed=seed)


def sobol_problem(names: Sequence[str]) -> dict[str, Any]:
    """The SALib problem of a design in the unit hypercube."""
    return {"num_vars": len(names), "names": list(names), "bounds": [[0.0, 1.0]] * len(names)}


def to_values(unit: np.ndarray, spaces: Sequence[ParameterSpace]) -> list[list[Any]]:
    """Map rows of unit-hypercube points to parameter values.

    A range or distribution too wide for a float gives ``inf`` or ``nan`` (silently: no
    warning on stderr), which :func:`sim.run.sweep.load_sweep` refuses.
    """
    with np.errstate(over="ignore", invalid="ignore"):
        return [[space.value(u) for space, u in zip(spaces, row)] for row in np.asarray(unit).tolist()]
