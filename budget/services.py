"""Budget rules: funding, mutations and kasschuif, staffing, commitments and payments, with the budget stop."""
from __future__ import annotations

import uuid
from datetime import date
from decimal import Decimal

from sqlalchemy import func, select

from budget import rules
from budget.ledger import commitment_totals, commitment_year_amounts, enforce_budget_stop, programme_years
from budget.models import (
    FUNDING_KINDS,
    BudgetAllocation,
    BudgetMutation,
    Commitment,
    CommitmentAdjustment,
    CommitmentSchedule,
    FundingSource,
    Payment,
    StaffingCost,
    StaffingReservation,
)
from core import validate
from core.audit import diff, record, snapshot
from core.errors import Conflict, NotFound, ValidationError
from core.locking import serialise
from core.money import Money
from core.users import FINANCE_ROLES, require_role
from projects.models import Programme, Project


def _with_override(changes: dict, override: dict | None) -> dict:
    return {**changes, "override": override} if override else changes


# --- Funding -------------------------------------------------------------------------------


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
        record(session, actor, "create", alloc, _with_override({"after": snapshot(alloc)}, override))
    elif amount != old:
        before = snapshot(alloc)
        alloc.amount = amount
        record(session, actor, "update", alloc, _with_override(diff(before, snapshot(alloc)), override))
    return alloc


# --- Mutations -----------------------------------------------------------------------------


def add_mutation(session, actor, programme: Programme, *, year, amount, kind: str, moment: str, reason: str,
                 mutation_date: date, reference: str = "", override_reason: str | None = None) -> BudgetMutation:
    """One budget mutation for one year; a kasschuif goes through add_kasschuif."""
    require_role(actor, *FINANCE_ROLES)
    serialise(session)
    year = validate.year(year)
    amount = validate.amount(amount, allow_negative=True, allow_zero=False)
    fields = rules.mutation_fields(kind, moment, reason, reference, mutation_date)
    rules.single_mutation(fields["kind"])
    override = enforce_budget_stop(session, actor, programme.id, {year: amount}, override_reason)
    mutation = BudgetMutation(programme_id=programme.id, year=year, amount=amount, **fields)
    session.add(mutation)
    record(session, actor, "create", mutation, _with_override({"after": snapshot(mutation)}, override))
    return mutation


def add_kasschuif(session, actor, programme: Programme, *, amounts: dict, moment: str, reason: str,
                  mutation_date: date, reference: str = "",
                  override_reason: str | None = None) -> list[BudgetMutation]:
    """A kasschuif: mutations over two or more years that together net to exactly zero."""
    require_role(actor, *FINANCE_ROLES)
    serialise(session)
    clean = rules.kasschuif(amounts)
    fields = rules.mutation_fields("kasschuif", moment, reason, reference, mutation_date)
    override = enforce_budget_stop(session, actor, programme.id, clean, override_reason)
    group = str(uuid.uuid4())
    mutations = []
    for year, amount in sorted(clean.items()):
        mutation = BudgetMutation(programme_id=programme.id, year=year, amount=amount,
                                  kasschuif_group=group, **fields)
        session.add(mutation)
        record(session, actor, "create", mutation, _with_override({"after": snapshot(mutation)}, override))
        mutations.append(mutation)
    return mutations


# --- Staffing ------------------------------------------------------------------------------


def set_staffing_reservation(session, actor, programme: Programme, *, year, fte, amount,
                             override_reason: str | None = None) -> StaffingReservation:
    """Create or change a year's staffing reservation; it counts as committed for that year."""
    require_role(actor, *FINANCE_ROLES)
    serialise(session)
    year, amount = validate.year(year), validate.amount(amount)
    fte = rules.staffing_fte(fte)
    res = session.scalar(select(StaffingReservation).where(StaffingReservation.programme_id == programme.id,
                                                           StaffingReservation.year == year))
    old = res.amount if res else Decimal("0.00")
    override = enforce_budget_stop(session, actor, programme.id, {year: old - amount}, override_reason)
    if res is None:
        res = StaffingReservation(programme_id=programme.id, year=year, fte=fte, amount=amount)
        session.add(res)
        record(session, actor, "create", res, _with_override({"after": snapshot(res)}, override))
    else:
        before = snapshot(res)
        res.fte, res.amount = fte, amount
        changes = diff(before, snapshot(res))
        if changes["after"]:
            record(session, actor, "update", res, _with_override(changes, override))
    return res


