"""Excel import: the template contract, round trip of the demo programme, idempotence, all-or-nothing errors."""
from __future__ import annotations

import io
from datetime import date
from decimal import Decimal as D

import openpyxl
import pytest
from sqlalchemy import func, select

from budget.breakdowns import breakdown
from budget.demo import load_demo
from budget.ledger import programme_figures
from budget.models import (
    AllocationChange,
    BudgetAllocation,
    BudgetMutation,
    Commitment,
    CommitmentAdjustment,
    Payment,
    StaffingChange,
    StaffingCost,
    StaffingReservation,
)
from core.audit import AuditEntry
from core.db import db
from core.users import User, create_user
from imports.cli import IMPORT_ACTOR
from imports.contract import NEW, SHEETS, UNCHANGED
from imports.services import run_import
from imports.writer import export_bytes, template_bytes
from projects.models import (
    CATEGORIES,
    EXPLOITATION_FORMS,
    LINES,
    ORGANISATION_TYPES,
    STATUSES,
    Organisation,
    Programme,
    Project,
)
from tests.factories import PASSWORD

ACTOR = IMPORT_ACTOR
TABLES = (Programme, Organisation, Project, BudgetAllocation, AllocationChange, BudgetMutation, StaffingReservation,
          StaffingChange, StaffingCost, Commitment, CommitmentAdjustment, Payment, AuditEntry)


def counts(session) -> dict:
    return {t.__name__: session.scalar(select(func.count()).select_from(t)) for t in TABLES}


def xlsx(sheets: dict[str, list[list]], headers: dict | None = None) -> bytes:
    """A workbook with the template headers (or `headers`) and the given rows."""
    wb = openpyxl.Workbook()
    wb.remove(wb.active)
    for name, rows in sheets.items():
        ws = wb.create_sheet(name)
        ws.append((headers or {}).get(name, SHEETS[name]))
        for row in rows:
            ws.append(row)
    out = io.BytesIO()
    wb.save(out)
    return out.getvalue()


def small_programme(**overrides) -> dict[str, list[list]]:
    """A complete little programme: 1 M a year 2025-2026, one project with a commitment and a payment."""
    sheets = {
        "Programma": [["TST", "Testprogramma", "Ministerie van JenV", "33", 2025, 2026]],
        "Budget": [["TST", "Structureel", "Structureel", "Kst 1", 2025, 1_000_000],
                   ["TST", "Structureel", "structureel", "Kst 1", 2026, "1.000.000,00"]],
        "Mutaties": [["TST", 2025, -100_000, "Kasschuif", "Najaarsnota", "Later begonnen", "", "01-11-2025", "A"],
                     ["TST", 2026, "100.000", "kasschuif", "najaarsnota", "Later begonnen", "", "01-11-2025", "A"]],
        "Ambtelijke ondersteuning": [["TST", 2025, "1,5", 150_000]],
        "Personeelskosten": [["PK-1", "TST", "31-03-2025", 30_000, "Q1"]],
        "Organisaties": [["Stichting Test", "Ngo"]],
        "Projecten": [["TST", "P1", "Eerste project", "Samenvatting", "Op de plank", "Zicht op slachtoffers",
                       "Seksuele uitbuiting; arbeidsuitbuiting", "Stichting Test", "Subsidie", "In uitvoering",
                       date(2025, 1, 1), "31-12-2026", "500.000", "", "", "", ""]],
        "Verplichtingen": [["P1", "BS-1", "15-01-2025", 2025, 200_000], ["P1", "BS-1", "15-01-2025", 2026, 300_000]],
        "Betalingen": [["BET-1", "P1", "BS-1", "01-02-2025", 150_000, "Voorschot"],
                       ["BET-2", "P1", "BS-1", "01-06-2025", 10_000, "Terugbetaling"]],
        "Bijstellingen": [["BS-1", "01-12-2025", 2025, -40_000, "Lagere vaststelling", "V-1"]],
    }
    sheets.update(overrides)
    return sheets


