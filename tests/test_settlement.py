"""Subsidy settlement: a vaststelling lowers the schedule to what was spent, frees the rest, and reclaims the excess."""
from __future__ import annotations

from datetime import date
from decimal import Decimal as D

import pytest
from sqlalchemy import select

from approvals import services as approvals
from approvals.models import PendingEntry
from budget import services as budget
from budget.advances import open_advances, recoveries, to_settle
from budget.ledger import commitment_totals, commitment_year_amounts, programme_figures
from budget.models import CommitmentAdjustment, CommitmentSettlement
from core.audit import AuditEntry
from core.errors import Conflict, ValidationError
from tests.factories import TEST_ACTOR, fund, make_programme, make_project, make_user

PEIL_BEFORE = date(2026, 2, 28)
SETTLED_ON = date(2026, 3, 15)


@pytest.fixture
def grant(session):
    """The issue's scenario: € 300.000 granted 150/150 over 2025–2026, advances € 150.000 (2025) and € 100.000
    (10-01-2026)."""
    anna = make_user(session, "financieel")
    prog = make_programme(session, TEST_ACTOR, first_year=2025, last_year=2027)
    fund(session, TEST_ACTOR, prog, {2025: "500.000", 2026: "500.000", 2027: "500.000"})
    project = make_project(session, anna, prog, end_date=date(2026, 1, 31), start_date=date(2025, 1, 1))
    commitment = budget.add_commitment(session, anna, project, reference="SUB-1", signed_date=date(2025, 1, 20),
                                       total=D("300000"), schedule={2025: D("150000"), 2026: D("150000")})
    budget.add_payment(session, anna, commitment, payment_date=date(2025, 2, 1), amount=D("150000"),
                       kind="voorschot", reference="VS-1")
    budget.add_payment(session, anna, commitment, payment_date=date(2026, 1, 10), amount=D("100000"),
                       kind="voorschot", reference="VS-2")
    session.commit()
    return {"anna": anna, "prog": prog, "project": project, "commitment": commitment}


def _paid(session, prog, peildatum=None):
    return {y: f.paid for y, f in programme_figures(session, prog.id, peildatum).items()}


def test_the_issue_scenario_settles_frees_and_reclaims(session, grant):
    anna, prog, commitment = grant["anna"], grant["prog"], grant["commitment"]
    before = programme_figures(session, prog.id, None)
    stand_before = programme_figures(session, prog.id, PEIL_BEFORE)
    assert open_advances(session, prog.id, None).total == D("250000")

    settlement = budget.settle_commitment(session, anna, commitment, settlement_date=SETTLED_ON,
                                          amount="230.000", reference="VST-2026-1", note="Eindverantwoording")
    session.commit()

    assert commitment_year_amounts(session, commitment.id) == {2025: D("150000"), 2026: D("80000")}
    assert commitment_totals(session, commitment.id) == (D("230000"), D("250000"))
    after = programme_figures(session, prog.id, None)
    assert after[2025].free == before[2025].free
    assert after[2026].free - before[2026].free == D("70000")
    assert after[2026].released == D("70000") and after[2025].released == D("0")
    assert (settlement.recovery, settlement.recovery_due) == (D("20000"), date(2026, 4, 26))
    vrijval = session.scalars(select(CommitmentAdjustment).where(
        CommitmentAdjustment.settlement_id == settlement.id)).all()
    assert [(a.year, a.amount, a.date) for a in vrijval] == [(2026, D("-70000"), SETTLED_ON)]
    assert open_advances(session, prog.id, None).total == D("0")
    # Before the vaststelling's date nothing moved: the stand at 28-02-2026 is the same, advances still open.
    assert programme_figures(session, prog.id, PEIL_BEFORE) == stand_before
    assert open_advances(session, prog.id, PEIL_BEFORE).total == D("250000")
    [open_claim] = recoveries(session, prog.id, None)
    assert (open_claim.recovery, open_claim.outstanding) == (D("20000"), D("20000"))

    # Refunded in two parts: the first leaves half the claim open.
    budget.add_payment(session, anna, commitment, payment_date=date(2026, 4, 10), amount="10.000",
                       kind="terugbetaling", reference="TB-1")
    session.commit()
    assert recoveries(session, prog.id, None)[0].outstanding == D("10000")
    budget.add_payment(session, anna, commitment, payment_date=date(2026, 4, 20), amount="10.000",
                       kind="terugbetaling", reference="TB-2")
    session.commit()
    assert _paid(session, prog)[2026] == D("80000")
    assert recoveries(session, prog.id, None)[0].outstanding == D("0")
    audit = session.scalar(select(AuditEntry).where(AuditEntry.action == "settle"))
    assert audit.changes_dict["vrijval"] == "70000.00"


