"""Reading an upload safely: content checks before parsing, then each wanted sheet's rows of raw cell values."""
from __future__ import annotations

import io
import re
import zipfile
from dataclasses import dataclass, field

import defusedxml.ElementTree as defused_et
from defusedxml import DefusedXmlException

from imports.cells import ExcelError

MAX_UPLOAD_BYTES = 20 * 1024 * 1024
#: Limits on the zip before anything parses it. A ministry's own export of 10,000 projects
#: (~220,000 payment rows) is ~10 MB zipped and ~95 MB of XML at a ratio of ~11, so the
#: limits leave it room to grow threefold; a bomb still meets the ratio first, and the XML
#: is streamed, never held whole.
MAX_ENTRIES = 500
MAX_UNCOMPRESSED_BYTES = 300 * 1024 * 1024
MAX_RATIO = 100
#: Ratios are only judged for members this big: tiny XML parts compress oddly well.
RATIO_MIN_SIZE = 1024 * 1024
#: Rows are kept in memory while the whole file is checked: twice the 10,000-project export's
#: largest sheet, and all sheets together at most MAX_ROWS_TOTAL (about 1 GB at the most).
MAX_ROWS_PER_SHEET = 500_000
MAX_ROWS_TOTAL = 1_000_000
_CHUNK = 64 * 1024

MACRO_MARKERS = ("macroenabled", "vbaproject", "vnd.ms-office.activex", "vnd.ms-excel.intl.macrosheet",
                 "vnd.ms-excel.macrosheet")


class UnsafeFile(Exception):
    """The upload is refused before parsing; `message` is Dutch and safe to show."""

    def __init__(self, message: str):
        super().__init__(message)
        self.message = message


class _NullTarget:
    """Parser target that keeps nothing: scanning only needs to know whether the XML is allowed."""

    def close(self):
        return None


def check_xlsx(data: bytes) -> None:
    """Refuse anything that is not a plain, modest .xlsx: by content, never by file name."""
    if not data:
        raise UnsafeFile("Het bestand is leeg.")
    if len(data) > MAX_UPLOAD_BYTES:
        raise UnsafeFile(f"Het bestand is groter dan {MAX_UPLOAD_BYTES // (1024 * 1024)} MB.")
    if not data.startswith(b"PK\x03\x04"):
        raise UnsafeFile("Dit is geen Excel-werkmap (.xlsx). Sla het bestand op als Excel-werkmap en probeer het opnieuw.")
    try:
        archive = zipfile.ZipFile(io.BytesIO(data))
        infos = archive.infolist()
    except (zipfile.BadZipFile, zipfile.LargeZipFile, ValueError, OSError):
        raise UnsafeFile("Het bestand is beschadigd of geen Excel-werkmap (.xlsx).") from None
    with archive:
        if len(infos) > MAX_ENTRIES:
            raise UnsafeFile(f"Het bestand bevat te veel onderdelen ({len(infos)}); dit is geen gewone werkmap.")
        names = {info.filename for info in infos}
        lowered = {n.lower() for n in names}
        if any(n.endswith("vbaproject.bin") or "activex" in n for n in lowered):
            raise UnsafeFile("Werkmappen met macro's (.xlsm) worden niet geaccepteerd. "
                             "Sla het bestand op als gewone Excel-werkmap (.xlsx).")
        if "xl/workbook.bin" in lowered:
            raise UnsafeFile("Binaire werkmappen (.xlsb) worden niet geaccepteerd; gebruik .xlsx.")
        if "[Content_Types].xml" not in names or "xl/workbook.xml" not in names:
            raise UnsafeFile("Dit is geen Excel-werkmap (.xlsx).")
        total = 0
        for info in infos:
            if info.flag_bits & 0x1:
                raise UnsafeFile("Versleutelde bestanden worden niet geaccepteerd.")
            total += info.file_size
            if total > MAX_UNCOMPRESSED_BYTES:
                raise UnsafeFile("Het uitgepakte bestand is te groot; dit lijkt een zip-bom en wordt geweigerd.")
            if info.file_size >= RATIO_MIN_SIZE and info.file_size > MAX_RATIO * max(info.compress_size, 1):
                raise UnsafeFile("Het bestand is verdacht sterk gecomprimeerd; dit lijkt een zip-bom en wordt geweigerd.")
        content_types = archive.read("[Content_Types].xml").decode("utf-8", "replace").lower()
        if any(marker in content_types for marker in MACRO_MARKERS):
            raise UnsafeFile("Werkmappen met macro's (.xlsm) worden niet geaccepteerd. "
                             "Sla het bestand op als gewone Excel-werkmap (.xlsx).")
        for info in infos:
            if info.filename.lower().endswith((".xml", ".rels")):
                _scan_xml(archive, info)


