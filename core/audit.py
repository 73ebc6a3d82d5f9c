"""Append-only, keyed hash chain: one AuditEntry per changed object, in the same transaction."""
from __future__ import annotations

import hashlib
import json
import logging
from datetime import date, datetime, timezone
from decimal import Decimal
from typing import Any

from sqlalchemy import (
    DateTime,
    ForeignKey,
    Index,
    String,
    Text,
    func,
    inspect,
    select,
    text,
)
from sqlalchemy.orm import Mapped, mapped_column

from core.auditkey import audit_keys, keyed_hash
from core.bulk import advance_id_sequences, insert_rows
from core.db import Base, utcnow
from core.locking import WRITE_LOCK
from core.logs import request_id

acts = logging.getLogger("programmamonitor.audit")


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
    #: Hash chain: each entry's hash covers its fields and the previous entry's hash, so an
    #: altered or removed entry breaks the chain from that point (see core.auditcheck).
    prev_hash: Mapped[str] = mapped_column(String(64))
    #: HMAC-SHA256 with AUDIT_KEY (not in the database), so a rewritten chain cannot be re-signed.
    entry_hash: Mapped[str] = mapped_column(String(64))
    #: Which key signed it (core.auditkey.key_id); NULL for entries from before the key (plain sha256).
    key_id: Mapped[str | None] = mapped_column(String(16))

    @property
    def changes_dict(self) -> dict:
        return json.loads(self.changes or "{}")


class AuditAnchor(Base):
    """A head of the trail (entry id + hash) as a snapshot or a generated report recorded it.

    `audit verify` checks every one: an entry missing past a recorded head means the trail was
    cut short. Append-only like the trail itself (see migration 0013).
    """

    __tablename__ = "audit_anchor"

    id: Mapped[int] = mapped_column(primary_key=True)
    at: Mapped[datetime] = mapped_column(DateTime(timezone=True), default=utcnow)
    #: What recorded it, in Dutch: "vastgelegde stand 4", "werkboek STM 2026 t/m 30-06-2026".
    source: Mapped[str] = mapped_column(String(200))
    entry_id: Mapped[int]
    entry_hash: Mapped[str] = mapped_column(String(64))


def _jsonable(value: Any) -> Any:
    if isinstance(value, Decimal | date | datetime):
        return _json_default(value)
    if isinstance(value, dict):
        return {str(k): _jsonable(v) for k, v in value.items()}
    if isinstance(value, list | tuple | set):
        return [_jsonable(v) for v in value]
    return value


def _json_default(value: Any) -> Any:
    """How an amount, a date or a set is written in an audit entry (json.dumps' `default`)."""
    if isinstance(value, Decimal):
        return str(value)
    if isinstance(value, date | datetime):
        return value.isoformat()
    if isinstance(value, set):
        return list(value)
    raise TypeError(f"Niet als JSON te schrijven: {type(value).__name__}")


#: Never in an audit entry: secrets stay in their own column only.
SECRET_FIELDS = ("password_hash", "session_token", "totp_secret")


def snapshot(obj, exclude: tuple[str, ...] = ()) -> dict:
    """Column values of a mapped object, for the before/after of an audit entry."""
    state = inspect(obj)
    return {
        attr.key: _jsonable(getattr(obj, attr.key))
        for attr in state.mapper.column_attrs
        if attr.key not in exclude and attr.key not in SECRET_FIELDS
    }


def with_override(changes: dict, override: dict | None) -> dict:
    """An audit entry's changes plus the budget-stop override (reason, shortfalls) that let it through."""
    return {**changes, "override": override} if override else changes


def diff(before: dict, after: dict) -> dict:
    """Only the fields that changed, as {'before': {...}, 'after': {...}}."""
    keys = [k for k in after if before.get(k) != after.get(k)]
    return {"before": {k: before.get(k) for k in keys}, "after": {k: after[k] for k in keys}}


GENESIS = "0" * 64


def _canonical_time(at: datetime) -> str:
    # SQLite hands back naive UTC, PostgreSQL aware datetimes: hash one canonical form.
    if at.tzinfo is not None:
        at = at.astimezone(timezone.utc).replace(tzinfo=None)
    return at.isoformat(timespec="microseconds")


