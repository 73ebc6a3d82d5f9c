"""The budget documents' own tables at a peildatum: Per instrument, Mutatieoverzicht and Verloop verplichtingen."""
from __future__ import annotations

from dataclasses import dataclass
from datetime import date
from decimal import Decimal

import pandas as pd
from sqlalchemy import and_, case, func, literal, select, union_all

from budget.ledger import _year_of
from budget.models import (
    FUNDING_KINDS,
    MUTATION_KINDS,
    MUTATION_MOMENTS,
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

VERLOOP_COLUMNS = ["Stand 1 januari", "Aangegaan", "Betaald", "Negatieve bijstellingen", "Positieve bijstellingen",
                   "Stand einde periode", "Voorschotten 1 januari", "Voorschotten verstrekt",
                   "Openstaande voorschotten"]
#: Verloop columns as the state stores them (the stand einde and open advances are derived).
_VERLOOP_KEYS = ("opening_committed", "opening_paid", "entered", "paid", "negative", "positive",
                 "opening_advances", "advances")


def _s(amount) -> str:
    return str(amount if amount is not None else ZERO)


def _d(text) -> Decimal:
    return Decimal(text) if text is not None else ZERO


def _money(column):
    return func.coalesce(func.sum(column), 0).cast(Money)


# --- Collecting: SQL aggregates, a fixed number of statements whatever the number of projects ----------

def collect(session, programme: Programme, peildatum: date, years: list[int]) -> dict:
    """The programme-wide tables as JSON-able state: instruments and budget moments for every year."""
    return {"instruments": _instruments(session, programme.id, peildatum, years),
            "moments": _moments(session, programme.id, peildatum, years)}


def _instruments(session, programme_id: int, peildatum: date, years: list[int]) -> dict:
    """{year: {instrument or 'apparaat': {'committed', 'paid'}}}: as the Samenvatting counts them, per instrument."""
    first, last = min(years), max(years)
    in_programme = Project.programme_id == programme_id
    through = min(peildatum, date(last, 12, 31))

    def part(key, measure, year, amount):
        # Each part sums per key and year itself, as the figures statement does: the union stays small.
        label, keys = (literal(key), (year,)) if isinstance(key, str) else (key, (key, year))
        return select(label.label("key"), literal(measure).label("measure"), year.label("year"),
                      func.sum(amount).label("amount")).group_by(*keys)

    parts = [
        part(Project.instrument, "committed", CommitmentSchedule.year, CommitmentSchedule.amount)
        .select_from(CommitmentSchedule)
        .join(Commitment, CommitmentSchedule.commitment_id == Commitment.id)
        .join(Project, Commitment.project_id == Project.id)
        .where(in_programme, Commitment.signed_date <= peildatum, CommitmentSchedule.year.between(first, last)),
        part(Project.instrument, "committed", CommitmentAdjustment.year, CommitmentAdjustment.amount)
        .select_from(CommitmentAdjustment)
        .join(Commitment, CommitmentAdjustment.commitment_id == Commitment.id)
        .join(Project, Commitment.project_id == Project.id)
        .where(in_programme, CommitmentAdjustment.date <= peildatum, CommitmentAdjustment.year.between(first, last)),
        part(Project.instrument, "paid", _year_of(Payment.date), Payment.amount)
        .select_from(Payment)
        .join(Commitment, Payment.commitment_id == Commitment.id)
        .join(Project, Commitment.project_id == Project.id)
        .where(in_programme, Payment.date >= date(first, 1, 1), Payment.date <= through),
        part(STAFFING, "committed", StaffingReservation.year, StaffingChange.amount)
        .select_from(StaffingChange)
        .join(StaffingReservation, StaffingChange.reservation_id == StaffingReservation.id)
        .where(StaffingReservation.programme_id == programme_id, StaffingChange.valid_from <= peildatum,
               StaffingReservation.year.between(first, last)),
        part(STAFFING, "paid", _year_of(StaffingCost.date), StaffingCost.amount)
        .select_from(StaffingCost)
        .join(StaffingReservation, StaffingCost.reservation_id == StaffingReservation.id)
        .where(StaffingReservation.programme_id == programme_id, StaffingCost.date >= date(first, 1, 1),
               StaffingCost.date <= through),
    ]
    m = union_all(*parts).subquery("m")
    rows = session.execute(select(m.c.key, m.c.measure, m.c.year, _money(m.c.amount))
                           .group_by(m.c.key, m.c.measure, m.c.year))
    result: dict = {}
    for key, measure, year, amount in rows:
        result.setdefault(str(year), {}).setdefault(key, {})[measure] = _s(amount)
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


def collect_year(session, programme: Programme, year: int, peildatum: date) -> dict:
    """The verloop of the open commitments in `year` per category, and the open advances, t/m the peildatum."""
    start, through = period(year, peildatum)
    in_programme = Project.programme_id == programme.id

    def part(entry, amount, measures: dict, *conds):
        # Summed per category inside each part, one column per measure: the CASE sits inside the sum,
        # never in a GROUP BY (PostgreSQL would not see two bound copies of one CASE as the same expression).
        columns = {k: literal(0) for k in _VERLOOP_KEYS}
        columns.update({k: func.sum(case((when, amount), else_=0)) for k, when in measures.items()})
        return (select(Project.category.label("category"), *(c.label(k) for k, c in columns.items()))
                .select_from(entry)
                .join(Commitment, entry.commitment_id == Commitment.id)
                .join(Project, Commitment.project_id == Project.id)
                .where(in_programme, *conds)
                .group_by(Project.category))

    # Everything dated t/m the last day counted; what is dated before 1 January makes the opening stand.
    # The commitments count by their kasritme rows here; the independent stand (_open_at) by their totals.
    signed, adjusted, paid = Commitment.signed_date, CommitmentAdjustment.date, Payment.date
    parts = [
        part(CommitmentSchedule, CommitmentSchedule.amount,
             {"opening_committed": signed < start, "entered": signed >= start}, signed <= through),
        part(CommitmentAdjustment, CommitmentAdjustment.amount,
             {"opening_committed": adjusted < start,
              "negative": and_(adjusted >= start, CommitmentAdjustment.amount < 0),
              "positive": and_(adjusted >= start, CommitmentAdjustment.amount > 0)}, adjusted <= through),
        part(Payment, Payment.amount, {"opening_paid": paid < start, "paid": paid >= start}, paid <= through),
        part(Payment, Payment.amount, {"opening_advances": paid < start, "advances": paid >= start},
             Payment.kind == "voorschot", paid <= through),
    ]
    m = union_all(*parts).subquery("m")
    rows = session.execute(select(m.c.category, *(_money(m.c[k]) for k in _VERLOOP_KEYS)).group_by(m.c.category))
    categories = {category: {k: _s(v) for k, v in zip(_VERLOOP_KEYS, values)} for category, *values in rows}
    return {"from": start.isoformat(), "through": through.isoformat(), "categories": categories,
            **_open_at(session, programme.id, through)}


def _open_at(session, programme_id: int, day: date) -> dict:
    """Open commitments and advances at `day`, straight from the commitments' totals: the check on the verloop."""
    of_programme = and_(Commitment.project_id == Project.id, Project.programme_id == programme_id)
    total = (select(_money(Commitment.total)).join(Project, of_programme)
             .where(Commitment.signed_date <= day).scalar_subquery())
    adjusted = (select(_money(CommitmentAdjustment.amount))
                .join(Commitment, CommitmentAdjustment.commitment_id == Commitment.id).join(Project, of_programme)
                .where(CommitmentAdjustment.date <= day).scalar_subquery())
    paid = (select(_money(Payment.amount)).join(Commitment, Payment.commitment_id == Commitment.id)
            .join(Project, of_programme).where(Payment.date <= day).scalar_subquery())
    advances = (select(_money(Payment.amount)).join(Commitment, Payment.commitment_id == Commitment.id)
                .join(Project, of_programme).where(Payment.date <= day, Payment.kind == "voorschot")
                .scalar_subquery())
    t, a, p, v = session.execute(select(total, adjusted, paid, advances)).one()
    return {"open": _s(t + a - p), "open_advances": _s(v)}


# --- From state to DataFrames ---------------------------------------------------------------------

@dataclass
class BudgetDocs:
    """The three tables of one report and what their Controles rows compare them with."""

    instruments: pd.DataFrame   # index (Omschrijving, Instrument), columns: programme years
    moments: pd.DataFrame       # MOMENT_LEAD + years + MOMENT_TAIL
    stand_rows: list[int]       # positions of the stand rows in `moments` (bold; the last is Beschikbaar budget)
    verloop: pd.DataFrame       # index: categories + Totaal, columns: VERLOOP_COLUMNS
    start: date
    through: date
    open_end: Decimal           # open commitments at `through`, from the commitments' totals
    open_advances_end: Decimal  # every advance paid t/m `through` (there is no settlement yet)


def frames(state: dict, year: int) -> BudgetDocs | None:
    """The tables for `year`; None for a state frozen before they existed (never recomputed from live data)."""
    docs, detail = state.get("budgetdocs"), state["detail"][str(year)]
    if docs is None or "verloop" not in detail:
        return None
    years = [int(y) for y in state["years"]]
    moments, stands = _moment_frame(docs["moments"], years)
    verloop = detail["verloop"]
    return BudgetDocs(instruments=_instrument_frame(docs["instruments"], years), moments=moments,
                      stand_rows=stands, verloop=_verloop_frame(verloop["categories"]),
                      start=date.fromisoformat(verloop["from"]), through=date.fromisoformat(verloop["through"]),
                      open_end=_d(verloop["open"]), open_advances_end=_d(verloop["open_advances"]))


def _instrument_frame(raw: dict, years: list[int]) -> pd.DataFrame:
    keys = list(RBV_INSTRUMENTS) + [STAFFING]
    labels = {**RBV_INSTRUMENTS, STAFFING: STAFFING_ROW}
    index, rows = [], []
    for measure, measure_label in INSTRUMENT_MEASURES.items():
        block = [[_d(raw.get(str(y), {}).get(k, {}).get(measure)) for y in years] for k in keys]
        index += [(measure_label, labels[k]) for k in keys] + [(measure_label, TOTAL)]
        rows += block + [[sum((r[i] for r in block), ZERO) for i in range(len(years))]]
    return pd.DataFrame(rows, index=pd.MultiIndex.from_tuples(index, names=["Omschrijving", "Instrument"]),
                        columns=years, dtype=object)


def _moment_frame(raw: dict, years: list[int]) -> tuple[pd.DataFrame, list[int]]:
    keys = [str(y) for y in years]
    rows, stands = [], []
    running = dict.fromkeys(keys, ZERO)

    def add(label, kind, day, amounts, reference):
        for k in keys:
            running[k] += _d(amounts.get(k))
        # A mutation row shows only the years it touches; the stand rows show every year.
        rows.append([label, kind, day] + [_d(amounts[k]) if k in amounts else None for k in keys] + [reference])

    for source in raw["sources"]:
        add(f"Financieringsbron: {source['name']}", FUNDING_KINDS.get(source["kind"], source["kind"]), None,
            source["amounts"], source["reference"])
    by_moment: dict = {}
    for m in raw["mutations"]:
        by_moment.setdefault(m["moment"], []).append(m)
    for moment, stand in MOMENT_STANDS:
        for m in by_moment.get(moment, []):
            add(m["reason"], MUTATION_KINDS.get(m["kind"], m["kind"]), date.fromisoformat(m["date"]), m["amounts"],
                m["reference"])
        stands.append(len(rows))
        rows.append([stand, None, None] + [running[k] for k in keys] + [None])
    return pd.DataFrame(rows, columns=MOMENT_LEAD + years + MOMENT_TAIL, dtype=object), stands


def _verloop_frame(raw: dict) -> pd.DataFrame:
    rows = []
    for code in CATEGORIES:
        v = {k: _d(raw.get(code, {}).get(k)) for k in _VERLOOP_KEYS}
        opening = v["opening_committed"] - v["opening_paid"]
        negative = -v["negative"]  # shown as a positive amount taken off
        end = opening + v["entered"] - v["paid"] - negative + v["positive"]
        rows.append([opening, v["entered"], v["paid"], negative, v["positive"], end,
                     v["opening_advances"], v["advances"], v["opening_advances"] + v["advances"]])
    rows.append([sum((r[i] for r in rows), ZERO) for i in range(len(VERLOOP_COLUMNS))])
    return pd.DataFrame(rows, index=pd.Index(list(CATEGORIES.values()) + [TOTAL], name="Categorie"),
                        columns=VERLOOP_COLUMNS, dtype=object)


def stand_label(docs: BudgetDocs) -> str:
    """What 'Stand einde periode' is, in words for the sheet's note."""
    if docs.through < docs.start:
        return (f"het jaar {docs.start.year} was op de peildatum ({docs.through:%d-%m-%Y}) nog niet begonnen: "
                "de stand 1 januari is de stand op de peildatum")
    end = "31-12" if (docs.through.month, docs.through.day) == (12, 31) else "peildatum"
    return f"periode {docs.start:%d-%m-%Y} t/m {docs.through:%d-%m-%Y} ({end})"
