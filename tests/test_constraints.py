"""The database itself refuses invalid rows, whatever bypasses the services."""
from __future__ import annotations

from datetime import date

import pytest
from sqlalchemy import insert, text
from sqlalchemy.exc import IntegrityError

from budget.models import BudgetAllocation, BudgetMutation, FundingSource, Payment
from projects.models import Project
from tests.factories import commit_money, fund, make_programme, make_project, make_user


@pytest.fixture
def base(session):
    fin = make_user(session, "financieel")
    prog = make_programme(session, make_user(session, "beheerder"))
    source = fund(session, fin, prog, {2025: "1.000"})
    project = make_project(session, fin, prog)
    commitment = commit_money(session, fin, project, {2025: 100})
    session.commit()
    return {"prog": prog, "source": source, "project": project, "commitment": commitment}


def _project_row(base, **overrides) -> dict:
    row = {"programme_id": base["prog"].id, "code": "RAW1", "title": "Rauw", "summary": "", "category": "nieuw",
           "line": "zorg", "instrument": "subsidie", "status": "voorstel", "internal_notes": "",
           "contact_person": ""}
    row.update(overrides)
    return row


def _refused(session, statement, rows):
    with pytest.raises(IntegrityError):
        session.execute(statement, rows)
        session.flush()
    session.rollback()


def test_negative_amount_is_refused(session, base):
    _refused(session, insert(BudgetAllocation), [{"source_id": base["source"].id, "year": 2026, "amount": -1}])


def test_unknown_codes_are_refused(session, base):
    _refused(session, insert(Project), [_project_row(base, category="geheim")])
    _refused(session, insert(Project), [_project_row(base, status="zomaar")])
    _refused(session, insert(FundingSource), [{"programme_id": base["prog"].id, "name": "X", "kind": "gratis",
                                               "reference": ""}])


def test_orphan_foreign_key_is_refused(session, base):
    _refused(session, insert(Project), [_project_row(base, programme_id=9999)])
    _refused(session, insert(Payment), [{"commitment_id": 9999, "date": date(2025, 1, 1), "amount": 1,
                                         "kind": "betaling", "description": ""}])


def test_other_invalid_rows_are_refused(session, base):
    _refused(session, insert(Project), [_project_row(base, start_date=date(2025, 2, 1),
                                                     end_date=date(2025, 1, 31))])
    _refused(session, insert(BudgetAllocation), [{"source_id": base["source"].id, "year": 1850, "amount": 1}])
    _refused(session, insert(BudgetMutation), [{"programme_id": base["prog"].id, "year": 2025, "amount": 5,
                                                "kind": "technisch", "moment": "intern", "reason": "  ",
                                                "reference": "", "date": date(2025, 1, 1)}])
    # A refund is negative, a payment positive: the sign must match the kind.
    _refused(session, insert(Payment), [{"commitment_id": base["commitment"].id, "date": date(2025, 1, 1),
                                         "amount": 5, "kind": "terugbetaling", "description": ""}])


def test_audit_entries_cannot_be_changed_or_deleted(session, base):
    for statement in ("UPDATE audit_entry SET action = 'vervalst'", "DELETE FROM audit_entry"):
        with pytest.raises(Exception, match="append-only"):
            session.execute(text(statement))
            session.flush()
        session.rollback()