#: json.dumps builds a new encoder per call; record_many calls these hundreds of thousands of times.
_PAYLOAD_JSON = json.JSONEncoder(ensure_ascii=False, separators=(",", ":"))
_CHANGES_JSON = json.JSONEncoder(sort_keys=True, ensure_ascii=False, default=_json_default)


def entry_digest(prev_hash: str, at: datetime, actor_id, actor_label: str, action: str, entity: str,
                 entity_id, changes: str, key: bytes | None) -> str:
    return _digest(prev_hash, _canonical_time(at), actor_id, actor_label, action, entity, entity_id, changes, key)


def _digest(prev_hash: str, at_text: str, actor_id, actor_label: str, action: str, entity: str,
            entity_id, changes: str, key: bytes | None) -> str:
    payload = _PAYLOAD_JSON.encode([prev_hash, at_text, actor_id, actor_label, action, entity, entity_id,
                                    changes]).encode("utf-8")
    if key is None:  # an entry from before AUDIT_KEY (migration 0013): the plain sha256 of then
        return hashlib.sha256(payload).hexdigest()
    return keyed_hash(key, payload)


def _last_hash(session) -> str:
    if session.get_bind().dialect.name == "postgresql":
        # Two transactions appending at once would both link to the same predecessor. The same
        # key as core.locking's write lock: a transaction that holds one holds both.
        session.execute(text("SELECT pg_advisory_xact_lock(:key)"), {"key": WRITE_LOCK})
    last = session.scalar(select(AuditEntry.entry_hash).order_by(AuditEntry.id.desc()).limit(1))
    return last or GENESIS


def record(session, actor, action: str, obj, changes: dict | None = None) -> AuditEntry:
    """Add one audit entry for `obj`; flushes so the object has its id. Never commits."""
    session.flush()
    approval = session.info.get("audit_approval")
    if approval:
        # Booked by approving an entry that waited for a second person (approvals.services.approve).
        changes = {**(changes or {}), "approval": approval}
    fields = {
        "at": utcnow(),
        "actor_id": getattr(actor, "id", None),
        "actor_label": getattr(actor, "email", None) or str(actor or "systeem"),
        "action": action,
        "entity": type(obj).__name__ if not isinstance(obj, str) else obj,
        "entity_id": getattr(obj, "id", None),
        "changes": json.dumps(_jsonable(changes or {}), sort_keys=True, ensure_ascii=False),
    }
    prev = _last_hash(session)
    keys = audit_keys()
    entry = AuditEntry(prev_hash=prev, entry_hash=entry_digest(prev, **fields, key=keys.current),
                       key_id=keys.current_id, **fields)
    session.add(entry)
    session.flush()
    # One log line per audited act (core.logs), with ids only: what changed stays in the trail.
    acts.info("%s %s %s", action, fields["entity"], fields["entity_id"], extra={
        "event": "audit", "action": action, "entity": fields["entity"], "entity_id": fields["entity_id"],
        "user_id": fields["actor_id"], "request_id": request_id()})
    return entry


def verify_chain(session, batch: int = 5000, heads: tuple = ()) -> tuple[bool, int | None, str]:
    """Walk the whole keyed chain and every recorded head; (ok, first bad entry id, Dutch explanation)."""
    from core.auditcheck import verify

    return verify(session, batch, heads)


def head(session) -> tuple[int, str] | None:
    """The newest entry (id, hash): what a snapshot or a report records as the trail's head."""
    row = session.execute(select(AuditEntry.id, AuditEntry.entry_hash).order_by(AuditEntry.id.desc())
                          .limit(1)).first()
    return (row.id, row.entry_hash) if row else None


def record_head(session, source: str) -> tuple[int, str] | None:
    """Keep the current head as an anchor for `audit verify`; returns it (None on an empty trail)."""
    current = head(session)
    if current is not None:
        session.add(AuditAnchor(source=source[:200], entry_id=current[0], entry_hash=current[1]))
        session.flush()
    return current