# --- A second, empty database (for the round trip) -------------------------------------------


def _ledger(session, code: str) -> dict:
    """Every figure a report shows, per year, for all entries and at several peildatums."""
    programme = session.scalar(select(Programme).where(Programme.code == code))
    result = {}
    for peildatum in [None, date(2023, 6, 30), date(2024, 12, 31), date(2025, 6, 30), date(2026, 12, 31)]:
        figures = programme_figures(session, programme.id, peildatum, range(2023, 2029))
        result[str(peildatum)] = {y: (f.structural, f.incidental, f.mutations, f.staffing, f.committed_projects,
                                      f.paid, f.free) for y, f in figures.items()}
    for year in range(2023, 2029):
        for by in ("category", "line"):
            result[f"{by}{year}"] = {k: (g.projects, g.committed, g.paid, g.pipeline)
                                     for k, g in breakdown(session, programme.id, year, None, by).items()}
    return result


def _demo_export(session) -> tuple[bytes, dict, list]:
    load_demo(session, with_users=True)
    session.commit()
    users = [(u.email, u.name, u.role) for u in session.scalars(select(User))]
    return export_bytes(session, session.scalar(select(Programme).where(Programme.code == "STM"))), \
        _ledger(session, "STM"), users


def _reversed_rows(data: bytes) -> bytes:
    """The same workbook with every sheet's rows in reverse order."""
    wb = openpyxl.load_workbook(io.BytesIO(data))
    for ws in wb.worksheets:
        if ws.title == "Toelichting":
            continue
        rows = [list(r) for r in ws.iter_rows(min_row=2, values_only=True)]
        ws.delete_rows(2, ws.max_row)
        for row in reversed(rows):
            ws.append(row)
    out = io.BytesIO()
    wb.save(out)
    return out.getvalue()


# --- Template --------------------------------------------------------------------------------


def test_template_has_every_sheet_header_and_a_toelichting_with_all_allowed_values():
    wb = openpyxl.load_workbook(io.BytesIO(template_bytes()))
    for name, headers in SHEETS.items():
        assert [c.value for c in wb[name][1]] == headers
    issue_headers = {
        "Programma": ["Code", "Naam", "Ministerie", "Begrotingsartikel", "Eerste jaar"],
        "Verplichtingen": ["Projectcode", "Kenmerk", "Datum", "Jaar", "Bedrag"],
        "Betalingen": ["Kenmerk", "Projectcode", "Kenmerk verplichting", "Datum", "Bedrag", "Soort"],
    }
    for name, headers in issue_headers.items():
        assert [c.value for c in wb[name][1]][:len(headers)] == headers
    notes = {c.value for row in wb["Toelichting"].iter_rows() for c in row if c.value}
    for labels in (CATEGORIES, LINES, EXPLOITATION_FORMS, STATUSES, ORGANISATION_TYPES):
        assert set(labels.values()) <= notes
    # Drop-downs on the coded columns point at the lists on the Toelichting sheet.
    formulas = {dv.formula1 for dv in wb["Projecten"].data_validations.dataValidation}
    assert any(f.startswith("Toelichting!") for f in formulas)


def test_cli_template_writes_the_workbook(runner, tmp_path):
    out = tmp_path / "sjabloon.xlsx"
    result = runner.invoke(args=["import", "template", str(out)])
    assert result.exit_code == 0, result.output
    assert openpyxl.load_workbook(out).sheetnames[:2] == ["Programma", "Budget"]


# --- Round trip ------------------------------------------------------------------------------


