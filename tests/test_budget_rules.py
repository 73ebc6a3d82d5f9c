"""Budget rules: the budget stop and its override, kasschuif, schedules, payments, audit entries."""
from __future__ import annotations

from datetime import date
from decimal import Decimal as D

import pytest
from sqlalchemy import func, select

from budget import services as budget
from budget.ledger import year_figures
from budget.models import BudgetMutation, Commitment, Payment, StaffingReservation
from core.audit import AuditEntry
from core.errors import BudgetStopError, PermissionDenied, ValidationError
from tests.factories import commit_money, fund, make_programme, make_project, make_user


@pytest.fixture
def world(session):
    """A programme with € 1.000.000 in 2025 and 2026 and one project."""
    boss = make_user(session, "beheerder")
    fin = make_user(session, "financieel")
    prog = make_programme(session, boss, first_year=2025, last_year=2026)
    fund(session, fin, prog, {2025: "1.000.000", 2026: "1.000.000"})
    project = make_project(session, fin, prog)
    return {"boss": boss, "fin": fin, "prog": prog, "project": project}


def _count(session, model) -> int:
    return session.scalar(select(func.count()).select_from(model))


def test_overrunning_commitment_is_refused_naming_year_and_shortfall(session, world):
    budget.set_staffing_reservation(session, world["fin"], world["prog"], year=2026, fte="1", amount="100.000")
    commitments, audits = _count(session, Commitment), _count(session, AuditEntry)
    with pytest.raises(BudgetStopError) as refused:
        commit_money(session, world["fin"], world["project"], {2025: D("500000"), 2026: D("912345.67")})
    assert refused.value.shortfalls == {2026: D("12345.67")}
    assert "2026" in refused.value.message and "€\xa012.345,67" in refused.value.message
    assert _count(session, Commitment) == commitments
    assert _count(session, AuditEntry) == audits


def test_commitment_that_fits_exactly_is_accepted(session, world):
    commit_money(session, world["fin"], world["project"], {2025: D("1000000")})
    assert year_figures(session, world["prog"].id, 2025, None).free == 0


def test_beheerder_override_is_stored_with_its_reason(session, world):
    reason = "Minister heeft overschrijding goedgekeurd"
    c = commit_money(session, world["boss"], world["project"], {2025: D("1200000")}, override_reason=reason)
    entry = session.scalars(select(AuditEntry).where(AuditEntry.entity == "Commitment",
                                                     AuditEntry.entity_id == c.id)).one()
    assert entry.changes_dict["override"]["reason"] == reason
    assert entry.changes_dict["override"]["shortfalls"] == {"2025": "200000.00"}
    assert year_figures(session, world["prog"].id, 2025, None).free == D("-200000.00")


def test_only_a_beheerder_may_override(session, world):
    with pytest.raises(PermissionDenied):
        commit_money(session, world["fin"], world["project"], {2025: D("1200000")},
                     override_reason="Ik wil het toch graag")
    assert _count(session, Commitment) == 0


def test_negative_mutation_and_staffing_meet_the_budget_stop(session, world):
    commit_money(session, world["fin"], world["project"], {2025: D("900000")})
    with pytest.raises(BudgetStopError, match="2025"):
        budget.add_mutation(session, world["fin"], world["prog"], year=2025, amount="-100.000,01",
                            kind="technisch", moment="najaarsnota", reason="Korting",
                            mutation_date=date(2025, 9, 1))
    with pytest.raises(BudgetStopError) as refused:
        budget.set_staffing_reservation(session, world["fin"], world["prog"], year=2025, fte="2",
                                        amount="150.000")
    assert refused.value.shortfalls == {2025: D("50000.00")}
    assert _count(session, BudgetMutation) == 0 and _count(session, StaffingReservation) == 0


def test_kasschuif_must_net_to_zero(session, world):
    with pytest.raises(ValidationError, match="op nul"):
        budget.add_kasschuif(session, world["fin"], world["prog"], amounts={2025: "-100", 2026: "99,99"},
                             moment="najaarsnota", reason="Schuif", mutation_date=date(2025, 10, 1))
    assert _count(session, BudgetMutation) == 0
    rows = budget.add_kasschuif(session, world["fin"], world["prog"], amounts={2025: "-100", 2026: "100"},
                                moment="najaarsnota", reason="Schuif", mutation_date=date(2025, 10, 1))
    assert len({r.kasschuif_group for r in rows}) == 1 and sum(r.amount for r in rows) == 0


