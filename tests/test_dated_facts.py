"""Dated facts: the live report at a past peildatum equals, cell for cell, the snapshot made that day."""
from __future__ import annotations

import html as html_module
import io
import re
from datetime import date, timedelta
from decimal import Decimal as D

import openpyxl
import pytest
from sqlalchemy import func, select

from bench.generate import generate
from budget import services as budget
from budget.demo import DEMO_CODE, load_demo
from budget.ledger import commitment_totals, programme_figures
from budget.models import (
    UNDATED_FROM,
    AllocationChange,
    BudgetAllocation,
    Commitment,
    FundingSource,
    StaffingChange,
    StaffingReservation,
)
from core.audit import AuditEntry
from core.db import db
from imports.cli import IMPORT_ACTOR
from imports.services import run_import
from imports.writer import export_bytes
from projects import services as portfolio
from projects.models import PIPELINE_STATUSES, Programme, Project
from reports import excel, services
from reports.queries import live_frames
from tests.factories import TEST_ACTOR, fund, login, make_programme, make_user
from tests.test_import import xlsx


def _cells(rf) -> dict:
    """Every cell of the workbook but the Verantwoording, which names the snapshot or says it is live."""
    book = openpyxl.load_workbook(io.BytesIO(excel.build_workbook(rf)))
    return {ws.title: [list(row) for row in ws.iter_rows(values_only=True)]
            for ws in book if ws.title != "Verantwoording"}


def _room(session, commitment) -> D:
    total, paid = commitment_totals(session, commitment.id)
    return total - paid


def _book_after(session, fin, programme: Programme, peil: date) -> None:
    """Book every kind of fact, dated after the peildatum, that moves a figure of the peildatum's year."""
    year, after = peil.year, lambda days: peil + timedelta(days=days)
    source = session.scalars(select(FundingSource).where(FundingSource.programme_id == programme.id)
                             .order_by(FundingSource.id)).first()
    current = {a.year: a.amount for a in source.allocations}
    budget.set_allocations(session, fin, source, {year: current.get(year, D(0)) + D("1000000"),
                                                  year + 1: current.get(year + 1, D(0)) + D("500000")},
                           valid_from=after(1))
    budget.add_funding_source(session, fin, programme, "Later gevonden", "incidenteel", "Najaarsnota",
                              {year: "250.000", year + 1: "100.000"}, valid_from=after(2))
    budget.add_mutation(session, fin, programme, year=year, amount="50.000", kind="beleidsmatig",
                        moment="najaarsnota", reason="Na de peildatum", mutation_date=after(3))
    budget.add_kasschuif(session, fin, programme, amounts={year: "-10.000", year + 1: "10.000"},
                         moment="najaarsnota", reason="Kasschuif na de peildatum", mutation_date=after(4))
    reservation = session.scalar(select(StaffingReservation).where(
        StaffingReservation.programme_id == programme.id, StaffingReservation.year == year))
    budget.set_staffing_reservation(session, fin, programme, year=year, fte=reservation.fte + D("0.5"),
                                    amount=reservation.amount + D("20000"), valid_from=after(5))
    budget.add_staffing_cost(session, fin, reservation, cost_date=min(after(6), date(year, 12, 31)),
                             amount="1.000", description="Na de peildatum")
    # A settled commitment takes no adjustment or ordinary payment any more (settlement_rules.not_settled).
    signed = [c for c in session.scalars(select(Commitment).join(Project).where(
        Project.programme_id == programme.id, Commitment.signed_date <= peil).order_by(Commitment.id))
        if c.settlement is None]
    with_room = next(c for c in signed if _room(session, c) >= 1000)
    budget.add_payment(session, fin, with_room, payment_date=after(7), amount="1.000", kind="betaling")
    budget.adjust_commitment(session, fin, signed[0], adjustment_date=after(8), changes={year: "5.000"},
                             reason="Hogere vaststelling na de peildatum")
    # A new commitment on a project that already had money, one on a project still in preparation and
    # one on a rejected project (which a report leaves out unless it got money).
    pipeline = session.scalar(select(Project).where(
        Project.programme_id == programme.id, Project.status.in_(PIPELINE_STATUSES),
        Project.requested_amount.is_not(None)).order_by(Project.id))
    rejected = session.scalar(select(Project).where(
        Project.programme_id == programme.id, Project.status == "afgewezen", ~Project.id.in_(
            select(Commitment.project_id))).order_by(Project.id))
    for n, project in enumerate(p for p in (signed[0].project, pipeline, rejected) if p is not None):
        budget.add_commitment(session, fin, project, reference=f"NA-PEIL-{n}", signed_date=after(9 + n),
                              total="50.000", schedule={year: "30.000", year + 1: "20.000"})
    # Status and existence are dated too: a pipeline project rejected after the peildatum (its requested
    # amount left the pipeline today, not then), a running one finished, and a project entered today.
    # Master data (title, category, line, organisation) is current-valued, so nothing here edits it.
    other = session.scalar(select(Project).where(
        Project.programme_id == programme.id, Project.status.in_(PIPELINE_STATUSES),
        Project.requested_amount.is_not(None), Project.id != pipeline.id).order_by(Project.id))
    running = session.scalar(select(Project).where(
        Project.programme_id == programme.id, Project.status == "in_uitvoering",
        Project.id.in_(select(Commitment.project_id).where(Commitment.signed_date <= peil))).order_by(Project.id))
    portfolio.add_status_update(session, fin, other, status="afgewezen", rag="op_koers", update_date=after(12),
                                public_text="Afgewezen na de peildatum")
    portfolio.add_status_update(session, fin, running, status="afgerond", rag="op_koers", update_date=after(13),
                                public_text="Afgerond na de peildatum")
    portfolio.create_project(session, fin, programme, {
        "code": "NA-PEIL", "title": "Project na de peildatum", "category": "nieuw", "line": "preventie",
        "instrument": "subsidie", "forms": ["overig"], "status": "in_behandeling", "requested_amount": "75.000"})
    session.flush()


