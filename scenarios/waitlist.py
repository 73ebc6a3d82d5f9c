"""The waiting list: proposals ranked by the priority finance sets, with their readiness and requests per year."""
from __future__ import annotations

import hashlib
from dataclasses import dataclass
from datetime import date
from decimal import Decimal

from sqlalchemy import select
from sqlalchemy.orm import selectinload

from budget.ledger import programme_years
from core import validate
from core.audit import record
from core.errors import Collect, Conflict, ValidationError
from core.locking import serialise
from core.users import FINANCE_ROLES, require_role
from projects.models import Programme, Project
from scenarios.models import READINESS, Proposal, ProposalYear

#: Who is on the list: proposals not yet decided, shelved or new.
STATUSES = ("voorstel", "in_behandeling")
CATEGORIES = ("op_de_plank", "nieuw")
MAX_PRIORITY = 9999


@dataclass(frozen=True)
class Waiting:
    project: Project
    proposal: Proposal | None

    @property
    def priority(self) -> int | None:
        return self.proposal.priority if self.proposal else None

    @property
    def readiness(self) -> str:
        return self.proposal.readiness if self.proposal else ""

    @property
    def requested(self) -> dict[int, Decimal]:
        return {y.year: y.amount for y in self.proposal.years} if self.proposal else {}

    @property
    def since(self) -> date:
        return self.project.created_at.date()


def waiting_list(session, programme: Programme) -> list[Waiting]:
    """In rank order: by priority (unranked last), then the longest waiting first."""
    projects = session.scalars(select(Project).where(Project.programme_id == programme.id,
                                                     Project.status.in_(STATUSES),
                                                     Project.category.in_(CATEGORIES)))
    found = {p.id: p for p in projects}
    proposals = {p.project_id: p for p in session.scalars(
        select(Proposal).where(Proposal.project_id.in_(found)).options(selectinload(Proposal.years)))} \
        if found else {}
    rows = [Waiting(p, proposals.get(pid)) for pid, p in found.items()]
    return sorted(rows, key=lambda w: (w.priority is None, w.priority or 0, w.project.created_at, w.project.code))


def stamp(rows: list[Waiting]) -> str:
    """The list's order as the page showed it: a save on an older order is refused, not written over it."""
    return hashlib.sha256(";".join(f"{w.project.id}:{w.priority}" for w in rows).encode()).hexdigest()


def _proposal(session, project_id: int) -> Proposal:
    proposal = session.get(Proposal, project_id)
    if proposal is None:
        proposal = Proposal(project_id=project_id, readiness="")
        session.add(proposal)
    return proposal


def set_priorities(session, actor, programme: Programme, priorities: dict[int, int | None], shown: str) -> int:
    """Rank the list: numbers 1 and up (ties keep their old order), empty for unranked; returns how many moved.

    The result is numbered 1, 2, 3... again, so the list always reads as a ranking.
    """
    require_role(actor, *FINANCE_ROLES)
    serialise(session)
    rows = waiting_list(session, programme)
    if stamp(rows) != shown:
        raise Conflict("De wachtlijst is in de tussentijd gewijzigd door iemand anders; er is niets opgeslagen. "
                       "Bekijk de nieuwe volgorde en pas hem opnieuw aan.")
    for pid, value in priorities.items():
        if value is not None and not 1 <= value <= MAX_PRIORITY:
            raise ValidationError(f"Een prioriteit is een geheel getal van 1 tot {MAX_PRIORITY} (of leeg).")
    ranked = [w for w in rows if priorities.get(w.project.id, w.priority) is not None]
    ranked.sort(key=lambda w: priorities.get(w.project.id, w.priority))  # stable: ties keep the shown order
    new = {w.project.id: n for n, w in enumerate(ranked, start=1)}
    moved = 0
    for w in rows:
        before, after = w.priority, new.get(w.project.id)
        if before != after:
            proposal = _proposal(session, w.project.id)
            proposal.priority = after
            record(session, actor, "update", proposal,
                   {"before": {"priority": before}, "after": {"priority": after}, "project": w.project.code})
            moved += 1
    return moved


def set_request(session, actor, project: Project, readiness: str, amounts: dict[int, Decimal]) -> Proposal:
    """A proposal's readiness and what it asks per programme year (empty years ask nothing)."""
    require_role(actor, *FINANCE_ROLES)
    serialise(session)
    c = Collect()
    readiness = c(validate.code, readiness, {"": "onbekend", **READINESS}, "gereedheid", "readiness") \
        if readiness else ""
    years = programme_years(session, project.programme)
    for year, amount in amounts.items():
        if year not in years:
            c.errors.append(ValidationError(f"{year} valt buiten de programmajaren.", field="years"))
        elif amount is not None and amount <= 0:
            c.errors.append(ValidationError(f"Het gevraagde bedrag voor {year} moet groter dan nul zijn.",
                                            field=f"jaar_{year}"))
    c.raise_any()
    proposal = _proposal(session, project.id)
    before = {"readiness": proposal.readiness, "years": {y.year: y.amount for y in proposal.years}}
    proposal.readiness = readiness
    proposal.years = [ProposalYear(year=y, amount=a) for y, a in sorted(amounts.items()) if a]
    session.flush()
    record(session, actor, "update", proposal, {"before": before, "after": {
        "readiness": readiness, "years": {y.year: y.amount for y in proposal.years}}, "project": project.code})
    return proposal
