"""One set of date conventions: d-m-jjjj in tables, d MMMM jjjj in text, times in Amsterdam, in every template."""
from __future__ import annotations

import re
from datetime import UTC, date, datetime
from pathlib import Path

import pytest

from core.dates import datum, datum_lang, tijdstip

ROOT = Path(__file__).resolve().parent.parent


@pytest.mark.parametrize("value, short, long", [
    (date(2026, 2, 3), "3-2-2026", "3 februari 2026"),
    (date(2025, 12, 31), "31-12-2025", "31 december 2025"),
    (date(2024, 3, 1), "1-3-2024", "1 maart 2024"),
])
def test_a_date_reads_without_leading_zeros_short_in_tables_and_long_in_text(value, short, long):
    assert datum(value) == short
    assert datum_lang(value) == long


def test_no_date_is_an_empty_string():
    assert datum(None) == datum_lang(None) == tijdstip(None) == ""


def test_a_moment_is_shown_in_amsterdam_time_to_the_minute():
    # 12:00 UTC is 14:00 in summer and 13:00 in winter; a naive value is UTC (SQLite).
    assert tijdstip(datetime(2026, 7, 1, 12, 0, 59)) == "1-7-2026 14:00"
    assert tijdstip(datetime(2026, 1, 5, 12, tzinfo=UTC)) == "5-1-2026 13:00"
    # Half past eleven at night UTC on New Year's Eve is already the new year in Amsterdam.
    assert tijdstip(datetime(2025, 12, 31, 23, 30, tzinfo=UTC)) == "1-1-2026 00:30"
    assert datum(datetime(2025, 12, 31, 23, 30, tzinfo=UTC)) == "1-1-2026"


def test_the_app_and_the_standalone_report_know_the_filters(app):
    from reports.charts import _env

    for env in (app.jinja_env, _env):
        assert {"datum", "datum_lang", "tijdstip"} <= set(env.filters)


def test_no_template_formats_a_date_its_own_way():
    # Babel's dateformat('medium') gave '3 feb 2026', 'long' '3 februari 2026', strftime '03-02-2026':
    # five formats on one screen. Only the filters of core.dates are allowed (<input type=date> uses isoformat).
    own_way = re.compile(r"dateformat|datetimeformat|strftime|%d-%m")
    offenders = [f"{path.relative_to(ROOT)}:{n}" for path in ROOT.glob("*/templates/**/*.html")
                 for n, line in enumerate(path.read_text(encoding="utf-8").splitlines(), 1) if own_way.search(line)]
    assert not offenders, offenders
