"""The stand-van-zaken workbook (xlsxwriter), a pure function of ReportFrames; sheet and header names are a contract."""
from __future__ import annotations

import io
from datetime import date, datetime
from decimal import Decimal

import pandas as pd
import xlsxwriter

from core.gcpause import gc_paused
from core.metrics import REPORT_SECONDS, timed
from core.money import EXCEL_EUR as EUR
from reports import APP_VERSION
from reports.excel_print import INTERN, LINE_PT, finish, lines, per_line
from reports.queries import AMOUNT_PROJECT_COLUMNS, ReportFrames
from reports.terms import TERMS

# A trailing comma scales by 1.000 on display only: the cell keeps its exact value.
KEUR = '#,##0,;-#,##0,'
PCT = "0.0%"
DATE = "dd-mm-yyyy"
HEADER_ROW = 2  # row 0: title, row 1: note, row 2: the header row (later after warnings or a banner)
#: A year past the budget stop, a check that deviates: dark red on light red, visible in print too.
RED, RED_FILL = "#C00000", "#FDE9E7"
# The default cell format (style 0) is that of plain text in a table: wrapped, at the top of its
# row. Most cells are such text (~90,000 in a 10,000-project annex); as the default they carry no
# style reference, which xlsxwriter would otherwise look up and escape per cell: a fifth of the
# workbook's write time. Every other format inherits these properties; titles turn wrapping off.
DEFAULT_FORMAT = {"font_name": "Calibri", "font_size": 11, "valign": "top", "text_wrap": True}


class _Sheet:
    """Small helper that writes one table sheet with the shared formats.

    Page set-up (A4 landscape, header and footer, print titles, frozen panes) is not done here but
    for every sheet at once in excel_print.finish; a sheet only says where its header row is.
    """

    def __init__(self, book: _Book, name: str, title: str, note: str = "", warnings=(), widths=(100,),
                 banner: str = "", wrap_note: bool = False):
        self.book, self.ws = book, book.wb.add_worksheet(name)
        self.widths = list(widths)
        # A banner (the internal version's "INTERN — niet openbaar") stands above the title; readers
        # find the header row by its first cell, so the rows below may move down by one.
        top = 0
        if banner:
            self._wide_row(0, banner, book.f_banner)
            top = 1
        self.ws.write_string(top, 0, title, book.f_title)
        if wrap_note and len(note) > sum(self.widths):
            # Wider than the table: wrapped over the table's width, so print never cuts it off.
            self._wide_row(top + 1, note, book.f_note_wrap)
        elif note:
            self.ws.write_string(top + 1, 0, note, book.f_note)
        # Warnings (a year past the budget stop) stand between the note and the table, in red, each
        # over the table's width: readers find the header row by its first cell, not by its number.
        self.header_row = top + HEADER_ROW + len(warnings)
        for i, text in enumerate(warnings):
            self._wide_row(top + HEADER_ROW + i, text, book.f_warn)
        self._tall: dict[int, int] = {}  # row -> lines its tallest text cell needs so far

    def _wide_row(self, row: int, text: str, fmt) -> None:
        """One text over the table's width; merged cells do not grow with their text, so the row is sized."""
        self.ws.set_row(row, LINE_PT * lines(text, sum(self.widths)))
        if len(self.widths) > 1:
            self.ws.merge_range(row, 0, row, len(self.widths) - 1, text, fmt)
        else:
            self.ws.write_string(row, 0, text, fmt)

    def header(self, names: list, widths: list[int]):
        self.widths = list(widths)
        for col, name in enumerate(names):
            if isinstance(name, int):
                self.ws.write_number(self.header_row, col, name, self.book.f_head_num)
            else:
                self.ws.write_string(self.header_row, col, str(name), self.book.f_head)
        for col, width in enumerate(widths):
            self.ws.set_column(col, col, width)
        self.ws.set_row(self.header_row, LINE_PT * max(lines(str(n), w) for n, w in zip(names, widths)))
        self.book.header_rows[self.ws.name] = self.header_row

    def cell(self, row: int, col: int, value, kind: str = "text", bold: bool = False, red: bool = False):
        """Write one value; text is always a string cell, so '=...' never becomes a formula."""
        fmt = self.book.fmt(kind, bold, red)
        r = self.header_row + 1 + row
        if value is None or (kind != "text" and isinstance(value, float) and pd.isna(value)):
            self.ws.write_blank(r, col, None, fmt)
        elif kind in ("eur", "keur", "pct", "int"):
            # Excel stores doubles; the cent-exact Decimal is converted only at this boundary. A
            # percentage is already rounded to 0,1 % (core.money.share): the 0.0% format shows it
            # as it is, so Excel never rounds it a second time.
            self.ws.write_number(r, col, float(value), fmt)
        elif kind == "date":
            self.ws.write_datetime(r, col, datetime.combine(value, datetime.min.time()), fmt)
        else:
            text = str(value)
            self.ws.write_string(r, col, text, fmt)
            # Wrapped text needs a taller row: Excel and LibreOffice keep the default height otherwise,
            # and the lines run over the row below. The row is still open (constant_memory writes a
            # row out only when the next one starts), so its height can be set after its cells.
            n = lines(text, self.widths[col]) if col < len(self.widths) else 1
            if n > self._tall.get(r, 1):
                self._tall[r] = n
                self.ws.set_row(r, LINE_PT * n)


