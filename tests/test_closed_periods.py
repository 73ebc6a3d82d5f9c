"""Closed periods: nothing dated on or before the closed date changes through any door; a beheerder reopens.

Every door a user has is tried through its real path: the payment form, the web import, the
command-line import, the budget pages, the snapshot page and `snapshot create`; each refusal
must name the closed date in Dutch and leave the database as it was.
"""
from __future__ import annotations

import html as html_module
import io
from datetime import date, timedelta
from decimal import Decimal as D

import openpyxl
import pytest
from sqlalchemy import func, select

from budget import services as money
from budget.models import (
    AllocationChange,
    BudgetMutation,
    Commitment,
    CommitmentAdjustment,
    FundingSource,
    Payment,
    PeriodClosure,
    StaffingChange,
    StaffingCost,
)
from core.audit import AuditEntry
from core.dates import datum_lang
from core.errors import Conflict
from reports import excel
from reports.queries import live_frames
from reports.services import list_snapshots
from tests.factories import fund, login, make_programme, make_project, make_user
from tests.test_import import xlsx

CLOSED = "30 juni 2025"
REFUSED = f"De periode t/m {CLOSED} is afgesloten"
TABLES = (Payment, Commitment, CommitmentAdjustment, BudgetMutation, StaffingCost, PeriodClosure, AuditEntry)


@pytest.fixture
def world(session):
    """TST 2025–2026 with € 1.000.000 a year; P1 with BS-1 signed 15-01-2025 (200k + 300k, 10k paid on
    01-02-2025); a mutation dated 01-03-2025; staffing 2025 with a cost dated 31-03-2025."""
    boss, fin, reader = make_user(session, "beheerder"), make_user(session, "financieel"), make_user(session, "lezer")
    programme = make_programme(session, boss, first_year=2025, last_year=2026)
    fund(session, fin, programme, {2025: D("1000000"), 2026: D("1000000")})
    project = make_project(session, fin, programme, code="P1")
    commitment = money.add_commitment(session, fin, project, reference="BS-1", signed_date=date(2025, 1, 15),
                                      total=D("500000"), schedule={2025: D("200000"), 2026: D("300000")})
    money.add_payment(session, fin, commitment, payment_date=date(2025, 2, 1), amount=D("10000"), kind="voorschot")
    mutation = money.add_mutation(session, fin, programme, year=2025, amount=D("50000"), kind="beleidsmatig",
                                  moment="voorjaarsnota", reason="Extra middelen", mutation_date=date(2025, 3, 1))
    reservation = money.set_staffing_reservation(session, fin, programme, year=2025, fte="1,00", amount=D("100000"))
    cost = money.add_staffing_cost(session, fin, reservation, cost_date=date(2025, 3, 31), amount=D("20000"))
    session.commit()
    return {"boss": boss, "fin": fin, "reader": reader, "programme": programme, "commitment": commitment,
            "mutation": mutation, "reservation": reservation, "cost": cost}


def counts(session) -> dict:
    session.expire_all()
    return {t.__name__: session.scalar(select(func.count()).select_from(t)) for t in TABLES}


def text(response) -> str:
    return html_module.unescape(response.get_data(as_text=True)).replace("\xa0", " ")


def client_for(app, user):
    client = app.test_client()
    assert login(client, user).status_code == 302
    return client


def close_on_the_command_line(runner, through="2025-06-30"):
    result = runner.invoke(args=["period", "close", "--programme", "TST", "--through", through])
    assert result.exit_code == 0, result.output
    return result


BACKDATED_PAYMENT = {"Betalingen": [["BET-OUD", "P1", "BS-1", "15-03-2025", 1000, "Betaling"]]}


# --- A backdated payment, through every door -----------------------------------------------------


def test_the_payment_form_refuses_a_backdated_payment(app, session, runner, world):
    out = close_on_the_command_line(runner).output
    assert f"afgesloten t/m {CLOSED}" in out
    before = counts(session)
    client = client_for(app, world["fin"])
    response = client.post(f"/verplichtingen/{world['commitment'].id}/betalingen/nieuw",
                           data={"payment_date": "2025-06-30", "amount": "1.000,00", "kind": "betaling"})
    assert response.status_code == 400
    assert REFUSED in text(response)
    assert counts(session) == before
    # The day after the closed date is open.
    response = client.post(f"/verplichtingen/{world['commitment'].id}/betalingen/nieuw",
                           data={"payment_date": "2025-07-01", "amount": "1.000,00", "kind": "betaling"})
    assert response.status_code == 302
    assert counts(session)["Payment"] == before["Payment"] + 1


