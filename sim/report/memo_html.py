"""The memo as one self-contained HTML file: figures embedded as data URIs, nothing fetched.

Sections: key findings (a table of numbers with 95% intervals), figures, assumptions
and sources, calibration fit, reproducibility.  Every number cell of the findings
table carries its full-precision values in ``data-mean``, ``data-low`` and
``data-high`` (and the row its measure in ``data-measure``), so a test or a reader's
script can check the printed numbers against the runs they came from.  The memo
states how many figures it has (``<meta name="figure-count">`` and a sentence), so
a browser test can check that every one of them loaded.
"""

from __future__ import annotations

import base64
import html
import math
from pathlib import Path

from sim.report.findings import Cell, Row, format_value
from sim.report.memo import MemoFigure, MemoContent

__all__ = ["memo_html", "cell_text", "policy_text", "plain_number"]

_CSS = """
body { font-family: "DejaVu Sans", "Helvetica Neue", Arial, sans-serif; color: #222; max-width: 7.2in;
       margin: 2em auto; padding: 0 1em; line-height: 1.45; font-size: 10.5pt; }
h1 { font-size: 17pt; margin-bottom: 0.2em; }
h2 { font-size: 13pt; border-bottom: 1px solid #bbb; padding-bottom: 0.15em; margin-top: 1.8em; }
h3 { font-size: 11pt; margin-bottom: 0.3em; }
p.lede { color: #444; }
table { border-collapse: collapse; margin: 0.6em 0; font-size: 9pt; }
th, td { padding: 0.25em 0.5em; border-bottom: 1px solid #ddd; vertical-align: top; }
td.num { text-align: right; white-space: nowrap; font-variant-numeric: tabular-nums; }
td.num .ci { color: #555; font-size: 8pt; display: block; }
tr.section th { text-align: left; background: #f0f0f0; }
tbody th { text-align: left; font-weight: normal; }
thead th { text-align: right; border-bottom: 2px solid #888; }
thead th:first-child { text-align: left; }
figure { margin: 1.2em 0; page-break-inside: avoid; }
figure img { width: 100%; max-width: 6.5in; height: auto; display: block; }
figcaption { font-size: 9pt; color: #444; margin-top: 0.3em; }
pre { font-size: 7.5pt; background: #f7f7f7; padding: 0.6em; white-space: pre-wrap; overflow-wrap: anywhere; }
dl { display: grid; grid-template-columns: max-content 1fr; gap: 0.2em 1em; font-size: 9pt; }
dt { font-weight: bold; } dd { margin: 0; overflow-wrap: anywhere; font-family: monospace; }
.note { color: #555; font-size: 9pt; }
"""


def _e(text: object) -> str:
    return html.escape(str(text), quote=True)


def _number_attr(value: float) -> str:
    return "" if not math.isfinite(value) else repr(float(value))


def cell_text(cell: Cell, unit: str, *, signed: bool = False) -> tuple[str, str]:
    """The printed mean and interval of a cell, e.g. ``("482,200", "[470,100 to 494,300]")``."""
    mean = format_value(cell.mean, unit, signed=signed)
    if not (math.isfinite(cell.low) and math.isfinite(cell.high)):
        return mean, "(one replicate: no interval)"
    return mean, f"[{format_value(cell.low, unit, signed=signed)} to {format_value(cell.high, unit, signed=signed)}]"


def _cell(cell: Cell, unit: str, column: str, signed: bool) -> str:
    mean, interval = cell_text(cell, unit, signed=signed)
    return (
        f'<td class="num" data-column="{_e(column)}" data-mean="{_number_attr(cell.mean)}" '
        f'data-low="{_number_attr(cell.low)}" data-high="{_number_attr(cell.high)}" data-n="{cell.n}">'
        f'<span class="mean">{_e(mean)}</span><span class="ci">{_e(interval)}</span></td>'
    )


def _findings_table(content: MemoContent) -> str:
    names = content.table.names
    diff_names = [f"{name} − {names[0]}" for name in names[1:]]
    head = "".join(f"<th>{_e(n)}</th>" for n in [*names, *diff_names])
    body = []
    width = 1 + len(names) + len(diff_names)
    for section in content.table.sections():
        body.append(f'<tr class="section"><th colspan="{width}">{_e(section)}</th></tr>')
        for row in (r for r in content.table.rows if r.section == section):
            body.append(_row(row, names))
    return (
        f'<table class="findings"><thead><tr><th>Measure</th>{head}</tr></thead>'
        f"<tbody>{''.join(body)}</tbody></table>"
    )


