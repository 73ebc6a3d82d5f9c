"""Bulk inserts for large writes (the import): COPY on PostgreSQL, executemany batches elsewhere."""
from __future__ import annotations

import itertools
import operator
from collections.abc import Callable, Iterable, Iterator

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

    Rows name every column they fill: column defaults are not applied. The values pass through
    the columns' own bind processing (Money -> cents, dates -> text on SQLite) and then straight
    to the driver: COPY on PostgreSQL (several times faster than multi-row INSERTs for hundreds
    of thousands of rows), executemany of plain tuples elsewhere (SQLAlchemy's per-row parameter
    handling of a compiled insert cost more than SQLite's own work). `progress(n)` is called
    after each batch of n rows.
    """
    connection = session.connection()
    iterator = iter(rows)
    first = next(iterator, None)
    if first is None:
        return 0
    columns = list(first)
    values = _bound_values(connection, table, columns, itertools.chain([first], iterator))
    if connection.dialect.name == "postgresql":
        return _copy(connection, table, columns, values, progress)
    names = ", ".join(f'"{name}"' for name in columns)
    statement = f'INSERT INTO "{table.name}" ({names}) VALUES ({", ".join("?" * len(columns))})'
    count = 0
    while batch := list(itertools.islice(values, BATCH)):
        connection.exec_driver_sql(statement, batch)
        count += len(batch)
        if progress:
            progress(len(batch))
    return count


def _bound_values(connection, table, columns: list[str], rows: Iterable[dict]) -> Iterator[tuple]:
    """Each row as a tuple of database values, in `columns` order, as the columns' types bind them."""
    # The dialect's own type (SQLite's DATETIME, not the generic DateTime): what a compiled insert binds with.
    processors = [(i, proc) for i, proc in enumerate(
        table.c[name].type.dialect_impl(connection.dialect).bind_processor(connection.dialect) for name in columns)
        if proc is not None]
    values_of = operator.itemgetter(*columns)
    # A bulk write stamps every row with one moment (created_at, an audit entry's at): each
    # column remembers its last value, so that moment is formatted once, not once per row.
    last_in: dict[int, object] = {}
    last_out: dict[int, object] = {}
    for row in rows:
        values = values_of(row)
        if len(columns) == 1:
            values = (values,)
        if processors:
            values = list(values)
            for i, proc in processors:
                value = values[i]
                if value is None:
                    continue
                if value is not last_in.get(i):
                    last_in[i], last_out[i] = value, proc(value)
                values[i] = last_out[i]
        yield tuple(values)


def _copy(connection, table, columns: list[str], values: Iterator[tuple], progress) -> int:
    names = ", ".join(f'"{name}"' for name in columns)
    count = 0
    driver = connection.connection.driver_connection
    with driver.cursor() as cursor, cursor.copy(f'COPY "{table.name}" ({names}) FROM STDIN') as copy:
        for value in values:
            copy.write_row(value)
            count += 1
            if progress and count % BATCH == 0:
                progress(BATCH)
    if progress and count % BATCH:
        progress(count % BATCH)
    return count
