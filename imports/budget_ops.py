"""Import step 3, the budget: funding, mutations and kasschuiven, staffing and its costs, through the services."""
from __future__ import annotations

from collections import Counter, defaultdict
from datetime import date
from decimal import Decimal

from sqlalchemy import func, select

from budget import services as budget
from budget.models import (
    AllocationChange,
    BudgetAllocation,
    BudgetMutation,
    FundingSource,
    StaffingCost,
    StaffingReservation,
)
from imports.apply import Missing, Op
from imports.cells import valid_from_text
from imports.contract import CHANGED, NEW, UNCHANGED
from imports.resolve import norm


def _held(changes: list[tuple[date, tuple]], day: date) -> tuple | None:
    """The values an allocation or reservation holds at `day`: its changes dated on or before it (None: none)."""
    held = None
    for valid_from, values in changes:
        if valid_from <= day:
            held = values if held is None else tuple(h + v for h, v in zip(held, values))
    return held


def plan_dated(rows: list[dict], changes: list[tuple[date, tuple]], level, today: date):
    """Which rows of one allocation (or reservation) change it, in date order: (writes, refused, unchanged).

    A row says "from Datum on (empty: today) the values are these". It changes nothing when the values
    held at its Datum already are these, so importing an export again changes nothing. Otherwise it is
    a change dated Datum. One dated before the latest change is refused (with that date), because it
    would move every later amount too; so is one on the latest change's own past day, which is what an
    export's row with a new amount but the old Datum would do. A second change today is a correction.
    The budget page can still backdate a change on purpose.
    """
    staged = list(changes)
    last = max((d for d, _values in staged), default=None)
    writes, refused, unchanged = [], [], []
    for r in sorted(rows, key=lambda r: r["date"] or today):
        day = r["date"] or today
        held = _held(staged, day)
        if held == level(r):
            unchanged.append(r)
        elif last is not None and (day < last or day == last < today):
            refused.append((r, last))
        else:
            staged.append((day, tuple(n - (h or 0) for n, h in zip(level(r), held or (0,) * len(level(r))))))
            last = day
            writes.append((r, day))
    return writes, refused, unchanged


def _by_year(rows: list[dict]) -> dict[int, list[dict]]:
    years: dict[int, list[dict]] = defaultdict(list)
    for r in rows:
        years[r["year"]].append(r)
    return years


