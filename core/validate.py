"""Plain input checks shared by every package: text, codes, years, amounts and dates, with Dutch messages."""
from __future__ import annotations

from datetime import date
from decimal import Decimal

from core.dates import datum_lang
from core.errors import ValidationError
from core.money import parse_eur

#: The years any programme, budget or schedule may name (also the database's CHECK constraints).
YEAR_MIN, YEAR_MAX = 2000, 2100


def text(value, label: str, field: str, required: bool = True, max_len: int | None = None) -> str:
    """Stripped text; `label` completes "Vul ... in." and the too-long message."""
    clean = (value or "").strip()
    if required and not clean:
        raise ValidationError(f"Vul {label} in.", field=field)
    if max_len and len(clean) > max_len:
        # An optional field has no label ("Vul ... in" never shows for it), yet can still be too long.
        subject = label[0].upper() + label[1:] if label else "De tekst"
        raise ValidationError(f"{subject} is te lang (hoogstens {max_len} tekens).", field=field)
    return clean


def code(value, allowed: dict, label: str, field: str) -> str:
    """One of the codes of a code -> label dict; the message lists the labels a user knows."""
    if value not in allowed:
        raise ValidationError(f"Onbekende {label} '{value}'; kies uit: {', '.join(allowed.values())}.",
                              field=field)
    return value


def year(value, field: str = "year") -> int:
    # int() also reads other scripts' digits ("٢٠٢٦"); a year is typed with 0-9 only.
    if isinstance(value, str) and not value.strip().isascii():
        raise ValidationError("Vul een jaartal in.", field=field)
    try:
        value = int(value)
    except (TypeError, ValueError):
        raise ValidationError("Vul een jaartal in.", field=field) from None
    if not YEAR_MIN <= value <= YEAR_MAX:
        raise ValidationError(f"Het jaar moet tussen {YEAR_MIN} en {YEAR_MAX} liggen.", field=field)
    return value


def amount(value, field: str = "amount", allow_negative: bool = False, allow_zero: bool = True) -> Decimal:
    """A two-place Decimal from Dutch notation, an int or a Decimal (parse errors carry no field)."""
    parsed = parse_eur(value)
    if parsed < 0 and not allow_negative:
        raise ValidationError("Het bedrag kan niet negatief zijn.", field=field)
    if parsed == 0 and not allow_zero:
        raise ValidationError("Het bedrag kan niet nul zijn.", field=field)
    return parsed


def day(value, field: str) -> date:
    if not isinstance(value, date):
        raise ValidationError("Vul een geldige datum in.", field=field)
    return plausible_day(value, field)


def plausible_day(value: date, field: str) -> date:
    """A date inside the years any programme may name: 1990 or 2999 is a typing error, not a booking."""
    if not YEAR_MIN <= value.year <= YEAR_MAX:
        raise ValidationError(f"De datum moet tussen {datum_lang(date(YEAR_MIN, 1, 1))} en "
                              f"{datum_lang(date(YEAR_MAX, 12, 31))} liggen.", field=field)
    return value
