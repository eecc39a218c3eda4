"""flows.csv: where people went, and that it adds up to the daily entries it was drawn from."""

from __future__ import annotations

import csv
from collections import Counter
from pathlib import Path

import pytest
from report_scenarios import report_scenario

import sim
from sim.run.flows import FLOW_COLUMNS


@pytest.fixture(scope="module")
def written(tmp_path_factory: pytest.TempPathFactory) -> Path:
    folder = tmp_path_factory.mktemp("run") / "run"
    sim.run(report_scenario()).write(folder, figures=False)
    return folder


def _rows(path: Path) -> list[dict[str, str]]:
    with open(path, newline="", encoding="utf-8") as handle:
        return list(csv.DictReader(handle))


def test_flows_add_up_to_the_daily_entries(written: Path) -> None:
    flows = _rows(written / "flows.csv")
    daily = _rows(written / "daily.csv")
    entries = Counter()
    for row in daily:
        if row["measure"] == "entries":
            entries[row["place"]] += float(row["value"])
    by_crossing, by_country, by_onward_crossing, by_onward_country = Counter(), Counter(), Counter(), Counter()
    for row in flows:
        persons = float(row["persons"])
        by_crossing[row["crossing"]] += persons
        by_country[row["country"]] += persons
        if row["onward_crossing"]:
            by_onward_crossing[row["onward_crossing"]] += persons
            by_onward_country[row["onward_country"]] += persons
    home_side = {"upper-lars", "syrym", "kairak", "vaalimaa"}
    onward = {"korday", "tbilisi-istanbul"}
    assert set(by_crossing) <= home_side and set(by_onward_crossing) <= onward
    for crossing in home_side:
        assert by_crossing[crossing] == pytest.approx(entries[crossing], abs=1e-6), crossing
    # Nobody enters a third country in this scenario (Kyrgyzstan and Turkey lead nowhere),
    # so every onward entry is a second entry and the onward columns add up exactly too.
    for crossing in onward:
        assert by_onward_crossing[crossing] == pytest.approx(entries[crossing], abs=1e-6), crossing
        assert entries[crossing] > 0, f"the scenario should send people on through {crossing}"
    for country in ("KZ", "GE", "FI"):
        assert by_country[country] == pytest.approx(entries[country], abs=1e-6), country
    for country in ("KG", "TR"):
        assert by_onward_country[country] == pytest.approx(entries[country], abs=1e-6), country


def test_flows_csv_has_its_columns_and_is_reproducible(written: Path, tmp_path: Path) -> None:
    text = (written / "flows.csv").read_text(encoding="utf-8")
    assert text.splitlines()[0] == ",".join(FLOW_COLUMNS)
    again = tmp_path / "again"
    sim.run(report_scenario()).write(again, figures=False)
    assert (again / "flows.csv").read_text(encoding="utf-8") == text
    origins = {row["origin"] for row in _rows(written / "flows.csv")}
    assert origins == {"moscow", "samara"}