def _snapshot_equals_live(session, programme: Programme, peil: date, years) -> None:
    fin = make_user(session, "financieel")
    snap = services.create_snapshot(session, fin, programme, peil, "Stand op de peildatum")
    session.commit()
    before = programme_figures(session, programme.id, None, [peil.year])[peil.year]
    _book_after(session, fin, programme, peil)
    session.commit()
    # The changes did move the stand as it is today, so the comparison below is not empty-handed.
    assert programme_figures(session, programme.id, None, [peil.year])[peil.year] != before
    for year in years:
        for internal in (False, True):
            frozen = _cells(services.snapshot_frames(snap, year, internal))
            live = _cells(live_frames(session, programme, year, peil, internal))
            assert live.keys() == frozen.keys()
            for sheet in frozen:
                assert live[sheet] == frozen[sheet], (year, internal, sheet)


def test_live_report_at_a_past_peildatum_equals_the_snapshot_demo(session):
    load_demo(session, with_users=False)
    session.commit()
    programme = session.scalar(select(Programme).where(Programme.code == DEMO_CODE))
    _snapshot_equals_live(session, programme, date(2025, 6, 30), range(2023, 2029))


@pytest.mark.slow
def test_live_report_at_a_past_peildatum_equals_the_snapshot_generated(session):
    generate(session, 1000, 1, seed=13)
    session.commit()
    programme = session.scalars(select(Programme).order_by(Programme.id.desc())).first()
    _snapshot_equals_live(session, programme, date(2024, 6, 30), (2020, 2024, 2025))


def test_a_carried_over_allocation_counts_at_every_peildatum(session):
    """What the migration relies on: a change dated UNDATED_FROM counts at any peildatum."""
    prog = make_programme(session, TEST_ACTOR)
    source = budget.add_funding_source(session, TEST_ACTOR, prog, "Oud", "structureel", "", {2024: "100"},
                                       valid_from=UNDATED_FROM)
    session.flush()
    for peil in (date(1900, 1, 1), date(2000, 1, 1), date(2024, 6, 30)):
        assert programme_figures(session, prog.id, peil, [2024])[2024].structural == D("100.00")
    assert source.allocations[0].changes[0].valid_from == UNDATED_FROM