class _Book:
    def __init__(self, buffer, thousands: bool):
        # Belt and braces: even write() would not turn text into formulas or links. constant_memory
        # streams each finished row to a temporary file, so a 10,000-project annex is never held
        # as cell objects; every sheet therefore writes its rows top to bottom.
        self.wb = xlsxwriter.Workbook(buffer, {"constant_memory": True, "strings_to_formulas": False,
                                               "strings_to_urls": False, "strings_to_numbers": False,
                                               "default_format_properties": DEFAULT_FORMAT})
        self.thousands = thousands
        self.f_title = self.wb.add_format({"bold": True, "font_size": 13, "font_color": "#154273",
                                           "text_wrap": False})
        self.f_note = self.wb.add_format({"italic": True, "font_color": "#555555", "text_wrap": False})
        self.f_note_wrap = self.wb.add_format({"italic": True, "font_color": "#555555", "text_wrap": True,
                                               "valign": "top"})
        self.f_head = self.wb.add_format({"bold": True, "bg_color": "#E6ECF2", "bottom": 1, "text_wrap": True,
                                          "valign": "top"})
        self.f_head_num = self.wb.add_format({"bold": True, "bg_color": "#E6ECF2", "bottom": 1, "num_format": "0",
                                              "align": "right"})
        self.f_warn = self.wb.add_format({"bold": True, "font_color": RED, "bg_color": RED_FILL, "text_wrap": True,
                                          "valign": "top", "border": 1, "border_color": RED})
        self.f_banner = self.wb.add_format({"bold": True, "font_size": 13, "font_color": "#FFFFFF",
                                            "bg_color": RED, "text_wrap": True, "valign": "vcenter"})
        self._formats: dict = {}
        self.header_rows: dict[str, int] = {}  # sheet name -> its header row, for the print titles

    def fmt(self, kind: str, bold: bool, red: bool = False):
        if kind == "text" and not bold and not red:
            return None  # the workbook's default format
        key = (kind, bold, red)
        if key not in self._formats:
            props = {"bold": bold or red, "valign": "top"}
            if red:
                props.update(font_color=RED, bg_color=RED_FILL)
            if bold:
                props["top"] = 1
            if kind == "eur":
                props["num_format"] = EUR
            elif kind == "keur":
                props["num_format"] = KEUR
            elif kind == "pct":
                props["num_format"] = PCT
            elif kind == "int":
                props["num_format"] = "0"
            elif kind == "date":
                props["num_format"] = DATE
            else:
                props["text_wrap"] = True
            self._formats[key] = self.wb.add_format(props)
        return self._formats[key]


def _money_kind(book: _Book, kamer_table: bool) -> str:
    return "keur" if (book.thousands and kamer_table) else "eur"


