"""The demo programme STM: loaded by `flask demo load` through the services, complete, within budget, once."""
from __future__ import annotations

import json
import re
from datetime import date
from decimal import Decimal

import pytest
from sqlalchemy import func, inspect, select, text

import budget.demo as demo
from budget.demo import DEMO_ACTOR, load_demo, status_path
from budget.ledger import programme_figures
from budget.models import BudgetMutation, Commitment, CommitmentAdjustment, Payment, StaffingCost, StaffingReservation
from core.audit import AuditEntry
from core.db import db
from core.users import User
from projects.models import CATEGORIES, LINES, PIPELINE_STATUSES, Programme, Project, StatusUpdate

LOGIN = re.compile(r"^\s+(\S+@demo\.example)\s+rol: (\w+)\s+wachtwoord: (\S+)\s*$", re.MULTILINE)
YEARS = range(2023, 2029)
#: The demo's "today": nothing in the data file may be dated after it.
DEMO_TODAY = date(2026, 11, 29)


@pytest.fixture
def loaded(runner):
    result = runner.invoke(args=["demo", "load", "--with-users"])
    assert result.exit_code == 0, result.output
    return result


def _programme(session) -> Programme:
    return session.scalar(select(Programme).where(Programme.code == "STM"))


def _row_counts(session) -> dict[str, int]:
    names = inspect(db.engine).get_table_names()
    return {name: session.execute(text(f'SELECT COUNT(*) FROM "{name}"')).scalar_one() for name in names}


def test_load_prints_summary_and_logins_that_work(loaded, client):
    out = loaded.output
    assert "Demoprogramma STM 'Samen tegen mensenhandel' geladen" in out
    logins = LOGIN.findall(out)
    assert len(logins) >= 4
    assert {role for _email, role, _pw in logins} == {"beheerder", "financieel", "projectleider", "lezer"}
    assert {email for email, _role, _pw in logins} >= {
        "beheerder@demo.example", "financieel@demo.example", "projectleider@demo.example",
        "projectleider2@demo.example", "lezer@demo.example"}
    assert all(len(pw) >= 12 for _email, _role, pw in logins)
    assert len({pw for _email, _role, pw in logins}) == len(logins)
    assert out.count("alleen nu getoond") == 1
    for email, _role, password in logins:
        response = client.post("/login", data={"email": email, "password": password})
        assert response.status_code == 302, email
        client.post("/logout")
    wrong = client.post("/login", data={"email": logins[0][0], "password": "niet-het-wachtwoord"})
    assert wrong.status_code != 302


def test_demo_content(loaded, session):
    """One load, every check of the data (a load takes seconds, so the checks share it)."""
    _programme_and_funding(session)
    _portfolio_covers_every_category_and_line(session)
    _lifecycle_examples(session)
    _money_examples(session)
    _nothing_dated_after_demo_today(session)
    _every_year_fits_the_budget(session)


def _programme_and_funding(session):
    programme = _programme(session)
    assert (programme.name, programme.ministry, programme.first_year, programme.last_year) == (
        "Samen tegen mensenhandel", "Ministerie van Justitie en Veiligheid", 2023, 2028)
    assert programme.budget_article.startswith("33")
    figures = programme_figures(session, programme.id, None, YEARS)
    assert all(figures[y].structural == Decimal("2000000.00") for y in YEARS)
    assert [figures[y].incidental for y in YEARS] == [Decimal(0), *[Decimal("500000.00")] * 4, Decimal(0)]
    reservations = session.scalars(select(StaffingReservation).where(
        StaffingReservation.programme_id == programme.id)).all()
    assert sorted(r.year for r in reservations) == list(YEARS)
    assert all(r.fte > 0 and r.amount > 0 for r in reservations)
    assert session.scalar(select(func.count(StaffingCost.id))) >= 12


def _portfolio_covers_every_category_and_line(session):
    projects = session.scalars(select(Project).where(Project.programme_id == _programme(session).id)).all()
    assert len(projects) >= 24
    assert {(p.category, p.line) for p in projects} == {(c, line) for c in CATEGORIES for line in LINES}
    assert all(p.form_codes and p.organisation_id and p.summary and p.requested_amount for p in projects)
    assert any(len(p.form_codes) > 1 for p in projects)
    assert len({p.organisation_id for p in projects}) >= 8
    assert all(p.updates for p in projects)
    # Every status was reached through the lifecycle: the last update carries the project's status.
    assert all(p.updates[-1].status == p.status for p in projects)
    owners = {p.owner.email for p in projects if p.owner is not None}
    assert owners == {"projectleider@demo.example", "projectleider2@demo.example"}


def _lifecycle_examples(session):
    projects = {p.code: p for p in session.scalars(select(Project))}
    committed = set(session.scalars(select(Commitment.project_id)))
    rejected = [p for p in projects.values() if p.status == "afgewezen"]
    assert rejected and all(p.id not in committed for p in rejected)
    pipeline = [p for p in projects.values() if p.status in PIPELINE_STATUSES]
    assert len(pipeline) >= 3
    assert all(p.id not in committed and p.requested_amount > 0 for p in pipeline)
    followups = [p for p in projects.values() if p.category == "vervolg"]
    assert followups and all(p.predecessor is not None for p in followups)
    assert any(p.predecessor.category == "lopend" and p.predecessor.status == "afgerond" for p in followups)
    for status in ("toegekend", "in_uitvoering", "afgerond"):
        running = [p for p in projects.values() if p.status == status]
        assert running and all(p.id in committed for p in running)


