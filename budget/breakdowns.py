"""The report's breakdowns: per category, programme line and project, and paid per day, at a peildatum."""
from __future__ import annotations

from dataclasses import dataclass, field
from datetime import date
from decimal import Decimal

from sqlalchemy import (
    Integer,
    String,
    and_,
    case,
    exists,
    func,
    literal,
    or_,
    select,
    true,
    union_all,
)

from budget.ledger import FAR_FUTURE, PaidSums
from budget.models import (
    Commitment,
    CommitmentAdjustment,
    CommitmentSchedule,
    CommitmentSettlement,
    Payment,
    StaffingCost,
    StaffingReservation,
)
from budget.overruns import end_of
from core.money import ZERO, Money
from projects.models import PIPELINE_STATUSES, Project, StatusUpdate


def _dated(column, peildatum: date | None, years) -> list:
    """Conditions for a dated entry: on or before the peildatum, inside the years asked for."""
    upto = peildatum or FAR_FUTURE
    if years is None:
        return [column <= upto]
    # One upper bound, the earlier of the two: an index range then stops at the peildatum.
    return [column >= date(min(years), 1, 1), column <= min(upto, date(max(years), 12, 31))]


@dataclass(frozen=True)
class GroupFigures:
    """Figures of one category or programme line in one year."""

    key: str
    projects: int = 0
    committed: Decimal = ZERO
    paid: Decimal = ZERO
    pipeline: Decimal = ZERO
    extra: dict = field(default_factory=dict)


def _has_commitment_by(peildatum: date | None):
    return exists().where(Commitment.project_id == Project.id,
                          Commitment.signed_date <= (peildatum or FAR_FUTURE))


def _latest_status(peildatum: date | None):
    """The status of the project's latest update dated on or before the peildatum (by date, then id), or NULL.

    A correlated subquery: one lookup per project in ix_status_update_project_date, read backwards.
    """
    return (select(StatusUpdate.status)
            .where(StatusUpdate.project_id == Project.id, StatusUpdate.date <= (peildatum or FAR_FUTURE))
            .order_by(StatusUpdate.date.desc(), StatusUpdate.id.desc()).limit(1).scalar_subquery())


def _created_by(peildatum: date | None):
    # The day a project was created ends where every other "t/m" day of the app ends (overruns.end_of).
    return true() if peildatum is None else Project.created_at < end_of(peildatum)


def status_at(peildatum: date | None):
    """A project's status at the peildatum; NULL when it did not exist yet (created later, no update by then).

    Before its first update a project has the status it was created with, from the day it was created.
    """
    return func.coalesce(_latest_status(peildatum), case((_created_by(peildatum), Project.initial_status)))


def shown_status_at(peildatum: date | None):
    """The Status column: status_at, or for a project that only money puts in the report, its creation status."""
    return func.coalesce(_latest_status(peildatum), Project.initial_status)


def reportable_projects(peildatum: date | None = None):
    """Projects that belong in reports: those that existed at the peildatum, but rejected/withdrawn ones
    without money by then; and any project with a commitment signed by then (the money says it is there).

    A status NULL (not yet created) fails NOT IN, so such a project is in only through its commitment.
    """
    return or_(status_at(peildatum).not_in(("afgewezen", "ingetrokken")), _has_commitment_by(peildatum))


def breakdown(session, programme_id: int, year: int, peildatum: date | None,
              by: str) -> dict[str, GroupFigures]:
    """Committed, paid, pipeline and project count per category or per programme line."""
    if by not in BREAKDOWNS:
        raise ValueError(by)
    return breakdowns(session, programme_id, year, peildatum)[by]


BREAKDOWNS = ("category", "line")


