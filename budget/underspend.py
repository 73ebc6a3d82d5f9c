"""The underspend forecast of a programme-year at a peildatum, and the kasschuif it proposes (reads only)."""
from __future__ import annotations

import calendar
from dataclasses import dataclass
from datetime import date
from decimal import Decimal

from sqlalchemy import and_, case, func, or_, select, union_all

from budget import breakdowns
from budget.ledger import programme_years
from budget.models import Commitment, CommitmentAdjustment, CommitmentSchedule, Payment
from budget.underspend_rules import (
    History,
    ProjectForecast,
    elapsed_share,
    forecast,
    programme_share,
    shift,
    warning,
)
from core.money import ZERO, Money
from projects.models import Programme, Project


@dataclass(frozen=True)
class Forecast:
    year: int
    peildatum: date
    rows: list[ProjectForecast]
    fallback: Decimal | None
    flagged: bool
    pct: int
    month: int

    @property
    def planned(self) -> Decimal:
        return sum((r.planned for r in self.rows), ZERO)

    @property
    def paid(self) -> Decimal:
        return sum((r.paid for r in self.rows), ZERO)

    @property
    def expected(self) -> Decimal:
        return sum((r.expected for r in self.rows), ZERO)

    @property
    def underspend(self) -> Decimal:
        return self.planned - self.expected


def _same_day(year: int, peildatum: date) -> date:
    # 29 February in a year without one is 28 February.
    return date(year, peildatum.month, min(peildatum.day, calendar.monthrange(year, peildatum.month)[1]))


def histories(session, programme: Programme, year: int, peildatum: date) -> dict[int, History]:
    """Per project, its payments in the programme's earlier years: in full, and by this day of each year."""
    prior = [y for y in programme_years(session, programme) if y < year]
    if not prior:
        return {}
    early = or_(*[and_(Payment.date >= date(y, 1, 1), Payment.date <= _same_day(y, peildatum)) for y in prior])
    rows = session.execute(
        select(Commitment.project_id, func.sum(Payment.amount).cast(Money),
               func.coalesce(func.sum(case((early, Payment.amount), else_=0)), 0).cast(Money))
        .join(Commitment, Payment.commitment_id == Commitment.id)
        .join(Project, Commitment.project_id == Project.id)
        .where(Project.programme_id == programme.id, Payment.date >= date(prior[0], 1, 1),
               Payment.date < date(year, 1, 1))
        .group_by(Commitment.project_id))
    return {pid: History(full or ZERO, by_now or ZERO) for pid, full, by_now in rows}


def programme_forecast(session, programme: Programme, year: int, peildatum: date) -> Forecast:
    figures = breakdowns.project_figures(session, programme.id, year, peildatum)
    history = histories(session, programme, year, peildatum)
    fallback = programme_share(list(history.values()))
    if fallback is None:
        # No history at all: the part of the year gone by (as the dashboard's realisation lag reads it).
        fallback = elapsed_share(peildatum) if peildatum.year == year else None
    rows = forecast({pid: (f["committed_year"], f["paid_year"], history.get(pid, History()))
                     for pid, f in figures.items()}, fallback)
    planned, expected_total = sum((r.planned for r in rows), ZERO), sum((r.expected for r in rows), ZERO)
    return Forecast(year, peildatum, rows, fallback,
                    warning(year, peildatum, planned, expected_total, programme.underspend_pct,
                            programme.underspend_month), programme.underspend_pct, programme.underspend_month)


def proposed_shift(session, found: Forecast) -> dict[int, Decimal]:
    """Per commitment, what to move from the year to the next: each project's underspend, over its commitments'
    unpaid part of the year (largest first). Together it is the forecast's underspend, so a kasschuif of the
    same total nets the free room of both years to zero."""
    short = {r.project_id: r.underspend for r in found.rows if r.underspend > 0}
    if not short:
        return {}
    year, upto = found.year, found.peildatum
    sched = select(CommitmentSchedule.commitment_id.label("cid"), CommitmentSchedule.amount.label("amount")).join(
        Commitment).where(Commitment.project_id.in_(short), CommitmentSchedule.year == year,
                          Commitment.signed_date <= upto)
    adj = select(CommitmentAdjustment.commitment_id, CommitmentAdjustment.amount).join(Commitment).where(
        Commitment.project_id.in_(short), CommitmentAdjustment.year == year, CommitmentAdjustment.date <= upto)
    paid = select(Payment.commitment_id, -Payment.amount).join(Commitment).where(
        Commitment.project_id.in_(short), Payment.date >= date(year, 1, 1), Payment.date <= upto)
    m = union_all(sched, adj, paid).subquery("m")
    unpaid: dict[int, dict[int, Decimal]] = {}
    for cid, pid, amount in session.execute(
            select(m.c.cid, Commitment.project_id, func.sum(m.c.amount).cast(Money))
            .join(Commitment, Commitment.id == m.c.cid).group_by(m.c.cid, Commitment.project_id)):
        unpaid.setdefault(pid, {})[cid] = amount or ZERO
    moved: dict[int, Decimal] = {}
    for pid, amount in short.items():
        moved.update(shift(unpaid.get(pid, {}), amount))
    return moved


