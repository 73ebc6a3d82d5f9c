"""Budget rules: funding, mutations and kasschuif, staffing, commitments and payments, with the budget stop."""
from __future__ import annotations

import uuid
from datetime import date
from decimal import Decimal

from sqlalchemy import func, select

from budget.ledger import commitment_totals, commitment_year_amounts, enforce_budget_stop, programme_years
from budget.models import (
    FUNDING_KINDS,
    MUTATION_KINDS,
    MUTATION_MOMENTS,
    PAYMENT_KINDS,
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
from core.audit import diff, record, snapshot
from core.errors import BudgetStopError, Conflict, NotFound, ValidationError
from core.locking import serialise
from core.money import Money, format_eur, parse_eur
from core.users import FINANCE_ROLES, require_role
from projects.models import Programme, Project
from projects.services import _code, _text, check_year


def _amount(value, field: str = "amount", allow_negative: bool = False, allow_zero: bool = True) -> Decimal:
    amount = parse_eur(value)
    if amount < 0 and not allow_negative:
        raise ValidationError("Het bedrag kan niet negatief zijn.", field=field)
    if amount == 0 and not allow_zero:
        raise ValidationError("Het bedrag kan niet nul zijn.", field=field)
    return amount


def _date(value, field: str) -> date:
    if not isinstance(value, date):
        raise ValidationError("Vul een geldige datum in.", field=field)
    return value


def _with_override(changes: dict, override: dict | None) -> dict:
    return {**changes, "override": override} if override else changes


# --- Funding -------------------------------------------------------------------------------


def add_funding_source(session, actor, programme: Programme, name: str, kind: str, reference: str = "",
                       allocations: dict[int, object] | None = None) -> FundingSource:
    """A funding source with its yearly amounts; adding money never hits the budget stop."""
    require_role(actor, *FINANCE_ROLES)
    serialise(session)
    name = _text(name, "een naam", "name", max_len=200)
    if session.scalar(select(FundingSource.id).where(FundingSource.programme_id == programme.id,
                                                     func.lower(FundingSource.name) == name.lower())):
        raise Conflict(f"Financieringsbron '{name}' bestaat al.", field="name")
    amounts = {check_year(y): _amount(a) for y, a in (allocations or {}).items()}
    source = FundingSource(programme_id=programme.id, name=name,
                           kind=_code(kind, FUNDING_KINDS, "soort", "kind"),
                           reference=_text(reference, "", "reference", required=False, max_len=200))
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
    year, amount = check_year(year), _amount(amount)
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


def _mutation_fields(kind, moment, reason, reference, mutation_date) -> dict:
    return {
        "kind": _code(kind, MUTATION_KINDS, "soort mutatie", "kind"),
        "moment": _code(moment, MUTATION_MOMENTS, "moment", "moment"),
        "reason": _text(reason, "een toelichting", "reason"),
        "reference": _text(reference, "", "reference", required=False, max_len=200),
        "date": _date(mutation_date, "date"),
    }


def add_mutation(session, actor, programme: Programme, *, year, amount, kind: str, moment: str, reason: str,
                 mutation_date: date, reference: str = "", override_reason: str | None = None) -> BudgetMutation:
    """One budget mutation for one year; a kasschuif goes through add_kasschuif."""
    require_role(actor, *FINANCE_ROLES)
    serialise(session)
    year = check_year(year)
    amount = _amount(amount, allow_negative=True, allow_zero=False)
    fields = _mutation_fields(kind, moment, reason, reference, mutation_date)
    if fields["kind"] == "kasschuif":
        raise ValidationError("Een kasschuif boekt u over meerdere jaren tegelijk, als kasschuif.", field="kind")
    override = enforce_budget_stop(session, actor, programme.id, {year: amount}, override_reason)
    mutation = BudgetMutation(programme_id=programme.id, year=year, amount=amount, **fields)
    session.add(mutation)
    record(session, actor, "create", mutation, _with_override({"after": snapshot(mutation)}, override))
    return mutation


def _kasschuif_amounts(amounts: dict) -> dict[int, Decimal]:
    """The non-zero amounts per year of a kasschuif: at least two years, netting to exactly zero."""
    clean = {check_year(y): _amount(a, allow_negative=True) for y, a in amounts.items()}
    clean = {y: a for y, a in clean.items() if a != 0}
    if len(clean) < 2:
        raise ValidationError("Een kasschuif verschuift geld tussen minstens twee jaren.", field="amounts")
    total = sum(clean.values(), Decimal("0.00"))
    if total != 0:
        raise ValidationError(f"Een kasschuif moet op nul uitkomen; het saldo is nu {format_eur(total)}.",
                              field="amounts")
    return clean


def add_kasschuif(session, actor, programme: Programme, *, amounts: dict, moment: str, reason: str,
                  mutation_date: date, reference: str = "",
                  override_reason: str | None = None) -> list[BudgetMutation]:
    """A kasschuif: mutations over two or more years that together net to exactly zero."""
    require_role(actor, *FINANCE_ROLES)
    serialise(session)
    clean = _kasschuif_amounts(amounts)
    fields = _mutation_fields("kasschuif", moment, reason, reference, mutation_date)
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
    year, amount = check_year(year), _amount(amount)
    fte = parse_eur(fte)  # same Dutch decimal notation, two places
    if fte < 0:
        raise ValidationError("Het aantal fte kan niet negatief zijn.", field="fte")
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
    amount = _amount(amount, allow_negative=True, allow_zero=False)
    cost_date = _date(cost_date, "cost_date")
    if cost_date.year != reservation.year:
        raise ValidationError(f"Deze reservering is voor {reservation.year}; de datum valt in {cost_date.year}.",
                              field="cost_date")
    booked = session.scalar(select(func.coalesce(func.sum(StaffingCost.amount), 0).cast(Money)).where(
        StaffingCost.reservation_id == reservation.id))
    if booked + amount > reservation.amount:
        raise BudgetStopError({reservation.year: booked + amount - reservation.amount},
                              f"De personeelskosten komen boven de reservering van {format_eur(reservation.amount)} "
                              f"voor {reservation.year} (tekort {format_eur(booked + amount - reservation.amount)}).")
    if booked + amount < 0:
        raise ValidationError("Een correctie kan de geboekte personeelskosten niet negatief maken.", field="amount")
    cost = StaffingCost(reservation_id=reservation.id, date=cost_date, amount=amount,
                        description=_text(description, "", "description", required=False),
                        reference=_text(reference, "", "reference", required=False, max_len=100))
    session.add(cost)
    record(session, actor, "create", cost, {"after": snapshot(cost)})
    return cost


# --- Commitments and payments --------------------------------------------------------------


def _schedule(session, programme: Programme, schedule: dict, allow_negative: bool = False) -> dict[int, Decimal]:
    years = programme_years(session, programme)
    clean: dict[int, Decimal] = {}
    for y, a in schedule.items():
        year = check_year(y, "schedule")
        if year not in years:
            raise ValidationError(f"{year} valt buiten de programmajaren {years[0]}–{years[-1]}.", field="schedule")
        amount = _amount(a, "schedule", allow_negative=allow_negative)
        if amount != 0:
            clean[year] = clean.get(year, Decimal("0.00")) + amount
    return clean


def add_commitment(session, actor, project: Project, *, reference: str, signed_date: date, total,
                   schedule: dict, description: str = "", override_reason: str | None = None) -> Commitment:
    """A commitment with its cash schedule; the schedule must sum to the total and fit the budget."""
    require_role(actor, *FINANCE_ROLES)
    serialise(session)
    reference = _text(reference, "een kenmerk", "reference", max_len=100)
    if session.scalar(select(Commitment.id).where(Commitment.reference == reference)):
        raise Conflict(f"Er bestaat al een verplichting met kenmerk {reference}.", field="reference")
    signed_date = _date(signed_date, "signed_date")
    total = _amount(total, "total")
    if total == 0:
        raise ValidationError("Een verplichting heeft een bedrag groter dan nul.", field="total")
    years = _schedule(session, project.programme, schedule)
    scheduled = sum(years.values(), Decimal("0.00"))
    if scheduled != total:
        raise ValidationError(f"Het kasritme telt op tot {format_eur(scheduled)}, "
                              f"maar de verplichting is {format_eur(total)}.", field="schedule")
    override = enforce_budget_stop(session, actor, project.programme_id, {y: -a for y, a in years.items()},
                                   override_reason)
    commitment = Commitment(project_id=project.id, reference=reference, signed_date=signed_date, total=total,
                            description=_text(description, "", "description", required=False))
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
    adjustment_date = _date(adjustment_date, "adjustment_date")
    reason = _text(reason, "een reden", "reason")
    programme = commitment.project.programme
    deltas = _schedule(session, programme, changes, allow_negative=True)
    if not deltas:
        raise ValidationError("Geef per jaar het bedrag van de bijstelling.", field="changes")
    current = commitment_year_amounts(session, commitment.id)
    for year, delta in deltas.items():
        if current.get(year, Decimal("0.00")) + delta < 0:
            raise ValidationError(f"De bijstelling maakt het kasritme in {year} negatief.", field="changes")
    total, paid = commitment_totals(session, commitment.id)
    new_total = total + sum(deltas.values(), Decimal("0.00"))
    if new_total < paid:
        raise ValidationError(f"Na deze bijstelling is de verplichting {format_eur(new_total)}, "
                              f"maar er is al {format_eur(paid)} betaald.", field="changes")
    override = enforce_budget_stop(session, actor, programme.id, {y: -d for y, d in deltas.items()},
                                   override_reason)
    rows = []
    for year, delta in sorted(deltas.items()):
        row = CommitmentAdjustment(commitment_id=commitment.id, date=adjustment_date, year=year, amount=delta,
                                   reason=reason, reference=_text(reference, "", "reference", required=False,
                                                                  max_len=100))
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
    kind = _code(kind, PAYMENT_KINDS, "soort betaling", "kind")
    amount = _amount(amount, allow_negative=True, allow_zero=False)
    amount = -abs(amount) if kind == "terugbetaling" else amount
    if amount < 0 and kind != "terugbetaling":
        raise ValidationError("Een negatief bedrag boekt u als terugbetaling.", field="amount")
    payment_date = _date(payment_date, "payment_date")
    reference = (reference or "").strip() or None
    if reference and session.scalar(select(Payment.id).where(Payment.reference == reference)):
        raise Conflict(f"Er bestaat al een betaling met kenmerk {reference}.", field="reference")
    total, paid = commitment_totals(session, commitment.id)
    if paid + amount > total:
        raise BudgetStopError({payment_date.year: paid + amount - total},
                              _overpay_message(commitment, total, paid + amount - total))
    if paid + amount < 0:
        raise ValidationError("De terugbetaling is groter dan wat er op deze verplichting is betaald.",
                              field="amount")
    payment = Payment(commitment_id=commitment.id, date=payment_date, amount=amount, kind=kind,
                      reference=reference, description=_text(description, "", "description", required=False))
    session.add(payment)
    record(session, actor, "create", payment, {"after": snapshot(payment)})
    return payment


def _overpay_message(commitment: Commitment, total: Decimal, excess: Decimal) -> str:
    return (f"Betaling geweigerd: verplichting {commitment.reference} is {format_eur(total)}; "
            f"deze betaling gaat daar {format_eur(excess)} overheen.")


# --- Edits and deletes (web forms); every change that lowers free room meets the budget stop ---


def update_funding_source(session, actor, source: FundingSource, *, name: str, kind: str,
                          reference: str = "") -> FundingSource:
    """Change a source's name, kind or reference; its yearly amounts go through set_allocations."""
    require_role(actor, *FINANCE_ROLES)
    serialise(session)
    name = _text(name, "een naam", "name", max_len=200)
    clash = session.scalar(select(FundingSource.id).where(FundingSource.programme_id == source.programme_id,
                                                          func.lower(FundingSource.name) == name.lower(),
                                                          FundingSource.id != source.id))
    if clash:
        raise Conflict(f"Financieringsbron '{name}' bestaat al.", field="name")
    before = snapshot(source)
    source.name = name
    source.kind = _code(kind, FUNDING_KINDS, "soort", "kind")
    source.reference = _text(reference, "", "reference", required=False, max_len=200)
    changes = diff(before, snapshot(source))
    if changes["after"]:
        record(session, actor, "update", source, changes)
    return source


def set_allocations(session, actor, source: FundingSource, amounts: dict,
                    override_reason: str | None = None) -> list[BudgetAllocation]:
    """Set several years of a source at once; the budget stop sees all lowered years together."""
    require_role(actor, *FINANCE_ROLES)
    serialise(session)
    clean = {check_year(y): _amount(a) for y, a in amounts.items()}
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
    year = check_year(year)
    amount = _amount(amount, allow_negative=True, allow_zero=False)
    fields = _mutation_fields(kind, moment, reason, reference, mutation_date)
    if fields["kind"] == "kasschuif":
        raise ValidationError("Een kasschuif boekt u over meerdere jaren tegelijk, als kasschuif.", field="kind")
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
    clean = _kasschuif_amounts(amounts)
    fields = _mutation_fields("kasschuif", moment, reason, reference, mutation_date)
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
    amount = _amount(amount, allow_negative=True, allow_zero=False)
    cost_date = _date(cost_date, "cost_date")
    if cost_date.year != reservation.year:
        raise ValidationError(f"Deze reservering is voor {reservation.year}; de datum valt in {cost_date.year}.",
                              field="cost_date")
    others = session.scalar(select(func.coalesce(func.sum(StaffingCost.amount), 0).cast(Money)).where(
        StaffingCost.reservation_id == reservation.id, StaffingCost.id != cost.id))
    if others + amount > reservation.amount:
        excess = others + amount - reservation.amount
        raise BudgetStopError({reservation.year: excess},
                              f"De personeelskosten komen boven de reservering van {format_eur(reservation.amount)} "
                              f"voor {reservation.year} (tekort {format_eur(excess)}).")
    if others + amount < 0:
        raise ValidationError("Een correctie kan de geboekte personeelskosten niet negatief maken.", field="amount")
    before = snapshot(cost)
    cost.date, cost.amount = cost_date, amount
    cost.description = _text(description, "", "description", required=False)
    cost.reference = _text(reference, "", "reference", required=False, max_len=100)
    changes = diff(before, snapshot(cost))
    if changes["after"]:
        record(session, actor, "update", cost, changes)
    return cost


def delete_staffing_cost(session, actor, cost: StaffingCost) -> None:
    """Remove a booked staffing cost, unless that leaves the remaining bookings negative."""
    require_role(actor, *FINANCE_ROLES)
    serialise(session)
    others = session.scalar(select(func.coalesce(func.sum(StaffingCost.amount), 0).cast(Money)).where(
        StaffingCost.reservation_id == cost.reservation_id, StaffingCost.id != cost.id))
    if others < 0:
        raise Conflict("Zonder deze boeking zouden de correcties de personeelskosten negatief maken.")
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
