"""The figures: available, reserved, committed, paid and free room per year, from SQL aggregates."""
from __future__ import annotations

import functools
from dataclasses import dataclass
from datetime import date
from decimal import Decimal

from sqlalchemy import (
    BigInteger,
    Date,
    Integer,
    and_,
    bindparam,
    extract,
    func,
    literal,
    select,
    true,
    union_all,
)
from sqlalchemy.ext.compiler import compiles
from sqlalchemy.sql.functions import FunctionElement

from budget import rules
from budget.models import (
    AllocationChange,
    BudgetAllocation,
    BudgetMutation,
    Commitment,
    CommitmentAdjustment,
    CommitmentSchedule,
    FundingSource,
    Payment,
    StaffingChange,
    StaffingCost,
    StaffingReservation,
)
from core.money import ZERO, Money, share
from projects.models import Programme, Project

FAR_FUTURE = date(9999, 12, 31)


def _from_cents(cents: int) -> Decimal:
    """Integer cents as the two-place Decimal the Money type gives (0 -> 0.00)."""
    return Decimal(cents).scaleb(-2)


@dataclass(frozen=True)
class YearFigures:
    """One programme-year at a peildatum. Percentages are fractions rounded once to 0,1 % (0.25 = 25 %)."""

    year: int
    structural: Decimal = ZERO
    incidental: Decimal = ZERO
    mutations: Decimal = ZERO
    staffing: Decimal = ZERO
    committed_projects: Decimal = ZERO
    paid: Decimal = ZERO
    #: Vrijval: what vaststellingen took off this year's commitments (already out of committed_projects).
    released: Decimal = ZERO

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
        return share(self.committed, self.available)

    @property
    def pct_paid(self) -> Decimal | None:
        # Realisation as a share of the available budget, like "% verplicht".
        return share(self.paid, self.available)


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


@dataclass(frozen=True)
class PaidSums:
    """A programme's payments t/m a peildatum, summed per project and year of the payment date.

    A report needs the payments four ways (per year, per project, per category and line, per
    instrument and category). Each was a statement of its own that read every payment again, and
    SQLite, which groups by sorting, sorted ~225,000 payments four times at 10,000 projects. Read
    once per report (paid_sums), every figure that takes a `paid=` sums its few ten thousand rows
    in Python instead, in integer cents: exact. (breakdowns.commitment_check keeps its index lookups
    per commitment: comparing every commitment in Python measured slower.)
    """

    #: Payments dated on or before this day are in (None: every payment).
    peildatum: date | None
    #: (project id, year of the payment date, paid, of which advances), amounts in cents.
    rows: list[tuple[int, int, int, int]]
    #: Every project of the programme: id -> (category, line, instrument), to sum the rows per group.
    projects: dict[int, tuple[str, str, str]]

    def check(self, peildatum: date | None) -> None:
        """Refuse sums read at another peildatum: the figures would silently mix two moments."""
        if peildatum != self.peildatum:
            raise ValueError(f"betalingen t/m {self.peildatum} gelezen, gevraagd t/m {peildatum}")

    def per_year(self) -> dict[int, Decimal]:
        """Paid per year of the payment date."""
        cents: dict[int, int] = {}
        for _pid, year, paid, _advances in self.rows:
            cents[year] = cents.get(year, 0) + paid
        return {year: _from_cents(c) for year, c in cents.items()}

    def per_project(self, year: int) -> dict[int, tuple[Decimal, Decimal]]:
        """Per project with payments: (paid in `year`, paid in all years)."""
        cents: dict[int, list[int]] = {}
        for pid, paid_year, paid, _advances in self.rows:
            sums = cents.get(pid)
            if sums is None:
                sums = cents[pid] = [0, 0]
            if paid_year == year:
                sums[0] += paid
            sums[1] += paid
        return {pid: (_from_cents(in_year), _from_cents(total)) for pid, (in_year, total) in cents.items()}

    def per_category_line(self, year: int) -> dict[tuple[str, str], Decimal]:
        """Paid in `year` per (category, programme line) of the projects; groups without payments then are absent."""
        cents: dict[tuple[str, str], int] = {}
        for pid, paid_year, paid, _advances in self.rows:
            if paid_year == year:
                category, line, _instrument = self.projects[pid]
                cents[category, line] = cents.get((category, line), 0) + paid
        return {key: _from_cents(c) for key, c in cents.items()}

    def per_instrument_category(self) -> dict[tuple[str, str, int], tuple[Decimal, Decimal]]:
        """(paid, of which advances) per (instrument, category) of the projects and year of the payment date."""
        cents: dict[tuple[str, str, int], list[int]] = {}
        for pid, year, paid, advances in self.rows:
            category, _line, instrument = self.projects[pid]
            key = (instrument, category, year)
            sums = cents.get(key)
            if sums is None:
                sums = cents[key] = [0, 0]
            sums[0] += paid
            sums[1] += advances
        return {key: (_from_cents(p), _from_cents(a)) for key, (p, a) in cents.items()}


