"""Reading an upload safely: content checks before parsing, then cells to Python values with Dutch errors."""
from __future__ import annotations

import io
import itertools
import re
import zipfile
from dataclasses import dataclass, field
from datetime import date, datetime
from decimal import Decimal, InvalidOperation

import defusedxml.ElementTree as defused_et
from defusedxml import DefusedXmlException

from core.errors import ValidationError
from core.money import parse_eur, to_decimal

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
    """Read the wanted sheets (cached values, not formulas) that the workbook has.

    Sheet and header names match without regard to case or surrounding spaces; empty rows
    are skipped; `Sheet.missing` names headers the sheet lacks. The lean reader below does
    the work (a 10,000-project export in seconds instead of a minute); a part it does not
    know sends the whole file to openpyxl instead, which reads the same values.
    """
    try:
        return _sheets(_LeanBook(data), wanted)
    except UnsafeFile:
        raise
    except Exception:  # noqa: BLE001 - anything unexpected: the complete (slower) reader decides
        pass
    import openpyxl

    try:
        workbook = openpyxl.load_workbook(io.BytesIO(data), read_only=True, data_only=True)
    except Exception:  # openpyxl raises many kinds on a broken part; all mean the same to the user
        raise UnsafeFile("Het bestand kon niet als Excel-werkmap worden gelezen.") from None
    try:
        return _sheets(_OpenpyxlBook(workbook), wanted)
    finally:
        workbook.close()


def _sheets(book, wanted: dict[str, list[str]]) -> dict[str, Sheet]:
    sheets: dict[str, Sheet] = {}
    total = 0
    by_lower = {name.strip().lower(): name for name in book.sheetnames}
    for sheet_name, headers in wanted.items():
        actual = by_lower.get(sheet_name.lower())
        if actual is None:
            continue
        rows_iter = book.rows(actual)
        first = next(rows_iter, None)
        header_row = first[1] if first and first[0] == 1 else ()
        columns = {}
        for index, value in enumerate(header_row):
            if value is not None and str(value).strip():
                columns.setdefault(str(value).strip().lower(), index)
        found = {h: columns[h.lower()] for h in headers if h.lower() in columns}
        sheet = Sheet(sheet_name, found, missing=[h for h in headers if h not in found])
        if first and first[0] != 1:
            rows_iter = itertools.chain([first], rows_iter)
        for number, values in rows_iter:
            if number - 1 > MAX_ROWS_PER_SHEET:
                raise UnsafeFile(f"Blad {sheet_name} heeft meer dan {MAX_ROWS_PER_SHEET} regels.")
            if values and any(v is not None and (v.__class__ is not str or v.strip()) for v in values):
                sheet.rows.append((number, values))
        total += len(sheet.rows)
        if total > MAX_ROWS_TOTAL:
            raise UnsafeFile(f"Het bestand heeft meer dan {MAX_ROWS_TOTAL} regels.")
        sheets[sheet_name] = sheet
    return sheets


class _OpenpyxlBook:
    """openpyxl's read-only workbook as (Excel row number, values) per row."""

    def __init__(self, workbook):
        self.workbook = workbook
        self.sheetnames = workbook.sheetnames

    def rows(self, name: str):
        return enumerate(self.workbook[name].iter_rows(values_only=True), start=1)


_MAIN = "http://schemas.openxmlformats.org/spreadsheetml/2006/main"
_REL = "http://schemas.openxmlformats.org/officeDocument/2006/relationships"
_PKG_REL = "http://schemas.openxmlformats.org/package/2006/relationships"


