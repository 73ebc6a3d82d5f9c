"""The project list as a download: .csv for Dutch Excel (BOM, ';', decimal comma, d-m-jjjj) and .xlsx."""
from __future__ import annotations

import csv
import io
from datetime import date, datetime
from decimal import Decimal

from core.money import EXCEL_EUR as EUR
from core.money import ZERO
from projects.models import CATEGORIES, EXPLOITATION_FORMS, LINES, STATUSES
from projects.queries import form_codes

#: Headers of both files. The public version holds no personal data of civil servants (DESIGN.md); the
#: internal one (finance roles, ?versie=intern) adds what the internal report adds (reports.queries).
PUBLIC_COLUMNS = ["Code", "Titel", "Categorie", "Programmalijn", "Organisatie", "Vormen van uitbuiting", "Status",
                  "Startdatum", "Einddatum", "Verplicht", "Betaald", "Resterend"]
INTERNAL_COLUMNS = PUBLIC_COLUMNS + ["Projectleider", "Contactpersoon", "Interne notitie"]
MONEY_COLUMNS = ("Verplicht", "Betaald", "Resterend")
DATE_COLUMNS = ("Startdatum", "Einddatum")

# A spreadsheet runs a cell that starts with one of these as a formula ("CSV injection"); a leading
# apostrophe makes it text, as Excel itself writes it.
_FORMULA_START = ("=", "+", "-", "@", "\t", "\r")


def table(rows, internal: bool) -> tuple[list[str], list[list]]:
    """(headers, values) of the list rows (Project, vormen, verplicht, betaald, resterend): text, date, Decimal, None."""
    headers = INTERNAL_COLUMNS if internal else PUBLIC_COLUMNS
    values = []
    for project, forms, committed, paid, remaining in rows:
        row = [project.code, project.title, CATEGORIES[project.category], LINES[project.line],
               project.organisation.name if project.organisation else "",
               ", ".join(EXPLOITATION_FORMS[f] for f in form_codes(forms)), STATUSES[project.status],
               project.start_date, project.end_date, committed, paid, remaining]
        if internal:
            row += [project.owner.name if project.owner else "", project.contact_person, project.internal_notes]
        values.append(row)
    return headers, values


def _csv_cell(value) -> str:
    if value is None:
        return ""
    if isinstance(value, Decimal):
        # Dutch Excel reads a decimal comma; no thousands separator, so no reader mistakes it for one.
        return format(value, "f").replace(".", ",")
    if isinstance(value, date):
        return f"{value.day}-{value.month}-{value.year}"
    text = str(value)
    return "'" + text if text.startswith(_FORMULA_START) else text


def csv_bytes(data: tuple[list[str], list[list]]) -> bytes:
    """UTF-8 with a BOM (so Excel does not read it as Windows-1252), ';'-separated, no totals row."""
    headers, values = data
    out = io.StringIO()
    writer = csv.writer(out, delimiter=";", lineterminator="\r\n")
    writer.writerow(headers)
    writer.writerows([_csv_cell(v) for v in row] for row in values)
    return ("\ufeff" + out.getvalue()).encode("utf-8")


def totals(data: tuple[list[str], list[list]]) -> dict[str, Decimal]:
    headers, values = data
    return {name: sum((row[headers.index(name)] for row in values), ZERO) for name in MONEY_COLUMNS}


def xlsx_bytes(data: tuple[list[str], list[list]], programme_name: str, internal: bool) -> bytes:
    """One sheet 'Projecten': the header row, a row per project and a bold 'Totaal' row; a 'Toelichting' sheet."""
    import xlsxwriter

    headers, values = data
    buffer = io.BytesIO()
    # Text stays text: never a formula, link or number, whatever a title starts with.
    book = xlsxwriter.Workbook(buffer, {"strings_to_formulas": False, "strings_to_urls": False,
                                        "strings_to_numbers": False})
    head = book.add_format({"bold": True, "bg_color": "#E6ECF2", "bottom": 1, "text_wrap": True, "valign": "top"})
    eur = book.add_format({"num_format": EUR, "valign": "top"})
    eur_total = book.add_format({"num_format": EUR, "bold": True, "top": 1})
    bold = book.add_format({"bold": True, "top": 1})
    day = book.add_format({"num_format": "d-m-yyyy", "valign": "top"})
    sheet = book.add_worksheet("Projecten")
    widths = {"Code": 12, "Titel": 50, "Organisatie": 30, "Vormen van uitbuiting": 30, "Interne notitie": 40}
    for col, name in enumerate(headers):
        sheet.write_string(0, col, name, head)
        sheet.set_column(col, col, widths.get(name, 16 if name in MONEY_COLUMNS else 14))
    for r, row in enumerate(values, start=1):
        for col, value in enumerate(row):
            if value is None:
                continue
            if isinstance(value, Decimal):
                # Excel stores doubles: the cent-exact Decimal is converted only here, as in reports.excel.
                sheet.write_number(r, col, float(value), eur)
            elif isinstance(value, date):
                sheet.write_datetime(r, col, datetime.combine(value, datetime.min.time()), day)
            else:
                sheet.write_string(r, col, str(value))
    last = len(values) + 1
    sheet.write_string(last, 0, "Totaal", bold)
    for name, amount in totals(data).items():
        sheet.write_number(last, headers.index(name), float(amount), eur_total)
    sheet.freeze_panes(1, 1)
    sheet.autofilter(0, 0, max(len(values), 1), len(headers) - 1)
    note = book.add_worksheet("Toelichting")
    note.set_column(0, 0, 20)
    note.set_column(1, 1, 90)
    for r, (label, text) in enumerate([
            ("Programma", programme_name),
            ("Gemaakt op", f"{date.today():%d-%m-%Y}"),
            ("Versie", "Intern: niet openbaar maken (met persoonsgegevens)." if internal
             else "Openbaar: zonder persoonsgegevens."),
            ("Bedragen", ("In euro. Verplicht = verplichtingen met hun bijstellingen; Betaald = betalingen; "
                          "Resterend = verplicht − betaald. Alle geboekte bedragen, ongeacht hun datum.")),
            ("Projecten", f"{len(values)}, gefilterd en gesorteerd zoals de projectenlijst.")]):
        note.write_string(r, 0, label, head)
        note.write_string(r, 1, text)
    book.close()
    return buffer.getvalue()
