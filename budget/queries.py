"""Read-only queries for the budget pages: the overview and a project's money (no rules, no writes)."""
from __future__ import annotations

from decimal import Decimal

from sqlalchemy import func, literal_column, select, union_all

from budget.ledger import (
    commitment_totals,
    commitment_year_amounts,
    programme_figures,
    programme_years,
)
from budget.models import (
    PAYMENT_KINDS,
    UNDATED_FROM,
    AllocationChange,
    BudgetAllocation,
    BudgetMutation,
    Commitment,
    CommitmentAdjustment,
    CommitmentSchedule,
    CommitmentSettlement,
    FundingSource,
    Payment,
    StaffingChange,
    StaffingCost,
    StaffingReservation,
)
from budget.overruns import overrun_notes
from budget.services.periods import closed_through
from budget.services.settlements import commitment_payments, settled_on
from core.money import ZERO, Money
from projects.models import Project


def budget_overview(session, programme) -> dict:
    """Everything the Budget page shows: sources with yearly amounts, mutations, staffing, figures."""
    years = programme_years(session, programme)
    sources = session.scalars(select(FundingSource).where(FundingSource.programme_id == programme.id)
                              .order_by(FundingSource.kind.desc(), FundingSource.name)).all()
    allocations: dict[tuple[int, int], Decimal] = {
        (a.source_id, a.year): a.amount for a in session.scalars(
            select(BudgetAllocation).join(FundingSource).where(FundingSource.programme_id == programme.id))}
    mutations = session.scalars(select(BudgetMutation).where(BudgetMutation.programme_id == programme.id)
                                .order_by(BudgetMutation.date.desc(), BudgetMutation.id.desc())).all()
    reservations = session.scalars(select(StaffingReservation)
                                   .where(StaffingReservation.programme_id == programme.id)
                                   .order_by(StaffingReservation.year)).all()
    costs: dict[int, list[StaffingCost]] = {}
    for cost in session.scalars(select(StaffingCost).join(StaffingReservation)
                                .where(StaffingReservation.programme_id == programme.id)
                                .order_by(StaffingCost.date, StaffingCost.id)):
        costs.setdefault(cost.reservation_id, []).append(cost)
    booked = {r.id: sum((c.amount for c in costs.get(r.id, [])), ZERO) for r in reservations}
    figures = programme_figures(session, programme.id, None, years)
    return {
        "allocation_history": allocation_history(session, programme.id),
        "staffing_history": staffing_history(session, programme.id),
        "years": years, "alloc_years": sorted({y for _s, y in allocations} | set(years)), "sources": sources,
        "allocations": allocations, "mutations": mutations, "reservations": reservations, "costs": costs,
        "booked": booked, "remaining": {r.id: r.amount - booked[r.id] for r in reservations},
        "figures": figures,
        # Finance roles only see this page: the note names who broke through the budget stop.
        "overruns": overrun_notes(session, programme.id, {y: f.free for y, f in figures.items()}, None, names=True),
    }


def _history(rows, key, measures) -> list[dict]:
    """Dated changes with the values they lead to (per allocation or reservation), newest first."""
    running: dict[int, dict[str, Decimal]] = {}
    history = []
    for change, *labels in rows:
        totals = running.setdefault(getattr(change, key), dict.fromkeys(measures, ZERO))
        for measure in measures:
            totals[measure] += getattr(change, measure)
        history.append({"change": change, "labels": labels, "after": dict(totals),
                        # Carried over from before facts were dated (migration 0011): counts at every peildatum.
                        "undated": change.valid_from == UNDATED_FROM})
    return history[::-1]


def allocation_history(session, programme_id: int, source_id: int | None = None) -> list[dict]:
    """Every dated change of the programme's (or one source's) allocations: labels are (source, year)."""
    query = (select(AllocationChange, FundingSource.name, BudgetAllocation.year)
             .join(BudgetAllocation, AllocationChange.allocation_id == BudgetAllocation.id)
             .join(FundingSource, BudgetAllocation.source_id == FundingSource.id)
             .where(FundingSource.programme_id == programme_id)
             .order_by(AllocationChange.valid_from, AllocationChange.id))
    if source_id is not None:
        query = query.where(FundingSource.id == source_id)
    return _history(session.execute(query), "allocation_id", ("amount",))


def staffing_history(session, programme_id: int, reservation_id: int | None = None) -> list[dict]:
    """Every dated change of the programme's (or one) staffing reservation(s): labels are (year,)."""
    query = (select(StaffingChange, StaffingReservation.year)
             .join(StaffingReservation, StaffingChange.reservation_id == StaffingReservation.id)
             .where(StaffingReservation.programme_id == programme_id)
             .order_by(StaffingChange.valid_from, StaffingChange.id))
    if reservation_id is not None:
        query = query.where(StaffingReservation.id == reservation_id)
    return _history(session.execute(query), "reservation_id", ("fte", "amount"))


def first_year_without_reservation(session, programme) -> int | None:
    """The year a new staffing reservation form suggests: the programme's first year without one."""
    taken = set(session.scalars(select(StaffingReservation.year)
                                .where(StaffingReservation.programme_id == programme.id)))
    return next((y for y in programme_years(session, programme) if y not in taken), None)


