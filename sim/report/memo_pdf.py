"""The memo as a PDF, laid out with reportlab (pure pip, no browser needed).

The same content as the HTML memo, in the same order: key findings table, figures
(the PNGs at memo width), assumptions and sources, calibration fit,
reproducibility.  A4 with margins that leave exactly the figures' 6.5 in width.
The file is written to a temporary name and renamed into place.
"""

from __future__ import annotations

import os
import uuid
from pathlib import Path
from xml.sax.saxutils import escape

from reportlab.lib import colors
from reportlab.lib.pagesizes import A4
from reportlab.lib.styles import ParagraphStyle, getSampleStyleSheet
from reportlab.lib.units import inch
from reportlab.platypus import (
    Image,
    KeepTogether,
    Paragraph,
    Preformatted,
    SimpleDocTemplate,
    Spacer,
    Table,
    TableStyle,
)

from sim.report.memo import MemoContent
from sim.report.memo_html import cell_text, fit_scores_text, plain_number, policy_text
from sim.report.style import MEMO_WIDTH_IN

__all__ = ["write_memo_pdf"]

_MARGIN = (A4[0] - MEMO_WIDTH_IN * inch) / 2


def _styles() -> dict[str, ParagraphStyle]:
    base = getSampleStyleSheet()
    return {
        "title": ParagraphStyle("title", parent=base["Title"], fontSize=16, leading=19, alignment=0),
        "h2": ParagraphStyle("h2", parent=base["Heading2"], fontSize=12.5, spaceBefore=12, keepWithNext=1),
        "h3": ParagraphStyle("h3", parent=base["Heading3"], fontSize=10.5, spaceBefore=8, keepWithNext=1),
        "body": ParagraphStyle("body", parent=base["BodyText"], fontSize=9, leading=12),
        "note": ParagraphStyle("note", parent=base["BodyText"], fontSize=8, leading=10, textColor=colors.HexColor("#555555")),
        "cell": ParagraphStyle("cell", parent=base["BodyText"], fontSize=7.5, leading=9),
        "num": ParagraphStyle("num", parent=base["BodyText"], fontSize=7.5, leading=9, alignment=2),
        "pre": ParagraphStyle("pre", parent=base["Code"], fontSize=6, leading=7.4),
    }


def _p(text: str, style: ParagraphStyle) -> Paragraph:
    return Paragraph(escape(text), style)


def _findings(content: MemoContent, st: dict[str, ParagraphStyle]) -> Table:
    names = content.table.names
    header = ["Measure", *names, *(f"{n} − {names[0]}" for n in names[1:])]
    data = [[_p(header[0], st["cell"]), *(_p(h, st["num"]) for h in header[1:])]]
    section_rows = []
    for section in content.table.sections():
        section_rows.append(len(data))
        data.append([_p(section, st["cell"])] + [""] * (len(header) - 1))
        for row in (r for r in content.table.rows if r.section == section):
            cells = []
            for k, cell in enumerate([*row.scenarios, *row.differences]):
                mean, interval = cell_text(cell, row.unit, signed=k >= len(names))
                cells.append(Paragraph(f"{escape(mean)}<br/><font size=6 color='#555555'>{escape(interval)}</font>",
                                       st["num"]))
            data.append([_p(row.label, st["cell"]), *cells])
    first = 2.1 * inch
    rest = (MEMO_WIDTH_IN * inch - first) / (len(header) - 1)
    table = Table(data, colWidths=[first] + [rest] * (len(header) - 1), repeatRows=1)
    commands = [
        ("LINEBELOW", (0, 0), (-1, 0), 1, colors.HexColor("#888888")),
        ("LINEBELOW", (0, 1), (-1, -1), 0.25, colors.HexColor("#DDDDDD")),
        ("VALIGN", (0, 0), (-1, -1), "TOP"),
    ]
    for r in section_rows:
        commands += [("SPAN", (0, r), (-1, r)), ("BACKGROUND", (0, r), (-1, r), colors.HexColor("#F0F0F0"))]
    table.setStyle(TableStyle(commands))
    return table


def _figure(path: Path, caption: str, number: int, st: dict[str, ParagraphStyle]) -> KeepTogether:
    image = Image(str(path))
    scale = MEMO_WIDTH_IN * inch / image.imageWidth
    image.drawWidth, image.drawHeight = image.imageWidth * scale, image.imageHeight * scale
    # A figure taller than the page is shrunk to fit, keeping its proportions.
    room = A4[1] - 2 * 0.8 * inch - 40
    if image.drawHeight > room:
        factor = room / image.drawHeight
        image.drawWidth, image.drawHeight = image.drawWidth * factor, image.drawHeight * factor
    return KeepTogether([image, Paragraph(f"<b>Figure {number}.</b> {escape(caption)}", st["note"]), Spacer(1, 8)])


