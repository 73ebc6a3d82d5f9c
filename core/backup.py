"""Portable, signed backup of every table (SQLite <-> PostgreSQL); restore checks it all before it commits."""
from __future__ import annotations

import gzip
import json
from collections.abc import Callable
from datetime import date, datetime, timezone
from decimal import Decimal
from pathlib import Path

from sqlalchemy import Date, DateTime, func, insert, select, text

from core import backupfile
from core.audit import head, verify_chain
from core.auditkey import audit_keys
from core.bulk import advance_id_sequences
from core.db import Base, utcnow
from core.errors import Conflict, ValidationError
from core.users import new_session_token

FORMAT = "programmamonitor-backup"
VERSION = 2

#: Left out of every backup and made afresh on restore. A session token only keeps a browser logged
#: in (restored users log in again); a pending TOTP secret is an enrolment that was never finished.
#: Password hashes (argon2id) and TOTP secrets stay: without them nobody could log in after a
#: restore. They are why the file is 0600, and why BACKUP_PASSPHRASE encrypts it.
LEFT_OUT = {"user": {"session_token": new_session_token, "totp_pending_secret": lambda: None}}

#: Checks other packages add (budget: the ledger's invariants): name -> (record at backup, check at restore).
_CHECKS: dict[str, tuple[Callable, Callable]] = {}


def register_check(name: str, record: Callable, check: Callable) -> None:
    """`record(session)` gives JSON kept in the backup; `check(session, recorded)` gives Dutch problems."""
    _CHECKS[name] = (record, check)


def _tables():
    # Parents before children, so a restore never meets a dangling foreign key.
    return [t for t in Base.metadata.sorted_tables]


def _current_revision(session) -> str | None:
    try:
        return session.execute(text("SELECT version_num FROM alembic_version")).scalar()
    except Exception:  # noqa: BLE001 - a database without migrations has no revision
        session.rollback()
        return None


def _dump_value(value):
    if isinstance(value, Decimal):
        return str(value)
    if isinstance(value, datetime):
        if value.tzinfo is None:  # SQLite hands back naive UTC
            value = value.replace(tzinfo=timezone.utc)
        return value.astimezone(timezone.utc).isoformat()
    if isinstance(value, date):
        return value.isoformat()
    return value


def _read_one_snapshot(session) -> None:
    """Every SELECT that follows sees the database as of one moment (the caller rolls back after)."""
    session.rollback()
    if session.get_bind().dialect.name == "postgresql":
        # Set on the connection before its transaction begins: one snapshot for all tables.
        session.connection(execution_options={"isolation_level": "REPEATABLE READ", "postgresql_readonly": True})
    else:
        # pysqlite starts no transaction for SELECTs; an explicit one holds one read snapshot (or lock).
        connection = session.connection()
        if not connection.connection.driver_connection.in_transaction:
            connection.exec_driver_sql("BEGIN")


def create_backup(session, path: Path, passphrase: str | None = None) -> dict[str, int]:
    """Write every row of every table to `path`, signed and 0600; returns the row count per table."""
    _read_one_snapshot(session)
    counts: dict[str, int] = {}
    current = head(session)
    document = {"format": FORMAT, "version": VERSION, "revision": _current_revision(session),
                "created_at": utcnow().isoformat(), "audit_head": list(current) if current else None,
                "checks": {name: record(session) for name, (record, _check) in _CHECKS.items()}, "tables": {}}
    for table in _tables():
        left_out = LEFT_OUT.get(table.name, {})
        columns = [c.name for c in table.columns if c.name not in left_out]
        rows = [[_dump_value(v) for v in row] for row in session.execute(
            select(*[table.c[name] for name in columns]).order_by(*table.primary_key.columns))]
        document["tables"][table.name] = {"columns": columns, "rows": rows}
        counts[table.name] = len(rows)
    payload = gzip.compress(json.dumps(document, ensure_ascii=False).encode("utf-8"), compresslevel=6)
    backupfile.write(path, payload, audit_keys(), passphrase)
    return counts


def _load_value(column, value):
    if value is None:
        return None
    if isinstance(column.type, DateTime):
        return datetime.fromisoformat(value)
    if isinstance(column.type, Date):
        return date.fromisoformat(value)
    if getattr(column.type, "python_type", None) is Decimal or type(column.type).__name__ in ("Money", "Fte"):
        return Decimal(value)
    return value


def read_backup(path: Path, passphrase: str | None = None) -> dict:
    """The backup's document, once its signature checked out (refused with a Dutch message otherwise)."""
    payload = backupfile.read(path, audit_keys(), passphrase)
    try:
        document = json.loads(gzip.decompress(payload))
    except (OSError, ValueError) as exc:
        raise ValidationError(f"{path} is geen leesbare back-up ({exc.__class__.__name__}).") from None
    if document.get("format") != FORMAT or document.get("version") != VERSION:
        raise ValidationError(f"{path} is geen back-up van Programmamonitor (versie {VERSION}).")
    return document


def restore_backup(session, path: Path, passphrase: str | None = None) -> tuple[dict[str, int], str]:
    """Load a backup into an empty database at the same migration; never overwrites data, never commits.

    Signature, audit chain and the registered checks (the ledger's invariants) are all verified on the
    loaded rows before this returns; any failure raises, and the caller's rollback leaves nothing behind.
    Returns the row count per table and the audit verification's message.
    """
    document = read_backup(path, passphrase)
    revision = _current_revision(session)
    if document["revision"] != revision:
        raise Conflict(f"De back-up hoort bij schemaversie {document['revision']}, de database staat op "
                       f"{revision}. Breng de database eerst op dezelfde versie (flask db upgrade).")
    filled = [t.name for t in _tables() if session.scalar(select(func.count()).select_from(t))]
    if filled:
        raise Conflict("De database is niet leeg (tabellen: " + ", ".join(filled) + "). Zet een back-up "
                       "alleen terug in een lege, gemigreerde database; er is niets gewijzigd.")
    counts: dict[str, int] = {}
    for table in _tables():
        part = document["tables"].get(table.name, {"columns": [], "rows": []})
        columns = [table.c[name] for name in part["columns"]]
        fresh = LEFT_OUT.get(table.name, {}) if part["rows"] else {}
        rows = [{**{c.name: _load_value(c, v) for c, v in zip(columns, row)},
                 **{name: make() for name, make in fresh.items()}} for row in part["rows"]]
        for start in range(0, len(rows), 1000):
            session.execute(insert(table), rows[start:start + 1000])
        counts[table.name] = len(rows)
    session.flush()
    message = _check_restored(session, document)
    # Rows came with their ids; move each id sequence past them or the next insert collides. Last,
    # because PostgreSQL's setval outlives a rollback.
    advance_id_sequences(session, _tables())
    return counts, message


def _check_restored(session, document: dict) -> str:
    ok, _entry, message = verify_chain(session)
    if not ok:
        raise Conflict(f"De audittrail in de back-up klopt niet: {message} Er is niets teruggezet.")
    recorded = document.get("audit_head")
    current = head(session)
    if (list(current) if current else None) != recorded:
        raise Conflict("De audittrail in de back-up eindigt niet waar hij eindigde toen de back-up werd gemaakt. "
                       "Er is niets teruggezet.")
    problems = []
    for name, (_record, check) in _CHECKS.items():
        problems += check(session, document.get("checks", {}).get(name))
    if problems:
        raise Conflict("De gegevens in de back-up kloppen niet: " + "; ".join(problems) + ". Er is niets "
                       "teruggezet.")
    return message