def _scan_xml(archive: zipfile.ZipFile, info: zipfile.ZipInfo) -> None:
    """Stream one XML part through defusedxml: no DTD, no entities, and never more bytes than declared."""
    parser = defused_et.DefusedXMLParser(target=_NullTarget(), forbid_dtd=True, forbid_entities=True,
                                         forbid_external=True)
    # ElementTree routes all text through a Python default handler (millions of calls on a large
    # sheet); without it expat itself refuses undefined entities, and defusedxml's DTD and entity
    # handlers stay in place.
    parser.parser.DefaultHandlerExpand = None
    seen = 0
    try:
        with archive.open(info) as stream:
            while chunk := stream.read(_CHUNK):
                seen += len(chunk)
                # The header's size may lie; the stream is the truth.
                if seen > info.file_size or seen > MAX_UNCOMPRESSED_BYTES:
                    raise UnsafeFile("Het uitgepakte bestand is groter dan opgegeven; het wordt geweigerd.")
                parser.feed(chunk)
        parser.close()
    except DefusedXmlException:
        raise UnsafeFile("Het bestand bevat XML-constructies (DTD of entiteiten) die niet zijn toegestaan; "
                         "het wordt geweigerd.") from None
    except (defused_et.ParseError, zipfile.BadZipFile, EOFError, OSError, ValueError):
        raise UnsafeFile(f"Het bestand is beschadigd (onderdeel {info.filename} is geen geldige XML).") from None


# --- Reading sheets ------------------------------------------------------------------------


@dataclass
class Sheet:
    """One sheet as header -> column index and rows of raw values with their Excel row number."""

    name: str
    columns: dict[str, int]
    rows: list[tuple[int, tuple]] = field(default_factory=list)
    missing: list[str] = field(default_factory=list)


def read_workbook(data: bytes, wanted: dict[str, list[str]]) -> dict[str, Sheet]:
    """Read the wanted sheets (cached values, not formulas) that the workbook has, with python-calamine.

    Sheet and header names match without regard to case or surrounding spaces; empty rows
    are skipped; `Sheet.missing` names headers the sheet lacks. Call check_xlsx first. A
    file calamine cannot read is refused with a Dutch UnsafeFile; there is no second reader.
    """
    import python_calamine

    archive = zipfile.ZipFile(io.BytesIO(data))
    try:
        parts = _sheet_parts(archive)
        workbook = python_calamine.CalamineWorkbook.from_filelike(io.BytesIO(data))
    except UnsafeFile:
        raise
    except Exception:  # calamine and a broken part raise many kinds; all mean the same to the user
        raise UnsafeFile(_UNREADABLE) from None
    with archive, workbook:
        sheets: dict[str, Sheet] = {}
        total = 0
        by_lower = {name.strip().lower(): name for name in workbook.sheet_names}
        for sheet_name, headers in wanted.items():
            actual = by_lower.get(sheet_name.lower())
            if actual is None:
                continue
            xml = _part(archive, parts.get(actual))
            _check_grid(sheet_name, xml)
            try:
                grid = workbook.get_sheet_by_name(actual).to_python(skip_empty_area=False)
            except Exception:  # noqa: BLE001 - as above: the sheet cannot be read, say so
                raise UnsafeFile(f"Blad {sheet_name} kon niet worden gelezen; {_UNREADABLE_HINT}") from None
            errors = _error_cells(data, actual, xml)
            sheet = _sheet(sheet_name, headers, grid, errors)
            total += len(sheet.rows)
            if total > MAX_ROWS_TOTAL:
                raise UnsafeFile(f"Het bestand heeft meer dan {MAX_ROWS_TOTAL} regels.")
            sheets[sheet_name] = sheet
        return sheets


_UNREADABLE_HINT = "sla het bestand opnieuw op als Excel-werkmap (.xlsx) en probeer het nog eens."
_UNREADABLE = "Het bestand kon niet als Excel-werkmap worden gelezen; " + _UNREADABLE_HINT


def _sheet(sheet_name: str, headers: list[str], grid: list[list], errors: dict[tuple[int, int], str]) -> Sheet:
    """Calamine's grid (from A1) as a Sheet: empty cells None, error cells their Excel text."""
    header_row = grid[0] if grid else ()
    columns: dict[str, int] = {}
    for index, value in enumerate(header_row):
        if value is not None and str(value).strip():
            columns.setdefault(str(value).strip().lower(), index)
    found = {h: columns[h.lower()] for h in headers if h.lower() in columns}
    sheet = Sheet(sheet_name, found, missing=[h for h in headers if h not in found])
    empty = [""] * len(header_row)
    error_rows = {row for row, _col in errors}
    for index, values in enumerate(grid[1:], start=2):
        if values == empty and index not in error_rows:
            continue
        # Calamine gives "" for an empty cell; the converters have always been handed None.
        cells = tuple([None if v == "" else v for v in values])
        if index in error_rows:
            cells = tuple(errors.get((index, col), v) for col, v in enumerate(cells))
        if any(v is not None and (v.__class__ is not str or v.strip()) for v in cells):
            sheet.rows.append((index, cells))
    return sheet