def write_memo_pdf(content: MemoContent, path: Path) -> Path:
    """Write the memo's PDF to ``path`` atomically and return ``path``."""
    st = _styles()
    story: list = [_p(content.title, st["title"])]
    for item in content.scenarios:
        story.append(Paragraph(f"<b>{escape(item.scenario.name)}</b>: {escape(item.scenario.description)}", st["body"]))
    story += [
        _p("Key findings", st["h2"]),
        _p(content.method_text(), st["body"]),
        _findings(content, st),
    ]
    story += [_p(note, st["note"]) for note in content.table.notes]
    numbers = {id(f): k for k, f in enumerate(content.figures, start=1)}
    story += [_p("Figures", st["h2"]), _p(f"This memo has {len(content.figures)} figures.", st["body"])]
    for section, heading in [("baseline", f"Baseline: {content.table.names[0]}"),
                             *((n, f"{n} against {content.table.names[0]}") for n in content.table.names[1:])]:
        mine = [f for f in content.figures if f.section == section]
        if mine:
            story.append(_p(heading, st["h3"]))
            story += [_figure(f.path, f.caption, numbers[id(f)], st) for f in mine]

    story.append(_p("Assumptions and sources", st["h2"]))
    for k, (item, header) in enumerate(zip(content.scenarios, content.headers)):
        s = item.scenario
        story.append(_p(f"{'Baseline' if k == 0 else 'Policy'}: {s.name}", st["h3"]))
        story.append(_p(s.description, st["body"]))
        story.append(_p(f"{s.period.start} to {s.period.end}; {len(s.origins)} origins, {len(s.crossings)} crossings, "
                        f"{len(s.countries)} destination countries. File: {content.files[k]}.", st["note"]))
        for policy in s.policies:
            data = policy.model_dump(mode="json", by_alias=True, exclude_none=True)
            when = f"{data.get('from', s.period.start)} to {data.get('until', 'the end')}"
            story.append(_p(f"• {data.get('id', '')} ({data['kind']}, {when}): {policy_text(data)}", st["note"]))
        if header:
            story.append(Preformatted(header, st["pre"], maxLineLength=150))
    if content.targets is not None:
        t = content.targets
        story.append(_p("Reported figures", st["h3"]))
        story.append(_p(f"{t['count']} reported figures in {t['path']} ({t['fit']} used in calibration), from: "
                        + "; ".join(t["sources"]) + ".", st["body"]))
    elif content.targets_note:
        story.append(_p("Reported figures", st["h3"]))
        story.append(_p(content.targets_note + ".", st["note"]))

    story.append(_p("Calibration fit", st["h2"]))
    if not content.fit.found:
        story.append(_p(content.fit.message, st["body"]))
    for report in content.fit.found:
        overall = report["overall"]
        what = "the scenario as it is" if report["as_is"] else "with calibrated values"
        scores = fit_scores_text(overall)
        story.append(_p(f"{report['folder'].name} ({what}): {report['replicates']} runs at scale {report['scale']}. "
                        f"{scores}.", st["body"]))
        if report["as_is"] and report["rows"]:
            header = ["Target", "Use", "Reported", "Simulated median", "5–95%", "Covered"]
            rows = [[_p(h, st["cell"]) for h in header]] + [
                [_p(str(r["id"]), st["cell"]), _p(str(r["use"]), st["cell"]), _p(str(r["reported"]), st["cell"]),
                 _p(plain_number(r["simulated_median"]), st["num"]),
                 _p(f"{plain_number(r['simulated_p5'])} to {plain_number(r['simulated_p95'])}", st["num"]),
                 _p(str(r["covered"]), st["cell"])]
                for r in report["rows"]
            ]
            widths = [1.6, 0.5, 1.2, 1.1, 1.4, 0.7]
            table = Table(rows, colWidths=[w * inch for w in widths], repeatRows=1)
            table.setStyle(TableStyle([("LINEBELOW", (0, 0), (-1, 0), 1, colors.HexColor("#888888")),
                                       ("LINEBELOW", (0, 1), (-1, -1), 0.25, colors.HexColor("#DDDDDD"))]))
            story.append(table)
    for figure in (f for f in content.figures if f.section == "fit"):
        story.append(_figure(figure.path, figure.caption, numbers[id(figure)], st))

    story.append(_p("Reproducibility", st["h2"]))
    rows = [[_p(k, st["cell"]), _p(v, st["cell"])] for k, v in content.reproducibility]
    table = Table(rows, colWidths=[1.9 * inch, MEMO_WIDTH_IN * inch - 1.9 * inch])
    table.setStyle(TableStyle([("VALIGN", (0, 0), (-1, -1), "TOP"),
                               ("LINEBELOW", (0, 0), (-1, -1), 0.25, colors.HexColor("#DDDDDD"))]))
    story.append(table)

    path = Path(path)
    tmp = path.with_name(f".{path.name}.{os.getpid()}.{uuid.uuid4().hex}.tmp")
    try:
        document = SimpleDocTemplate(
            str(tmp), pagesize=A4, leftMargin=_MARGIN, rightMargin=_MARGIN, topMargin=0.8 * inch,
            bottomMargin=0.8 * inch, title=content.title, author="crossings", invariant=1,
        )
        document.build(story)
        os.replace(tmp, path)
    except BaseException:
        tmp.unlink(missing_ok=True)
        raise
    return path