def paid_sums(session, programme_id: int, peildatum: date | None) -> PaidSums:
    """The programme's payments dated on or before the peildatum (every one for None), read once: see PaidSums."""
    year = _year_of(Payment.date)
    # Cents as plain integers (BIGINT, not Money): tens of thousands of rows skip the Decimal conversion,
    # which the sums in PaidSums do once per result. FILTER keeps the advances beside the total in one pass.
    cents = lambda amount: amount.cast(BigInteger)  # noqa: E731
    rows = session.connection().execute(
        # The year cast: PostgreSQL's EXTRACT gives a numeric.
        select(Commitment.project_id, year.cast(Integer), cents(func.sum(Payment.amount)),
               cents(func.coalesce(func.sum(Payment.amount).filter(Payment.kind == "voorschot"), 0)))
        .select_from(Payment)
        .join(Commitment, Payment.commitment_id == Commitment.id)
        .join(Project, Commitment.project_id == Project.id)
        .where(Project.programme_id == programme_id, Payment.date <= (peildatum or FAR_FUTURE))
        .group_by(Commitment.project_id, year)
    ).all()
    projects = session.connection().execute(
        select(Project.id, Project.category, Project.line, Project.instrument)
        .where(Project.programme_id == programme_id)).all()
    return PaidSums(peildatum=peildatum, rows=rows,
                    projects={pid: (category, line, instrument) for pid, category, line, instrument in projects})