def breakdowns(session, programme_id: int, year: int, peildatum: date | None,
               paid: PaidSums | None = None) -> dict[str, dict[str, GroupFigures]]:
    """breakdown() by category and by line at once: one pass over the money, grouped by both keys.

    `paid`: the programme's payments at the same peildatum, already read (ledger.paid_sums).
    """
    upto = peildatum or FAR_FUTURE
    in_programme = Project.programme_id == programme_id
    keys = (Project.category.label("category"), Project.line.label("line"))

    def summed(measure, amount):
        # Each part sums per group itself (as in the figures statement): the union then carries a
        # few dozen rows instead of every payment of the year, which saves a third on a large programme.
        return select(*keys, literal(measure).label("measure"), func.sum(amount).label("amount")).group_by(
            Project.category, Project.line)

    parts = [
        summed("committed", CommitmentSchedule.amount)
        .select_from(CommitmentSchedule)
        .join(Commitment, CommitmentSchedule.commitment_id == Commitment.id)
        .join(Project, Commitment.project_id == Project.id)
        .where(in_programme, CommitmentSchedule.year == year, Commitment.signed_date <= upto),
        summed("committed", CommitmentAdjustment.amount)
        .select_from(CommitmentAdjustment)
        .join(Commitment, CommitmentAdjustment.commitment_id == Commitment.id)
        .join(Project, Commitment.project_id == Project.id)
        .where(in_programme, CommitmentAdjustment.year == year, CommitmentAdjustment.date <= upto),
        summed("pipeline", Project.requested_amount)
        .where(in_programme, Project.requested_amount.is_not(None), status_at(peildatum).in_(PIPELINE_STATUSES),
               ~_has_commitment_by(peildatum)),
    ]
    if paid is None:
        parts.append(summed("paid", Payment.amount)
                     .select_from(Payment)
                     .join(Commitment, Payment.commitment_id == Commitment.id)
                     .join(Project, Commitment.project_id == Project.id)
                     .where(in_programme, *_dated(Payment.date, peildatum, [year])))
    m = union_all(*parts).subquery("m")
    sums = session.execute(
        select(m.c.category, m.c.line, m.c.measure, func.coalesce(func.sum(m.c.amount), 0).cast(Money))
        .group_by(m.c.category, m.c.line, m.c.measure)
    ).all()
    if paid is not None:
        paid.check(peildatum)
        sums += [(category, line, "paid", amount) for (category, line), amount in paid.per_category_line(year).items()]
    counts = session.execute(
        select(Project.category, Project.line, func.count(Project.id))
        .where(in_programme, reportable_projects(peildatum)).group_by(Project.category, Project.line)
    ).all()
    result = {}
    for i, by in enumerate(BREAKDOWNS):
        values: dict[str, dict] = {}
        for *k, measure, amount in sums:
            group = values.setdefault(k[i], {})
            group[measure] = group.get(measure, ZERO) + amount
        per_key: dict[str, int] = {}
        for *k, n in counts:
            per_key[k[i]] = per_key.get(k[i], 0) + n
        result[by] = {
            k: GroupFigures(key=k, projects=per_key.get(k, 0), **values.get(k, {}))
            for k in sorted(set(values) | set(per_key))
        }
    return result


def matrix(session, programme_id: int, year: int, peildatum: date | None) -> dict[tuple[str, str], Decimal]:
    """Committed in `year` per (category, programme line)."""
    upto = peildatum or FAR_FUTURE
    sched = (
        select(Project.category.label("category"), Project.line.label("line"),
               CommitmentSchedule.amount.label("amount"))
        .select_from(CommitmentSchedule)
        .join(Commitment, CommitmentSchedule.commitment_id == Commitment.id)
        .join(Project, Commitment.project_id == Project.id)
        .where(Project.programme_id == programme_id, CommitmentSchedule.year == year,
               Commitment.signed_date <= upto)
    )
    adj = (
        select(Project.category, Project.line, CommitmentAdjustment.amount)
        .select_from(CommitmentAdjustment)
        .join(Commitment, CommitmentAdjustment.commitment_id == Commitment.id)
        .join(Project, Commitment.project_id == Project.id)
        .where(Project.programme_id == programme_id, CommitmentAdjustment.year == year,
               CommitmentAdjustment.date <= upto)
    )
    m = union_all(sched, adj).subquery("m")
    rows = session.execute(
        select(m.c.category, m.c.line, func.sum(m.c.amount).cast(Money)).group_by(m.c.category, m.c.line))
    return {(c, line): amount for c, line, amount in rows}


