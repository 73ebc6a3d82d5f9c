"""Subsidies after the grant: open advances by age, grants due for their vaststelling, and terugvorderingen."""
from __future__ import annotations

from dataclasses import dataclass, field
from datetime import date
from decimal import Decimal

from dateutil.relativedelta import relativedelta
from sqlalchemy import Integer, and_, case, exists, func, or_, select

from budget.ledger import FAR_FUTURE, _year_of
from budget.models import (
    Commitment,
    CommitmentAdjustment,
    CommitmentSettlement,
    Payment,
)
from core.money import ZERO, Money
from projects.models import Project


def _settled_by(day: date | None):
    """The commitment has a vaststelling dated on or before `day` (any date for None)."""
    return exists().where(CommitmentSettlement.commitment_id == Commitment.id,
                          CommitmentSettlement.date <= (day or FAR_FUTURE))


@dataclass(frozen=True)
class AdvanceRow:
    """One commitment's open advances: paid as voorschot and not yet settled, per year of payment (their age)."""

    commitment_id: int
    reference: str
    project_id: int
    project_code: str
    project_title: str
    category: str
    by_year: dict[int, Decimal]

    @property
    def total(self) -> Decimal:
        return sum(self.by_year.values(), ZERO)


@dataclass
class OpenAdvances:
    """The programme's open advances t/m a peildatum, per commitment, project, category and in all."""

    peildatum: date | None
    commitments: list[AdvanceRow] = field(default_factory=list)

    @property
    def years(self) -> list[int]:
        return sorted({y for r in self.commitments for y in r.by_year})

    def _grouped(self, key) -> dict:
        groups: dict = {}
        for row in self.commitments:
            sums = groups.setdefault(key(row), {})
            for y, amount in row.by_year.items():
                sums[y] = sums.get(y, ZERO) + amount
        return groups

    @property
    def by_project(self) -> dict[tuple[str, str], dict[int, Decimal]]:
        """(project code, title) -> advances per year."""
        return self._grouped(lambda r: (r.project_code, r.project_title))

    @property
    def by_category(self) -> dict[str, dict[int, Decimal]]:
        return self._grouped(lambda r: r.category)

    @property
    def by_year(self) -> dict[int, Decimal]:
        return self._grouped(lambda r: None).get(None, {})

    @property
    def total(self) -> Decimal:
        return sum((r.total for r in self.commitments), ZERO)


def open_advances(session, programme_id: int, peildatum: date | None) -> OpenAdvances:
    """Advances (voorschotten) paid t/m the peildatum on commitments without a vaststelling by then.

    Once settled, an advance is final spending: the vaststelling says what it was spent on.
    """
    year = _year_of(Payment.date).cast(Integer)
    rows = session.execute(
        select(Commitment.id, Commitment.reference, Project.id, Project.code, Project.title, Project.category,
               year, func.sum(Payment.amount).cast(Money))
        .select_from(Payment).join(Commitment, Payment.commitment_id == Commitment.id)
        .join(Project, Commitment.project_id == Project.id)
        .where(Project.programme_id == programme_id, Payment.kind == "voorschot",
               Payment.date <= (peildatum or FAR_FUTURE), ~_settled_by(peildatum))
        .group_by(Commitment.id, Commitment.reference, Project.id, Project.code, Project.title, Project.category,
                  year)
        .order_by(Project.code, Commitment.reference, year))
    result = OpenAdvances(peildatum)
    current = None
    for cid, reference, pid, code, title, category, y, amount in rows:
        if current is None or current.commitment_id != cid:
            current = AdvanceRow(cid, reference, pid, code, title, category, {})
            result.commitments.append(current)
        if amount:
            current.by_year[int(y)] = amount
    result.commitments = [r for r in result.commitments if r.by_year]
    return result


