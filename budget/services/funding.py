"""Funding sources and their yearly amounts, changed by dated changes; lowering an amount meets the budget stop."""
from __future__ import annotations

from datetime import date
from decimal import Decimal

from sqlalchemy import func, select

from budget import rules
from budget.ledger import enforce_budget_stop
from budget.models import (
    FUNDING_KINDS,
    UNDATED_FROM,
    AllocationChange,
    BudgetAllocation,
    FundingSource,
)
from budget.services.periods import check_open
from core import validate
from core.audit import diff, record, snapshot, with_override
from core.errors import Conflict
from core.locking import serialise
from core.users import FINANCE_ROLES, require_role
from projects.models import Programme


def valid_from_day(value) -> date:
    """The day a change counts from in the figures (default today): every write here takes its date here."""
    if value is None:
        return date.today()
    if value == UNDATED_FROM:
        # An amount from before dating (an export of carried-over data): counts at every peildatum.
        return value
    return validate.day(value, "valid_from")


def _change(alloc: BudgetAllocation, amount: Decimal, valid_from: date) -> AllocationChange:
    """Record the new amount as a dated change (new minus old); the allocation keeps the current amount."""
    change = AllocationChange(valid_from=valid_from, amount=amount - (alloc.amount or Decimal("0.00")))
    alloc.changes.append(change)
    alloc.amount = amount
    return change


def _new_allocation(session, source_id: int, year: int, amount: Decimal, valid_from: date) -> BudgetAllocation:
    alloc = BudgetAllocation(source_id=source_id, year=year, amount=Decimal("0.00"))
    _change(alloc, amount, valid_from)
    session.add(alloc)
    return alloc


def add_funding_source(session, actor, programme: Programme, name: str, kind: str, reference: str = "",
                       allocations: dict[int, object] | None = None, valid_from=None) -> FundingSource:
    """A funding source with its yearly amounts from `valid_from` on; adding money never hits the budget stop."""
    require_role(actor, *FINANCE_ROLES)
    serialise(session)
    valid_from = valid_from_day(valid_from)
    check_open(session, programme.id, (valid_from, "valid_from"))
    name = validate.text(name, "een naam", "name", max_len=200)
    if session.scalar(select(FundingSource.id).where(FundingSource.programme_id == programme.id,
                                                     func.lower(FundingSource.name) == name.lower())):
        raise Conflict(f"Financieringsbron '{name}' bestaat al.", field="name")
    amounts = {validate.year(y): validate.amount(a) for y, a in (allocations or {}).items()}
    source = FundingSource(programme_id=programme.id, name=name,
                           kind=validate.code(kind, FUNDING_KINDS, "soort", "kind"),
                           reference=validate.text(reference, "", "reference", required=False, max_len=200))
    session.add(source)
    session.flush()
    for y, a in sorted(amounts.items()):
        _new_allocation(session, source.id, y, a, valid_from)
    record(session, actor, "create", source,
           {"after": {**snapshot(source), "allocations": {str(y): a for y, a in sorted(amounts.items())},
                      "valid_from": valid_from}})
    return source


def set_allocation(session, actor, source: FundingSource, year, amount,
                   override_reason: str | None = None, valid_from=None) -> BudgetAllocation:
    """Set one year's amount of a source from `valid_from` on (create or change); lowering it meets the budget stop."""
    require_role(actor, *FINANCE_ROLES)
    serialise(session)
    valid_from = valid_from_day(valid_from)
    check_open(session, source.programme_id, (valid_from, "valid_from"))
    year, amount = validate.year(year), validate.amount(amount)
    alloc = session.scalar(select(BudgetAllocation).where(BudgetAllocation.source_id == source.id,
                                                          BudgetAllocation.year == year))
    old = alloc.amount if alloc else Decimal("0.00")
    override = enforce_budget_stop(session, actor, source.programme_id, {year: amount - old}, override_reason)
    if alloc is None:
        alloc = _new_allocation(session, source.id, year, amount, valid_from)
        record(session, actor, "create", alloc,
               with_override({"after": {**snapshot(alloc), "valid_from": valid_from}}, override))
    elif amount != old:
        _write_change(session, actor, alloc, amount, valid_from, override)
    return alloc


def _write_change(session, actor, alloc: BudgetAllocation, amount: Decimal, valid_from: date, override) -> None:
    before = snapshot(alloc)
    _change(alloc, amount, valid_from)
    changes = diff(before, snapshot(alloc))
    changes["after"]["valid_from"] = valid_from
    record(session, actor, "update", alloc, with_override(changes, override))


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
    kind = validate.code(kind, FUNDING_KINDS, "soort", "kind")
    counted_since = session.scalar(select(func.min(AllocationChange.valid_from)).join(
        BudgetAllocation, AllocationChange.allocation_id == BudgetAllocation.id).where(
        BudgetAllocation.source_id == source.id))
    before = snapshot(source)
    source.kind = rules.source_kind(source.name, source.kind, kind, counted_since, date.today())
    source.name = name
    source.reference = validate.text(reference, "", "reference", required=False, max_len=200)
    changes = diff(before, snapshot(source))
    if changes["after"]:
        record(session, actor, "update", source, changes)
    return source


def set_allocations(session, actor, source: FundingSource, amounts: dict,
                    override_reason: str | None = None, valid_from=None) -> list[BudgetAllocation]:
    """Set several years of a source at once from `valid_from` on; the budget stop sees all lowered years together."""
    require_role(actor, *FINANCE_ROLES)
    serialise(session)
    valid_from = valid_from_day(valid_from)
    check_open(session, source.programme_id, (valid_from, "valid_from"))
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
            alloc = _new_allocation(session, source.id, year, amount, valid_from)
            record(session, actor, "create", alloc,
                   with_override({"after": {**snapshot(alloc), "valid_from": valid_from}}, override))
        elif alloc.amount != amount:
            _write_change(session, actor, alloc, amount, valid_from, override)
        else:
            continue
        changed.append(alloc)
    return changed


def delete_funding_source(session, actor, source: FundingSource) -> None:
    """Remove a source only when no year still carries money (setting those to zero meets the budget stop).

    Its dated changes go with it; the audit entry keeps them, since they moved the figures at their dates.
    """
    require_role(actor, *FINANCE_ROLES)
    serialise(session)
    years = sorted(a.year for a in session.scalars(
        select(BudgetAllocation).where(BudgetAllocation.source_id == source.id, BudgetAllocation.amount != 0)))
    if years:
        raise Conflict(f"Financieringsbron '{source.name}' heeft nog bedragen in {', '.join(map(str, years))}; "
                       "zet die eerst op nul.")
    before = snapshot(source)
    allocations = list(session.scalars(select(BudgetAllocation).where(BudgetAllocation.source_id == source.id)))
    # Its history moved the figures from its earliest change on: a closed period keeps it.
    check_open(session, source.programme_id,
               (min((c.valid_from for a in allocations for c in a.changes), default=None), "valid_from"))
    before["changes"] = [{"year": a.year, "valid_from": c.valid_from, "amount": c.amount}
                         for a in allocations for c in a.changes]
    for alloc in allocations:
        for change in alloc.changes:
            session.delete(change)
        session.flush()
        session.delete(alloc)
    record(session, actor, "delete", source, {"before": before})
    session.delete(source)
    session.flush()
