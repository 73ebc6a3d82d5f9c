"""Database plumbing: typed declarative Base, constraint naming, Flask-SQLAlchemy session."""
from __future__ import annotations

import sqlite3
from datetime import datetime, timezone
from decimal import Decimal

from flask_sqlalchemy import SQLAlchemy
from sqlalchemy import MetaData, event
from sqlalchemy.engine import Engine
from sqlalchemy.orm import DeclarativeBase, registry

from core.locking import LOCK_TIMEOUT_SECONDS
from core.money import Money

NAMING_CONVENTION = {
    "ix": "ix_%(column_0_label)s",
    "uq": "uq_%(table_name)s_%(column_0_N_name)s",
    "ck": "ck_%(table_name)s_%(constraint_name)s",
    "fk": "fk_%(table_name)s_%(column_0_name)s_%(referred_table_name)s",
    "pk": "pk_%(table_name)s",
}


class Base(DeclarativeBase):
    """Typed base: a bare `Mapped[Decimal]` is money in cents, never a float column."""

    registry = registry(
        metadata=MetaData(naming_convention=NAMING_CONVENTION),
        type_annotation_map={Decimal: Money()},
    )


db = SQLAlchemy(model_class=Base, session_options={"expire_on_commit": False})


def utcnow() -> datetime:
    """Aware UTC now; a callable so defaults are evaluated per row, not at import."""
    return datetime.now(timezone.utc)


@event.listens_for(Engine, "connect")
def _connection_settings(dbapi_connection, connection_record):
    if type(dbapi_connection).__module__.startswith("psycopg"):
        # PostgreSQL's JIT compiles a statement whose estimated cost is high, such as the report's
        # project rows with their correlated subqueries: ~20 ms of compiling for a 45 ms query.
        # The app's statements are all short, so JIT never pays for itself. Autocommit for the
        # SET, or the pool's rollback of the first transaction would undo it.
        autocommit = dbapi_connection.autocommit
        dbapi_connection.autocommit = True
        with dbapi_connection.cursor() as cursor:
            cursor.execute("SET jit = off")
        dbapi_connection.autocommit = autocommit
    # SQLite ignores foreign keys unless every connection asks for them.
    if isinstance(dbapi_connection, sqlite3.Connection):
        cursor = dbapi_connection.cursor()
        cursor.execute("PRAGMA foreign_keys=ON")
        # SQLite's default page cache is 2 MB: a report over a large programme then reads the
        # payment index from the OS again for every aggregate. 32 MB (a cap, filled only as pages
        # are read) keeps a 10,000-project database's hot indexes in the connection: ~10% less SQL time.
        cursor.execute("PRAGMA cache_size=-32768")
        # A writer waits this long for another's write lock (core.locking) before it gives up
        # with "database is locked", which core.web turns into a Dutch "probeer het opnieuw".
        cursor.execute(f"PRAGMA busy_timeout = {LOCK_TIMEOUT_SECONDS * 1000}")
        cursor.close()