@functools.lru_cache(maxsize=6)
def _figures_statement(years: str | None, payments: bool = True):
    """The figures query, built once: every value is a bound parameter.

    Building and cache-keying this union is most of the dashboard's figures time on a small
    programme, so it is made once per process. `years` adds the year conditions: "one" for a
    single year (the dashboard), "range" for several (the report's summary). Without `payments`
    the programme's payments are left out (a report adds them from its PaidSums).
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
        # Allocations and the staffing reservation count by their dated changes, like every other fact.
        summed(FundingSource.kind, BudgetAllocation.year, AllocationChange.amount)
        .select_from(AllocationChange)
        .join(BudgetAllocation, AllocationChange.allocation_id == BudgetAllocation.id)
        .join(FundingSource, BudgetAllocation.source_id == FundingSource.id)
        .where(FundingSource.programme_id == programme_id, AllocationChange.valid_from <= upto,
               in_years(BudgetAllocation.year)),
        summed("mutaties", BudgetMutation.year, BudgetMutation.amount)
        .where(BudgetMutation.programme_id == programme_id, BudgetMutation.date <= upto,
               in_years(BudgetMutation.year)),
        summed("ambtelijk", StaffingReservation.year, StaffingChange.amount)
        .select_from(StaffingChange)
        .join(StaffingReservation, StaffingChange.reservation_id == StaffingReservation.id)
        .where(StaffingReservation.programme_id == programme_id, StaffingChange.valid_from <= upto,
               in_years(StaffingReservation.year)),
        summed("verplicht", CommitmentSchedule.year, CommitmentSchedule.amount)
        .join(Commitment, CommitmentSchedule.commitment_id == Commitment.id)
        .join(Project, project_of_commitment)
        .where(Commitment.signed_date <= upto, in_years(CommitmentSchedule.year)),
        summed("verplicht", CommitmentAdjustment.year, CommitmentAdjustment.amount)
        .join(Commitment, CommitmentAdjustment.commitment_id == Commitment.id)
        .join(Project, project_of_commitment)
        .where(CommitmentAdjustment.date <= upto, in_years(CommitmentAdjustment.year)),
        # The vrijval once more, on its own (a few rows: the settlement index finds them).
        summed("vrijval", CommitmentAdjustment.year, -CommitmentAdjustment.amount)
        .join(Commitment, CommitmentAdjustment.commitment_id == Commitment.id)
        .join(Project, project_of_commitment)
        .where(CommitmentAdjustment.settlement_id.is_not(None), CommitmentAdjustment.amount < 0,
               CommitmentAdjustment.date <= upto, in_years(CommitmentAdjustment.year)),
        *([summed("betaald", _year_of(Payment.date), Payment.amount)
           .join(Commitment, Payment.commitment_id == Commitment.id)
           .join(Project, project_of_commitment)
           .where(*dated(Payment.date))] if payments else []),
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
    "vrijval": "released",
}


def programme_figures(session, programme_id: int, peildatum: date | None,
                      years=None, paid: PaidSums | None = None) -> dict[int, YearFigures]:
    """Figures per year in one query; `peildatum=None` counts every entry whatever its date.

    `paid`: the programme's payments at the same peildatum, already read (paid_sums).
    """
    params = {"programme_id": programme_id, "upto": peildatum or FAR_FUTURE}
    if years is not None:
        years = list(years)
        if not years:
            return {}
        # The last day counted is the earlier of year end and peildatum: the payment index range stops there.
        params.update(first_year=min(years), last_year=max(years), first=date(min(years), 1, 1),
                      last=min(date(max(years), 12, 31), peildatum or FAR_FUTURE))
    mode = None if years is None else "one" if len(set(years)) == 1 else "range"
    rows = session.execute(_figures_statement(mode, paid is None), params)
    values: dict[int, dict[str, Decimal]] = {}
    for measure, year, amount in rows:
        values.setdefault(int(year), {})[_FIELD[measure]] = amount
    if paid is not None:
        paid.check(peildatum)
        for year, amount in paid.per_year().items():
            entry = values.setdefault(year, {})
            entry["paid"] = entry.get("paid", ZERO) + amount
    wanted = sorted(set(years) if years is not None else set(values))
    return {y: YearFigures(year=y, **values.get(y, {})) for y in wanted}


def year_figures(session, programme_id: int, year: int, peildatum: date | None) -> YearFigures:
    return programme_figures(session, programme_id, peildatum, [year])[year]


def programme_years(session, programme: Programme, peildatum: date | None = None) -> list[int]:
    """The programme's years: first year to its last year (or the last year with an allocation by the peildatum)."""
    if programme.last_year:
        return list(range(programme.first_year, programme.last_year + 1))
    last = session.scalar(
        select(func.max(BudgetAllocation.year))
        .join(FundingSource, BudgetAllocation.source_id == FundingSource.id)
        .join(AllocationChange, AllocationChange.allocation_id == BudgetAllocation.id)
        .where(FundingSource.programme_id == programme.id, AllocationChange.valid_from <= (peildatum or FAR_FUTURE))
    )
    return list(range(programme.first_year, max(last or programme.first_year, programme.first_year) + 1))


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
    The rule and who may override are budget.rules'; this loads the free room they judge:
    the booked entries' room, less what entries awaiting a second person's approval hold, so two
    pending commitments cannot together overrun a year.
    """
    from approvals.services import DRAFTING, pending_holds

    lowered = [y for y, d in deltas.items() if d < 0]
    if not lowered or session.info.get(DRAFTING) is not None:
        return None  # nothing lowered; or a scenario's entry, which shows an overrun instead of refusing it
    figures = programme_figures(session, programme_id, None, lowered)
    held = pending_holds(session, programme_id, lowered)
    free = {y: figures[y].free - held[y] for y in lowered}
    shortfalls = rules.budget_stop(free, deltas)
    return rules.override(getattr(actor, "role", None), override_reason, shortfalls, free)