def _expat(start=None, end=None, chars=None):
    """An expat parser with namespaces as 'uri local'; check_xlsx already refused DTDs, this refuses them again."""
    from xml.parsers import expat

    parser = expat.ParserCreate(namespace_separator=" ")
    parser.SetParamEntityParsing(expat.XML_PARAM_ENTITY_PARSING_NEVER)

    def no_doctype(*_args):
        raise UnsafeFile("Het bestand bevat XML-constructies (DTD of entiteiten) die niet zijn toegestaan; "
                         "het wordt geweigerd.")
    parser.StartDoctypeDeclHandler = no_doctype
    parser.EntityDeclHandler = no_doctype
    parser.buffer_text = True
    if start:
        parser.StartElementHandler = start
    if end:
        parser.EndElementHandler = end
    if chars:
        parser.CharacterDataHandler = chars
    return parser


def _feed(archive: zipfile.ZipFile, name: str, parser) -> None:
    with archive.open(name) as stream:
        while chunk := stream.read(_CHUNK):
            parser.Parse(chunk, False)
    parser.Parse(b"", True)


class _LeanBook:
    """The cached cell values of an .xlsx straight from its XML with expat, as openpyxl would give them."""

    def __init__(self, data: bytes):
        from openpyxl.styles.numbers import BUILTIN_FORMATS, is_date_format
        from openpyxl.utils.datetime import CALENDAR_MAC_1904, CALENDAR_WINDOWS_1900

        self.archive = zipfile.ZipFile(io.BytesIO(data))
        rels = {}

        def rel(name, attrs):
            if name == f"{_PKG_REL} Relationship":
                target = attrs["Target"]
                rels[attrs["Id"]] = (attrs.get("Type", ""),
                                     target.lstrip("/") if target.startswith("/") else "xl/" + target)
        _feed(self.archive, "xl/_rels/workbook.xml.rels", _expat(rel))
        self.paths: dict[str, str] = {}
        self.sheetnames: list[str] = []
        epoch = [CALENDAR_WINDOWS_1900]

        def book(name, attrs):
            if name == f"{_MAIN} sheet":
                sheet = attrs["name"]
                self.sheetnames.append(sheet)
                self.paths[sheet] = rels[attrs[f"{_REL} id"]][1]
            elif name == f"{_MAIN} workbookPr" and attrs.get("date1904") in ("1", "true"):
                epoch[0] = CALENDAR_MAC_1904
        _feed(self.archive, "xl/workbook.xml", _expat(book))
        self.epoch = epoch[0]
        by_type = {kind.rsplit("/", 1)[-1]: path for kind, path in rels.values()}
        self.strings = self._shared_strings(by_type.get("sharedStrings"))
        formats = dict(BUILTIN_FORMATS)
        date_styles: set[int] = set()
        if by_type.get("styles"):
            xfs: list[int] = []
            in_cell_xfs = [False]

            def style(name, attrs):
                if name == f"{_MAIN} numFmt":
                    formats[int(attrs["numFmtId"])] = attrs.get("formatCode", "")
                elif name == f"{_MAIN} cellXfs":
                    in_cell_xfs[0] = True
                elif name == f"{_MAIN} xf" and in_cell_xfs[0]:
                    xfs.append(int(attrs.get("numFmtId", 0)))

            def style_end(name):
                if name == f"{_MAIN} cellXfs":
                    in_cell_xfs[0] = False
            _feed(self.archive, by_type["styles"], _expat(style, style_end))
            date_styles = {i for i, fmt in enumerate(xfs) if fmt in formats and is_date_format(formats[fmt])}
        self.date_styles = date_styles

    def _shared_strings(self, path: str | None) -> list[str]:
        strings: list[str] = []
        if not path:
            return strings
        parts: list[str] = []
        state = {"text": False, "phonetic": False}

        def start(name, _attrs):
            if name == f"{_MAIN} t" and not state["phonetic"]:
                state["text"] = True
            elif name == f"{_MAIN} rPh":
                state["phonetic"] = True
            elif name == f"{_MAIN} si":
                parts.clear()

        def end(name):
            if name == f"{_MAIN} t":
                state["text"] = False
            elif name == f"{_MAIN} rPh":
                state["phonetic"] = False
            elif name == f"{_MAIN} si":
                strings.append("".join(parts))

        def chars(text_):
            if state["text"]:
                parts.append(text_)
        _feed(self.archive, path, _expat(start, end, chars))
        return strings

    def rows(self, name: str):
        """(Excel row number, values) for every row the sheet has, in order; values as openpyxl reads them."""
        from openpyxl.utils.cell import column_index_from_string
        from openpyxl.utils.datetime import from_excel

        rows: list[tuple[int, tuple]] = []
        strings, date_styles, epoch = self.strings, self.date_styles, self.epoch
        cell_tag, value_tag, row_tag = f"{_MAIN} c", f"{_MAIN} v", f"{_MAIN} row"
        text_tag, inline_tag, phonetic_tag = f"{_MAIN} t", f"{_MAIN} is", f"{_MAIN} rPh"
        columns: dict[str, int] = {}
        # Plain closure variables, not attributes: these handlers run a few million times.
        number, col, kind, style = 0, -1, "n", 0
        collect = inline = phonetic = has_inline = False
        parts: list[str] = []
        cells: dict[int, object] = {}
        digits = "0123456789"

        def start(tag, attrs):
            nonlocal number, col, kind, style, collect, inline, phonetic, has_inline, parts, cells
            if tag == cell_tag:
                ref = attrs.get("r")
                if ref:
                    letters = ref.rstrip(digits)
                    col = columns.get(letters)
                    if col is None:
                        col = columns[letters] = column_index_from_string(letters) - 1
                else:
                    col += 1
                kind = attrs.get("t", "n")
                style = int(attrs.get("s", 0))
                parts = []
                has_inline = False
            elif tag == value_tag:
                collect = True
            elif tag == row_tag:
                ref = attrs.get("r")
                number = int(ref) if ref else number + 1
                cells = {}
                col = -1
            elif tag == inline_tag:
                inline = has_inline = True
            elif tag == text_tag and inline and not phonetic:
                collect = True
            elif tag == phonetic_tag:
                phonetic = True

        def end(tag):
            nonlocal collect, inline, phonetic
            if tag == cell_tag:
                raw = "".join(parts) if parts else None
                if kind == "n":
                    if raw is None or raw == "":
                        value = None
                    else:
                        value = float(raw) if ("." in raw or "E" in raw or "e" in raw) else int(raw)
                        if style in date_styles:
                            value = from_excel(value, epoch)
                elif kind == "s":
                    value = strings[int(raw)] if raw is not None else None
                elif kind == "inlineStr":
                    value = (raw or "") if has_inline else None
                elif kind == "b":
                    value = bool(int(raw)) if raw is not None else None
                elif kind == "d":
                    value = datetime.fromisoformat(raw) if raw else None
                else:  # "str" (a formula's text) and "e" (an error such as #N/A): the text itself
                    value = raw
                if value is not None:
                    cells[col] = value
            elif tag == value_tag or tag == text_tag:
                collect = False
            elif tag == row_tag:
                if cells:
                    values = [None] * (max(cells) + 1)
                    for index, value in cells.items():
                        values[index] = value
                    rows.append((number, tuple(values)))
                else:
                    rows.append((number, ()))
            elif tag == inline_tag:
                inline = False
            elif tag == phonetic_tag:
                phonetic = False

        def chars(text_):
            if collect:
                parts.append(text_)
        _feed(self.archive, self.paths[name], _expat(start, end, chars))
        return iter(rows)