def test_a_settled_commitment_takes_only_its_refund_and_final_payment(session, grant):
    anna, commitment = grant["anna"], grant["commitment"]
    budget.settle_commitment(session, anna, commitment, settlement_date=SETTLED_ON, amount="230.000",
                             reference="VST-1")
    session.commit()
    with pytest.raises(Conflict, match="alleen nog een terugbetaling"):
        budget.add_payment(session, anna, commitment, payment_date=date(2026, 4, 1), amount="1.000",
                           kind="voorschot")
    session.rollback()
    with pytest.raises(Conflict, match="bijstelling kan er niet meer bij"):
        budget.adjust_commitment(session, anna, commitment, adjustment_date=date(2026, 4, 1),
                                 changes={2026: "-1.000"}, reason="Correctie")
    session.rollback()
    with pytest.raises(Conflict, match="tweede vaststelling"):
        budget.settle_commitment(session, anna, commitment, settlement_date=SETTLED_ON, amount="200.000",
                                 reference="VST-2")
    session.rollback()
    with pytest.raises(ValidationError, match="groter dan de openstaande terugvordering"):
        budget.add_payment(session, anna, commitment, payment_date=date(2026, 4, 1), amount="20.000,01",
                           kind="terugbetaling")
    session.rollback()
    with pytest.raises(ValidationError, match="op of na die datum"):
        budget.add_payment(session, anna, commitment, payment_date=date(2026, 3, 1), amount="5.000",
                           kind="terugbetaling")
    session.rollback()
    with pytest.raises(Conflict, match="vastgesteld en blijft bewaard"):
        budget.delete_commitment(session, anna, commitment)
    session.rollback()


def test_a_settlement_above_the_paid_amount_leaves_a_final_payment(session, grant):
    anna, prog, commitment = grant["anna"], grant["prog"], grant["commitment"]
    settlement = budget.settle_commitment(session, anna, commitment, settlement_date=SETTLED_ON,
                                          amount="280.000", reference="VST-1")
    session.commit()
    assert settlement.recovery == 0 and settlement.recovery_due is None
    assert commitment_year_amounts(session, commitment.id) == {2025: D("150000"), 2026: D("130000")}
    # The balance is paid as the eindbetaling, never above the settled amount.
    from core.errors import BudgetStopError
    with pytest.raises(BudgetStopError):
        budget.add_payment(session, anna, commitment, payment_date=date(2026, 4, 1), amount="30.000,01",
                           kind="eindbetaling")
    session.rollback()
    budget.add_payment(session, anna, commitment, payment_date=date(2026, 4, 1), amount="30.000",
                       kind="eindbetaling")
    session.commit()
    assert _paid(session, prog)[2026] == D("130000")


@pytest.mark.parametrize(("kwargs", "message"), [
    ({"amount": "300.000,01"}, "nooit hoger uit dan de verlening"),
    ({"settlement_date": date(2026, 1, 5)}, r"nog €.100\.000,00 betaald"),
    ({"settlement_date": date(2024, 12, 31)}, "vóór de ondertekening"),
    ({"settlement_date": date(2099, 1, 1)}, "niet na vandaag"),
    ({"reference": "  "}, "kenmerk van de vaststellingsbeschikking"),
    ({"amount": "-1"}, "niet negatief"),
    ({"recovery_due": date(2026, 3, 1)}, "niet vóór de vaststelling vervallen"),
])
def test_a_wrong_settlement_is_refused_and_changes_nothing(session, grant, kwargs, message):
    anna, commitment = grant["anna"], grant["commitment"]
    params = {"settlement_date": SETTLED_ON, "amount": "230.000", "reference": "VST-1", **kwargs}
    with pytest.raises((ValidationError, Conflict), match=message):
        budget.settle_commitment(session, anna, commitment, **params)
    session.rollback()
    assert session.scalar(select(CommitmentSettlement)) is None
    assert commitment_year_amounts(session, commitment.id) == {2025: D("150000"), 2026: D("150000")}


def test_a_closed_period_and_four_eyes_hold_for_a_settlement(session, grant):
    anna, prog, commitment = grant["anna"], grant["prog"], grant["commitment"]
    boss, bram = make_user(session, "beheerder"), make_user(session, "financieel")
    budget.close_period(session, anna, prog, date(2026, 3, 31))
    session.commit()
    with pytest.raises(Conflict, match="afgesloten"):
        budget.settle_commitment(session, anna, commitment, settlement_date=SETTLED_ON, amount="230.000",
                                 reference="VST-1")
    session.rollback()
    approvals.set_four_eyes(session, boss, prog, True, "0")
    session.commit()
    entry = budget.settle_commitment(session, anna, commitment, settlement_date=date(2026, 4, 2),
                                     amount="230.000", reference="VST-1")
    session.commit()
    assert isinstance(entry, PendingEntry) and entry.amount == D("70000")
    assert session.scalar(select(CommitmentSettlement)) is None
    settlement = approvals.approve(session, bram, entry)
    session.commit()
    assert settlement.date == date(2026, 4, 2) and settlement.recovery == D("20000")
    assert commitment_year_amounts(session, commitment.id) == {2025: D("150000"), 2026: D("80000")}


