"""Positive random durations by inverse CDF: the one place distributions are drawn from uniforms.

Every random duration in the model (service times, patience, stays, trips) is a
distribution given by its mean and coefficient of variation, drawn from a party's
own uniform by the inverse distribution function, so that the same party with
the same uniform always gets the same draw (common random numbers).
"""

from __future__ import annotations

import numpy as np
from scipy import special

from sim.scenario.schema import Spread

__all__ = ["quantile", "spread_quantile"]


def quantile(distribution: str, mean: float, cv: float, uniform: np.ndarray) -> np.ndarray:
    """Inverse CDF of a positive distribution with the given mean and coefficient of variation.

    Parameters
    ----------
    distribution
        ``exponential`` (cv is 1), ``lognormal``, ``gamma`` or ``fixed`` (cv is 0).
    mean, cv
        Mean and coefficient of variation.
    uniform
        Uniforms in [0, 1).
    """
    u = np.clip(np.asarray(uniform, dtype=np.float64), 1e-12, 1 - 1e-12)
    if distribution == "fixed" or (cv == 0 and distribution != "exponential"):
        return np.full(u.shape, float(mean))
    if distribution == "exponential":
        return -mean * np.log1p(-u)
    if distribution == "lognormal":
        sigma2 = np.log1p(cv * cv)
        return np.exp(np.log(mean) - sigma2 / 2 + np.sqrt(sigma2) * special.ndtri(u))
    if distribution == "gamma":
        shape = 1.0 / (cv * cv)
        return special.gammaincinv(shape, u) * mean / shape
    raise ValueError(f"unknown distribution {distribution!r}")


def spread_quantile(spread: Spread, uniform: np.ndarray) -> np.ndarray:
    """Inverse CDF of a scenario :class:`~sim.scenario.schema.Spread`."""
    return quantile(spread.distribution, spread.mean, spread.cv, uniform)
