"""Append-only audit trail: one AuditEntry per changed object, written in the same transaction."""
from __future__ import annotations

import json
from datetime import date, datetime
from decimal import Decimal
from typing import Any

from sqlalchemy import DateTime, ForeignKey, Index, String, Text, inspect
from sqlalchemy.orm import Mapped, mapped_column

from core.db import Base, utcnow


class AuditEntry(Base):
    """Who changed what, when; the database refuses UPDATE and DELETE (see migration)."""

    __tablename__ = "audit_entry"
    __table_args__ = (Index("ix_audit_entry_entity", "entity", "entity_id"),)

    id: Mapped[int] = mapped_column(primary_key=True)
    at: Mapped[datetime] = mapped_column(DateTime(timezone=True), default=utcnow)
    #: Kept as a plain label too, so the trail still reads right if the user is renamed.
    actor_id: Mapped[int | None] = mapped_column(ForeignKey("user.id", ondelete="RESTRICT"))
    actor_label: Mapped[str] = mapped_column(String(200))
    action: Mapped[str] = mapped_column(String(40))
    entity: Mapped[str] = mapped_column(String(60))
    entity_id: Mapped[int | None]
    changes: Mapped[str] = mapped_column(Text, default="{}")

    @property
    def changes_dict(self) -> dict:
        return json.loads(self.changes or "{}")


def _jsonable(value: Any) -> Any:
    if isinstance(value, Decimal):
        return str(value)
    if isinstance(value, date | datetime):
        return value.isoformat()
    if isinstance(value, dict):
        return {str(k): _jsonable(v) for k, v in value.items()}
    if isinstance(value, list | tuple | set):
        return [_jsonable(v) for v in value]
    return value


def snapshot(obj, exclude: tuple[str, ...] = ()) -> dict:
    """Column values of a mapped object, for the before/after of an audit entry."""
    state = inspect(obj)
    return {
        attr.key: _jsonable(getattr(obj, attr.key))
        for attr in state.mapper.column_attrs
        if attr.key not in exclude and attr.key not in ("password_hash",)
    }


def diff(before: dict, after: dict) -> dict:
    """Only the fields that changed, as {'before': {...}, 'after': {...}}."""
    keys = [k for k in after if before.get(k) != after.get(k)]
    return {"before": {k: before.get(k) for k in keys}, "after": {k: after[k] for k in keys}}


def record(session, actor, action: str, obj, changes: dict | None = None) -> AuditEntry:
    """Add one audit entry for `obj`; flushes so the object has its id. Never commits."""
    session.flush()
    entry = AuditEntry(
        actor_id=getattr(actor, "id", None),
        actor_label=getattr(actor, "email", None) or str(actor or "systeem"),
        action=action,
        entity=type(obj).__name__ if not isinstance(obj, str) else obj,
        entity_id=getattr(obj, "id", None),
        changes=json.dumps(_jsonable(changes or {}), sort_keys=True, ensure_ascii=False),
    )
    session.add(entry)
    session.flush()
    return entry
