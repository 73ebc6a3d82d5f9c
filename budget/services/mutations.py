"""Budget mutations and kasschuiven: dated changes to a year's budget, checked by the budget stop."""
from __future__ import annotations

import uuid
from datetime import date
from decimal import Decimal

from sqlalchemy import select

from approvals.services import gate
from budget import rules
from budget.ledger import enforce_budget_stop
from budget.models import (
    BudgetMutation,
)
from budget.services.periods import check_open
from core import validate
from core.audit import diff, record, snapshot, with_override
from core.errors import Collect, NotFound, ValidationError
from core.locking import serialise
from core.money import format_eur
from core.users import FINANCE_ROLES, require_role
from projects.models import Programme


def add_mutation(session, actor, programme: Programme, *, year, amount, kind: str, moment: str, reason: str,
                 mutation_date: date, reference: str = "", override_reason: str | None = None) -> BudgetMutation:
    """One budget mutation for one year; a kasschuif goes through add_kasschuif."""
    require_role(actor, *FINANCE_ROLES)
    serialise(session)
    # Every refusal at once (a form shows them together): the budget stop too, when year and amount are fine.
    c = Collect()
    year, amount, fields = _single_mutation(c, year, amount, kind, moment, reason, reference, mutation_date)
    if fields:
        c(check_open, session, programme.id, (fields["date"], "date"))
    override = c(enforce_budget_stop, session, actor, programme.id, {year: amount}, override_reason) \
        if year is not None and amount is not None else None
    c.raise_any()
    pending = gate(session, actor, programme.id, "mutation", {year: amount}, override,
                   {"programme_id": programme.id, "year": year, "amount": amount, "kind": fields["kind"],
                    "moment": fields["moment"], "reason": fields["reason"], "mutation_date": fields["date"],
                    "reference": fields["reference"], "override_reason": override_reason},
                   f"Budgetmutatie {year}: {format_eur(amount)} ({fields['reason']})")
    if pending is not None:
        return pending
    mutation = BudgetMutation(programme_id=programme.id, year=year, amount=amount, **fields)
    session.add(mutation)
    record(session, actor, "create", mutation, with_override({"after": snapshot(mutation)}, override))
    return mutation


def _single_mutation(c: Collect, year, amount, kind, moment, reason, reference, mutation_date) -> tuple:
    """(year, amount, fields) of a one-year mutation, each None when refused; the refusals go to `c`."""
    year = c(validate.year, year)
    amount = c(validate.amount, amount, allow_negative=True, allow_zero=False)
    fields = c(rules.mutation_fields, kind, moment, reason, reference, mutation_date)
    if fields:
        c(rules.single_mutation, fields["kind"])
    return year, amount, fields


def add_kasschuif(session, actor, programme: Programme, *, amounts: dict, moment: str, reason: str,
                  mutation_date: date, reference: str = "", reasons: dict[int, str] | None = None,
                  override_reason: str | None = None) -> list[BudgetMutation]:
    """A kasschuif: mutations over two or more years that together net to exactly zero.

    `reasons` gives a year its own toelichting (the import's rows may each carry one); the
    other years take `reason`.
    """
    require_role(actor, *FINANCE_ROLES)
    serialise(session)
    c = Collect()
    clean = c(rules.kasschuif, amounts)
    fields = c(rules.mutation_fields, "kasschuif", moment, reason, reference, mutation_date)
    if fields:
        c(check_open, session, programme.id, (fields["date"], "date"))
    override = c(enforce_budget_stop, session, actor, programme.id, clean, override_reason) if clean else None
    c.raise_any()
    pending = gate(session, actor, programme.id, "kasschuif", clean, override,
                   {"programme_id": programme.id, "amounts": clean, "moment": fields["moment"],
                    "reason": fields["reason"], "mutation_date": fields["date"], "reference": fields["reference"],
                    "reasons": reasons, "override_reason": override_reason},
                   "Kasschuif " + ", ".join(f"{y}: {format_eur(a)}" for y, a in sorted(clean.items()))
                   + f" ({fields['reason']})")
    if pending is not None:
        return pending
    reason_of = rules.kasschuif_reasons(clean, fields["reason"], reasons)
    group = str(uuid.uuid4())
    mutations = []
    for year, amount in sorted(clean.items()):
        mutation = BudgetMutation(programme_id=programme.id, year=year, amount=amount,
                                  kasschuif_group=group, **{**fields, "reason": reason_of[year]})
        session.add(mutation)
        record(session, actor, "create", mutation, with_override({"after": snapshot(mutation)}, override))
        mutations.append(mutation)
    return mutations


