"""crossings memo: every number of its table is the one computed from the run files it came from,
the HTML is self-contained and every figure loads in a real browser (headless Chromium), the PDF
holds the same figures, and a second memo in the same folder reuses the runs."""

from __future__ import annotations

import csv
import json
import math
import re
import shutil
from collections import defaultdict
from html.parser import HTMLParser
from pathlib import Path

import numpy as np
import pytest
from report_inputs import REPLICATES
from scipy import stats

from sim.report.findings import format_value


class _TableParser(HTMLParser):
    """The findings table's cells: measure, column, data attributes, and the printed mean and interval."""

    def __init__(self) -> None:
        super().__init__()
        self.cells: list[dict[str, str]] = []
        self._measure: str | None = None
        self._cell: dict[str, str] | None = None
        self._span: str | None = None

    def handle_starttag(self, tag: str, attrs: list[tuple[str, str | None]]) -> None:
        a = {k: v or "" for k, v in attrs}
        if tag == "tr":
            self._measure = a.get("data-measure")
        elif tag == "td" and "data-mean" in a and self._measure:
            self._cell = {"measure": self._measure, **a, "mean_text": "", "ci_text": ""}
        elif tag == "span" and self._cell is not None:
            self._span = a.get("class")

    def handle_endtag(self, tag: str) -> None:
        if tag == "td" and self._cell is not None:
            self.cells.append(self._cell)
            self._cell = None
        elif tag == "span":
            self._span = None

    def handle_data(self, data: str) -> None:
        if self._cell is not None and self._span in ("mean", "ci"):
            self._cell[f"{self._span}_text"] += data


def _runs(memo_dir: Path, scenario: str) -> list[Path]:
    folders = sorted((memo_dir / "runs" / scenario).iterdir(), key=lambda p: int(p.name.split("-")[0]))
    assert len(folders) == REPLICATES
    return folders


def _measure_of_run(folder: Path, measure: str) -> float:
    """A run measure recomputed from the run's own files with the csv module (not the code under test)."""
    kind, place = measure.split(".", 1)
    if kind == "people":
        manifest = json.loads((folder / "manifest.json").read_text(encoding="utf-8"))
        return manifest["people"]["by_state"][place] * manifest["people"]["full_scale_factor"]
    rows = defaultdict(list)
    with open(folder / "daily.csv", newline="", encoding="utf-8") as handle:
        for row in csv.DictReader(handle):
            rows[(row["place"], row["measure"])].append((row["date"], float(row["value"])))
    if kind == "entries":
        return sum(v for _, v in rows[(place, "entries")])
    if kind.endswith("_max"):
        values = [v for _, v in rows[(place, kind.removesuffix("_max"))]]
        return max(values) if values else 0.0
    if kind.endswith("_end"):
        last_day = max(d for (_, _), days in rows.items() for d, _ in days)
        return next((v for d, v in rows[(place, kind.removesuffix("_end"))] if d == last_day), 0.0)
    raise AssertionError(f"no rule for {measure}")


def _interval(values: list[float], *, clip: bool) -> tuple[float, float, float]:
    x = np.array(values)
    mean = float(x.mean())
    half = float(stats.t.ppf(0.975, len(x) - 1) * x.std(ddof=1) / math.sqrt(len(x)))
    low = max(mean - half, 0.0) if clip else mean - half
    return mean, low, mean + half


def test_every_number_in_the_table_is_computed_from_the_runs(memo_folder) -> None:
    memo_dir = memo_folder.memo.html.parent
    parser = _TableParser()
    parser.feed(memo_folder.memo.html.read_text(encoding="utf-8"))
    cells = parser.cells
    measures = {c["measure"] for c in cells}
    # Every section is there: entries by country, peak waits, people stopped or stranded, asylum backlog.
    assert {"entries.KZ", "entries.GE", "entries.FI", "entries.KG", "entries.TR"} <= measures
    assert any(m.startswith("wait_hours_p90_max.") for m in measures)
    assert any(m.startswith("people.") for m in measures)
    assert {"asylum_backlog_end.FI", "asylum_backlog_max.FI"} <= measures
    assert len(cells) == 3 * len(measures)  # base, policy, policy - base

    runs = {name: _runs(memo_dir, name) for name in ("report-base", "report-policy")}
    seeds = [folder.name.split("-")[1] for folder in runs["report-base"]]
    assert seeds == [folder.name.split("-")[1] for folder in runs["report-policy"]], "replicates must share seeds"
    for cell in cells:
        measure, column = cell["measure"], cell["data-column"]
        unit = "hours" if measure.startswith("wait_hours") else "persons"
        base = [_measure_of_run(f, measure) for f in runs["report-base"]]
        if column == "report-policy - report-base":
            policy = [_measure_of_run(f, measure) for f in runs["report-policy"]]
            expected = _interval([p - b for p, b in zip(policy, base)], clip=False)
            signed = True
        else:
            expected = _interval([_measure_of_run(f, measure) for f in runs[column]], clip=True)
            signed = False
        shown = tuple(float(cell[key]) for key in ("data-mean", "data-low", "data-high"))
        assert shown == pytest.approx(expected, rel=1e-9, abs=1e-9), (measure, column)
        assert cell["mean_text"] == format_value(expected[0], unit, signed=signed), (measure, column)
        low, high = (format_value(x, unit, signed=signed) for x in expected[1:])
        assert cell["ci_text"] == f"[{low} to {high}]", (measure, column)


