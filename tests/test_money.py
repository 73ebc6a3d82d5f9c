"""Money is exact: Dutch parsing and formatting, and integer cents on both databases."""
from __future__ import annotations

from datetime import date
from decimal import Decimal

import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st
from sqlalchemy import delete, func, insert, select

from budget.models import BudgetMutation
from core.errors import ValidationError
from core.money import Money, format_eur, parse_eur, to_decimal
from tests.factories import make_programme, make_user


@pytest.mark.parametrize("text, expected", [
    ("1.234.567,89", "1234567.89"),
    ("1234567,89", "1234567.89"),
    ("€ 12,50", "12.50"),
    ("€\u00a012,50", "12.50"),
    ("500", "500.00"),
    ("-1.000", "-1000.00"),
    ("0,1", "0.10"),
])
def test_parse_eur_accepts_dutch_notation(text, expected):
    assert parse_eur(text) == Decimal(expected)


@pytest.mark.parametrize("text, message", [
    ("", "Vul een bedrag in"),
    ("   ", "Vul een bedrag in"),
    ("abc", "geen geldig bedrag"),
    ("12,345", "hoogstens twee decimalen"),
    ("12.50", "geen geldig bedrag"),  # a dot is a thousands separator, never guessed as decimal
    ("1.23.4", "geen geldig bedrag"),
])
def test_parse_eur_refuses_bad_input_in_dutch(text, message):
    with pytest.raises(ValidationError, match=message):
        parse_eur(text)


@pytest.mark.parametrize("text", [
    "١٠٠,٠٠",      # Arabic-Indic digits
    "۱۰۰",         # Extended Arabic-Indic
    "１００,００",  # full-width
    "𝟏𝟐𝟑",         # mathematical bold
    "1٠٠",         # one foreign digit among ASCII ones
    "१.०००,००",    # Devanagari with Dutch separators
])
def test_parse_eur_takes_only_the_digits_0_to_9(text):
    with pytest.raises(ValidationError, match="geen geldig bedrag"):
        parse_eur(text)
    with pytest.raises(ValidationError):
        to_decimal(text)


def test_format_eur_is_dutch():
    assert format_eur(Decimal("1234567.89")) == "€\xa01.234.567,89"
    assert format_eur(Decimal("-0.10")) == "€\xa0-0,10"


def test_float_is_never_money():
    with pytest.raises(TypeError):
        to_decimal(0.1)


def _mutation(programme_id: int, amount: Decimal, year: int = 2025) -> dict:
    return {"programme_id": programme_id, "year": year, "amount": amount, "kind": "technisch",
            "moment": "intern", "reason": "test", "reference": "", "date": date(2025, 1, 1)}


@pytest.mark.parametrize("amounts", [
    ["0.01"],
    ["0.10", "0.20"],
    ["9999999999.99"],
    ["9999999999.99", "0.01", "-0.01"],
])
def test_amounts_round_trip_and_sum_exactly(session, amounts):
    actor = make_user(session, "beheerder")
    programme = make_programme(session, actor)
    values = [Decimal(a) for a in amounts]
    session.execute(insert(BudgetMutation), [_mutation(programme.id, v) for v in values])
    stored = session.scalars(select(BudgetMutation.amount).order_by(BudgetMutation.id)).all()
    assert stored == values
    total = session.scalar(select(func.sum(BudgetMutation.amount).cast(Money)))
    assert total == sum(values)
    if amounts == ["0.10", "0.20"]:
        assert total == Decimal("0.30")


# The database is shared by all examples; each example deletes its own rows again. Thousands
# of amounts per example are the point, so the size health checks do not apply.
@settings(max_examples=20, suppress_health_check=[HealthCheck.function_scoped_fixture, HealthCheck.data_too_large,
                                                  HealthCheck.too_slow])
@given(st.lists(st.integers(min_value=-10**11, max_value=10**11).filter(bool), min_size=1000, max_size=3000))
def test_thousands_of_random_amounts_sum_to_the_exact_decimal(app, session, cents):
    programme_id = _programme_id(session)
    values = [Decimal(c).scaleb(-2) for c in cents]
    session.execute(insert(BudgetMutation), [_mutation(programme_id, v) for v in values])
    total = session.scalar(select(func.sum(BudgetMutation.amount).cast(Money)))
    assert total == sum(values, Decimal("0.00"))
    session.execute(delete(BudgetMutation))
    session.flush()


def _programme_id(session) -> int:
    from projects.models import Programme

    existing = session.scalar(select(Programme.id))
    if existing:
        return existing
    return make_programme(session, make_user(session, "beheerder")).id
