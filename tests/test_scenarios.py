"""Scenarios: entries drafted through the budget services, compared with the base, adopted all or nothing."""
from __future__ import annotations

from datetime import date
from decimal import Decimal as D

import pytest
from sqlalchemy import func, select

from approvals.models import PendingEntry
from approvals.services import set_four_eyes
from budget.ledger import programme_figures
from budget.models import Commitment
from budget.services.periods import close_period
from core.errors import BudgetStopError, DomainError, PermissionDenied, Refusals
from scenarios import services as scenarios
from tests.factories import (
    TEST_ACTOR,
    commit_money,
    fund,
    make_programme,
    make_project,
    make_user,
)

YEARS = [2024, 2025, 2026]


@pytest.fixture
def world(session):
    programme = make_programme(session, TEST_ACTOR)
    fund(session, TEST_ACTOR, programme, {2024: D("500000"), 2025: D("500000"), 2026: D("500000")})
    running = make_project(session, TEST_ACTOR, programme, category="lopend", line="zorg")
    commit_money(session, TEST_ACTOR, running, {2025: D("200000"), 2026: D("100000")})
    shelf = [make_project(session, TEST_ACTOR, programme, category="op_de_plank", line=line, status="voorstel")
             for line in ("preventie", "opsporing_vervolging")]
    finance, reader = make_user(session, "financieel"), make_user(session, "lezer")
    session.commit()
    return {"programme": programme, "running": running, "shelf": shelf, "finance": finance, "reader": reader}


def _fund_both(session, world, second_2026=D("150000")):
    scenario = scenarios.create_scenario(session, world["finance"], world["programme"], "Plank 2025")
    first, second = world["shelf"]
    scenarios.add_entry(session, world["finance"], scenario, "commitment", project=first, reference="SC-1",
                        signed_date=date(2025, 3, 1), total=D("120000"), schedule={2025: D("80000"), 2026: D("40000")})
    scenarios.add_entry(session, world["finance"], scenario, "commitment", project=second, reference="SC-2",
                        signed_date=date(2025, 3, 1), total=D("50000") + second_2026,
                        schedule={2025: D("50000"), 2026: second_2026})
    session.commit()
    return scenario


def _ledger(session, world):
    return {y: (f.available, f.committed, f.free)
            for y, f in programme_figures(session, world["programme"].id, None, YEARS).items()}


def test_a_scenario_is_the_base_minus_its_schedules_and_changes_no_figure(session, world):
    before = _ledger(session, world)
    audit_commitments = session.scalar(select(func.count(Commitment.id)))
    scenario = _fund_both(session, world)
    rows = {r.year: r for r in scenarios.compare(session, scenario).years}
    assert rows[2025].base_free == D("300000") and rows[2026].base_free == D("400000")
    assert rows[2025].free == D("300000") - D("80000") - D("50000")
    assert rows[2026].free == D("400000") - D("40000") - D("150000")
    assert rows[2024].free == rows[2024].base_free == D("500000")
    assert not any(r.negative for r in rows.values())
    assert _ledger(session, world) == before
    assert session.scalar(select(func.count(Commitment.id))) == audit_commitments
    comparison = scenarios.compare(session, scenario)
    shelf = next(g for g in comparison.categories if g.code == "op_de_plank")
    assert shelf.base[2025] == 0 and shelf.scenario[2025] == D("130000") and shelf.scenario[2026] == D("190000")
    lines = {g.code: g for g in comparison.lines}
    assert lines["preventie"].scenario[2026] - lines["preventie"].base[2026] == D("40000")
    assert lines["opsporing_vervolging"].scenario[2025] - lines["opsporing_vervolging"].base[2025] == D("50000")


def test_adopting_books_both(session, world):
    scenario = _fund_both(session, world)
    before = _ledger(session, world)
    scenarios.adopt(session, world["finance"], scenario)
    session.commit()
    after = _ledger(session, world)
    assert after[2025][2] == before[2025][2] - D("130000") and after[2026][2] == before[2026][2] - D("190000")
    booked = set(session.scalars(select(Commitment.reference)))
    assert {"SC-1", "SC-2"} <= booked
    assert scenario.state == "aangenomen"
    with pytest.raises(DomainError, match="al aangenomen"):
        scenarios.adopt(session, world["finance"], scenario)


