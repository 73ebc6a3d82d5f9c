"""Shared fixtures: every test gets a freshly migrated, empty database on SQLite or PostgreSQL."""
from __future__ import annotations

import itertools
import os
import secrets
import shutil
from collections.abc import Iterator
from datetime import date
from pathlib import Path

# Authlib puts an "always show" filter for its deprecation warnings in front of every other at its import.
# Imported here, before the tests are collected, so pytest.ini's filters (applied per collection and test)
# come before it.
import authlib.deprecate  # noqa: F401
import flask_migrate
import psycopg
import pytest
from hypothesis import settings
from sqlalchemy import text
from sqlalchemy.engine import make_url

from flask import g, request_started
from flask.testing import FlaskClient

from app import create_app
from core.db import db
from tests.server import AUDIT_KEY

# Property tests touch the database, whose speed varies too much for Hypothesis deadlines.
settings.register_profile("default", deadline=None)
settings.register_profile("ci", max_examples=50, deadline=None)
settings.load_profile("ci" if os.environ.get("CI") == "true" else "default")

# TEST_DATABASE_URL empty or unset: SQLite. A postgresql URL names a server (any database
# on it, e.g. .../postgres); the suite makes its own database there and drops it after.
_RAW_URL = os.environ.get("TEST_DATABASE_URL", "").strip()
if _RAW_URL and not _RAW_URL.startswith("postgresql"):
    raise pytest.UsageError(
        f"TEST_DATABASE_URL moet leeg zijn (SQLite) of een postgresql-URL, niet {_RAW_URL!r}"
    )
DB_KIND = "postgresql" if _RAW_URL else "sqlite"
# Chosen at import so the report header can name it; pid + random keeps parallel runs apart.
PG_DATABASE = f"pm_test_{os.getpid()}_{secrets.token_hex(4)}"


def _fresh_g(sender, **extra) -> None:
    g.__dict__.clear()


def _base_config(database_uri: str) -> dict:
    return {
        "TESTING": True,
        "SQLALCHEMY_DATABASE_URI": database_uri,
        "SECRET_KEY": "test-secret-key",
        "AUDIT_KEY": AUDIT_KEY,
        "WTF_CSRF_ENABLED": False,
    }


def _database_line() -> str:
    return "database: SQLite" if DB_KIND == "sqlite" else f"database: PostgreSQL ({PG_DATABASE})"


def pytest_report_header(config: pytest.Config) -> str:
    return _database_line()


def pytest_sessionstart(session: pytest.Session) -> None:
    from tests.logwatch import start

    start()  # every log line of the run is checked for secrets (tests/test_zz_log_secrets.py)
    # With -q (our addopts) pytest prints no header at all, yet which database ran matters.
    if session.config.get_verbosity() < 0:
        reporter = session.config.pluginmanager.get_plugin("terminalreporter")
        if reporter is not None:
            reporter.write_line(_database_line())


def _pg_urls(database: str) -> tuple[str, str]:
    """(SQLAlchemy URL of `database`, libpq URL of the server database) from TEST_DATABASE_URL."""
    server = make_url(_RAW_URL)
    sqlalchemy_url = server.set(drivername="postgresql+psycopg", database=database)
    libpq_url = server.set(drivername="postgresql")
    return (
        sqlalchemy_url.render_as_string(hide_password=False),
        libpq_url.render_as_string(hide_password=False),
    )


@pytest.fixture(scope="session")
def db_kind() -> str:
    """"sqlite" or "postgresql": the database this run uses."""
    return DB_KIND


@pytest.fixture(scope="session")
def _database(tmp_path_factory: pytest.TempPathFactory) -> Iterator[Path | str]:
    """SQLite: a temp directory for this session. PostgreSQL: URL of a brand-new database."""
    if DB_KIND == "sqlite":
        yield tmp_path_factory.mktemp("db")
        return
    test_url, server_url = _pg_urls(PG_DATABASE)
    with psycopg.connect(server_url, autocommit=True) as conn:
        conn.execute(f'CREATE DATABASE "{PG_DATABASE}"')
    try:
        yield test_url
    finally:
        with psycopg.connect(server_url, autocommit=True) as conn:
            conn.execute(f'DROP DATABASE IF EXISTS "{PG_DATABASE}" WITH (FORCE)')


@pytest.fixture(scope="session")
def _migrated(_database: Path | str) -> Path | str:
    """Runs the migrations once: into template.db (SQLite) or the session database (PostgreSQL)."""
    if DB_KIND == "sqlite":
        template = _database / "template.db"
        uri = f"sqlite:///{template}"
    else:
        uri = _database
    app = create_app(_base_config(uri))
    with app.app_context():
        try:
            flask_migrate.upgrade()
            if DB_KIND == "postgresql":
                _refuse_seeded_tables()
        finally:
            db.session.remove()
            # Closes every connection, so the SQLite file is complete before it is copied.
            db.engine.dispose()
    return template if DB_KIND == "sqlite" else uri


def _user_tables() -> list[str]:
    rows = db.session.execute(
        text(
            "SELECT tablename FROM pg_tables "
            "WHERE schemaname = current_schema() AND tablename <> 'alembic_version' "
            "ORDER BY tablename"
        )
    )
    return [row[0] for row in rows]


