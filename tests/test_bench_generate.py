"""bench.generate: deterministic per seed, the asked-for shape, and a database the app keeps working on."""
from __future__ import annotations

from sqlalchemy import func, select

from bench.generate import generate
from budget.models import Commitment, Payment
from core.db import db
from projects.models import Programme, Project
from tests.factories import make_project, make_user

TABLES = ("programme", "project", "commitment", "commitment_schedule", "payment", "status_update",
          "budget_allocation", "budget_mutation", "staffing_reservation", "staffing_cost")


def _content(session) -> dict[str, list]:
    # Every column but the clock and the ids the database hands out itself (compared in key order).
    out = {}
    for table in TABLES:
        t = db.metadata.tables[table]
        cols = [c for c in t.c if c.name != "created_at"
                and (c.name != "id" or table in ("programme", "project", "commitment"))]
        out[table] = [tuple(r) for r in session.execute(select(*cols).order_by(*t.primary_key.columns))]
    return out


def test_the_same_seed_gives_the_same_portfolio(session, other_app):
    counts = generate(session, 60, 2, seed=7)
    session.commit()
    first = _content(session)
    with other_app.app_context():
        assert generate(db.session, 60, 2, seed=7) == counts
        db.session.commit()
        assert _content(db.session) == first
        db.session.rollback()
    assert counts["project"] == 60 and counts["programme"] == 2
    per_programme = dict(session.execute(
        select(Project.programme_id, func.count()).group_by(Project.programme_id)).all())
    assert sorted(per_programme.values()) == [30, 30]


def test_the_shape_is_a_realistic_portfolio(session):
    counts = generate(session, 400, 1, seed=3)
    session.commit()
    # About three commitments per project and about eight payments per commitment, over ten years.
    assert 2.2 <= counts["commitment"] / counts["project"] <= 3.6
    assert 6.5 <= counts["payment"] / counts["commitment"] <= 9.5
    years = session.execute(select(func.min(Payment.date), func.max(Payment.date))).one()
    assert years[0].year == 2016 and years[1].year == 2025
    # No commitment is overpaid: payments stay within its total.
    over = session.scalar(
        select(func.count()).select_from(
            select(Commitment.id).join(Payment).group_by(Commitment.id, Commitment.total)
            .having(func.sum(Payment.amount) > Commitment.total).subquery()))
    assert over == 0


def test_the_app_adds_rows_after_a_generated_portfolio(session):
    # On PostgreSQL the generator writes explicit ids; the next id the app asks for must be free.
    generate(session, 30, 1, seed=5)
    session.commit()
    programme = session.scalar(select(Programme))
    project = make_project(session, make_user(session, "financieel"), programme, code="NA-GENERATE")
    session.commit()
    assert project.id > session.scalar(select(func.max(Project.id).filter(Project.code != "NA-GENERATE")))


def test_an_export_of_a_generated_portfolio_passes_the_import(session, other_app):
    """Every generated date is plausible (no payment after today or before its signing), so B4 can import it."""
    from core.users import User, create_user
    from imports.cli import IMPORT_ACTOR
    from imports.services import run_import
    from imports.writer import export_bytes
    from tests.factories import PASSWORD

    generate(session, 30, 1, seed=5)
    session.commit()
    data = export_bytes(session, session.scalar(select(Programme)))
    users = [(u.email, u.name, u.role) for u in session.scalars(select(User))]
    with other_app.app_context():
        for email, name, role in users:
            create_user(db.session, IMPORT_ACTOR, email, name, role, PASSWORD)
        db.session.commit()
        result = run_import(db.session, IMPORT_ACTOR, data, dry_run=True)
        db.session.rollback()
        assert result.errors == []
