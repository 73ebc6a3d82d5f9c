"""The workbook reader (python-calamine) gives the values openpyxl gives, also for parts openpyxl never writes."""
from __future__ import annotations

import io
import zipfile
from datetime import date, datetime

import openpyxl
import pytest

from imports import cells, reader
from imports.contract import SHEETS
from imports.reader import UnsafeFile
from tests.test_import import big_file, small_programme, xlsx

# What Excel itself writes and openpyxl does not: shared strings (rich text, phonetic runs),
# a prefixed namespace, a custom date style, booleans, a formula's cached text, an error, a
# row gap, cells without a reference, and a 1904 date system.
CONTENT_TYPES = (b'<?xml version="1.0" encoding="UTF-8"?><Types xmlns="http://schemas.openxmlformats.org/package/2006/'
                 b'content-types"><Default Extension="rels" ContentType="application/vnd.openxmlformats-package.'
                 b'relationships+xml"/><Default Extension="xml" ContentType="application/xml"/><Override PartName='
                 b'"/xl/workbook.xml" ContentType="application/vnd.openxmlformats-officedocument.spreadsheetml.sheet.'
                 b'main+xml"/><Override PartName="/xl/worksheets/sheet1.xml" ContentType="application/vnd.'
                 b'openxmlformats-officedocument.spreadsheetml.worksheet+xml"/><Override PartName="/xl/'
                 b'sharedStrings.xml" ContentType="application/vnd.openxmlformats-officedocument.spreadsheetml.'
                 b'sharedStrings+xml"/><Override PartName="/xl/styles.xml" ContentType="application/vnd.'
                 b'openxmlformats-officedocument.spreadsheetml.styles+xml"/></Types>')
ROOT_RELS = (b'<?xml version="1.0"?><Relationships xmlns="http://schemas.openxmlformats.org/package/2006/'
             b'relationships"><Relationship Id="rId1" Type="http://schemas.openxmlformats.org/officeDocument/2006/'
             b'relationships/officeDocument" Target="xl/workbook.xml"/></Relationships>')
WORKBOOK = (b'<?xml version="1.0"?><x:workbook xmlns:x="http://schemas.openxmlformats.org/spreadsheetml/2006/main" '
            b'xmlns:r="http://schemas.openxmlformats.org/officeDocument/2006/relationships"><x:workbookPr '
            b'date1904="%s"/><x:sheets><x:sheet name=" betalingen " sheetId="1" r:id="rId1"/></x:sheets>'
            b'</x:workbook>')
WORKBOOK_RELS = (b'<?xml version="1.0"?><Relationships xmlns="http://schemas.openxmlformats.org/package/2006/'
                 b'relationships"><Relationship Id="rId1" Type="http://schemas.openxmlformats.org/officeDocument/'
                 b'2006/relationships/worksheet" Target="worksheets/sheet1.xml"/><Relationship Id="rId2" Type="'
                 b'http://schemas.openxmlformats.org/officeDocument/2006/relationships/sharedStrings" Target="/xl/'
                 b'sharedStrings.xml"/><Relationship Id="rId3" Type="http://schemas.openxmlformats.org/'
                 b'officeDocument/2006/relationships/styles" Target="styles.xml"/></Relationships>')
STYLES = (b'<?xml version="1.0"?><styleSheet xmlns="http://schemas.openxmlformats.org/spreadsheetml/2006/main">'
          b'<numFmts count="1"><numFmt numFmtId="165" formatCode="d/m/yyyy"/></numFmts><cellStyleXfs count="1">'
          b'<xf numFmtId="14"/></cellStyleXfs><cellXfs count="4"><xf numFmtId="0"/><xf numFmtId="165"/>'
          b'<xf numFmtId="4"/><xf numFmtId="14"/></cellXfs></styleSheet>')