# --- Cell values ---------------------------------------------------------------------------


class CellError(Exception):
    """A cell that cannot be read; the caller adds sheet, row and column."""


def text(value, required: bool = False, max_len: int | None = None) -> str:
    if value is None:
        result = ""
    elif isinstance(value, float) and value.is_integer():
        result = str(int(value))  # a code like 2024 typed as number
    elif isinstance(value, datetime | date):
        result = value.strftime("%d-%m-%Y")
    else:
        result = str(value).strip()
    if required and not result:
        raise CellError("Vul deze cel in.")
    if max_len and len(result) > max_len:
        raise CellError(f"De tekst is te lang (hoogstens {max_len} tekens).")
    return result


def amount(value, required: bool = True) -> Decimal | None:
    """A euro amount: an Excel number or Dutch text ('1.234,56'); never via a binary float."""
    if value is None or (isinstance(value, str) and not value.strip()):
        if required:
            raise CellError("Vul een bedrag in.")
        return None
    try:
        if isinstance(value, bool):
            raise CellError("Dit is geen bedrag.")
        if isinstance(value, int):
            return parse_eur(value)
        if isinstance(value, float):
            # repr gives the shortest decimal that round-trips, i.e. what Excel shows.
            dec = Decimal(repr(value))
            cents = dec.quantize(Decimal("0.01"))
            # Excel formulas leave binary noise (0.1+0.2); anything beyond that is a real fraction of a cent.
            if abs(dec - cents) > Decimal("0.000001"):
                raise CellError("Een bedrag heeft hoogstens twee decimalen (centen).")
            return parse_eur(to_decimal(cents))
        if isinstance(value, Decimal):
            return parse_eur(value)
        return parse_eur(str(value))
    except ValidationError as exc:
        raise CellError(exc.message) from None
    except (InvalidOperation, ValueError):
        raise CellError(f"'{value}' is geen geldig bedrag; schrijf bijvoorbeeld 1.234,56.") from None