def project_money(session, project) -> dict:
    """Commitments of a project with schedule, adjustments, payments, vaststelling, totals and the closed date: seven queries."""
    commitments = session.scalars(select(Commitment).where(Commitment.project_id == project.id)
                                  .order_by(Commitment.signed_date, Commitment.id)).all()
    ids = [c.id for c in commitments]
    result = {"commitments": [], "total": ZERO, "paid": ZERO, "remaining": ZERO, "years": [],
              "by_year": {}, "payment_kinds": PAYMENT_KINDS}
    if not ids:
        return result
    # A vaststelling in a closed period cannot be withdrawn: the page offers no button the service would refuse.
    result["closed_through"] = closed_through(session, project.programme_id)
    sched = select(CommitmentSchedule.commitment_id.label("cid"), CommitmentSchedule.year.label("year"),
                   CommitmentSchedule.amount.label("amount"), literal_column("0").label("adj")
                   ).where(CommitmentSchedule.commitment_id.in_(ids))
    adj = select(CommitmentAdjustment.commitment_id, CommitmentAdjustment.year, literal_column("0"),
                 CommitmentAdjustment.amount).where(CommitmentAdjustment.commitment_id.in_(ids))
    m = union_all(sched, adj).subquery("m")
    per_year: dict[int, dict[int, dict[str, Decimal]]] = {}
    for cid, year, planned, adjusted in session.execute(
            select(m.c.cid, m.c.year, func.sum(m.c.amount).cast(Money), func.sum(m.c.adj).cast(Money))
            .group_by(m.c.cid, m.c.year)):
        per_year.setdefault(cid, {})[int(year)] = {"planned": planned or ZERO, "adjusted": adjusted or ZERO}
    paid = dict(session.execute(select(Payment.commitment_id, func.sum(Payment.amount).cast(Money))
                                .where(Payment.commitment_id.in_(ids)).group_by(Payment.commitment_id)).all())
    payments: dict[int, list[Payment]] = {}
    for p in session.scalars(select(Payment).where(Payment.commitment_id.in_(ids))
                             .order_by(Payment.date, Payment.id)):
        payments.setdefault(p.commitment_id, []).append(p)
    adjustments: dict[int, list[CommitmentAdjustment]] = {}
    for a in session.scalars(select(CommitmentAdjustment).where(CommitmentAdjustment.commitment_id.in_(ids))
                             .order_by(CommitmentAdjustment.date, CommitmentAdjustment.id)):
        adjustments.setdefault(a.commitment_id, []).append(a)
    settlements = {s.commitment_id: s for s in session.scalars(
        select(CommitmentSettlement).where(CommitmentSettlement.commitment_id.in_(ids)))}
    years = sorted({y for rows in per_year.values() for y in rows})
    for c in commitments:
        rows = per_year.get(c.id, {})
        schedule = {y: v["planned"] + v["adjusted"] for y, v in rows.items()}
        current = c.total + sum((v["adjusted"] for v in rows.values()), ZERO)
        c_paid = paid.get(c.id) or ZERO
        result["commitments"].append({
            "commitment": c, "total": c.total, "current": current, "paid": c_paid,
            "remaining": current - c_paid, "schedule": schedule, "adjusted_years": {y for y, v in rows.items()
                                                                                    if v["adjusted"]},
            "adjustments": adjustments.get(c.id, []), "payments": payments.get(c.id, []),
            "settlement": (settled := settlements.get(c.id)),
            # The vrijval and what of the terugvordering is still to be refunded (all dates, like the rest here).
            "released": -sum((a.amount for a in adjustments.get(c.id, []) if a.settlement_id and a.amount < 0), ZERO),
            "outstanding": max(c_paid - settled.amount, ZERO) if settled else ZERO,
        })
        result["total"] += current
        result["paid"] += c_paid
        for y, amount in schedule.items():
            result["by_year"][y] = result["by_year"].get(y, ZERO) + amount
    result["remaining"] = result["total"] - result["paid"]
    result["years"] = years
    return result


def settlement_basis(session, commitment) -> dict:
    """What the vaststelling form shows: the current cash schedule, paid per year and the totals."""
    paid_by_year: dict[int, Decimal] = {}
    # The payments as budget.settlement_rules.settle will read them when the form is saved.
    for day, _kind, amount in commitment_payments(session, commitment.id):
        paid_by_year[day.year] = paid_by_year.get(day.year, ZERO) + amount
    current = commitment_year_amounts(session, commitment.id)
    total, paid = commitment_totals(session, commitment.id)
    return {"current": current, "paid_by_year": paid_by_year, "total": total, "paid": paid,
            "years": sorted(set(current) | set(paid_by_year)), "settlement": settled_on(session, commitment.id)}


def project_money_sums(programme_id: int):
    """Per project of the programme: committed (signed totals + adjustments) and paid, as the project page
    counts them (every entry, whatever its date), in the stored unit: one aggregate subquery for the list."""
    own = select(Project.id).where(Project.programme_id == programme_id)
    parts = union_all(
        select(Commitment.project_id.label("project_id"), Commitment.total.label("committed"),
               literal_column("0").label("paid")).where(Commitment.project_id.in_(own)),
        select(Commitment.project_id, CommitmentAdjustment.amount, literal_column("0"))
        .join(Commitment, CommitmentAdjustment.commitment_id == Commitment.id).where(Commitment.project_id.in_(own)),
        select(Commitment.project_id, literal_column("0"), Payment.amount)
        .join(Commitment, Payment.commitment_id == Commitment.id).where(Commitment.project_id.in_(own)),
    ).subquery("money_parts")
    return (select(parts.c.project_id, func.sum(parts.c.committed).label("committed"),
                   func.sum(parts.c.paid).label("paid"))
            .group_by(parts.c.project_id).subquery("project_money"))
