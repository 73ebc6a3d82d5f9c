"""A scenario as the beslisnota's table (per category and programme line, per year, free room before and after),
written as a workbook sheet and as a Word table; no request needed."""
from __future__ import annotations

import io
from dataclasses import dataclass
from datetime import date
from decimal import Decimal

import xlsxwriter
from docx import Document
from docx.enum.section import WD_ORIENT
from docx.enum.text import WD_ALIGN_PARAGRAPH
from docx.shared import Cm, Emu, Pt

from core.dates import datum_lang
from core.money import EXCEL_EUR, ZERO, format_eur
from projects.models import CATEGORIES, LINES
from scenarios.rules import STAFFING

STAFFING_LABEL = "Ambtelijke ondersteuning JenV"


@dataclass(frozen=True)
class Row:
    label: str
    amounts: list[Decimal]
    kind: str = "row"   # "row", "total" (bold, a line above) or "free" (the free room; red below zero)


@dataclass(frozen=True)
class Table:
    title: str
    subtitle: str
    years: list[int]
    sections: list[tuple[str, list[Row]]]


def table(programme_name: str, scenario_name: str, comparison, made: date) -> Table:
    """The memo's table from a scenario's comparison (scenarios.services.compare): what it adds per year."""
    years = [r.year for r in comparison.years]

    def added(groups, labels) -> list[Row]:
        rows = [Row(labels[g.code], [g.scenario[y] - g.base[y] for y in years]) for g in groups]
        return rows + [Row("Totaal", [sum((r.amounts[i] for r in rows), ZERO) for i in range(len(years))], "total")]

    categories = {STAFFING: STAFFING_LABEL, **CATEGORIES}
    free = [
        Row("Beschikbaar budget, wijziging", [r.available - r.base_available for r in comparison.years]),
        Row("Verplicht, wijziging", [r.committed - r.base_committed for r in comparison.years]),
        Row("Vrije ruimte vóór", [r.base_free for r in comparison.years], "free"),
        Row("Vrije ruimte na", [r.free for r in comparison.years], "free"),
    ]
    return Table(f"Beslisnota: {scenario_name}", f"{programme_name}. Scenario op de stand van {datum_lang(made)}; "
                 "bedragen in euro's, wat het scenario per jaar toevoegt (negatief: minder).", years,
                 [("Verplichtingen per categorie", added(comparison.categories, categories)),
                  ("Verplichtingen per programmalijn", added(comparison.lines, LINES)),
                  ("Budget en vrije ruimte", free)])


def xlsx(t: Table) -> bytes:
    buffer = io.BytesIO()
    wb = xlsxwriter.Workbook(buffer, {"strings_to_formulas": False, "strings_to_urls": False,
                                      "strings_to_numbers": False})
    ws = wb.add_worksheet("Beslisnota")
    bold = wb.add_format({"bold": True})
    title = wb.add_format({"bold": True, "font_size": 13, "font_color": "#154273"})
    head = wb.add_format({"bold": True, "bg_color": "#E6ECF2", "bottom": 1})
    head_num = wb.add_format({"bold": True, "bg_color": "#E6ECF2", "bottom": 1, "align": "right", "num_format": "0"})
    money = wb.add_format({"num_format": EXCEL_EUR})
    total = wb.add_format({"num_format": EXCEL_EUR, "bold": True, "top": 1})
    negative = wb.add_format({"num_format": EXCEL_EUR, "bold": True, "font_color": "#C00000", "bg_color": "#FDE9E7"})
    ws.set_column(0, 0, 38)
    ws.set_column(1, len(t.years), 16)
    ws.write_string(0, 0, t.title, title)
    ws.write_string(1, 0, t.subtitle)
    row = 3
    for name, rows in t.sections:
        ws.write_string(row, 0, name, head)
        for i, year in enumerate(t.years, start=1):
            ws.write_number(row, i, year, head_num)
        row += 1
        for r in rows:
            ws.write_string(row, 0, r.label, bold if r.kind == "total" else None)
            for i, amount in enumerate(r.amounts, start=1):
                fmt = total if r.kind == "total" else (negative if r.kind == "free" and amount < 0 else money)
                ws.write_number(row, i, float(amount), fmt)
            row += 1
        row += 1
    ws.set_landscape()
    ws.fit_to_pages(1, 0)
    wb.close()
    return buffer.getvalue()


def docx(t: Table) -> bytes:
    doc = Document()
    section = doc.sections[0]
    section.orientation = WD_ORIENT.LANDSCAPE
    section.page_width, section.page_height = Cm(29.7), Cm(21.0)
    for side in ("left_margin", "right_margin", "top_margin", "bottom_margin"):
        setattr(section, side, Cm(1.5))
    props = doc.core_properties
    props.title, props.author, props.language = t.title, "Programmamonitor", "nl-NL"
    # As the Word annex of the report (reports.word): Arial, its headings blue.
    normal = doc.styles["Normal"]
    normal.font.name, normal.font.size = "Arial", Pt(10)
    for level in ("Heading 1", "Heading 2"):
        doc.styles[level].font.name = "Arial"
    label_width = Cm(5.5)
    amount_width = Emu(int((Cm(29.7 - 3) - label_width) / len(t.years)))
    doc.add_heading(t.title, level=1)
    doc.add_paragraph(t.subtitle)
    for name, rows in t.sections:
        doc.add_heading(name, level=2)
        grid = doc.add_table(rows=1 + len(rows), cols=1 + len(t.years))
        grid.style = "Table Grid"
        grid.autofit = False
        for n, column in enumerate(grid.columns):
            # Both the grid (LibreOffice reads it) and every cell (Word does).
            column.width = label_width if n == 0 else amount_width
            for cell in column.cells:
                cell.width = column.width
        for i, year in enumerate(t.years, start=1):
            _cell(grid.cell(0, i), str(year), bold=True)
        for n, r in enumerate(rows, start=1):
            _cell(grid.cell(n, 0), r.label, bold=r.kind == "total", right=False)
            for i, amount in enumerate(r.amounts, start=1):
                _cell(grid.cell(n, i), format_eur(amount), bold=r.kind == "total" or (r.kind == "free" and amount < 0))
    buffer = io.BytesIO()
    doc.save(buffer)
    return buffer.getvalue()


def _cell(cell, text: str, bold: bool = False, right: bool = True) -> None:
    paragraph = cell.paragraphs[0]
    run = paragraph.add_run(text)
    run.bold = bold
    run.font.size = Pt(9)
    if right:
        paragraph.alignment = WD_ALIGN_PARAGRAPH.RIGHT