def test_schedule_must_sum_to_total_within_programme_years(session, world):
    with pytest.raises(ValidationError, match="kasritme"):
        budget.add_commitment(session, world["fin"], world["project"], reference="X1", signed_date=date(2025, 1, 1),
                              total="100.000", schedule={2025: "60.000", 2026: "39.999,99"})
    with pytest.raises(ValidationError, match="buiten de programmajaren"):
        budget.add_commitment(session, world["fin"], world["project"], reference="X2", signed_date=date(2025, 1, 1),
                              total="100", schedule={2027: "100"})
    assert _count(session, Commitment) == 0


def test_payments_stay_within_the_commitment(session, world):
    c = commit_money(session, world["fin"], world["project"], {2025: D("1000")})
    budget.add_payment(session, world["fin"], c, payment_date=date(2025, 2, 1), amount="800", kind="voorschot")
    with pytest.raises(BudgetStopError, match="€\xa0200,01"):
        budget.add_payment(session, world["fin"], c, payment_date=date(2025, 3, 1), amount="400,01",
                           kind="betaling")
    refund = budget.add_payment(session, world["fin"], c, payment_date=date(2025, 4, 1), amount="100",
                                kind="terugbetaling")
    assert refund.amount == D("-100.00")
    assert year_figures(session, world["prog"].id, 2025, None).paid == D("700.00")
    assert _count(session, Payment) == 2


def test_adjustment_is_a_dated_entry_and_cannot_undercut_payments(session, world):
    c = commit_money(session, world["fin"], world["project"], {2025: D("1000")})
    budget.add_payment(session, world["fin"], c, payment_date=date(2025, 2, 1), amount="800", kind="betaling")
    with pytest.raises(ValidationError, match="al .* betaald"):
        budget.adjust_commitment(session, world["fin"], c, adjustment_date=date(2025, 6, 1),
                                 changes={2025: "-300"}, reason="Vaststelling")
    budget.adjust_commitment(session, world["fin"], c, adjustment_date=date(2025, 6, 1),
                             changes={2025: "-200"}, reason="Vaststelling")
    assert c.total == D("1000.00")  # the signed total is never edited
    assert year_figures(session, world["prog"].id, 2025, None).committed == D("800.00")


def test_every_change_leaves_one_audit_entry_per_changed_object(session, world):
    fin = world["fin"]
    start = _count(session, AuditEntry)
    c = commit_money(session, fin, world["project"], {2025: D("1000"), 2026: D("500")})
    budget.add_payment(session, fin, c, payment_date=date(2025, 2, 1), amount="10", kind="betaling")
    budget.add_kasschuif(session, fin, world["prog"], amounts={2025: "-5", 2026: "5"}, moment="intern",
                         reason="Schuif", mutation_date=date(2025, 3, 1))
    entries = session.scalars(select(AuditEntry).where(AuditEntry.id > start).order_by(AuditEntry.id)).all()
    assert [(e.entity, e.action) for e in entries] == [
        ("Commitment", "create"), ("Payment", "create"),
        ("BudgetMutation", "create"), ("BudgetMutation", "create")]
    assert len({e.entity_id for e in entries if e.entity == "BudgetMutation"}) == 2
    assert all(e.actor_id == fin.id and e.at is not None for e in entries)
    assert entries[0].changes_dict["after"]["schedule"] == {"2025": "1000.00", "2026": "500.00"}


def test_readers_and_project_owners_cannot_touch_money(session, world):
    for role in ("lezer", "projectleider"):
        user = make_user(session, role)
        with pytest.raises(PermissionDenied):
            commit_money(session, user, world["project"], {2025: D("1")})
        with pytest.raises(PermissionDenied):
            budget.add_mutation(session, user, world["prog"], year=2025, amount="1", kind="technisch",
                                moment="intern", reason="x", mutation_date=date(2025, 1, 1))
    assert _count(session, Commitment) == 0 and _count(session, BudgetMutation) == 0
