"""Bulk writing for the import: ids handed out up front, rows written in bulk (core.bulk)."""
from __future__ import annotations

from collections.abc import Callable, Iterable

from sqlalchemy import func, select, text

from core.bulk import insert_rows


def reserve_ids(session, table, n: int) -> list[int]:
    """`n` fresh primary keys for `table`, so rows can point at each other before they are written.

    PostgreSQL takes them from the table's own sequence (safe alongside other writers); SQLite
    has one writer at a time, so the next ids after the current maximum are free.
    """
    if n <= 0:
        return []
    if session.get_bind().dialect.name == "postgresql":
        return list(session.scalars(text("SELECT nextval(pg_get_serial_sequence(:table, 'id')) "
                                         "FROM generate_series(1, :n)"), {"table": f'"{table.name}"', "n": n}))
    start = (session.scalar(select(func.max(table.c.id))) or 0) + 1
    return list(range(start, start + n))


def write_rows(session, table, rows: Iterable[dict], progress: Callable[[int], None] | None = None) -> int:
    """INSERT every row (dicts with the same keys) in bulk; `progress(n)` after each batch."""
    return insert_rows(session, table, rows, progress)
