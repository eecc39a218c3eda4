"""Likelihood-free Bayesian calibration: ABC-SMC (population Monte Carlo).

The model has no likelihood we can write down, but it can be simulated.  Approximate
Bayesian computation replaces the likelihood with a question: does a simulation with
parameters ``theta`` land within ``epsilon`` of what was observed?  The accepted
parameters are a sample from the posterior *given that the simulated summary
statistics are within epsilon*; as epsilon shrinks this approaches the true posterior
of the statistics.

Sequential Monte Carlo makes that affordable (Toni et al. 2009; Beaumont et al. 2009,
"adaptive ABC" / ABC-PMC):

1. Generation 0 draws ``N`` particles from the prior and simulates each; every
   particle with a finite distance is accepted (epsilon is infinite).
2. Generation ``t`` sets ``epsilon_t`` to a quantile (default the median) of the
   previous generation's distances, so the tolerance follows the population down.
3. It proposes particles by picking an ancestor from the previous population by
   weight and moving it with a multivariate normal kernel whose covariance is twice
   the weighted covariance of that population (Beaumont et al. 2009 show this is
   close to optimal for the Kullback-Leibler step between generations), simulates
   them, and keeps those within ``epsilon_t`` until it has ``N``.
4. Each accepted particle gets the importance weight
   ``prior(theta) / sum_j w_j K(theta | theta_j)``: the proposal was the kernel mixture
   around the previous population, the target is the prior restricted to the
   epsilon-ball, so the ratio corrects for where the proposals came from.
5. It stops after a number of generations, when epsilon reaches a final value, or when
   the acceptance rate falls below a minimum (each further step would cost more
   simulations than it buys).

Parameters with a log-uniform prior are moved in log space (a kernel in natural space
would wander out of the support or never leave one decade); the weights are computed in
the same space, where a log-uniform prior is uniform.

Distances.  Each summary statistic has a reported value or range and a scale; the
distance is ``sqrt(mean_k ((sim_k - target_k) / scale_k)^2)``, where a range target
contributes 0 inside the range and the distance to its nearer end outside.  A
simulation with a missing (NaN) statistic is never accepted.

Randomness.  One :class:`numpy.random.SeedSequence` per calibration; generation ``t``
uses its child ``t`` (the same child ``SeedSequence.spawn`` would make), which is split
again into the proposal stream and the simulation seeds.  Proposal ``i`` of generation
``t`` is simulated with a seed that depends only on ``(seed, t, i)``, not on how
proposals are batched, so a calibration is reproducible and a generation can be redone
exactly.

Checkpoints.  With a ``checkpoint`` folder, each finished generation is written as
``generation_<t>.npz`` (particles, weights, distances, epsilon, statistics, seeds) and
``state.json`` is updated to name it, both atomically.  ``resume=True`` reloads the last
finished generation and continues; since each generation's random numbers come from
``(seed, t)`` alone, the result is the same as an uninterrupted run.

Example
-------
>>> priors = [Prior.uniform("a.b", 0, 1), Prior.loguniform("c", 1e-3, 1)]
>>> distance = Distance.points(observed=[0.4, 0.1], scale=[0.1, 0.05])
>>> result = abc_smc(evaluate, priors, distance, population=500, seed=1)  # doctest: +SKIP
>>> result.median(), result.interval(0.9)  # doctest: +SKIP
"""

from __future__ import annotations

import io
import json
import math
import zipfile
from collections.abc import Callable, Mapping, Sequence
from dataclasses import asdict, dataclass
from pathlib import Path
from typing import Any, Literal

import numpy as np
from scipy import linalg, special, stats

from sim.run.store import is_int, is_number, read_json, write_file_atomic
from sim.scenario.errors import UsageError
from sim.scenario.messages import describe, describe_key

__all__ = [
    "Prior",
    "Distance",
    "GenerationInfo",
    "ABCResult",
    "Evaluate",
    "abc_smc",
    "load_result",
    "weighted_quantile",
]

Evaluate = Callable[[np.ndarray, list[int]], np.ndarray]
"""``evaluate(params (n, d), seeds) -> statistics (n, k)``: one batch of simulations."""

PriorKind = Literal["uniform", "loguniform", "normal"]

_STATE_FILE = "state.json"
_FORMAT = "crossings-abc-smc/1"


# --------------------------------------------------------------------------- priors