def staffing_paid(session, programme_id: int, year: int, peildatum: date | None) -> Decimal:
    """Staffing costs booked in `year` on or before the peildatum (the realised staffing share)."""
    total = session.scalar(
        select(func.coalesce(func.sum(StaffingCost.amount), 0).cast(Money))
        .join(StaffingReservation, StaffingCost.reservation_id == StaffingReservation.id)
        .where(StaffingReservation.programme_id == programme_id, *_dated(StaffingCost.date, peildatum, [year]))
    )
    return total if total is not None else ZERO


def project_figures(session, programme_id: int, year: int, peildatum: date | None,
                    paid: PaidSums | None = None) -> dict[int, dict[str, Decimal]]:
    """Per project, in one query: committed and paid in `year`, committed and paid over all years.

    Keys of each dict: committed_year, paid_year, committed_total, paid_total (all at the peildatum).
    `paid`: the programme's payments at the same peildatum, already read (ledger.paid_sums).
    """
    upto = peildatum or FAR_FUTURE
    in_programme = Project.programme_id == programme_id
    first, last = date(year, 1, 1), date(year, 12, 31)

    def per_project(amount, in_year, entry, *conds, paid: bool):
        # Summed per project inside each part, so the outer sum sees one row per project and part.
        this_year = func.sum(case((in_year, amount), else_=0))
        everything = func.sum(amount)
        zero = literal(0)
        return (select(Project.id.label("pid"),
                       (zero if paid else this_year).label("cy"), (this_year if paid else zero).label("py"),
                       (zero if paid else everything).label("ct"), (everything if paid else zero).label("pt"))
                .select_from(entry)
                .join(Commitment, entry.commitment_id == Commitment.id)
                .join(Project, Commitment.project_id == Project.id)
                .where(in_programme, *conds)
                # Grouped by the project's own id: walking ix_project_programme yields the projects in
                # id order, so SQLite sums each one as it goes instead of sorting every payment first.
                .group_by(Project.id))

    parts = [
        per_project(CommitmentSchedule.amount, CommitmentSchedule.year == year, CommitmentSchedule,
                    Commitment.signed_date <= upto, paid=False),
        per_project(CommitmentAdjustment.amount, CommitmentAdjustment.year == year, CommitmentAdjustment,
                    CommitmentAdjustment.date <= upto, paid=False),
    ]
    if paid is None:
        parts.append(per_project(Payment.amount, and_(Payment.date >= first, Payment.date <= last), Payment,
                                 Payment.date <= upto, paid=True))
    m = union_all(*parts).subquery("m")
    money = lambda col: func.coalesce(func.sum(col), 0).cast(Money)  # noqa: E731
    # One row per project: the Core connection skips the ORM's row handling, a third of the time here.
    connection = session.connection()
    if paid is None:
        rows = connection.execute(
            select(m.c.pid, money(m.c.cy), money(m.c.py), money(m.c.ct), money(m.c.pt)).group_by(m.c.pid)).all()
        return {pid: {"committed_year": cy, "paid_year": py, "committed_total": ct, "paid_total": pt}
                for pid, cy, py, ct, pt in rows}
    # The payments come from `paid`: the statement sums (and converts) only the commitments' two columns.
    paid.check(peildatum)
    payments = paid.per_project(year)
    committed = {pid: (cy, ct) for pid, cy, ct in
                 connection.execute(select(m.c.pid, money(m.c.cy), money(m.c.ct)).group_by(m.c.pid))}
    nothing = (ZERO, ZERO)
    figures = {}
    for pid in committed.keys() | payments.keys():
        (cy, ct), (py, pt) = committed.get(pid, nothing), payments.get(pid, nothing)
        figures[pid] = {"committed_year": cy, "paid_year": py, "committed_total": ct, "paid_total": pt}
    return figures


