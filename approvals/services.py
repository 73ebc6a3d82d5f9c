"""Four eyes: the gate every financial service passes before it writes, and approving or rejecting what waits."""
from __future__ import annotations

import json
from dataclasses import dataclass
from datetime import UTC, date, datetime
from decimal import Decimal

from sqlalchemy import select

from approvals import notify, rules
from approvals.models import KINDS, PendingEntry
from core.audit import record, snapshot
from core.errors import Conflict, NotFound, ValidationError
from core.locking import serialise
from core.money import ZERO
from core.users import FINANCE_ROLES, SystemActor, User, require_role
from projects.models import Programme

#: session.info key: the entry being approved, whose own hold the budget stop then leaves out.
APPROVING = "approvals.approving"
#: session.info key: an import is applying its rows; it waits (or not) as one batch, not row by row.
IN_BATCH = "approvals.batch"
#: session.info key: a list that collects what the services would book, instead of booking it (a scenario's
#: entries: scenarios.services). The budget stop does not refuse then; the scenario shows the overrun.
DRAFTING = "approvals.drafting"


@dataclass(frozen=True)
class Draft:
    """What a service would book, with the change in free room per year it would cause: kept, not booked."""

    kind: str
    deltas: dict
    params: dict
    summary: str


# --- The service call, kept as JSON ---------------------------------------------------------------

def encode(value):
    """JSON for a service's arguments: amounts, dates and year-keyed dicts come back as they went in."""
    if isinstance(value, Decimal):
        return {"$decimal": str(value)}
    if isinstance(value, date):
        return {"$date": value.isoformat()}
    if isinstance(value, dict):
        if value and all(isinstance(k, int) for k in value):
            return {"$years": [[k, encode(v)] for k, v in sorted(value.items())]}
        return {str(k): encode(v) for k, v in value.items()}
    if isinstance(value, list | tuple):
        return [encode(v) for v in value]
    return value


def decode(value):
    if isinstance(value, dict):
        if "$decimal" in value:
            return Decimal(value["$decimal"])
        if "$date" in value:
            return date.fromisoformat(value["$date"])
        if "$years" in value:
            return {int(k): decode(v) for k, v in value["$years"]}
        return {k: decode(v) for k, v in value.items()}
    if isinstance(value, list):
        return [decode(v) for v in value]
    return value


# --- The gate -------------------------------------------------------------------------------------

def gate(session, actor, programme_id: int, kind: str, deltas: dict[int, Decimal], override: dict | None,
         params: dict, summary: str) -> PendingEntry | Draft | None:
    """Called by a financial service after every rule passed and before it writes.

    Returns None when the entry may be booked now (four eyes off, under the threshold, or this is
    the approval itself); else a PendingEntry that holds its room and changes no figure yet, or, while
    drafting (DRAFTING), a Draft: the service then returns without writing.
    """
    drafts = session.info.get(DRAFTING)
    if drafts is not None:
        draft = Draft(kind, dict(deltas), params, summary)
        drafts.append(draft)
        return draft
    if session.info.get(APPROVING) is not None or session.info.get(IN_BATCH):
        return None
    programme = session.get(Programme, programme_id)
    if kind == "payment":
        # A payment changes no free room; its own amount is judged, when the programme asks it.
        amount = params["amount"]
        if not rules.payment_needs_approval(programme.four_eyes, programme.four_eyes_payments,
                                            programme.approval_threshold, amount):
            return None
    else:
        amount = rules.entry_amount(deltas)
        if not rules.needs_approval(programme.four_eyes, programme.approval_threshold, amount, override is not None):
            return None
    entry = PendingEntry(programme_id=programme_id, kind=kind, state="ter_goedkeuring", summary=summary,
                         amount=amount, deltas=json.dumps({str(y): str(d) for y, d in sorted(deltas.items())}),
                         params=json.dumps(encode(params), sort_keys=True),
                         override_reason=(override or {}).get("reason", ""),
                         entered_by_id=getattr(actor, "id", None), entered_label=_label(actor))
    session.add(entry)
    record(session, actor, "submit", entry, {"after": _audited(entry), "override": override} if override
           else {"after": _audited(entry)})
    notify.queue_waiting(session, entry)
    return entry


def submit_batch(session, actor, programme: Programme, data: bytes, deltas: dict[int, Decimal], summary: str,
                 params: dict) -> PendingEntry:
    """An import file that waits as a whole: approving it runs the import again (imports.services)."""
    entry = PendingEntry(programme_id=programme.id, kind="import", state="ter_goedkeuring", summary=summary,
                         amount=rules.entry_amount(deltas), payload=data,
                         deltas=json.dumps({str(y): str(d) for y, d in sorted(deltas.items())}),
                         params=json.dumps(encode(params), sort_keys=True), entered_by_id=getattr(actor, "id", None),
                         entered_label=_label(actor))
    session.add(entry)
    record(session, actor, "submit", entry, {"after": _audited(entry)})
    notify.queue_waiting(session, entry)
    return entry


def _label(actor) -> str:
    return getattr(actor, "email", None) or str(actor)


def _audited(entry: PendingEntry) -> dict:
    return snapshot(entry, exclude=("payload", "params"))


def deltas_of(entry: PendingEntry) -> dict[int, Decimal]:
    return {int(y): Decimal(d) for y, d in json.loads(entry.deltas or "{}").items()}


