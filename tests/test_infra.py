"""Smoke test of the test infrastructure: the migrations build the schema the fixtures hand out."""
from sqlalchemy import inspect, text

from core.db import db


def test_migrated_schema_has_tables(app, session):
    tables = set(inspect(db.engine).get_table_names())
    expected = {"programme", "project", "commitment", "payment", "audit_entry", "user"}
    assert expected <= tables, f"ontbrekende tabellen: {sorted(expected - tables)}"
    # Exactly one row: the migrations ran to a single head.
    assert session.execute(text("SELECT COUNT(*) FROM alembic_version")).scalar_one() == 1
