"""Import step 4: commitments, adjustments, payments and settlements replayed through budget.rules, written in bulk."""
from __future__ import annotations

import functools
from collections import Counter, defaultdict
from dataclasses import dataclass, field
from datetime import date
from decimal import Decimal

from sqlalchemy import func, select

from approvals.services import pending_holds
from budget import rules, settlement_rules
from budget.ledger import programme_figures, programme_years
from budget.models import (
    Commitment,
    CommitmentAdjustment,
    CommitmentSchedule,
    CommitmentSettlement,
    Payment,
)
from budget.rules import CommitmentState
from budget.services.periods import closed_through
from core import bulk, validate
from core.audit import record_many
from core.money import ZERO, Money
from core.users import FINANCE_ROLES, require_role
from imports.apply import Missing, Op
from imports.contract import NEW, UNCHANGED
from projects.models import (
    Programme,
)


@dataclass
class Booked:
    """A commitment while the file's money rows are replayed: its rule state (budget.rules) and where it is written."""

    id: int | None
    programme: Programme
    state: CommitmentState
    #: The amount it was signed for (a new commitment's total before adjustments).
    signed: Decimal = Decimal("0.00")
    #: The day it was signed: no payment on it is dated earlier.
    signed_day: date | None = None
    #: Its vaststelling's date and amount once settled (settlement_rules.not_settled, settlement_rules.pay_settled).
    settled_on: date | None = None
    settled_amount: Decimal | None = None
    #: (date, kind, signed amount) of every payment, as settlement_rules.settle reads them; kept only for a
    #: commitment the file settles (None otherwise).
    payments: list[tuple] | None = field(default=None, repr=False)
    #: How many of the file's rows on it are staged (a settlement of the file waits for those before it).
    staged: int = 0

    @property
    def reference(self) -> str:
        return self.state.reference