def _refuse_seeded_tables() -> None:
    # PostgreSQL tests are reset by TRUNCATE, which would also wipe rows that a migration
    # inserts, so those tests would see a different database than SQLite's copied template.
    seeded = [
        name
        for name in _user_tables()
        if db.session.execute(text(f'SELECT EXISTS (SELECT 1 FROM "{name}")')).scalar()
    ]
    if seeded:
        raise RuntimeError(
            f"Migraties vullen tabellen {seeded}; de PostgreSQL-reset in tests/conftest.py "
            "(TRUNCATE na elke test) moet dan worden aangepast."
        )


def _truncate_all() -> None:
    tables = ", ".join('"' + name.replace('"', '""') + '"' for name in _user_tables())
    db.session.remove()
    if not tables:
        return
    with db.engine.begin() as conn:
        # A connection a test left open would block TRUNCATE for ever; fail instead.
        conn.execute(text("SET LOCAL lock_timeout = '10s'"))
        # The audit tables refuse TRUNCATE (migration 0013); the reset lifts that inside its own
        # transaction, as only the tables' owner can.
        guarded = conn.execute(text(
            "SELECT c.relname, t.tgname FROM pg_trigger t JOIN pg_class c ON c.oid = t.tgrelid "
            "WHERE t.tgname LIKE '%\\_no\\_truncate'")).all()
        for table, trigger in guarded:
            conn.execute(text(f'ALTER TABLE "{table}" DISABLE TRIGGER "{trigger}"'))
        conn.execute(text(f"TRUNCATE TABLE {tables} RESTART IDENTITY CASCADE"))
        for table, trigger in guarded:
            conn.execute(text(f'ALTER TABLE "{table}" ENABLE TRIGGER "{trigger}"'))


_test_numbers = itertools.count(1)


class FormClient(FlaskClient):
    """The test client, posting as from a freshly rendered form: with a new one-time form token.

    A browser sends the token of the form it showed (core.once); a test that posts a dict
    without one stands for a form opened just before. Tests of the token itself pass their own.
    """

    def post(self, *args, **kwargs):
        data = kwargs.get("data")
        if isinstance(data, dict) and "form_token" not in data:
            kwargs["data"] = {**data, "form_token": secrets.token_urlsafe(24)}
        return super().post(*args, **kwargs)


@pytest.fixture
def app(_database: Path | str, _migrated: Path | str) -> Iterator:
    """A new app on an empty, migrated database; yielded inside its app context."""
    if DB_KIND == "sqlite":
        # Copying the migrated file is far cheaper than migrating per test.
        path = _database / f"test_{next(_test_numbers)}.db"
        shutil.copyfile(_migrated, path)
        uri = f"sqlite:///{path}"
    else:
        uri = _migrated
    flask_app = create_app(_base_config(uri))
    flask_app.test_client_class = FormClient
    # The test keeps one app context open, and test-client requests reuse it; a real request
    # starts with an empty `g` (no cached login user or programme), so give each one that.
    request_started.connect(_fresh_g, flask_app)
    with flask_app.app_context():
        try:
            yield flask_app
        finally:
            # Ends the test's transaction first: on PostgreSQL an open one blocks TRUNCATE
            # (STACK.md "PostgreSQL teardown hang").
            db.session.remove()
            try:
                if DB_KIND == "postgresql":
                    _truncate_all()
            finally:
                db.engine.dispose()
    if DB_KIND == "sqlite":
        path.unlink(missing_ok=True)


@pytest.fixture
def session(app):
    """The Flask-SQLAlchemy session, bound to this test's database."""
    return db.session


@pytest.fixture
def client(app):
    return app.test_client()


@pytest.fixture
def runner(app):
    return app.test_cli_runner()


@pytest.fixture(autouse=True, scope="session")
def _fast_password_hashing():
    """Still argon2id, with test-sized cost: the production cost (~0.25 s a hash) dominates the suite."""
    from argon2 import PasswordHasher

    import core.users

    production = core.users._hasher
    core.users._hasher = PasswordHasher(time_cost=1, memory_cost=1024, parallelism=1)
    yield
    core.users._hasher = production


@pytest.fixture
def today() -> date:
    """Today, read as the test starts: a constant read at import goes stale when the suite runs past midnight."""
    return date.today()


@pytest.fixture
def this_year(today: date) -> int:
    return today.year


@pytest.fixture
def smtp(app):
    """A real SMTP server on a free local port (tests.smtp), and the app's mail settings pointing at it."""
    from tests.smtp import MailServer

    server = MailServer().start()
    app.config.update(server.config())
    yield server
    server.stop()


@pytest.fixture
def other_app(app, _database, _migrated):
    """A second app on its own empty, migrated database (restore, import round trips).

    Use it inside `with other_app.app_context():`; the first app's context stays underneath.
    """
    if DB_KIND == "sqlite":
        path = _database / f"other_{next(_test_numbers)}.db"
        shutil.copyfile(_migrated, path)
        uri = f"sqlite:///{path}"
    else:
        name = f"{PG_DATABASE}_b"
        uri, server_url = _pg_urls(name)
        with psycopg.connect(server_url, autocommit=True) as conn:
            conn.execute(f'CREATE DATABASE "{name}"')
    second = create_app(_base_config(uri))
    with second.app_context():
        if DB_KIND == "postgresql":
            flask_migrate.upgrade()
        db.session.remove()
    try:
        yield second
    finally:
        with second.app_context():
            db.session.remove()
            db.engine.dispose()
        if DB_KIND == "postgresql":
            with psycopg.connect(server_url, autocommit=True) as conn:
                conn.execute(f'DROP DATABASE IF EXISTS "{name}" WITH (FORCE)')
        else:
            path.unlink(missing_ok=True)
