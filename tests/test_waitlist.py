"""The waiting list: proposals ranked by number, their requests per year, and funded in a scenario from there."""
from __future__ import annotations

import re
from datetime import date
from decimal import Decimal as D

import pytest
from sqlalchemy import select

from core.errors import Conflict
from scenarios import waitlist
from scenarios.models import Proposal, Scenario
from tests.factories import (
    TEST_ACTOR,
    entered_on,
    fund,
    login,
    make_programme,
    make_project,
    make_user,
)


@pytest.fixture
def world(session):
    programme = make_programme(session, TEST_ACTOR)
    fund(session, TEST_ACTOR, programme, {2024: D("500000"), 2025: D("500000"), 2026: D("500000")})
    shelf = [entered_on(session, make_project(session, TEST_ACTOR, programme, category=c, status=s), day)
             for c, s, day in (("op_de_plank", "voorstel", date(2024, 1, 1)), ("nieuw", "in_behandeling", date(2024, 6, 1)),
                               ("op_de_plank", "voorstel", date(2025, 1, 1)))]
    running = make_project(session, TEST_ACTOR, programme, category="lopend", status="in_uitvoering")
    finance, reader = make_user(session, "financieel"), make_user(session, "lezer")
    session.commit()
    return {"programme": programme, "shelf": shelf, "running": running, "finance": finance, "reader": reader}


def _codes(session, world):
    return [w.project.code for w in waitlist.waiting_list(session, world["programme"])]


def test_the_list_holds_undecided_proposals_longest_waiting_first(session, world):
    first, second, third = (p.code for p in world["shelf"])
    assert _codes(session, world) == [first, second, third]


def test_ranking_by_number_renumbers_and_refuses_a_stale_order(session, world):
    first, second, third = world["shelf"]
    rows = waitlist.waiting_list(session, world["programme"])
    waitlist.set_priorities(session, world["finance"], world["programme"],
                            {third.id: 5, first.id: 9, second.id: None}, waitlist.stamp(rows))
    session.commit()
    rows = waitlist.waiting_list(session, world["programme"])
    assert [(w.project.code, w.priority) for w in rows] == [(third.code, 1), (first.code, 2), (second.code, None)]
    with pytest.raises(Conflict, match="in de tussentijd"):
        waitlist.set_priorities(session, world["finance"], world["programme"], {second.id: 1}, "verouderd")


def test_the_page_ranks_sets_a_request_and_funds_it_in_a_scenario(client, session, world):
    first, second, third = world["shelf"]
    login(client, world["finance"])
    page = client.get("/wachtlijst").get_data(as_text=True)
    shown = re.search(r'name="shown" type="hidden" value="([0-9a-f]+)"', page).group(1)
    saved = client.post("/wachtlijst", data={"shown": shown, f"prioriteit-{second.id}": "1",
                                             f"prioriteit-{first.id}": "2", f"prioriteit-{third.id}": ""})
    assert saved.status_code == 302
    assert _codes(session, world) == [second.code, first.code, third.code]
    bad = client.post("/wachtlijst", data={"shown": waitlist.stamp(waitlist.waiting_list(session, world["programme"])),
                                           f"prioriteit-{first.id}": "eerst"})
    assert bad.status_code == 400 and "geheel getal" in bad.get_data(as_text=True)
    request = client.post(f"/wachtlijst/{second.id}", data={"readiness": "gereed", "jaar_2025": "60.000,00",
                                                           "jaar_2026": "40.000,00"})
    assert request.status_code == 302
    proposal = session.get(Proposal, second.id)
    assert proposal.readiness == "gereed" and {y.year: y.amount for y in proposal.years} == {
        2025: D("60000"), 2026: D("40000")}
    listing = client.get("/wachtlijst").get_data(as_text=True)
    assert "60.000,00" in listing and "Gereed om te starten" in listing
    # Into a scenario: the proposal form opens on this project with its request as the schedule.
    client.post("/scenarios", data={"name": "Wachtlijst"})
    scenario = session.scalar(select(Scenario))
    go = client.get(f"/wachtlijst/financieren?scenario={scenario.id}&project={second.id}")
    form = client.get(go.headers["Location"]).get_data(as_text=True)
    assert f'<option selected value="{second.id}">' in form or f'value="{second.id}" selected' in form
    assert 'value="100.000,00"' in form and 'value="60.000,00"' in form


def test_the_waiting_list_is_for_finance_roles(client, world):
    login(client, world["reader"])
    assert client.get("/wachtlijst").status_code == 403