def test_the_web_import_refuses_a_backdated_payment(app, session, runner, world):
    client = client_for(app, world["fin"])
    data = xlsx(BACKDATED_PAYMENT)

    def upload(url):
        return client.post(url, data={"file": (io.BytesIO(data), "betalingen.xlsx")},
                           content_type="multipart/form-data")

    # Checked while the period was open, confirmed after it was closed: checked again, refused.
    assert upload("/import/controleren").status_code == 200
    close_on_the_command_line(runner)
    before = counts(session)
    response = upload("/import/bevestigen")
    assert response.status_code == 400
    page = text(response)
    assert REFUSED in page and "Betalingen" in page
    assert counts(session) == before
    # And a fresh check says so too.
    response = upload("/import/controleren")
    assert response.status_code == 400 and REFUSED in text(response)
    assert counts(session) == before


def test_the_command_line_import_refuses_a_backdated_payment(session, runner, world, tmp_path):
    close_on_the_command_line(runner)
    before = counts(session)
    path = tmp_path / "betalingen.xlsx"
    path.write_bytes(xlsx(BACKDATED_PAYMENT))
    result = runner.invoke(args=["import", "run", str(path)])
    assert result.exit_code != 0
    assert REFUSED in result.output
    assert counts(session) == before


def test_the_import_refuses_commitments_and_adjustments_in_a_closed_period(session, runner, world, tmp_path):
    close_on_the_command_line(runner)
    before = counts(session)
    path = tmp_path / "verplichtingen.xlsx"
    path.write_bytes(xlsx({
        "Verplichtingen": [["P1", "BS-2", "01-04-2025", 2025, 1000]],
        "Bijstellingen": [["BS-1", "01-05-2025", 2025, -1000, "Lagere vaststelling", ""]],
        "Mutaties": [["TST", 2025, 1000, "Beleidsmatig", "Voorjaarsnota", "Terug in de tijd", "", "01-04-2025", ""]],
    }))
    result = runner.invoke(args=["import", "run", str(path)])
    assert result.exit_code != 0
    assert result.output.count(REFUSED) == 3, result.output
    assert counts(session) == before


# --- Changing and removing what is dated in the closed period -----------------------------------


def test_budget_pages_refuse_to_add_change_or_remove_in_the_closed_period(app, session, runner, world):
    close_on_the_command_line(runner)
    before = counts(session)
    client = client_for(app, world["fin"])
    mutation, cost = world["mutation"], world["cost"]
    mutation_form = {"year": "2025", "amount": "50.000,00", "kind": "beleidsmatig", "moment": "voorjaarsnota",
                     "reason": "Extra middelen", "reference": "", "version": str(mutation.version)}
    # Its old date is closed, even when the new one is not.
    response = client.post(f"/budget/mutaties/{mutation.id}", data={**mutation_form, "date": "2025-09-01"})
    assert response.status_code == 400 and REFUSED in text(response)
    response = client.post(f"/budget/mutaties/{mutation.id}/verwijderen", follow_redirects=True)
    assert REFUSED in text(response)
    response = client.post(f"/budget/personeelskosten/{cost.id}/verwijderen", follow_redirects=True)
    assert REFUSED in text(response)
    response = client.post(f"/verplichtingen/{world['commitment'].id}/bijstelling",
                           data={"adjustment_date": "2025-05-01", "reason": "Lagere vaststelling",
                                 "jaar_2025": "-1.000,00"})
    assert response.status_code == 400 and REFUSED in text(response)
    response = client.post(f"/projecten/{world['commitment'].project_id}/verplichtingen/nieuw",
                           data={"reference": "BS-2", "signed_date": "2025-06-30", "total": "1.000,00",
                                 "jaar_2025": "1.000,00"})
    assert response.status_code == 400 and REFUSED in text(response)
    assert counts(session) == before


