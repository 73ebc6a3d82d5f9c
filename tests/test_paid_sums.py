"""A report's shared PaidSums give every figure exactly what its own scan of the payments gives."""
from __future__ import annotations

from datetime import date
from decimal import Decimal as D

import pytest
from sqlalchemy import select

from bench.generate import generate
from budget import breakdowns, ledger
from budget import services as budget
from budget.models import Commitment
from projects.models import Programme, Project
from tests.factories import TEST_ACTOR

PEILDATUMS = [None, date(2019, 6, 30), date(2023, 12, 31), date(2025, 12, 31), date.today()]


@pytest.fixture
def portfolio(session):
    """Two generated programmes, one commitment with a refund and an adjustment dated today."""
    generate(session, 60, 2, seed=7)
    commitment = session.scalars(select(Commitment).order_by(Commitment.id)).first()
    budget.add_payment(session, TEST_ACTOR, commitment, payment_date=date.today(), amount=D("-125.37"),
                       kind="terugbetaling")
    budget.add_payment(session, TEST_ACTOR, commitment, payment_date=date.today(), amount=D("10.01"),
                       kind="voorschot")
    session.flush()
    return session.scalars(select(Programme.id).order_by(Programme.id)).all()


@pytest.mark.parametrize("peildatum", PEILDATUMS)
def test_figures_from_paid_sums_equal_their_own_scans(session, portfolio, peildatum):
    for programme_id in portfolio:
        paid = ledger.paid_sums(session, programme_id, peildatum)
        years = list(range(2015, 2028))
        assert ledger.programme_figures(session, programme_id, peildatum, years, paid) == \
            ledger.programme_figures(session, programme_id, peildatum, years)
        for year in (2016, 2021, 2025, date.today().year):
            assert breakdowns.breakdowns(session, programme_id, year, peildatum, paid) == \
                breakdowns.breakdowns(session, programme_id, year, peildatum)
            assert breakdowns.project_figures(session, programme_id, year, peildatum, paid) == \
                breakdowns.project_figures(session, programme_id, year, peildatum)


def test_paid_sums_hold_only_the_programmes_payments_at_their_peildatum(session, portfolio):
    first, _second = portfolio
    paid = ledger.paid_sums(session, first, date(2025, 12, 31))
    ours = set(session.scalars(select(Project.id).where(Project.programme_id == first)))
    assert paid.rows and {pid for pid, *_rest in paid.rows} <= ours
    assert max(year for _pid, year, *_rest in paid.rows) <= 2025
    assert all(isinstance(cents, int) for *_keys, cents, advances in paid.rows for cents in (cents, advances))
    with pytest.raises(ValueError):
        ledger.programme_figures(session, first, date(2024, 12, 31), [2024], paid)