def add_staffing_cost(session, actor, reservation: StaffingReservation, *, cost_date: date, amount,
                      description: str = "", reference: str = "") -> StaffingCost:
    """Book realised staffing costs (e.g. a quarter) against a reservation; counts as paid."""
    require_role(actor, *FINANCE_ROLES)
    serialise(session)
    amount = validate.amount(amount, allow_negative=True, allow_zero=False)
    cost_date = rules.staffing_day(cost_date, reservation.year)
    rules.staffing_room(_staffing_booked(session, reservation.id), amount, reservation.amount, reservation.year)
    cost = StaffingCost(reservation_id=reservation.id, date=cost_date, amount=amount,
                        description=validate.text(description, "", "description", required=False),
                        reference=validate.text(reference, "", "reference", required=False, max_len=100))
    session.add(cost)
    record(session, actor, "create", cost, {"after": snapshot(cost)})
    return cost


def _staffing_booked(session, reservation_id: int, but: int | None = None) -> Decimal:
    """The staffing costs booked on a reservation (all dates), leaving out the cost `but`."""
    query = select(func.coalesce(func.sum(StaffingCost.amount), 0).cast(Money)).where(
        StaffingCost.reservation_id == reservation_id)
    if but is not None:
        query = query.where(StaffingCost.id != but)
    return session.scalar(query)


# --- Commitments and payments --------------------------------------------------------------


def add_commitment(session, actor, project: Project, *, reference: str, signed_date: date, total,
                   schedule: dict, description: str = "", override_reason: str | None = None) -> Commitment:
    """A commitment with its cash schedule; the schedule must sum to the total and fit the budget."""
    require_role(actor, *FINANCE_ROLES)
    serialise(session)
    reference = validate.text(reference, "een kenmerk", "reference", max_len=100)
    if session.scalar(select(Commitment.id).where(Commitment.reference == reference)):
        raise Conflict(f"Er bestaat al een verplichting met kenmerk {reference}.", field="reference")
    signed_date = validate.day(signed_date, "signed_date")
    state = rules.new_commitment(total, schedule, programme_years(session, project.programme), reference)
    total, years = state.total, state.years
    override = enforce_budget_stop(session, actor, project.programme_id, {y: -a for y, a in years.items()},
                                   override_reason)
    commitment = Commitment(project_id=project.id, reference=reference, signed_date=signed_date, total=total,
                            description=validate.text(description, "", "description", required=False))
    commitment.schedule = [CommitmentSchedule(year=y, amount=a) for y, a in sorted(years.items())]
    session.add(commitment)
    after = {**snapshot(commitment), "schedule": {str(y): a for y, a in sorted(years.items())}}
    record(session, actor, "create", commitment, _with_override({"after": after}, override))
    return commitment


def adjust_commitment(session, actor, commitment: Commitment, *, adjustment_date: date, changes: dict,
                      reason: str, reference: str = "",
                      override_reason: str | None = None) -> list[CommitmentAdjustment]:
    """Dated, reasoned changes to a commitment's years (e.g. a lower vaststelling); never an edit."""
    require_role(actor, *FINANCE_ROLES)
    serialise(session)
    adjustment_date = validate.day(adjustment_date, "adjustment_date")
    reason = validate.text(reason, "een reden", "reason")
    reference = validate.text(reference, "", "reference", required=False, max_len=100)
    programme = commitment.project.programme
    deltas = rules.commitment_schedule(changes, programme_years(session, programme), allow_negative=True)
    total, paid = commitment_totals(session, commitment.id)
    state = rules.CommitmentState(total, paid, commitment_year_amounts(session, commitment.id))
    new_total = rules.adjust(state, deltas).total
    override = enforce_budget_stop(session, actor, programme.id, {y: -d for y, d in deltas.items()},
                                   override_reason)
    rows = []
    for year, delta in sorted(deltas.items()):
        row = CommitmentAdjustment(commitment_id=commitment.id, date=adjustment_date, year=year, amount=delta,
                                   reason=reason, reference=reference)
        session.add(row)
        rows.append(row)
    session.flush()
    record(session, actor, "adjust", commitment, _with_override({
        "before": {"total": total}, "after": {"total": new_total},
        "adjustments": [snapshot(r) for r in rows]}, override))
    return rows


