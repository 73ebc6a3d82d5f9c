"""Backup and restore: a fresh database gets identical rows, money sums and a valid audit chain."""
from __future__ import annotations

from datetime import date
from decimal import Decimal as D

from sqlalchemy import func, select

from budget import services as budget
from budget.ledger import programme_figures
from budget.models import BudgetAllocation, CommitmentSchedule, Payment, StaffingReservation
from core.backup import _tables
from core.db import Base, db
from tests.factories import commit_money, fund, make_programme, make_project, make_user

MONEY = [BudgetAllocation.amount, CommitmentSchedule.amount, Payment.amount, StaffingReservation.amount]


def _populate(session):
    fin = make_user(session, "financieel")
    prog = make_programme(session, make_user(session, "beheerder"))
    fund(session, fin, prog, {2024: "2.000.000,01", 2025: "2.000.000", 2026: "1.999.999,99"})
    budget.set_staffing_reservation(session, fin, prog, year=2025, fte="1,8", amount="210.000,50")
    project = make_project(session, fin, prog, summary="Ééntje met ‘aanhalingstekens’")
    c = commit_money(session, fin, project, {2024: D("100000.10"), 2025: D("200000.20")}, signed=date(2024, 5, 1))
    budget.add_payment(session, fin, c, payment_date=date(2024, 6, 1), amount="50.000,05", kind="voorschot")
    budget.add_payment(session, fin, c, payment_date=date(2024, 7, 1), amount="0,05", kind="terugbetaling")
    session.commit()
    return prog


def _fingerprint(session, programme_code="TST"):
    from projects.models import Programme

    counts = {t.name: session.scalar(select(func.count()).select_from(t)) for t in _tables()}
    sums = [session.scalar(select(func.sum(col))) for col in MONEY]
    prog = session.scalar(select(Programme).where(Programme.code == programme_code))
    figures = programme_figures(session, prog.id, None, [2024, 2025, 2026])
    return counts, sums, figures


def test_backup_then_restore_gives_identical_rows_and_money(app, other_app, runner, session, tmp_path):
    _populate(session)
    before = _fingerprint(session)
    target = tmp_path / "backup.json.gz"
    result = runner.invoke(args=["backup", "create", str(target)])
    assert result.exit_code == 0, result.output
    with other_app.app_context():
        restored = other_app.test_cli_runner().invoke(args=["backup", "restore", str(target)])
        assert restored.exit_code == 0, restored.output
        assert "keten ongebroken" in restored.output
        after = _fingerprint(db.session)
        # New rows after a restore get fresh ids (PostgreSQL sequences were moved on).
        fin = make_user(db.session, "financieel")
        assert fin.id > before[0]["user"]
        db.session.rollback()
        db.session.remove()
    assert after == before


def test_restore_refuses_a_non_empty_database(app, runner, session, tmp_path):
    _populate(session)
    target = tmp_path / "backup.json.gz"
    runner.invoke(args=["backup", "create", str(target)])
    counts = {t.name: session.scalar(select(func.count()).select_from(t)) for t in Base.metadata.sorted_tables}
    result = runner.invoke(args=["backup", "restore", str(target)])
    assert result.exit_code != 0 and "niet leeg" in result.output
    session.rollback()
    assert {t.name: session.scalar(select(func.count()).select_from(t)) for t in Base.metadata.sorted_tables} \
        == counts


def test_restore_refuses_something_that_is_no_backup(runner, tmp_path):
    bogus = tmp_path / "geen-backup.json.gz"
    bogus.write_bytes(b"dit is geen gzip")
    result = runner.invoke(args=["backup", "restore", str(bogus)])
    assert result.exit_code != 0 and "geen leesbare back-up" in result.output
