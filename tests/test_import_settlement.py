"""The vaststelling through the import (sheet Vaststellingen): the issue's scenario, the round trip, refusals."""
from __future__ import annotations

import io
from datetime import date
from decimal import Decimal as D

import openpyxl
import pytest
from sqlalchemy import func, select

from approvals import services as approvals
from approvals.models import PendingEntry
from budget import services as budget
from budget.advances import open_advances, recoveries
from budget.ledger import commitment_totals, commitment_year_amounts, programme_figures
from budget.models import (
    Commitment,
    CommitmentAdjustment,
    CommitmentSettlement,
    Payment,
)
from core.audit import AuditEntry, verify_chain
from core.db import db
from core.errors import DomainError
from imports.cli import IMPORT_ACTOR
from imports.contract import NEW, SHEETS, UNCHANGED
from imports.services import run_import
from imports.writer import export_bytes
from projects.models import Programme
from tests.factories import make_user

ACTOR = IMPORT_ACTOR
PEIL_BEFORE = date(2026, 2, 28)
SETTLED_ON = date(2026, 3, 15)
TABLES = (Commitment, CommitmentAdjustment, CommitmentSettlement, Payment, AuditEntry)

#: The issue's grant: € 300.000 over 2025–2026 (150/150), advances € 150.000 (2025) and € 100.000 (10-01-2026).
GRANT = {
    "Programma": [["SUB", "Subsidies", "Ministerie van JenV", "33", 2025, 2027]],
    "Budget": [["SUB", "Structureel", "Structureel", "", y, 500_000] for y in (2025, 2026, 2027)],
    "Projecten": [["SUB", "P1", "Opvang", "", "Nieuw", "Zorg", "Overig", "", "Subsidie", "In uitvoering",
                   "01-01-2025", "31-01-2026", "", "", "", "", ""]],
    "Verplichtingen": [["P1", "SUB-1", "20-01-2025", 2025, 150_000], ["P1", "SUB-1", "20-01-2025", 2026, 150_000]],
    "Betalingen": [["VS-1", "P1", "SUB-1", "01-02-2025", 150_000, "Voorschot"],
                   ["VS-2", "P1", "SUB-1", "10-01-2026", 100_000, "Voorschot"]],
}
SETTLEMENT = ["SUB-1", "15-03-2026", "230.000", "VST-2026-1", "Eindverantwoording"]
REFUND = ["TB-1", "P1", "SUB-1", "20-04-2026", 20_000, "Terugbetaling"]


def xlsx(sheets: dict[str, list[list]]) -> bytes:
    book = openpyxl.Workbook()
    book.remove(book.active)
    for name, rows in sheets.items():
        sheet = book.create_sheet(name)
        sheet.append(SHEETS[name])
        for row in rows:
            sheet.append(row)
    out = io.BytesIO()
    book.save(out)
    return out.getvalue()


def plain(message: str) -> str:
    return message.replace("\xa0", " ")  # euro amounts keep their sign and number together


def counts(session) -> dict:
    return {t.__name__: session.scalar(select(func.count()).select_from(t)) for t in TABLES}


def imported(session, sheets: dict, actor=ACTOR):
    result = run_import(session, actor, xlsx(sheets))
    assert result.errors == []
    session.commit()
    return result


def refused(session, sheets: dict) -> list:
    """The errors of an import that must write nothing (rolled back, as the callers do)."""
    before = counts(session)
    result = run_import(session, ACTOR, xlsx(sheets))
    session.rollback()
    assert counts(session) == before
    return result.errors


@pytest.fixture
def grant(session):
    imported(session, GRANT)
    return session.scalar(select(Programme).where(Programme.code == "SUB"))


def _commitment(session) -> Commitment:
    return session.scalar(select(Commitment).where(Commitment.reference == "SUB-1"))


def _paid(session, prog, peildatum=None) -> dict:
    return {y: f.paid for y, f in programme_figures(session, prog.id, peildatum).items()}


# --- the issue's scenario --------------------------------------------------------------------------