def _title(rf: ReportFrames, what: str) -> str:
    """'<what> <year>, stand t/m <peildatum> – <programme>': the peildatum always next to the year.

    A caller whose text names the year itself ('Verplicht 2025 per ...') gets it only once.
    """
    m = rf.meta
    year = "" if str(m["year"]) in what else f" {m['year']}"
    return (f"{what}{year}, stand t/m {m['peildatum']:%d-%m-%Y} – {m['programme_name']} "
            f"({m['programme_code']})")


def _note(book: _Book, kamer_table: bool) -> str:
    if book.thousands and kamer_table:
        return "Bedragen x € 1.000 (afgerond bij weergave; de cellen bevatten exacte bedragen)."
    return "Bedragen in euro."


@gc_paused
@timed(REPORT_SECONDS, format="xlsx")
def build_workbook(rf: ReportFrames) -> bytes:
    """The workbook as bytes: Samenvatting, Per categorie, Per programmalijn, Matrix, Projecten,
    Mutaties, Per instrument, Mutatieoverzicht, Verloop verplichtingen, Controles, Verantwoording, Toelichting."""
    buffer = io.BytesIO()
    book = _Book(buffer, rf.meta.get("thousands", False))
    _summary(book, rf)
    _groups(book, rf, "Per categorie", "Categorie", rf.categories, "Stand per categorie", {"Totaal"})
    _groups(book, rf, "Per programmalijn", "Programmalijn", rf.lines, "Stand per programmalijn",
            {"Totaal projecten"})
    _matrix(book, rf)
    if rf.projects is not None:
        _projects(book, rf)
    _mutations(book, rf)
    from reports import excel_budgetdocs  # it builds on this module's sheet helpers

    excel_budgetdocs.write(book, rf)
    _controls(book, rf)
    _accountability(book, rf)
    _terms(book, rf)
    # Last, over every sheet however it was made: the one place for the print set-up.
    finish(book.wb, rf.meta, book.header_rows, HEADER_ROW)
    book.wb.close()
    return buffer.getvalue()


def _warnings(rf: ReportFrames) -> list[str]:
    return [f"Let op: {note}" for _y, note in sorted(rf.overruns.items())]


#: The Samenvatting rows marked red in a year whose free room is negative.
OVERRUN_ROWS = ("Vrije ruimte", "% verplicht")


def _summary(book: _Book, rf: ReportFrames) -> None:
    years = list(rf.summary.columns)
    widths = [34] + [16] * len(years)
    note = " ".join([_note(book, True), *rf.summary_notes])
    sh = _Sheet(book, "Samenvatting", _title(rf, "Stand van zaken besteding middelen"), note,
                warnings=_warnings(rf), widths=widths, banner=INTERN if rf.meta["internal"] else "", wrap_note=True)
    sh.header(["Omschrijving"] + years, widths)
    bold_rows = {"Beschikbaar budget", "Verplicht totaal", "Vrije ruimte"}
    for r, label in enumerate(rf.summary.index):
        bold = label in bold_rows
        sh.cell(r, 0, label, "text", bold)
        kind = "pct" if label.startswith("%") else _money_kind(book, True)
        for c, y in enumerate(years, start=1):
            sh.cell(r, c, rf.summary.loc[label, y], kind, bold, red=label in OVERRUN_ROWS and y in rf.overruns)


def _groups(book, rf, name, first, df: pd.DataFrame, title, totals: set) -> None:
    sh = _Sheet(book, name, _title(rf, title), _note(book, True))
    sh.header([first] + list(df.columns), [34, 12, 16, 16, 16])
    money = _money_kind(book, True)
    for r, label in enumerate(df.index):
        bold = label in totals
        sh.cell(r, 0, label, "text", bold)
        for c, col in enumerate(df.columns, start=1):
            sh.cell(r, c, df.loc[label, col], "int" if col == "Aantal projecten" else money, bold)


def _matrix(book, rf) -> None:
    sh = _Sheet(book, "Matrix", _title(rf, "Verplicht per categorie en programmalijn"),
                _note(book, True))
    df = rf.matrix
    sh.header(["Categorie"] + list(df.columns), [24] + [18] * len(df.columns))
    money = _money_kind(book, True)
    for r, label in enumerate(df.index):
        bold_row = label == "Totaal"
        sh.cell(r, 0, label, "text", bold_row)
        for c, col in enumerate(df.columns, start=1):
            sh.cell(r, c, df.loc[label, col], money, bold_row or col == "Totaal")


