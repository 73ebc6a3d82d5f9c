"""A project's status and existence at a peildatum: its latest update by then, else its creation status."""
from __future__ import annotations

from datetime import date, datetime, timedelta, timezone
from decimal import Decimal as D

import pytest
from sqlalchemy import insert, select, update

from budget import services as budget
from budget.overruns import end_of
from core.db import db
from core.errors import Conflict
from projects import services as portfolio
from projects.models import Project, StatusUpdate
from reports.queries import collect_state
from tests.factories import commit_money, fund, make_programme, make_project, make_user

PEIL = date(2025, 6, 30)


@pytest.fixture
def world(session):
    fin = make_user(session, "financieel")
    programme = make_programme(session, make_user(session, "beheerder"))  # 2024–2026
    fund(session, fin, programme, {2025: "1.000.000"})
    session.commit()
    return fin, programme


def _created(session, project, day: date) -> None:
    # The creation moment, as if the project had been entered that day (late in the evening, UTC).
    session.execute(update(Project).where(Project.id == project.id).values(
        created_at=end_of(day) - timedelta(minutes=1)))
    session.flush()


def _report(session, programme):
    state = collect_state(session, programme, PEIL, [2025])
    detail = state["detail"]["2025"]
    return ({p["code"]: p["status"] for p in detail["projects"]},
            {k: g["pipeline"] for k, g in detail["categories"].items()},
            sum(g["projects"] for g in detail["categories"].values()))


def test_status_and_existence_at_the_peildatum(session, world):
    fin, programme = world
    early = make_project(session, fin, programme, code="EARLY", requested_amount="10.000")
    _created(session, early, date(2025, 1, 1))
    late = make_project(session, fin, programme, code="LATE", requested_amount="20.000")
    _created(session, late, PEIL + timedelta(days=1))
    updated = make_project(session, fin, programme, code="UPD", category="lopend", requested_amount="30.000")
    _created(session, updated, PEIL + timedelta(days=5))  # entered late, but its history goes back
    portfolio.add_status_update(session, fin, updated, status="in_behandeling", rag="op_koers",
                                update_date=date(2025, 3, 1))
    portfolio.add_status_update(session, fin, updated, status="afgewezen", rag="op_koers",
                                update_date=date(2025, 7, 1))
    paid = make_project(session, fin, programme, code="MONEY", status="toegekend")
    _created(session, paid, PEIL + timedelta(days=2))
    commit_money(session, fin, paid, {2025: D("5000")}, signed=date(2025, 6, 1))
    session.commit()
    statuses, pipeline, count = _report(session, programme)
    # LATE did not exist at the peildatum; MONEY is there through its commitment, with its creation status.
    assert statuses == {"EARLY": "voorstel", "UPD": "in_behandeling", "MONEY": "toegekend"}
    assert pipeline == {"nieuw": "10000.00", "lopend": "30000.00"}
    assert count == 3
    # On the day itself: a project created on the peildatum counts.
    _created(session, late, PEIL)
    session.commit()
    assert "LATE" in _report(session, programme)[0]


def test_ties_on_a_day_go_to_the_later_update(session, world):
    fin, programme = world
    project = make_project(session, fin, programme, code="TIE")
    for status in ("in_behandeling", "afgewezen"):
        portfolio.add_status_update(session, fin, project, status=status, rag="op_koers", update_date=PEIL)
    session.commit()
    assert "TIE" not in _report(session, programme)[0]  # afgewezen without money: left out


def test_a_status_update_in_a_closed_period_is_refused(session, world):
    fin, programme = world
    project = make_project(session, fin, programme, code="CLOSED")
    budget.close_period(session, fin, programme, PEIL)
    session.commit()
    with pytest.raises(Conflict, match="De periode t/m 30 juni 2025 is afgesloten"):
        portfolio.add_status_update(session, fin, project, status="in_behandeling", rag="op_koers",
                                    update_date=PEIL)
    session.rollback()
    portfolio.add_status_update(session, fin, project, status="in_behandeling", rag="op_koers",
                                update_date=PEIL + timedelta(days=1))
    session.commit()


def test_migration_0015_fills_the_creation_status(app, session, world):
    import flask_migrate

    fin, programme = world
    audited = make_project(session, fin, programme, code="AUD", status="toegekend")
    portfolio.add_status_update(session, fin, audited, status="in_uitvoering", rag="op_koers",
                                update_date=PEIL)
    # Two rows without an audit entry of creation (written around the services): one never updated,
    # one with an update.
    for pid, code, status in ((9001, "BARE", "in_behandeling"), (9002, "WALKED", "afgerond")):
        session.execute(insert(Project).values(id=pid, programme_id=programme.id, code=code, title=code,
                                               category="nieuw", line="zorg", instrument="subsidie", status=status,
                                               initial_status=status, created_at=datetime.now(timezone.utc)))
    session.execute(insert(StatusUpdate).values(project_id=9002, date=PEIL, status="afgerond", rag="op_koers"))
    session.commit()
    session.remove()
    flask_migrate.downgrade(revision="0014")
    flask_migrate.upgrade()
    found = dict(db.session.execute(select(Project.code, Project.initial_status)).all())
    assert found == {"AUD": "toegekend", "BARE": "in_behandeling", "WALKED": "voorstel"}


def test_a_bulk_insert_without_initial_status_takes_the_rows_status(session):
    from bench.generate import generate

    generate(session, 40, 1, seed=5)
    session.commit()
    pairs = session.execute(select(Project.status, Project.initial_status)).all()
    assert len(pairs) == 40 and all(status == initial for status, initial in pairs)
