"""The write lock: a rule check and the write that depends on it run as one serialised step."""
from __future__ import annotations

from sqlalchemy import text
from sqlalchemy.orm import scoped_session

#: PostgreSQL advisory lock key shared with the audit chain (core.audit): every write appends to
#: the one chain, so writes are serialised there anyway; one lock for both cannot deadlock.
WRITE_LOCK = 7_424_711
#: How long a writer waits for another before it is told to try again (core.web: 503).
LOCK_TIMEOUT_SECONDS = 15
_HELD = "programmamonitor.write_lock"


def serialise(session) -> None:
    """Take the database-wide write lock for the rest of this transaction (idempotent).

    Call it before reading the figures a rule checks: until commit or rollback no other
    transaction can write, so the check still holds when the write lands. PostgreSQL takes a
    transaction-scoped advisory lock; SQLite starts the transaction with BEGIN IMMEDIATE (its
    database-wide write lock), unless this transaction has already written and holds it.
    Objects loaded before the lock are expired, so rules see what other writers committed.
    """
    if isinstance(session, scoped_session):
        session = session()
    if session.info.get(_HELD) is session.get_transaction():
        return
    session.flush()
    connection = session.connection()
    if connection.dialect.name == "postgresql":
        connection.execute(text(f"SET LOCAL lock_timeout = '{LOCK_TIMEOUT_SECONDS}s'"))
        connection.execute(text("SELECT pg_advisory_xact_lock(:key)"), {"key": WRITE_LOCK})
    elif connection.dialect.name == "sqlite":
        # pysqlite opens a transaction only at the first INSERT/UPDATE/DELETE; once it has,
        # this connection already holds SQLite's write lock.
        if not connection.connection.driver_connection.in_transaction:
            connection.exec_driver_sql(f"PRAGMA busy_timeout = {LOCK_TIMEOUT_SECONDS * 1000}")
            connection.exec_driver_sql("BEGIN IMMEDIATE")
    session.info[_HELD] = session.get_transaction()
    session.expire_all()


def is_busy(error) -> bool:
    """Whether a database error means another writer held the write lock longer than we wait."""
    orig = getattr(error, "orig", None)
    # PostgreSQL: lock_timeout (55P03); SQLite: busy_timeout ran out ("database is locked").
    return getattr(orig, "sqlstate", None) == "55P03" or "database is locked" in str(orig).lower()
