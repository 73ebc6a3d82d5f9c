"""Settlement on the pages: the Vaststellen form, the project's money section, and Voorschotten en vaststelling."""
from __future__ import annotations

import re
from datetime import date
from decimal import Decimal as D

import pytest
from sqlalchemy import func, select

from budget import services as budget
from budget.ledger import programme_figures
from budget.models import CommitmentSettlement
from tests.factories import (
    TEST_ACTOR,
    fund,
    login,
    make_programme,
    make_project,
    make_user,
)


@pytest.fixture
def world(session):
    anna = make_user(session, "financieel")
    leader = make_user(session, "projectleider")
    prog = make_programme(session, TEST_ACTOR, first_year=2025, last_year=2027)
    fund(session, TEST_ACTOR, prog, {2025: "500.000", 2026: "500.000", 2027: "500.000"})
    project = make_project(session, anna, prog, start_date=date(2025, 1, 1), end_date=date(2026, 1, 31))
    commitment = budget.add_commitment(session, anna, project, reference="SUB-1", signed_date=date(2025, 1, 20),
                                       total=D("300000"), schedule={2025: D("150000"), 2026: D("150000")})
    budget.add_payment(session, anna, commitment, payment_date=date(2025, 2, 1), amount=D("150000"),
                       kind="voorschot")
    budget.add_payment(session, anna, commitment, payment_date=date(2026, 1, 10), amount=D("100000"),
                       kind="voorschot")
    session.commit()
    return {"anna": anna, "leader": leader, "prog": prog, "project": project, "commitment": commitment}


def _text(response) -> str:
    return re.sub(r"\s+", " ", re.sub(r"<[^>]+>", " ", response.get_data(as_text=True)))


def _form_token(page) -> dict:
    found = re.search(r'name="form_token" type="hidden" value="([^"]+)"', page.get_data(as_text=True))
    return {"form_token": found.group(1)} if found else {}


def _settle(client, world, **data):
    url = f"/verplichtingen/{world['commitment'].id}/vaststelling"
    page = client.get(url)
    assert page.status_code == 200
    fields = {"settlement_date": "2026-03-15", "amount": "230.000", "reference": "VST-1", "note": "Eindverslag",
              **_form_token(page), **data}
    return client.post(url, data=fields, follow_redirects=True), fields


def test_a_finance_officer_settles_a_grant_and_sees_vrijval_and_terugvordering(app, session, world):
    client = app.test_client()
    login(client, world["anna"])
    listed = _text(client.get("/voorschotten"))
    assert "SUB-1" in listed and "Vast te stellen sinds" in listed and "Totaal € 250.000,00" in listed

    response, fields = _settle(client, world)
    text = _text(response)
    assert "Vaststelling vastgelegd." in text
    assert "vastgesteld op € 230.000,00" in text and "Vrijval € 70.000,00" in text
    assert "Terugvordering € 20.000,00, uiterlijk 26 april 2026; nog terug te betalen € 20.000,00" in text
    assert "Bijstellen" not in text  # a settled commitment takes no adjustment any more
    # A second click on the same form books nothing again.
    client.post(f"/verplichtingen/{world['commitment'].id}/vaststelling", data=fields)
    assert session.scalar(select(func.count()).select_from(CommitmentSettlement)) == 1
    figures = programme_figures(session, world["prog"].id, None)
    assert figures[2026].released == D("70000")
    budget_page = _text(client.get("/budget"))
    assert "Vrijgevallen na vaststelling" in budget_page and "€ 70.000,00" in budget_page

    after = _text(client.get("/voorschotten"))
    assert "Er is nu niets vast te stellen." in after and "Er staan geen voorschotten open." in after
    assert "VST-1" in after and "€ 20.000,00" in after

    payment_form = client.get(f"/verplichtingen/{world['commitment'].id}/betalingen/nieuw")
    assert re.search(r'<option selected value="terugbetaling">', payment_form.get_data(as_text=True))
    refused = client.post(f"/verplichtingen/{world['commitment'].id}/betalingen/nieuw", data={
        "payment_date": "2026-04-01", "amount": "5.000", "kind": "voorschot", **_form_token(payment_form)})
    assert refused.status_code == 400 and "alleen nog een terugbetaling" in _text(refused)


