"""One cell's raw value to a Python value (text, amount, year, date, code), or a Dutch CellError."""
from __future__ import annotations

import re
from datetime import date, datetime
from decimal import Decimal, InvalidOperation

from budget.models import UNDATED_FROM
from core.dates import datum_lang
from core.errors import ValidationError
from core.money import parse_eur

#: What `Datum` of an amount says for one carried over from before facts were dated (migration 0011).
BEFORE_DATING = "vóór datering"


class ExcelError(str):
    """The text of an Excel error cell (#N/A, #DIV/0!, ...): never a value to import."""


class CellError(Exception):
    """A cell that cannot be read; the caller adds sheet, row and column."""


def _refuse_error(value: ExcelError):
    raise CellError(f"De cel bevat de Excel-fout {value}; herstel de formule of vul de waarde zelf in.")


def text(value, required: bool = False, max_len: int | None = None) -> str:
    if value.__class__ is ExcelError:
        _refuse_error(value)
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
    if value.__class__ is ExcelError:
        _refuse_error(value)
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
            return parse_eur(cents)  # checks the range; cents is already two-place
        if isinstance(value, Decimal):
            return parse_eur(value)
        return parse_eur(str(value))
    except ValidationError as exc:
        raise CellError(exc.message) from None
    except (InvalidOperation, ValueError):
        raise CellError(f"'{value}' is geen geldig bedrag; schrijf bijvoorbeeld 1.234,56.") from None


def year(value, required: bool = True) -> int | None:
    if value.__class__ is ExcelError:
        _refuse_error(value)
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
    if value.__class__ is ExcelError:
        _refuse_error(value)
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


def valid_from(value) -> date | None:
    """`Datum` of an amount: a date, empty (None: today) or 'vóór datering' (counts at every peildatum)."""
    if isinstance(value, str) and value.strip().lower() in (BEFORE_DATING, "voor datering"):
        return UNDATED_FROM
    return day(value, required=False)


def valid_from_text(value: date) -> str:
    """How a message names the day an amount counts from."""
    return BEFORE_DATING if value == UNDATED_FROM else datum_lang(value)


class Codes:
    """A coded column's values: each code by its Dutch label, the code itself, or the code with spaces (any case)."""

    def __init__(self, labels: dict[str, str], what: str):
        self.labels, self.what = labels, what
        # Built once: a 200,000-row sheet then looks each cell up instead of lowering every label again.
        self.by_name: dict[str, str] = {}
        for code, label in labels.items():
            for name in (label, code, code.replace("_", " ")):
                self.by_name.setdefault(name.lower(), code)

    def unknown(self, value: str) -> CellError:
        return CellError(f"Onbekende {self.what} '{value}'; kies uit: {', '.join(self.labels.values())}.")


def coded(value, codes: Codes, required: bool = True) -> str | None:
    """A coded value (see Codes), or None for an empty optional cell."""
    s = text(value)
    if not s:
        if required:
            raise CellError(f"Vul {codes.what} in.")
        return None
    code = codes.by_name.get(" ".join(s.lower().split()))
    if code is None:
        raise codes.unknown(s)
    return code


def coded_list(value, codes: Codes, required: bool = True) -> list[str]:
    parts = [p for p in text(value).split(";") if p.strip()]
    if not parts and not required:
        return []
    if not parts:
        raise CellError(f"Vul minstens één {codes.what} in (meerdere gescheiden door ;).")
    return list(dict.fromkeys(coded(p, codes) for p in parts))