def test_adopting_books_neither_when_one_entry_is_refused_now(session, world):
    scenario = _fund_both(session, world)
    # Since the scenario was drafted the books were closed through June 2025: both entries are dated before.
    close_period(session, TEST_ACTOR, world["programme"], date(2025, 6, 30))
    session.commit()
    with pytest.raises(Refusals) as refused:
        scenarios.adopt(session, world["finance"], scenario)
    session.rollback()
    messages = [e.message for e in refused.value.errors]
    assert len(messages) == 2 and all("afgesloten" in m for m in messages)
    assert messages[0].startswith("Verplichting SC-1")
    assert session.scalar(select(func.count(Commitment.id)).where(Commitment.reference.in_(["SC-1", "SC-2"]))) == 0
    assert session.get(type(scenario), scenario.id).state == "concept"


def test_an_overrunning_scenario_marks_the_year_and_is_not_adopted(session, world):
    scenario = _fund_both(session, world, second_2026=D("400000.01"))
    comparison = scenarios.compare(session, scenario)
    rows = {r.year: r for r in comparison.years}
    assert rows[2026].negative and not rows[2025].negative
    assert comparison.overruns == {2026: D("40000.01")}
    with pytest.raises(BudgetStopError) as refused:
        scenarios.adopt(session, world["finance"], scenario)
    session.rollback()
    assert refused.value.shortfalls == {2026: D("40000.01")}
    assert "2026 (tekort € 40.000,01)" in refused.value.message.replace("\u00a0", " ")
    assert session.scalar(select(func.count(Commitment.id)).where(Commitment.reference.like("SC-%"))) == 0


def test_entries_meet_the_services_rules_but_not_the_budget_stop(session, world):
    scenario = scenarios.create_scenario(session, world["finance"], world["programme"], "Regels")
    # A schedule that does not add up is refused as on the page; an overrun is kept (and shown).
    with pytest.raises(DomainError):
        scenarios.add_entry(session, world["finance"], scenario, "commitment", project=world["shelf"][0],
                            reference="SC-9", signed_date=date(2025, 3, 1), total=D("100"), schedule={2025: D("90")})
    session.rollback()
    scenarios.add_entry(session, world["finance"], scenario, "mutation", year=2025, amount=D("-400000"),
                        mutation_kind="beleidsmatig", moment="voorjaarsnota", reason="Korting",
                        mutation_date=date(2025, 4, 1))
    scenarios.add_entry(session, world["finance"], scenario, "kasschuif", amounts={2025: D("-10000"), 2026: D("10000")},
                        moment="najaarsnota", reason="Schuif", mutation_date=date(2025, 10, 1))
    scenarios.add_entry(session, world["finance"], scenario, "adjustment",
                        commitment=session.scalar(select(Commitment)), adjustment_date=date(2025, 5, 1),
                        changes={2025: D("-20000"), 2026: D("20000")}, reason="Later")
    scenarios.add_entry(session, world["finance"], scenario, "staffing", year=2026, fte=D("1"), amount=D("90000"))
    session.commit()
    rows = {r.year: r for r in scenarios.compare(session, scenario).years}
    assert rows[2025].available == D("500000") - D("400000") - D("10000")
    assert rows[2025].committed == D("200000") - D("20000")
    assert rows[2025].free == D("-90000") and rows[2025].negative
    assert rows[2026].available == D("510000") and rows[2026].committed == D("100000") + D("20000") + D("90000")


def test_only_finance_roles_make_scenarios_and_four_eyes_still_apply(session, world):
    with pytest.raises(PermissionDenied):
        scenarios.create_scenario(session, world["reader"], world["programme"], "Lezer")
    session.rollback()
    scenario = _fund_both(session, world)
    set_four_eyes(session, TEST_ACTOR, world["programme"], True, D("0"))
    session.commit()
    results = scenarios.adopt(session, world["finance"], scenario)
    session.commit()
    assert all(isinstance(r, PendingEntry) for r in results) and len(results) == 2
    assert session.scalar(select(func.count(Commitment.id)).where(Commitment.reference.like("SC-%"))) == 0
