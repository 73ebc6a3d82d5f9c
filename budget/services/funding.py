"""Funding sources and their yearly amounts; lowering an amount meets the budget stop."""
from __future__ import annotations

from decimal import Decimal

from sqlalchemy import func, select

from budget.ledger import enforce_budget_stop
from budget.models import (
    FUNDING_KINDS,
    BudgetAllocation,
    FundingSource,
)
from core import validate
from core.audit import diff, record, snapshot, with_override
from core.errors import Conflict
from core.locking import serialise
from core.users import FINANCE_ROLES, require_role
from projects.models import Programme


def add_funding_source(session, actor, programme: Programme, name: str, kind: str, reference: str = "",
                       allocations: dict[int, object] | None = None) -> FundingSource:
    """A funding source with its yearly amounts; adding money never hits the budget stop."""
    require_role(actor, *FINANCE_ROLES)
    serialise(session)
    name = validate.text(name, "een naam", "name", max_len=200)
    if session.scalar(select(FundingSource.id).where(FundingSource.programme_id == programme.id,
                                                     func.lower(FundingSource.name) == name.lower())):
        raise Conflict(f"Financieringsbron '{name}' bestaat al.", field="name")
    amounts = {validate.year(y): validate.amount(a) for y, a in (allocations or {}).items()}
    source = FundingSource(programme_id=programme.id, name=name,
                           kind=validate.code(kind, FUNDING_KINDS, "soort", "kind"),
                           reference=validate.text(reference, "", "reference", required=False, max_len=200))
    source.allocations = [BudgetAllocation(year=y, amount=a) for y, a in sorted(amounts.items())]
    session.add(source)
    record(session, actor, "create", source,
           {"after": {**snapshot(source), "allocations": {str(y): a for y, a in sorted(amounts.items())}}})
    return source


def set_allocation(session, actor, source: FundingSource, year, amount,
                   override_reason: str | None = None) -> BudgetAllocation:
    """Set one year's amount of a source (create or change); lowering it meets the budget stop."""
    require_role(actor, *FINANCE_ROLES)
    serialise(session)
    year, amount = validate.year(year), validate.amount(amount)
    alloc = session.scalar(select(BudgetAllocation).where(BudgetAllocation.source_id == source.id,
                                                          BudgetAllocation.year == year))
    old = alloc.amount if alloc else Decimal("0.00")
    override = enforce_budget_stop(session, actor, source.programme_id, {year: amount - old}, override_reason)
    if alloc is None:
        alloc = BudgetAllocation(source_id=source.id, year=year, amount=amount)
        session.add(alloc)
        record(session, actor, "create", alloc, with_override({"after": snapshot(alloc)}, override))
    elif amount != old:
        before = snapshot(alloc)
        alloc.amount = amount
        record(session, actor, "update", alloc, with_override(diff(before, snapshot(alloc)), override))
    return alloc


def update_funding_source(session, actor, source: FundingSource, *, name: str, kind: str,
                          reference: str = "") -> FundingSource:
    """Change a source's name, kind or reference; its yearly amounts go through set_allocations."""
    require_role(actor, *FINANCE_ROLES)
    serialise(session)
    name = validate.text(name, "een naam", "name", max_len=200)
    clash = session.scalar(select(FundingSource.id).where(FundingSource.programme_id == source.programme_id,
                                                          func.lower(FundingSource.name) == name.lower(),
                                                          FundingSource.id != source.id))
    if clash:
        raise Conflict(f"Financieringsbron '{name}' bestaat al.", field="name")
    before = snapshot(source)
    source.name = name
    source.kind = validate.code(kind, FUNDING_KINDS, "soort", "kind")
    source.reference = validate.text(reference, "", "reference", required=False, max_len=200)
    changes = diff(before, snapshot(source))
    if changes["after"]:
        record(session, actor, "update", source, changes)
    return source


def set_allocations(session, actor, source: FundingSource, amounts: dict,
                    override_reason: str | None = None) -> list[BudgetAllocation]:
    """Set several years of a source at once; the budget stop sees all lowered years together."""
    require_role(actor, *FINANCE_ROLES)
    serialise(session)
    clean = {validate.year(y): validate.amount(a) for y, a in amounts.items()}
    existing = {a.year: a for a in session.scalars(
        select(BudgetAllocation).where(BudgetAllocation.source_id == source.id))}
    deltas = {y: a - (existing[y].amount if y in existing else Decimal("0.00")) for y, a in clean.items()}
    override = enforce_budget_stop(session, actor, source.programme_id, deltas, override_reason)
    changed = []
    for year, amount in sorted(clean.items()):
        alloc = existing.get(year)
        if alloc is None:
            if amount == 0:
                continue  # an empty year stays without a row
            alloc = BudgetAllocation(source_id=source.id, year=year, amount=amount)
            session.add(alloc)
            record(session, actor, "create", alloc, with_override({"after": snapshot(alloc)}, override))
        elif alloc.amount != amount:
            before = snapshot(alloc)
            alloc.amount = amount
            record(session, actor, "update", alloc, with_override(diff(before, snapshot(alloc)), override))
        else:
            continue
        changed.append(alloc)
    return changed


def delete_funding_source(session, actor, source: FundingSource) -> None:
    """Remove a source only when no year still carries money (setting those to zero meets the budget stop)."""
    require_role(actor, *FINANCE_ROLES)
    serialise(session)
    years = sorted(a.year for a in session.scalars(
        select(BudgetAllocation).where(BudgetAllocation.source_id == source.id, BudgetAllocation.amount != 0)))
    if years:
        raise Conflict(f"Financieringsbron '{source.name}' heeft nog bedragen in {', '.join(map(str, years))}; "
                       "zet die eerst op nul.")
    before = snapshot(source)
    for alloc in session.scalars(select(BudgetAllocation).where(BudgetAllocation.source_id == source.id)):
        session.delete(alloc)
    record(session, actor, "delete", source, {"before": before})
    session.delete(source)
    session.flush()
