"""The figures: available, reserved, committed, paid and free room per year, from SQL aggregates."""
from __future__ import annotations

import functools
from dataclasses import dataclass, field
from datetime import date
from decimal import ROUND_HALF_UP, Decimal

from sqlalchemy import (
    Date,
    Integer,
    and_,
    bindparam,
    case,
    exists,
    extract,
    func,
    literal,
    or_,
    select,
    true,
    union_all,
)
from sqlalchemy.ext.compiler import compiles
from sqlalchemy.sql.functions import FunctionElement

from budget import rules
from budget.models import (
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
from core.money import Money
from projects.models import PIPELINE_STATUSES, Programme, Project

ZERO = Decimal("0.00")
FAR_FUTURE = date(9999, 12, 31)


@dataclass(frozen=True)
class YearFigures:
    """One programme-year at a peildatum. Percentages are fractions (0.25 = 25 %)."""

    year: int
    structural: Decimal = ZERO
    incidental: Decimal = ZERO
    mutations: Decimal = ZERO
    staffing: Decimal = ZERO
    committed_projects: Decimal = ZERO
    paid: Decimal = ZERO

    @property
    def funding(self) -> Decimal:
        return self.structural + self.incidental

    @property
    def available(self) -> Decimal:
        return self.funding + self.mutations

    @property
    def committed(self) -> Decimal:
        return self.staffing + self.committed_projects

    @property
    def free(self) -> Decimal:
        return self.available - self.committed

    @property
    def pct_committed(self) -> Decimal | None:
        return _ratio(self.committed, self.available)

    @property
    def pct_paid(self) -> Decimal | None:
        # Realisation as a share of the available budget, like "% verplicht".
        return _ratio(self.paid, self.available)


@dataclass(frozen=True)
class GroupFigures:
    """Figures of one category or programme line in one year."""

    key: str
    projects: int = 0
    committed: Decimal = ZERO
    paid: Decimal = ZERO
    pipeline: Decimal = ZERO
    extra: dict = field(default_factory=dict)


def _ratio(part: Decimal, whole: Decimal) -> Decimal | None:
    if not whole:
        return None
    return (part / whole).quantize(Decimal("0.0001"), ROUND_HALF_UP)


class _YearOf(FunctionElement):
    """The year of a date column: EXTRACT(YEAR ...), or on SQLite the first four characters."""

    type = Integer()
    inherit_cache = True


@compiles(_YearOf)
def _year_of_default(element, compiler, **kw):
    (column,) = element.clauses
    return compiler.process(extract("year", column), **kw)


@compiles(_YearOf, "sqlite")
def _year_of_sqlite(element, compiler, **kw):
    # SQLite keeps a date as 'YYYY-MM-DD' text: cutting the year off is a fifth cheaper than
    # strftime's parse, over every payment of a programme.
    (column,) = element.clauses
    return f"CAST(substr({compiler.process(column, **kw)}, 1, 4) AS INTEGER)"


def _year_of(column):
    return _YearOf(column)


def _dated(column, peildatum: date | None, years) -> list:
    """Conditions for a dated entry: on or before the peildatum, inside the years asked for."""
    upto = peildatum or FAR_FUTURE
    if years is None:
        return [column <= upto]
    # One upper bound, the earlier of the two: an index range then stops at the peildatum.
    return [column >= date(min(years), 1, 1), column <= min(upto, date(max(years), 12, 31))]


@functools.lru_cache(maxsize=3)
def _figures_statement(years: str | None):
    """The figures query, built once: every value is a bound parameter.

    Building and cache-keying this union is most of the dashboard's figures time on a small
    programme, so it is made once per process. `years` adds the year conditions: "one" for a
    single year (the dashboard), "range" for several (the report's summary).
    """
    programme_id, upto = bindparam("programme_id", type_=Integer), bindparam("upto", type_=Date)
    if years is not None:
        first_year, last_year = bindparam("first_year", type_=Integer), bindparam("last_year", type_=Integer)
        if years == "one":
            # One year: SQLite reads that year's schedule rows from the year index (B1 -15 %).
            in_years = lambda col: col == first_year  # noqa: E731
        else:
            # Several years: a range, not an IN list. With IN, SQLite walks the year index and looks
            # up every commitment; with a range it reads the covering index per commitment (-40 %).
            # Years between the ones asked for are summed too and dropped by programme_figures.
            in_years = lambda col: and_(col >= first_year, col <= last_year)  # noqa: E731
        first, last = bindparam("first", type_=Date), bindparam("last", type_=Date)
        dated = lambda col: (col <= upto, col >= first, col <= last)  # noqa: E731
    else:
        in_years = lambda col: true()  # noqa: E731
        dated = lambda col: (col <= upto,)  # noqa: E731
    project_of_commitment = and_(Commitment.project_id == Project.id, Project.programme_id == programme_id)

    def summed(measure, year, amount):
        # Each part sums per year itself: the union then holds a few rows per part instead of
        # every payment, which makes the whole statement about a third faster on a large programme.
        keys = (year,) if isinstance(measure, str) else (measure, year)
        label = literal(measure) if isinstance(measure, str) else measure
        return select(label.label("measure"), year.label("year"), func.sum(amount).label("amount")).group_by(*keys)

    parts = [
        summed(FundingSource.kind, BudgetAllocation.year, BudgetAllocation.amount)
        .join(FundingSource, BudgetAllocation.source_id == FundingSource.id)
        .where(FundingSource.programme_id == programme_id, in_years(BudgetAllocation.year)),
        summed("mutaties", BudgetMutation.year, BudgetMutation.amount)
        .where(BudgetMutation.programme_id == programme_id, BudgetMutation.date <= upto,
               in_years(BudgetMutation.year)),
        summed("ambtelijk", StaffingReservation.year, StaffingReservation.amount)
        .where(StaffingReservation.programme_id == programme_id, in_years(StaffingReservation.year)),
        summed("verplicht", CommitmentSchedule.year, CommitmentSchedule.amount)
        .join(Commitment, CommitmentSchedule.commitment_id == Commitment.id)
        .join(Project, project_of_commitment)
        .where(Commitment.signed_date <= upto, in_years(CommitmentSchedule.year)),
        summed("verplicht", CommitmentAdjustment.year, CommitmentAdjustment.amount)
        .join(Commitment, CommitmentAdjustment.commitment_id == Commitment.id)
        .join(Project, project_of_commitment)
        .where(CommitmentAdjustment.date <= upto, in_years(CommitmentAdjustment.year)),
        summed("betaald", _year_of(Payment.date), Payment.amount)
        .join(Commitment, Payment.commitment_id == Commitment.id)
        .join(Project, project_of_commitment)
        .where(*dated(Payment.date)),
        summed("betaald", _year_of(StaffingCost.date), StaffingCost.amount)
        .join(StaffingReservation, StaffingCost.reservation_id == StaffingReservation.id)
        .where(StaffingReservation.programme_id == programme_id, *dated(StaffingCost.date)),
    ]
    m = union_all(*parts).subquery("m")
    total = func.coalesce(func.sum(m.c.amount), 0)
    return select(m.c.measure, m.c.year, total.cast(Money)).group_by(m.c.measure, m.c.year)


_FIELD = {
    "structureel": "structural",
    "incidenteel": "incidental",
    "mutaties": "mutations",
    "ambtelijk": "staffing",
    "verplicht": "committed_projects",
    "betaald": "paid",
}


def programme_figures(session, programme_id: int, peildatum: date | None,
                      years=None) -> dict[int, YearFigures]:
    """Figures per year in one query; `peildatum=None` counts every entry whatever its date."""
    params = {"programme_id": programme_id, "upto": peildatum or FAR_FUTURE}
    if years is not None:
        years = list(years)
        if not years:
            return {}
        # The last day counted is the earlier of year end and peildatum: the payment index range stops there.
        params.update(first_year=min(years), last_year=max(years), first=date(min(years), 1, 1),
                      last=min(date(max(years), 12, 31), peildatum or FAR_FUTURE))
    mode = None if years is None else "one" if len(set(years)) == 1 else "range"
    rows = session.execute(_figures_statement(mode), params)
    values: dict[int, dict[str, Decimal]] = {}
    for measure, year, amount in rows:
        values.setdefault(int(year), {})[_FIELD[measure]] = amount
    wanted = sorted(set(years) if years is not None else set(values))
    return {y: YearFigures(year=y, **values.get(y, {})) for y in wanted}


def year_figures(session, programme_id: int, year: int, peildatum: date | None) -> YearFigures:
    return programme_figures(session, programme_id, peildatum, [year])[year]


def programme_years(session, programme: Programme) -> list[int]:
    """The programme's years: first year to its last year (or the last year with money)."""
    if programme.last_year:
        return list(range(programme.first_year, programme.last_year + 1))
    last = session.scalar(
        select(func.max(BudgetAllocation.year))
        .join(FundingSource, BudgetAllocation.source_id == FundingSource.id)
        .where(FundingSource.programme_id == programme.id)
    )
    return list(range(programme.first_year, max(last or programme.first_year, programme.first_year) + 1))


def _has_commitment_by(peildatum: date | None):
    return exists().where(Commitment.project_id == Project.id,
                          Commitment.signed_date <= (peildatum or FAR_FUTURE))


def reportable_projects():
    """Projects that belong in reports: all but rejected/withdrawn ones that never got money."""
    return or_(Project.status.not_in(("afgewezen", "ingetrokken")), _has_commitment_by(None))


def breakdown(session, programme_id: int, year: int, peildatum: date | None,
              by: str) -> dict[str, GroupFigures]:
    """Committed, paid, pipeline and project count per category or per programme line."""
    if by not in BREAKDOWNS:
        raise ValueError(by)
    return breakdowns(session, programme_id, year, peildatum)[by]


BREAKDOWNS = ("category", "line")


def breakdowns(session, programme_id: int, year: int, peildatum: date | None) -> dict[str, dict[str, GroupFigures]]:
    """breakdown() by category and by line at once: one pass over the money, grouped by both keys."""
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
        summed("paid", Payment.amount)
        .select_from(Payment)
        .join(Commitment, Payment.commitment_id == Commitment.id)
        .join(Project, Commitment.project_id == Project.id)
        .where(in_programme, *_dated(Payment.date, peildatum, [year])),
        summed("pipeline", Project.requested_amount)
        .where(in_programme, Project.status.in_(PIPELINE_STATUSES), Project.requested_amount.is_not(None),
               ~_has_commitment_by(peildatum)),
    ]
    m = union_all(*parts).subquery("m")
    sums = session.execute(
        select(m.c.category, m.c.line, m.c.measure, func.coalesce(func.sum(m.c.amount), 0).cast(Money))
        .group_by(m.c.category, m.c.line, m.c.measure)
    ).all()
    counts = session.execute(
        select(Project.category, Project.line, func.count(Project.id))
        .where(in_programme, reportable_projects()).group_by(Project.category, Project.line)
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


def commitment_totals(session, commitment_id: int) -> tuple[Decimal, Decimal]:
    """(current total incl. adjustments, paid so far) of one commitment, all dates."""
    adjusted = select(func.coalesce(func.sum(CommitmentAdjustment.amount), 0).cast(Money)).where(
        CommitmentAdjustment.commitment_id == commitment_id).scalar_subquery()
    paid = select(func.coalesce(func.sum(Payment.amount), 0).cast(Money)).where(
        Payment.commitment_id == commitment_id).scalar_subquery()
    total, extra, paid_sum = session.execute(
        select(Commitment.total, adjusted, paid).where(Commitment.id == commitment_id)).one()
    return total + extra, paid_sum


def commitment_year_amounts(session, commitment_id: int) -> dict[int, Decimal]:
    """The current cash schedule (schedule plus all adjustments) per year."""
    sched = select(CommitmentSchedule.year.label("year"), CommitmentSchedule.amount.label("amount")).where(
        CommitmentSchedule.commitment_id == commitment_id)
    adj = select(CommitmentAdjustment.year, CommitmentAdjustment.amount).where(
        CommitmentAdjustment.commitment_id == commitment_id)
    m = union_all(sched, adj).subquery("m")
    rows = session.execute(select(m.c.year, func.sum(m.c.amount).cast(Money)).group_by(m.c.year))
    return {int(y): a for y, a in rows}


def enforce_budget_stop(session, actor, programme_id: int, deltas: dict[int, Decimal],
                        override_reason: str | None = None) -> dict | None:
    """Refuse a change that lowers a year's free room below zero (all entries, any date).

    `deltas` is the change in free room per year the change would cause. Returns None when
    the change fits, or the override details for the audit entry when a beheerder overrides.
    The rule and who may override are budget.rules'; this loads the free room they judge.
    """
    lowered = [y for y, d in deltas.items() if d < 0]
    if not lowered:
        return None
    figures = programme_figures(session, programme_id, None, lowered)
    shortfalls = rules.budget_stop({y: figures[y].free for y in lowered}, deltas)
    return rules.override(getattr(actor, "role", None), override_reason, shortfalls)


# --- Read-only additions for the stand-van-zaken reports (reports/queries.py) ---------------

def staffing_paid(session, programme_id: int, year: int, peildatum: date | None) -> Decimal:
    """Staffing costs booked in `year` on or before the peildatum (the realised staffing share)."""
    total = session.scalar(
        select(func.coalesce(func.sum(StaffingCost.amount), 0).cast(Money))
        .join(StaffingReservation, StaffingCost.reservation_id == StaffingReservation.id)
        .where(StaffingReservation.programme_id == programme_id, *_dated(StaffingCost.date, peildatum, [year]))
    )
    return total if total is not None else ZERO


def project_figures(session, programme_id: int, year: int,
                    peildatum: date | None) -> dict[int, dict[str, Decimal]]:
    """Per project, in one query: committed and paid in `year`, committed and paid over all years.

    Keys of each dict: committed_year, paid_year, committed_total, paid_total (all at the peildatum).
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

    m = union_all(
        per_project(CommitmentSchedule.amount, CommitmentSchedule.year == year, CommitmentSchedule,
                    Commitment.signed_date <= upto, paid=False),
        per_project(CommitmentAdjustment.amount, CommitmentAdjustment.year == year, CommitmentAdjustment,
                    CommitmentAdjustment.date <= upto, paid=False),
        per_project(Payment.amount, and_(Payment.date >= first, Payment.date <= last), Payment,
                    Payment.date <= upto, paid=True),
    ).subquery("m")
    money = lambda col: func.coalesce(func.sum(col), 0).cast(Money)  # noqa: E731
    # One row per project: the Core connection skips the ORM's row handling, a third of the time here.
    rows = session.connection().execute(
        select(m.c.pid, money(m.c.cy), money(m.c.py), money(m.c.ct), money(m.c.pt)).group_by(m.c.pid)).all()
    return {pid: {"committed_year": cy, "paid_year": py, "committed_total": ct, "paid_total": pt}
            for pid, cy, py, ct, pt in rows}


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
