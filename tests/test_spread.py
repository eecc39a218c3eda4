"""A compiled SpreadTable draws the very numbers quantile draws, for every distribution, mixed in one batch."""

from __future__ import annotations

import numpy as np

from sim.model.spread import SpreadTable, quantile


def test_spread_table_draws_what_quantile_draws() -> None:
    laws = [
        ("fixed", 3.0, 0.0),
        ("exponential", 2.0, 1.0),
        ("lognormal", 10.0, 0.6),
        ("lognormal", 1.5, 0.0),
        ("gamma", 4.0, 0.5),
        ("gamma", 7.0, 0.0),
    ]
    table = SpreadTable.from_laws(*(list(column) for column in zip(*laws)))
    rng = np.random.default_rng(3)
    row = rng.integers(0, len(laws), 5000)
    uniform = rng.random(5000, dtype=np.float32)
    uniform[:3] = [0.0, np.nextafter(np.float32(1), np.float32(0)), 0.5]
    drawn = table.draw(row, uniform)
    expected = np.array([quantile(laws[r][0], laws[r][1], laws[r][2], uniform[i : i + 1])[0] for i, r in enumerate(row)])
    assert np.array_equal(drawn, expected)
    # One distribution alone takes the short way; the numbers are the same.
    only = row[row == 2]
    assert np.array_equal(SpreadTable.from_laws(["lognormal"] * 6, [law[1] for law in laws], [law[2] for law in laws]).draw(
        only, uniform[row == 2]), drawn[row == 2])
