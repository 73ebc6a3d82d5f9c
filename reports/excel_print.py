"""The workbook's print set-up: A4 landscape, one page wide, header and footer, rows tall enough for their text."""
from __future__ import annotations

#: Points per line of 11 pt Calibri, the workbook's default font (Excel's default row height).
LINE_PT = 15
#: Characters of average text per unit of column width (the width of a '0' in 11 pt Calibri).
CHARS_PER_WIDTH = 1.1
#: Characters a line loses at its end, as a word that does not fit moves whole to the next line.
WRAP_LOSS = 2
#: Excel refuses a header or footer longer than 255 characters (codes included); user text is cut well below.
_MAX_TEXT = 80
INTERN = "INTERN — niet openbaar"


def per_line(width: float) -> int:
    """Characters that fit on one line of a wrapped column `width` wide: an estimate, rather low than high."""
    return max(1, int(width * CHARS_PER_WIDTH) - WRAP_LOSS)


def lines(text: str, width: float) -> int:
    """How many lines `text` wraps to in a column `width` wide (cheap; rather one too many than too few)."""
    per = per_line(width)
    return sum((len(part) - 1) // per + 1 for part in text.split("\n"))


def _escape(text: str) -> str:
    """User text in a header or footer: '&' starts a code there, '&&' is a literal ampersand."""
    text = " ".join(str(text).split())
    if len(text) > _MAX_TEXT:
        text = text[:_MAX_TEXT - 1] + "…"
    return text.replace("&", "&&")


def header_text(meta: dict) -> str:
    """Programme on the left, year and peildatum in the middle, INTERN (bold) or the sheet's name on the right."""
    programme = _escape(f"{meta['programme_name']} ({meta['programme_code']})")
    middle = f"Stand van zaken {meta['year']}, stand t/m {meta['peildatum']:%d-%m-%Y}"
    right = f'&"-,Bold"{INTERN}' if meta["internal"] else "&A"
    return f"&L{programme}&C{middle}&R{right}"


def footer_text(meta: dict) -> str:
    """Where the figures come from on the left (the snapshot, or when they were made), the page on the right."""
    snap = meta.get("snapshot")
    if snap:
        source = (f"Vastgelegde stand {snap['id']}: {_escape(snap['title'])}, vastgelegd op "
                  f"{meta['made_at']:%d-%m-%Y %H:%M}")
    else:
        source = f"Gemaakt op {meta['made_at']:%d-%m-%Y %H:%M}"
    return f"&L{source}&RPagina &P van &N"


def finish(workbook, meta: dict, header_rows: dict[str, int], default_header_row: int) -> None:
    """Give every sheet of the workbook the same print set-up, just before it is closed.

    This is the one place for it: it walks over all worksheets, so a sheet added later (in
    reports/excel.py or in a module of its own) gets it without doing anything. Its table's
    header row is taken from `header_rows` (filled by excel._Sheet.header) or else is
    `default_header_row` (title, note, header). In constant_memory mode only cell rows are
    streamed; page set-up, panes and print titles are written at close, so this may come last.
    """
    header, footer = header_text(meta), footer_text(meta)
    for ws in workbook.worksheets():
        row = header_rows.get(ws.name, default_header_row)
        ws.set_paper(9)  # A4
        ws.set_landscape()
        ws.fit_to_pages(1, 0)  # one page wide, as many pages high as it takes
        ws.set_margins(left=0.4, right=0.4, top=0.75, bottom=0.75)
        ws.set_header(header, {"margin": 0.3})
        ws.set_footer(footer, {"margin": 0.3})
        ws.repeat_rows(row)  # the header row on every printed page
        ws.freeze_panes(row + 1, 1)  # on screen: header row and first column stay in view
