"""Bulk inserts for large writes (the import): COPY on PostgreSQL, executemany batches elsewhere."""
from __future__ import annotations

from collections.abc import Callable, Iterable

#: Rows per batch: big enough to amortise round trips, small enough to keep memory flat.
BATCH = 2000


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
        for row in _chain(first, iterator):
            copy.write_row([value if proc is None or value is None else proc(value)
                            for value, proc in zip((row[name] for name in columns), processors)])
            count += 1
            if progress and count % BATCH == 0:
                progress(BATCH)
    if progress and count % BATCH:
        progress(count % BATCH)
    return count


def _chain(first, rest):
    yield first
    yield from rest
