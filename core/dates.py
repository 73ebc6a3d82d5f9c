"""Dates as every screen shows them: 3-2-2026 in tables, 3 februari 2026 in text, times in Europe/Amsterdam."""
from __future__ import annotations

from datetime import UTC, date, datetime
from zoneinfo import ZoneInfo

from babel.dates import format_date

AMSTERDAM = ZoneInfo("Europe/Amsterdam")
# Babel patterns, not strftime: strftime has no portable day or month without a leading zero.
SHORT = "d-M-yyyy"
LONG = "d MMMM yyyy"


def local(value: datetime) -> datetime:
    """A moment in Amsterdam time; a naive value is UTC (SQLite hands timestamps back without a zone)."""
    if value.tzinfo is None:
        value = value.replace(tzinfo=UTC)
    return value.astimezone(AMSTERDAM)


def _day(value: date | datetime) -> date:
    # A timestamp counts on its Amsterdam day: 23:30 UTC on 31 December is already New Year's Day here.
    return local(value).date() if isinstance(value, datetime) else value


def datum(value: date | datetime | None) -> str:
    """'3-2-2026': a date in a table cell or a form hint; '' for no date."""
    return format_date(_day(value), SHORT, locale="nl") if value else ""


def datum_lang(value: date | datetime | None) -> str:
    """'3 februari 2026': a date in a sentence or a heading; '' for no date."""
    return format_date(_day(value), LONG, locale="nl") if value else ""


def tijdstip(value: datetime | None) -> str:
    """'3-2-2026 14:05': a moment in Amsterdam time, to the minute; '' for none."""
    if not value:
        return ""
    moment = local(value)
    return f"{datum(moment.date())} {moment:%H:%M}"


def default_peildatum(year: int, today: date | None = None) -> date:
    """The stand a report for `year` shows when no peildatum is chosen.

    A past year: 31 December of that year (the year as it closed). The current year: today. A future
    year: today as well, since nothing after today is known yet (what is planned for it counts).
    """
    today = today or date.today()
    return date(year, 12, 31) if year < today.year else today