def add_payment(session, actor, commitment: Commitment, *, payment_date: date, amount, kind: str,
                reference: str | None = None, description: str = "") -> Payment:
    """A payment on a commitment; a terugbetaling always lowers the paid total."""
    require_role(actor, *FINANCE_ROLES)
    serialise(session)
    amount = rules.payment_amount(amount, kind)
    payment_date = validate.day(payment_date, "payment_date")
    reference = (reference or "").strip() or None
    if reference and session.scalar(select(Payment.id).where(Payment.reference == reference)):
        raise Conflict(f"Er bestaat al een betaling met kenmerk {reference}.", field="reference")
    total, paid = commitment_totals(session, commitment.id)
    rules.pay(rules.CommitmentState(total, paid, reference=commitment.reference), amount, kind, payment_date)
    payment = Payment(commitment_id=commitment.id, date=payment_date, amount=amount, kind=kind,
                      reference=reference, description=validate.text(description, "", "description", required=False))
    session.add(payment)
    record(session, actor, "create", payment, {"after": snapshot(payment)})
    return payment


# --- Edits and deletes (web forms); every change that lowers free room meets the budget stop ---


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
            record(session, actor, "create", alloc, _with_override({"after": snapshot(alloc)}, override))
        elif alloc.amount != amount:
            before = snapshot(alloc)
            alloc.amount = amount
            record(session, actor, "update", alloc, _with_override(diff(before, snapshot(alloc)), override))
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


def update_mutation(session, actor, mutation: BudgetMutation, *, year, amount, kind: str, moment: str,
                    reason: str, mutation_date: date, reference: str = "",
                    override_reason: str | None = None) -> BudgetMutation:
    """Change a single-year mutation; the stop sees the old amount leave and the new one arrive."""
    require_role(actor, *FINANCE_ROLES)
    serialise(session)
    if mutation.kasschuif_group:
        raise ValidationError("Een kasschuif wijzigt u als geheel via het kasschuifformulier.")
    year = validate.year(year)
    amount = validate.amount(amount, allow_negative=True, allow_zero=False)
    fields = rules.mutation_fields(kind, moment, reason, reference, mutation_date)
    rules.single_mutation(fields["kind"])
    deltas = {mutation.year: -mutation.amount}
    deltas[year] = deltas.get(year, Decimal("0.00")) + amount
    override = enforce_budget_stop(session, actor, mutation.programme_id, deltas, override_reason)
    before = snapshot(mutation)
    mutation.year, mutation.amount = year, amount
    for key, value in fields.items():
        setattr(mutation, key, value)
    changes = diff(before, snapshot(mutation))
    if changes["after"]:
        record(session, actor, "update", mutation, _with_override(changes, override))
    return mutation


def kasschuif_rows(session, group: str) -> list[BudgetMutation]:
    return list(session.scalars(select(BudgetMutation).where(BudgetMutation.kasschuif_group == group)
                                .order_by(BudgetMutation.year)))


def update_kasschuif(session, actor, group: str, *, amounts: dict, moment: str, reason: str,
                     mutation_date: date, reference: str = "",
                     override_reason: str | None = None) -> list[BudgetMutation]:
    """Replace a kasschuif's years and amounts; the new set must again net to zero."""
    require_role(actor, *FINANCE_ROLES)
    serialise(session)
    rows = kasschuif_rows(session, group)
    if not rows:
        raise NotFound("Deze kasschuif bestaat niet.")
    clean = rules.kasschuif(amounts)
    fields = rules.mutation_fields("kasschuif", moment, reason, reference, mutation_date)
    deltas = dict(clean)
    for row in rows:
        deltas[row.year] = deltas.get(row.year, Decimal("0.00")) - row.amount
    override = enforce_budget_stop(session, actor, rows[0].programme_id, deltas, override_reason)
    before = {"amounts": {str(r.year): r.amount for r in rows},
              **{k: getattr(rows[0], k) for k in fields}}
    by_year = {r.year: r for r in rows}
    result = []
    for year, row in by_year.items():
        if year not in clean:
            session.delete(row)
    for year, amount in sorted(clean.items()):
        row = by_year.get(year)
        if row is None:
            row = BudgetMutation(programme_id=rows[0].programme_id, year=year, amount=amount,
                                 kasschuif_group=group, **fields)
            session.add(row)
        else:
            row.amount = amount
            for key, value in fields.items():
                setattr(row, key, value)
        result.append(row)
    session.flush()
    after = {"amounts": {str(y): a for y, a in sorted(clean.items())}, **fields}
    record(session, actor, "update", result[0],
           _with_override({"kasschuif_group": group, **diff(before, after)}, override))
    return result