STRINGS = (b'<?xml version="1.0"?><sst xmlns="http://schemas.openxmlformats.org/spreadsheetml/2006/main">'
           + b"".join(b"<si><t>%s</t></si>" % s for s in (b"Kenmerk", b"Projectcode", b"Kenmerk verplichting",
                                                          b"Datum", b"Bedrag", b"Soort", b"P1", b"BS-1"))
           + b'<si><r><t>Voor</t></r><r><rPr><b/></rPr><t xml:space="preserve">schot </t></r>'
             b'<rPh sb="0" eb="1"><t>ignored</t></rPh></si></sst>')
SHEET = (b'<?xml version="1.0"?><worksheet xmlns="http://schemas.openxmlformats.org/spreadsheetml/2006/main"><sheetData>'
         b'<row r="1"><c r="A1" t="s"><v>0</v></c><c r="B1" t="s"><v>1</v></c><c r="C1" t="s"><v>2</v></c>'
         b'<c r="D1" t="s"><v>3</v></c><c r="E1" t="s"><v>4</v></c><c r="F1" t="s"><v>5</v></c></row>'
         b'<row r="2"><c r="A2" t="str"><f>"B-"&amp;1</f><v>B-1</v></c><c r="B2" t="s"><v>6</v></c>'
         b'<c r="C2" t="s"><v>7</v></c><c r="D2" s="1"><v>45689</v></c><c r="E2" s="2"><v>1500.5</v></c>'
         b'<c r="F2" t="s"><v>8</v></c></row>'
         b'<row r="5"><c t="inlineStr"><is><t>B-2</t></is></c><c t="b"><v>1</v></c><c t="e"><v>#N/A</v></c>'
         b'<c s="3"><v>45000.75</v></c><c><v>1E3</v></c><c t="inlineStr"/></row>'
         b'<row r="6"><c r="C6" t="s"><v>7</v></c></row></sheetData></worksheet>')


def excel_like(date1904: bool = False) -> bytes:
    out = io.BytesIO()
    with zipfile.ZipFile(out, "w", zipfile.ZIP_DEFLATED) as z:
        for name, content in (("[Content_Types].xml", CONTENT_TYPES), ("_rels/.rels", ROOT_RELS),
                              ("xl/workbook.xml", WORKBOOK % (b"1" if date1904 else b"0")),
                              ("xl/_rels/workbook.xml.rels", WORKBOOK_RELS), ("xl/styles.xml", STYLES),
                              ("xl/sharedStrings.xml", STRINGS), ("xl/worksheets/sheet1.xml", SHEET)):
            z.writestr(name, content)
    return out.getvalue()


def _rows(sheets):
    result = {}
    for name, sheet in sheets.items():
        rows = []
        for number, values in sheet.rows:
            values = [_plain(v) for v in values]
            while values and values[-1] is None:
                values.pop()  # both readers pad rows, each to its own width
            rows.append((number, tuple(values)))
        result[name] = (sheet.columns, sheet.missing, rows)
    return result


def _plain(value):
    """One form for what the converters treat alike: Excel keeps every number as a float, and a
    date-only format gives calamine a date where openpyxl gives midnight of that day."""
    if isinstance(value, int) and not isinstance(value, bool):
        return float(value)
    if isinstance(value, datetime) and value.time() == datetime.min.time():
        return value.date()
    return value


def _openpyxl(data: bytes):
    """What openpyxl reads: the reference the import's values have always matched."""
    workbook = openpyxl.load_workbook(io.BytesIO(data), read_only=True, data_only=True)
    try:
        by_lower = {name.strip().lower(): name for name in workbook.sheetnames}
        result = {}
        for name, headers in SHEETS.items():
            if name.lower() not in by_lower:
                continue
            grid = list(workbook[by_lower[name.lower()]].iter_rows(values_only=True))
            columns = {}
            for index, value in enumerate(grid[0] if grid else ()):
                if value is not None and str(value).strip():
                    columns.setdefault(str(value).strip().lower(), index)
            found = {h: columns[h.lower()] for h in headers if h.lower() in columns}
            rows = [(n, row) for n, row in enumerate(grid[1:], start=2)
                    if any(v is not None and (not isinstance(v, str) or v.strip()) for v in row)]
            result[name] = reader.Sheet(name, found, rows, [h for h in headers if h not in found])
        return _rows(result)
    finally:
        workbook.close()