@pytest.mark.parametrize("reverse", [False, True], ids=["file-order", "rows-reversed"])
def test_demo_round_trip_gives_identical_figures_and_a_second_import_changes_nothing(session, other_app, reverse):
    data, figures, users = _demo_export(session)
    if reverse:
        data = _reversed_rows(data)
    with other_app.app_context():
        s = db.session
        for email, name, role in users:
            create_user(s, ACTOR, email, name, role, PASSWORD)
        s.commit()
        result = run_import(s, ACTOR, data)
        assert result.errors == []
        s.commit()
        assert _ledger(s, "STM") == figures
        assert s.scalar(select(func.count()).select_from(Project)) == 26
        before = counts(s)
        again = run_import(s, ACTOR, data)
        assert again.ok and not again.changed and not again.must_write
        assert all(c[NEW] == 0 and c["gewijzigd"] == 0 for c in again.counts.values())
        s.commit()
        assert counts(s) == before


def test_importing_the_export_into_its_own_database_changes_nothing(session, runner, tmp_path):
    data, _figures, _users = _demo_export(session)
    before = counts(session)
    path = tmp_path / "stm.xlsx"
    path.write_bytes(data)
    result = runner.invoke(args=["import", "run", str(path)])
    assert result.exit_code == 0, result.output
    assert "Niets gewijzigd" in result.output
    assert counts(session) == before


# --- Create, update, idempotence -------------------------------------------------------------


def test_small_programme_is_created_audited_as_one_import_and_idempotent(session):
    data = xlsx(small_programme())
    result = run_import(session, ACTOR, data, filename="klein.xlsx")
    assert result.errors == []
    session.commit()
    programme = session.scalar(select(Programme).where(Programme.code == "TST"))
    project = session.scalar(select(Project).where(Project.code == "P1"))
    assert (project.category, project.line, project.status) == ("op_de_plank", "zicht_op_slachtoffers",
                                                                  "in_uitvoering")
    assert sorted(project.form_codes) == ["arbeidsuitbuiting", "seksuele_uitbuiting"]
    refund = session.scalar(select(Payment).where(Payment.reference == "BET-2"))
    assert refund.amount == D("-10000.00")  # written positive, always lowers the paid total
    figures = programme_figures(session, programme.id, None)
    assert figures[2025].mutations == D("-100000.00") and figures[2026].mutations == D("100000.00")
    assert figures[2025].committed_projects == D("160000.00")
    assert figures[2025].paid == D("170000.00")  # 150.000 - 10.000 + 30.000 staffing
    imports = session.scalars(select(AuditEntry).where(AuditEntry.action == "import")).all()
    assert len(imports) == 1 and imports[0].changes_dict["after"]["counts"]["Betalingen"][NEW] == 2
    assert imports[0].actor_label == "systeem (import)"

    before = counts(session)
    again = run_import(session, ACTOR, data)
    assert again.ok and not again.changed
    assert again.counts["Verplichtingen"][UNCHANGED] == 2
    session.commit()
    assert counts(session) == before


def test_a_changed_row_updates_its_record_with_an_audit_entry(session):
    run_import(session, ACTOR, xlsx(small_programme()))
    session.commit()
    changed = small_programme()
    changed["Budget"][1][5] = 1_200_000
    changed["Organisaties"] = [["stichting test", "Gemeente"]]
    changed["Projecten"][0][2] = "Nieuwe titel"
    changed["Projecten"][0][9] = "Afgerond"
    changed["Ambtelijke ondersteuning"] = [["TST", 2025, "2", 160_000]]
    result = run_import(session, ACTOR, xlsx(changed))
    assert result.errors == []
    assert result.counts["Budget"]["gewijzigd"] == 1 and result.counts["Budget"][UNCHANGED] == 1
    session.commit()
    project = session.scalar(select(Project).where(Project.code == "P1"))
    assert (project.title, project.status) == ("Nieuwe titel", "afgerond")
    assert session.scalar(select(Organisation.type)) == "gemeente"
    alloc = session.scalar(select(BudgetAllocation).where(BudgetAllocation.year == 2026))
    assert alloc.amount == D("1200000.00")
    updates = session.scalars(select(AuditEntry.entity).where(AuditEntry.action == "update")).all()
    assert {"BudgetAllocation", "Organisation", "Project", "StaffingReservation"} <= set(updates)