class MoneySteps:
    """The money part of the apply step (imports.services._Import)."""

    def _book_money(self) -> None:
        """Commitments, adjustments, payments and settlements replayed by date, so each step met its rules then too.

        The rules are budget.rules' (new_commitment, adjust, pay, settle and what a settlement
        closes: not_settled, pay_settled), the same the services call,
        here on each commitment's running CommitmentState instead of a query per row; the budget
        stop is checked once on the whole file's state (_final_budget_check). What passes is
        written in bulk, each object with the audit entry the service would have written.
        """
        # staged_money: ("commitment"|"adjustment"|"payment"|"settlement", staged), in order
        self.booked, self.staged_money = {}, []
        events = self._money_events()
        self.settling = {op.ref for op in events if op.sheet == "Vaststellingen"}
        self._load_booked({op.ref for op in events if op.ref in self.db_commitments})
        self._run(events, report=False)
        self._write_money()

    def _money_events(self) -> list[Op]:
        events: list[tuple] = []  # (date, rank, row, op)
        columns = {"reference": "Kenmerk", "signed_date": "Datum", "total": "Bedrag", "schedule": "Jaar"}
        for ref, rows in self.commitment_rows.items():
            first = rows[0]
            schedule = {r["year"]: r["amount"] for r in rows if r["amount"] != 0}
            existing = self.db_commitments.get(ref)
            if existing is not None:
                same = (existing.project.code == first["project"] and existing.signed_date == first["date"]
                        and {s.year: s.amount for s in existing.schedule} == schedule)
                if same:
                    self.count("Verplichtingen", UNCHANGED, len(rows))
                else:
                    self.error("Verplichtingen", first["row"], "Kenmerk",
                               f"Verplichting {ref} bestaat al met een ander project, datum of kasritme. Een "
                               "verplichting wordt nooit stil gewijzigd: boek de wijziging als bijstelling "
                               "(blad Bijstellingen, met een reden).")
                continue
            events.append((first["date"], 0, first["row"], Op("Verplichtingen", first["row"],
                                                                functools.partial(self._stage_commitment, ref, rows),
                                                                columns, rows=len(rows), ref=ref)))
            self.count("Verplichtingen", NEW, len(rows))

        adj_columns = {"adjustment_date": "Datum", "changes": "Bedrag", "reason": "Reden", "reference": "Kenmerk",
                       None: "Kenmerk verplichting"}
        known_adj: dict[str, Counter] = defaultdict(Counter)
        for ref in {r["commitment"] for r in self.rows["Bijstellingen"]}:
            if ref in self.db_commitments:
                for a in self.db_commitments[ref].adjustments:
                    if a.settlement_id is None:  # a settlement's own are on the sheet Vaststellingen
                        known_adj[ref][(a.date, a.year, a.amount, a.reason, a.reference)] += 1
        groups: dict[tuple, list[dict]] = defaultdict(list)
        for r in self.rows["Bijstellingen"]:
            key = (r["date"], r["year"], r["amount"], r["reason"], r["reference"])
            if known_adj[r["commitment"]][key] > 0:
                known_adj[r["commitment"]][key] -= 1
                self.count("Bijstellingen", UNCHANGED)
                continue
            group = groups[(r["commitment"], r["date"], r["reason"], r["reference"])]
            if any(g["year"] == r["year"] for g in group):
                self.error("Bijstellingen", r["row"], "Jaar", f"Jaar {r['year']} staat twee keer in dezelfde "
                                                              "bijstelling (zelfde verplichting, datum en reden).")
                continue
            group.append(r)
            self.count("Bijstellingen", NEW)
        for (ref, day, reason, reference), rows in groups.items():
            up = sum((r["amount"] for r in rows), Decimal("0.00")) > 0
            op = Op("Bijstellingen", rows[0]["row"], functools.partial(self._stage_adjustment, ref, day, reason,
                                                                        reference, rows),
                     adj_columns, rows=len(rows), ref=ref)
            events.append((day, 1 if up else 4, rows[0]["row"], op))

        pay_columns = {"payment_date": "Datum", "amount": "Bedrag", "kind": "Soort", "reference": "Kenmerk"}
        refs = [r["reference"] for r in self.rows["Betalingen"] if r["reference"]]
        by_ref: dict[str, tuple] = {}
        for i in range(0, len(refs), 500):
            for p in self.session.execute(select(Payment.reference, Commitment.reference, Payment.date,
                                                 Payment.amount, Payment.kind).join(Commitment)
                                          .where(Payment.reference.in_(refs[i:i + 500]))):
                by_ref[p[0]] = tuple(p[1:])
        loose = self._loose_payments({r["commitment"] for r in self.rows["Betalingen"] if not r["reference"]})
        for r in self.rows["Betalingen"]:
            if r["reference"] and r["reference"] in by_ref:
                if by_ref[r["reference"]] == (r["commitment"], r["date"], r["amount"], r["kind"]):
                    self.count("Betalingen", UNCHANGED)
                else:
                    self.error("Betalingen", r["row"], "Kenmerk",
                               f"Betaling {r['reference']} is al geboekt met andere gegevens; een betaling wijzigt "
                               "niet: boek een terugbetaling of een nieuwe betaling met een eigen kenmerk.")
                continue
            if not r["reference"]:
                known = loose.get(r["commitment"])
                key = (r["date"], r["amount"], r["kind"])
                if known and known[key] > 0:
                    known[key] -= 1
                    self.count("Betalingen", UNCHANGED)
                    continue
            op = Op("Betalingen", r["row"], functools.partial(self._stage_payment, r), pay_columns,
                     ref=r["commitment"], after_settlement=r["kind"] in settlement_rules.AFTER_SETTLEMENT)
            events.append((r["date"], 2 if r["amount"] > 0 else 3, r["row"], op))
            self.count("Betalingen", NEW)
        events.extend(self._settlement_events())
        return [e[3] for e in self._settlement_order(events)]

    def _loose_payments(self, refs: set[str]) -> dict[str, Counter]:
        """Payments without a kenmerk on existing commitments, by (date, amount, kind): in one query per 500."""
        ids = {self.db_commitments[ref].id: ref for ref in refs if ref in self.db_commitments}
        loose: dict[str, Counter] = defaultdict(Counter)
        id_list = sorted(ids)
        for i in range(0, len(id_list), 500):
            for cid, day, amount, kind in self.session.execute(
                    select(Payment.commitment_id, Payment.date, Payment.amount, Payment.kind)
                    .where(Payment.commitment_id.in_(id_list[i:i + 500]), Payment.reference.is_(None))):
                loose[ids[cid]][(day, amount, kind)] += 1
        return loose

    def _load_booked(self, refs: set[str]) -> None:
        """Current totals of the existing commitments that new rows touch, in a few grouped queries.

        Of those the file settles every payment too: settlement_rules.settle reads them one by one.
        """
        by_id = {self.db_commitments[ref].id: self.db_commitments[ref] for ref in refs}
        payments: dict[int, list[tuple]] = {c.id: [] for c in by_id.values() if c.reference in self.settling}
        id_list = sorted(by_id)
        extra: dict[int, Decimal] = defaultdict(lambda: Decimal("0.00"))
        paid: dict[int, Decimal] = defaultdict(lambda: Decimal("0.00"))
        years: dict[int, dict[int, Decimal]] = defaultdict(dict)
        for i in range(0, len(id_list), 500):
            chunk = id_list[i:i + 500]
            for cid, total in self.session.execute(
                    select(Payment.commitment_id, func.sum(Payment.amount).cast(Money))
                    .where(Payment.commitment_id.in_(chunk)).group_by(Payment.commitment_id)):
                paid[cid] = total
            for cid, year, amount in self.session.execute(
                    select(CommitmentAdjustment.commitment_id, CommitmentAdjustment.year, CommitmentAdjustment.amount)
                    .where(CommitmentAdjustment.commitment_id.in_(chunk))):
                extra[cid] += amount
                years[cid][year] = years[cid].get(year, Decimal("0.00")) + amount
        settle_ids = sorted(payments)
        for i in range(0, len(settle_ids), 500):
            for cid, day, kind, amount in self.session.execute(
                    select(Payment.commitment_id, Payment.date, Payment.kind, Payment.amount)
                    .where(Payment.commitment_id.in_(settle_ids[i:i + 500])).order_by(Payment.date, Payment.id)):
                payments[cid].append((day, kind, amount))
        for cid, c in by_id.items():
            current = {s.year: s.amount for s in c.schedule}
            for year, amount in years[cid].items():
                current[year] = current.get(year, Decimal("0.00")) + amount
            state = rules.CommitmentState(c.total + extra[cid], paid[cid], current, c.reference)
            settled = c.settlement
            self.booked[c.reference] = Booked(c.id, self._programme(c.project.programme.code), state,
                                              signed_day=c.signed_date, payments=payments.get(cid),
                                              settled_on=settled.date if settled else None,
                                              settled_amount=settled.amount if settled else None)

    def _booked_state(self, reference: str) -> Booked:
        state = self.booked.get(reference)
        if state is None:
            raise Missing(f"Verplichting {reference} kon niet worden aangemaakt.")
        return state

    def _years(self, programme: Programme) -> list[int]:
        cache = self.__dict__.setdefault("_years_cache", {})
        if programme.id not in cache:
            cache[programme.id] = programme_years(self.session, programme)
        return cache[programme.id]

    def _closed(self, programme: Programme) -> date | None:
        """The programme's closed date, read once per import (the import holds the write lock)."""
        cache = self.__dict__.setdefault("_closed_cache", {})
        if programme.id not in cache:
            cache[programme.id] = closed_through(self.session, programme.id)
        return cache[programme.id]

    def _schedule(self, programme: Programme, rows: list[dict], allow_negative: bool = False) -> dict[int, Decimal]:
        return rules.commitment_schedule(((r["year"], r["amount"]) for r in rows), self._years(programme),
                                         allow_negative)

    def _stage_commitment(self, ref: str, rows: list[dict]) -> None:
        """The new-commitment rule on the sheet's rows (the budget stop is judged on the whole file, afterwards)."""
        f = rows[0]
        project = self.db_projects.get((f["programme"], f["project"]))
        if project is None:
            raise Missing(f"Project {f['project']} kon niet worden aangemaakt.")
        require_role(self.actor, *FINANCE_ROLES)
        programme = self._programme(f["programme"])
        signed_day = rules.check_open(self._closed(programme), validate.day(f["date"], "signed_date"), "signed_date")
        # The sheet has no total column: the cash schedule is the total.
        state = rules.new_commitment(None, ((r["year"], r["amount"]) for r in rows), self._years(programme), ref)
        booked = Booked(None, programme, state, signed=state.total, signed_day=signed_day,
                        payments=[] if ref in self.settling else None)
        self.booked[ref] = booked
        booked.staged += 1
        self.staged_money.append(("commitment", (booked, project.id, f["date"], dict(state.years))))

    def _stage_adjustment(self, ref: str, day: date, reason: str, reference: str, rows: list[dict]) -> None:
        """The adjustment rule on the commitment's running state."""
        booked = self._booked_state(ref)
        require_role(self.actor, *FINANCE_ROLES)
        # As the service: a settled commitment is final, said alone.
        settlement_rules.not_settled(booked.settled_on, booked.reference, "bijstelling")
        day = rules.adjustment_day(day, booked.signed_day, booked.reference)
        rules.check_open(self._closed(booked.programme), day, "adjustment_date")
        deltas = self._schedule(booked.programme, rows, allow_negative=True)
        before = booked.state.total
        booked.state = rules.adjust(booked.state, deltas)
        booked.staged += 1
        self.staged_money.append(("adjustment", (booked, day, reason, reference, deltas, before, booked.state.total)))

    def _stage_payment(self, r: dict) -> None:
        """The payment rules on the commitment's running state: dated from its signing to today, outside a
        closed period, after a vaststelling only what it leaves, within the commitment, a refund never below zero."""
        booked = self._booked_state(r["commitment"])
        require_role(self.actor, *FINANCE_ROLES)
        day = rules.payment_day(r["date"], booked.signed_day, date.today(), booked.reference)
        rules.check_open(self._closed(booked.programme), day, "payment_date")
        # The row's amount was signed by rules.payment_amount when it was read (imports.parse).
        settlement_rules.pay_settled(booked.settled_on, booked.settled_amount, booked.state.paid, r["amount"],
                                     r["kind"], day, booked.reference)
        booked.state = rules.pay(booked.state, r["amount"], r["date"])
        if booked.payments is not None:
            booked.payments.append((day, r["kind"], r["amount"]))
        booked.staged += 1
        self.staged_money.append(("payment", (booked, r)))

    def _write_money(self) -> None:
        staged = self.staged_money
        if not staged:
            return
        kinds = Counter(kind for kind, _ in staged)
        commitment_ids = iter(bulk.reserve_ids(self.session, Commitment.__table__, kinds["commitment"]))
        payment_ids = iter(bulk.reserve_ids(self.session, Payment.__table__, kinds["payment"]))
        settlement_ids = iter(bulk.reserve_ids(self.session, CommitmentSettlement.__table__, kinds["settlement"]))
        # One row per year an adjustment (or a settlement) changes, not one per adjustment.
        adjustment_ids = iter(bulk.reserve_ids(self.session, CommitmentAdjustment.__table__, sum(
            len(item[4]) if kind == "adjustment" else len(item[3].deltas) if kind == "settlement" else 0
            for kind, item in staged)))
        commitments, schedules, adjustments, payments, audit = [], [], [], [], []
        settlements, settled_years = [], []
        now = self.now
        for kind, item in staged:
            if kind == "commitment":
                state, project_id, signed, schedule = item
                state.id = next(commitment_ids)
                row = {"id": state.id, "project_id": project_id, "reference": state.reference,
                       "signed_date": signed, "total": state.signed, "description": "", "created_at": now}
                commitments.append(row)
                schedules.extend({"commitment_id": state.id, "year": y, "amount": a}
                                 for y, a in sorted(schedule.items()))
                audit.append(("create", "Commitment", state.id, {"after": {
                    **row, "schedule": {str(y): a for y, a in sorted(schedule.items())}}}))
            elif kind == "adjustment":
                state, day, reason, reference, deltas, before_total, new_total = item
                rows = [{"id": next(adjustment_ids), "commitment_id": state.id, "date": day, "year": y,
                         "amount": d, "reason": reason, "reference": reference, "settlement_id": None,
                         "created_at": now} for y, d in sorted(deltas.items())]
                adjustments.extend(rows)
                audit.append(("adjust", "Commitment", state.id, {"before": {"total": before_total},
                                                                 "after": {"total": new_total}, "adjustments": rows}))
            elif kind == "settlement":
                row, rows, entry = self._settlement_rows(item, next(settlement_ids), adjustment_ids)
                settlements.append(row)
                settled_years.extend(rows)
                audit.append(entry)
            else:
                state, r = item
                row = {"id": next(payment_ids), "commitment_id": state.id, "reference": r["reference"] or None,
                       "date": r["date"], "amount": r["amount"], "kind": r["kind"], "description": "",
                       "created_at": now}
                payments.append(row)
                audit.append(("create", "Payment", row["id"], {"after": row}))
        bulk.insert_rows(self.session, Commitment.__table__, commitments)
        bulk.insert_rows(self.session, CommitmentSchedule.__table__, schedules, self._written)
        bulk.insert_rows(self.session, CommitmentAdjustment.__table__, adjustments, self._written)
        bulk.insert_rows(self.session, CommitmentSettlement.__table__, settlements, self._written)
        # A settlement's adjustments are no rows of the file: not counted as progress.
        bulk.insert_rows(self.session, CommitmentAdjustment.__table__, settled_years)
        bulk.insert_rows(self.session, Payment.__table__, payments, self._written)
        record_many(self.session, self.actor, audit)

    def _final_budget_check(self) -> None:
        """The budget stop over the whole file: no year of a programme may lose free room below zero.

        The rule is budget.rules.budget_stop on the change the file makes per year, so a year that
        was short before the import and is not made worse passes, as it would on a page.
        """
        self.session.flush()
        codes = set(self.file_programmes) | {r["programme"] for s in ("Budget", "Mutaties", "Ambtelijke ondersteuning",
                                                                      "Projecten") for r in self.rows[s]}
        codes |= {r["programme"] for r in self.rows["Verplichtingen"] if r.get("programme")}
        # An adjustment on a commitment already in the database names no programme on its sheet.
        codes |= {booked.programme.code for booked in self.booked.values()}
        codes = sorted(c for c in codes if c in self.db_programmes)
        for code in codes:
            # What entries awaiting approval hold is not free (approvals): both sides are judged without it.
            held = pending_holds(self.session, self.db_programmes[code].id, self.before.get(code, {}))
            before = {y: f.free - held[y] for y, f in self.before.get(code, {}).items()}
            after = {y: f.free - held.get(y, ZERO)
                     for y, f in programme_figures(self.session, self.db_programmes[code].id, None).items()}
            shortfalls = rules.budget_stop(before, {y: free - before.get(y, ZERO) for y, free in after.items()})
            if shortfalls:
                # Several programmes in one file: say which one; one programme: the pages' own words.
                prefix = f"Programma {code}: " if len(codes) > 1 else ""
                self.error("Budget", 0, "", prefix + rules.shortfall_message(shortfalls, before))
