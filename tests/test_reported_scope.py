"""The baseline counts what the reports count: Georgia by land and air, Finland's whole border.

Georgia's press counts are of all its entry points and Finland's (Reuters, the Finnish
Border Guard) of its whole eastern border, so the baseline flies Russians to Georgia by
way of third countries (``russia-georgia-air``, seats assumed, "all sold out": seed 000)
and has Finland's northern crossings (``finland-north``). These tests hold what the
scenario's comments claim of the two: a country's entries are its crossings' entries,
the flights to Georgia fill every day from the shock (and nearly every day before), and the northern
crossings carry about the ~340–380 a day that the two Finnish reports differ by
(Reuters, 21 Sept: 3,133 and 4,824 on the whole border; RBC; Iltalehti: 2,794 and
4,443 at the three SE crossings): they carry more, ~455–660 a day, a known deviation
(strict expected failure). Two runs at scale 0.05, stopped on 29 Sept.
"""

from __future__ import annotations

import datetime as dt

import numpy as np
import pytest

import sim
from sim.scenario.loading import load_scenario
from helpers import daily_values

BASELINE = "scenarios/mobilization-2022.yaml"
SCALE = 0.05
#: 16–29 Sept: after the warm-up, to the eve of Finland's ban.
DAYS = [(dt.date(2022, 9, 16) + dt.timedelta(days=d)).isoformat() for d in range(14)]


@pytest.fixture(scope="module")
def runs() -> list[dict[tuple[str, str, str], float]]:
    return [daily_values(sim.run(BASELINE, seed=seed, scale=SCALE, until=dt.date(2022, 9, 29))) for seed in (11, 12)]


def _entries(run: dict, place: str, day: str) -> float:
    return run.get((day, place, "entries"), 0.0)


@pytest.mark.parametrize("country", ["GE", "FI"])
def test_a_countrys_entries_are_its_crossings_entries(runs, country: str) -> None:
    crossings = [c.id for c in load_scenario(BASELINE).scenario.crossings if c.to == country]
    assert len(crossings) >= 2
    for run in runs:
        for day in DAYS:
            total = sum(_entries(run, crossing, day) for crossing in crossings)
            assert _entries(run, country, day) == pytest.approx(total, rel=1e-12), (country, day)


def test_the_flights_to_georgia_are_sold_out(runs) -> None:
    """Every day from the shock, and most days before it (regular demand dips below the seats
    on a few days: ~1,700 of 2,000 at the least in these runs)."""
    seats = next(c for c in load_scenario(BASELINE).scenario.crossings if c.id == "russia-georgia-air").modes["air"].seats_per_day
    for run in runs:
        flown = np.array([_entries(run, "russia-georgia-air", day) for day in DAYS])
        before, after = flown[:5], flown[5:]  # 16–20 Sept; 21–29 Sept
        # at scale 0.05 a day's seats are 100 simulated persons, sold to whole parties: within 5%
        assert np.all(np.abs(after - seats) <= 0.05 * seats), after
        assert before.mean() >= 0.9 * seats and before.max() <= 1.05 * seats, before


@pytest.mark.xfail(
    strict=True,
    reason=(
        "the northern crossings read ~455-660 a day over 16-20 Sept (six runs at scale 0.05), above the 339-381"
        " the reports differ by; Finland's whole border on 14 and 21 Sept (checks) is still met. With the"
        " regular travellers' documents the calibration ran with (0.45 passports, 0.39 visas) they read"
        " ~445-555; Finland's appeal is not the cause: at 5.98 (the calibration before) they read ~610, and"
        " Norway's 4.69, the wait utility -0.024 or St Petersburg's visa factor 2.37 left them at ~430-555; an"
        " appeal of -0.4 for the crossings meets it, but moves the travellers to the SE crossings, whose fitted"
        " counts then read 3-13% high (the scenario's comment on finland-north)"
    ),
)
def test_finlands_northern_crossings_carry_the_reported_difference(runs) -> None:
    before = [np.mean([_entries(run, "finland-north", day) for day in DAYS[:5]]) for run in runs]  # 16–20 Sept
    # Reuters less RBC/Iltalehti: 339 (14 Sept) and 381 (21 Sept); ±40% for a few dozen parties a day
    assert all(200 <= value <= 540 for value in before), before