@dataclass(frozen=True)
class Prior:
    """The prior of one parameter.

    Parameters
    ----------
    name
        A dotted scenario override path, e.g. ``"departures.pool.share_passport"``;
        the calibration does not interpret it, it only labels columns and results.
    kind
        ``"uniform"`` on ``[low, high]``, ``"loguniform"`` on ``[low, high]`` (uniform in
        ``log x``, ``low > 0``), or ``"normal"`` with ``mean`` and ``sd``, truncated to
        ``[low, high]`` where those are given.
    low, high
        Bounds; required for uniform and loguniform, optional truncation for normal.
    mean, sd
        Normal priors only.
    """

    name: str
    kind: PriorKind
    low: float | None = None
    high: float | None = None
    mean: float | None = None
    sd: float | None = None

    def __post_init__(self) -> None:
        if self.kind in ("uniform", "loguniform"):
            if self.low is None or self.high is None:
                raise ValueError(f"prior {self.name!r}: {self.kind} needs low and high")
            if self.mean is not None or self.sd is not None:
                raise ValueError(f"prior {self.name!r}: {self.kind} takes no mean or sd")
            if self.kind == "loguniform" and self.low <= 0:
                raise ValueError(f"prior {self.name!r}: loguniform needs low > 0")
        elif self.kind == "normal":
            if self.mean is None or self.sd is None:
                raise ValueError(f"prior {self.name!r}: normal needs mean and sd")
            if not self.sd > 0:
                raise ValueError(f"prior {self.name!r}: sd must be positive")
        else:
            raise ValueError(f"prior {self.name!r}: unknown kind {self.kind!r} (uniform, loguniform, normal)")
        if self.low is not None and self.high is not None and not self.low < self.high:
            raise ValueError(f"prior {self.name!r}: low must be below high")

    # Constructors that read like the prior they make.
    @classmethod
    def uniform(cls, name: str, low: float, high: float) -> Prior:
        """Uniform on ``[low, high]``."""
        return cls(name, "uniform", low=float(low), high=float(high))

    @classmethod
    def loguniform(cls, name: str, low: float, high: float) -> Prior:
        """Log-uniform on ``[low, high]``: every decade equally likely."""
        return cls(name, "loguniform", low=float(low), high=float(high))

    @classmethod
    def normal(cls, name: str, mean: float, sd: float, low: float | None = None, high: float | None = None) -> Prior:
        """Normal, optionally truncated to ``[low, high]``."""
        return cls(
            name,
            "normal",
            low=None if low is None else float(low),
            high=None if high is None else float(high),
            mean=float(mean),
            sd=float(sd),
        )

    @classmethod
    def from_dict(cls, spec: Mapping[str, Any]) -> Prior:
        """A prior from ``{name, kind, low, high}`` or ``{name, kind: normal, mean, sd[, low, high]}``."""
        allowed = {"name", "kind", "low", "high", "mean", "sd"}
        unknown = set(spec) - allowed
        if unknown:
            raise ValueError(f"prior {spec.get('name')!r}: unknown keys {sorted(unknown)}")
        if "name" not in spec or "kind" not in spec:
            raise ValueError(f"prior needs a name and a kind: {dict(spec)}")
        num = {key: float(spec[key]) for key in ("low", "high", "mean", "sd") if spec.get(key) is not None}
        return cls(str(spec["name"]), spec["kind"], **num)

    def to_dict(self) -> dict[str, Any]:
        """The prior as plain data (the form :meth:`from_dict` reads)."""
        return {key: value for key, value in asdict(self).items() if value is not None}

    # The kernel works in a "kernel space": log x for loguniform, x otherwise.
    def to_kernel(self, x: np.ndarray) -> np.ndarray:
        """Map values to the space the perturbation kernel works in."""
        return np.log(x) if self.kind == "loguniform" else np.asarray(x, dtype=float)

    def from_kernel(self, z: np.ndarray) -> np.ndarray:
        """Map kernel-space values back to parameter values."""
        return np.exp(z) if self.kind == "loguniform" else np.asarray(z, dtype=float)

    def _bounds(self) -> tuple[float, float]:
        low = -math.inf if self.low is None else self.low
        high = math.inf if self.high is None else self.high
        return low, high

    def _truncated_normal(self) -> Any:
        low, high = self._bounds()
        assert self.mean is not None and self.sd is not None
        return stats.truncnorm((low - self.mean) / self.sd, (high - self.mean) / self.sd, loc=self.mean, scale=self.sd)

    def logpdf(self, x: np.ndarray | float) -> np.ndarray:
        """Log prior density of parameter values (``-inf`` outside the support)."""
        x = np.asarray(x, dtype=float)
        low, high = self._bounds()
        inside = (x >= low) & (x <= high)
        if self.kind == "uniform":
            value = np.full(x.shape, -math.log(high - low))
        elif self.kind == "loguniform":
            # density 1 / (x log(high/low)); guard the log of x <= 0, which is outside anyway
            value = -np.log(np.where(inside, x, 1.0)) - math.log(math.log(high / low))
        else:
            value = self._truncated_normal().logpdf(x)
        return np.where(inside, value, -np.inf)

    def kernel_logpdf(self, z: np.ndarray) -> np.ndarray:
        """Log prior density in kernel space (where the importance weights are formed)."""
        z = np.asarray(z, dtype=float)
        if self.kind != "loguniform":
            return self.logpdf(z)
        # log x is uniform on [log low, log high]
        assert self.low is not None and self.high is not None
        lo, hi = math.log(self.low), math.log(self.high)
        return np.where((z >= lo) & (z <= hi), -math.log(hi - lo), -np.inf)

    def sample(self, rng: np.random.Generator, size: int) -> np.ndarray:
        """``size`` draws from the prior."""
        low, high = self._bounds()
        if self.kind == "uniform":
            return rng.uniform(low, high, size)
        if self.kind == "loguniform":
            return np.exp(rng.uniform(math.log(low), math.log(high), size))
        return np.asarray(self._truncated_normal().rvs(size=size, random_state=rng), dtype=float)


def _as_priors(priors: Sequence[Prior | Mapping[str, Any]]) -> list[Prior]:
    out = [p if isinstance(p, Prior) else Prior.from_dict(p) for p in priors]
    if not out:
        raise ValueError("at least one prior is needed")
    names = [p.name for p in out]
    if len(set(names)) != len(names):
        raise ValueError(f"prior names repeat: {names}")
    return out