def test_a_changed_commitment_schedule_is_refused_and_points_to_an_adjustment(session):
    run_import(session, ACTOR, xlsx(small_programme()))
    session.commit()
    before = counts(session)
    changed = small_programme(Verplichtingen=[["P1", "BS-1", "15-01-2025", 2025, 250_000],
                                              ["P1", "BS-1", "15-01-2025", 2026, 300_000]])
    result = run_import(session, ACTOR, xlsx(changed))
    assert not result.ok
    [error] = result.errors
    assert (error.sheet, error.row, error.column) == ("Verplichtingen", 2, "Kenmerk")
    assert "bijstelling" in error.message
    session.rollback()
    assert counts(session) == before


def test_dry_run_reports_counts_and_writes_nothing(session, runner, tmp_path):
    path = tmp_path / "klein.xlsx"
    path.write_bytes(xlsx(small_programme()))
    before = counts(session)
    result = runner.invoke(args=["import", "run", str(path), "--dry-run"])
    assert result.exit_code == 0, result.output
    assert "Proefimport" in result.output
    line = next(line for line in result.output.splitlines() if line.startswith("Verplichtingen"))
    assert line.split()[1:] == ["2", "0", "0"]
    assert counts(session) == before
    ok = runner.invoke(args=["import", "run", str(path)])
    assert ok.exit_code == 0 and "Import opgeslagen" in ok.output
    assert counts(session)["Commitment"] == 1


# --- Errors: all of them, and nothing written -------------------------------------------------


def test_every_error_is_listed_with_sheet_row_and_column_and_nothing_is_written(session):
    sheets = small_programme()
    sheets["Budget"][0][5] = "12,345"  # three decimals
    sheets["Projecten"][0][4] = "Onbekend"
    sheets["Betalingen"][1][3] = "31-02-2025"
    sheets["Mutaties"][1][2] = 90_000  # kasschuif no longer nets to zero
    result = run_import(session, ACTOR, xlsx(sheets))
    where = {(e.sheet, e.row, e.column) for e in result.errors}
    assert {("Budget", 2, "Bedrag"), ("Projecten", 2, "Categorie"), ("Betalingen", 3, "Datum")} <= where
    assert any("Op de plank" in e.message for e in result.errors)  # names the allowed labels
    session.rollback()
    assert counts(session)["Programme"] == 0 and counts(session)["AuditEntry"] == 0


def test_budget_rules_are_checked_on_the_whole_file(session):
    # Together the two commitments need more than 2025 has: refused, naming the year.
    sheets = small_programme(Verplichtingen=[["P1", "BS-1", "15-01-2025", 2025, 500_000],
                                             ["P1", "BS-2", "16-01-2025", 2025, 300_000]],
                             Betalingen=[], Bijstellingen=[])
    result = run_import(session, ACTOR, xlsx(sheets))
    assert not result.ok
    assert any("2025" in e.message and "Budgetstop" in e.message for e in result.errors)
    session.rollback()
    assert counts(session)["Commitment"] == 0


def test_overpaying_a_commitment_is_refused(session):
    sheets = small_programme(Betalingen=[["BET-1", "P1", "BS-1", "01-02-2025", 600_000, "Betaling"]])
    result = run_import(session, ACTOR, xlsx(sheets))
    assert [(e.sheet, e.row) for e in result.errors] == [("Betalingen", 2)]
    assert "BS-1" in result.errors[0].message


def test_missing_header_and_unknown_reference_are_named(session):
    headers = {"Organisaties": ["Naam"]}
    sheets = small_programme(Organisaties=[["Stichting Test"]])
    sheets["Betalingen"][0][2] = "BS-404"
    result = run_import(session, ACTOR, xlsx(sheets, headers))
    assert ("Organisaties", 1, "Type") in {(e.sheet, e.row, e.column) for e in result.errors}
    result = run_import(session, ACTOR, xlsx(small_programme(Betalingen=[["X", "P1", "BS-404", "01-02-2025", 1,
                                                                          "Betaling"]])))
    assert ("Betalingen", 2, "Kenmerk verplichting") in {(e.sheet, e.row, e.column) for e in result.errors}


