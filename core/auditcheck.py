"""Verifying the audit trail: the keyed chain, key rotation, the unkeyed prefix, and every recorded head."""
from __future__ import annotations

from datetime import timezone

from sqlalchemy import select

from core.audit import GENESIS, AuditAnchor, AuditEntry, entry_digest, record
from core.auditkey import audit_keys

_CHAIN_COLUMNS = (AuditEntry.id, AuditEntry.prev_hash, AuditEntry.entry_hash, AuditEntry.key_id, AuditEntry.at,
                  AuditEntry.actor_id, AuditEntry.actor_label, AuditEntry.action, AuditEntry.entity,
                  AuditEntry.entity_id, AuditEntry.changes)


class _Broken(Exception):
    def __init__(self, entry_id: int | None, message: str):
        super().__init__(message)
        self.entry_id, self.message = entry_id, message


def _heads(session, extra: tuple) -> dict[int, list[tuple[str, str]]]:
    """Recorded heads by entry id: every anchor (snapshots, generated reports) and heads given by hand."""
    heads: dict[int, list[tuple[str, str]]] = {}
    for anchor in session.execute(select(AuditAnchor.source, AuditAnchor.at, AuditAnchor.entry_id,
                                         AuditAnchor.entry_hash)):
        at = anchor.at.astimezone(timezone.utc) if anchor.at.tzinfo else anchor.at  # SQLite: naive UTC
        heads.setdefault(anchor.entry_id, []).append(
            (f"{anchor.source} (vastgelegd {at:%d-%m-%Y %H:%M} UTC)", anchor.entry_hash))
    for entry_id, entry_hash in extra:
        heads.setdefault(int(entry_id), []).append(("de opgegeven kop", entry_hash))
    return heads


class _Walk:
    """The state of one pass over the chain, entry by entry in id order."""

    def __init__(self, heads: dict):
        self.keys = audit_keys()
        self.heads = heads
        self.prev, self.count, self.last_id = GENESIS, 0, 0
        self.legacy_end: int | None = None   # last entry from before the key
        self.key_id: str | None = None       # key of the entry just checked
        self.key: bytes | None = None
        self.retired: set[str] = set()       # keys the chain has moved on from (rotation)
        self.matched: set[int] = set()       # recorded heads found in the chain

    def check(self, e) -> None:
        if e.prev_hash != self.prev:
            raise _Broken(e.id, f"Keten gebroken bij regel {e.id}: de regel ervoor is verwijderd of gewijzigd.")
        self._key_for(e)
        digest = entry_digest(e.prev_hash, e.at, e.actor_id, e.actor_label, e.action, e.entity, e.entity_id,
                              e.changes, self.key)
        if digest != e.entry_hash:
            raise _Broken(e.id, f"Regel {e.id} is gewijzigd: de inhoud past niet meer bij de hash.")
        for source, recorded in self.heads.get(e.id, ()):
            if recorded != e.entry_hash:
                raise _Broken(e.id, f"Regel {e.id} is herschreven: {source} legde daar een andere hash vast.")
            self.matched.add(e.id)
        self.prev, self.count, self.last_id = e.entry_hash, self.count + 1, e.id

    def _key_for(self, e) -> None:
        if e.key_id is None:
            # Unkeyed entries are only the prefix from before migration 0013, never after a signed one.
            if self.key_id is not None:
                raise _Broken(e.id, f"Regel {e.id} is niet ondertekend, maar volgt op ondertekende regels: "
                                    "de audittrail is herschreven.")
            self.legacy_end, self.key = e.id, None
            return
        if e.key_id == self.key_id:
            return
        if e.key_id in self.retired:
            raise _Broken(e.id, f"Regel {e.id} is ondertekend met een sleutel die al was vervangen: "
                                "de audittrail is herschreven.")
        key = self.keys.lookup(e.key_id)
        if key is None:
            raise _Broken(e.id, f"Regel {e.id} is ondertekend met een onbekende sleutel ({e.key_id}). Na een "
                                "sleutelwissel hoort de vorige sleutel in AUDIT_KEY_PREVIOUS; anders is de "
                                "regel vervalst.")
        if self.key_id is not None:
            self.retired.add(self.key_id)
        self.key_id, self.key = e.key_id, key

    def finish(self, require_seal: bool) -> str:
        if require_seal and self.legacy_end is not None and self.key_id is None:
            raise _Broken(self.legacy_end, f"De audittrail is niet verzegeld: regels t/m {self.legacy_end} zijn "
                                           "van vóór AUDIT_KEY en er volgt geen ondertekende regel. Voer "
                                           "'flask --app app audit seal' uit.")
        missing = sorted(set(self.heads) - self.matched)
        if missing:
            first, source = missing[0], self.heads[missing[0]][0][0]
            if first > self.last_id:
                raise _Broken(first, f"Regel {first} ontbreekt: {source} legde de audittrail vast tot en met die "
                                     f"regel, maar de trail eindigt bij regel {self.last_id}. De audittrail is "
                                     "ingekort.")
            raise _Broken(first, f"Regel {first} ontbreekt: {source} legde die regel vast als kop.")
        message = f"Audittrail in orde: {self.count} regels, keten ongebroken"
        anchors = sum(len(v) for v in self.heads.values())
        if anchors:
            message += f"; {anchors} vastgelegde {'kop klopt' if anchors == 1 else 'koppen kloppen'}"
        message += "."
        if self.legacy_end is not None:
            sealed = "verzegeld door de regels erna" if self.key_id else "nog niet verzegeld"
            message += f" Regels t/m {self.legacy_end} zijn van vóór AUDIT_KEY en {sealed}."
        return message


def verify(session, batch: int = 5000, extra_heads: tuple = (), require_seal: bool = True
           ) -> tuple[bool, int | None, str]:
    """(ok, first bad entry id, Dutch explanation) for the whole trail and every recorded head."""
    walk = _Walk(_heads(session, extra_heads))
    try:
        while True:
            # Plain columns, not entities: the identity map stays small on a long trail.
            rows = session.execute(select(*_CHAIN_COLUMNS).where(AuditEntry.id > walk.last_id)
                                   .order_by(AuditEntry.id).limit(batch)).all()
            if not rows:
                break
            for e in rows:
                walk.check(e)
        return True, None, walk.finish(require_seal)
    except _Broken as exc:
        return False, exc.entry_id, exc.message


def seal(session, actor) -> str:
    """Sign the trail as it stands with the current key (after verifying it); records a 'seal' entry.

    For the unkeyed entries from before AUDIT_KEY, and after a key rotation: from this entry on, a
    rewrite of anything before it needs the current key.
    """
    from core.errors import Conflict

    ok, _entry, message = verify(session, require_seal=False)
    if not ok:
        raise Conflict("Niet verzegeld: " + message)
    last = session.execute(select(AuditEntry.id, AuditEntry.entry_hash, AuditEntry.key_id)
                           .order_by(AuditEntry.id.desc()).limit(1)).first()
    keys = audit_keys()
    entry = record(session, actor, "seal", "Audittrail", {"after": {
        "kop": last.id if last else None, "kop_hash": last.entry_hash if last else None,
        "vorige_sleutel": last.key_id if last else None, "sleutel": keys.current_id}})
    return (f"{message} Verzegeld: regel {entry.id} ondertekent met sleutel {keys.current_id} de audittrail "
            f"t/m regel {last.id if last else 0}.")