def test_findings_csv_holds_the_same_numbers(memo_folder) -> None:
    parser = _TableParser()
    parser.feed(memo_folder.memo.html.read_text(encoding="utf-8"))
    with open(memo_folder.memo.findings, newline="", encoding="utf-8") as handle:
        saved = {(row["measure"], row["column"]): row for row in csv.DictReader(handle)}
    assert len(saved) == len(parser.cells)
    for cell in parser.cells:
        row = saved[(cell["measure"], cell["data-column"])]
        assert [float(row[k]) for k in ("mean", "ci_low", "ci_high")] == [
            float(cell[k]) for k in ("data-mean", "data-low", "data-high")
        ]
        assert int(row["replicates"]) == REPLICATES


def test_html_is_self_contained_and_states_its_figures(memo_folder) -> None:
    text = memo_folder.memo.html.read_text(encoding="utf-8")
    count = len(memo_folder.memo.content.figures)
    assert f'<meta name="figure-count" content="{count}">' in text
    assert f"This memo has {count} figures." in text
    assert len(re.findall(r'<img src="data:image/png;base64,', text)) == count
    # numbered as the PDF numbers them
    assert re.findall(r"<figcaption><b>Figure (\d+)\.</b>", text) == [str(n) for n in range(1, count + 1)]
    # Nothing to fetch: no external URL anywhere in a src or href.
    assert not re.findall(r'(?:src|href)="(?!data:|#)', text)
    # Every section is there, and the reproducibility block names seeds, version and scenario hashes.
    for heading in ("Key findings", "Figures", "Assumptions and sources", "Calibration fit", "Reproducibility"):
        assert f"<h2>{heading}</h2>" in text
    for loaded in memo_folder.memo.content.scenarios:
        assert loaded.sha256 in text
    assert "crossings memo" in text and "crossings version" in text
    # The calibration fit of the baseline was found and shown, with its figure.
    assert "as-set: the scenario as it is" in text
    assert any(f.section == "fit" for f in memo_folder.memo.content.figures)


def test_pdf_holds_every_figure(memo_folder) -> None:
    data = memo_folder.memo.pdf.read_bytes()
    assert data.startswith(b"%PDF")
    images = len(re.findall(rb"/Subtype\s*/Image", data))
    # Each PNG may carry a soft mask (its alpha) as a second image object.
    assert images >= len(memo_folder.memo.content.figures)
    assert len(re.findall(rb"/Type\s*/Page\b", data)) >= 4


