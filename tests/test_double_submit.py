"""Every booking form books once: the same form posted again books nothing and shows what was booked."""
from __future__ import annotations

import re
from decimal import Decimal

import pytest
from sqlalchemy import func, select

from budget.models import BudgetMutation, Payment
from core.db import db
from tests.factories import commit_money, fund, login, make_programme, make_project, make_user

TOKEN = "Tk" + "x" * 30


@pytest.fixture
def world(session):
    boss, fin = make_user(session, "beheerder"), make_user(session, "financieel")
    programme = make_programme(session, boss)  # 2024–2026
    fund(session, fin, programme, {2025: Decimal("1000000")})
    project = make_project(session, fin, programme)
    commitment = commit_money(session, fin, project, {2025: Decimal("300000")})
    session.commit()
    return {"fin": fin, "project": project, "commitment": commitment}


def _payments(commitment_id: int) -> int:
    db.session.rollback()
    return db.session.scalar(select(func.count(Payment.id)).where(Payment.commitment_id == commitment_id))


def _pay(client, commitment_id, token=TOKEN, amount="100,00"):
    return client.post(f"/verplichtingen/{commitment_id}/betalingen/nieuw", data={
        "form_token": token, "payment_date": "2025-03-01", "amount": amount, "kind": "betaling"})


def test_every_rendering_of_a_booking_form_has_its_own_token(client, world):
    login(client, world["fin"])
    url = f"/verplichtingen/{world['commitment'].id}/betalingen/nieuw"
    tokens = [re.search(r'name="form_token"[^>]*value="([^"]+)"', client.get(url).get_data(as_text=True)).group(1)
              for _ in range(2)]
    assert tokens[0] != tokens[1]


def test_a_payment_posted_twice_is_booked_once_and_the_second_post_shows_it(client, world):
    login(client, world["fin"])
    cid = world["commitment"].id
    first = _pay(client, cid)
    assert first.status_code == 302
    again = _pay(client, cid)  # a double click, a reload, the back button
    assert again.status_code == 302
    assert again.headers["Location"] == first.headers["Location"]
    page = client.get(again.headers["Location"]).get_data(as_text=True)
    assert "Dit formulier was al verwerkt; er is niets opnieuw geboekt." in page
    assert _payments(cid) == 1


def test_a_mutation_with_a_kenmerk_posted_twice_is_booked_once(client, world):
    login(client, world["fin"])
    data = {"form_token": TOKEN, "year": "2025", "amount": "10.000,00", "kind": "beleidsmatig",
            "moment": "najaarsnota", "reason": "Extra geld", "reference": "NJN-2026-1", "date": "2025-10-01"}
    assert client.post("/budget/mutaties/nieuw", data=data).status_code == 302
    assert client.post("/budget/mutaties/nieuw", data=data).status_code == 302
    db.session.rollback()
    assert db.session.scalar(select(func.count(BudgetMutation.id))
                             .where(BudgetMutation.reference == "NJN-2026-1")) == 1


def test_a_refused_post_does_not_use_up_its_token(client, world):
    login(client, world["fin"])
    cid = world["commitment"].id
    refused = _pay(client, cid, amount="300.000,01")  # more than the commitment
    assert refused.status_code == 400
    assert "Betaling geweigerd" in refused.get_data(as_text=True)
    # The form comes back with the same token; corrected, it books.
    assert f'value="{TOKEN}"' in refused.get_data(as_text=True)
    assert _pay(client, cid, amount="300.000,00").status_code == 302
    assert _payments(cid) == 1


@pytest.mark.parametrize("token", ["", "kort", "<script>" + "x" * 20])
def test_a_post_without_a_valid_token_books_nothing_and_says_why(client, world, token):
    login(client, world["fin"])
    response = _pay(client, world["commitment"].id, token=token)
    assert response.status_code == 400
    assert "Dit formulier is verlopen of onvolledig" in response.get_data(as_text=True)
    assert _payments(world["commitment"].id) == 0


def test_another_users_token_books_nothing(app, client, world):
    login(client, world["fin"])
    assert _pay(client, world["commitment"].id).status_code == 302
    other = make_user(db.session, "financieel")
    db.session.commit()
    second = app.test_client()
    login(second, other)
    response = _pay(second, world["commitment"].id)
    assert response.status_code == 400
    assert "Dit formulier is al gebruikt" in response.get_data(as_text=True)
    assert _payments(world["commitment"].id) == 1
