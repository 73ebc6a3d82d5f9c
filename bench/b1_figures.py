"""B1: the dashboard's figures for one programme-year vs one hand-written SQL query giving the same numbers."""
from __future__ import annotations

from datetime import date
from decimal import Decimal

from sqlalchemy import text

from bench.common import Ctx, app_for, compare, row

YEAR, PEILDATUM = 2025, date(2025, 9, 30)

# The floor: every figure as a scalar subquery of one statement, straight on the cents columns.
HAND_WRITTEN = text("""
SELECT
  (SELECT COALESCE(SUM(a.amount), 0) FROM budget_allocation a JOIN funding_source s ON a.source_id = s.id
    WHERE s.programme_id = :p AND a.year = :y AND s.kind = 'structureel') AS structural,
  (SELECT COALESCE(SUM(a.amount), 0) FROM budget_allocation a JOIN funding_source s ON a.source_id = s.id
    WHERE s.programme_id = :p AND a.year = :y AND s.kind = 'incidenteel') AS incidental,
  (SELECT COALESCE(SUM(m.amount), 0) FROM budget_mutation m
    WHERE m.programme_id = :p AND m.year = :y AND m.date <= :d) AS mutations,
  (SELECT COALESCE(SUM(r.amount), 0) FROM staffing_reservation r
    WHERE r.programme_id = :p AND r.year = :y) AS staffing,
  (SELECT COALESCE(SUM(cs.amount), 0) FROM commitment_schedule cs
    JOIN commitment c ON cs.commitment_id = c.id JOIN project pr ON c.project_id = pr.id
    WHERE pr.programme_id = :p AND cs.year = :y AND c.signed_date <= :d)
  + (SELECT COALESCE(SUM(ca.amount), 0) FROM commitment_adjustment ca
    JOIN commitment c ON ca.commitment_id = c.id JOIN project pr ON c.project_id = pr.id
    WHERE pr.programme_id = :p AND ca.year = :y AND ca.date <= :d) AS committed_projects,
  (SELECT COALESCE(SUM(pa.amount), 0) FROM payment pa
    JOIN commitment c ON pa.commitment_id = c.id JOIN project pr ON c.project_id = pr.id
    WHERE pr.programme_id = :p AND pa.date >= :y0 AND pa.date <= :d)
  + (SELECT COALESCE(SUM(sc.amount), 0) FROM staffing_cost sc
    JOIN staffing_reservation r ON sc.reservation_id = r.id
    WHERE r.programme_id = :p AND sc.date >= :y0 AND sc.date <= :d) AS paid
""")
FIELDS = ("structural", "incidental", "mutations", "staffing", "committed_projects", "paid")


def run(ctx: Ctx) -> list[dict]:
    from budget.ledger import year_figures
    from core.db import db

    app = app_for(ctx.url)
    params = {"p": ctx.programme_id, "y": YEAR, "d": PEILDATUM, "y0": date(YEAR, 1, 1)}
    with app.app_context():
        session = db.session

        def product():
            # Fresh identity map each time: the dashboard's request starts without cached objects.
            session.expire_all()
            return year_figures(session, ctx.programme_id, YEAR, PEILDATUM)

        def floor():
            return session.execute(HAND_WRITTEN, params).one()

        ours, theirs = product(), floor()
        expected = {f: Decimal(getattr(theirs, f)) / 100 for f in FIELDS}
        got = {f: getattr(ours, f) for f in FIELDS}
        if got != expected:
            raise AssertionError(f"B1: de cijfers verschillen van de handgeschreven SQL: {got} != {expected}")
        value, floor_s = compare(product, floor, repeat=15, warmup=2)
        session.rollback()
        db.engine.dispose()
    return [row("B1 dashboardcijfers programmajaar", ctx, value, floor_s, 2.0)]