def test_migration_0011_carries_undated_rows_over_without_changing_a_figure(app, session):
    """Undated allocations and reservations (revision 0010) count at every peildatum, before and after 0011."""
    import flask_migrate

    load_demo(session, with_users=False)
    session.commit()
    programme_id = session.scalar(select(Programme.id).where(Programme.code == DEMO_CODE))
    days = [date(1990, 1, 1), date(2022, 12, 31), date(2023, 6, 30), date(2024, 12, 31), date(2026, 11, 1), None]
    years = range(2023, 2029)
    undated = ("structural", "incidental", "staffing")

    def as_before_0011(peil):
        # Revision 0010's figures: allocations and reservations undated (all of them), the rest at the peildatum.
        at, every = (programme_figures(session, programme_id, p, years) for p in (peil, None))
        return {y: {k: getattr(every[y] if k in undated else at[y], k) for k in undated + (
            "mutations", "committed_projects", "paid")} for y in years}

    expected = {peil: as_before_0011(peil) for peil in days}
    session.remove()
    flask_migrate.downgrade(revision="0010")
    flask_migrate.upgrade()
    for peil in days:
        figures = programme_figures(session, programme_id, peil, years)
        assert {y: {k: getattr(figures[y], k) for k in expected[peil][y]} for y in years} == expected[peil], peil


# --- The pages: "Geldt vanaf" and the history ---------------------------------------------------------


def _text(response) -> str:
    return html_module.unescape(response.get_data(as_text=True)).replace("\xa0", " ")


def _available(client, peil: str) -> str:
    # The dashboard's sum: "Beschikbaar € … − verplicht € … = vrije ruimte € …" (whole euros when whole).
    page = _text(client.get(f"/?jaar=2025&peildatum={peil}"))
    return re.search(r'Beschikbaar <span class="amount">([^<]+)</span>', page).group(1)


def _version(client, url: str) -> str:
    return re.search(r'name="version" type="hidden" value="(\d+)"', client.get(url).get_data(as_text=True)).group(1)


@pytest.fixture
def world(session):
    fin = make_user(session, "financieel")
    programme = make_programme(session, make_user(session, "beheerder"))  # 2024–2026
    source = fund(session, fin, programme, {2025: "1.000.000"})
    reservation = budget.set_staffing_reservation(session, fin, programme, year=2025, fte="2", amount="100.000",
                                                  valid_from=date(2025, 1, 1))
    session.commit()
    return {"fin": fin, "programme": programme, "source": source, "reservation": reservation}


def test_an_allocation_changed_on_the_page_counts_from_its_date_and_shows_in_the_history(client, session, world):
    login(client, world["fin"])
    url = f"/budget/bronnen/{world['source'].id}"
    form = _text(client.get(url))
    assert "Geldt vanaf" in form and f'value="{date.today().isoformat()}"' in form  # default: today
    response = client.post(url, data={"version": _version(client, url), "name": "Structureel",
                                      "kind": "structureel", "reference": "Kamerstuk 1", "jaar_2025": "1.200.000",
                                      "valid_from": "2025-07-01"})
    assert response.status_code == 302
    # The stand before the date keeps the old amount; from the date on it has the new one.
    assert _available(client, "2025-06-30") == "€ 1.000.000"
    assert _available(client, "2025-07-01") == "€ 1.200.000"
    page = _text(client.get("/budget"))
    history = page[page.index("Geschiedenis van de bedragen"):page.index('id="mutaties"')]
    assert re.search(r"1-7-2025</td><td>Structureel</td>\s*<td class=\"num\">2025</td>"
                     r"<td class=\"num\">€ 200.000,00</td><td class=\"num\">€ 1.200.000,00</td>", history)
    assert "€ 1.000.000,00" in history  # the first amount stays visible
    assert "Geschiedenis" in _text(client.get(url))
    session.expire_all()
    assert [c.amount for c in session.get(FundingSource, world["source"].id).allocations[0].changes] == [
        D("1000000.00"), D("200000.00")]


def test_a_staffing_reservation_changed_on_the_page_counts_from_its_date(client, session, world):
    login(client, world["fin"])
    url = f"/budget/personeel/{world['reservation'].id}"
    response = client.post(url, data={"version": _version(client, url), "year": "2025", "fte": "2,5",
                                      "amount": "150.000", "valid_from": "2025-10-01"})
    assert response.status_code == 302
    figures = {p: programme_figures(session, world["programme"].id, p, [2025])[2025].staffing
               for p in (date(2025, 9, 30), date(2025, 10, 1))}
    assert figures == {date(2025, 9, 30): D("100000.00"), date(2025, 10, 1): D("150000.00")}
    page = _text(client.get(url))
    history = page[page.index("<h2>Geschiedenis</h2>"):]
    assert re.search(r"1-10-2025</td>\s*<td class=\"num\">0,50</td><td class=\"num\">€ 50.000,00</td>\s*"
                     r"<td class=\"num\">2,50</td><td class=\"num\">€ 150.000,00</td>", history)