class BudgetSteps:
    """The budget part of the apply step (imports.services._Import)."""

    def _refuse_backdated(self, sheet: str, refused, what) -> None:
        for r, last in refused:
            self.error(sheet, r["row"], "Datum", f"{what(r)} is al gewijzigd per {valid_from_text(last)}; een nieuw "
                                                 "bedrag geldt vanaf een latere datum. Vul bij Datum een latere "
                                                 "datum in (leeg: vandaag).")

    def _budget_ops(self) -> tuple[list[Op], list[Op], list[Op]]:
        raise_ops, shift_ops, lower_ops = [], [], []
        columns = {"name": "Bron", "kind": "Soort", "reference": "Kenmerk", "year": "Jaar", "amount": "Bedrag",
                   "valid_from": "Datum"}
        today, level = date.today(), lambda r: (r["amount"],)
        for (code, key), rows in self.sources.items():
            programme = self.db_programmes.get(code)
            source = None
            if programme is not None:
                source = self.session.scalar(select(FundingSource).where(
                    FundingSource.programme_id == programme.id, func.lower(FundingSource.name) == key))
                if source is None:  # names differing only in spacing still mean the same source
                    source = next((s for s in self.session.scalars(select(FundingSource).where(
                        FundingSource.programme_id == programme.id)) if norm(s.name) == key), None)
            first = rows[0]
            what = lambda r: f"Het bedrag van bron '{r['source']}' in {r['year']}"  # noqa: E731
            if source is None:
                plans = {y: plan_dated(year_rows, [], level, today) for y, year_rows in _by_year(rows).items()}
                for _writes, refused, _unchanged in plans.values():
                    self._refuse_backdated("Budget", refused, what)

                def create(rows=rows, code=code, plans=plans):
                    source = budget.add_funding_source(self.session, self.actor, self._programme(code),
                                                       rows[0]["source"], rows[0]["kind"], rows[0]["reference"])
                    for year, (writes, _refused, _unchanged) in sorted(plans.items()):
                        for r, day in writes:
                            budget.set_allocation(self.session, self.actor, source, year, r["amount"],
                                                  valid_from=day)
                raise_ops.append(Op("Budget", first["row"], create, columns, rows=len(rows)))
                for writes, _refused, unchanged in plans.values():
                    self.count("Budget", NEW, len(writes))
                    self.count("Budget", UNCHANGED, len(unchanged))
                continue
            source_changed = (source.kind, source.reference) != (first["kind"], first["reference"])
            if source_changed:
                def change(source=source, first=first):
                    budget.update_funding_source(self.session, self.actor, source, name=source.name,
                                                 kind=first["kind"], reference=first["reference"])
                raise_ops.append(Op("Budget", first["row"], change, columns, rows=0))
            existing = {a.year: a.amount for a in source.allocations}
            changes: dict[int, list] = defaultdict(list)
            for year, valid_from, amount in self.session.execute(
                    select(BudgetAllocation.year, AllocationChange.valid_from, AllocationChange.amount)
                    .join(AllocationChange, AllocationChange.allocation_id == BudgetAllocation.id)
                    .where(BudgetAllocation.source_id == source.id)
                    .order_by(AllocationChange.valid_from, AllocationChange.id)):
                changes[year].append((valid_from, (amount,)))
            for year, year_rows in _by_year(rows).items():
                writes, refused, unchanged = plan_dated(year_rows, changes[year], level, today)
                self._refuse_backdated("Budget", refused, what)
                for r in unchanged:
                    self.count("Budget", CHANGED if (source_changed and r is first) else UNCHANGED)
                if not writes:
                    continue
                old = existing.get(year)

                # One operation per year, its changes in date order: each is the amount from its day on.
                # A retry (after a budget stop) skips what was written, as set_allocation leaves an equal amount.
                def set_amounts(source=source, year=year, writes=writes):
                    for r, day in writes:
                        budget.set_allocation(self.session, self.actor, source, year, r["amount"], valid_from=day)
                op = Op("Budget", writes[0][0]["row"], set_amounts, columns, rows=len(writes))
                (lower_ops if old is not None and writes[-1][0]["amount"] < old else raise_ops).append(op)
                self.count("Budget", NEW if old is None else CHANGED)
                self.count("Budget", CHANGED, len(writes) - 1)

        mutation_columns = {"year": "Jaar", "amount": "Bedrag", "kind": "Soort", "moment": "Moment",
                            "reason": "Toelichting", "reference": "Kenmerk", "date": "Datum", "amounts": "Bedrag"}
        existing_mutations: dict[str, Counter] = {}
        existing_groups: dict[str, Counter] = {}
        for code, programme in self.db_programmes.items():
            singles, groups = Counter(), defaultdict(list)
            for m in self.session.scalars(select(BudgetMutation).where(BudgetMutation.programme_id == programme.id)):
                if m.kasschuif_group:
                    groups[m.kasschuif_group].append(m)
                else:
                    singles[(m.year, m.amount, m.kind, m.moment, m.reason, m.reference, m.date)] += 1
            existing_mutations[code] = singles
            existing_groups[code] = Counter(
                (ms[0].date, ms[0].moment, ms[0].reference, frozenset((m.year, m.amount, m.reason) for m in ms))
                for ms in groups.values())
        for r in self.rows["Mutaties"]:
            if r["kind"] == "kasschuif":
                continue
            key = (r["year"], r["amount"], r["kind"], r["moment"], r["reason"], r["reference"], r["date"])
            known = existing_mutations.get(r["programme"], Counter())
            if known[key] > 0:
                known[key] -= 1
                self.count("Mutaties", UNCHANGED)
                continue

            def add(r=r):
                budget.add_mutation(self.session, self.actor, self._programme(r["programme"]), year=r["year"],
                                    amount=r["amount"], kind=r["kind"], moment=r["moment"], reason=r["reason"],
                                    mutation_date=r["date"], reference=r["reference"])
            (raise_ops if r["amount"] > 0 else lower_ops).append(Op("Mutaties", r["row"], add, mutation_columns))
            self.count("Mutaties", NEW)
        for (code, _group), rows in self.kasschuiven.items():
            first = rows[0]
            key = (first["date"], first["moment"], first["reference"],
                   frozenset((r["year"], r["amount"], r["reason"]) for r in rows))
            known = existing_groups.get(code, Counter())
            if known[key] > 0:
                known[key] -= 1
                self.count("Mutaties", UNCHANGED, len(rows))
                continue

            def shift(rows=rows, code=code):
                f = rows[0]
                budget.add_kasschuif(self.session, self.actor, self._programme(code),
                                     amounts={r["year"]: r["amount"] for r in rows}, moment=f["moment"],
                                     reason=f["reason"], reasons={r["year"]: r["reason"] for r in rows},
                                     mutation_date=f["date"], reference=f["reference"])
            shift_ops.append(Op("Mutaties", first["row"], shift, mutation_columns, rows=len(rows)))
            self.count("Mutaties", NEW, len(rows))

        staffing_columns = {"year": "Jaar", "fte": "FTE", "amount": "Bedrag", "valid_from": "Datum"}
        staffing_level = lambda r: (r["fte"], r["amount"])  # noqa: E731
        groups: dict[tuple, list[dict]] = defaultdict(list)
        for r in self.rows["Ambtelijke ondersteuning"]:
            groups[(r["programme"], r["year"])].append(r)
        for (code, year), rows in groups.items():
            programme = self.db_programmes.get(code)
            res = programme and self.session.scalar(select(StaffingReservation).where(
                StaffingReservation.programme_id == programme.id, StaffingReservation.year == year))
            changes = [(c.valid_from, (c.fte, c.amount)) for c in res.changes] if res else []
            writes, refused, unchanged = plan_dated(rows, changes, staffing_level, today)
            self._refuse_backdated("Ambtelijke ondersteuning", refused,
                                   lambda r: f"De ambtelijke ondersteuning {r['year']}")
            self.count("Ambtelijke ondersteuning", UNCHANGED, len(unchanged))
            if not writes:
                continue

            def stage(code=code, writes=writes):
                for r, day in writes:
                    budget.set_staffing_reservation(self.session, self.actor, self._programme(code), year=r["year"],
                                                    fte=r["fte"], amount=r["amount"], valid_from=day)
            old = res.amount if res else Decimal("0.00")
            (raise_ops if writes[-1][0]["amount"] <= old else lower_ops).append(
                Op("Ambtelijke ondersteuning", writes[0][0]["row"], stage, staffing_columns, rows=len(writes)))
            self.count("Ambtelijke ondersteuning", CHANGED if res else NEW)
            self.count("Ambtelijke ondersteuning", CHANGED, len(writes) - 1)
        return raise_ops, shift_ops, lower_ops

    def _reservation(self, code: str, year: int) -> StaffingReservation:
        res = self.session.scalar(select(StaffingReservation).where(
            StaffingReservation.programme_id == self._programme(code).id, StaffingReservation.year == year))
        if res is None:
            raise Missing(f"Er is geen ambtelijke ondersteuning voor {year}.", field="cost_date")
        return res

    def _staffing_cost_ops(self) -> list[Op]:
        columns = {"cost_date": "Datum", "amount": "Bedrag", "description": "Omschrijving", "reference": "Kenmerk"}
        by_ref: dict[tuple, StaffingCost] = {}
        loose: dict[str, Counter] = {}
        for code, programme in self.db_programmes.items():
            costs = self.session.scalars(select(StaffingCost).join(StaffingReservation).where(
                StaffingReservation.programme_id == programme.id))
            loose[code] = Counter()
            for cost in costs:
                if cost.reference:
                    by_ref[(code, cost.reference)] = cost
                else:
                    loose[code][(cost.date, cost.amount, cost.description)] += 1
        ops = []
        for r in sorted(self.rows["Personeelskosten"], key=lambda r: (r["date"], -r["amount"])):
            if r["reference"]:
                cost = by_ref.get((r["programme"], r["reference"]))
                if cost is not None:
                    if (cost.date, cost.amount, cost.description) == (r["date"], r["amount"], r["description"]):
                        self.count("Personeelskosten", UNCHANGED)
                    else:
                        self.error("Personeelskosten", r["row"], "Kenmerk",
                                   f"Personeelskosten met kenmerk {r['reference']} zijn al geboekt met andere "
                                   "gegevens; geboekte kosten wijzigen niet: boek een correctie met een eigen kenmerk.")
                    continue
            else:
                known = loose.get(r["programme"], Counter())
                key = (r["date"], r["amount"], r["description"])
                if known[key] > 0:
                    known[key] -= 1
                    self.count("Personeelskosten", UNCHANGED)
                    continue

            def add(r=r):
                budget.add_staffing_cost(self.session, self.actor, self._reservation(r["programme"], r["date"].year),
                                         cost_date=r["date"], amount=r["amount"], description=r["description"],
                                         reference=r["reference"])
            ops.append(Op("Personeelskosten", r["row"], add, columns))
            self.count("Personeelskosten", NEW)
        return ops