def paid_by_date(session, programme_id: int, year: int, peildatum: date | None) -> list[tuple[date, Decimal]]:
    """Payments and staffing costs of `year` up to the peildatum, summed per date, in date order."""
    parts = [
        select(Payment.date.label("day"), Payment.amount.label("amount"))
        .join(Commitment, Payment.commitment_id == Commitment.id)
        .join(Project, Commitment.project_id == Project.id)
        .where(Project.programme_id == programme_id, *_dated(Payment.date, peildatum, [year])),
        select(StaffingCost.date, StaffingCost.amount)
        .join(StaffingReservation, StaffingCost.reservation_id == StaffingReservation.id)
        .where(StaffingReservation.programme_id == programme_id, *_dated(StaffingCost.date, peildatum, [year])),
    ]
    m = union_all(*parts).subquery("m")
    rows = session.execute(select(m.c.day, func.sum(m.c.amount).cast(Money)).group_by(m.c.day).order_by(m.c.day))
    return [(day, amount) for day, amount in rows]


def commitment_check(session, programme_id: int, peildatum: date | None) -> tuple[int, list[tuple]]:
    """Paid ≤ committed for every commitment at the peildatum, in one statement.

    Returns (commitments signed on or before the peildatum, [(reference, project code, paid,
    committed)] of each commitment paid beyond its total): a per-project sum would hide one
    overpaid commitment behind its project's others. Only the deviating ones leave the database.
    Paid beyond a vaststelling dated t/m the peildatum, up to its terugvordering, is no deviation:
    it is the claim the vaststelling made (budget.advances.recoveries follows it up).
    """
    upto = peildatum or FAR_FUTURE
    in_programme = and_(Commitment.project_id == Project.id, Project.programme_id == programme_id)
    # Index lookups per commitment (ix_payment_commitment_date_amount, ix_commitment_adjustment_...):
    # cheaper than grouping every payment of the programme.
    paid = (select(func.coalesce(func.sum(Payment.amount), 0))
            .where(Payment.commitment_id == Commitment.id, Payment.date <= upto).scalar_subquery())
    adjusted = (select(func.coalesce(func.sum(CommitmentAdjustment.amount), 0))
                .where(CommitmentAdjustment.commitment_id == Commitment.id, CommitmentAdjustment.date <= upto)
                .scalar_subquery())
    committed = case((Commitment.signed_date <= upto, Commitment.total), else_=0) + adjusted
    each = (select(Commitment.id.label("id"), Commitment.reference.label("reference"), Project.code.label("code"),
                   paid.label("paid"), committed.label("committed"))
            .join(Project, in_programme).subquery("each"))
    # Looked up only for a commitment paid beyond its total (the first condition): a few, not every one.
    recovery = (select(func.coalesce(func.sum(CommitmentSettlement.recovery), 0))
                .where(CommitmentSettlement.commitment_id == each.c.id, CommitmentSettlement.date <= upto)
                .scalar_subquery())
    deviating = (select(each.c.reference, each.c.code, each.c.paid.cast(Money), each.c.committed.cast(Money),
                        literal(None, Integer).label("n"))
                 .where(each.c.paid > each.c.committed, each.c.paid > each.c.committed + recovery))
    # The count rides along as one more row of the same statement (its amounts empty).
    count = (select(literal(None, String), literal(None, String), literal(None, Money), literal(None, Money),
                    func.count())
             .select_from(Commitment).join(Project, in_programme).where(Commitment.signed_date <= upto))
    rows = session.execute(union_all(deviating, count)).all()
    total = next(int(n) for *_values, n in rows if n is not None)
    return total, sorted(tuple(r[:4]) for r in rows if r[4] is None)