def test_a_change_into_the_closed_period_is_refused(session, runner, world):
    """The new date counts as well as the old: an open mutation cannot be moved back into the closed period."""
    fin = world["fin"]
    later = money.add_mutation(session, fin, world["programme"], year=2025, amount=D("1000"), kind="technisch",
                               moment="najaarsnota", reason="Later", mutation_date=date(2025, 9, 1))
    session.commit()
    close_on_the_command_line(runner)
    with pytest.raises(Conflict) as refused:
        money.update_mutation(session, fin, later, year=2025, amount=D("1000"), kind="technisch",
                              moment="najaarsnota", reason="Later", mutation_date=date(2025, 6, 1))
    assert REFUSED in refused.value.message and refused.value.field == "date"
    session.rollback()


def test_allocations_and_staffing_reservations_are_not_changed_from_a_day_in_the_closed_period(
        app, session, runner, world, tmp_path):
    """The dated amounts of a source and of the staffing reservation obey the closed period like every other fact."""
    close_on_the_command_line(runner)
    source = session.scalar(select(FundingSource).where(FundingSource.programme_id == world["programme"].id))

    def changes():
        session.expire_all()
        return tuple(session.scalar(select(func.count()).select_from(t)) for t in (AllocationChange, StaffingChange))

    before = changes()
    client = client_for(app, world["fin"])
    url = f"/budget/bronnen/{source.id}"
    version = text(client.get(url)).split('name="version" type="hidden" value="', 1)[1].split('"', 1)[0]
    form = {"version": version, "name": source.name, "kind": source.kind, "reference": source.reference,
            "jaar_2025": "1.200.000", "jaar_2026": "1.000.000"}
    response = client.post(url, data={**form, "valid_from": "2025-05-01"})
    assert response.status_code == 400 and REFUSED in text(response)
    with pytest.raises(Conflict, match=REFUSED):
        money.set_staffing_reservation(session, world["fin"], world["programme"], year=2025, fte="1,00",
                                       amount=D("90000"), valid_from=date(2025, 6, 30))
    session.rollback()
    path = tmp_path / "budget.xlsx"
    path.write_bytes(xlsx({"Budget": [["TST", source.name, "Structureel", "Kamerstuk 1", 2025, 1_100_000,
                                           "01-06-2025"]]}))
    result = runner.invoke(args=["import", "run", str(path)])
    assert result.exit_code != 0 and "blad Budget, regel 2, kolom Datum: " + REFUSED in result.output
    assert changes() == before

    # After the closed date the same change is booked.
    response = client.post(url, data={**form, "valid_from": "2025-07-01"})
    assert response.status_code == 302
    assert changes() == (before[0] + 1, before[1])


# --- Closing and reopening -----------------------------------------------------------------------


def test_reopening_lets_the_payment_through_and_is_kept_as_history(app, session, runner, world):
    client = client_for(app, world["fin"])
    response = client.post("/budget/perioden", data={"through": "2025-06-30"})
    assert response.status_code == 302
    assert f"afgesloten t/m {CLOSED}" in text(client.get("/budget/perioden"))
    # A financieel sees no reopen form and may not post one.
    assert "Periode heropenen" not in text(client.get("/budget/perioden"))
    refused = client.post("/budget/perioden/heropenen", data={"reopen_through": "", "reason": "Nu toch wel graag"})
    assert refused.status_code == 403

    boss = client_for(app, world["boss"])
    response = boss.post("/budget/perioden/heropenen", data={"reopen_through": "2025-03-31", "reason": "Kort"})
    assert response.status_code == 400
    assert "Geef een reden van minstens 10 tekens voor het heropenen." in text(response)
    response = boss.post("/budget/perioden/heropenen",
                         data={"reopen_through": "2025-03-31", "reason": "Betaling van maart ontbrak in de brief"})
    assert response.status_code == 302
    page = text(boss.get("/budget/perioden"))
    assert "afgesloten t/m 31 maart 2025" in page
    assert "Betaling van maart ontbrak in de brief" in page and world["boss"].email in page

    response = client.post(f"/verplichtingen/{world['commitment'].id}/betalingen/nieuw",
                           data={"payment_date": "2025-06-15", "amount": "1.000,00", "kind": "betaling"})
    assert response.status_code == 302
    response = client.post(f"/verplichtingen/{world['commitment'].id}/betalingen/nieuw",
                           data={"payment_date": "2025-03-31", "amount": "1.000,00", "kind": "betaling"})
    assert response.status_code == 400 and "De periode t/m 31 maart 2025 is afgesloten" in text(response)

    history = session.scalars(select(PeriodClosure).order_by(PeriodClosure.id)).all()
    assert [(e.action, e.through, e.previous, e.actor_label) for e in history] == [
        ("close", date(2025, 6, 30), None, world["fin"].email),
        ("reopen", date(2025, 3, 31), date(2025, 6, 30), world["boss"].email)]
    actions = session.scalars(select(AuditEntry.action).where(AuditEntry.entity == "PeriodClosure")
                              .order_by(AuditEntry.id)).all()
    assert actions == ["close", "reopen"]


