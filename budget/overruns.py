"""Years whose free room is negative, and the budget-stop overrides in the audit trail that explain them."""
from __future__ import annotations

import json
from datetime import date, datetime, time, timedelta, timezone
from decimal import Decimal

from sqlalchemy import and_, func, select

from budget.models import (
    BudgetAllocation,
    BudgetMutation,
    Commitment,
    FundingSource,
    StaffingReservation,
)
from core.audit import AuditEntry
from core.dates import AMSTERDAM, datum_lang
from core.money import format_eur
from core.users import User
from projects.models import Project

#: What a budget stop guards, as the audit trail names it (core.audit.record), and as a note names it.
SUBJECTS = {
    "BudgetAllocation": "een bedrag van een financieringsbron",
    "BudgetMutation": "een budgetmutatie",
    "StaffingReservation": "de reservering ambtelijke ondersteuning",
    "Commitment": "een verplichting",
}


def end_of(day: date) -> datetime:
    """The first moment after `day`, in UTC (the audit trail keeps UTC).

    The day ends at midnight in the server's own time zone, the one date.today() uses for the
    default peildatum: a report "t/m vandaag" then always counts an override made a minute ago.
    """
    return datetime.combine(day + timedelta(days=1), time(0)).astimezone(timezone.utc)


def _utc(at: datetime) -> datetime:
    # SQLite hands back naive UTC, PostgreSQL an aware datetime.
    return at.replace(tzinfo=timezone.utc) if at.tzinfo is None else at.astimezone(timezone.utc)


def overrides(session, programme_id: int, years, upto: date | None = None) -> dict[int, list[dict]]:
    """The budget-stop overrides of this programme that let `years` fall short, oldest first.

    Each is a plain dict (it goes into a snapshot as it is): `at` (UTC, ISO), `who`, `reason`,
    `shortfall` (that year's, as text) and `subject`. With `upto`, only overrides recorded on or
    before that day count, as every other fact of a stand at a peildatum. One
    override that wrote several entries (a kasschuif, several years of a source) counts once.
    """
    wanted = {str(y): int(y) for y in years}
    if not wanted:
        return {}
    # The programme of the object the entry is about; a deleted mutation keeps it in its snapshot.
    programme_of = func.coalesce(BudgetMutation.programme_id, StaffingReservation.programme_id,
                                 FundingSource.programme_id, Project.programme_id)
    about = lambda model, name: and_(AuditEntry.entity == name, AuditEntry.entity_id == model.id)  # noqa: E731
    query = (
        select(AuditEntry.at, AuditEntry.changes, AuditEntry.entity, AuditEntry.actor_label, User.name,
               programme_of)
        .outerjoin(User, AuditEntry.actor_id == User.id)
        .outerjoin(BudgetMutation, about(BudgetMutation, "BudgetMutation"))
        .outerjoin(StaffingReservation, about(StaffingReservation, "StaffingReservation"))
        .outerjoin(BudgetAllocation, about(BudgetAllocation, "BudgetAllocation"))
        .outerjoin(FundingSource, BudgetAllocation.source_id == FundingSource.id)
        .outerjoin(Commitment, about(Commitment, "Commitment"))
        .outerjoin(Project, Commitment.project_id == Project.id)
        # core.audit writes changes as sorted JSON with ': ' after a key; the JSON is read below.
        .where(AuditEntry.entity.in_(SUBJECTS), AuditEntry.changes.contains('"override": {', autoescape=True))
        .order_by(AuditEntry.id)
    )
    if upto is not None:
        query = query.where(AuditEntry.at < end_of(upto))
    found: dict[int, list[dict]] = {}
    seen = set()
    for at, text, entity, label, name, programme in session.execute(query):
        changes = json.loads(text or "{}")
        override = changes.get("override")
        if not isinstance(override, dict):
            continue
        if programme is None:
            programme = (changes.get("before") or changes.get("after") or {}).get("programme_id")
        if programme != programme_id:
            continue
        shortfalls = override.get("shortfalls") or {}
        key = (label, override.get("reason"), json.dumps(shortfalls, sort_keys=True))
        if key in seen:
            continue
        seen.add(key)
        for year_text, amount in shortfalls.items():
            if year_text in wanted:
                found.setdefault(wanted[year_text], []).append({
                    "at": _utc(at).isoformat(timespec="seconds"), "who": name or label,
                    "reason": override.get("reason", ""), "shortfall": str(amount), "subject": SUBJECTS[entity]})
    return found


def overrun_note(year: int, free: Decimal, found: list[dict] | None, names: bool, at_peildatum: bool = True) -> str:
    """The Dutch note beside a year whose free room is negative: which overrides, when, why.

    `names` says who did it (internal outputs); otherwise "een beheerder": a public report never
    names a civil servant. `found` None means the source (an older snapshot) did not keep them.
    """
    head = f"{year}: de vrije ruimte is negatief ({format_eur(free)})."
    if found is None:
        return head + " Deze vastgelegde stand bevat geen gegevens over doorbrekingen van de budgetstop."
    if not found:
        until = " t/m de peildatum" if at_peildatum else ""
        return head + f" De audittrail bevat{until} geen doorbreking van de budgetstop voor dit jaar."
    parts = []
    for o in found:
        at = datetime.fromisoformat(o["at"]).astimezone(AMSTERDAM)
        who = o["who"] if names else "een beheerder"
        parts.append(f"op {datum_lang(at)} om {at:%H:%M} door {who} bij {o['subject']} "
                     f"(tekort {format_eur(Decimal(o['shortfall']))}), reden: “{o['reason']}”")
    times = "" if len(parts) == 1 else f" {len(parts)} keer"
    return f"{head} De budgetstop is{times} doorbroken: " + "; ".join(parts) + "."


def overrun_notes(session, programme_id: int, free_by_year: dict[int, Decimal], upto: date | None,
                  names: bool) -> dict[int, str]:
    """The note per year with negative free room (none when every year fits: then no query)."""
    short = {y: f for y, f in free_by_year.items() if f < 0}
    if not short:
        return {}
    found = overrides(session, programme_id, short, upto)
    return {y: overrun_note(y, f, found.get(y, []), names, upto is not None) for y, f in sorted(short.items())}