def test_a_wrong_valid_from_is_refused_and_changes_nothing(client, session, world):
    login(client, world["fin"])
    url = f"/budget/bronnen/{world['source'].id}"
    response = client.post(url, data={"version": _version(client, url), "name": "Structureel",
                                      "kind": "structureel", "reference": "Kamerstuk 1", "jaar_2025": "1.200.000",
                                      "valid_from": "31-02-2025"})
    assert response.status_code == 400 and "Vul een geldige datum in." in _text(response)
    session.expire_all()
    assert len(session.get(FundingSource, world["source"].id).allocations[0].changes) == 1


# --- The import: the Datum column of Budget and Ambtelijke ondersteuning ---------------------------


def _sheets(**overrides) -> dict:
    """A programme with money and staffing only (no commitments: their Kenmerk is unique across programmes)."""
    sheets = {
        "Programma": [["DAT", "Gedateerd", "Ministerie van JenV", "33", 2025, 2026]],
        "Budget": [["DAT", "Structureel", "Structureel", "Kst 1", 2025, 1_000_000, "01-01-2025"],
                   ["DAT", "Structureel", "Structureel", "Kst 1", 2025, 1_200_000, "01-07-2025"],
                   ["DAT", "Structureel", "Structureel", "Kst 1", 2026, 1_000_000, "01-01-2025"]],
        "Ambtelijke ondersteuning": [["DAT", 2025, "1,5", 150_000, "01-01-2025"],
                                     ["DAT", 2025, "2", 180_000, "01-10-2025"]],
    }
    sheets.update(overrides)
    return sheets


def _figures(session, code: str) -> dict:
    programme = session.scalar(select(Programme).where(Programme.code == code))
    return {peil: {y: (f.structural, f.staffing) for y, f in programme_figures(
        session, programme.id, peil, [2025, 2026]).items()}
        for peil in (date(1990, 1, 1), date(2025, 6, 30), date(2025, 7, 1), date(2025, 9, 30), date(2025, 10, 1),
                     None)}


def _counts(session) -> dict:
    return {t.__name__: session.scalar(select(func.count()).select_from(t))
            for t in (BudgetAllocation, AllocationChange, StaffingReservation, StaffingChange, AuditEntry)}


def test_rows_with_a_datum_book_the_history_and_the_export_imports_again_unchanged(session):
    result = run_import(session, IMPORT_ACTOR, xlsx(_sheets()))
    assert result.errors == []
    session.commit()
    figures = _figures(session, "DAT")
    assert figures[date(2025, 6, 30)][2025] == (D("1000000.00"), D("150000.00"))
    assert figures[date(2025, 7, 1)][2025] == (D("1200000.00"), D("150000.00"))
    assert figures[date(2025, 10, 1)][2025] == (D("1200000.00"), D("180000.00"))
    assert figures[date(1990, 1, 1)][2025] == (D("0.00"), D("0.00"))
    export = export_bytes(session, session.scalar(select(Programme).where(Programme.code == "DAT")))
    book = openpyxl.load_workbook(io.BytesIO(export))
    budget_rows = [r for r in book["Budget"].iter_rows(min_row=2, values_only=True)]
    assert [(r[4], r[5], r[6].date()) for r in budget_rows] == [
        (2025, 1_000_000, date(2025, 1, 1)), (2025, 1_200_000, date(2025, 7, 1)), (2026, 1_000_000, date(2025, 1, 1))]
    staffing_rows = [r for r in book["Ambtelijke ondersteuning"].iter_rows(min_row=2, values_only=True)]
    assert [(r[2], r[3], r[4].date()) for r in staffing_rows] == [
        (1.5, 150_000, date(2025, 1, 1)), (2, 180_000, date(2025, 10, 1))]
    before = _counts(session)
    again = run_import(session, IMPORT_ACTOR, export)
    assert again.ok and not again.changed
    session.commit()
    assert _counts(session) == before and _figures(session, "DAT") == figures