def test_reopening_on_the_command_line_and_in_later_reports(app, session, runner, world, tmp_path):
    close_on_the_command_line(runner)
    short = runner.invoke(args=["period", "reopen", "--programme", "TST", "--reason", "Fout"])
    assert short.exit_code != 0 and "minstens 10 tekens" in short.output
    done = runner.invoke(args=["period", "reopen", "--programme", "TST", "--reason", "Correctie na de Kamerbrief"])
    assert done.exit_code == 0, done.output
    assert "niets meer afgesloten" in done.output
    assert money.closed_through(session, world["programme"].id) is None
    listed = runner.invoke(args=["period", "list", "--programme", "TST"]).output
    assert "geen afgesloten periode" in listed and "Correctie na de Kamerbrief" in listed

    # The backdated payment the closed period refused now goes through the command line's import.
    path = tmp_path / "betalingen.xlsx"
    path.write_bytes(xlsx(BACKDATED_PAYMENT))
    imported = runner.invoke(args=["import", "run", str(path)])
    assert imported.exit_code == 0, imported.output
    session.expire_all()
    assert session.scalar(select(Payment.date).where(Payment.reference == "BET-OUD")) == date(2025, 3, 15)
    rf = live_frames(session, world["programme"], 2025, date(2025, 12, 31))
    sheet = openpyxl.load_workbook(io.BytesIO(excel.build_workbook(rf)))["Verantwoording"]
    rows = {r[0]: r[1] for r in sheet.iter_rows(values_only=True) if r[0]}
    reopened = [v for k, v in rows.items() if str(k).startswith("Periode heropend op ")]
    assert reopened == [f"Afgesloten periode t/m {CLOSED} heropend (niets meer afgesloten); "
                        "reden: Correctie na de Kamerbrief"]
    page = text(client_for(app, world["fin"]).get("/rapportage/stand.html?jaar=2025&peildatum=2025-12-31"))
    assert "Periode heropend op" in page and "reden: Correctie na de Kamerbrief" in page
    # Nothing of who reopened goes to the Kamer.
    assert "systeem (cli)" not in page


def test_closing_is_for_finance_and_checks_its_date(app, session, world):
    assert client_for(app, world["reader"]).get("/budget/perioden").status_code == 403
    client = client_for(app, world["fin"])
    tomorrow = date.today() + timedelta(days=1)
    response = client.post("/budget/perioden", data={"through": tomorrow.isoformat()})
    assert response.status_code == 400
    assert f"Een periode sluit u af tot en met vandaag ({datum_lang(date.today())}) of eerder." in text(response)
    assert client.post("/budget/perioden", data={"through": "2025-06-30"}).status_code == 302
    response = client.post("/budget/perioden", data={"through": "2025-03-31"})
    assert response.status_code == 400 and "al afgesloten t/m 30 juni 2025" in text(response)
    assert counts(session)["PeriodClosure"] == 1


# --- Freezing a stand for a Kamerbrief offers to close through its peildatum ----------------------


