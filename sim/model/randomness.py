"""Random streams: one :class:`numpy.random.SeedSequence` per run, spawned per purpose.

Every stream is a child of the run's root sequence, named by a fixed position in
:data:`STREAM_NAMES`, so adding a draw to one purpose never shifts another.  Within
a population component every party owns a fixed row of pre-drawn uniforms (see
:mod:`sim.model.population`): a party's draws do not depend on what any other party
did, which is what makes scenario comparisons use common random numbers.
"""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np

__all__ = ["STREAM_NAMES", "Streams", "make_streams"]

#: Fixed order of the root's children; append new purposes at the end only.
STREAM_NAMES: tuple[str, ...] = ("pool", "baseline")

#: Within a population component: times, party attributes, per-attempt draws.
COMPONENT_STREAMS: tuple[str, ...] = ("times", "attributes", "attempts")


@dataclass(frozen=True)
class Streams:
    """Generators for one population component, each on its own spawned sequence.

    ``attempts`` stays a seed sequence: each attempt number gets its own child,
    drawn only when some party first makes that many attempts.
    """

    times: np.random.Generator
    attributes: np.random.Generator
    attempts: np.random.SeedSequence


def make_streams(seed: int) -> dict[str, Streams]:
    """Spawn the run's streams from ``seed``.

    Parameters
    ----------
    seed
        The run's root seed.

    Returns
    -------
    dict
        One :class:`Streams` per population component in :data:`STREAM_NAMES`.
    """
    root = np.random.SeedSequence(seed)
    streams: dict[str, Streams] = {}
    for name, child in zip(STREAM_NAMES, root.spawn(len(STREAM_NAMES))):
        times, attributes, attempts = child.spawn(len(COMPONENT_STREAMS))
        streams[name] = Streams(
            np.random.Generator(np.random.PCG64(times)), np.random.Generator(np.random.PCG64(attributes)), attempts
        )
    return streams