def test_open_advances_and_the_list_to_settle_match_a_hand_count(session, grant):
    """Three grants: one ended 13 months ago with advances (due), one ended last month (not yet), one settled."""
    anna, prog = grant["anna"], grant["prog"]
    today = date(2027, 3, 1)
    recent = make_project(session, anna, prog, category="lopend", end_date=date(2027, 1, 31))
    c2 = budget.add_commitment(session, anna, recent, reference="SUB-2", signed_date=date(2025, 6, 1),
                               total=D("40000"), schedule={2025: D("20000"), 2026: D("20000")})
    budget.add_payment(session, anna, c2, payment_date=date(2025, 7, 1), amount="20.000", kind="voorschot")
    budget.add_payment(session, anna, c2, payment_date=date(2026, 7, 1), amount="15.000", kind="voorschot")
    budget.add_payment(session, anna, c2, payment_date=date(2026, 8, 1), amount="5.000", kind="betaling")
    done = make_project(session, anna, prog, end_date=date(2025, 12, 31))
    c3 = budget.add_commitment(session, anna, done, reference="SUB-3", signed_date=date(2025, 2, 1),
                               total=D("10000"), schedule={2025: D("10000")})
    budget.add_payment(session, anna, c3, payment_date=date(2025, 3, 1), amount="10.000", kind="voorschot")
    budget.settle_commitment(session, anna, c3, settlement_date=date(2026, 2, 1), amount="10.000",
                             reference="VST-3")
    session.commit()

    advances = open_advances(session, prog.id, None)
    # SUB-1: 150.000 (2025) + 100.000 (2026); SUB-2: 20.000 (2025) + 15.000 (2026); SUB-3 settled; the
    # betaling of SUB-2 is no advance.
    assert advances.years == [2025, 2026]
    assert [(r.reference, r.by_year, r.total) for r in advances.commitments] == [
        ("SUB-1", {2025: D("150000"), 2026: D("100000")}, D("250000")),
        ("SUB-2", {2025: D("20000"), 2026: D("15000")}, D("35000"))]
    assert advances.by_category == {"nieuw": {2025: D("150000"), 2026: D("100000")},
                                    "lopend": {2025: D("20000"), 2026: D("15000")}}
    assert advances.by_year == {2025: D("170000"), 2026: D("115000")} and advances.total == D("285000")
    due = to_settle(session, prog, today)
    # SUB-1's project ended 31-01-2026, more than 6 months before 01-03-2027; SUB-2's a month ago.
    assert [(r.reference, r.ended, r.open_advances) for r in due] == [("SUB-1", date(2026, 1, 31), D("250000"))]
    prog.settlement_months = 1
    session.commit()
    assert [r.reference for r in to_settle(session, prog, today)] == ["SUB-1", "SUB-2"]


def test_a_settlement_entered_by_mistake_is_withdrawn_until_something_is_paid_after_it(session, grant):
    anna, prog, commitment = grant["anna"], grant["prog"], grant["commitment"]
    before = programme_figures(session, prog.id, None)
    budget.settle_commitment(session, anna, commitment, settlement_date=SETTLED_ON, amount="230.000",
                             reference="VST-1")
    session.commit()
    budget.withdraw_settlement(session, anna, commitment)
    session.commit()
    assert programme_figures(session, prog.id, None) == before
    assert commitment_year_amounts(session, commitment.id) == {2025: D("150000"), 2026: D("150000")}
    withdrawn = session.scalar(select(AuditEntry).where(AuditEntry.entity == "CommitmentSettlement"))
    assert withdrawn.action == "delete" and withdrawn.changes_dict["before"]["amount"] == "230000.00"
    # Settled again, and refunded: then it stays.
    budget.settle_commitment(session, anna, commitment, settlement_date=SETTLED_ON, amount="230.000",
                             reference="VST-2")
    budget.add_payment(session, anna, commitment, payment_date=date(2026, 4, 1), amount="20.000",
                       kind="terugbetaling")
    session.commit()
    with pytest.raises(Conflict, match="de vaststelling blijft staan"):
        budget.withdraw_settlement(session, anna, commitment)
    session.rollback()
    assert budget.settled_on(session, commitment.id).reference == "VST-2"
