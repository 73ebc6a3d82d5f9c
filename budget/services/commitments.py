"""Commitments with their cash schedule, adjustments and payments: the money rules at the moment of writing."""
from __future__ import annotations

from datetime import date

from sqlalchemy import func, select

from approvals.services import gate
from budget import rules, settlement_rules
from budget.ledger import (
    commitment_totals,
    commitment_year_amounts,
    enforce_budget_stop,
    programme_years,
)
from budget.models import (
    Commitment,
    CommitmentAdjustment,
    CommitmentSchedule,
    Payment,
)
from budget.services.periods import check_open
from budget.services.settlements import settled_on
from core import validate
from core.audit import record, snapshot, with_override
from core.errors import Collect, Conflict
from core.locking import serialise
from core.money import format_eur
from core.users import FINANCE_ROLES, require_role
from projects.models import Project


def add_commitment(session, actor, project: Project, *, reference: str, signed_date: date, total,
                   schedule: dict, description: str = "", override_reason: str | None = None) -> Commitment:
    """A commitment with its cash schedule; the schedule must sum to the total and fit the budget."""
    require_role(actor, *FINANCE_ROLES)
    serialise(session)
    # Every refusal at once (a form shows them together): the budget stop too, when the amounts are fine.
    c = Collect()
    reference = c(validate.text, reference, "een kenmerk", "reference", max_len=100)
    if reference is not None:
        c(_free_reference, session, reference)
    signed_date = c(validate.day, signed_date, "signed_date")
    if signed_date is not None:
        c(check_open, session, project.programme_id, (signed_date, "signed_date"))
    state = c(rules.new_commitment, total, schedule, programme_years(session, project.programme), reference or "")
    override = c(enforce_budget_stop, session, actor, project.programme_id,
                 {y: -a for y, a in state.years.items()}, override_reason) if state else None
    c.raise_any()
    total, years = state.total, state.years
    description = validate.text(description, "", "description", required=False)
    pending = gate(session, actor, project.programme_id, "commitment", {y: -a for y, a in years.items()}, override,
                   {"project_id": project.id, "reference": reference, "signed_date": signed_date, "total": total,
                    "schedule": years, "description": description, "override_reason": override_reason},
                   f"Verplichting {reference} voor {project.code}: {format_eur(total)}")
    if pending is not None:
        return pending
    commitment = Commitment(project_id=project.id, reference=reference, signed_date=signed_date, total=total,
                            description=description)
    commitment.schedule = [CommitmentSchedule(year=y, amount=a) for y, a in sorted(years.items())]
    session.add(commitment)
    after = {**snapshot(commitment), "schedule": {str(y): a for y, a in sorted(years.items())}}
    record(session, actor, "create", commitment, with_override({"after": after}, override))
    return commitment


def _free_reference(session, reference: str) -> None:
    if session.scalar(select(Commitment.id).where(Commitment.reference == reference)):
        raise Conflict(f"Er bestaat al een verplichting met kenmerk {reference}.", field="reference")


def adjust_commitment(session, actor, commitment: Commitment, *, adjustment_date: date, changes: dict,
                      reason: str, reference: str = "",
                      override_reason: str | None = None) -> list[CommitmentAdjustment]:
    """Dated, reasoned changes to a commitment's years (e.g. a lower vaststelling); never an edit."""
    require_role(actor, *FINANCE_ROLES)
    serialise(session)
    settlement = settled_on(session, commitment.id)
    # Settled is final: said alone, not beside what else the adjustment would get wrong.
    settlement_rules.not_settled(settlement.date if settlement else None, commitment.reference, "bijstelling")
    c = Collect()
    adjustment_date = c(rules.adjustment_day, adjustment_date, commitment.signed_date, commitment.reference)
    reason = c(validate.text, reason, "een reden", "reason")
    reference = c(validate.text, reference, "", "reference", required=False, max_len=100)
    programme = commitment.project.programme
    if adjustment_date is not None:
        c(check_open, session, programme.id, (adjustment_date, "adjustment_date"))
    deltas = c(rules.commitment_schedule, changes, programme_years(session, programme), allow_negative=True)
    total, paid = commitment_totals(session, commitment.id)
    state = rules.CommitmentState(total, paid, commitment_year_amounts(session, commitment.id))
    adjusted = c(rules.adjust, state, deltas) if deltas is not None else None
    override = c(enforce_budget_stop, session, actor, programme.id, {y: -d for y, d in deltas.items()},
                 override_reason) if adjusted else None
    c.raise_any()
    pending = gate(session, actor, programme.id, "adjustment", {y: -d for y, d in deltas.items()}, override,
                   {"commitment_id": commitment.id, "adjustment_date": adjustment_date, "changes": deltas,
                    "reason": reason, "reference": reference, "override_reason": override_reason},
                   f"Bijstelling van verplichting {commitment.reference} ({commitment.project.code}): "
                   f"{format_eur(adjusted.total - total)}, totaal wordt {format_eur(adjusted.total)}")
    if pending is not None:
        return pending
    new_total = adjusted.total
    rows = []
    for year, delta in sorted(deltas.items()):
        row = CommitmentAdjustment(commitment_id=commitment.id, date=adjustment_date, year=year, amount=delta,
                                   reason=reason, reference=reference)
        session.add(row)
        rows.append(row)
    session.flush()
    record(session, actor, "adjust", commitment, with_override({
        "before": {"total": total}, "after": {"total": new_total},
        "adjustments": [snapshot(r) for r in rows]}, override))
    return rows


