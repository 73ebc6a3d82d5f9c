"""Import step 3, the budget: funding, mutations and kasschuiven, staffing and its costs, through the services."""
from __future__ import annotations

from collections import Counter, defaultdict
from decimal import Decimal

from sqlalchemy import func, select

from budget import services as budget
from budget.models import (
    BudgetMutation,
    FundingSource,
    StaffingCost,
    StaffingReservation,
)
from core.audit import diff, record, snapshot
from core.users import FINANCE_ROLES, require_role
from imports.apply import Missing, Op
from imports.contract import CHANGED, NEW, UNCHANGED
from imports.resolve import norm


class BudgetSteps:
    """The budget part of the apply step (imports.services._Import)."""

    def _budget_ops(self) -> tuple[list[Op], list[Op], list[Op]]:
        raise_ops, shift_ops, lower_ops = [], [], []
        columns = {"name": "Bron", "kind": "Soort", "reference": "Kenmerk", "year": "Jaar", "amount": "Bedrag"}
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
            if source is None:
                def create(rows=rows, code=code):
                    budget.add_funding_source(self.session, self.actor, self._programme(code), rows[0]["source"],
                                              rows[0]["kind"], rows[0]["reference"],
                                              {r["year"]: r["amount"] for r in rows})
                raise_ops.append(Op("Budget", first["row"], create, columns, rows=len(rows)))
                self.count("Budget", NEW, len(rows))
                continue
            source_changed = (source.kind, source.reference) != (first["kind"], first["reference"])
            if source_changed:
                def change(source=source, first=first):
                    require_role(self.actor, *FINANCE_ROLES)
                    before = snapshot(source)
                    source.kind, source.reference = first["kind"], first["reference"]
                    record(self.session, self.actor, "update", source, diff(before, snapshot(source)))
                raise_ops.append(Op("Budget", first["row"], change, columns, rows=0))
            existing = {a.year: a.amount for a in source.allocations}
            for r in rows:
                old = existing.get(r["year"])
                if old == r["amount"]:
                    self.count("Budget", CHANGED if (source_changed and r is first) else UNCHANGED)
                    continue

                def set_amount(source=source, r=r):
                    budget.set_allocation(self.session, self.actor, source, r["year"], r["amount"])
                op = Op("Budget", r["row"], set_amount, columns)
                (lower_ops if old is not None and r["amount"] < old else raise_ops).append(op)
                self.count("Budget", NEW if old is None else CHANGED)

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

        staffing_columns = {"year": "Jaar", "fte": "FTE", "amount": "Bedrag"}
        for r in self.rows["Ambtelijke ondersteuning"]:
            programme = self.db_programmes.get(r["programme"])
            res = programme and self.session.scalar(select(StaffingReservation).where(
                StaffingReservation.programme_id == programme.id, StaffingReservation.year == r["year"]))
            if res and (res.fte, res.amount) == (r["fte"], r["amount"]):
                self.count("Ambtelijke ondersteuning", UNCHANGED)
                continue

            def stage(r=r):
                budget.set_staffing_reservation(self.session, self.actor, self._programme(r["programme"]),
                                                year=r["year"], fte=r["fte"], amount=r["amount"])
            old = res.amount if res else Decimal("0.00")
            (raise_ops if r["amount"] <= old else lower_ops).append(
                Op("Ambtelijke ondersteuning", r["row"], stage, staffing_columns))
            self.count("Ambtelijke ondersteuning", CHANGED if res else NEW)
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
