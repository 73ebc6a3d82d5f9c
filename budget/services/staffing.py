"""The staffing reservation per year (changed by dated changes) and the staffing costs booked against it."""
from __future__ import annotations

from datetime import date
from decimal import Decimal

from sqlalchemy import func, select

from approvals.services import gate
from budget import rules
from budget.ledger import enforce_budget_stop
from budget.models import (
    StaffingChange,
    StaffingCost,
    StaffingReservation,
)
from budget.services.funding import valid_from_day
from budget.services.periods import check_open
from core import validate
from core.audit import diff, record, snapshot, with_override
from core.errors import Collect, Conflict
from core.locking import serialise
from core.money import Money, format_eur
from core.users import FINANCE_ROLES, require_role
from projects.models import Programme


def set_staffing_reservation(session, actor, programme: Programme, *, year, fte, amount,
                             override_reason: str | None = None, valid_from=None) -> StaffingReservation:
    """Create or change a year's staffing reservation from `valid_from` on; it counts as committed for that year."""
    require_role(actor, *FINANCE_ROLES)
    serialise(session)
    c = Collect()
    valid_from = c(valid_from_day, valid_from)
    if valid_from is not None:
        c(check_open, session, programme.id, (valid_from, "valid_from"))
    year, amount = c(validate.year, year), c(validate.amount, amount)
    fte = c(rules.staffing_fte, fte)
    res = session.scalar(select(StaffingReservation).where(StaffingReservation.programme_id == programme.id,
                                                           StaffingReservation.year == year))
    old = res.amount if res else Decimal("0.00")
    override = c(enforce_budget_stop, session, actor, programme.id, {year: old - amount}, override_reason) \
        if year is not None and amount is not None else None
    c.raise_any()
    pending = gate(session, actor, programme.id, "staffing", {year: old - amount}, override,
                   {"programme_id": programme.id, "year": year, "fte": fte, "amount": amount,
                    "valid_from": valid_from, "override_reason": override_reason},
                   f"Ambtelijke ondersteuning {year}: {format_eur(old)} wordt {format_eur(amount)} ({fte} fte)")
    if pending is not None:
        return pending
    if res is None:
        res = StaffingReservation(programme_id=programme.id, year=year, fte=Decimal("0.00"),
                                  amount=Decimal("0.00"))
        _change(res, fte, amount, valid_from)
        session.add(res)
        record(session, actor, "create", res,
               with_override({"after": {**snapshot(res), "valid_from": valid_from}}, override))
    elif (fte, amount) != (res.fte, res.amount):
        before = snapshot(res)
        _change(res, fte, amount, valid_from)
        changes = diff(before, snapshot(res))
        changes["after"]["valid_from"] = valid_from
        record(session, actor, "update", res, with_override(changes, override))
    return res


def _change(res: StaffingReservation, fte: Decimal, amount: Decimal, valid_from) -> None:
    """Record the new values as a dated change (new minus old); the reservation keeps the current values."""
    res.changes.append(StaffingChange(valid_from=valid_from, fte=fte - res.fte, amount=amount - res.amount))
    res.fte, res.amount = fte, amount


def add_staffing_reservation(session, actor, programme: Programme, *, year, fte, amount,
                             override_reason: str | None = None, valid_from=None) -> StaffingReservation:
    """A reservation for a year that has none; an existing one is changed on its own form, never overwritten."""
    require_role(actor, *FINANCE_ROLES)
    serialise(session)
    year = validate.year(year)
    if session.scalar(select(StaffingReservation.id).where(StaffingReservation.programme_id == programme.id,
                                                           StaffingReservation.year == year)):
        raise Conflict(f"Er is al een reservering voor {year}; wijzig die.", field="year")
    return set_staffing_reservation(session, actor, programme, year=year, fte=fte, amount=amount,
                                    override_reason=override_reason, valid_from=valid_from)


def add_staffing_cost(session, actor, reservation: StaffingReservation, *, cost_date: date, amount,
                      description: str = "", reference: str = "") -> StaffingCost:
    """Book realised staffing costs (e.g. a quarter) against a reservation; counts as paid."""
    require_role(actor, *FINANCE_ROLES)
    serialise(session)
    amount = validate.amount(amount, allow_negative=True, allow_zero=False)
    cost_date = rules.staffing_day(cost_date, reservation.year)
    check_open(session, reservation.programme_id, (cost_date, "cost_date"))
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


def update_staffing_cost(session, actor, cost: StaffingCost, *, cost_date: date, amount,
                         description: str = "", reference: str = "") -> StaffingCost:
    """Correct a booked staffing cost; it must stay inside its reservation and year."""
    require_role(actor, *FINANCE_ROLES)
    serialise(session)
    reservation = cost.reservation
    amount = validate.amount(amount, allow_negative=True, allow_zero=False)
    cost_date = rules.staffing_day(cost_date, reservation.year)
    check_open(session, reservation.programme_id, (cost.date, "cost_date"), (cost_date, "cost_date"))
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


def delete_staffing_reservation(session, actor, reservation: StaffingReservation) -> None:
    """Remove a year's reservation; refused while staffing costs are booked against it."""
    require_role(actor, *FINANCE_ROLES)
    serialise(session)
    count = session.scalar(select(func.count(StaffingCost.id)).where(StaffingCost.reservation_id == reservation.id))
    if count:
        raise Conflict(f"De reservering voor {reservation.year} heeft {count} geboekte personeelskosten; "
                       "verwijder die eerst.")
    check_open(session, reservation.programme_id,
               (min((c.valid_from for c in reservation.changes), default=None), "valid_from"))
    # Its dated changes go with it; the audit entry keeps them, since they moved the figures at their dates.
    before = {**snapshot(reservation), "changes": [
        {"valid_from": c.valid_from, "fte": c.fte, "amount": c.amount} for c in reservation.changes]}
    record(session, actor, "delete", reservation, {"before": before})
    for change in reservation.changes:
        session.delete(change)
    session.flush()
    session.delete(reservation)
    session.flush()


def delete_staffing_cost(session, actor, cost: StaffingCost) -> None:
    """Remove a booked staffing cost, unless that leaves the remaining bookings negative."""
    require_role(actor, *FINANCE_ROLES)
    serialise(session)
    check_open(session, cost.reservation.programme_id, (cost.date, "cost_date"))
    rules.staffing_removal(_staffing_booked(session, cost.reservation_id, but=cost.id))
    record(session, actor, "delete", cost, {"before": snapshot(cost)})
    session.delete(cost)
    session.flush()
