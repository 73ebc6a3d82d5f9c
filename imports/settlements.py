"""Import step 4, the sheet Vaststellingen: each settlement through settlement_rules.settle, after the file's rows."""
from __future__ import annotations

import functools
from dataclasses import replace
from datetime import date

from budget import rules, settlement_rules
from budget.services.settlements import settlement_reason
from core.users import FINANCE_ROLES, require_role
from imports.apply import Missing, Op
from imports.contract import NEW, UNCHANGED

#: After the adjustments that lower a commitment (rank 4) on the same day: a vaststelling closes the day.
SETTLE_RANK = 5
#: Where a refusal of the settlement rules lands; not_settled names no field: it is about the commitment.
_COLUMNS = {"settlement_date": "Datum", "amount": "Vastgesteld bedrag", "reference": "Kenmerk", "note": "Toelichting",
            "recovery_due": "Terugvordering uiterlijk", None: "Kenmerk verplichting"}


class SettleSteps:
    """The settlements of the money step (imports.money.MoneySteps): staged on the commitment's running state."""

    def _settlement_events(self) -> list[tuple]:
        """(date, rank, row, op) per new settlement; one equal to the database's is already there."""
        events = []
        for r in self.rows["Vaststellingen"]:
            existing = self.db_commitments.get(r["commitment"])
            settled = existing.settlement if existing is not None else None
            # An empty due date is the default term: equal to whatever the database holds.
            if settled is not None and (settled.date, settled.amount, settled.reference, settled.note) == (
                    r["date"], r["amount"], r["reference"], r["note"]) and r["recovery_due"] in (
                    None, settled.recovery_due):
                self.count("Vaststellingen", UNCHANGED)
                continue
            # Another one on a settled commitment is refused when staged, in not_settled's words.
            events.append((r["date"], SETTLE_RANK, r["row"], Op("Vaststellingen", r["row"], functools.partial(
                self._stage_settlement, r), _COLUMNS, ref=r["commitment"])))
            self.count("Vaststellingen", NEW)
        return events

    def _settlement_order(self, events: list[tuple]) -> list[tuple]:
        """The events by date, with a file's settlement after every other row of the file on its commitment.

        A vaststelling settles what was booked: so the file's commitment, adjustments and payments on
        it come first whatever their date (a voorschot dated after it is then refused by settlement_rules.settle,
        as the service refuses to settle before a payment). Only a refund or final payment dated after
        it follows it, and meets settlement_rules.pay_settled as on the pages. Commitments do not share state
        here (the budget stop judges the whole file afterwards), so only their own rows move.
        Each settlement remembers how many of its commitment's rows come before it (self.settle_after).
        """
        days = {op.ref: day for day, _rank, _row, op in events if op.sheet == "Vaststellingen"}

        def key(event):
            day, rank, row, op = event
            settle_day = days.get(op.ref)
            if (settle_day is not None and op.sheet != "Vaststellingen"
                    and not (op.after_settlement and day > settle_day)):
                day = min(day, settle_day)
            return day, rank, row
        ordered = sorted(events, key=key)
        before: dict[str, int] = dict.fromkeys(days, 0)
        for _day, _rank, _row, op in ordered:
            if op.ref in days:
                if op.sheet == "Vaststellingen":
                    self.settle_after[op.ref] = before[op.ref]
                else:
                    before[op.ref] += 1
        return ordered

    def _stage_settlement(self, r: dict) -> None:
        """The service's rules in its order: settled once, the date, a closed period, the settlement, the due date."""
        booked = self._booked_state(r["commitment"])
        require_role(self.actor, *FINANCE_ROLES)
        settlement_rules.not_settled(booked.settled_on, booked.reference, "tweede vaststelling")
        if booked.staged < self.settle_after.get(r["commitment"], 0):
            # A row before it waits (a payment that fits once a later adjustment is in): so does the settlement.
            raise Missing(f"De vaststelling van verplichting {booked.reference} volgt op de verplichting, bijstellingen "
                          "en betalingen ervan in dit bestand; daarvan is er een geweigerd.")
        day = settlement_rules.settlement_day(r["date"], booked.signed_day, date.today(), booked.reference)
        rules.check_open(self._closed(booked.programme), day, "settlement_date")
        settled = settlement_rules.settle(booked.state, booked.payments, r["amount"], day,
                                          self._years(booked.programme))
        # Empty: the default term, as the service gives when the form leaves it empty.
        due = settlement_rules.recovery_due(r["recovery_due"], day, settled.recovery)
        before = booked.state.total
        booked.state = replace(booked.state, total=settled.amount, years=dict(settled.years))
        booked.settled_on, booked.settled_amount = day, settled.amount
        self.staged_money.append(("settlement", (booked, day, r, settled, due, before)))

    def _settlement_rows(self, item: tuple, settlement_id: int, adjustment_ids) -> tuple[dict, list[dict], tuple]:
        """The settlement's row, its adjustments (the new schedule, as the service writes them) and its audit entry."""
        booked, day, r, settled, due, before = item
        row = {"id": settlement_id, "commitment_id": booked.id, "date": day, "amount": settled.amount,
               "recovery": settled.recovery, "recovery_due": due, "reference": r["reference"], "note": r["note"],
               "created_at": self.now}
        reason = settlement_reason(r["reference"], r["note"])
        adjustments = [{"id": next(adjustment_ids), "commitment_id": booked.id, "date": day, "year": y, "amount": d,
                        "reason": reason, "reference": r["reference"], "settlement_id": settlement_id,
                        "created_at": self.now} for y, d in settled.deltas.items()]
        # As the service: the settlement's own fields in the commitment's "after", so the audit trail reads them.
        fields = {k: v for k, v in row.items() if k not in ("id", "commitment_id", "created_at", "amount")}
        return row, adjustments, ("settle", "Commitment", booked.id, {
            "before": {"total": before}, "after": {"total": settled.amount, **fields},
            "vrijval": settled.released, "adjustments": adjustments})
