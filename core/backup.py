"""Portable backup and restore of every table (SQLite <-> PostgreSQL), as gzip-compressed JSON."""
from __future__ import annotations

import gzip
import json
from datetime import date, datetime, timezone
from decimal import Decimal
from pathlib import Path

from sqlalchemy import Date, DateTime, func, insert, select, text

from core.bulk import advance_id_sequences
from core.db import Base, utcnow
from core.errors import Conflict, ValidationError

FORMAT = "programmamonitor-backup"
VERSION = 1


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


def create_backup(session, path: Path) -> dict[str, int]:
    """Write every row of every table to `path`; returns the row count per table."""
    counts: dict[str, int] = {}
    document = {"format": FORMAT, "version": VERSION, "revision": _current_revision(session),
                "created_at": utcnow().isoformat(), "tables": {}}
    for table in _tables():
        columns = [c.name for c in table.columns]
        rows = [[_dump_value(v) for v in row] for row in session.execute(select(*table.columns)
                                                                         .order_by(*table.primary_key.columns))]
        document["tables"][table.name] = {"columns": columns, "rows": rows}
        counts[table.name] = len(rows)
    with gzip.open(path, "wt", encoding="utf-8") as fh:
        json.dump(document, fh, ensure_ascii=False)
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


def read_backup(path: Path) -> dict:
    try:
        with gzip.open(path, "rt", encoding="utf-8") as fh:
            document = json.load(fh)
    except (OSError, ValueError) as exc:
        raise ValidationError(f"{path} is geen leesbare back-up ({exc.__class__.__name__}).") from None
    if document.get("format") != FORMAT or document.get("version") != VERSION:
        raise ValidationError(f"{path} is geen back-up van Programmamonitor (versie {VERSION}).")
    return document


def restore_backup(session, path: Path) -> dict[str, int]:
    """Load a backup into an empty database at the same migration; never overwrites data."""
    document = read_backup(path)
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
        rows = [{c.name: _load_value(c, v) for c, v in zip(columns, row)} for row in part["rows"]]
        for start in range(0, len(rows), 1000):
            session.execute(insert(table), rows[start:start + 1000])
        counts[table.name] = len(rows)
    # Rows came with their ids; move each id sequence past them or the next insert collides.
    advance_id_sequences(session, _tables())
    session.flush()
    return counts