def _to_kernel(priors: Sequence[Prior], theta: np.ndarray) -> np.ndarray:
    return np.column_stack([p.to_kernel(theta[:, j]) for j, p in enumerate(priors)])


def _from_kernel(priors: Sequence[Prior], z: np.ndarray) -> np.ndarray:
    return np.column_stack([p.from_kernel(z[:, j]) for j, p in enumerate(priors)])


def _kernel_log_prior(priors: Sequence[Prior], z: np.ndarray) -> np.ndarray:
    return np.sum([p.kernel_logpdf(z[:, j]) for j, p in enumerate(priors)], axis=0)


# ------------------------------------------------------------------------ distance


@dataclass(frozen=True)
class Distance:
    """Scaled distance between simulated and reported summary statistics.

    ``distance = sqrt(mean_k (gap_k / scale_k)^2)`` where ``gap_k`` is how far the
    simulated statistic lies outside ``[low_k, high_k]`` (0 inside); a point target has
    ``low_k == high_k``.  A row with a NaN statistic has infinite distance.

    Parameters
    ----------
    low, high
        Reported value or range per statistic, shape ``(k,)``.
    scale
        Per-statistic scale, shape ``(k,)``, positive: how big a miss counts as one unit
        (e.g. the reporting uncertainty).
    """

    low: np.ndarray
    high: np.ndarray
    scale: np.ndarray

    def __post_init__(self) -> None:
        low, high, scale = (np.atleast_1d(np.asarray(a, dtype=float)) for a in (self.low, self.high, self.scale))
        if not (low.ndim == 1 and low.shape == high.shape == scale.shape):
            raise ValueError("low, high and scale must be 1-d arrays of one length")
        if np.any(high < low):
            raise ValueError("a range has high below low")
        if not np.all(scale > 0):
            raise ValueError("scales must be positive")
        object.__setattr__(self, "low", low)
        object.__setattr__(self, "high", high)
        object.__setattr__(self, "scale", scale)

    @classmethod
    def points(cls, observed: Sequence[float] | np.ndarray, scale: Sequence[float] | np.ndarray) -> Distance:
        """Point targets: observed values and their scales."""
        obs = np.asarray(observed, dtype=float)
        return cls(obs, obs, np.asarray(scale, dtype=float))

    @classmethod
    def ranges(
        cls,
        low: Sequence[float] | np.ndarray,
        high: Sequence[float] | np.ndarray,
        scale: Sequence[float] | np.ndarray | None = None,
    ) -> Distance:
        """Range targets; without ``scale``, each range's width is its scale.

        A reported range says how uncertain the figure is, so a miss by one range width
        counts as one unit.  Point targets (zero width) need a scale.
        """
        lo, hi = np.asarray(low, dtype=float), np.asarray(high, dtype=float)
        if scale is None:
            if np.any(hi <= lo):
                raise ValueError("a point target (low == high) needs an explicit scale")
            scale = hi - lo
        return cls(lo, hi, np.asarray(scale, dtype=float))

    @property
    def k(self) -> int:
        """Number of summary statistics."""
        return int(self.low.shape[0])

    def __call__(self, simulated: np.ndarray) -> np.ndarray:
        """Distances of simulated statistics ``(n, k)`` -> ``(n,)``."""
        sim = np.asarray(simulated, dtype=float)
        if sim.ndim != 2 or sim.shape[1] != self.k:
            raise ValueError(f"simulated statistics must have shape (n, {self.k}), got {sim.shape}")
        gap = np.where(sim < self.low, self.low - sim, np.where(sim > self.high, sim - self.high, 0.0))
        gap[np.isnan(sim)] = np.nan  # the comparisons above are False for NaN, which would read as "inside"
        dist = np.sqrt(np.mean((gap / self.scale) ** 2, axis=1))
        return np.where(np.isnan(dist), np.inf, dist)

    def to_dict(self) -> dict[str, list[float]]:
        """Plain data, for the checkpoint's record of the settings."""
        return {"low": self.low.tolist(), "high": self.high.tolist(), "scale": self.scale.tolist()}


# ------------------------------------------------------------------------- results


def weighted_quantile(values: np.ndarray, weights: np.ndarray, q: float | np.ndarray) -> np.ndarray:
    """Quantiles of a weighted sample.

    Each value sits at the middle of its weight in the cumulative distribution (the
    weighted analogue of the "hazen" rule), interpolated linearly between values; with
    equal weights this is ``np.quantile(values, q, method="hazen")``.
    """
    values = np.asarray(values, dtype=float)
    w = np.asarray(weights, dtype=float)
    order = np.argsort(values, kind="stable")
    v, w = values[order], w[order] / w.sum()
    cdf = np.cumsum(w) - 0.5 * w
    return np.interp(q, cdf, v)


@dataclass(frozen=True)
class GenerationInfo:
    """One row of the per-generation table."""

    generation: int
    epsilon: float
    accepted: int
    simulated: int
    acceptance_rate: float
    ess: float
    median_distance: float