def big_file(bad: tuple[str, int, str, object] | None = None, payments: int = 4100) -> bytes:
    """About 5,000 rows: 300 projects, 300 commitments over two years, many payments."""
    sheets = small_programme(Mutaties=[], Bijstellingen=[], Personeelskosten=[])
    sheets["Budget"] = [["TST", "Structureel", "Structureel", "", 2025, 90_000_000],
                        ["TST", "Structureel", "Structureel", "", 2026, 90_000_000]]
    base = sheets["Projecten"][0]
    sheets["Projecten"] = [[*base[:1], f"P{i:04d}", f"Project {i}", *base[3:]] for i in range(300)]
    sheets["Verplichtingen"] = [[f"P{i:04d}", f"BS-{i:04d}", "15-01-2025", year, 100_000]
                                for i in range(300) for year in (2025, 2026)]
    sheets["Betalingen"] = [[f"BET-{n:05d}", f"P{n % 300:04d}", f"BS-{n % 300:04d}", "01-03-2025", 10, "Betaling"]
                            for n in range(payments)]
    if bad:
        sheet, row, column, value = bad
        sheets[sheet][row - 2][SHEETS[sheet].index(column)] = value
    return xlsx(sheets)


@pytest.mark.parametrize("bad", [
    ("Betalingen", 2, "Bedrag", "tien euro"),
    ("Betalingen", 2500, "Datum", "2025-13-01"),
    ("Betalingen", 3801, "Soort", "Cadeau"),
    ("Verplichtingen", 400, "Jaar", 1850),
    ("Projecten", 150, "Programmalijn", "Onbekende lijn"),
    ("Budget", 3, "Bedrag", "1.000.000,001"),
], ids=lambda b: f"{b[0]}-{b[1]}-{b[2]}")
def test_a_5000_row_file_with_one_bad_cell_is_refused_naming_it_and_writes_nothing(session, bad):
    result = run_import(session, ACTOR, big_file(bad))
    assert result.rows >= 5000
    assert [(e.sheet, e.row, e.column) for e in result.errors] == [bad[:3]]
    session.rollback()
    assert all(n == 0 for n in counts(session).values())


def test_a_status_change_walks_the_lifecycle_and_an_impossible_one_is_refused(session):
    sheets = small_programme(Verplichtingen=[], Betalingen=[], Bijstellingen=[])
    sheets["Projecten"][0][9] = "Voorstel"
    run_import(session, ACTOR, xlsx(sheets))
    session.commit()
    sheets["Projecten"][0][9] = "in uitvoering"
    assert run_import(session, ACTOR, xlsx(sheets)).errors == []
    session.commit()
    project = session.scalar(select(Project).where(Project.code == "P1"))
    assert project.status == "in_uitvoering"
    assert [u.status for u in project.updates] == ["in_behandeling", "toegekend", "in_uitvoering"]
    sheets["Projecten"][0][9] = "Voorstel"
    [error] = run_import(session, ACTOR, xlsx(sheets)).errors
    assert (error.sheet, error.column) == ("Projecten", "Status") and "Voorstel" in error.message


def test_amounts_from_excel_formulas_are_read_to_the_cent(session):
    sheets = small_programme(Verplichtingen=[], Betalingen=[], Bijstellingen=[])
    sheets["Projecten"][0][12] = 0.1 + 0.2  # what a formula like =0,1+0,2 leaves in the cell
    assert run_import(session, ACTOR, xlsx(sheets)).errors == []
    assert session.scalar(select(Project.requested_amount)) == D("0.30")
    session.rollback()
    sheets["Projecten"][0][12] = 12.345
    [error] = run_import(session, ACTOR, xlsx(sheets)).errors
    assert (error.sheet, error.row, error.column) == ("Projecten", 2, "Gevraagd bedrag")


