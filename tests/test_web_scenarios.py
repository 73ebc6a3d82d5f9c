"""Scenario pages: made and filled by a finance officer, read by a lezer, adopted with one button."""
from __future__ import annotations

from decimal import Decimal as D

import pytest
from sqlalchemy import func, select

from budget.models import Commitment
from scenarios.models import Scenario, ScenarioEntry
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
    programme = make_programme(session, TEST_ACTOR)
    fund(session, TEST_ACTOR, programme, {2024: D("500000"), 2025: D("500000"), 2026: D("500000")})
    shelf = make_project(session, TEST_ACTOR, programme, category="op_de_plank", status="voorstel")
    finance, reader = make_user(session, "financieel"), make_user(session, "lezer")
    session.commit()
    return {"programme": programme, "shelf": shelf, "finance": finance, "reader": reader}


def _proposal(project_id, **years):
    data = {"project_id": project_id, "reference": "SC-1", "signed_date": "2025-03-01", "total": "120.000,00",
            "jaar_2025": "80.000,00", "jaar_2026": "40.000,00"}
    data.update(years)
    return data


def test_finance_builds_a_scenario_and_adopts_it(client, session, world):
    login(client, world["finance"])
    made = client.post("/scenarios", data={"name": "Plank 2025", "description": "Twee voorstellen"})
    assert made.status_code == 302
    scenario = session.scalar(select(Scenario))
    url = f"/scenarios/{scenario.id}"
    form = client.get(f"{url}/posten/commitment")
    assert form.status_code == 200 and world["shelf"].code in form.get_data(as_text=True)
    added = client.post(f"{url}/posten/commitment", data=_proposal(world["shelf"].id))
    assert added.status_code == 302
    page = client.get(url).get_data(as_text=True)
    # 2025: € 500.000 free now, € 420.000 in the scenario; nothing booked.
    assert "500.000,00" in page and "420.000,00" in page and "460.000,00" in page
    assert session.scalar(select(func.count(Commitment.id))) == 0
    bad = client.post(f"{url}/posten/commitment", data=_proposal(world["shelf"].id, jaar_2026="30.000,00"))
    assert bad.status_code == 400
    assert session.scalar(select(func.count(ScenarioEntry.id))) == 1
    adopted = client.post(f"{url}/aannemen", follow_redirects=True)
    assert "Scenario aangenomen" in adopted.get_data(as_text=True)
    assert session.scalar(select(func.count(Commitment.id))) == 1


def test_a_reader_reads_but_does_not_change(client, session, world):
    login(client, world["finance"])
    client.post("/scenarios", data={"name": "Voor de lezer"})
    scenario = session.scalar(select(Scenario))
    client.post(f"/scenarios/{scenario.id}/posten/commitment", data=_proposal(world["shelf"].id))
    reader = client.application.test_client()
    login(reader, world["reader"])
    page = reader.get(f"/scenarios/{scenario.id}")
    assert page.status_code == 200 and "420.000,00" in page.get_data(as_text=True)
    assert "Post toevoegen" not in page.get_data(as_text=True)
    assert reader.post("/scenarios", data={"name": "Van de lezer"}).status_code == 403
    assert reader.get(f"/scenarios/{scenario.id}/posten/commitment").status_code == 403
    assert reader.post(f"/scenarios/{scenario.id}/aannemen").status_code == 403


def test_an_overrun_is_marked_and_adoption_refused_with_the_shortfall(client, session, world):
    login(client, world["finance"])
    client.post("/scenarios", data={"name": "Te veel"})
    scenario = session.scalar(select(Scenario))
    client.post(f"/scenarios/{scenario.id}/posten/commitment",
                data=_proposal(world["shelf"].id, total="620.000,01", jaar_2026="540.000,01"))
    page = client.get(f"/scenarios/{scenario.id}").get_data(as_text=True).replace("\u00a0", " ")
    assert "onder nul" in page and "2026 (tekort € 40.000,01)" in page
    refused = client.post(f"/scenarios/{scenario.id}/aannemen", follow_redirects=True).get_data(as_text=True)
    assert "Niet aangenomen" in refused and "2026" in refused
    assert session.scalar(select(func.count(Commitment.id))) == 0


def test_two_scenarios_side_by_side(client, session, world):
    login(client, world["finance"])
    for name, total, y2025 in (("Klein", "10.000,00", "10.000,00"), ("Groot", "100.000,00", "100.000,00")):
        client.post("/scenarios", data={"name": name})
        s = session.scalar(select(Scenario).where(Scenario.name == name))
        client.post(f"/scenarios/{s.id}/posten/commitment", data={
            "project_id": world["shelf"].id, "reference": f"SC-{name}", "signed_date": "2025-03-01", "total": total,
            "jaar_2025": y2025})
    a, b = session.scalars(select(Scenario.id).order_by(Scenario.id)).all()
    page = client.get(f"/scenarios/vergelijken?a={a}&b={b}").get_data(as_text=True)
    assert "490.000,00" in page and "400.000,00" in page and "-90.000,00" in page.replace("−", "-")


def test_the_beslisnota_table_as_workbook_and_word(client, session, world):
    import io

    import openpyxl
    from docx import Document

    login(client, world["finance"])
    client.post("/scenarios", data={"name": "Beslisnota"})
    scenario = session.scalar(select(Scenario))
    client.post(f"/scenarios/{scenario.id}/posten/commitment", data=_proposal(world["shelf"].id))
    book = client.get(f"/scenarios/{scenario.id}/beslisnota.xlsx")
    assert book.status_code == 200 and "beslisnota-scenario" in book.headers["Content-Disposition"]
    rows = list(openpyxl.load_workbook(io.BytesIO(book.data))["Beslisnota"].iter_rows(values_only=True))
    by_label = {}
    for r in rows:
        by_label.setdefault(r[0], r[1:])
    # Years 2024-2026: the proposal adds € 80.000 in 2025 and € 40.000 in 2026, in Op de plank.
    assert by_label["Op de plank"][:3] == (0, 80000, 40000)
    assert by_label["Vrije ruimte vóór"][:3] == (500000, 500000, 500000)
    assert by_label["Vrije ruimte na"][:3] == (500000, 420000, 460000)
    word = client.get(f"/scenarios/{scenario.id}/beslisnota.docx")
    doc = Document(io.BytesIO(word.data))
    cells = [[c.text for c in row.cells] for t in doc.tables for row in t.rows]
    assert ["Vrije ruimte na", "€\u00a0500.000,00", "€\u00a0420.000,00", "€\u00a0460.000,00"] in cells