def test_a_wrong_settlement_is_shown_in_dutch_and_books_nothing(app, session, world):
    client = app.test_client()
    login(client, world["anna"])
    response, _fields = _settle(client, world, amount="300.000,01", reference="")
    text = _text(response)
    assert response.status_code == 400
    assert "nooit hoger uit dan de verlening" in text and "Vul het kenmerk van de vaststellingsbeschikking in." in text
    assert session.scalar(select(func.count()).select_from(CommitmentSettlement)) == 0


def test_the_settlement_term_is_set_per_programme(app, session, world):
    client = app.test_client()
    login(client, world["anna"])
    refused = client.post("/voorschotten/termijn", data={"months": "61"})
    assert refused.status_code == 400 and "van 0 tot en met 60" in _text(refused)
    done = client.post("/voorschotten/termijn", data={"months": "24"}, follow_redirects=True)
    assert "Termijn voor de vaststelling opgeslagen." in _text(done)
    session.refresh(world["prog"])
    assert world["prog"].settlement_months == 24
    # The project ended 31-01-2026: not yet 24 months ago, so nothing is due now.
    assert "Er is nu niets vast te stellen." in _text(client.get("/voorschotten"))


def test_a_project_leader_neither_settles_nor_sees_the_advances(app, world):
    client = app.test_client()
    login(client, world["leader"])
    assert client.get("/voorschotten").status_code == 403
    assert client.get(f"/verplichtingen/{world['commitment'].id}/vaststelling").status_code == 403
    assert client.post("/voorschotten/termijn", data={"months": "1"}).status_code == 403


def test_a_settlement_entered_by_mistake_is_withdrawn_from_the_project_page(app, session, world):
    client = app.test_client()
    login(client, world["anna"])
    _settle(client, world)
    page = _text(client.get(f"/projecten/{world['project'].id}"))
    assert "Vaststelling intrekken" in page
    done = client.post(f"/verplichtingen/{world['commitment'].id}/vaststelling/intrekken", follow_redirects=True)
    text = _text(done)
    assert "Vaststelling ingetrokken." in text and "Vaststellen" in text
    assert session.scalar(select(func.count()).select_from(CommitmentSettlement)) == 0
    assert programme_figures(session, world["prog"].id, None)[2026].released == D("0")


def test_with_four_eyes_a_settlement_waits_on_the_approval_page(app, session, world):
    from approvals import services as approvals

    boss = make_user(session, "beheerder")
    approvals.set_four_eyes(session, boss, world["prog"], True, "0")
    session.commit()
    client = app.test_client()
    login(client, world["anna"])
    response, _fields = _settle(client, world)
    assert "ter goedkeuring" in _text(response)
    assert session.scalar(select(func.count()).select_from(CommitmentSettlement)) == 0
    waiting = _text(client.get("/goedkeuring"))
    assert "Vaststelling van verplichting SUB-1" in waiting and "vrijval € 70.000,00" in waiting


def test_a_settlement_in_a_closed_period_offers_no_withdrawal(app, session, world):
    budget.settle_commitment(session, world["anna"], world["commitment"], settlement_date=date(2026, 3, 15),
                             amount="230.000", reference="VST-1")
    budget.close_period(session, world["anna"], world["prog"], date(2026, 3, 31))
    session.commit()
    client = app.test_client()
    login(client, world["anna"])
    page = _text(client.get(f"/projecten/{world['project'].id}"))
    assert "Vastgesteld € 230.000,00" in page and "Vaststelling intrekken" not in page
    refused = client.post(f"/verplichtingen/{world['commitment'].id}/vaststelling/intrekken", follow_redirects=True)
    assert "Niet ingetrokken: De periode t/m 31 maart 2026 is afgesloten" in _text(refused)
    assert session.scalar(select(func.count()).select_from(CommitmentSettlement)) == 1