def test_the_issue_scenario_through_the_import(session, grant):
    prog, commitment = grant, _commitment(session)
    before = programme_figures(session, prog.id, None)
    stand_before = programme_figures(session, prog.id, PEIL_BEFORE)
    assert open_advances(session, prog.id, None).total == D("250000")

    result = imported(session, {"Vaststellingen": [SETTLEMENT]})
    assert result.counts["Vaststellingen"][NEW] == 1

    assert commitment_year_amounts(session, commitment.id) == {2025: D("150000"), 2026: D("80000")}
    assert commitment_totals(session, commitment.id) == (D("230000"), D("250000"))
    after = programme_figures(session, prog.id, None)
    assert after[2025].free == before[2025].free
    assert after[2026].free - before[2026].free == D("70000")
    assert after[2026].released == D("70000")
    settlement = session.scalar(select(CommitmentSettlement))
    assert (settlement.commitment_id, settlement.date, settlement.amount, settlement.reference, settlement.note) == (
        commitment.id, SETTLED_ON, D("230000"), "VST-2026-1", "Eindverantwoording")
    # The terugvordering, due after the decision's default term, as the service sets it without a date.
    assert (settlement.recovery, settlement.recovery_due) == (D("20000"), date(2026, 4, 26))
    vrijval = session.scalars(select(CommitmentAdjustment).where(
        CommitmentAdjustment.settlement_id == settlement.id)).all()
    assert [(a.year, a.amount, a.date, a.reason, a.reference) for a in vrijval] == [
        (2026, D("-70000"), SETTLED_ON, "Vaststelling VST-2026-1: Eindverantwoording", "VST-2026-1")]
    assert open_advances(session, prog.id, None).total == D("0")
    assert programme_figures(session, prog.id, PEIL_BEFORE) == stand_before
    audit = session.scalar(select(AuditEntry).where(AuditEntry.action == "settle"))
    assert (audit.entity, audit.entity_id) == ("Commitment", commitment.id)
    assert audit.changes_dict["vrijval"] == "70000.00"
    after = audit.changes_dict["after"]
    assert (after["total"], after["reference"], after["recovery"]) == ("230000.00", "VST-2026-1", "20000.00")

    imported(session, {"Betalingen": [REFUND]})
    assert _paid(session, prog)[2026] == D("80000")
    assert recoveries(session, prog.id, None)[0].outstanding == D("0")
    assert programme_figures(session, prog.id, PEIL_BEFORE) == stand_before
    assert verify_chain(session)[0]


def test_the_grant_its_settlement_and_the_refund_in_one_file_in_any_order(session):
    """Rows of one file: the settlement after the grant's rows, the refund dated after it after that."""
    sheets = {**GRANT, "Betalingen": [REFUND, *reversed(GRANT["Betalingen"])], "Vaststellingen": [SETTLEMENT]}
    imported(session, sheets)
    prog, commitment = session.scalar(select(Programme)), _commitment(session)
    assert commitment_year_amounts(session, commitment.id) == {2025: D("150000"), 2026: D("80000")}
    assert session.scalar(select(CommitmentSettlement.recovery)) == D("20000")
    assert _paid(session, prog)[2026] == D("80000")
    assert recoveries(session, prog.id, None)[0].outstanding == D("0")


def test_a_final_payment_after_the_settlement_in_the_same_file_stays_within_the_settled_amount(session):
    final = ["EB-1", "P1", "SUB-1", "01-04-2026", "30.000,01", "Eindbetaling"]
    sheets = {**GRANT, "Vaststellingen": [["SUB-1", "15-03-2026", "280.000", "VST-1", ""]],
              "Betalingen": [*GRANT["Betalingen"], final]}
    [error] = refused(session, sheets)
    assert (error.sheet, error.row) == ("Betalingen", 4) and "€ 0,01 overheen" in plain(error.message)
    final[4] = 30_000
    imported(session, sheets)
    assert commitment_totals(session, _commitment(session).id) == (D("280000"), D("280000"))
    assert session.scalar(select(CommitmentSettlement.recovery)) == D("0")


