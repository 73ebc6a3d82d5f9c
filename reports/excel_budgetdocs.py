"""The workbook's sheets after the budget documents: Per instrument, Mutatieoverzicht, Verloop verplichtingen."""
from __future__ import annotations

from reports.budgetdocs import MOMENT_LEAD, MOMENT_TAIL, TOTAL
from reports.budgetdocs_frames import stand_label
from reports.excel import _money_kind, _note, _Sheet, _title

SHEETS = ("Per instrument", "Mutatieoverzicht", "Verloop verplichtingen")
NOTE_ROW = 1  # the row under the title (excel._Sheet's note row)


def _sheet(book, name: str, title: str, note: str, widths: list[int]) -> _Sheet:
    """A sheet whose note explains the table: wrapped over the table's width, as tall as the text needs."""
    sh = _Sheet(book, name, title, widths=widths)
    key = ("budgetdocs", "note")
    if key not in book._formats:
        book._formats[key] = book.wb.add_format({"italic": True, "font_color": "#555555", "text_wrap": True,
                                                 "valign": "top"})
    # About one line per table width in characters (a merged cell does not grow with its text).
    sh.ws.set_row(NOTE_ROW, 15 * (1 + len(note) // sum(widths)))
    sh.ws.merge_range(NOTE_ROW, 0, NOTE_ROW, len(widths) - 1, note, book._formats[key])
    return sh


def _lines(texts, widths) -> int:
    """How many lines the longest of a row's wrapped texts takes (about one character per unit of width)."""
    return max([1] + [-(-len(t) // max(w - 2, 1)) for t, w in zip(texts, widths) if isinstance(t, str)])


def _header(sh, names: list, widths: list[int]) -> None:
    # Wrapped header texts need a row as tall as they are: xlsxwriter does not fit rows to their text.
    sh.ws.set_row(sh.header_row, 15 * _lines([str(n) for n in names], widths))
    sh.header(names, widths)


def _fit(sh, r: int, texts, widths) -> None:
    """Give table row `r` the height its wrapped texts need (before its cells are written: constant_memory)."""
    lines = _lines(texts, widths)
    if lines > 1:
        sh.ws.set_row(sh.header_row + 1 + r, 15 * lines)


def write(book, rf) -> None:
    """The three sheets, when the report has them (a snapshot frozen before them has not)."""
    docs = rf.budgetdocs
    if docs is None:
        return
    _instruments(book, rf, docs)
    _moments(book, rf, docs)
    _verloop(book, rf, docs)


def accountability_rows(rf) -> list[tuple[str, str]]:
    """The Verantwoording's word on sheets left out: a frozen stand is never completed with live data."""
    if rf.budgetdocs is not None:
        return []
    return [("Begrotingstabellen", "De bladen " + ", ".join(SHEETS[:-1]) + f" en {SHEETS[-1]} ontbreken: deze "
             "vastgelegde stand is gemaakt voordat de rapportage ze bevatte, en een vastgelegde stand wordt nooit "
             "aangevuld met gegevens van nu.")]


def _instruments(book, rf, docs) -> None:
    df = docs.instruments
    years = list(df.columns)
    widths = [16, 40] + [16] * len(years)
    sh = _sheet(book, "Per instrument", _title(rf, "Verplicht en gerealiseerd per financieel instrument"),
                "Naar RBV-model 3.22d/1.33d. Verplicht: het kasritme van de verplichtingen voor het jaar, zoals in "
                "de Samenvatting (de in het jaar aangegane verplichtingen staan op Verloop verplichtingen); "
                "Gerealiseerd: de uitgaven in het jaar t/m de peildatum. Het instrument is dat van het project. "
                + _note(book, True), widths)
    _header(sh, ["Omschrijving", "Instrument"] + years, widths)
    money = _money_kind(book, True)
    for r, ((measure, instrument), values) in enumerate(df.iterrows()):
        bold = instrument == TOTAL
        sh.cell(r, 0, measure, "text", bold)
        sh.cell(r, 1, instrument, "text", bold)
        for c, y in enumerate(years, start=2):
            sh.cell(r, c, values[y], money, bold)


def _moments(book, rf, docs) -> None:
    df = docs.moments
    years = [c for c in df.columns if c not in MOMENT_LEAD + MOMENT_TAIL]
    widths = [50, 14, 12] + [16] * len(years) + [30]
    sh = _sheet(book, "Mutatieoverzicht", _title(rf, "Mutatieoverzicht: het budget per begrotingsmoment"),
                "Naar RBV-model 2.28 (suppletoire begrotingen). Elke stand is de vorige plus de mutaties erboven: "
                "die van dat begrotingsmoment t/m de peildatum, met hun toelichting; een kasschuif is één regel. "
                "De toekenningen tellen zoals ze op de peildatum stonden. Interne mutaties staan in geen "
                "begrotingsstuk en komen na de slotwet; de laatste regel is het Beschikbaar budget van de "
                "Samenvatting. " + _note(book, True), widths)
    _header(sh, list(df.columns), widths)
    money = _money_kind(book, True)
    stands = set(docs.stand_rows)
    for r, row in enumerate(df.itertuples(index=False)):
        bold = r in stands
        _fit(sh, r, row, widths)
        for c, col in enumerate(df.columns):
            value = row[c]
            if col == "Datum":
                sh.cell(r, c, value, "date", bold)
            elif col in years:
                sh.cell(r, c, value, money, bold)
            else:
                sh.cell(r, c, value, "text", bold)


def _verloop(book, rf, docs) -> None:
    df = docs.verloop
    widths = [20] + [16] * len(df.columns)
    sh = _sheet(book, "Verloop verplichtingen",
                _title(rf, f"Verloop openstaande verplichtingen en voorschotten {rf.meta['year']}"),
                f"Stand einde = stand 1 januari + aangegaan − betaald − negatieve + positieve bijstellingen; "
                f"{stand_label(docs)}. Aangegaan: het totaal van de verplichtingen getekend in de periode; betaald "
                "is na aftrek van terugbetalingen; de vrijval na een vaststelling staat bij de negatieve "
                "bijstellingen. De reservering voor ambtelijke ondersteuning staat hier niet in: zij is geen "
                "verplichting aan derden en vervalt aan het eind van het jaar. Voorschotten: een betaald voorschot "
                "telt als openstaand tot de vaststelling van zijn subsidie; vastgesteld zijn de voorschotten van de "
                "subsidies die in de periode zijn vastgesteld. Openstaand = 1 januari + verstrekt − vastgesteld. "
                + _note(book, True), widths)
    _header(sh, ["Categorie"] + list(df.columns), widths)
    money = _money_kind(book, True)
    for r, (label, values) in enumerate(df.iterrows()):
        bold = label == TOTAL
        sh.cell(r, 0, label, "text", bold)
        for c, col in enumerate(df.columns, start=1):
            sh.cell(r, c, values[col], money, bold)
