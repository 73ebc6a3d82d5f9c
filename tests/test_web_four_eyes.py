"""Four eyes on the pages: the setting, a commitment that waits, the Ter goedkeuring page, approve and reject."""
from __future__ import annotations

import re
from datetime import date

import pytest
from sqlalchemy import func, select

from approvals.models import PendingEntry
from budget.ledger import programme_figures
from budget.models import Commitment
from tests.factories import (
    TEST_ACTOR,
    fund,
    login,
    make_programme,
    make_project,
    make_user,
)


@pytest.fixture
def world(session, this_year):
    users = {"boss": make_user(session, "beheerder"), "anna": make_user(session, "financieel"),
             "bram": make_user(session, "financieel")}
    prog = make_programme(session, TEST_ACTOR, first_year=this_year - 1, last_year=this_year + 1)
    fund(session, TEST_ACTOR, prog, {this_year: "100.000"})
    project = make_project(session, users["anna"], prog)
    session.commit()
    return {**users, "prog": prog, "project": project}


def _text(response) -> str:
    return re.sub(r"\s+", " ", re.sub(r"<[^>]+>", " ", response.get_data(as_text=True)))


def _switch_on(app, world, threshold="1.000"):
    client = app.test_client()
    login(client, world["boss"])
    page = client.get("/goedkeuring/instellingen")
    assert page.status_code == 200
    version = re.search(r'name="version" type="hidden" value="(\d+)"', page.get_data(as_text=True)).group(1)
    response = client.post("/goedkeuring/instellingen", data={"four_eyes": "y", "approval_threshold": threshold,
                                                             "version": version}, follow_redirects=True)
    assert "De instelling vier ogen is opgeslagen" in _text(response)
    return client


def _enter_commitment(app, world, amount="60.000"):
    year = date.today().year
    client = app.test_client()
    login(client, world["anna"])
    response = client.post(f"/projecten/{world['project'].id}/verplichtingen/nieuw", data={
        "reference": "BS-1", "signed_date": date(year, 1, 15).isoformat(), "total": amount,
        f"jaar_{year}": amount}, follow_redirects=True)
    return client, response


def test_a_commitment_above_the_threshold_waits_and_the_pages_say_so(app, session, world, this_year):
    _switch_on(app, world)
    anna, response = _enter_commitment(app, world)
    assert "ter goedkeuring aangeboden" in _text(response)
    assert session.scalar(select(func.count()).select_from(Commitment)) == 0
    budget_page = _text(anna.get("/budget"))
    assert "Ter goedkeuring (telt nog niet mee)" in budget_page and "€ -60.000,00" in budget_page
    assert "Ter goedkeuring" in _text(anna.get(f"/?jaar={this_year}"))
    own = _text(anna.get("/goedkeuring"))
    assert "U heeft deze boeking zelf ingevoerd" in own and "Goedkeuren" not in own
    entry = session.scalar(select(PendingEntry))
    # Not through the page's button either: the service refuses her.
    refused = anna.post(f"/goedkeuring/{entry.id}/goedkeuren", data={"version": entry.version}, follow_redirects=True)
    assert "Niet goedgekeurd" in _text(refused) and "zelf ingevoerd" in _text(refused)
    session.expire_all()
    assert session.get(PendingEntry, entry.id).is_pending


def test_someone_else_approves_and_the_figures_move_by_exactly_the_amount(app, session, world, this_year):
    _switch_on(app, world)
    _enter_commitment(app, world)
    before = programme_figures(session, world["prog"].id, None)[this_year]
    bram = app.test_client()
    login(bram, world["bram"])
    page = _text(bram.get("/goedkeuring"))
    assert "Verplichting BS-1" in page and "Nieuwe verplichting, ingevoerd door" in page
    assert f"{this_year} € -60.000,00 € 100.000,00 € 40.000,00" in page  # change, free now, after approval
    entry = session.scalar(select(PendingEntry))
    response = bram.post(f"/goedkeuring/{entry.id}/goedkeuren", data={"version": entry.version}, follow_redirects=True)
    assert "Goedgekeurd en vastgelegd" in _text(response)
    session.expire_all()
    after = programme_figures(session, world["prog"].id, None)[this_year]
    assert after.committed - before.committed == 60000 and before.free - after.free == 60000
    assert "Eerder besloten" in _text(bram.get("/goedkeuring"))


def test_a_rejection_needs_a_reason_and_leaves_the_figures(app, session, world, this_year):
    _switch_on(app, world)
    _enter_commitment(app, world)
    before = programme_figures(session, world["prog"].id, None)[this_year]
    bram = app.test_client()
    login(bram, world["bram"])
    entry = session.scalar(select(PendingEntry))
    shown = entry.version
    short = bram.post(f"/goedkeuring/{entry.id}/afwijzen", data={"version": entry.version, "reason": "nee"})
    assert short.status_code == 400 and "minstens 10 tekens" in _text(short)
    done = bram.post(f"/goedkeuring/{entry.id}/afwijzen", data={
        "version": entry.version, "reason": "Geen beschikking bijgevoegd."}, follow_redirects=True)
    assert "Afgewezen: Verplichting BS-1" in _text(done) and "Geen beschikking bijgevoegd." in _text(done)
    session.expire_all()
    assert programme_figures(session, world["prog"].id, None)[this_year] == before
    # A page shown before the decision cannot decide it again, nor can a fresh one.
    assert bram.post(f"/goedkeuring/{entry.id}/goedkeuren", data={"version": shown}).status_code == 409
    again = bram.post(f"/goedkeuring/{entry.id}/goedkeuren", data={"version": session.get(PendingEntry, entry.id).version},
                      follow_redirects=True)
    assert "al afgewezen" in _text(again)


def test_under_the_threshold_it_is_booked_at_once(app, session, world):
    _switch_on(app, world, threshold="100.000")
    _client, response = _enter_commitment(app, world, amount="60.000")
    assert "Verplichting vastgelegd" in _text(response)
    assert session.scalar(select(func.count()).select_from(Commitment)) == 1