def test_a_settlement_waits_for_a_payment_that_fits_only_after_a_later_adjustment(session):
    """As the pages allow: the raise dated June entered first, then the payment dated February, then the vaststelling."""
    raised = ["SUB-1", "01-06-2025", 2025, 50_000, "Ophoging", ""]
    sheets = {**GRANT, "Verplichtingen": [["P1", "SUB-1", "20-01-2025", 2025, 100_000]],
              "Betalingen": [["VS-1", "P1", "SUB-1", "01-02-2025", 150_000, "Voorschot"]],
              "Bijstellingen": [], "Vaststellingen": [["SUB-1", "15-03-2026", "150.000", "VST-1", ""]]}
    # Without the raise the payment never fits: both rows are refused, the settlement saying why it did not follow.
    errors = refused(session, sheets)
    assert [(e.sheet, e.column) for e in errors] == [("Betalingen", ""), ("Vaststellingen", "Kenmerk verplichting")]
    assert "daarvan is er een geweigerd" in errors[1].message
    sheets["Bijstellingen"] = [raised]
    imported(session, sheets)
    assert commitment_year_amounts(session, _commitment(session).id) == {2025: D("150000")}
    assert session.scalar(select(CommitmentSettlement.recovery)) == D("0")


# --- round trip --------------------------------------------------------------------------------------


def _settled_by_the_service(session):
    imported(session, GRANT)
    anna = make_user(session, "financieel")
    commitment = _commitment(session)
    budget.settle_commitment(session, anna, commitment, settlement_date=SETTLED_ON, amount="230.000",
                             reference="VST-2026-1", note="Eindverantwoording", recovery_due=date(2026, 5, 1))
    budget.add_payment(session, anna, commitment, payment_date=date(2026, 4, 20), amount="20.000",
                       kind="terugbetaling", reference="TB-1")
    session.commit()
    return session.scalar(select(Programme))


def _figures(session) -> dict:
    prog = session.scalar(select(Programme))
    commitment = _commitment(session)
    return {"now": programme_figures(session, prog.id, None), "then": programme_figures(session, prog.id, PEIL_BEFORE),
            "years": commitment_year_amounts(session, commitment.id),
            "totals": commitment_totals(session, commitment.id),
            "settlement": session.execute(select(CommitmentSettlement.date, CommitmentSettlement.amount,
                                                 CommitmentSettlement.recovery, CommitmentSettlement.reference,
                                                 CommitmentSettlement.note, CommitmentSettlement.recovery_due)).one(),
            "adjustments": session.execute(select(CommitmentAdjustment.date, CommitmentAdjustment.year,
                                                  CommitmentAdjustment.amount, CommitmentAdjustment.reason,
                                                  CommitmentAdjustment.reference)
                                           .where(CommitmentAdjustment.settlement_id.is_not(None))).all()}


def test_the_export_writes_the_settlement_not_its_adjustments_and_reimporting_it_changes_nothing(session):
    prog = _settled_by_the_service(session)
    data = export_bytes(session, prog)
    book = openpyxl.load_workbook(io.BytesIO(data))
    rows = [list(r) for r in book["Vaststellingen"].iter_rows(min_row=2, values_only=True)]
    assert [[r[0], r[1].date(), r[2], r[3], r[4], r[5].date()] for r in rows] == [
        ["SUB-1", SETTLED_ON, 230000, "VST-2026-1", "Eindverantwoording", date(2026, 5, 1)]]
    assert list(book["Bijstellingen"].iter_rows(min_row=2, values_only=True)) == []
    before, figures = counts(session), _figures(session)
    again = run_import(session, ACTOR, data)
    assert again.ok and not again.changed and again.counts["Vaststellingen"][UNCHANGED] == 1
    session.commit()
    assert counts(session) == before and _figures(session) == figures