def pending_holds(session, programme_id: int, years) -> dict[int, Decimal]:
    """Per year, the room the programme's entries awaiting approval hold (the one being approved left out)."""
    held = {year: ZERO for year in years}
    approving = session.info.get(APPROVING)
    query = select(PendingEntry.id, PendingEntry.deltas).where(
        PendingEntry.programme_id == programme_id, PendingEntry.state == "ter_goedkeuring")
    for entry_id, deltas in session.execute(query):
        if entry_id == approving:
            continue
        for year, amount in rules.holds({int(y): Decimal(d) for y, d in json.loads(deltas).items()}).items():
            if year in held:
                held[year] += amount
    return held


def pending_totals(session, programme: Programme) -> dict[int, Decimal]:
    """What the programme's waiting entries would change in the free room per year (both ways), for the pages."""
    totals: dict[int, Decimal] = {}
    for entry in list_pending(session, programme):
        for year, delta in deltas_of(entry).items():
            totals[year] = totals.get(year, ZERO) + delta
    return dict(sorted(totals.items()))


# --- Settings -------------------------------------------------------------------------------------

def set_four_eyes(session, actor, programme: Programme, on: bool, threshold, payments: bool = False) -> Programme:
    """Switch four eyes on or off for a programme, with its threshold (a beheerder's decision); audited."""
    require_role(actor, "beheerder")
    serialise(session)
    threshold = rules.threshold(threshold)

    def setting() -> dict:
        return {"four_eyes": programme.four_eyes, "approval_threshold": programme.approval_threshold,
                "four_eyes_payments": programme.four_eyes_payments}

    before = setting()
    programme.four_eyes, programme.approval_threshold = bool(on), threshold
    programme.four_eyes_payments = bool(on and payments)
    after = setting()
    if after != before:
        record(session, actor, "update", programme, {"before": before, "after": after})
    return programme


# --- Deciding -------------------------------------------------------------------------------------

def get_entry(session, entry_id: int, programme: Programme | None = None) -> PendingEntry:
    entry = session.get(PendingEntry, entry_id)
    if entry is None or (programme is not None and entry.programme_id != programme.id):
        raise NotFound(f"Boeking ter goedkeuring {entry_id} bestaat niet.")
    return entry


def list_pending(session, programme: Programme) -> list[PendingEntry]:
    return list(session.scalars(select(PendingEntry).where(
        PendingEntry.programme_id == programme.id, PendingEntry.state == "ter_goedkeuring")
        .order_by(PendingEntry.id)))


def list_decided(session, programme: Programme, limit: int = 50) -> list[PendingEntry]:
    return list(session.scalars(select(PendingEntry).where(
        PendingEntry.programme_id == programme.id, PendingEntry.state != "ter_goedkeuring")
        .order_by(PendingEntry.decided_at.desc(), PendingEntry.id.desc()).limit(limit)))


def _open(entry: PendingEntry) -> None:
    if not entry.is_pending:
        raise Conflict(f"Deze boeking is al {'goedgekeurd' if entry.state == 'goedgekeurd' else 'afgewezen'}.")


def approve(session, actor, entry: PendingEntry):
    """Book the entry now, through the same service and every rule at this moment; audited with who approved.

    The entry is booked in the name of whoever entered it (the booking date stays its own); the
    approver and the time are recorded on the entry, in its audit entries and in the booking's.
    """
    require_role(actor, *FINANCE_ROLES)
    serialise(session)
    _open(entry)
    rules.check_decider(getattr(actor, "id", None), getattr(actor, "role", None), entry.entered_by_id,
                        bool(entry.override_reason))
    enterer = _enterer(session, entry)
    now = datetime.now(UTC)
    session.info[APPROVING] = entry.id
    # Every audit entry of the booking says who approved it (core.audit.record).
    session.info["audit_approval"] = {"entry": entry.id, "approved_by": _label(actor), "at": now.isoformat()}
    try:
        result = _book(session, enterer, entry)
    finally:
        session.info.pop(APPROVING, None)
        session.info.pop("audit_approval", None)
    entry.state, entry.decided_by_id, entry.decided_at = "goedgekeurd", getattr(actor, "id", None), now
    entry.result = _result_label(result)
    record(session, actor, "approve", entry, {"after": {"state": entry.state, "result": entry.result}})
    notify.queue_decided(session, entry, actor)
    return result


def reject(session, actor, entry: PendingEntry, reason: str) -> PendingEntry:
    """Refuse the entry with a reason: it never counts, and its room is free again; audited."""
    require_role(actor, *FINANCE_ROLES)
    serialise(session)
    _open(entry)
    rules.check_decider(getattr(actor, "id", None), getattr(actor, "role", None), entry.entered_by_id,
                        bool(entry.override_reason))
    reason = rules.reject_reason(reason)
    entry.state, entry.decided_by_id, entry.decided_at = "afgewezen", getattr(actor, "id", None), datetime.now(UTC)
    entry.decision_reason = reason
    record(session, actor, "reject", entry, {"after": {"state": entry.state, "reason": reason}})
    notify.queue_decided(session, entry, actor)
    return entry


def _enterer(session, entry: PendingEntry):
    if entry.entered_by_id is None:
        return SystemActor(entry.entered_label)
    user = session.get(User, entry.entered_by_id)
    if not user.active:
        raise ValidationError(f"{user.name} is gedeactiveerd; de boeking kan niet meer in diens naam worden "
                              "vastgelegd. Wijs haar af en voer haar opnieuw in.")
    return user


def _book(session, enterer, entry: PendingEntry):
    # Imported here: the budget services call gate() in this module.
    from approvals import replay

    return replay.KINDS[entry.kind](session, enterer, decode(json.loads(entry.params)), entry)


def _result_label(result) -> str:
    first = result[0] if isinstance(result, list) and result else result
    if first is None or not hasattr(first, "id"):
        return ""
    return f"{type(first).__name__} {first.id}"


def kind_label(entry: PendingEntry) -> str:
    return KINDS[entry.kind]
