"""Bulk inserts for large writes (the import): COPY on PostgreSQL, executemany batches elsewhere."""
from __future__ import annotations

import itertools
from collections.abc import Callable, Iterable

from sqlalchemy import func, select, text

#: Rows per batch: big enough to amortise round trips, small enough to keep memory flat.
BATCH = 2000


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


def advance_id_sequences(session, tables) -> None:
    """Move PostgreSQL's id sequences past rows that were inserted with explicit ids.

    A sequence does not notice explicit ids; without this the next row the app adds itself would
    collide with one of them. SQLite takes max(id) + 1 by itself and needs nothing.
    """
    if session.get_bind().dialect.name != "postgresql":
        return
    for table in tables:
        pk = list(table.primary_key.columns)
        if len(pk) == 1 and pk[0].autoincrement in (True, "auto") and pk[0].type.python_type is int:
            session.execute(text(
                f"SELECT setval(pg_get_serial_sequence('\"{table.name}\"', '{pk[0].name}'), "
                f"COALESCE((SELECT MAX(\"{pk[0].name}\") FROM \"{table.name}\"), 0) + 1, false)"))


def insert_rows(session, table, rows: Iterable[dict], progress: Callable[[int], None] | None = None) -> int:
    """INSERT every row (dicts with the same keys) inside the session's transaction; returns the count.

    PostgreSQL gets COPY (several times faster than multi-row INSERTs for hundreds of thousands
    of rows); the values pass through the columns' own bind processing (Money -> cents) first.
    `progress(n)` is called after each batch of n rows.
    """
    connection = session.connection()
    if connection.dialect.name == "postgresql":
        return _copy(connection, table, rows, progress)
    batch, count = [], 0
    for row in rows:
        batch.append(row)
        if len(batch) >= BATCH:
            connection.execute(table.insert(), batch)
            count += len(batch)
            if progress:
                progress(len(batch))
            batch = []
    if batch:
        connection.execute(table.insert(), batch)
        count += len(batch)
        if progress:
            progress(len(batch))
    return count


def _copy(connection, table, rows: Iterable[dict], progress) -> int:
    iterator = iter(rows)
    first = next(iterator, None)
    if first is None:
        return 0
    columns = list(first)
    processors = [table.c[name].type.bind_processor(connection.dialect) for name in columns]
    names = ", ".join(f'"{name}"' for name in columns)
    count = 0
    driver = connection.connection.driver_connection
    with driver.cursor() as cursor, cursor.copy(f'COPY "{table.name}" ({names}) FROM STDIN') as copy:
        for row in itertools.chain([first], iterator):
            copy.write_row([value if proc is None or value is None else proc(value)
                            for value, proc in zip((row[name] for name in columns), processors)])
            count += 1
            if progress and count % BATCH == 0:
                progress(BATCH)
    if progress and count % BATCH:
        progress(count % BATCH)
    return count