def test_the_export_into_an_empty_database_gives_the_same_settlement_and_figures(session, other_app):
    prog = _settled_by_the_service(session)
    # The terugvordering's due date, set on the form, travels on the sheet too (_figures compares it).
    data, figures = export_bytes(session, prog), _figures(session)
    service_audit = session.scalar(select(AuditEntry).where(AuditEntry.action == "settle")).changes_dict
    with other_app.app_context():
        s = db.session
        result = run_import(s, ACTOR, data)
        assert result.errors == []
        s.commit()
        assert _figures(s) == figures
        # The import's audit entry reads as the service's.
        audit = s.scalar(select(AuditEntry).where(AuditEntry.action == "settle")).changes_dict
        assert audit.keys() == service_audit.keys() and audit["after"].keys() == service_audit["after"].keys()
        assert [a.keys() for a in audit["adjustments"]] == [a.keys() for a in service_audit["adjustments"]]
        before = counts(s)
        again = run_import(s, ACTOR, data)
        assert again.ok and not again.changed
        s.commit()
        assert counts(s) == before


# --- refusals ------------------------------------------------------------------------------------------


def _service_says(session, call) -> str:
    with pytest.raises(DomainError) as refusal:
        call()
    session.rollback()
    return refusal.value.message


@pytest.mark.parametrize(("row", "column", "words"), [
    (["SUB-1", "15-03-2026", "300.000,01", "VST-1", ""], "Vastgesteld bedrag", "nooit hoger uit dan de verlening"),
    (["SUB-1", "05-01-2026", "230.000", "VST-1", ""], "Datum", "nog € 100.000,00 betaald"),
    (["SUB-1", "19-01-2025", "230.000", "VST-1", ""], "Datum", "vóór de ondertekening"),
    (["SUB-1", "01-01-2099", "230.000", "VST-1", ""], "Datum", "niet na vandaag"),
    (["SUB-1", "15-03-2026", "-1", "VST-1", ""], "Vastgesteld bedrag", "niet negatief"),
    (["SUB-1", "15-03-2026", "230.000", "", ""], "Kenmerk", "Vul het kenmerk van de vaststellingsbeschikking in."),
    (["SUB-9", "15-03-2026", "230.000", "VST-1", ""], "Kenmerk verplichting", "bestaat niet"),
])
def test_a_refused_settlement_row_leaves_the_database_unchanged(session, grant, row, column, words):
    figures = programme_figures(session, grant.id, None)
    [error] = refused(session, {"Vaststellingen": [row]})
    assert (error.sheet, error.row, error.column) == ("Vaststellingen", 2, column)
    assert words in plain(error.message)
    assert programme_figures(session, grant.id, None) == figures
    assert session.scalar(select(CommitmentSettlement)) is None


def test_the_import_refuses_in_the_services_words(session, grant):
    """Each refusal the service gives, the import gives to the letter (more cases: test_rule_parity)."""
    anna, commitment = make_user(session, "financieel"), _commitment(session)
    session.commit()
    above = _service_says(session, lambda: budget.settle_commitment(
        session, anna, commitment, settlement_date=SETTLED_ON, amount="300.000,01", reference="VST-1"))
    assert [e.message for e in refused(session, {"Vaststellingen": [["SUB-1", "15-03-2026", "300.000,01", "VST-1",
                                                                     ""]]})] == [above]
    budget.close_period(session, anna, grant, date(2026, 3, 31))
    session.commit()
    closed = _service_says(session, lambda: budget.settle_commitment(
        session, anna, commitment, settlement_date=SETTLED_ON, amount="230.000", reference="VST-1"))
    [error] = refused(session, {"Vaststellingen": [SETTLEMENT]})
    assert (error.column, error.message) == ("Datum", closed)


def test_a_voorschot_dated_after_the_settlement_in_the_same_file_is_refused_by_the_settlement(session):
    sheets = {**GRANT, "Vaststellingen": [SETTLEMENT],
              "Betalingen": [*GRANT["Betalingen"], ["VS-3", "P1", "SUB-1", "01-04-2026", 10_000, "Voorschot"]]}
    [error] = refused(session, sheets)
    assert (error.sheet, error.column) == ("Vaststellingen", "Datum")
    assert plain(error.message) == ("Na 15 maart 2026 is er nog € 10.000,00 betaald op verplichting SUB-1; een vaststelling "
                                    "is gedateerd op of na de laatste betaling.")