_PKG_REL = "{http://schemas.openxmlformats.org/package/2006/relationships}Relationship"
_MAIN_SHEET = "{http://schemas.openxmlformats.org/spreadsheetml/2006/main}sheet"
_REL_ID = "{http://schemas.openxmlformats.org/officeDocument/2006/relationships}id"


def _sheet_parts(archive: zipfile.ZipFile) -> dict[str, str]:
    """Sheet name -> its XML part in the zip, from the workbook and its relationships (both small)."""
    rels = {}
    for rel in defused_et.fromstring(archive.read("xl/_rels/workbook.xml.rels")).iter(_PKG_REL):
        target = rel.get("Target", "")
        rels[rel.get("Id")] = target.lstrip("/") if target.startswith("/") else "xl/" + target
    workbook = defused_et.fromstring(archive.read("xl/workbook.xml"))
    return {s.get("name"): rels.get(s.get(_REL_ID), "") for s in workbook.iter(_MAIN_SHEET)}


def _part(archive: zipfile.ZipFile, name: str | None) -> bytes:
    # A sheet whose part cannot be found cannot have its grid bounded, so it is not read at all.
    try:
        return archive.read(name or "")
    except KeyError:
        raise UnsafeFile(_UNREADABLE) from None


#: The letters and the row number of every `r` attribute that looks like a reference (a cell's
#: A1, a row's 1), however spaced or quoted; leading zeros never hide a larger number.
_REF_COLUMN = re.compile(rb"r\s*=\s*[\"']([A-Za-z]+)[0-9]+[\"']")
_REF_ROW = re.compile(rb"r\s*=\s*[\"'][A-Za-z]*0*([1-9][0-9]*)[\"']")
#: A cell element with a namespace prefix, which the quick count below would miss.
_PREFIXED_CELL = re.compile(rb"<[A-Za-z_][\w.-]*:c[\s/>]")
#: Cells calamine holds for one sheet: it builds a dense grid from A1 to the farthest cell with
#: a value, so one cell at XFD1048576 in a file of a few hundred bytes would ask for ~17 billion
#: cells (hundreds of GB). The 10,000-project export's largest sheet has ~1.4 million.
MAX_CELLS_PER_SHEET = 20_000_000


def _check_grid(sheet_name: str, xml: bytes) -> None:
    """Refuse, before calamine reads it, a sheet whose farthest cell lies beyond the row or cell limits.

    The bound is generous, never short: rows and columns come from every reference in the part,
    and each cell without a reference (it sits right after the previous one) adds one of both.
    """
    letters = _REF_COLUMN.findall(xml)
    cols = max(map(_column, set(letters)), default=0)
    numbers = set(_REF_ROW.findall(xml))
    longest = max(map(len, numbers), default=0)
    # Without leading zeros, the longest numbers are the largest, and equal lengths compare as text.
    rows = int(max(n for n in numbers if len(n) == longest)) if numbers else 0
    # Every element whose name starts with c (<col>, <cfRule> too): a few more than the cells, never
    # fewer, and one pass instead of one per character that may follow a cell's name.
    cells = xml.count(b"<c")
    if b":c" in xml:
        cells += len(_PREFIXED_CELL.findall(xml))
    unreferenced = max(cells - len(letters), 0)
    rows, cols = rows + unreferenced, cols + unreferenced
    if rows - 1 > MAX_ROWS_PER_SHEET:
        raise UnsafeFile(f"Blad {sheet_name} heeft meer dan {MAX_ROWS_PER_SHEET} regels.")
    if rows * cols > MAX_CELLS_PER_SHEET:
        raise UnsafeFile(f"Blad {sheet_name} beslaat te veel cellen ({rows} regels bij {cols} kolommen); "
                         "verwijder lege rijen en kolommen en waarden ver buiten de tabel.")


def _column(letters: bytes) -> int:
    number = 0
    for ch in letters.upper():
        number = number * 26 + ch - 64
    return number


def _error_cells(data: bytes, sheet_name: str, xml: bytes) -> dict[tuple[int, int], str]:
    """(Excel row, column index) -> text of every error cell (#N/A, #DIV/0!, ...) of the sheet.

    Calamine hands an error cell back as an empty string, which would let a broken formula pass
    for an empty cell; openpyxl keeps the error, so it reads the (rare) sheet that has any.
    """
    # Spreadsheet programs write the type as t="e"; a quick byte search keeps the common case free.
    if b't="e"' not in xml and b"t='e'" not in xml:
        return {}
    import openpyxl

    try:
        workbook = openpyxl.load_workbook(io.BytesIO(data), read_only=True, data_only=True)
    except Exception:  # noqa: BLE001 - openpyxl raises many kinds on a broken part; all mean the same
        raise UnsafeFile(_UNREADABLE) from None
    try:
        return {(cell.row, cell.column - 1): ExcelError(cell.value)
                for row in workbook[sheet_name].iter_rows() for cell in row
                if getattr(cell, "data_type", None) == "e"}
    finally:
        workbook.close()
