"""The vaststelling of a commitment: the rule's new schedule written as dated adjustments, and the terugvordering."""
from __future__ import annotations

from datetime import date

from sqlalchemy import select

from approvals.services import gate
from budget import rules, settlement_rules
from budget.ledger import (
    commitment_totals,
    commitment_year_amounts,
    enforce_budget_stop,
    programme_years,
)
from budget.models import CommitmentAdjustment, CommitmentSettlement, Payment
from budget.services.periods import check_open
from core import validate
from core.audit import record, snapshot, with_override
from core.errors import Collect, NotFound
from core.locking import serialise
from core.money import ZERO, format_eur
from core.users import FINANCE_ROLES, require_role


def settled_on(session, commitment_id: int) -> CommitmentSettlement | None:
    """The commitment's vaststelling, whatever its date (None: not settled)."""
    return session.scalar(select(CommitmentSettlement).where(CommitmentSettlement.commitment_id == commitment_id))


def commitment_payments(session, commitment_id: int) -> list[tuple[date, str, object]]:
    """(date, kind, signed amount) of every payment on the commitment, as budget.settlement_rules.settle reads them."""
    return [tuple(row) for row in session.execute(
        select(Payment.date, Payment.kind, Payment.amount).where(Payment.commitment_id == commitment_id)
        .order_by(Payment.date, Payment.id))]


def settlement_reason(reference: str, note: str = "") -> str:
    """The reason its adjustments carry: the decision, and the officer's note where given."""
    return f"Vaststelling {reference}" + (f": {note}" if note else "")


def settle_commitment(session, actor, commitment, *, settlement_date: date, amount, reference: str,
                      note: str = "", recovery_due: date | None = None,
                      override_reason: str | None = None) -> CommitmentSettlement:
    """Settle a commitment (a subsidy's vaststelling): its total becomes `amount` from `settlement_date` on.

    Years before the settlement's year keep what was paid in them, its own year the rest; the
    lowered years' vrijval returns to their free room. Paid above `amount` becomes a terugvordering.
    """
    require_role(actor, *FINANCE_ROLES)
    serialise(session)
    programme = commitment.project.programme
    existing = settled_on(session, commitment.id)
    settlement_rules.not_settled(existing.date if existing else None, commitment.reference, "tweede vaststelling")
    c = Collect()
    settlement_date = c(settlement_rules.settlement_day, settlement_date, commitment.signed_date, date.today(),
                        commitment.reference)
    reference = c(validate.text, reference, "het kenmerk van de vaststellingsbeschikking", "reference", max_len=100)
    if settlement_date is not None:
        c(check_open, session, programme.id, (settlement_date, "settlement_date"))
    total, paid = commitment_totals(session, commitment.id)
    state = rules.CommitmentState(total, paid, commitment_year_amounts(session, commitment.id), commitment.reference)
    settled = (c(settlement_rules.settle, state, commitment_payments(session, commitment.id), amount, settlement_date,
                 programme_years(session, programme)) if settlement_date is not None else None)
    free_deltas = {y: -d for y, d in settled.deltas.items()} if settled else {}
    due = c(settlement_rules.recovery_due, recovery_due, settlement_date, settled.recovery) if settled else None
    override = c(enforce_budget_stop, session, actor, programme.id, free_deltas, override_reason) if settled else None
    c.raise_any()
    note = validate.text(note, "", "note", required=False, max_len=2000)
    summary = (f"Vaststelling van verplichting {commitment.reference} ({commitment.project.code}) op "
               f"{format_eur(settled.amount)}: vrijval {format_eur(settled.released)}"
               + (f", terugvordering {format_eur(settled.recovery)}" if settled.recovery else ""))
    pending = gate(session, actor, programme.id, "settlement", free_deltas, override,
                   {"commitment_id": commitment.id, "settlement_date": settlement_date, "amount": settled.amount,
                    "reference": reference, "note": note, "recovery_due": due, "override_reason": override_reason},
                   summary)
    if pending is not None:
        return pending
    settlement = CommitmentSettlement(commitment_id=commitment.id, date=settlement_date, amount=settled.amount,
                                      recovery=settled.recovery, recovery_due=due, reference=reference, note=note)
    session.add(settlement)
    session.flush()
    rows = [CommitmentAdjustment(commitment_id=commitment.id, date=settlement_date, year=y, amount=d,
                                 reason=settlement_reason(reference, note), reference=reference,
                                 settlement_id=settlement.id)
            for y, d in settled.deltas.items()]
    session.add_all(rows)
    session.flush()
    # The settlement's own fields as the commitment's "after", so the audit trail reads them as rows.
    after = {k: v for k, v in snapshot(settlement).items() if k not in ("id", "commitment_id", "created_at", "amount")}
    record(session, actor, "settle", commitment, with_override({
        "before": {"total": total}, "after": {"total": settled.amount, **after}, "vrijval": settled.released,
        "adjustments": [snapshot(r) for r in rows]}, override))
    return settlement


def withdraw_settlement(session, actor, commitment):
    """Withdraw a vaststelling entered by mistake: it and its adjustments go, while its date is in an open
    period and nothing was paid after it; the vrijval it gave back is taken again (budget stop, four eyes).

    Returns None when withdrawn, or the PendingEntry when it waits for a second person.
    """
    require_role(actor, *FINANCE_ROLES)
    serialise(session)
    settlement = settled_on(session, commitment.id)
    if settlement is None:
        raise NotFound(f"Verplichting {commitment.reference} is niet vastgesteld.")
    programme = commitment.project.programme
    check_open(session, programme.id, (settlement.date, "settlement_date"))
    paid_after = sum((amount for day, _kind, amount in commitment_payments(session, commitment.id)
                      if day > settlement.date), ZERO)
    settlement_rules.withdrawable(settlement.date, paid_after, commitment.reference)
    rows = session.scalars(select(CommitmentAdjustment).where(CommitmentAdjustment.settlement_id == settlement.id)
                           .order_by(CommitmentAdjustment.year)).all()
    # Each adjustment raised (or lowered) its year's free room by its own amount's opposite; withdrawing undoes it.
    free_deltas = {a.year: a.amount for a in rows}
    enforce_budget_stop(session, actor, programme.id, free_deltas)
    pending = gate(session, actor, programme.id, "settlement_delete", free_deltas, None,
                   {"commitment_id": commitment.id},
                   f"Intrekking van de vaststelling {settlement.reference} van verplichting {commitment.reference} "
                   f"({commitment.project.code})")
    if pending is not None:
        return pending
    record(session, actor, "delete", settlement, {"before": snapshot(settlement),
                                                  "adjustments": [snapshot(r) for r in rows]})
    for row in rows:
        session.delete(row)
    session.flush()
    session.delete(settlement)
    session.flush()
    return None


def set_settlement_term(session, actor, programme, months) -> None:
    """How many months after a project's end its grants are listed as "vast te stellen" (finance roles)."""
    require_role(actor, *FINANCE_ROLES)
    serialise(session)
    months = settlement_rules.settlement_term(months)
    before = programme.settlement_months
    if months == before:
        return
    programme.settlement_months = months
    record(session, actor, "update", programme, {"before": {"settlement_months": before},
                                                 "after": {"settlement_months": months}})
