"""The ledger's invariants for a backup: figures recorded when it is made, recomputed and checked on restore."""
from __future__ import annotations

from decimal import Decimal

from sqlalchemy import func, select

from budget.ledger import programme_figures, programme_years
from budget.models import Commitment, CommitmentAdjustment, CommitmentSchedule, Payment
from core.backup import register_check
from core.money import ZERO, Money, format_eur
from projects.models import Programme

_FIELDS = {"structural": "structureel budget", "incidental": "incidenteel budget", "mutations": "mutaties",
           "staffing": "ambtelijke ondersteuning", "committed_projects": "verplicht projecten",
           "paid": "gerealiseerd"}
#: More than this many problems in one message helps nobody; the first ones say enough.
_SHOWN = 5


def record_figures(session) -> dict:
    """Every programme-year's figures (all entries, whatever their date), as text: {code: {year: {field: amount}}}."""
    recorded = {}
    for programme in session.scalars(select(Programme).order_by(Programme.code)):
        figures = programme_figures(session, programme.id, None, programme_years(session, programme))
        recorded[programme.code] = {str(year): {f: str(getattr(fig, f)) for f in _FIELDS}
                                    for year, fig in figures.items()}
    return recorded


def _commitment_problems(session) -> list[str]:
    """Paid never above the current total, and the cash schedule adding up to the signed total, per commitment."""
    adjusted = (select(CommitmentAdjustment.commitment_id, func.sum(CommitmentAdjustment.amount).cast(Money)
                       .label("amount")).group_by(CommitmentAdjustment.commitment_id).subquery())
    paid = (select(Payment.commitment_id, func.sum(Payment.amount).cast(Money).label("amount"))
            .group_by(Payment.commitment_id).subquery())
    scheduled = (select(CommitmentSchedule.commitment_id, func.sum(CommitmentSchedule.amount).cast(Money)
                        .label("amount")).group_by(CommitmentSchedule.commitment_id).subquery())
    rows = session.execute(
        select(Commitment.id, Commitment.reference, Commitment.total, adjusted.c.amount, paid.c.amount,
               scheduled.c.amount)
        .outerjoin(adjusted, adjusted.c.commitment_id == Commitment.id)
        .outerjoin(paid, paid.c.commitment_id == Commitment.id)
        .outerjoin(scheduled, scheduled.c.commitment_id == Commitment.id)
        .order_by(Commitment.id))
    problems = []
    for cid, reference, total, extra, paid_sum, schedule_sum in rows:
        current, paid_sum = total + (extra or ZERO), paid_sum or ZERO
        if paid_sum > current:
            problems.append(f"verplichting {reference} (id {cid}): betaald {format_eur(paid_sum)} is meer dan "
                            f"verplicht {format_eur(current)}")
        if (schedule_sum or ZERO) != total:
            problems.append(f"verplichting {reference} (id {cid}): het kasritme telt op tot "
                            f"{format_eur(schedule_sum or ZERO)}, niet tot het totaal {format_eur(total)}")
    return problems


def check_ledger(session, recorded: dict | None) -> list[str]:
    """Dutch descriptions of every broken invariant in the restored (not yet committed) ledger."""
    problems = _commitment_problems(session)
    now = record_figures(session)
    if recorded is None:
        problems.append("de back-up bevat geen cijfers om mee te vergelijken")
        recorded = {}
    for code in sorted(set(recorded) | set(now)):
        years_then, years_now = recorded.get(code, {}), now.get(code, {})
        for year in sorted(set(years_then) | set(years_now)):
            then, again = years_then.get(year, {}), years_now.get(year, {})
            for field, label in _FIELDS.items():
                a, b = Decimal(then.get(field, "0")), Decimal(again.get(field, "0"))
                if a != b:
                    problems.append(f"{code} {year}: {label} is {format_eur(a)} in de back-up, maar "
                                    f"{format_eur(b)} na herberekening")
    if len(problems) > _SHOWN:
        problems = [*problems[:_SHOWN], f"en nog {len(problems) - _SHOWN} afwijking(en)"]
    return problems


register_check("grootboek", record_figures, check_ledger)