def test_a_workbook_without_template_sheets_is_refused_not_reported_as_unchanged(session):
    result = run_import(session, ACTOR, _other_workbook())
    assert not result.ok and "sjabloon" in result.errors[0].message


def _other_workbook() -> bytes:
    wb = openpyxl.Workbook()
    wb.active.title = "Blad1"
    wb.active.append(["iets", "anders"])
    out = io.BytesIO()
    wb.save(out)
    return out.getvalue()


# --- Bulk writing: the trail per object, the chain, and what comes after ----------------------


def test_every_object_the_import_made_has_its_audit_entry_and_the_chain_verifies(session, other_app):
    from core.audit import verify_chain

    data, _figures, users = _demo_export(session)
    with other_app.app_context():
        s = db.session
        for email, name, role in users:
            create_user(s, ACTOR, email, name, role, PASSWORD)
        s.commit()
        assert run_import(s, ACTOR, data, filename="stm.xlsx").errors == []
        s.commit()
        audited = {(e.entity, e.entity_id): e for e in s.scalars(select(AuditEntry))}
        for model in (Programme, Organisation, Project, Commitment, Payment):
            ids = s.scalars(select(model.id)).all()
            assert ids, model.__name__
            assert [i for i in ids if (model.__name__, i) not in audited] == [], model.__name__
        payment = s.scalar(select(Payment).order_by(Payment.id).limit(1))
        after = audited[("Payment", payment.id)].changes_dict["after"]
        assert (after["id"], after["amount"], after["date"]) == (payment.id, str(payment.amount),
                                                                 payment.date.isoformat())
        project = s.scalar(select(Project).where(Project.predecessor_id.is_not(None)).limit(1))
        assert audited[("Project", project.id)].changes_dict["after"]["predecessor_id"] == project.predecessor_id
        assert verify_chain(s)[0]


def test_the_services_write_normally_after_a_bulk_import(session):
    """Ids handed out by the import leave the sequences where the next ordinary write expects them."""
    from budget.services import add_payment
    from core.audit import verify_chain
    from projects.services import create_project

    assert run_import(session, ACTOR, xlsx(small_programme())).errors == []
    session.commit()
    programme = session.scalar(select(Programme))
    project = create_project(session, ACTOR, programme, {
        "code": "P2", "title": "Na de import", "category": "nieuw", "line": "zorg", "instrument": "subsidie",
        "forms": ["overig"]})
    commitment = session.scalar(select(Commitment))
    payment = add_payment(session, ACTOR, commitment, payment_date=date(2025, 7, 1), amount="1.000", kind="betaling")
    session.commit()
    assert project.id > session.scalar(select(func.min(Project.id)))
    assert payment.id > session.scalar(select(func.min(Payment.id)))
    assert verify_chain(session)[0]


def test_payments_are_replayed_by_date_whatever_their_order_in_the_file(session):
    # The refund comes first in the file but last by date: fine. A refund beyond what is paid is not.
    sheets = small_programme(Betalingen=[["BET-2", "P1", "BS-1", "01-06-2025", 10_000, "Terugbetaling"],
                                         ["BET-1", "P1", "BS-1", "01-02-2025", 150_000, "Voorschot"]])
    assert run_import(session, ACTOR, xlsx(sheets)).errors == []
    session.rollback()
    sheets = small_programme(Betalingen=[["BET-1", "P1", "BS-1", "01-02-2025", 5_000, "Voorschot"],
                                         ["BET-2", "P1", "BS-1", "01-06-2025", 10_000, "Terugbetaling"]])
    [error] = run_import(session, ACTOR, xlsx(sheets)).errors
    assert (error.sheet, error.row, error.column) == ("Betalingen", 3, "Bedrag")
    assert "terugbetaling" in error.message.lower()


