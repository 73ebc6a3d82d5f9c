"""The underspend forecast: each project's own payment pattern, the programme's warning, and the kasschuif it proposes."""
from __future__ import annotations

from datetime import date
from decimal import Decimal as D

import pytest
from sqlalchemy import select

from budget import services as budget
from budget.underspend import programme_forecast, proposed_shift
from budget.underspend_rules import History, expected
from scenarios import services as scenarios
from scenarios.models import Scenario
from tests.factories import (
    TEST_ACTOR,
    commit_money,
    fund,
    login,
    make_programme,
    make_project,
    make_user,
)


@pytest.fixture
def world(session):
    """A: pays a quarter of a year by 1 July; B: three quarters; C: new, no history of its own."""
    programme = make_programme(session, TEST_ACTOR, first_year=2025, last_year=2027)
    fund(session, TEST_ACTOR, programme, {2025: D("1000000"), 2026: D("1000000"), 2027: D("1000000")})
    a, b, c = (make_project(session, TEST_ACTOR, programme, category="lopend") for _ in range(3))
    ca = commit_money(session, TEST_ACTOR, a, {2025: D("400000"), 2026: D("200000")}, signed=date(2025, 1, 15))
    cb = commit_money(session, TEST_ACTOR, b, {2025: D("400000"), 2026: D("100000")}, signed=date(2025, 1, 15))
    cc = commit_money(session, TEST_ACTOR, c, {2026: D("50000")}, signed=date(2026, 1, 10))
    for commitment, day, amount in ((ca, date(2025, 3, 1), "100000"), (ca, date(2025, 9, 1), "300000"),
                                    (cb, date(2025, 2, 1), "300000"), (cb, date(2025, 10, 1), "100000"),
                                    (ca, date(2026, 5, 1), "20000"), (cb, date(2026, 4, 1), "90000"),
                                    (cc, date(2026, 6, 1), "10000")):
        budget.add_payment(session, TEST_ACTOR, commitment, payment_date=day, amount=D(amount), kind="betaling")
    finance = make_user(session, "financieel")
    session.commit()
    return {"programme": programme, "projects": (a, b, c), "commitments": (ca, cb, cc), "finance": finance}


def test_expected_follows_the_pattern_within_paid_and_the_schedule():
    assert expected(D("200000"), D("20000"), D("0.250")) == D("80000.00")
    assert expected(D("100000"), D("90000"), D("0.750")) == D("100000")   # never above the schedule
    assert expected(D("100000"), D("0"), D("0.000")) == D("100000")       # usually pays later: no signal
    assert expected(D("100000"), D("0"), None) == D("100000")
    assert expected(D("100000"), D("120000"), D("0.5")) == D("120000")    # already beyond: what was paid
    assert History(D("400000"), D("100000")).share() == D("0.250") and History().share() is None


def test_forecast_with_known_patterns(session, world):
    a, b, c = (p.id for p in world["projects"])
    found = programme_forecast(session, world["programme"], 2026, date(2026, 7, 1))
    rows = {r.project_id: r for r in found.rows}
    assert (rows[a].share, rows[a].expected, rows[a].underspend) == (D("0.250"), D("80000.00"), D("120000.00"))
    assert (rows[b].share, rows[b].expected, rows[b].underspend) == (D("0.750"), D("100000.00"), D("0.00"))
    # C has no history: the programme's pattern, (100.000 + 300.000) / (400.000 + 400.000).
    assert (rows[c].share, rows[c].expected, rows[c].underspend) == (D("0.500"), D("20000.00"), D("30000.00"))
    assert (found.planned, found.expected, found.underspend) == (D("350000"), D("200000"), D("150000"))
    assert found.flagged
    # Before 1 July the programme's setting does not warn yet; above its percentage only.
    assert not programme_forecast(session, world["programme"], 2026, date(2026, 6, 30)).flagged
    world["programme"].underspend_pct = 50
    session.commit()
    assert not programme_forecast(session, world["programme"], 2026, date(2026, 7, 1)).flagged


def test_the_proposed_kasschuif_nets_to_zero(session, world):
    found = programme_forecast(session, world["programme"], 2026, date(2026, 7, 1))
    moved = proposed_shift(session, found)
    ca, _cb, cc = (c.id for c in world["commitments"])
    assert moved == {ca: D("120000.00"), cc: D("30000.00")}
    scenario = scenarios.underspend_scenario(session, world["finance"], world["programme"], 2026, date(2026, 7, 1),
                                             moved)
    session.commit()
    kinds = [e.kind for e in scenario.entries]
    assert kinds == ["adjustment", "adjustment", "kasschuif"]
    rows = {r.year: r for r in scenarios.compare(session, scenario).years}
    # The cash moves to 2027 with the budget: no year's free room changes, and nothing nets to more than zero.
    assert all(r.change == 0 for r in rows.values())
    assert rows[2026].committed == rows[2026].base_committed - D("150000")
    assert rows[2027].available == rows[2027].base_available + D("150000")


def test_the_page_proposes_and_makes_a_concept_scenario(client, session, world):
    login(client, world["finance"])
    page = client.get("/onderuitputting?jaar=2026")
    assert page.status_code == 200
    html = page.get_data(as_text=True)
    assert world["projects"][0].code in html and "Conceptscenario maken" in html
    made = client.post("/onderuitputting/scenario?jaar=2026")
    assert made.status_code == 302 and "/scenarios/" in made.headers["Location"]
    scenario = session.scalar(select(Scenario))
    assert scenario.name.startswith("Kasschuif 2026 naar 2027") and scenario.entries[-1].kind == "kasschuif"
    assert client.get("/onderuitputting?jaar=2027").get_data(as_text=True).count("laatste programmajaar") == 1


def test_the_dashboard_warns_finance_roles(client, session, world):
    reader = make_user(session, "lezer")
    session.commit()
    login(client, world["finance"])
    page = client.get("/?jaar=2026&peildatum=2026-07-01").get_data(as_text=True).replace("\u00a0", " ")
    assert "Verwachte onderuitputting 2026: € 150.000,00</strong>" in page and "kasritme van € 350.000,00" in page
    assert "Verwachte onderuitputting" not in client.get("/?jaar=2026&peildatum=2026-06-30").get_data(as_text=True)
    other = client.application.test_client()
    login(other, reader)
    assert "Verwachte onderuitputting" not in other.get("/?jaar=2026&peildatum=2026-07-01").get_data(as_text=True)
