"""core.bulk.insert_rows stores exactly what the ORM stores for the same values."""
from __future__ import annotations

from datetime import datetime, timezone

from sqlalchemy import text

from core.audit import AuditEntry
from core.bulk import insert_rows


def test_bulk_row_is_stored_like_an_orm_row(session):
    # An aware datetime is the case that differs: SQLite's driver adapter would keep "+00:00",
    # SQLAlchemy's DATETIME binds naive UTC text, which the rest of the app reads and compares.
    at = datetime(2026, 3, 1, 12, 30, 15, 123456, tzinfo=timezone.utc)
    fields = {"at": at, "actor_id": None, "actor_label": "systeem", "action": "test", "entity": "X",
              "entity_id": 1, "changes": '{"bedrag":"12.50"}', "prev_hash": "0" * 64}
    session.add(AuditEntry(id=1, entry_hash="a" * 64, **fields))
    session.flush()
    assert insert_rows(session, AuditEntry.__table__, [{"id": 2, "entry_hash": "b" * 64, **fields}]) == 1
    raw = session.execute(text("SELECT CAST(at AS TEXT), changes FROM audit_entry ORDER BY id")).all()
    assert raw[0] == raw[1]
    assert [e.at for e in session.query(AuditEntry).order_by(AuditEntry.id)][0] == \
        [e.at for e in session.query(AuditEntry).order_by(AuditEntry.id)][1]
    session.rollback()