@dataclass(frozen=True)
class ABCResult:
    """The last population of an ABC-SMC calibration.

    Attributes
    ----------
    names
        Parameter names (prior order; columns of ``particles``).
    particles, weights
        The weighted posterior sample, ``(N, d)`` and ``(N,)`` (weights sum to 1).
    distances, stats, seeds
        Each particle's distance, simulated statistics ``(N, k)`` and simulation seed.
    epsilon
        The tolerance of the last population.
    generations
        Per-generation epsilon, acceptance rate and effective sample size.
    stopped
        Why the calibration ended.
    entropy
        The calibration's seed (``SeedSequence`` entropy), for reproducing it.
    """

    names: tuple[str, ...]
    particles: np.ndarray
    weights: np.ndarray
    distances: np.ndarray
    stats: np.ndarray
    seeds: np.ndarray
    epsilon: float
    generations: tuple[GenerationInfo, ...]
    stopped: str
    entropy: int

    @property
    def ess(self) -> float:
        """Effective sample size of the weights, ``1 / sum w^2``."""
        return float(1.0 / np.sum(self.weights**2))

    def mean(self) -> dict[str, float]:
        """Weighted posterior mean per parameter."""
        return dict(zip(self.names, (self.weights @ self.particles).tolist()))

    def sd(self) -> dict[str, float]:
        """Weighted posterior standard deviation per parameter."""
        mean = self.weights @ self.particles
        var = self.weights @ (self.particles - mean) ** 2
        return dict(zip(self.names, np.sqrt(var).tolist()))

    def median(self) -> dict[str, float]:
        """Point estimate: weighted posterior median per parameter."""
        return {n: float(weighted_quantile(self.particles[:, j], self.weights, 0.5)) for j, n in enumerate(self.names)}

    def best(self) -> dict[str, float]:
        """The particle with the smallest distance (ties: the first)."""
        return dict(zip(self.names, self.particles[int(np.argmin(self.distances))].tolist()))

    def interval(self, level: float = 0.9) -> dict[str, tuple[float, float]]:
        """Equal-tailed weighted credible interval per parameter (default 90%)."""
        tail = (1.0 - level) / 2
        out = {}
        for j, n in enumerate(self.names):
            lo, hi = weighted_quantile(self.particles[:, j], self.weights, np.array([tail, 1.0 - tail]))
            out[n] = (float(lo), float(hi))
        return out

    def resample(self, n: int | None = None, seed: int | np.random.SeedSequence | None = None) -> np.ndarray:
        """An unweighted posterior sample of ``n`` rows (default ``N``), by systematic resampling.

        Without a seed the draw is derived from the calibration's own seed, so it is
        the same every time the result is loaded.
        """
        n = len(self.weights) if n is None else int(n)
        if seed is None:
            seed = np.random.SeedSequence(self.entropy, spawn_key=(len(self.generations), 2))
        rng = np.random.default_rng(seed)
        # systematic resampling: one uniform, evenly spaced points; lower variance than multinomial
        points = (rng.uniform() + np.arange(n)) / n
        index = np.minimum(np.searchsorted(np.cumsum(self.weights), points), len(self.weights) - 1)
        return self.particles[index]

    @property
    def samples(self) -> np.ndarray:
        """The resampled (equal-weight) posterior sample; see :meth:`resample`."""
        return self.resample()

    def table(self) -> str:
        """The per-generation table as text."""
        head = f"{'gen':>3} {'epsilon':>11} {'accepted':>8} {'simulated':>9} {'accept':>7} {'ESS':>8} {'med dist':>10}"
        rows = [head]
        for g in self.generations:
            rows.append(
                f"{g.generation:>3} {g.epsilon:>11.4g} {g.accepted:>8} {g.simulated:>9} "
                f"{g.acceptance_rate:>7.3f} {g.ess:>8.1f} {g.median_distance:>10.4g}"
            )
        return "\n".join(rows)

    def summary(self) -> dict[str, Any]:
        """Estimates, intervals and the table, as JSON-able data."""
        return {
            "parameters": list(self.names),
            "median": self.median(),
            "best": self.best(),
            "best_distance": float(np.min(self.distances)),
            "interval_90": {k: list(v) for k, v in self.interval(0.9).items()},
            "mean": self.mean(),
            "sd": self.sd(),
            "epsilon": self.epsilon,
            "ess": self.ess,
            "stopped": self.stopped,
            "seed": self.entropy,
            "generations": [asdict(g) for g in self.generations],
        }


# -------------------------------------------------------------------- the sampler


@dataclass
class _Population:
    """A finished generation (natural-space particles)."""

    t: int
    particles: np.ndarray
    weights: np.ndarray
    distances: np.ndarray
    stats: np.ndarray
    seeds: np.ndarray
    epsilon: float
    info: GenerationInfo


def _particle_seeds(entropy: int, t: int, start: int, count: int) -> list[int]:
    """Simulation seeds of proposals ``start .. start+count-1`` of generation ``t``.

    Each comes from its own ``SeedSequence(entropy, spawn_key=(t, 1, i))``: a function of
    the calibration seed, the generation and the proposal's index only, so batching does
    not change which seed a proposal gets.
    """
    return [
        int(np.random.SeedSequence(entropy, spawn_key=(t, 1, i)).generate_state(1, np.uint32)[0])
        for i in range(start, start + count)
    ]


def _kernel_cholesky(z: np.ndarray, weights: np.ndarray) -> np.ndarray:
    """Lower Cholesky factor of the kernel covariance, 2 x the weighted covariance."""
    mean = weights @ z
    dev = z - mean
    cov = 2.0 * (weights[:, None] * dev).T @ dev
    # A collapsed population (all particles equal in some direction) would give a
    # singular kernel; a tiny ridge keeps it positive definite without moving it.
    ridge = 1e-12 * max(float(np.max(np.diag(cov))), 1.0)
    return np.linalg.cholesky(cov + ridge * np.eye(len(mean)))