def test_rows_on_a_commitment_settled_in_the_database_meet_what_the_settlement_leaves(session, grant):
    anna, commitment = make_user(session, "financieel"), _commitment(session)
    imported(session, {"Vaststellingen": [SETTLEMENT]})
    said = {
        "Vaststellingen": _service_says(session, lambda: budget.settle_commitment(
            session, anna, commitment, settlement_date=SETTLED_ON, amount="200.000", reference="VST-2")),
        "Bijstellingen": _service_says(session, lambda: budget.adjust_commitment(
            session, anna, commitment, adjustment_date=date(2026, 4, 1), changes={2026: "-1.000"},
            reason="Correctie")),
        "voorschot": _service_says(session, lambda: budget.add_payment(
            session, anna, commitment, payment_date=date(2026, 4, 1), amount="1.000", kind="voorschot")),
        "te veel terug": _service_says(session, lambda: budget.add_payment(
            session, anna, commitment, payment_date=date(2026, 4, 1), amount="20.000,01", kind="terugbetaling")),
        "te vroeg": _service_says(session, lambda: budget.add_payment(
            session, anna, commitment, payment_date=date(2026, 3, 1), amount="5.000", kind="terugbetaling")),
    }
    files = {
        "Vaststellingen": {"Vaststellingen": [["SUB-1", "15-03-2026", "200.000", "VST-2", ""]]},
        "Bijstellingen": {"Bijstellingen": [["SUB-1", "01-04-2026", 2026, "-1.000", "Correctie", ""]]},
        "voorschot": {"Betalingen": [["", "P1", "SUB-1", "01-04-2026", 1_000, "Voorschot"]]},
        "te veel terug": {"Betalingen": [["", "P1", "SUB-1", "01-04-2026", "20.000,01", "Terugbetaling"]]},
        "te vroeg": {"Betalingen": [["", "P1", "SUB-1", "01-03-2026", 5_000, "Terugbetaling"]]},
    }
    for case, sheets in files.items():
        assert [e.message for e in refused(session, sheets)] == [said[case]], case
    # What the service lets through, the import too: the refund of the terugvordering.
    imported(session, {"Betalingen": [REFUND]})


def test_a_settlement_that_raises_an_earlier_year_meets_the_budget_stop(session):
    """Paid € 200.000 in 2025 where € 150.000 was scheduled: the settlement moves € 50.000 into a full 2025."""
    sheets = {**GRANT, "Budget": [["SUB", "Structureel", "Structureel", "", 2025, 150_000],
                                  ["SUB", "Structureel", "Structureel", "", 2026, 500_000]],
              "Betalingen": [["VS-1", "P1", "SUB-1", "01-02-2025", 200_000, "Voorschot"]]}
    imported(session, sheets)
    anna, commitment = make_user(session, "financieel"), _commitment(session)
    session.commit()
    said = _service_says(session, lambda: budget.settle_commitment(
        session, anna, commitment, settlement_date=SETTLED_ON, amount="230.000", reference="VST-1"))
    assert said.startswith("Budgetstop: onvoldoende vrije ruimte in 2025")
    assert [e.message for e in refused(session, {"Vaststellingen": [SETTLEMENT]})] == [said]


def test_with_four_eyes_a_settlement_file_waits_and_is_booked_on_approval(session, grant):
    boss, anna, bram = make_user(session, "beheerder"), make_user(session, "financieel"), make_user(
        session, "financieel")
    approvals.set_four_eyes(session, boss, grant, True, "0")
    session.commit()
    result = run_import(session, anna, xlsx({"Vaststellingen": [SETTLEMENT]}), filename="vaststelling.xlsx")
    assert result.ok and result.pending_id is not None
    session.commit()
    assert session.scalar(select(CommitmentSettlement)) is None
    entry = session.get(PendingEntry, result.pending_id)
    assert entry.kind == "import" and entry.amount == D("70000")
    approvals.approve(session, bram, entry)
    session.commit()
    assert session.scalar(select(CommitmentSettlement.amount)) == D("230000")
    assert commitment_year_amounts(session, _commitment(session).id) == {2025: D("150000"), 2026: D("80000")}