def _row(row: Row, names: tuple[str, ...]) -> str:
    unit = "hours" if row.unit == "hours" else "persons"
    cells = [_cell(c, row.unit, name, False) for c, name in zip(row.scenarios, names)]
    cells += [_cell(c, row.unit, f"{name} - {names[0]}", True) for c, name in zip(row.differences, names[1:])]
    return (
        f'<tr data-measure="{_e(row.measure)}" data-unit="{unit}"><th scope="row">{_e(row.label)}</th>'
        f"{''.join(cells)}</tr>"
    )


def _image(figure: MemoFigure, number: int) -> str:
    data = base64.b64encode(Path(figure.path).read_bytes()).decode("ascii")
    return (
        f'<figure id="figure-{number}"><img src="data:image/png;base64,{data}" alt="{_e(figure.caption)}">'
        f"<figcaption><b>Figure {number}.</b> {_e(figure.caption)}</figcaption></figure>"
    )


def _policies_table(content: MemoContent, index: int) -> str:
    scenario = content.scenarios[index].scenario
    if not scenario.policies:
        return "<p class=note>No dated policies.</p>"
    rows = []
    for policy in scenario.policies:
        data = policy.model_dump(mode="json", by_alias=True, exclude_none=True)
        when = f"{data.get('from', scenario.period.start)} to {data.get('until', 'the end')}"
        what = policy_text(data)
        rows.append(f"<tr><td>{_e(data.get('id', ''))}</td><td>{_e(data['kind'])}</td><td>{_e(when)}</td>"
                    f"<td>{_e(what)}</td></tr>")
    return ("<table><thead><tr><th>Policy</th><th>Kind</th><th>When</th><th>What</th></tr></thead>"
            f"<tbody>{''.join(rows)}</tbody></table>")


def policy_text(data: dict) -> str:
    """A policy's settings in a line: ``country: FI, accepts: schengen_visa_other`` (empty settings left out)."""

    def value(v: object) -> str:
        if isinstance(v, dict):
            return "; ".join(f"{k} {value(x)}" for k, x in v.items() if x not in ({}, [], None))
        if isinstance(v, list):
            return ", ".join(str(x) for x in v)
        return str(v)

    return ", ".join(f"{k}: {value(v)}" for k, v in data.items()
                     if k not in ("id", "kind", "from", "until") and v not in ({}, [], None))


def _assumptions(content: MemoContent) -> str:
    parts = []
    for k, (item, header) in enumerate(zip(content.scenarios, content.headers)):
        s = item.scenario
        role = "Baseline" if k == 0 else "Policy"
        facts = (
            f"{s.period.start} to {s.period.end}; {len(s.origins)} origins, {len(s.crossings)} crossings, "
            f"{len(s.countries)} destination countries; a pool of {s.departures.pool_persons:,.0f} would-be emigrants "
            f"and {s.departures.baseline_per_day:,.0f} regular travellers a day"
        )
        parts.append(
            f"<h3>{role}: {_e(s.name)}</h3><p>{_e(s.description)}</p><p class=note>{_e(facts)}. "
            f"File: {_e(content.files[k])}.</p>{_policies_table(content, k)}"
            + (f"<details><summary>The scenario file's own notes and sources</summary><pre>{_e(header)}</pre></details>"
               if header else "")
        )
    if content.targets is not None:
        t = content.targets
        sources = "; ".join(t["sources"])
        parts.append(
            f"<h3>Reported figures</h3><p>{t['count']} reported figures in {_e(t['path'])} "
            f"({t['fit']} used in calibration, the rest checks), from: {_e(sources)}.</p>"
        )
    elif content.targets_note:
        parts.append(f"<h3>Reported figures</h3><p class=note>{_e(content.targets_note)}.</p>")
    parts.append(
        "<h3>How the model works, in brief</h3><ul>"
        "<li>People leave as parties from origin cities, choose a crossing and mode by travel time, reported waits "
        "and destination appeal, queue at its lanes, and enter if the destination accepts their documents that day.</li>"
        "<li>Those refused, turned away or tired of queueing try elsewhere or stop; those who enter stay, move on or go "
        "home after a while, within stay limits.</li>"
        f"<li>Runs simulate a fraction ({content.scale:g}) of the people; counts are scaled back to full scale, so "
        "small numbers (a few hundred) carry sampling noise.</li>"
        "<li>Intervals are 95% t-intervals over the replicates; a difference is paired replicate by replicate (same "
        "seeds), so it is the policy's effect, not noise between runs.</li></ul>"
    )
    return "".join(parts)


def plain_number(value: object) -> str:
    """A fit-report number as a reader wants it: whole persons with separators, small values to 3 digits."""
    if isinstance(value, (int, float)) and math.isfinite(value):
        return f"{value:,.0f}" if abs(value) >= 100 else f"{value:.3g}"
    return "" if value is None else str(value)