def _kernel_log_mixture(z_new: np.ndarray, z_old: np.ndarray, w_old: np.ndarray, chol: np.ndarray) -> np.ndarray:
    """``log sum_j w_j N(z_new_i; z_old_j, L L^T)`` for each new particle."""
    d = z_old.shape[1]
    log_norm = -0.5 * d * math.log(2 * math.pi) - float(np.sum(np.log(np.diag(chol))))
    log_w = np.log(w_old)
    out = np.empty(len(z_new))
    # chunks keep the (chunk x N x d) difference array small for large populations
    chunk = max(1, 2_000_000 // max(1, len(z_old) * d))
    for start in range(0, len(z_new), chunk):
        diff = z_new[start : start + chunk, None, :] - z_old[None, :, :]
        solved = linalg.solve_triangular(chol, diff.reshape(-1, d).T, lower=True)
        maha = np.sum(solved**2, axis=0).reshape(diff.shape[0], len(z_old))
        out[start : start + chunk] = special.logsumexp(log_w[None, :] - 0.5 * maha + log_norm, axis=1)
    return out


#: Draws per wanted proposal before the kernel is judged unable to reach the support.
_MAX_DRAWS_PER_PROPOSAL = 1_000_000


def _propose(
    rng: np.random.Generator,
    priors: Sequence[Prior],
    z_old: np.ndarray,
    w_old: np.ndarray,
    chol: np.ndarray,
    count: int,
) -> np.ndarray:
    """``count`` kernel-space proposals inside the prior support.

    Proposals outside the support have zero posterior weight; redrawing them costs no
    simulation, so they are neither simulated nor counted.  Each dimension a kernel of
    twice the population's spread keeps inside a bounded prior about two times in three,
    so with many parameters few proposals land inside (~1 in 2,000 with 21 uniform
    priors after generation 0): the redraws are bounded by draws, not by rounds.

    Raises
    ------
    UsageError
        If ``count`` proposals take more than ``_MAX_DRAWS_PER_PROPOSAL`` draws each on average.
    """
    out = np.empty((count, z_old.shape[1]))
    todo = np.arange(count)
    drawn = 0
    while len(todo):
        if drawn > _MAX_DRAWS_PER_PROPOSAL * count:
            raise UsageError(
                f"priors: expected the perturbation kernel to land inside the priors' support, found "
                f"{count - len(todo)} of {count} proposals inside after {drawn:,} draws "
                f"({z_old.shape[1]} parameters); fewer parameters or wider priors would do"
            )
        ancestors = rng.choice(len(w_old), size=len(todo), p=w_old)
        z = z_old[ancestors] + rng.standard_normal((len(todo), z_old.shape[1])) @ chol.T
        drawn += len(todo)
        ok = np.isfinite(_kernel_log_prior(priors, z))
        out[todo[ok]] = z[ok]
        todo = todo[~ok]
    return out


def _effective_sample_size(weights: np.ndarray) -> float:
    return float(1.0 / np.sum(weights**2))


def _run_generation(
    t: int,
    evaluate: Evaluate,
    priors: Sequence[Prior],
    distance: Distance,
    entropy: int,
    population: int,
    epsilon: float,
    previous: _Population | None,
    batch_size: int | None,
    max_simulations: int,
) -> _Population | None:
    """Simulate generation ``t`` until ``population`` particles are within ``epsilon``.

    Returns ``None`` if that takes more than ``max_simulations`` simulations.
    """
    # child t of the calibration's SeedSequence, split into the proposal stream (0);
    # the simulation seeds use spawn key (t, 1, i), see _particle_seeds
    rng = np.random.default_rng(np.random.SeedSequence(entropy, spawn_key=(t, 0)))
    if previous is not None:
        z_old = _to_kernel(priors, previous.particles)
        chol = _kernel_cholesky(z_old, previous.weights)
        rate_guess = previous.info.acceptance_rate
    else:
        rate_guess = 1.0

    kept_z: list[np.ndarray] = []
    kept_stats: list[np.ndarray] = []
    kept_dist: list[np.ndarray] = []
    kept_seeds: list[np.ndarray] = []
    n_kept = 0
    n_within = 0  # all proposals within epsilon, including any beyond N
    simulated = 0
    while n_kept < population:
        if simulated >= max_simulations:
            return None
        needed = population - n_kept
        # Without a fixed batch size, aim to finish in one more batch at the last known
        # acceptance rate (+20%), within the budget.  The size depends only on saved
        # history, so a resumed run makes the same batches.
        margin = 1.0 if previous is None else 1.2
        size = batch_size or math.ceil(margin * needed / max(rate_guess, 1e-3))
        size = max(1, min(size, max_simulations - simulated))
        if previous is None:
            theta = np.column_stack([p.sample(rng, size) for p in priors])
            z = _to_kernel(priors, theta)
        else:
            z = _propose(rng, priors, z_old, previous.weights, chol, size)
            theta = _from_kernel(priors, z)
        seeds = _particle_seeds(entropy, t, simulated, size)
        sims = np.asarray(evaluate(theta, seeds), dtype=float)
        if sims.shape != (size, distance.k):
            raise ValueError(f"evaluate returned shape {sims.shape}, expected {(size, distance.k)}")
        dist = distance(sims)
        ok = np.flatnonzero(np.isfinite(dist) & (dist <= epsilon))
        simulated += size
        n_within += len(ok)
        rate_guess = max(n_within / simulated, 1e-3)
        take = ok[:needed]  # first accepted in proposal order: deterministic
        kept_z.append(z[take])
        kept_stats.append(sims[take])
        kept_dist.append(dist[take])
        kept_seeds.append(np.asarray(seeds, dtype=np.int64)[take])
        n_kept += len(take)

    z_new = np.concatenate(kept_z)
    log_prior = _kernel_log_prior(priors, z_new)
    if previous is None:
        log_w = np.zeros(population)  # drawn from the prior itself: equal weights
    else:
        log_w = log_prior - _kernel_log_mixture(z_new, z_old, previous.weights, chol)
    weights = np.exp(log_w - special.logsumexp(log_w))
    distances = np.concatenate(kept_dist)
    info = GenerationInfo(
        generation=t,
        epsilon=float(epsilon),
        accepted=population,
        simulated=simulated,
        acceptance_rate=n_within / simulated,
        ess=_effective_sample_size(weights),
        median_distance=float(np.median(distances)),
    )
    return _Population(
        t=t,
        particles=_from_kernel(priors, z_new),
        weights=weights,
        distances=distances,
        stats=np.concatenate(kept_stats),
        seeds=np.concatenate(kept_seeds),
        epsilon=float(epsilon),
        info=info,
    )


# ------------------------------------------------------------------- checkpoints


def _settings(
    priors: Sequence[Prior],
    distance: Distance,
    population: int,
    quantile: float,
    min_acceptance_rate: float,
    batch_size: int | None,
    entropy: int,
    context: Mapping[str, Any] | None,
) -> dict[str, Any]:
    """What must match for a resumed calibration to continue the same one."""
    settings = {
        "priors": [p.to_dict() for p in priors],
        "distance": distance.to_dict(),
        "population": population,
        "quantile": quantile,
        "min_acceptance_rate": min_acceptance_rate,
        "batch_size": batch_size,
        "seed": entropy,
    }
    # absent rather than null, so checkpoints written without a context still resume
    if context is not None:
        settings["context"] = dict(context)
    return settings


def _write_generation(
    folder: Path, pop: _Population, settings: dict[str, Any], history: list[GenerationInfo], stopped: str | None
) -> None:
    buffer = io.BytesIO()
    np.savez(
        buffer,
        particles=pop.particles,
        weights=pop.weights,
        distances=pop.distances,
        epsilon=np.float64(pop.epsilon),
        stats=pop.stats,
        seeds=pop.seeds,
    )
    # the generation's file first, then the state naming it: a crash in between leaves
    # the state at the previous generation, which is complete
    write_file_atomic(folder / f"generation_{pop.t}.npz", buffer.getvalue())
    _write_state(folder, settings, history, pop.t, stopped)


def _write_state(
    folder: Path, settings: dict[str, Any], history: list[GenerationInfo], last: int, stopped: str | None
) -> None:
    state = {
        "format": _FORMAT,
        "settings": settings,
        "last_generation": last,
        "stopped": stopped,
        "generations": [asdict(g) for g in history],
    }
    write_file_atomic(folder / _STATE_FILE, json.dumps(state, indent=1) + "\n")


# A checkpoint is only ever written atomically (temp + rename), the generation before the
# state naming it, so an interrupted calibration never leaves a damaged one: a file that
# does not read was damaged afterwards (a disk fault, an edit, a copy cut short).  That is
# the user's to fix, so it is a UsageError naming the file and what it should hold, and
# never numpy's own words (which speak of pickles: a checkpoint holds none, and none is
# ever loaded, see allow_pickle=False below).
_CHECKPOINT = "a checkpoint written by crossings calibrate"
_ARRAYS = ("particles", "weights", "distances", "epsilon", "stats", "seeds")


def _state_problem(state: Any) -> str | None:
    """``key: expected …, found …`` for the first thing in a ``state.json`` a resume could not use."""
    if not isinstance(state, dict):
        return f"expected the state of {_CHECKPOINT} (a JSON mapping), found {describe(state)}"
    if state.get("format") != _FORMAT:
        return f"format: expected {_FORMAT}, found {describe_key(state, 'format')}"
    settings = state.get("settings")
    if not isinstance(settings, dict):
        return f"settings: expected a mapping, found {describe_key(state, 'settings')}"
    priors = settings.get("priors")
    if not isinstance(priors, list) or not priors:
        return f"settings.priors: expected a list of priors, found {describe(priors)}"
    for i, spec in enumerate(priors):
        try:
            Prior.from_dict(spec)
        except (TypeError, ValueError, AttributeError):
            return f"settings.priors.{i}: expected a prior (name, kind, bounds), found {describe(spec)}"
    if not is_int(settings.get("seed")):
        return f"settings.seed: expected an integer, found {describe(settings.get('seed'))}"
    if not is_int(settings.get("population")) or settings["population"] < 2:
        return f"settings.population: expected an integer of at least 2, found {describe(settings.get('population'))}"
    last = state.get("last_generation")
    if not is_int(last) or last < 0:
        return f"last_generation: expected a generation number, found {describe(last)}"
    if not (state.get("stopped") is None or isinstance(state.get("stopped"), str)):
        return f"stopped: expected null or a reason, found {describe(state.get('stopped'))}"
    generations = state.get("generations")
    if not isinstance(generations, list) or len(generations) != last + 1:
        found = f"{len(generations)}" if isinstance(generations, list) else describe(generations)
        return f"generations: expected a list of {last + 1} (generations 0 to {last}), found {found}"
    fields = list(GenerationInfo.__dataclass_fields__)
    for i, row in enumerate(generations):
        if not isinstance(row, dict) or set(row) != set(fields):
            found = describe(row) if not isinstance(row, dict) else "the keys " + (", ".join(sorted(row)) or "none")
            return f"generations.{i}: expected the keys {', '.join(fields)}, found {found}"
        for key in fields:
            if not is_number(row[key]):
                return f"generations.{i}.{key}: expected a number, found {describe(row[key])}"
        if row["generation"] != i:
            return f"generations.{i}.generation: expected {i}, found {describe(row['generation'])}"
        if not is_int(row["simulated"]):
            return f"generations.{i}.simulated: expected a whole number, found {describe(row['simulated'])}"
    return None


def _read_state(folder: Path) -> dict[str, Any]:
    """A checkpoint's ``state.json``, checked for all a resume uses."""
    path = folder / _STATE_FILE
    expected = f"the state of {_CHECKPOINT} (JSON)"
    state = read_json(path, expected)
    problem = _state_problem(state)
    if problem is not None:
        raise UsageError(f"{path}: {problem}")
    return state


def _read_generation(folder: Path, t: int, population: int, dimensions: int) -> dict[str, np.ndarray]:
    """The arrays of ``generation_<t>.npz``, checked against the shapes ``state.json`` implies."""
    path = folder / f"generation_{t}.npz"
    expected = f"generation {t} of {_CHECKPOINT} (a NumPy .npz archive)"
    if not path.is_file():
        raise UsageError(f"{path}: expected {expected}, named by {_STATE_FILE}, found no such file")
    try:
        # allow_pickle=False: a checkpoint is data; a damaged or planted file must never run code.
        loaded = np.load(path, allow_pickle=False)
        if not isinstance(loaded, np.lib.npyio.NpzFile):
            raise UsageError(f"{path}: expected {expected}, found a single array")
        with loaded as data:
            missing = [name for name in _ARRAYS if name not in data.files]
            if missing:
                raise UsageError(f"{path}: expected {expected} with {', '.join(_ARRAYS)}, found no {', '.join(missing)}")
            arrays = {name: data[name] for name in _ARRAYS}
    except (ValueError, OSError, EOFError, zipfile.BadZipFile):
        # numpy's words here (a file it would read as a pickle, a bad CRC, an object array) do not
        # help: say what the file should have been.
        found = "an empty file" if path.stat().st_size == 0 else "a damaged file"
        raise UsageError(f"{path}: expected {expected}, found {found}") from None
    shapes = {
        "particles": (population, dimensions), "weights": (population,), "distances": (population,),
        "epsilon": (), "seeds": (population,),
    }
    for name, shape in shapes.items():
        array = arrays[name]
        if array.shape != shape or not np.issubdtype(array.dtype, np.number):
            raise UsageError(f"{path}: {name}: expected numbers of shape {shape}, found {array.dtype} of shape {array.shape}")
    statistics = arrays["stats"]
    if statistics.ndim != 2 or statistics.shape[0] != population or not np.issubdtype(statistics.dtype, np.number):
        found = f"{statistics.dtype} of shape {statistics.shape}"
        raise UsageError(f"{path}: stats: expected numbers of shape ({population}, k), found {found}")
    return arrays


def _read_checkpoint(folder: Path) -> tuple[dict[str, Any], _Population, list[GenerationInfo]]:
    """The state and last finished generation of a checkpoint.

    Raises
    ------
    UsageError
        If ``state.json`` or the generation it names is damaged (see above).
    """
    state = _read_state(folder)
    history = [GenerationInfo(**g) for g in state["generations"]]
    t = int(state["last_generation"])
    settings = state["settings"]
    data = _read_generation(folder, t, settings["population"], len(settings["priors"]))
    pop = _Population(
        t=t,
        particles=data["particles"],
        weights=data["weights"],
        distances=data["distances"],
        stats=data["stats"],
        seeds=data["seeds"],
        epsilon=float(data["epsilon"]),
        info=history[-1],
    )
    return state, pop, history


def _result(
    priors: Sequence[Prior], pop: _Population, history: list[GenerationInfo], stopped: str, entropy: int
) -> ABCResult:
    return ABCResult(
        names=tuple(p.name for p in priors),
        particles=pop.particles,
        weights=pop.weights,
        distances=pop.distances,
        stats=pop.stats,
        seeds=pop.seeds,
        epsilon=pop.epsilon,
        generations=tuple(history),
        stopped=stopped,
        entropy=entropy,
    )


def load_result(folder: str | Path) -> ABCResult:
    """The result of the last finished generation in a checkpoint folder.

    Raises
    ------
    UsageError
        If the checkpoint is damaged: its ``state.json`` or the generation it names.
    """
    folder = Path(folder)
    state, pop, history = _read_checkpoint(folder)
    priors = [Prior.from_dict(p) for p in state["settings"]["priors"]]
    return _result(priors, pop, history, state["stopped"] or "interrupted", int(state["settings"]["seed"]))


# ---------------------------------------------------------------------- entry point


def abc_smc(
    evaluate: Evaluate,
    priors: Sequence[Prior | Mapping[str, Any]],
    distance: Distance,
    *,
    population: int = 500,
    generations: int = 10,
    min_epsilon: float = 0.0,
    min_acceptance_rate: float = 0.01,
    quantile: float = 0.5,
    seed: int | None = None,
    batch_size: int | None = None,
    checkpoint: str | Path | None = None,
    resume: bool = False,
    progress: Callable[[GenerationInfo], None] | None = None,
    context: Mapping[str, Any] | None = None,
) -> ABCResult:
    """Calibrate parameters by ABC-SMC.

    Parameters
    ----------
    evaluate
        ``evaluate(params, seeds) -> stats``: simulate a batch; ``params`` has shape
        ``(n, d)`` (columns in prior order, natural units), ``seeds`` is a list of ``n``
        ints, and the return has shape ``(n, k)``.  Batching lets the caller spread
        simulations over any executor.  NaN statistics mean "reject".
    priors
        One :class:`Prior` (or its dict form) per parameter.
    distance
        The targets and scales, see :class:`Distance`.
    population
        Particles per generation, ``N``.
    generations
        Most generations to run, counting generation 0 (from the prior).
    min_epsilon
        Stop once a generation's epsilon is at or below this.
    min_acceptance_rate
        Stop once a generation's acceptance rate falls below this; a generation that
        would need more than ``N / min_acceptance_rate`` simulations is abandoned and
        the previous one is the result.
    quantile
        Each generation's epsilon is this quantile of the previous generation's distances.
    seed
        The calibration's seed; ``None`` draws fresh entropy (recorded in the result
        and the checkpoint).
    batch_size
        Simulations per ``evaluate`` call; ``None`` sizes batches from the last
        acceptance rate.
    checkpoint
        Folder for ``generation_<t>.npz`` and ``state.json``; ``None`` for none.
    resume
        Continue from the checkpoint's last finished generation; the settings must
        match (the stopping settings ``generations`` and ``min_epsilon`` may change).
    progress
        Called with each finished generation's row.
    context
        The caller's own settings that shape ``evaluate`` (plain JSON data, e.g. the
        simulated scale or runs per particle): recorded in the checkpoint and, like
        the sampler's settings, required to match on resume.

    Returns
    -------
    ABCResult
        The last population with estimates, intervals and the per-generation table.
    """
    priors = _as_priors(priors)
    if population < 2:
        raise ValueError("population must be at least 2")
    if not 0 < quantile < 1:
        raise ValueError("quantile must be between 0 and 1")
    if not 0 < min_acceptance_rate <= 1:
        raise ValueError("min_acceptance_rate must be in (0, 1]")
    if generations < 1:
        raise ValueError("generations must be at least 1")

    folder = None if checkpoint is None else Path(checkpoint)
    pop: _Population | None = None
    history: list[GenerationInfo] = []
    stopped: str | None = None
    if resume:
        if folder is None:
            raise ValueError("resume needs a checkpoint folder")
        if not (folder / _STATE_FILE).exists():
            resume = False  # nothing to resume: start afresh into the folder
    if resume:
        assert folder is not None
        state, pop, history = _read_checkpoint(folder)
        entropy = int(state["settings"]["seed"])
        if seed is not None and int(seed) != entropy:
            raise ValueError(f"checkpoint {folder} has seed {entropy}, not {seed}")
        settings = _settings(priors, distance, population, quantile, min_acceptance_rate, batch_size, entropy, context)
        if json.loads(json.dumps(settings)) != state["settings"]:
            raise ValueError(f"checkpoint {folder} was made with other settings; use another folder")
        stopped = state["stopped"]
    else:
        if folder is not None and (folder / _STATE_FILE).exists():
            raise ValueError(f"{folder} already holds a calibration; pass resume=True or use another folder")
        entropy = int(np.random.SeedSequence(seed).entropy)  # type: ignore[arg-type]
        settings = _settings(priors, distance, population, quantile, min_acceptance_rate, batch_size, entropy, context)

    max_simulations = math.ceil(population / min_acceptance_rate)
    # Stopping reasons that end a calibration for good ("no progress" cannot be undone
    # by resuming); the run-length limits are checked afresh, so a resumed run may go on.
    final_reasons = {"min_acceptance_rate", "stalled"}
    while stopped not in final_reasons:
        t = 0 if pop is None else pop.t + 1
        if pop is not None:
            if t >= generations:
                stopped = "generations"
                break
            if pop.epsilon <= min_epsilon:
                stopped = "min_epsilon"
                break
            if pop.info.acceptance_rate < min_acceptance_rate:
                stopped = "min_acceptance_rate"
                break
            epsilon = float(np.quantile(pop.distances, quantile))
            # ABC's tolerance must shrink; if the quantile no longer moves it (e.g. all
            # distances equal), more generations only repeat the same population
            if not epsilon < pop.epsilon:
                stopped = "stalled"
                break
            epsilon = max(epsilon, min_epsilon)
        else:
            epsilon = math.inf
        new = _run_generation(t, evaluate, priors, distance, entropy, population, epsilon, pop, batch_size, max_simulations)
        if new is None:
            if pop is None:
                raise RuntimeError(
                    f"fewer than {population} of {max_simulations} prior draws gave finite distances; check evaluate"
                )
            stopped = "min_acceptance_rate"
            break
        pop = new
        history.append(new.info)
        if folder is not None:
            _write_generation(folder, new, settings, history, None)
        if progress is not None:
            progress(new.info)
    assert pop is not None and stopped is not None
    if folder is not None:
        _write_state(folder, settings, history, pop.t, stopped)
    return _result(priors, pop, history, stopped, entropy)