def test_a_snapshot_can_close_through_its_peildatum(app, session, runner, world):
    client = client_for(app, world["fin"])
    response = client.post("/rapportage/standen", data={"peildatum": "2025-06-30", "title": "Voortgangsbrief",
                                                         "kamerstuk": "", "close": "y"})
    assert response.status_code == 302
    assert money.closed_through(session, world["programme"].id) == date(2025, 6, 30)
    # Without the box the closed date stays; with it, to a later peildatum, it moves on.
    assert client.post("/rapportage/standen", data={"peildatum": "2025-09-30", "title": "Tussenstand",
                                                    "kamerstuk": ""}).status_code == 302
    assert money.closed_through(session, world["programme"].id) == date(2025, 6, 30)
    result = runner.invoke(args=["snapshot", "create", "--programme", "TST", "--peildatum", "2025-12-31",
                                 "--title", "Najaarsbrief", "--close"])
    assert result.exit_code == 0, result.output
    assert "afgesloten t/m 31 december 2025" in result.output
    session.expire_all()
    assert money.closed_through(session, world["programme"].id) == date(2025, 12, 31)
    assert len(list_snapshots(session, world["programme"])) == 3


def test_a_snapshot_that_cannot_close_is_not_made(app, session, world):
    client = client_for(app, world["fin"])
    tomorrow = date.today() + timedelta(days=1)
    before = counts(session)
    response = client.post("/rapportage/standen", data={"peildatum": tomorrow.isoformat(), "title": "Te vroeg",
                                                         "kamerstuk": "", "close": "y"})
    assert response.status_code == 400 and "Een periode sluit u af tot en met vandaag" in text(response)
    assert counts(session) == before and list_snapshots(session, world["programme"]) == []


# --- Plausible dates -----------------------------------------------------------------------------


def test_payments_are_dated_between_signing_and_today(app, session, world, tmp_path, runner):
    client = client_for(app, world["fin"])
    url = f"/verplichtingen/{world['commitment'].id}/betalingen/nieuw"
    before = counts(session)
    tomorrow = date.today() + timedelta(days=1)
    for day, message in (("1990-01-01", "De datum moet tussen 1 januari 2000 en 31 december 2100 liggen."),
                         ("2099-01-01", f"Een betaling kan niet na vandaag ({datum_lang(date.today())}) zijn gedateerd."),
                         (tomorrow.isoformat(), "Een betaling kan niet na vandaag"),
                         ("2025-01-14", "De betaling ligt vóór de ondertekening van verplichting BS-1 (15 januari 2025).")):
        response = client.post(url, data={"payment_date": day, "amount": "1.000,00", "kind": "betaling"})
        assert response.status_code == 400 and message in text(response), day
    path = tmp_path / "oud.xlsx"
    path.write_bytes(xlsx({"Betalingen": [["", "P1", "BS-1", "15-01-1990", 1000, "Betaling"],
                                              ["", "P1", "BS-1", "14-01-2025", 1000, "Betaling"]]}))
    result = runner.invoke(args=["import", "run", str(path)])
    assert result.exit_code != 0
    assert "regel 2, kolom Datum: De datum moet tussen 1 januari 2000 en 31 december 2100 liggen." in result.output
    assert "regel 3, kolom Datum: De betaling ligt vóór de ondertekening" in result.output
    assert counts(session) == before


def test_status_and_project_dates_lie_between_2000_and_2100(app, session, world):
    client = client_for(app, world["fin"])
    project_id = world["commitment"].project_id
    response = client.post(f"/projecten/{project_id}/status",
                           data={"status": "voorstel", "rag": "op_koers", "update_date": "1999-12-31"})
    assert response.status_code == 400
    assert "De datum moet tussen 1 januari 2000 en 31 december 2100 liggen." in text(response)
    response = client.post("/projecten/nieuw", data={
        "code": "P9", "title": "Nieuw", "category": "nieuw", "line": "preventie", "forms": ["seksuele_uitbuiting"],
        "instrument": "subsidie", "status": "voorstel", "organisation_id": "", "owner_id": "", "predecessor_id": "",
        "requested_amount": "", "start_date": "2025-01-01", "end_date": "2101-01-01"})
    assert response.status_code == 400
    assert "De datum moet tussen 1 januari 2000 en 31 december 2100 liggen." in text(response)