@pytest.mark.filterwarnings("ignore:Workbook contains no default style")
@pytest.mark.parametrize("make", [lambda: xlsx(small_programme()), lambda: big_file(), lambda: excel_like(),
                                  lambda: excel_like(date1904=True)],
                         ids=["small", "5000-rows", "excel-like", "excel-like-1904"])
def test_the_reader_reads_what_openpyxl_reads(make):
    data = make()
    reader.check_xlsx(data)
    assert _rows(reader.read_workbook(data, SHEETS)) == _openpyxl(data)


@pytest.mark.filterwarnings("ignore:Workbook contains no default style")
def test_excel_like_values():
    [(columns, missing, rows)] = _rows(reader.read_workbook(excel_like(), SHEETS)).values()
    assert missing == [] and columns["Kenmerk verplichting"] == 2
    assert rows[0] == (2, ("B-1", "P1", "BS-1", date(2025, 2, 1), 1500.5, "Voorschot "))
    assert rows[1] == (5, ("B-2", True, "#N/A", datetime(2023, 3, 15, 18, 0), 1000.0))  # <c t="inlineStr"/>: None
    assert rows[2] == (6, (None, None, "BS-1"))


def _with_sheet(sheet: bytes) -> bytes:
    out = io.BytesIO()
    with zipfile.ZipFile(io.BytesIO(excel_like()), "r") as src, zipfile.ZipFile(out, "w", zipfile.ZIP_DEFLATED) as dst:
        for info in src.infolist():
            dst.writestr(info.filename, sheet if info.filename == "xl/worksheets/sheet1.xml" else src.read(info))
    return out.getvalue()


def test_a_file_calamine_cannot_read_is_refused_in_dutch_not_read_another_way():
    # Valid XML (check_xlsx passes it) that points at a shared string the file does not have.
    data = _with_sheet(SHEET.replace(b'<c r="C6" t="s"><v>7</v></c>', b'<c r="C6" t="s"><v>99</v></c>'))
    reader.check_xlsx(data)
    with pytest.raises(UnsafeFile) as refused:
        reader.read_workbook(data, SHEETS)
    assert "kon niet" in refused.value.message and "gelezen" in refused.value.message


@pytest.mark.parametrize("far", [b'<row r="1048576"><c r="XFD1048576"><v>1</v></c></row>',
                                 b"<row r='200000'><c r = 'xfd200000'><v>1</v></c></row>",
                                 b'<row r="400000">' + b"<c><v>1</v></c>" * 100 + b"</row>",
                                 b'<row r="0000000600000"><c r="A0000000600000"><v>1</v></c></row>'],
                         ids=["xfd1048576", "odd-spacing", "cells-without-reference", "leading-zeros"])
def test_a_tiny_sheet_with_a_far_cell_is_refused_before_it_is_read(far):
    # Calamine makes a dense grid up to the farthest cell: billions of cells from a few hundred bytes.
    data = _with_sheet(SHEET.replace(b"</sheetData>", far + b"</sheetData>"))
    reader.check_xlsx(data)
    with pytest.raises(UnsafeFile) as refused:
        reader.read_workbook(data, SHEETS)
    assert "Blad Betalingen" in refused.value.message


@pytest.mark.filterwarnings("ignore:Workbook contains no default style")
def test_error_cells_keep_their_excel_text_and_are_refused_by_every_converter():
    sheet = SHEET.replace(b'<c r="E2" s="2"><v>1500.5</v></c>', b'<c r="E2" t="e"><f>1/0</f><v>#DIV/0!</v></c>')
    [betalingen] = reader.read_workbook(_with_sheet(sheet), SHEETS).values()
    assert betalingen.rows[0][1][4] == "#DIV/0!"
    for convert in (cells.text, cells.amount, cells.year, cells.day):
        with pytest.raises(cells.CellError, match="Excel-fout #DIV/0!"):
            convert(betalingen.rows[0][1][4])