def update_mutation(session, actor, mutation: BudgetMutation, *, year, amount, kind: str, moment: str,
                    reason: str, mutation_date: date, reference: str = "",
                    override_reason: str | None = None) -> BudgetMutation:
    """Change a single-year mutation; the stop sees the old amount leave and the new one arrive."""
    require_role(actor, *FINANCE_ROLES)
    serialise(session)
    if mutation.kasschuif_group:
        raise ValidationError("Een kasschuif wijzigt u als geheel via het kasschuifformulier.")
    c = Collect()
    year, amount, fields = _single_mutation(c, year, amount, kind, moment, reason, reference, mutation_date)
    if fields:
        c(check_open, session, mutation.programme_id, (mutation.date, "date"), (fields["date"], "date"))
    override = None
    if year is not None and amount is not None:
        deltas = {mutation.year: -mutation.amount}
        deltas[year] = deltas.get(year, Decimal("0.00")) + amount
        override = c(enforce_budget_stop, session, actor, mutation.programme_id, deltas, override_reason)
    c.raise_any()
    pending = gate(session, actor, mutation.programme_id, "mutation_update", deltas, override,
                   {"mutation_id": mutation.id, "version": mutation.version, "year": year, "amount": amount,
                    "kind": fields["kind"], "moment": fields["moment"], "reason": fields["reason"],
                    "mutation_date": fields["date"], "reference": fields["reference"],
                    "override_reason": override_reason},
                   f"Wijziging budgetmutatie {mutation.year} ({format_eur(mutation.amount)}): wordt {year} "
                   f"{format_eur(amount)}")
    if pending is not None:
        return pending
    before = snapshot(mutation)
    mutation.year, mutation.amount = year, amount
    for key, value in fields.items():
        setattr(mutation, key, value)
    changes = diff(before, snapshot(mutation))
    if changes["after"]:
        record(session, actor, "update", mutation, with_override(changes, override))
    return mutation


def kasschuif_rows(session, group: str) -> list[BudgetMutation]:
    return list(session.scalars(select(BudgetMutation).where(BudgetMutation.kasschuif_group == group)
                                .order_by(BudgetMutation.year)))


def update_kasschuif(session, actor, group: str, *, amounts: dict, moment: str, reason: str,
                     mutation_date: date, reference: str = "",
                     override_reason: str | None = None) -> list[BudgetMutation]:
    """Replace a kasschuif's years and amounts; the new set must again net to zero."""
    require_role(actor, *FINANCE_ROLES)
    serialise(session)
    rows = kasschuif_rows(session, group)
    if not rows:
        raise NotFound("Deze kasschuif bestaat niet.")
    c = Collect()
    clean = c(rules.kasschuif, amounts)
    fields = c(rules.mutation_fields, "kasschuif", moment, reason, reference, mutation_date)
    if fields:
        c(check_open, session, rows[0].programme_id, *((r.date, "date") for r in rows), (fields["date"], "date"))
    override = None
    if clean:
        deltas = dict(clean)
        for row in rows:
            deltas[row.year] = deltas.get(row.year, Decimal("0.00")) - row.amount
        override = c(enforce_budget_stop, session, actor, rows[0].programme_id, deltas, override_reason)
    c.raise_any()
    pending = gate(session, actor, rows[0].programme_id, "kasschuif_update", deltas, override,
                   {"group": group, "versions": {r.id: r.version for r in rows}, "amounts": clean,
                    "moment": fields["moment"], "reason": fields["reason"], "mutation_date": fields["date"],
                    "reference": fields["reference"], "override_reason": override_reason},
                   "Wijziging kasschuif: wordt " + ", ".join(f"{y}: {format_eur(a)}" for y, a in sorted(clean.items())))
    if pending is not None:
        return pending
    before = {"amounts": {str(r.year): r.amount for r in rows},
              **{k: getattr(rows[0], k) for k in fields}}
    if len({r.reason for r in rows}) > 1:
        # The years had their own toelichting (from an import); the form's one replaces them all.
        before["reasons"] = {str(r.year): r.reason for r in rows}
    by_year = {r.year: r for r in rows}
    result = []
    for year, row in by_year.items():
        if year not in clean:
            session.delete(row)
    for year, amount in sorted(clean.items()):
        row = by_year.get(year)
        if row is None:
            row = BudgetMutation(programme_id=rows[0].programme_id, year=year, amount=amount,
                                 kasschuif_group=group, **fields)
            session.add(row)
        else:
            row.amount = amount
            for key, value in fields.items():
                setattr(row, key, value)
        result.append(row)
    session.flush()
    after = {"amounts": {str(y): a for y, a in sorted(clean.items())}, **fields}
    if "reasons" in before:
        after["reasons"] = {str(y): fields["reason"] for y in sorted(clean)}
    record(session, actor, "update", result[0],
           with_override({"kasschuif_group": group, **diff(before, after)}, override))
    return result


def delete_mutation(session, actor, mutation: BudgetMutation, override_reason: str | None = None) -> None:
    """Delete a mutation (a kasschuif as a whole); removing money meets the budget stop."""
    require_role(actor, *FINANCE_ROLES)
    serialise(session)
    rows = kasschuif_rows(session, mutation.kasschuif_group) if mutation.kasschuif_group else [mutation]
    check_open(session, mutation.programme_id, *((r.date, "date") for r in rows))
    deltas: dict[int, Decimal] = {}
    for row in rows:
        deltas[row.year] = deltas.get(row.year, Decimal("0.00")) - row.amount
    override = enforce_budget_stop(session, actor, mutation.programme_id, deltas, override_reason)
    pending = gate(session, actor, mutation.programme_id, "mutation_delete", deltas, override,
                   {"mutation_id": mutation.id, "version": mutation.version, "override_reason": override_reason},
                   "Verwijdering " + ("kasschuif " if mutation.kasschuif_group else "budgetmutatie ")
                   + ", ".join(f"{r.year}: {format_eur(r.amount)}" for r in rows))
    if pending is not None:
        return pending
    for row in rows:
        record(session, actor, "delete", row, with_override({"before": snapshot(row)}, override))
        session.delete(row)
    session.flush()