def _money_examples(session):
    kinds = set(session.scalars(select(Payment.kind)))
    assert kinds == {"voorschot", "betaling", "eindbetaling", "terugbetaling"}
    refunds = session.scalars(select(Payment).where(Payment.kind == "terugbetaling")).all()
    assert refunds and all(r.amount < 0 for r in refunds)
    adjustments = session.scalars(select(CommitmentAdjustment)).all()
    assert any(a.amount < 0 and a.reason.strip() for a in adjustments)
    multi_year = session.scalars(select(Commitment)).all()
    assert any(len(c.schedule) >= 3 for c in multi_year)

    mutations = session.scalars(select(BudgetMutation)).all()
    groups: dict[str, list[BudgetMutation]] = {}
    for m in mutations:
        if m.kind == "kasschuif":
            groups.setdefault(m.kasschuif_group, []).append(m)
    assert groups
    for rows in groups.values():
        assert len({m.year for m in rows}) >= 2
        assert sum(m.amount for m in rows) == 0
    assert any(m.moment == "voorjaarsnota" and m.kind != "kasschuif" and m.amount > 0 for m in mutations)


def _nothing_dated_after_demo_today(session):
    for column in (Payment.date, StaffingCost.date, Commitment.signed_date, CommitmentAdjustment.date,
                   BudgetMutation.date, StatusUpdate.date):
        assert session.scalar(select(func.max(column))) <= DEMO_TODAY, column


def _every_year_fits_the_budget(session):
    figures = programme_figures(session, _programme(session).id, None, YEARS)
    for year in YEARS:
        assert figures[year].free >= 0, year
        assert figures[year].committed > figures[year].staffing, year
    for year in range(2023, 2027):
        assert Decimal("0.6") <= figures[year].pct_committed <= Decimal("0.9"), year
    for year in (2027, 2028):
        assert figures[year].pct_committed < figures[2026].pct_committed


def test_loading_again_changes_nothing(loaded, runner, session):
    before = _row_counts(session)
    assert before["audit_entry"] > 0
    for args in (["demo", "load", "--with-users"], ["demo", "load"]):
        result = runner.invoke(args=args)
        assert result.exit_code == 0, result.output
        assert "Demoprogramma STM is al geladen; er is niets gewijzigd." in result.output
        assert not LOGIN.findall(result.output)
        session.expire_all()
        assert _row_counts(session) == before
    result = runner.invoke(args=["demo", "load", "--if-empty", "--with-users"])
    assert result.exit_code == 0, result.output
    assert "Database is niet leeg; demo niet geladen." in result.output
    assert _row_counts(session) == before


def test_if_empty_loads_an_empty_database_without_users(runner, session):
    result = runner.invoke(args=["demo", "load", "--if-empty"])
    assert result.exit_code == 0, result.output
    assert _programme(session) is not None
    assert session.scalar(select(func.count(User.id))) == 0
    assert session.scalar(select(func.count(Project.id)).where(Project.owner_id.is_not(None))) == 0
    assert not LOGIN.findall(result.output)


def test_loader_is_audited_and_never_commits(session):
    result = load_demo(session, with_users=False)
    assert result["loaded"] and result["users"] == []
    counts = result["counts"]
    assert counts["projects"] >= 24 and counts["payments"] > 0 and counts["commitments"] > 0
    labels = set(session.scalars(select(AuditEntry.actor_label)))
    assert labels == {DEMO_ACTOR.email}
    entities = set(session.scalars(select(AuditEntry.entity)))
    assert {"Programme", "Project", "Commitment", "Payment", "BudgetMutation", "StatusUpdate"} <= entities
    session.rollback()  # nothing was committed, so nothing remains
    assert session.scalar(select(func.count(Programme.id))) == 0
    assert session.scalar(select(func.count(AuditEntry.id))) == 0


def test_existing_user_keeps_its_password(session):
    from core.users import create_user

    create_user(session, DEMO_ACTOR, "lezer@demo.example", "Bestaande Lezer", "lezer", "bestaand-wachtwoord")
    result = load_demo(session, with_users=True)
    assert "lezer@demo.example" not in [email for email, _role, _pw in result["users"]]
    user = session.scalar(select(User).where(User.email == "lezer@demo.example"))
    assert user.name == "Bestaande Lezer" and user.check_password("bestaand-wachtwoord")


def test_domain_error_is_a_clear_message_and_rolls_back(runner, session, tmp_path, monkeypatch):
    data = json.loads(demo.DEFAULT_PATH.read_text(encoding="utf-8"))
    # A commitment far beyond the budget: the budget stop refuses it, so nothing may remain.
    data["projects"][0]["commitments"][0].update(total="9.000.000", schedule={"2023": "9.000.000"})
    bad = tmp_path / "stm.json"
    bad.write_text(json.dumps(data), encoding="utf-8")
    monkeypatch.setattr(demo, "DEFAULT_PATH", bad)
    result = runner.invoke(args=["demo", "load", "--with-users"])
    assert result.exit_code == 1
    assert "Budgetstop" in result.output and "2023" in result.output
    assert "Traceback" not in result.output
    assert session.scalar(select(func.count(Programme.id))) == 0
    assert session.scalar(select(func.count(AuditEntry.id))) == 0


def test_status_path_follows_the_lifecycle():
    assert status_path("voorstel", "afgerond") == ["in_behandeling", "toegekend", "in_uitvoering", "afgerond"]
    assert status_path("voorstel", "afgewezen") == ["afgewezen"]
    assert status_path("in_behandeling", "in_uitvoering") == ["toegekend", "in_uitvoering"]
    with pytest.raises(ValueError):
        status_path("afgerond", "voorstel")
