"""Exact money: Decimal amounts stored as integer cents, Dutch parsing and formatting."""
from __future__ import annotations

import functools
import re
from decimal import ROUND_HALF_UP, Decimal

from babel.numbers import format_currency, format_decimal
from sqlalchemy import BigInteger
from sqlalchemy.types import TypeDecorator

from core.errors import ValidationError

CENT = Decimal("0.01")
#: Largest amount we store: 10 cents short of 10^17 keeps far inside BIGINT.
MAX_AMOUNT = Decimal("999999999999999.99")

#: Nothing, as an amount (two places, like every amount).
ZERO = Decimal("0.00")
#: An amount's number format in a workbook (Excel and LibreOffice): euro sign, Dutch separators.
EXCEL_EUR = '[$€-413] #,##0.00;[$€-413] -#,##0.00'


def to_decimal(value) -> Decimal:
    """Turn an int, Decimal or numeric string into an exact two-place Decimal; never a float."""
    if isinstance(value, float):
        # A float has already lost exactness; refusing it keeps bugs loud.
        raise TypeError("geldbedragen mogen geen float zijn")
    if isinstance(value, bool):
        raise TypeError("geen geldbedrag")
    if isinstance(value, str) and not value.isascii():
        # Decimal() reads any script's digits ('١٠٠', '１００'); an amount is written in 0-9.
        raise ValidationError(f"'{value}' is geen geldig bedrag; gebruik de cijfers 0-9.")
    dec = value if isinstance(value, Decimal) else Decimal(value)
    if not dec.is_finite():
        raise ValidationError("Bedrag is geen eindig getal.")
    q = dec.quantize(CENT)
    if q != dec:
        raise ValidationError("Een bedrag heeft hoogstens twee decimalen.")
    return q


class _Hundredths(TypeDecorator):
    """A Decimal with two places kept as an integer count of hundredths (exact everywhere)."""

    impl = BigInteger
    cache_ok = True

    def process_bind_param(self, value, dialect):
        if value is None:
            return None
        return int(to_decimal(value).scaleb(2))

    def process_result_value(self, value, dialect):
        if value is None:
            return None
        # SUM over BIGINT may come back as Decimal (PostgreSQL numeric) or int.
        return (Decimal(int(value)) / 100).quantize(CENT)

    def coerce_compared_value(self, op, value):
        return self


class Money(_Hundredths):
    """Euro amount: Decimal in Python, integer cents in the database."""

    cache_ok = True


class Fte(_Hundredths):
    """Full-time equivalents with two places (0,80 FTE)."""

    cache_ok = True


# [0-9], not \d: \d also matches Arabic-Indic, full-width and mathematical digits, which
# Decimal() then reads as numbers nobody typed on purpose.
_DUTCH = re.compile(r"^[+-]?([0-9]{1,3}(\.[0-9]{3})+|[0-9]+)(,[0-9]+)?$", re.ASCII)


def parse_eur(text) -> Decimal:
    """Parse an amount typed by a Dutch user: '1.234.567,89', '1234567,89', '€ 12,50', '500'.

    A dot is always a thousands separator, so '12.50' is refused rather than guessed.
    Raises ValidationError with a Dutch message for empty, non-numeric or over-precise input.
    """
    if isinstance(text, Decimal | int) and not isinstance(text, bool):
        return _checked(to_decimal(text))
    if text is None:
        raise ValidationError("Vul een bedrag in.")
    s = str(text).replace("\u00a0", "").replace("€", "").replace(" ", "").strip()
    if s.upper().startswith("EUR"):
        s = s[3:]
    if not s:
        raise ValidationError("Vul een bedrag in.")
    if not _DUTCH.match(s):
        raise ValidationError(f"'{text}' is geen geldig bedrag; schrijf bijvoorbeeld 1.234,56.")
    dec = Decimal(s.replace(".", "").replace(",", "."))
    if dec != dec.quantize(CENT):
        raise ValidationError("Een bedrag heeft hoogstens twee decimalen (centen).")
    return _checked(dec.quantize(CENT))


def _checked(dec: Decimal) -> Decimal:
    if abs(dec) > MAX_AMOUNT:
        raise ValidationError("Dit bedrag is te groot.")
    return dec


def format_eur(amount, digits: bool = True) -> str:
    """Format as Dutch euros via Babel: '€ 1.234.567,89' (with a no-break space)."""
    if amount is None:
        return ""
    dec = to_decimal(amount) if not isinstance(amount, Decimal) else amount
    return _format_eur(dec, digits)


@functools.lru_cache(maxsize=16_384)
def _format_eur(dec: Decimal, digits: bool) -> str:
    # Babel parses its pattern on every call; a report page formats hundreds of amounts, mostly
    # the same ones again. Equal Decimals (1.5 and 1.50) hash alike and format alike.
    if digits:
        return format_currency(dec, "EUR", locale="nl_NL")
    # The sign where format_eur puts it ('€ -180.000'), so whole and exact amounts read alike.
    return format_currency(dec.quantize(Decimal(1), ROUND_HALF_UP), "EUR", format="¤\xa0#,##0;¤\xa0-#,##0",
                           currency_digits=False, locale="nl_NL")


def format_eur_whole(amount) -> str:
    """Whole euros for tiles and headlines: '€ 1.234.568', rounded half up here (exact amounts stay in tables)."""
    return format_eur(amount, digits=False)


def format_thousands(amount) -> str:
    """Kamer notation 'x € 1.000': rounded only here, at presentation."""
    if amount is None:
        return ""
    return format_decimal((Decimal(amount) / 1000).quantize(Decimal(1), ROUND_HALF_UP), locale="nl_NL")


# --- Percentages -----------------------------------------------------------------------------

#: A percentage is kept as a fraction rounded to 0,1 % (1.065 = 106,5 %).
PCT_STEP = Decimal("0.001")


def share(part: Decimal, whole: Decimal) -> Decimal | None:
    """`part` as a fraction of `whole`, rounded once, half up, to 0,1 %; None without a whole.

    Every output shows this value as it is (format_pct, the workbook's 0.0% format), so the page,
    the HTML report, the workbook and a snapshot never round it a second time differently.
    """
    if not whole:
        return None
    # 28 digits of quotient: two amounts of at most 17 digits never fall that close to a half.
    return (Decimal(part) / Decimal(whole)).quantize(PCT_STEP, ROUND_HALF_UP)


def format_pct(fraction) -> str:
    """A share() as Dutch text: '106,5%' ('–' for none). Exact: the value is already rounded."""
    if fraction is None:
        return "–"
    return format_decimal(Decimal(fraction) * 100, format="#,##0.0", locale="nl_NL") + "%"


def format_millions(amount) -> str:
    """'€ 2,75 mln.' for a sentence in a letter: millions with two decimals, rounded half up here only."""
    if amount is None:
        return ""
    millions = (Decimal(amount) / 1_000_000).quantize(CENT, ROUND_HALF_UP)
    if not millions:
        millions = abs(millions)  # -4.999,99 is '€ 0,00 mln.', not '€ -0,00 mln.'
    # The sign where format_eur puts it ('€ -0,12 mln.'); a no-break space keeps '€' with its number.
    return "€\xa0" + format_decimal(millions, format="#,##0.00", locale="nl_NL") + "\xa0mln."
