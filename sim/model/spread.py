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
        Mean and coefficient of variation (scalars, or arrays shaped like ``uniform``).
    uniform
        Uniforms in [0, 1).
    """
    u = np.clip(np.asarray(uniform, dtype=np.float64), 1e-12, 1 - 1e-12)
    mean = np.broadcast_to(np.asarray(mean, dtype=np.float64), u.shape)
    cv = np.broadcast_to(np.asarray(cv, dtype=np.float64), u.shape)
    if distribution == "fixed":
        return mean.copy()
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