def delete_mutation(session, actor, mutation: BudgetMutation, override_reason: str | None = None) -> None:
    """Delete a mutation (a kasschuif as a whole); removing money meets the budget stop."""
    require_role(actor, *FINANCE_ROLES)
    serialise(session)
    rows = kasschuif_rows(session, mutation.kasschuif_group) if mutation.kasschuif_group else [mutation]
    deltas: dict[int, Decimal] = {}
    for row in rows:
        deltas[row.year] = deltas.get(row.year, Decimal("0.00")) - row.amount
    override = enforce_budget_stop(session, actor, mutation.programme_id, deltas, override_reason)
    for row in rows:
        record(session, actor, "delete", row, _with_override({"before": snapshot(row)}, override))
        session.delete(row)
    session.flush()


def delete_staffing_reservation(session, actor, reservation: StaffingReservation) -> None:
    """Remove a year's reservation; refused while staffing costs are booked against it."""
    require_role(actor, *FINANCE_ROLES)
    serialise(session)
    count = session.scalar(select(func.count(StaffingCost.id)).where(StaffingCost.reservation_id == reservation.id))
    if count:
        raise Conflict(f"De reservering voor {reservation.year} heeft {count} geboekte personeelskosten; "
                       "verwijder die eerst.")
    record(session, actor, "delete", reservation, {"before": snapshot(reservation)})
    session.delete(reservation)
    session.flush()


def update_staffing_cost(session, actor, cost: StaffingCost, *, cost_date: date, amount,
                         description: str = "", reference: str = "") -> StaffingCost:
    """Correct a booked staffing cost; it must stay inside its reservation and year."""
    require_role(actor, *FINANCE_ROLES)
    serialise(session)
    reservation = cost.reservation
    amount = validate.amount(amount, allow_negative=True, allow_zero=False)
    cost_date = rules.staffing_day(cost_date, reservation.year)
    rules.staffing_room(_staffing_booked(session, reservation.id, but=cost.id), amount, reservation.amount,
                        reservation.year)
    before = snapshot(cost)
    cost.date, cost.amount = cost_date, amount
    cost.description = validate.text(description, "", "description", required=False)
    cost.reference = validate.text(reference, "", "reference", required=False, max_len=100)
    changes = diff(before, snapshot(cost))
    if changes["after"]:
        record(session, actor, "update", cost, changes)
    return cost


def delete_staffing_cost(session, actor, cost: StaffingCost) -> None:
    """Remove a booked staffing cost, unless that leaves the remaining bookings negative."""
    require_role(actor, *FINANCE_ROLES)
    serialise(session)
    rules.staffing_removal(_staffing_booked(session, cost.reservation_id, but=cost.id))
    record(session, actor, "delete", cost, {"before": snapshot(cost)})
    session.delete(cost)
    session.flush()


def delete_commitment(session, actor, commitment: Commitment) -> None:
    """Remove a wrongly entered commitment; refused once payments or adjustments rest on it."""
    require_role(actor, *FINANCE_ROLES)
    serialise(session)
    payments = session.scalar(select(func.count(Payment.id)).where(Payment.commitment_id == commitment.id))
    adjustments = session.scalar(select(func.count(CommitmentAdjustment.id)).where(
        CommitmentAdjustment.commitment_id == commitment.id))
    if payments or adjustments:
        parts = []
        if payments:
            parts.append(f"{payments} betaling(en)")
        if adjustments:
            parts.append(f"{adjustments} bijstelling(en)")
        raise Conflict(f"Verplichting {commitment.reference} heeft {' en '.join(parts)}; "
                       "stel haar zo nodig bij in plaats van haar te verwijderen.")
    before = {**snapshot(commitment), "schedule": {str(s.year): s.amount for s in commitment.schedule}}
    record(session, actor, "delete", commitment, {"before": before})
    session.delete(commitment)
    session.flush()