def test_amounts_from_before_dating_round_trip_into_an_empty_database(session, other_app):
    programme = make_programme(session, TEST_ACTOR, code="DAT", first_year=2025, last_year=2026)
    source = budget.add_funding_source(session, TEST_ACTOR, programme, "Structureel", "structureel", "Kst 1",
                                       {2025: "1.000.000"}, valid_from=UNDATED_FROM)
    budget.set_allocation(session, TEST_ACTOR, source, 2025, "1.200.000", valid_from=date(2025, 7, 1))
    budget.set_staffing_reservation(session, TEST_ACTOR, programme, year=2025, fte="1,5", amount="150.000",
                                    valid_from=UNDATED_FROM)
    session.commit()
    figures = _figures(session, "DAT")
    export = export_bytes(session, programme)
    book = openpyxl.load_workbook(io.BytesIO(export))
    assert [r[6] for r in book["Budget"].iter_rows(min_row=2, values_only=True)][0] == "vóór datering"
    assert run_import(session, IMPORT_ACTOR, export).changed is False
    with other_app.app_context():
        s = db.session
        result = run_import(s, IMPORT_ACTOR, export)
        assert result.errors == []
        s.commit()
        assert _figures(s, "DAT") == figures


def test_a_backdated_row_is_refused_naming_the_later_change_and_nothing_is_written(session):
    run_import(session, IMPORT_ACTOR, xlsx(_sheets()))
    session.commit()
    before = _counts(session)
    backdated = _sheets(Budget=[["DAT", "Structureel", "Structureel", "Kst 1", 2025, 1_300_000, "01-03-2025"]],
                        **{"Ambtelijke ondersteuning": [["DAT", 2025, "2", 190_000, "01-10-2025"]]})
    result = run_import(session, IMPORT_ACTOR, xlsx(backdated))
    assert [(e.sheet, e.row, e.column) for e in result.errors] == [("Budget", 2, "Datum"),
                                                                   ("Ambtelijke ondersteuning", 2, "Datum")]
    assert "Het bedrag van bron 'Structureel' in 2025 is al gewijzigd per 1 juli 2025" in result.errors[0].message
    assert "De ambtelijke ondersteuning 2025 is al gewijzigd per 1 oktober 2025" in result.errors[1].message
    session.rollback()
    assert _counts(session) == before


def test_a_row_without_datum_counts_from_the_day_of_the_import(session):
    run_import(session, IMPORT_ACTOR, xlsx(_sheets()))
    session.commit()
    first = date.today()
    result = run_import(session, IMPORT_ACTOR, xlsx(_sheets(
        Budget=[["DAT", "Structureel", "Structureel", "Kst 1", 2025, 1_250_000]],
        **{"Ambtelijke ondersteuning": [["DAT", 2025, "2", 180_000]]})))
    assert result.errors == [] and result.table()[1:3] == [("Budget", 0, 1, 0), ("Ambtelijke ondersteuning", 0, 0, 1)]
    session.commit()
    source = session.scalar(select(FundingSource).where(FundingSource.name == "Structureel"))
    latest = next(a for a in source.allocations if a.year == 2025).changes[-1]
    assert (latest.amount, first <= latest.valid_from <= date.today()) == (D("50000.00"), True)


def test_a_year_funded_after_the_peildatum_is_not_in_the_live_report_at_it(session):
    """A programme without a last year runs to its last funded year: funded by the peildatum, as the snapshot saw it."""
    fin = make_user(session, "financieel")
    programme = make_programme(session, TEST_ACTOR, code="OPEN", first_year=2024, last_year=None)
    source = fund(session, fin, programme, {2024: "1.000.000", 2025: "1.000.000"})
    session.commit()
    peil = date(2025, 6, 30)
    snap = services.create_snapshot(session, fin, programme, peil, "Stand op de peildatum")
    budget.set_allocation(session, fin, source, 2027, "500.000", valid_from=date(2025, 9, 1))
    session.commit()
    live = _cells(live_frames(session, programme, 2025, peil))
    assert live == _cells(services.snapshot_frames(snap, 2025))
    assert live["Samenvatting"][2][1:] == [2024, 2025]