# Narrow enough that the public annex fits A4 landscape at about 70 % (the internal one, three columns
# wider, at about 55 %): long texts wrap and their rows grow instead.
_PROJECT_WIDTHS = {"Projectcode": 10, "Project": 26, "Categorie": 11, "Programmalijn": 13,
                   "Vormen van uitbuiting": 16, "Uitvoerende organisatie": 20, "Instrument": 13,
                   "Looptijd": 11, "Status": 11, "Toelichting": 32, "Projectleider": 14, "Contactpersoon": 18,
                   "Interne notitie": 24}
#: An amount column: '€ 12.345.678,90' in euros, '12.346' in thousands.
_AMOUNT_WIDTH = {False: 14, True: 10}


def _projects(book, rf) -> None:
    df = rf.projects
    version = "interne versie" if rf.meta["internal"] else "openbare versie"
    sh = _Sheet(book, "Projecten", _title(rf, f"Bijlage projectenoverzicht ({version})"),
                f"Verplicht en Gerealiseerd: {rf.meta['year']}; Verplicht totaal: alle jaren. "
                + _note(book, True))
    widths = [_AMOUNT_WIDTH[book.thousands] if c in AMOUNT_PROJECT_COLUMNS else _PROJECT_WIDTHS.get(c, 16)
              for c in df.columns]
    sh.header(list(df.columns), widths)
    money = _money_kind(book, True)
    # The annex is the bulk of the workbook: it is written a run of same-kind columns at a time,
    # text always a string cell and amounts a number, as in _Sheet.cell; an empty text is no cell at all.
    # The workbook has strings_to_formulas/urls/numbers off, so write_row writes text as text.
    ws, names = sh.ws, list(df.columns)
    runs: list[tuple[int, int, bool]] = []  # (first column, end column, amounts?)
    for c, col in enumerate(names):
        amount = col in AMOUNT_PROJECT_COLUMNS
        if runs and runs[-1][2] == amount:
            runs[-1] = (runs[-1][0], c + 1, amount)
        else:
            runs.append((c, c + 1, amount))
    runs = [(a, b, amount, book.fmt(money if amount else "text", False)) for a, b, amount in runs]
    columns = [df[col].tolist() for col in names]
    # Cells column by column, as they are written: amounts a float (None when missing), texts a str.
    cells = [[None if v is None or (v.__class__ is float and pd.isna(v)) else float(v) for v in values]
             if col in AMOUNT_PROJECT_COLUMNS else
             [v if v is None or v.__class__ is str else str(v) for v in values]
             for col, values in zip(names, columns)]
    # Each row as tall as its longest wrapped text (excel_print.lines, inlined: this is the one loop that
    # grows with the portfolio): extra lines per text column, then the largest per row.
    extra = [[(len(v) - 1) // per + v.count("\n") if v else 0 for v in cells[c]]
             for c, per in ((c, per_line(widths[c])) for c, col in enumerate(names)
                            if col not in AMOUNT_PROJECT_COLUMNS)]
    tall = list(map(max, *extra)) if len(extra) > 1 else extra[0]
    for (r, values), more in zip(enumerate(zip(*cells), start=sh.header_row + 1), tall):
        if more:
            ws.set_row(r, LINE_PT * (more + 1))
        for first, end, amount, fmt in runs:
            part = values[first:end]
            if amount or all(part):
                ws.write_row(r, first, part, fmt)
            else:
                # Empty texts stay empty cells (no formatted blanks): the annex has many.
                for c, v in enumerate(part, start=first):
                    if v:
                        ws.write_string(r, c, v, fmt)
    n = len(df)
    sh.cell(n, 0, "Totaal", "text", True)
    for col in AMOUNT_PROJECT_COLUMNS:
        sh.cell(n, names.index(col), sum(columns[names.index(col)], Decimal("0.00")), money, True)
    sh.ws.autofilter(sh.header_row, 0, sh.header_row + n, len(df.columns) - 1)


def _mutations(book, rf) -> None:
    df = rf.mutations
    sh = _Sheet(book, "Mutaties", _title(rf, "Begrotingsmutaties"), "Bedragen in euro.")
    sh.header(list(df.columns), [12, 16, 18, 16, 50, 24])
    for r, row in enumerate(df.itertuples(index=False)):
        for c, col in enumerate(df.columns):
            sh.cell(r, c, row[c], {"Datum": "date", "Bedrag": "eur"}.get(col, "text"))
    n = len(df)
    sh.cell(n, 0, "Totaal", "text", True)
    sh.cell(n, 3, sum(df["Bedrag"], Decimal("0.00")), "eur", True)


def _controls(book, rf) -> None:
    df = rf.controls
    widths = [70, 12, 18, 18]
    sh = _Sheet(book, "Controles", _title(rf, "Controles"),
                "Aansluitcontroles vergelijken twee bedragen uit afzonderlijke berekeningen; regelcontroles "
                "toetsen de vrije ruimte per jaar en de betalingen per verplichting.",
                warnings=_warnings(rf), widths=widths)
    sh.header(list(df.columns), widths)
    for r, row in enumerate(df.itertuples(index=False)):
        bad = row[1] != "OK"
        sh.cell(r, 0, row[0], red=bad)
        sh.cell(r, 1, row[1], "text", red=bad)  # red is bold already; bold would add a total's top border
        kind = "int" if isinstance(row[2], int) else "eur"
        sh.cell(r, 2, row[2], kind, red=bad)
        sh.cell(r, 3, row[3], kind, red=bad)


def _audit_head(head: dict | None) -> str:
    # What `flask --app app audit verify --kop ID:HASH` takes: whoever holds this report can check the trail.
    return f"regel {head['id']}, hash {head['hash']}" if head else "niet vastgelegd"


def _accountability(book, rf) -> None:
    m = rf.meta
    snap = m.get("snapshot")
    sh = _Sheet(book, "Verantwoording", _title(rf, "Verantwoording van de rapportage"))
    sh.header(["Gegeven", "Waarde"], [28, 70])
    rows = [
        ("Programma", f"{m['programme_name']} ({m['programme_code']})"),
        ("Ministerie", m["ministry"]),
        ("Begrotingsartikel", m["budget_article"]),
        ("Jaar", m["year"]),
        ("Peildatum", m["peildatum"]),
        ("Gemaakt op" if not snap else "Stand vastgelegd op", m["made_at"].strftime("%d-%m-%Y %H:%M:%S %z")),
        ("Versie", "intern (bevat persoonsgegevens; niet openbaar maken)" if m["internal"] else "openbaar"),
        ("Bedragen", "x € 1.000 in de Kamertabellen (exacte bedragen in de cellen)" if m["thousands"]
         else "in euro"),
        ("Snapshot", f"{snap['id']}: {snap['title']}" if snap else "geen (actuele stand)"),
        ("Kamerstuk", (snap or {}).get("kamerstuk") or ""),
        ("Snapshot-hash (sha256)", snap["sha256"] if snap else ""),
        ("Audittrail (kop)", _audit_head(m.get("audit_head"))),
        ("Applicatieversie", f"Programmamonitor {APP_VERSION}"),
    ]
    rows += [(f"Periode heropend op {e['at']:%d-%m-%Y}", e["text"]) for e in m["reopened"]]
    from reports import excel_budgetdocs

    rows += excel_budgetdocs.accountability_rows(rf)
    for r, (label, value) in enumerate(rows):
        sh.cell(r, 0, label, "text", True)
        if isinstance(value, date):
            sh.cell(r, 1, value, "date")
        elif isinstance(value, int):
            sh.cell(r, 1, value, "int")
        else:
            sh.cell(r, 1, value)


def _terms(book, rf) -> None:
    """The Begrippen (reports.terms, the same wording as the page and the HTML) for a reader of the tables."""
    widths = [22, 90]
    sh = _Sheet(book, "Toelichting", _title(rf, "Begrippen bij de stand van zaken"),
                "Zo zijn de bedragen in dit werkboek bepaald.", widths=widths)
    sh.header(["Begrip", "Omschrijving"], widths)
    for r, (term, text) in enumerate(TERMS):
        sh.cell(r, 0, term, "text", True)
        sh.cell(r, 1, text)