def test_a_follow_up_listed_before_its_predecessor_and_a_cycle(session):
    sheets = small_programme(Verplichtingen=[], Betalingen=[], Bijstellingen=[])
    base = sheets["Projecten"][0]
    vervolg = [*base[:1], "P2", "Vervolg", *base[3:4], "Vervolg", *base[5:13], "P1", *base[14:]]
    sheets["Projecten"] = [vervolg, base]
    assert run_import(session, ACTOR, xlsx(sheets)).errors == []
    p1, p2 = (session.scalar(select(Project).where(Project.code == c)) for c in ("P1", "P2"))
    assert p2.predecessor_id == p1.id
    session.rollback()
    sheets["Projecten"] = [vervolg, [*vervolg[:1], "P1", "Eerste", *vervolg[3:13], "P2", *vervolg[14:]]]
    errors = run_import(session, ACTOR, xlsx(sheets)).errors
    assert {(e.sheet, e.column) for e in errors} == {("Projecten", "Vervolg op")} and len(errors) == 2


def test_new_rows_on_an_existing_commitment_meet_its_current_totals(session):
    # BS-1 is 500.000 - 40.000 (adjustment) with 140.000 paid: 320.000 left.
    run_import(session, ACTOR, xlsx(small_programme()))
    session.commit()
    more = small_programme(Betalingen=small_programme()["Betalingen"] + [
        ["BET-3", "P1", "BS-1", "01-03-2026", 320_000, "Eindbetaling"]])
    result = run_import(session, ACTOR, xlsx(more))
    assert result.errors == [] and result.counts["Betalingen"][NEW] == 1
    session.rollback()
    more["Betalingen"][-1][4] = 320_000.01
    [error] = run_import(session, ACTOR, xlsx(more)).errors
    assert (error.sheet, error.row) == ("Betalingen", 4) and "BS-1" in error.message
    session.rollback()
    lower = small_programme(Bijstellingen=small_programme()["Bijstellingen"] + [
        ["BS-1", "01-02-2026", 2025, -160_000, "Niet uitgevoerd", "V-2"],
        ["BS-1", "01-02-2026", 2026, -300_000, "Niet uitgevoerd", "V-2"]])
    [error] = run_import(session, ACTOR, xlsx(lower)).errors
    assert (error.sheet, error.column) == ("Bijstellingen", "Bedrag") and "betaald" in error.message


def test_an_adjustment_of_two_years_on_an_existing_commitment_is_written_row_by_row(session):
    run_import(session, ACTOR, xlsx(small_programme()))
    session.commit()
    rows = [["BS-1", "01-02-2026", 2025, -10_000, "Minder nodig", "V-2"],
            ["BS-1", "01-02-2026", 2026, -20_000, "Minder nodig", "V-2"]]
    result = run_import(session, ACTOR, xlsx({"Bijstellingen": rows}))
    assert result.errors == [] and result.counts["Bijstellingen"][NEW] == 2
    session.commit()
    assert sorted(session.scalars(select(CommitmentAdjustment.amount)
                                  .where(CommitmentAdjustment.reference == "V-2"))) == [D("-20000"), D("-10000")]


def test_an_adjustment_alone_on_an_existing_commitment_meets_the_budget_stop(session):
    # 2026: 1.100.000 available, 300.000 committed: an adjustment of + 800.000,01 leaves it short.
    run_import(session, ACTOR, xlsx(small_programme()))
    session.commit()
    before = counts(session)
    [error] = run_import(session, ACTOR, xlsx({"Bijstellingen": [
        ["BS-1", "01-02-2026", 2026, "800.000,01", "Meer nodig", "V-2"]]})).errors
    assert error.message.startswith("Budgetstop: onvoldoende vrije ruimte in 2026")
    session.rollback()
    assert counts(session) == before