def open_advance_totals(session, programme_id: int, days) -> dict[date, Decimal]:
    """open_advances(session, programme_id, day).total for each of `days`, in one pass over the voorschot payments.

    What a report's Controles tie the verloop's open advances to: every report year's end in one statement.
    """
    days = sorted(set(days))
    if not days:
        return {}
    settled = CommitmentSettlement.date
    sums = [func.coalesce(func.sum(case((and_(Payment.date <= day, or_(settled.is_(None), settled > day)),
                                         Payment.amount), else_=0)), 0).cast(Money) for day in days]
    row = session.execute(
        select(*sums).select_from(Payment).join(Commitment, Payment.commitment_id == Commitment.id)
        .join(Project, Commitment.project_id == Project.id)
        .outerjoin(CommitmentSettlement, CommitmentSettlement.commitment_id == Commitment.id)
        .where(Project.programme_id == programme_id, Payment.kind == "voorschot", Payment.date <= days[-1])).one()
    return dict(zip(days, row))


@dataclass(frozen=True)
class DueRow:
    """A grant due for its vaststelling: its project ended more than the programme's term ago."""

    commitment_id: int
    reference: str
    project_id: int
    project_code: str
    project_title: str
    ended: date
    due_since: date
    total: Decimal
    paid: Decimal
    open_advances: Decimal


def to_settle(session, programme, today: date) -> list[DueRow]:
    """"Vast te stellen": commitments without a vaststelling whose project ended more than
    `programme.settlement_months` months before `today`, with money on them (committed or paid)."""
    cutoff = today - relativedelta(months=programme.settlement_months)
    adjusted = (select(func.coalesce(func.sum(CommitmentAdjustment.amount), 0))
                .where(CommitmentAdjustment.commitment_id == Commitment.id).scalar_subquery())
    paid = (select(func.coalesce(func.sum(Payment.amount), 0))
            .where(Payment.commitment_id == Commitment.id).scalar_subquery())
    advances = (select(func.coalesce(func.sum(Payment.amount), 0))
                .where(Payment.commitment_id == Commitment.id, Payment.kind == "voorschot").scalar_subquery())
    rows = session.execute(
        select(Commitment.id, Commitment.reference, Project.id, Project.code, Project.title, Project.end_date,
               (Commitment.total + adjusted).cast(Money), paid.cast(Money), advances.cast(Money))
        .join(Project, and_(Commitment.project_id == Project.id, Project.programme_id == programme.id))
        .where(Project.end_date < cutoff, ~_settled_by(None))
        .order_by(Project.end_date, Project.code, Commitment.reference))
    return [DueRow(cid, ref, pid, code, title, ended, ended + relativedelta(months=programme.settlement_months),
                   total, paid_sum, open_sum)
            for cid, ref, pid, code, title, ended, total, paid_sum, open_sum in rows if total or paid_sum]


@dataclass(frozen=True)
class RecoveryRow:
    """A terugvordering: what the vaststelling reclaimed, what is still to be refunded, and by when."""

    commitment_id: int
    reference: str
    project_code: str
    settlement_reference: str
    settled_on: date
    recovery: Decimal
    due: date
    outstanding: Decimal

    def overdue(self, today: date) -> bool:
        return self.outstanding > 0 and today > self.due


def recoveries(session, programme_id: int, peildatum: date | None) -> list[RecoveryRow]:
    """The terugvorderingen of vaststellingen dated t/m the peildatum, with what is outstanding then."""
    upto = peildatum or FAR_FUTURE
    paid = (select(func.coalesce(func.sum(Payment.amount), 0))
            .where(Payment.commitment_id == Commitment.id, Payment.date <= upto).scalar_subquery())
    rows = session.execute(
        select(Commitment.id, Commitment.reference, Project.code, CommitmentSettlement.reference,
               CommitmentSettlement.date, CommitmentSettlement.recovery, CommitmentSettlement.recovery_due,
               (paid - CommitmentSettlement.amount).cast(Money))
        .select_from(CommitmentSettlement).join(Commitment, CommitmentSettlement.commitment_id == Commitment.id)
        .join(Project, and_(Commitment.project_id == Project.id, Project.programme_id == programme_id))
        .where(CommitmentSettlement.date <= upto, CommitmentSettlement.recovery > 0)
        .order_by(CommitmentSettlement.recovery_due, Commitment.reference))
    return [RecoveryRow(cid, ref, code, sref, day, recovery, due, max(excess, ZERO))
            for cid, ref, code, sref, day, recovery, due, excess in rows]