def fit_scores_text(overall: dict) -> str:
    """A fit report's overall scores in words: per use, the targets, mean relative difference and coverage."""
    return "; ".join(
        f"{use} targets ({overall[use]['targets']}): mean relative difference "
        f"{overall[use]['mean_relative_difference']:.2f}, covered {overall[use]['coverage']:.0%}"
        for use in ("fit", "check", "all") if use in overall
    )


def _fit(content: MemoContent, figure_html: str) -> str:
    if not content.fit.found:
        return f"<p>{_e(content.fit.message)}</p>"
    parts = []
    for report in content.fit.found:
        overall = report["overall"]
        what = "the scenario as it is" if report["as_is"] else "with calibrated values (not those of this memo)"
        scores = fit_scores_text(overall)
        overrides = "" if report["as_is"] else f"<p class=note>Values: <code>{_e(' '.join(report['overrides']))}</code></p>"
        parts.append(
            f"<h3>{_e(report['folder'].name)}: {_e(what)}</h3><p class=note>{report['replicates']} runs at scale "
            f"{report['scale']}, seeds from {report['seed']}, crossings {_e(report['version'])}. {_e(scores)}.</p>"
            + overrides
        )
        if report["as_is"] and report["rows"]:
            rows = "".join(
                f"<tr><td>{_e(r['id'])}</td><td>{_e(r['use'])}</td><td>{_e(r['reported'])}</td>"
                f"<td class=num>{_e(plain_number(r['simulated_median']))}</td><td class=num>{_e(plain_number(r['simulated_p5']))} to "
                f"{_e(plain_number(r['simulated_p95']))}</td><td>{_e(r['covered'])}</td></tr>"
                for r in report["rows"]
            )
            parts.append(
                "<table><thead><tr><th>Target</th><th>Use</th><th>Reported</th><th>Simulated median</th>"
                f"<th>5–95%</th><th>Covered</th></tr></thead><tbody>{rows}</tbody></table>"
            )
    return "".join(parts) + figure_html


def memo_html(content: MemoContent) -> str:
    """The memo as HTML text (see the module docstring)."""
    numbered = {id(f): k for k, f in enumerate(content.figures, start=1)}
    by_section: dict[str, list[str]] = {}
    for figure in content.figures:
        by_section.setdefault(figure.section, []).append(_image(figure, numbered[id(figure)]))
    names = content.table.names
    figure_count = len(content.figures)
    ledes = "".join(f"<p class=lede><b>{_e(item.scenario.name)}</b>: {_e(item.scenario.description)}</p>"
                    for item in content.scenarios)
    figure_sections = [f"<h3>Baseline: {_e(names[0])}</h3>{''.join(by_section.get('baseline', []))}"]
    for name in names[1:]:
        figure_sections.append(f"<h3>{_e(name)} against {_e(names[0])}</h3>{''.join(by_section.get(name, []))}")
    notes = "".join(f"<p class=note>{_e(note)}</p>" for note in content.table.notes)
    reproducibility = "".join(f"<dt>{_e(k)}</dt><dd>{_e(v)}</dd>" for k, v in content.reproducibility)
    reuse = (f"{content.runs_made} runs made, {content.runs_reused} reused from an earlier memo in the same folder"
             if content.runs_reused else f"{content.runs_made} runs")
    return f"""<!DOCTYPE html>
<html lang="en">
<head>
<meta charset="utf-8">
<meta name="viewport" content="width=device-width, initial-scale=1">
<meta name="figure-count" content="{figure_count}">
<title>{_e(content.title)}</title>
<style>{_CSS}</style>
</head>
<body>
<header><h1>{_e(content.title)}</h1>{ledes}</header>
<section id="findings">
<h2>Key findings</h2>
<p>{_e(content.method_text())}</p>
{_findings_table(content)}
{notes}
</section>
<section id="figures">
<h2>Figures</h2>
<p class="figure-count">This memo has {figure_count} figures.</p>
{''.join(figure_sections)}
</section>
<section id="assumptions">
<h2>Assumptions and sources</h2>
{_assumptions(content)}
</section>
<section id="fit">
<h2>Calibration fit</h2>
{_fit(content, ''.join(by_section.get('fit', [])))}
</section>
<section id="reproducibility">
<h2>Reproducibility</h2>
<p class=note>{_e(reuse)}. Running the command below again reuses the runs in the folder when the scenario, seed and
scale match, and gives the same numbers.</p>
<dl>{reproducibility}</dl>
</section>
</body>
</html>
"""