def add_payment(session, actor, commitment: Commitment, *, payment_date: date, amount, kind: str,
                reference: str | None = None, description: str = "") -> Payment:
    """A payment on a commitment, dated from its signing to today; a terugbetaling always lowers the paid total."""
    require_role(actor, *FINANCE_ROLES)
    serialise(session)
    c = Collect()
    amount = c(rules.payment_amount, amount, kind)
    payment_date = c(rules.payment_day, payment_date, commitment.signed_date, date.today(), commitment.reference)
    if payment_date is not None:
        c(check_open, session, commitment.project.programme_id, (payment_date, "payment_date"))
    reference = (reference or "").strip() or None
    if reference:
        c(_free_payment_reference, session, reference)
    total, paid = commitment_totals(session, commitment.id)
    settlement = settled_on(session, commitment.id)
    allowed = True
    if settlement is not None and amount is not None and payment_date is not None:
        # A payment refused for the vaststelling is not also refused as an overpayment.
        allowed = c(settlement_rules.pay_settled, settlement.date, settlement.amount, paid, amount, kind, payment_date,
                    commitment.reference)
    if amount is not None and allowed:
        # Without a date the overpayment still counts, in the year it would fall in today.
        c(rules.pay, rules.CommitmentState(total, paid, reference=commitment.reference), amount,
          payment_date or date.today())
    c.raise_any()
    description = validate.text(description, "", "description", required=False)
    pending = gate(session, actor, commitment.project.programme_id, "payment", {}, None,
                   {"commitment_id": commitment.id, "payment_date": payment_date, "amount": amount, "kind": kind,
                    "reference": reference, "description": description},
                   " ".join(filter(None, ["Betaling", reference, f"op verplichting {commitment.reference}"]))
                   + f" ({commitment.project.code}): {format_eur(amount)}")
    if pending is not None:
        return pending
    payment = Payment(commitment_id=commitment.id, date=payment_date, amount=amount, kind=kind,
                      reference=reference, description=description)
    session.add(payment)
    record(session, actor, "create", payment, {"after": snapshot(payment)})
    return payment


def _free_payment_reference(session, reference: str) -> None:
    if session.scalar(select(Payment.id).where(Payment.reference == reference)):
        raise Conflict(f"Er bestaat al een betaling met kenmerk {reference}.", field="reference")


def delete_commitment(session, actor, commitment: Commitment) -> None:
    """Remove a wrongly entered commitment; refused once payments or adjustments rest on it."""
    require_role(actor, *FINANCE_ROLES)
    serialise(session)
    check_open(session, commitment.project.programme_id, (commitment.signed_date, "signed_date"))
    payments = session.scalar(select(func.count(Payment.id)).where(Payment.commitment_id == commitment.id))
    adjustments = session.scalar(select(func.count(CommitmentAdjustment.id)).where(
        CommitmentAdjustment.commitment_id == commitment.id))
    if settled_on(session, commitment.id) is not None:
        raise Conflict(f"Verplichting {commitment.reference} is vastgesteld en blijft bewaard.")
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
