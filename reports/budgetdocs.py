"""Collecting the budget documents' tables at a peildatum (Per instrument, Mutatieoverzicht, Verloop verplichtingen)."""
from __future__ import annotations

from datetime import date
from decimal import Decimal

from sqlalchemy import (
    BigInteger,
    and_,
    case,
    cast,
    func,
    literal,
    literal_column,
    select,
    union_all,
)

from budget.advances import open_advance_totals
from budget.ledger import PaidSums, _year_of
from budget.models import (
    MUTATION_MOMENTS,
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
from core.money import ZERO, Money
from projects.models import CATEGORIES, INSTRUMENTS, Programme, Project

#: The rows of Per instrument: the project instruments by the names of the RBV's financial instruments.
RBV_INSTRUMENTS = {
    "subsidie": "Subsidies",
    "opdracht": "Opdrachten",
    "bijdrage_medeoverheid": "Bijdragen aan medeoverheden",
    "bijdrage_zbo_rwt": "Bijdragen aan zbo's/rwt's",
    "overig": "Overige instrumenten",
}
assert set(RBV_INSTRUMENTS) == set(INSTRUMENTS), "every project instrument needs its row on Per instrument"
#: The staffing reservation and its costs: the apparaat, not a project instrument.
STAFFING = "apparaat"
STAFFING_ROW = "Ambtelijke ondersteuning JenV (apparaat)"
INSTRUMENT_MEASURES = {"committed": "Verplicht", "paid": "Gerealiseerd"}
_INSTRUMENT_CODES, _CATEGORY_CODES = list(INSTRUMENTS), list(CATEGORIES)
assert len(_CATEGORY_CODES) <= 10, "_money_facts keys a category by one decimal digit"
TOTAL = "Totaal"

#: The budget moments in the order of the budget year, each closed by a stand row (RBV 2.28).
MOMENT_STANDS = [
    ("ontwerpbegroting", "Stand ontwerpbegroting"),
    ("voorjaarsnota", "Stand 1e suppletoire begroting (Voorjaarsnota)"),
    ("najaarsnota", "Stand 2e suppletoire begroting (Najaarsnota)"),
    ("slotwet", "Stand slotwet"),
    ("intern", "Beschikbaar budget"),
]
assert [m for m, _s in MOMENT_STANDS] == list(MUTATION_MOMENTS), "every mutation moment needs its place"
MOMENT_LEAD = ["Omschrijving", "Soort", "Datum"]
MOMENT_TAIL = ["Kenmerk"]

NEGATIVE = "Negatieve bijstellingen / vrijval"
VERLOOP_COLUMNS = ["Stand 1 januari", "Aangegaan", "Betaald", NEGATIVE, "Positieve bijstellingen",
                   "Stand einde periode", "Voorschotten 1 januari", "Voorschotten verstrekt",
                   "Voorschotten vastgesteld", "Openstaande voorschotten"]


def _s(amount) -> str:
    return str(amount if amount is not None else ZERO)


def _money(column):
    return func.coalesce(func.sum(column), 0).cast(Money)


# --- Collecting: SQL aggregates, a fixed number of statements whatever the number of projects ----------

def collect(session, programme: Programme, peildatum: date, years: list[int],
            detail_years: list[int], paid: PaidSums) -> tuple[dict, dict[int, dict]]:
    """(the programme-wide tables for every year, {year: its verloop}) as JSON-able state, t/m the peildatum.

    `paid`: the programme's payments t/m the peildatum (ledger.paid_sums), read once for the whole report.
    """
    money = _money_facts(session, programme.id, peildatum, paid)
    docs = {"instruments": _instruments(money, years), "moments": _moments(session, programme.id, peildatum, years)}
    # Counted apart from the verloop, for its check: every year's open advances at its last day, in one statement.
    open_advances = open_advance_totals(session, programme.id, [period(y, peildatum)[1] for y in detail_years])
    return docs, {y: _verloop(session, programme.id, money, y, peildatum, open_advances) for y in detail_years}


def _code(column, codes: list[str]):
    """The position of `column`'s value in `codes`, written inline (our own constants, never user input): a
    GROUP BY expression with bound values is, to PostgreSQL, never the same as its twin in the SELECT."""
    return case(*((column == literal_column(f"'{code}'"), literal_column(str(i))) for i, code in enumerate(codes)))


def _money_facts(session, programme_id: int, peildatum: date, paid: PaidSums) -> list[tuple]:
    """Every money fact t/m the peildatum, summed per (what, instrument, category, budget year, year of its
    date): a few hundred rows from which both Per instrument and every year's verloop follow.

    The payments (most of the rows) come from the report's PaidSums; the rest is one statement, in which the
    instrument, category and budget year group as one integer (sorting on one number instead of three keys,
    two of them text, is the cheaper sort). "settled" are the advances of the commitments settled t/m the
    peildatum, keyed by the year of their vaststelling (as budget year and as year of the date).
    """
    in_programme = Project.programme_id == programme_id
    # Inline, as in _code; BIGINT, as budget year and year of the date together pass 2^31 on PostgreSQL.
    ten, ten_thousand = literal_column("10"), cast(literal_column("10000"), BigInteger)
    group = ((_code(Project.instrument, _INSTRUMENT_CODES) * ten + _code(Project.category, _CATEGORY_CODES))
             * ten_thousand)

    def part(what, entry, year, dated, amount, extra):
        # The year of the date rides along in the same integer.
        key = (group + year) * ten_thousand + dated
        return (select(literal(what).label("what"), key.label("key"), func.sum(amount).label("amount"),
                       func.sum(extra).label("extra"))
                .select_from(entry).join(Commitment, entry.commitment_id == Commitment.id)
                .join(Project, Commitment.project_id == Project.id).where(in_programme).group_by(key))

    def staffing(what, entry, year, *conds):
        return (select(literal(what), year, func.sum(entry.amount), literal(0))
                .select_from(entry).join(StaffingReservation, entry.reservation_id == StaffingReservation.id)
                .where(StaffingReservation.programme_id == programme_id, *conds).group_by(year))

    adjustment = CommitmentAdjustment.amount
    settled_year = _year_of(CommitmentSettlement.date)
    parts = [
        part("schedule", CommitmentSchedule, CommitmentSchedule.year, _year_of(Commitment.signed_date),
             CommitmentSchedule.amount, literal(0)).where(Commitment.signed_date <= peildatum),
        # extra: the negative adjustments.
        part("adjustment", CommitmentAdjustment, CommitmentAdjustment.year, _year_of(CommitmentAdjustment.date),
             adjustment, case((adjustment < 0, adjustment), else_=0)).where(CommitmentAdjustment.date <= peildatum),
        # From the few settlements to their commitments' advances (the payments by their commitment index).
        part("settled", Payment, settled_year, settled_year, Payment.amount, literal(0))
        .join(CommitmentSettlement, CommitmentSettlement.commitment_id == Commitment.id)
        .where(CommitmentSettlement.date <= peildatum, Payment.kind == "voorschot", Payment.date <= peildatum),
        staffing("staffing", StaffingChange, StaffingReservation.year, StaffingChange.valid_from <= peildatum),
        staffing("staffing_cost", StaffingCost, _year_of(StaffingCost.date), StaffingCost.date <= peildatum),
    ]
    m = union_all(*parts).subquery("m")
    facts = []
    for what, key, amount, extra in session.execute(
            select(m.c.what, m.c.key, m.c.amount.cast(Money), m.c.extra.cast(Money))):
        key = int(key)
        if what.startswith("staffing"):
            facts.append((what, STAFFING, None, key, None, amount, extra))
            continue
        key, dated = divmod(key, 10000)
        rest, year = divmod(key, 10000)
        instrument, category = divmod(rest, 10)
        facts.append((what, _INSTRUMENT_CODES[instrument], _CATEGORY_CODES[category], year, dated, amount, extra))
    paid.check(peildatum)
    # extra: the advances (voorschotten). A payment's budget year is the year of its date.
    facts += [("payment", instrument, category, year, year, amount, advances)
              for (instrument, category, year), (amount, advances) in paid.per_instrument_category().items()]
    return facts


def _instruments(money: list[tuple], years: list[int]) -> dict:
    """{year: {instrument or 'apparaat': {'committed', 'paid'}}}: as the Samenvatting counts them, per instrument."""
    measure = {"schedule": "committed", "adjustment": "committed", "staffing": "committed", "payment": "paid",
               "staffing_cost": "paid"}
    sums: dict = {}
    for what, instrument, _category, year, _dated, amount, _extra in money:
        # A settled advance is in its payment already; the vaststelling's vrijval is among the adjustments.
        if what in measure and years[0] <= year <= years[-1]:
            key = (str(year), instrument, measure[what])
            sums[key] = sums.get(key, ZERO) + amount
    result: dict = {}
    for (year, instrument, m), amount in sums.items():
        result.setdefault(year, {}).setdefault(instrument, {})[m] = _s(amount)
    return result


def _moments(session, programme_id: int, peildatum: date, years: list[int]) -> dict:
    """The funding sources' allocations and every mutation (a kasschuif as one row) dated t/m the peildatum."""
    first, last = min(years), max(years)
    sources = session.execute(
        select(FundingSource.id, FundingSource.name, FundingSource.kind, FundingSource.reference,
               BudgetAllocation.year, _money(AllocationChange.amount))
        .select_from(AllocationChange)
        .join(BudgetAllocation, AllocationChange.allocation_id == BudgetAllocation.id)
        .join(FundingSource, BudgetAllocation.source_id == FundingSource.id)
        .where(FundingSource.programme_id == programme_id, AllocationChange.valid_from <= peildatum,
               BudgetAllocation.year.between(first, last))
        .group_by(FundingSource.id, FundingSource.name, FundingSource.kind, FundingSource.reference,
                  BudgetAllocation.year)
        .order_by(FundingSource.id, BudgetAllocation.year)).all()
    by_source: dict = {}
    for sid, name, kind, reference, year, amount in sources:
        entry = by_source.setdefault(sid, {"name": name, "kind": kind, "reference": reference or "", "amounts": {}})
        entry["amounts"][str(year)] = _s(amount)
    mutations = session.execute(
        select(BudgetMutation.id, BudgetMutation.year, BudgetMutation.amount, BudgetMutation.kind,
               BudgetMutation.moment, BudgetMutation.reason, BudgetMutation.reference, BudgetMutation.date,
               BudgetMutation.kasschuif_group)
        .where(BudgetMutation.programme_id == programme_id, BudgetMutation.date <= peildatum,
               BudgetMutation.year.between(first, last))
        .order_by(BudgetMutation.date, BudgetMutation.id)).all()
    rows, groups = [], {}
    for _id, year, amount, kind, moment, reason, reference, day, group in mutations:
        # A kasschuif is one decision over several years: one row, its amounts side by side.
        row = groups.get(group) if group else None
        if row is None:
            row = {"moment": moment, "kind": kind, "date": day.isoformat(), "reasons": [],
                   "reference": reference or "", "amounts": {}}
            rows.append(row)
            if group:
                groups[group] = row
        row["amounts"][str(year)] = _s(amount)
        if reason not in row["reasons"]:
            row["reasons"].append(reason)
    for row in rows:
        row["reason"] = "; ".join(row.pop("reasons"))
    return {"sources": list(by_source.values()), "mutations": rows}


def period(year: int, peildatum: date) -> tuple[date, date]:
    """(1 January, the last day counted): 31 December, or the peildatum when it comes first."""
    return date(year, 1, 1), min(peildatum, date(year, 12, 31))


def _verloop(session, programme_id: int, money: list[tuple], year: int, peildatum: date,
             open_advances: dict[date, Decimal]) -> dict:
    """The verloop of the open commitments in `year` per category, and the open advances, t/m the peildatum.

    What is dated before 1 January makes the opening stand, what is dated in the year moves it: every fact
    here is dated t/m the peildatum already, so "in the year" also stops there. The commitments count by
    their kasritme rows; the independent stand (_open_at) counts them by their signed totals. An advance is
    open until its grant's vaststelling; the independent count of the open advances is budget.advances'.
    """
    sums: dict = {}

    def add(category, key, amount):
        sums.setdefault(category, {})
        sums[category][key] = sums[category].get(key, ZERO) + amount

    for what, _instrument, category, _year, dated, amount, extra in money:
        if what in ("staffing", "staffing_cost") or dated > year:
            continue
        before = dated < year
        if what == "schedule":
            add(category, "opening_committed" if before else "entered", amount)
        elif what == "adjustment":
            if before:
                add(category, "opening_committed", amount)
            else:
                add(category, "negative", extra)
                add(category, "positive", amount - extra)
        elif what == "settled":
            if before:
                add(category, "opening_advances", -amount)  # settled before 1 January: no longer open then
            else:
                add(category, "settled", amount)
        else:
            add(category, "opening_paid" if before else "paid", amount)
            add(category, "opening_advances" if before else "advances", extra)
    start, through = period(year, peildatum)
    verloop = {"from": start.isoformat(), "through": through.isoformat(),
               "categories": {c: {k: _s(v) for k, v in values.items()} for c, values in sums.items()},
               "open_advances": _s(open_advances[through])}
    if through < peildatum:
        # A year that ended before the peildatum: its stand at 31 December. At the peildatum itself the Projecten
        # annex's totals (breakdowns.project_figures, a statement of its own) give it (budgetdocs_frames.frames).
        verloop["open"] = _open_at(session, programme_id, through)
    return verloop


def _open_at(session, programme_id: int, day: date) -> str:
    """Open commitments at `day` from the commitments' signed totals: the check on the verloop.

    Per commitment, as breakdowns.commitment_check does: its payments by index lookups, not one grouping of all.
    """
    paid = (select(func.coalesce(func.sum(Payment.amount), 0))
            .where(Payment.commitment_id == Commitment.id, Payment.date <= day).scalar_subquery())
    adjusted = (select(func.coalesce(func.sum(CommitmentAdjustment.amount), 0))
                .where(CommitmentAdjustment.commitment_id == Commitment.id, CommitmentAdjustment.date <= day)
                .scalar_subquery())
    signed = case((Commitment.signed_date <= day, Commitment.total), else_=0)
    each = (select((signed + adjusted - paid).label("open"))
            .join(Project, and_(Commitment.project_id == Project.id, Project.programme_id == programme_id))
            .subquery("each"))
    return _s(session.scalar(select(_money(each.c.open))))