def record_many(session, actor, items) -> int:
    """Append many audit entries in order, exactly as record() would one by one, written in bulk.

    `items` yields (action, entity, entity_id, changes). Ids are given here, after the chain's
    lock, so id order is chain order (verify_chain walks by id). Returns how many were added.
    """
    session.flush()
    prev = _last_hash(session)
    next_id = (session.scalar(select(func.max(AuditEntry.id))) or 0) + 1
    actor_id = getattr(actor, "id", None)
    label = getattr(actor, "email", None) or str(actor or "systeem")
    keys = audit_keys()
    key, kid = keys.current, keys.current_id
    at = utcnow()
    at_text = _canonical_time(at)  # one moment for the whole batch: hashed as entry_digest would
    state = {"prev": prev, "id": next_id}

    def rows():
        for action, entity, entity_id, changes in items:
            # json's C encoder with a fallback for dates and amounts: the same text as _jsonable gives.
            text_ = _CHANGES_JSON.encode(changes or {})
            digest = _digest(state["prev"], at_text, actor_id, label, action, entity, entity_id, text_, key)
            yield {"id": state["id"], "at": at, "actor_id": actor_id, "actor_label": label, "action": action,
                   "entity": entity, "entity_id": entity_id, "changes": text_, "prev_hash": state["prev"],
                   "entry_hash": digest, "key_id": kid}
            state["prev"], state["id"] = digest, state["id"] + 1

    count = insert_rows(session, AuditEntry.__table__, rows())
    if count:
        # Explicit ids leave PostgreSQL's sequence behind; record() after this must not reuse them.
        advance_id_sequences(session, [AuditEntry.__table__])
        # One line for the batch (an import), not one per row.
        acts.info("%s audit-regels in één keer", count, extra={"event": "audit", "action": "batch", "count": count,
                                                               "user_id": actor_id})
    return count


# --- Reading the trail (the audit pages) ---------------------------------------------------------


def trail_query(kind: str = "", action: str = "", by: str = "", entity_id: int | None = None,
                since: datetime | None = None, before: datetime | None = None):
    """The trail newest first, filtered on object type, action, person (part of the label), id and time."""
    query = select(AuditEntry).order_by(AuditEntry.id.desc())
    if kind:
        query = query.where(AuditEntry.entity == kind)
    if action:
        query = query.where(AuditEntry.action == action)
    if by:
        query = query.where(AuditEntry.actor_label.contains(by, autoescape=True))
    if entity_id is not None:
        query = query.where(AuditEntry.entity_id == entity_id)
    if since is not None:
        query = query.where(AuditEntry.at >= since)
    if before is not None:
        query = query.where(AuditEntry.at < before)
    return query


def trail_choices(session) -> tuple[list[str], list[str]]:
    """(object types, actions) the trail holds, for the filter lists."""
    return (session.scalars(select(AuditEntry.entity).distinct().order_by(AuditEntry.entity)).all(),
            session.scalars(select(AuditEntry.action).distinct().order_by(AuditEntry.action)).all())


def object_history(session, entity: str, entity_id: int) -> list[AuditEntry]:
    return session.scalars(select(AuditEntry).where(AuditEntry.entity == entity, AuditEntry.entity_id == entity_id)
                           .order_by(AuditEntry.id)).all()


def _mapped_classes() -> dict[str, type]:
    # By class name, as the trail stores it; core does not import the budget or projects models.
    return {m.class_.__name__: m.class_ for m in Base.registry.mappers}


def objects_by_id(session, wanted: dict[str, set[int]]) -> dict[tuple[str, int], Any]:
    """The objects the trail names that still exist, one query per object type."""
    classes, found = _mapped_classes(), {}
    for entity, ids in wanted.items():
        cls = classes.get(entity)
        ids = {i for i in ids if isinstance(i, int)}
        if cls is None or not ids:
            continue
        for obj in session.scalars(select(cls).where(cls.id.in_(sorted(ids)))):
            found[(entity, obj.id)] = obj
    return found


def latest_entry(session, entity: str, entity_id) -> AuditEntry | None:
    """The newest entry of one object: on the 409 page, what the other person saved."""
    if not isinstance(entity_id, int):
        return None
    return session.scalar(select(AuditEntry).where(AuditEntry.entity == entity, AuditEntry.entity_id == entity_id)
                          .order_by(AuditEntry.id.desc()).limit(1))
