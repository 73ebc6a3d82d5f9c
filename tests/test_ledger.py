"""The ledger reproduces a hand-computed programme year to the cent, at a peildatum."""
from __future__ import annotations

from datetime import date
from decimal import Decimal as D

import pytest

from budget import services as budget
from budget.breakdowns import breakdown, matrix
from budget.ledger import programme_figures, year_figures
from tests.factories import commit_money, entered_on, fund, make_programme, make_project, make_user

PEIL = date(2025, 6, 30)


@pytest.fixture
def scenario(session):
    """A programme 2024–2026 with every kind of entry, some dated after the peildatum."""
    fin = make_user(session, "financieel")
    prog = make_programme(session, make_user(session, "beheerder"))
    fund(session, fin, prog, {2024: "2.000.000", 2025: "2.000.000", 2026: "2.000.000"})
    fund(session, fin, prog, {2025: "500.000"}, name="Extra JenV", kind="incidenteel")
    budget.add_mutation(session, fin, prog, year=2025, amount="100.000", kind="beleidsmatig",
                        moment="voorjaarsnota", reason="Voorjaarsnota 2025", mutation_date=date(2025, 4, 15))
    budget.add_kasschuif(session, fin, prog, amounts={2024: "-150.000", 2025: "150.000"}, moment="najaarsnota",
                         reason="Vertraging project A", mutation_date=date(2024, 11, 20))
    # Dated after the peildatum: must not count in the stand t/m 30-06-2025.
    budget.add_mutation(session, fin, prog, year=2025, amount="-50.000", kind="technisch",
                        moment="najaarsnota", reason="Overboeking", mutation_date=date(2025, 10, 1))
    res = budget.set_staffing_reservation(session, fin, prog, year=2025, fte="2,5", amount="300.000",
                                         valid_from=date(2025, 1, 1))
    for day, amount in ((date(2025, 3, 31), "75.000"), (date(2025, 6, 30), "75.000"),
                        (date(2025, 9, 30), "75.000")):
        budget.add_staffing_cost(session, fin, res, cost_date=day, amount=amount, description="kwartaal")
    a = make_project(session, fin, prog, category="lopend", line="zorg")
    b = make_project(session, fin, prog, category="nieuw", line="preventie")
    ca = commit_money(session, fin, a, {2024: D("200000"), 2025: D("400000"), 2026: D("300000")},
                      signed=date(2024, 12, 10))
    commit_money(session, fin, b, {2025: D("250000")}, signed=date(2025, 8, 1))  # after the peildatum
    budget.adjust_commitment(session, fin, ca, adjustment_date=date(2025, 5, 1), changes={2025: "-40.000"},
                             reason="Lagere vaststelling")
    for day, amount, kind in ((date(2024, 12, 15), "200.000", "voorschot"),
                              (date(2025, 2, 1), "150.000", "betaling"),
                              (date(2025, 5, 20), "10.000", "terugbetaling"),
                              (date(2025, 6, 30), "100.000", "betaling"),
                              (date(2025, 7, 15), "50.000", "betaling")):
        budget.add_payment(session, fin, ca, payment_date=day, amount=amount, kind=kind)
    return prog


def test_year_at_peildatum_matches_hand_computation(session, scenario):
    f = year_figures(session, scenario.id, 2025, PEIL)
    assert f.structural == D("2000000.00")
    assert f.incidental == D("500000.00")
    assert f.mutations == D("250000.00")          # +100.000 vjn, +150.000 kasschuif; -50.000 is later
    assert f.available == D("2750000.00")
    assert f.staffing == D("300000.00")
    assert f.committed_projects == D("360000.00")  # 400.000 - 40.000; commitment B is signed later
    assert f.committed == D("660000.00")
    assert f.paid == D("390000.00")               # staffing 150.000 + 150.000 - 10.000 + 100.000
    assert f.free == D("2090000.00")
    assert f.pct_committed == D("0.240")
    assert f.pct_paid == D("0.142")               # 14,18...%: rounded once, half up, to 0,1 %


def test_other_years_and_all_entries(session, scenario):
    figures = programme_figures(session, scenario.id, PEIL, [2024, 2025, 2026])
    assert figures[2024].available == D("1850000.00")
    assert figures[2024].committed == D("200000.00")
    assert figures[2024].paid == D("200000.00")
    assert figures[2026].committed == D("300000.00") and figures[2026].paid == D("0.00")
    # Years asked for apart get exactly their own figures, nothing of the year between them.
    apart = programme_figures(session, scenario.id, PEIL, [2026, 2024])
    assert list(apart) == [2024, 2026] and apart == {2024: figures[2024], 2026: figures[2026]}
    everything = year_figures(session, scenario.id, 2025, None)
    assert everything.available == D("2700000.00")
    assert everything.committed == D("910000.00")
    assert everything.paid == D("515000.00")


def test_old_peildatum_never_changes_by_later_entries(session, scenario):
    before = year_figures(session, scenario.id, 2025, PEIL)
    fin = make_user(session, "financieel")
    project = make_project(session, fin, scenario)
    commit_money(session, fin, project, {2025: D("1000")}, signed=date(2025, 7, 1))
    budget.add_mutation(session, fin, scenario, year=2025, amount="5", kind="technisch", moment="intern",
                        reason="later", mutation_date=date(2025, 7, 1))
    assert year_figures(session, scenario.id, 2025, PEIL) == before


def test_split_by_category_line_and_matrix(session, scenario):
    cats = breakdown(session, scenario.id, 2025, PEIL, "category")
    assert cats["lopend"].committed == D("360000.00")
    assert cats["lopend"].paid == D("240000.00")
    assert "nieuw" not in cats or cats["nieuw"].committed == 0
    lines = breakdown(session, scenario.id, 2025, None, "line")
    assert lines["preventie"].committed == D("250000.00")
    assert lines["zorg"].paid == D("290000.00")
    assert matrix(session, scenario.id, 2025, None) == {("lopend", "zorg"): D("360000.00"),
                                                        ("nieuw", "preventie"): D("250000.00")}


def test_pipeline_counts_uncommitted_proposals(session, scenario):
    fin = make_user(session, "financieel")
    for amount in ("80.000,00", "20.000,00"):
        # Entered before the peildatum: a project entered after it is not in the stand at it.
        entered_on(session, make_project(session, fin, scenario, category="op_de_plank", requested_amount=amount),
                   date(2025, 1, 1))
    cats = breakdown(session, scenario.id, 2025, PEIL, "category")
    assert cats["op_de_plank"].pipeline == D("100000.00")
    assert cats["op_de_plank"].projects == 2