def year(value, required: bool = True) -> int | None:
    if value is None or (isinstance(value, str) and not value.strip()):
        if required:
            raise CellError("Vul een jaartal in.")
        return None
    if isinstance(value, float) and value.is_integer():
        value = int(value)
    if isinstance(value, str) and value.strip().isdigit():
        value = int(value.strip())
    if not isinstance(value, int) or isinstance(value, bool) or not 2000 <= value <= 2100:
        raise CellError(f"'{value}' is geen jaartal tussen 2000 en 2100.")
    return value


_DATE = re.compile(r"^(\d{1,2})-(\d{1,2})-(\d{4})$")
_ISO = re.compile(r"^(\d{4})-(\d{2})-(\d{2})$")


def day(value, required: bool = True) -> date | None:
    """An Excel date or text dd-mm-jjjj (ISO jjjj-mm-dd is accepted too)."""
    if value is None or (isinstance(value, str) and not value.strip()):
        if required:
            raise CellError("Vul een datum in (dd-mm-jjjj).")
        return None
    if isinstance(value, datetime):
        return value.date()
    if isinstance(value, date):
        return value
    s = str(value).strip()
    try:
        if m := _DATE.match(s):
            return date(int(m[3]), int(m[2]), int(m[1]))
        if m := _ISO.match(s):
            return date(int(m[1]), int(m[2]), int(m[3]))
    except ValueError:
        raise CellError(f"'{s}' is geen bestaande datum.") from None
    raise CellError(f"'{s}' is geen datum; schrijf dd-mm-jjjj.")


def coded(value, labels: dict[str, str], what: str, required: bool = True) -> str | None:
    """A coded value by its Dutch label (any case); the code itself is accepted as well."""
    s = text(value)
    if not s:
        if required:
            raise CellError(f"Vul {what} in.")
        return None
    wanted = " ".join(s.lower().split())
    for code, label in labels.items():
        if wanted in (label.lower(), code.lower(), code.replace("_", " ").lower()):
            return code
    raise CellError(f"Onbekende {what} '{s}'; kies uit: {', '.join(labels.values())}.")


def coded_list(value, labels: dict[str, str], what: str) -> list[str]:
    parts = [p for p in text(value).split(";") if p.strip()]
    if not parts:
        raise CellError(f"Vul minstens één {what} in (meerdere gescheiden door ;).")
    return list(dict.fromkeys(coded(p, labels, what) for p in parts))
