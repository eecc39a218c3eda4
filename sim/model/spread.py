"""Positive random durations by inverse CDF: the one place distributions are drawn from uniforms.

Every random duration in the model (service times, patience, stays, trips) is a
distribution given by its mean and coefficient of variation, drawn from a party's
own uniform by the inverse distribution function, so that the same party with
the same uniform always gets the same draw (common random numbers).
"""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np
from scipy import special

from sim.scenario.schema import Spread

__all__ = ["quantile", "spread_quantile", "SpreadTable"]


def quantile(distribution: str, mean: float, cv: float, uniform: np.ndarray) -> np.ndarray:
    """Inverse CDF of a positive distribution with the given mean and coefficient of variation.

    Parameters
    ----------
    distribution
        ``exponential`` (cv is 1), ``lognormal``, ``gamma`` or ``fixed`` (cv is 0).
    mean, cv
        Mean and coefficient of variation (scalars, or arrays shaped like ``uniform``).
    uniform
        Uniforms in [0, 1).
    """
    # Scalars and arrays alike go through the same element-wise operations, so a draw
    # does not depend on whether its mean came alone or with others.
    u = np.minimum(np.maximum(np.asarray(uniform, dtype=np.float64), 1e-12), 1 - 1e-12)
    mean = np.asarray(mean, dtype=np.float64)
    cv = np.asarray(cv, dtype=np.float64)
    if distribution == "fixed":
        return np.broadcast_to(mean, u.shape).copy()
    if distribution == "exponential":
        return -mean * np.log1p(-u)
    if distribution not in ("lognormal", "gamma"):
        raise ValueError(f"unknown distribution {distribution!r}")
    # A coefficient of variation of 0 is the mean itself, whatever the shape.
    safe = np.where(cv > 0, cv, 1.0)
    if distribution == "lognormal":
        sigma2 = np.log1p(safe * safe)
        draw = np.exp(np.log(mean) - sigma2 / 2 + np.sqrt(sigma2) * special.ndtri(u))
    else:
        shape = 1.0 / (safe * safe)
        draw = special.gammaincinv(shape, u) * mean / shape
    return np.where(cv > 0, draw, mean)


def spread_quantile(spread: Spread, uniform: np.ndarray) -> np.ndarray:
    """Inverse CDF of a scenario :class:`~sim.scenario.schema.Spread`."""
    return quantile(spread.distribution, spread.mean, spread.cv, uniform)


@dataclass(frozen=True)
class SpreadTable:
    """Several distributions (rows) compiled once, to draw for a batch that mixes them.

    Each row's constants (a lognormal's location and scale, a gamma's shape) are
    worked out once with the operations :func:`quantile` applies element by element,
    so a draw is the very number :func:`quantile` gives, for a fraction of the work.
    """

    names: tuple[str, ...]
    distribution: np.ndarray
    mean: np.ndarray
    cv: np.ndarray
    _loc: np.ndarray
    _scale: np.ndarray
    _shape: np.ndarray
    _positive: np.ndarray

    @classmethod
    def of(cls, spreads: list[Spread]) -> "SpreadTable":
        """Row ``i`` is ``spreads[i]``."""
        return cls.from_laws([s.distribution for s in spreads], [s.mean for s in spreads], [s.cv for s in spreads])

    @classmethod
    def from_laws(cls, distributions: list[str], means: list[float], cvs: list[float]) -> "SpreadTable":
        """Row ``i`` is ``distributions[i]`` with mean ``means[i]`` and coefficient of variation ``cvs[i]``."""
        for name in distributions:
            if name not in ("fixed", "exponential", "lognormal", "gamma"):
                raise ValueError(f"unknown distribution {name!r}")
        names = tuple(sorted(set(distributions)))
        mean = np.array(means, dtype=np.float64)
        cv = np.array(cvs, dtype=np.float64)
        # A cv so small that its square underflows is no spread at all: the mean, as cv 0.
        spread = cv * cv > 0
        safe = np.where(spread, cv, 1.0)
        sigma2 = np.log1p(safe * safe)
        return cls(
            names,
            np.array([names.index(name) for name in distributions], dtype=np.int64),
            mean,
            cv,
            _loc=np.log(mean) - sigma2 / 2,
            _scale=np.sqrt(sigma2),
            _shape=1.0 / (safe * safe),
            _positive=spread,
        )

    def draw(self, row: np.ndarray, uniform: np.ndarray) -> np.ndarray:
        """Each entry's draw from the distribution of its ``row``, by inverse CDF of ``uniform``."""
        u = np.minimum(np.maximum(np.asarray(uniform, dtype=np.float64), 1e-12), 1 - 1e-12)
        if len(self.names) == 1:
            return self._law(self.names[0], row, u)
        out = np.empty(len(row))
        distribution = self.distribution[row]
        for k, name in enumerate(self.names):
            members = (distribution == k).nonzero()[0]
            if len(members):
                out[members] = self._law(name, row[members], u[members])
        return out

    def _law(self, name: str, row: np.ndarray, u: np.ndarray) -> np.ndarray:
        mean = self.mean[row]
        if name == "fixed":
            return mean
        if name == "exponential":
            return -mean * np.log1p(-u)
        if name == "lognormal":
            draw = np.exp(self._loc[row] + self._scale[row] * special.ndtri(u))
        else:
            shape = self._shape[row]
            draw = special.gammaincinv(shape, u) * mean / shape
        # A coefficient of variation of 0 is the mean itself, whatever the shape.
        positive = self._positive[row]
        return draw if positive.all() else np.where(positive, draw, mean)