def test_runs_are_reused_only_when_scenario_seed_and_scale_match(memo_folder, tmp_path: Path) -> None:
    from sim.report.memo import run_or_reuse
    from sim.scenario import load_scenario

    loaded = load_scenario(memo_folder.base)
    folder = next((memo_folder.memo.html.parent / "runs" / "report-base").glob("0-*"))
    seed = int(folder.name.split("-")[1])
    assert run_or_reuse(loaded, seed, 0.01, folder).reused
    # The same folder copied, but its manifest says it holds another run: it is run again, identically.
    copy = tmp_path / "copy"
    shutil.copytree(folder, copy)
    manifest = json.loads((copy / "manifest.json").read_text(encoding="utf-8"))
    manifest["scenario_sha256"] = "0" * 64
    (copy / "manifest.json").write_text(json.dumps(manifest), encoding="utf-8")
    again = run_or_reuse(loaded, seed, 0.01, copy)
    assert not again.reused
    assert (copy / "daily.csv").read_bytes() == (folder / "daily.csv").read_bytes()
    # A damaged cached run (a cut manifest, a cut daily table) is made again, not trusted.
    for damaged in ("manifest.json", "daily.csv"):
        text = (copy / damaged).read_text(encoding="utf-8")
        (copy / damaged).write_text(text[: len(text) // 2] + '"', encoding="utf-8")
        remade = run_or_reuse(loaded, seed, 0.01, copy)
        assert not remade.reused, damaged
        assert (copy / "daily.csv").read_bytes() == (folder / "daily.csv").read_bytes()
    # The memo said how many runs it made and reused.
    content = memo_folder.memo.content
    assert content.runs_made + content.runs_reused == 2 * REPLICATES


def _chromium() -> tuple[str, str] | None:
    binary = next((shutil.which(n) for n in ("chromium", "chromium-browser", "google-chrome") if shutil.which(n)), None)
    driver = shutil.which("chromedriver")
    return (binary, driver) if binary and driver else None


def test_memo_figures_load_in_headless_chromium(memo_folder) -> None:
    found = _chromium()
    if found is None:
        pytest.skip(
            "no chromium and chromedriver on PATH (Debian: apt-get install chromium chromium-driver; .ci/run installs "
            "them): the memo's figures were not checked in a browser"
        )
    from selenium import webdriver
    from selenium.webdriver.common.by import By
    from selenium.webdriver.support.ui import WebDriverWait

    binary, driver_path = found
    options = webdriver.ChromeOptions()
    options.binary_location = binary
    for argument in ("--headless=new", "--no-sandbox", "--disable-gpu", "--disable-dev-shm-usage"):
        options.add_argument(argument)
    driver = webdriver.Chrome(options=options, service=webdriver.ChromeService(executable_path=driver_path))
    try:
        driver.get(memo_folder.memo.html.resolve().as_uri())
        WebDriverWait(driver, 30).until(lambda d: d.execute_script("return document.readyState") == "complete")
        images = driver.execute_script(
            "return Array.from(document.images).map(i => [i.complete, i.naturalWidth, i.naturalHeight, i.alt])"
        )
        claimed = int(driver.find_element(By.CSS_SELECTOR, 'meta[name="figure-count"]').get_attribute("content"))
        fetched = driver.execute_script("return performance.getEntriesByType('resource').map(e => e.name)")
    finally:
        driver.quit()
    assert claimed == len(memo_folder.memo.content.figures)
    assert len(images) == claimed
    for complete, width, height, alt in images:
        assert complete and width > 0, alt
        assert width == 1300 and height >= 500, alt  # memo width at 200 dpi
    assert fetched == [], "the memo fetched something"


def test_memo_mistakes_are_one_line_and_exit_2(memo_folder, cli, tmp_path: Path) -> None:
    base = str(memo_folder.base)
    same = cli("memo", base, base, "--out", str(tmp_path / "memo"))
    assert same.exit_code == 2
    assert same.stderr.strip() == "crossings: scenarios: expected different names, found report-base, report-base"
    missing = cli("memo", str(tmp_path / "nope.yaml"), "--out", str(tmp_path / "memo"))
    assert missing.exit_code == 2 and len(missing.stderr.strip().splitlines()) == 1
    assert not (tmp_path / "memo").exists()
    # A damaged fit report: one line, and the memo folder holds no memo.html that would look
    # finished beside the new findings (its runs reused from the fixture's memo).
    memo = tmp_path / "again"
    shutil.copytree(memo_folder.memo.html.parent, memo)
    assert (memo / "memo.html").is_file()
    (tmp_path / "fitted" / "x").mkdir(parents=True)
    (tmp_path / "fitted" / "x" / "fit_report.json").write_text("{cut", encoding="utf-8")
    broken = cli("memo", base, "--out", str(memo), "-n", str(REPLICATES), "--scale", "0.01", "--fitted", str(tmp_path / "fitted"))
    errors = [line for line in broken.stderr.splitlines() if not line.startswith("report-base replicate")]
    assert broken.exit_code == 2 and len(errors) == 1, broken.stderr  # the rest: progress, a line a run
    assert "fit_report.json: expected a fit report written by crossings fit-report" in errors[0]
    assert not (memo / "memo.html").exists() and not (memo / "memo.pdf").exists()


def test_a_memo_over_a_posterior_runs_each_replicate_in_its_drawn_world(memo_folder, tmp_path: Path) -> None:
    """Replicate r of both scenarios runs with the same posterior row, recorded in the run's
    manifest, the comparison and the memo's text."""
    from sim.report.memo import make_memo
    from sim.run.posterior import load_posterior

    calibration = tmp_path / "cal"
    calibration.mkdir()
    (calibration / "posterior.csv").write_text("departures.pool_persons\n90000\n240000\n", encoding="utf-8")
    priors = [{"path": "departures.pool_persons", "kind": "uniform", "low": 5e4, "high": 3e5, "integer": False}]
    (calibration / "calibration.json").write_text(json.dumps({"settings": {"priors": priors}}), encoding="utf-8")
    made = make_memo(memo_folder.base, [memo_folder.policy], tmp_path / "memo", replicates=REPLICATES, scale=None,
                     seed=2, targets=memo_folder.targets, fitted=memo_folder.fitted, posterior=calibration)
    drawn = load_posterior(calibration)
    rows = [drawn.draw(2, r) for r in range(REPLICATES)]
    assert len(set(rows)) == 2, "root 2 draws both rows"
    for scenario in ("report-base", "report-policy"):
        for r, folder in enumerate(_runs(tmp_path / "memo", scenario)):
            manifest = json.loads((folder / "manifest.json").read_text(encoding="utf-8"))
            assert manifest["scenario"]["departures"]["pool_persons"] == drawn.rows[rows[r], 0], (scenario, r)
    policy_name = load_scenario_name(memo_folder.policy)
    saved = json.loads((tmp_path / "memo" / "compare" / policy_name / "compare.json").read_text(encoding="utf-8"))
    assert saved["posterior"] == str(calibration) and saved["posterior_rows"] == rows
    assert "drawn from the posterior of the calibration" in made.content.method_text()
    assert "2 distinct sets" in made.html.read_text(encoding="utf-8")


def load_scenario_name(path: Path) -> str:
    from sim.scenario import load_scenario

    return load_scenario(path).scenario.name
