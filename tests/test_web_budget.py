"""Budget pages through the Flask test client: roles, forms, budget stop, kasschuif, deletes, project money."""
from __future__ import annotations

import html as html_module
import re
from datetime import date
from decimal import Decimal

import pytest
from flask import g, render_template
from flask_login import login_user
from sqlalchemy import event, func, select

from budget import queries, services
from budget.models import (
    AllocationChange,
    BudgetAllocation,
    BudgetMutation,
    Commitment,
    CommitmentAdjustment,
    FundingSource,
    Payment,
    StaffingChange,
    StaffingCost,
    StaffingReservation,
)
from core.audit import AuditEntry
from core.db import db
from tests.factories import login as login_as
from tests.factories import commit_money, fund, make_programme, make_project, make_user

ROLES = ("beheerder", "financieel", "projectleider", "lezer")


@pytest.fixture
def world(session):
    users = {role: make_user(session, role) for role in ROLES}
    fin = users["financieel"]
    programme = make_programme(session, users["beheerder"])  # 2024–2026
    source = fund(session, fin, programme, {2024: Decimal("1000000"), 2025: Decimal("1000000"),
                                            2026: Decimal("1000000")})
    project = make_project(session, fin, programme)
    commitment = commit_money(session, fin, project, {2024: Decimal("300000"), 2025: Decimal("200000")},
                              reference="BS-1")
    mutation = services.add_mutation(session, fin, programme, year=2025, amount=Decimal("50000"),
                                     kind="beleidsmatig", moment="voorjaarsnota", reason="Extra geld",
                                     mutation_date=date(2025, 3, 1))
    kasschuif = services.add_kasschuif(session, fin, programme, amounts={2024: Decimal("-10000"),
                                                                        2025: Decimal("10000")},
                                       moment="najaarsnota", reason="Later gestart", mutation_date=date(2024, 11, 1))
    reservation = services.set_staffing_reservation(session, fin, programme, year=2024, fte="2,00",
                                                    amount=Decimal("200000"))
    cost = services.add_staffing_cost(session, fin, reservation, cost_date=date(2024, 3, 31),
                                      amount=Decimal("50000"), description="Q1")
    session.commit()
    return {"users": users, "programme": programme, "source": source, "project": project,
            "commitment": commitment, "mutation": mutation, "kasschuif": kasschuif[0],
            "reservation": reservation, "cost": cost}


def text(response) -> str:
    """The page as a user reads it: entities decoded, no-break spaces as plain spaces."""
    return html_module.unescape(response.get_data(as_text=True)).replace("\xa0", " ")


def login(app, user):
    client = app.test_client()
    response = login_as(client, user)
    assert response.status_code == 302
    return client


def shown_version(client, url: str) -> str:
    """The version an edit page puts in its form, which the browser sends back with the edit."""
    page = client.get(url).get_data(as_text=True)
    return re.search(r'name="version" type="hidden" value="(\d+)"', page).group(1)


def selected(html: str, name: str) -> list[str]:
    """The values of the options a <select name=...> shows as chosen."""
    select_html = re.search(rf'<select[^>]*name="{name}"[^>]*>(.*?)</select>', html, re.S).group(1)
    return [re.search(r'value="([^"]*)"', option).group(1)
            for option in re.findall(r"<option[^>]*>", select_html) if re.search(r"\bselected\b", option)]


@pytest.mark.parametrize("today, moment", [(date(2025, 3, 10), "voorjaarsnota"), (date(2025, 9, 1), "najaarsnota")])
def test_new_mutation_and_kasschuif_propose_the_moment_of_today(app, world, monkeypatch, today, moment):
    class Today(date):
        @classmethod
        def today(cls):
            return today

    monkeypatch.setattr("budget.views.date", Today)
    client = login(app, world["users"]["financieel"])
    assert selected(text(client.get("/budget/mutaties/nieuw")), "moment") == [moment]
    assert selected(text(client.get("/budget/kasschuif/nieuw")), "moment") == [moment]
    # An existing mutation keeps its own moment, whatever today is.
    assert selected(text(client.get(f"/budget/mutaties/{world['mutation'].id}")), "moment") == ["voorjaarsnota"]
    kasschuif = text(client.get(f"/budget/kasschuif/{world['kasschuif'].kasschuif_group}"))
    assert selected(kasschuif, "moment") == ["najaarsnota"]


def counts(session) -> dict:
    models = (FundingSource, BudgetAllocation, AllocationChange, BudgetMutation, StaffingReservation, StaffingChange,
              StaffingCost, Commitment, CommitmentAdjustment, Payment, AuditEntry)
    return {m.__name__: session.scalar(select(func.count()).select_from(m)) for m in models}


def page_urls(w) -> list[str]:
    return [
        "/budget",
        "/budget/bronnen/nieuw",
        f"/budget/bronnen/{w['source'].id}",
        "/budget/mutaties/nieuw",
        f"/budget/mutaties/{w['mutation'].id}",
        "/budget/kasschuif/nieuw",
        f"/budget/kasschuif/{w['kasschuif'].kasschuif_group}",
        "/budget/personeel/nieuw",
        f"/budget/personeel/{w['reservation'].id}",
        f"/budget/personeel/{w['reservation'].id}/kosten/nieuw",
        f"/budget/personeelskosten/{w['cost'].id}",
        f"/projecten/{w['project'].id}/verplichtingen/nieuw",
        f"/verplichtingen/{w['commitment'].id}/bijstelling",
        f"/verplichtingen/{w['commitment'].id}/betalingen/nieuw",
    ]


def post_urls(w) -> list[tuple[str, dict]]:
    return [
        ("/budget/bronnen/nieuw", {"name": "Nieuw", "kind": "incidenteel", "range_from": "2024", "range_to": "2025",
                                   "range_amount": "100.000"}),
        (f"/budget/bronnen/{w['source'].id}", {"name": "Hernoemd", "kind": "structureel", "jaar_2024": "0"}),
        (f"/budget/bronnen/{w['source'].id}/verwijderen", {}),
        ("/budget/mutaties/nieuw", {"year": "2025", "amount": "1.000", "kind": "technisch", "moment": "intern",
                                    "reason": "x", "date": "2025-01-01"}),
        (f"/budget/mutaties/{w['mutation'].id}", {"year": "2025", "amount": "1", "kind": "technisch",
                                                   "moment": "intern", "reason": "x", "date": "2025-01-01"}),
        (f"/budget/mutaties/{w['mutation'].id}/verwijderen", {}),
        ("/budget/kasschuif/nieuw", {"jaar_2025": "-1.000", "jaar_2026": "1.000", "moment": "intern",
                                     "reason": "x", "date": "2025-01-01"}),
        ("/budget/personeel/nieuw", {"year": "2025", "fte": "1", "amount": "1.000"}),
        (f"/budget/personeel/{w['reservation'].id}/verwijderen", {}),
        (f"/budget/personeel/{w['reservation'].id}/kosten/nieuw", {"cost_date": "2024-06-30", "amount": "1.000"}),
        (f"/budget/personeelskosten/{w['cost'].id}/verwijderen", {}),
        (f"/projecten/{w['project'].id}/verplichtingen/nieuw", {"reference": "X-1", "signed_date": "2025-01-01",
                                                                "total": "1.000", "jaar_2025": "1.000"}),
        (f"/verplichtingen/{w['commitment'].id}/bijstelling", {"adjustment_date": "2025-01-01",
                                                               "jaar_2025": "-1.000", "reason": "x"}),
        (f"/verplichtingen/{w['commitment'].id}/betalingen/nieuw", {"payment_date": "2025-01-01",
                                                                    "amount": "1.000", "kind": "betaling"}),
        (f"/verplichtingen/{w['commitment'].id}/verwijderen", {}),
    ]


def test_anonymous_is_sent_to_login(app, world):
    client = app.test_client()
    for url in page_urls(world):
        response = client.get(url)
        assert response.status_code == 302, url
        assert "/login" in response.location, url


@pytest.mark.parametrize("role", ["projectleider", "lezer"])
def test_non_finance_roles_get_403_and_change_nothing(app, session, world, role):
    client = login(app, world["users"][role])
    for url in page_urls(world):
        assert client.get(url).status_code == 403, url
    before = counts(session)
    for url, data in post_urls(world):
        assert client.post(url, data=data).status_code == 403, url
    session.expire_all()
    assert counts(session) == before


@pytest.mark.parametrize("role", ["financieel", "beheerder"])
def test_finance_roles_get_every_page(app, world, role):
    client = login(app, world["users"][role])
    for url in page_urls(world):
        response = client.get(url)
        assert response.status_code == 200, url
    html = text(client.get("/budget"))
    assert "Structureel" in html and "Extra geld" in html and "Later gestart" in html and "Q1" in html


def test_override_field_only_for_beheerder(app, world):
    url = f"/projecten/{world['project'].id}/verplichtingen/nieuw"
    assert 'name="override_reason"' in text(login(app, world["users"]["beheerder"]).get(url))
    assert 'name="override_reason"' not in text(login(app, world["users"]["financieel"]).get(url))


# --- funding --------------------------------------------------------------------------------


def test_new_source_with_same_amount_for_a_range_of_years(app, session, world):
    client = login(app, world["users"]["financieel"])
    response = client.post("/budget/bronnen/nieuw", data={
        "name": "Extra middelen", "kind": "incidenteel", "reference": "Kamerstuk 2",
        "range_from": "2024", "range_to": "2026", "range_amount": "500.000", "jaar_2024": "1,00"})
    assert response.status_code == 302
    source = session.scalar(select(FundingSource).where(FundingSource.name == "Extra middelen"))
    assert {a.year: a.amount for a in source.allocations} == {y: Decimal("500000.00") for y in (2024, 2025, 2026)}


def test_bad_source_input_rerenders_with_errors_and_writes_nothing(app, session, world):
    client = login(app, world["users"]["financieel"])
    before = counts(session)
    response = client.post("/budget/bronnen/nieuw", data={
        "name": "", "kind": "structureel", "range_from": "2024", "range_amount": "12.50", "jaar_2025": "abc"})
    assert response.status_code == 400
    html = text(response)
    assert "Vul een naam in." in html
    assert "geen geldig bedrag" in html
    assert "tot en met jaar" in html
    assert 'href="#name"' in html  # the error summary links to the field
    session.expire_all()
    assert counts(session) == before


def test_lowering_an_allocation_meets_the_budget_stop(app, session, world):
    client = login(app, world["users"]["financieel"])
    before = counts(session)
    # 2024: 1.000.000 − 10.000 kasschuif − 300.000 committed − 200.000 staffing = 490.000 free.
    url = f"/budget/bronnen/{world['source'].id}"
    response = client.post(url, data={
        "version": shown_version(client, url), "name": "Structureel", "kind": "structureel",
        "reference": "Kamerstuk 1", "jaar_2024": "400.000", "jaar_2025": "1.000.000", "jaar_2026": "1.000.000"})
    assert response.status_code == 400
    html = text(response)
    assert "Budgetstop" in html and "2024" in html and "€ 110.000,00" in html
    session.expire_all()
    assert counts(session) == before
    assert session.scalar(select(BudgetAllocation.amount).where(BudgetAllocation.year == 2024)) == Decimal("1000000")


def test_edit_source_renames_and_lowers_within_room(app, session, world):
    client = login(app, world["users"]["financieel"])
    url = f"/budget/bronnen/{world['source'].id}"
    response = client.post(url, data={
        "version": shown_version(client, url), "name": "Structurele middelen", "kind": "structureel", "reference": "Kamerstuk 1",
        "jaar_2024": "1.000.000", "jaar_2025": "1.000.000", "jaar_2026": "900.000"})
    assert response.status_code == 302
    session.expire_all()
    source = session.get(FundingSource, world["source"].id)
    assert source.name == "Structurele middelen"
    assert {a.year: a.amount for a in source.allocations}[2026] == Decimal("900000.00")
    actions = session.scalars(select(AuditEntry.action).where(AuditEntry.entity == "BudgetAllocation")).all()
    assert "update" in actions


def test_delete_source_with_money_is_refused_with_reason(app, session, world):
    client = login(app, world["users"]["financieel"])
    response = client.post(f"/budget/bronnen/{world['source'].id}/verwijderen", follow_redirects=True)
    html = text(response)
    assert "Niet verwijderd" in html and "zet die eerst op nul" in html
    session.expire_all()
    assert session.get(FundingSource, world["source"].id) is not None


def test_delete_empty_source(app, session, world):
    fin = world["users"]["financieel"]
    empty = fund(session, fin, world["programme"], {}, name="Leeg")
    session.commit()
    client = login(app, fin)
    assert client.post(f"/budget/bronnen/{empty.id}/verwijderen").status_code == 302
    session.expire_all()
    assert session.get(FundingSource, empty.id) is None


# --- mutations and kasschuif ----------------------------------------------------------------


def test_add_and_edit_mutation(app, session, world):
    client = login(app, world["users"]["financieel"])
    response = client.post("/budget/mutaties/nieuw", data={
        "year": "2026", "amount": "-25.000,50", "kind": "technisch", "moment": "najaarsnota",
        "reason": "Korting", "reference": "NJN", "date": "2026-10-01"})
    assert response.status_code == 302
    mutation = session.scalar(select(BudgetMutation).where(BudgetMutation.reason == "Korting"))
    assert mutation.amount == Decimal("-25000.50")
    url = f"/budget/mutaties/{mutation.id}"
    response = client.post(url, data={
        "version": shown_version(client, url), "year": "2026", "amount": "-20.000", "kind": "technisch", "moment": "najaarsnota",
        "reason": "Korting bijgesteld", "reference": "NJN", "date": "2026-10-01"})
    assert response.status_code == 302
    session.expire_all()
    assert session.get(BudgetMutation, mutation.id).amount == Decimal("-20000.00")
    entry = session.scalars(select(AuditEntry).where(AuditEntry.entity == "BudgetMutation",
                                                     AuditEntry.action == "update")).one()
    assert entry.changes_dict["before"]["amount"] == "-25000.50"
    assert entry.changes_dict["after"]["amount"] == "-20000.00"


def test_editing_a_mutation_meets_the_budget_stop(app, session, world):
    client = login(app, world["users"]["financieel"])
    before = counts(session)
    # 2025 free: 1.000.000 + 50.000 + 10.000 − 200.000 = 860.000; moving the +50.000 away leaves room,
    # turning it into −900.000 does not.
    url = f"/budget/mutaties/{world['mutation'].id}"
    response = client.post(url, data={
        "version": shown_version(client, url), "year": "2025", "amount": "-900.000", "kind": "beleidsmatig", "moment": "voorjaarsnota",
        "reason": "Extra geld", "date": "2025-03-01"})
    assert response.status_code == 400
    assert "2025 (vrije ruimte nu € 860.000,00, tekort € 90.000,00)" in text(response)
    session.expire_all()
    assert counts(session) == before
    assert session.get(BudgetMutation, world["mutation"].id).amount == Decimal("50000.00")


def test_bad_mutation_input_writes_nothing(app, session, world):
    client = login(app, world["users"]["financieel"])
    before = counts(session)
    response = client.post("/budget/mutaties/nieuw", data={
        "year": "", "amount": "0", "kind": "technisch", "moment": "intern", "reason": " ", "date": "morgen"})
    assert response.status_code == 400
    html = text(response)
    for message in ("Vul een jaartal in.", "Het bedrag kan niet nul zijn.", "Vul een toelichting in.",
                    "Vul een geldige datum in."):
        assert message in html
    session.expire_all()
    assert counts(session) == before


def test_kasschuif_that_nets_to_zero_is_saved(app, session, world):
    client = login(app, world["users"]["financieel"])
    response = client.post("/budget/kasschuif/nieuw", data={
        "jaar_2025": "-100.000", "jaar_2026": "100.000", "moment": "najaarsnota",
        "reason": "Vertraging", "date": "2025-11-01"})
    assert response.status_code == 302
    rows = session.scalars(select(BudgetMutation).where(BudgetMutation.reason == "Vertraging")).all()
    assert {r.year: r.amount for r in rows} == {2025: Decimal("-100000.00"), 2026: Decimal("100000.00")}
    assert len({r.kasschuif_group for r in rows}) == 1


def test_kasschuif_not_netting_to_zero_is_refused(app, session, world):
    client = login(app, world["users"]["financieel"])
    before = counts(session)
    response = client.post("/budget/kasschuif/nieuw", data={
        "jaar_2025": "-100.000", "jaar_2026": "90.000", "moment": "najaarsnota",
        "reason": "Vertraging", "date": "2025-11-01"})
    assert response.status_code == 400
    assert "moet op nul uitkomen; het saldo is nu € -10.000,00" in text(response).replace("\xa0", " ")
    session.expire_all()
    assert counts(session) == before


def test_edit_kasschuif_replaces_its_years(app, session, world):
    client = login(app, world["users"]["financieel"])
    group = world["kasschuif"].kasschuif_group
    url = f"/budget/kasschuif/{group}"
    response = client.post(url, data={
        "version": shown_version(client, url), "jaar_2024": "-20.000", "jaar_2026": "20.000", "moment": "najaarsnota",
        "reason": "Later gestart", "date": "2024-11-01"})
    assert response.status_code == 302
    session.expire_all()
    rows = services.kasschuif_rows(session, group)
    assert {r.year: r.amount for r in rows} == {2024: Decimal("-20000.00"), 2026: Decimal("20000.00")}


def test_delete_kasschuif_removes_all_its_years(app, session, world):
    client = login(app, world["users"]["financieel"])
    group = world["kasschuif"].kasschuif_group
    assert client.post(f"/budget/mutaties/{world['kasschuif'].id}/verwijderen").status_code == 302
    session.expire_all()
    assert services.kasschuif_rows(session, group) == []


def test_deleting_a_mutation_that_funds_commitments_is_refused(app, session, world):
    fin = world["users"]["financieel"]
    # 2025 free is 860.000 of which 50.000 came from the mutation; commit 850.000 more.
    commit_money(session, fin, world["project"], {2025: Decimal("850000")}, reference="BS-2")
    session.commit()
    client = login(app, fin)
    html = text(client.post(f"/budget/mutaties/{world['mutation'].id}/verwijderen",
                       follow_redirects=True))
    assert "Niet verwijderd" in html and "2025 (vrije ruimte nu € 10.000,00, tekort € 40.000,00)" in html
    session.expire_all()
    assert session.get(BudgetMutation, world["mutation"].id) is not None


# --- staffing -------------------------------------------------------------------------------


def test_staffing_reservation_and_costs(app, session, world):
    client = login(app, world["users"]["financieel"])
    assert client.post("/budget/personeel/nieuw", data={"year": "2025", "fte": "2,5",
                                                         "amount": "250.000"}).status_code == 302
    res = session.scalar(select(StaffingReservation).where(StaffingReservation.year == 2025))
    assert (res.fte, res.amount) == (Decimal("2.50"), Decimal("250000.00"))
    # A second reservation for the same year is pointed at the existing one.
    response = client.post("/budget/personeel/nieuw", data={"year": "2025", "fte": "1", "amount": "1"})
    assert response.status_code == 400 and "Er is al een reservering voor 2025" in text(response)
    assert client.post(f"/budget/personeel/{res.id}/kosten/nieuw", data={
        "cost_date": "2025-03-31", "amount": "60.000", "description": "Q1 2025"}).status_code == 302
    cost = session.scalar(select(StaffingCost).where(StaffingCost.description == "Q1 2025"))
    url = f"/budget/personeelskosten/{cost.id}"
    assert client.post(url, data={
        "version": shown_version(client, url), "cost_date": "2025-03-31", "amount": "61.000", "description": "Q1 2025"}).status_code == 302
    session.expire_all()
    assert session.get(StaffingCost, cost.id).amount == Decimal("61000.00")


def test_staffing_cost_beyond_reservation_and_wrong_year_refused(app, session, world):
    client = login(app, world["users"]["financieel"])
    before = counts(session)
    url = f"/budget/personeel/{world['reservation'].id}/kosten/nieuw"
    response = client.post(url, data={"cost_date": "2024-06-30", "amount": "160.000"})
    assert response.status_code == 400 and "tekort € 10.000,00" in text(response)
    response = client.post(url, data={"cost_date": "2025-06-30", "amount": "1.000"})
    assert response.status_code == 400 and "de datum valt in 2025" in text(response)
    session.expire_all()
    assert counts(session) == before


def test_raising_staffing_reservation_meets_budget_stop(app, session, world):
    client = login(app, world["users"]["financieel"])
    url = f"/budget/personeel/{world['reservation'].id}"
    response = client.post(url, data={"version": shown_version(client, url), "year": "2024", "fte": "2",
                                      "amount": "800.000"})
    assert response.status_code == 400
    assert "2024 (vrije ruimte nu € 490.000,00, tekort € 110.000,00)" in text(response)
    session.expire_all()
    assert session.get(StaffingReservation, world["reservation"].id).amount == Decimal("200000.00")


def test_delete_reservation_with_costs_is_refused_then_allowed(app, session, world):
    client = login(app, world["users"]["financieel"])
    res_id, cost_id = world["reservation"].id, world["cost"].id
    html = text(client.post(f"/budget/personeel/{res_id}/verwijderen", follow_redirects=True))
    assert "Niet verwijderd" in html and "geboekte personeelskosten" in html
    assert client.post(f"/budget/personeelskosten/{cost_id}/verwijderen").status_code == 302
    assert client.post(f"/budget/personeel/{res_id}/verwijderen").status_code == 302
    session.expire_all()
    assert session.get(StaffingReservation, res_id) is None


# --- commitments and payments ---------------------------------------------------------------


@pytest.mark.parametrize("amount", ["١٠٠,٠٠", "１００,００", "𝟏𝟐𝟑"])
def test_amounts_in_other_scripts_digits_are_refused(app, session, world, amount):
    client = login(app, world["users"]["financieel"])
    before = counts(session)
    response = client.post(f"/projecten/{world['project'].id}/verplichtingen/nieuw", data={
        "reference": "BS-UNI", "signed_date": "2025-02-01", "total": amount, "jaar_2025": amount})
    assert response.status_code == 400 and "geen geldig bedrag" in text(response)
    response = client.post(f"/verplichtingen/{world['commitment'].id}/betalingen/nieuw", data={
        "payment_date": "2025-03-01", "amount": amount, "kind": "betaling"})
    assert response.status_code == 400 and "geen geldig bedrag" in text(response)
    session.expire_all()
    assert counts(session) == before


@pytest.mark.parametrize("year", ["٢٠٢٥", "２０２５", "𝟐𝟎𝟐𝟓"])
def test_years_in_other_scripts_digits_are_refused(app, session, world, year):
    client = login(app, world["users"]["financieel"])
    before = counts(session)
    response = client.post("/budget/mutaties/nieuw", data={
        "year": year, "amount": "1.000", "kind": "technisch", "moment": "intern", "reason": "Unicode",
        "date": "2025-01-01"})
    assert response.status_code == 400 and "Vul een heel getal in" in text(response)
    response = client.post("/budget/personeel/nieuw", data={"year": year, "fte": "1", "amount": "1.000"})
    assert response.status_code == 400 and "Vul een heel getal in" in text(response)
    response = client.post("/budget/mutaties/nieuw", data={
        "year": "2025", "amount": "1.000", "kind": "technisch", "moment": "intern", "reason": "Unicode",
        "date": f"{year}-01-01"})
    assert response.status_code == 400 and "Vul een geldige datum in." in text(response)
    session.expire_all()
    assert counts(session) == before


def test_commitment_via_form(app, session, world):
    client = login(app, world["users"]["financieel"])
    response = client.post(f"/projecten/{world['project'].id}/verplichtingen/nieuw", data={
        "reference": "BS-NIEUW", "signed_date": "2025-02-01", "total": "150.000",
        "jaar_2025": "100.000", "jaar_2026": "50.000"})
    assert response.status_code == 302
    assert f"/projecten/{world['project'].id}" in response.location
    commitment = session.scalar(select(Commitment).where(Commitment.reference == "BS-NIEUW"))
    assert {s.year: s.amount for s in commitment.schedule} == {2025: Decimal("100000.00"),
                                                               2026: Decimal("50000.00")}


def test_overrunning_commitment_is_refused_with_year_and_shortfall(app, session, world):
    client = login(app, world["users"]["financieel"])
    before = counts(session)
    # 2026 free: 1.000.000; ask 1.200.000 in 2026.
    response = client.post(f"/projecten/{world['project'].id}/verplichtingen/nieuw", data={
        "reference": "BS-TE-VEEL", "signed_date": "2025-02-01", "total": "1.300.000",
        "jaar_2025": "100.000", "jaar_2026": "1.200.000", "override_reason": "financieel mag dit niet"})
    assert response.status_code == 400
    html = text(response)
    message = ("Budgetstop: onvoldoende vrije ruimte in 2026 (vrije ruimte nu € 1.000.000,00, tekort € 200.000,00). "
               "Alleen een beheerder mag de budgetstop doorbreken, met een reden.")
    # Said once, in the error summary: the year, the free room now, the shortfall and who may override.
    assert html.count(message) == 1
    summary = html[html.index('id="foutoverzicht"'):html.index("</div>", html.index('id="foutoverzicht"'))]
    assert message in summary
    assert summary.count("200.000,00") == 1 and 'href="#jaar_2026"' not in summary
    assert 'id="jaar_2026-fout">tekort € 200.000,00' in html  # the 2026 field is marked beside it
    session.expire_all()
    assert counts(session) == before


def _summary(html: str) -> list[str]:
    summary = html[html.index('id="foutoverzicht"'):]
    summary = summary[:summary.index("</div>")]
    return [re.sub(r"<[^>]+>", "", item).strip() for item in re.findall(r"<li>(.*?)</li>", summary, re.DOTALL)]


def test_a_budget_form_reports_field_errors_and_the_budget_stop_together(app, session, world):
    client = login(app, world["users"]["financieel"])
    before = counts(session)
    # No kenmerk (the form's own check) and 1.200.000 in 2026 where 1.000.000 is free (the rule's).
    response = client.post(f"/projecten/{world['project'].id}/verplichtingen/nieuw", data={
        "reference": "", "signed_date": "2025-02-01", "total": "1.200.000", "jaar_2026": "1.200.000"})
    assert response.status_code == 400
    items = _summary(text(response))
    assert items[0] == "Kenmerk (beschikking of contract): Vul een kenmerk in."
    assert items[1].startswith("Budgetstop: onvoldoende vrije ruimte in 2026 (vrije ruimte nu € 1.000.000,00, "
                               "tekort € 200.000,00).")
    assert len(items) == 2
    # A mutation: no toelichting, a date that is no date, and a cut below the free room, all at once.
    response = client.post("/budget/mutaties/nieuw", data={
        "year": "2026", "amount": "-1.100.000", "kind": "beleidsmatig", "moment": "voorjaarsnota",
        "reason": "", "date": "31-02-2026"})
    assert response.status_code == 400
    items = _summary(text(response))
    assert "Toelichting: Vul een toelichting in." in items
    assert "Datum: Vul een geldige datum in." in items
    assert any(i.startswith("Budgetstop: onvoldoende vrije ruimte in 2026 (") for i in items)
    assert len(items) == 3
    session.expire_all()
    assert counts(session) == before


def test_a_source_edit_reports_a_missing_name_and_the_budget_stop_together(app, session, world):
    client = login(app, world["users"]["financieel"])
    url = f"/budget/bronnen/{world['source'].id}"
    # 2024 has 490.000 free; lowering it by 600.000 and leaving the name empty are both wrong.
    response = client.post(url, data={
        "version": shown_version(client, url), "name": "", "kind": "structureel", "reference": "Kamerstuk 1",
        "jaar_2024": "400.000", "jaar_2025": "1.000.000", "jaar_2026": "1.000.000"})
    assert response.status_code == 400
    items = _summary(text(response))
    assert items[0] == "Naam: Vul een naam in."
    assert items[1].startswith("Budgetstop: onvoldoende vrije ruimte in 2024 (vrije ruimte nu € 490.000,00, "
                               "tekort € 110.000,00).")
    assert len(items) == 2


def test_a_payment_reports_a_taken_reference_and_an_overpayment_together(app, session, world):
    client = login(app, world["users"]["financieel"])
    commitment = world["commitment"]  # 500.000 in all
    services.add_payment(session, world["users"]["financieel"], commitment, payment_date=date(2025, 3, 1),
                         amount=Decimal(1000), kind="betaling", reference="BOEK-1")
    session.commit()
    response = client.post(f"/verplichtingen/{commitment.id}/betalingen/nieuw", data={
        "payment_date": "2025-04-01", "amount": "600.000", "kind": "betaling", "reference": "BOEK-1"})
    assert response.status_code == 400
    items = _summary(text(response))
    assert "Kenmerk (boekingsnummer): Er bestaat al een betaling met kenmerk BOEK-1." in items
    assert any(i.startswith("Betaling geweigerd: verplichting BS-1 is € 500.000,00") for i in items)


def test_beheerder_may_override_budget_stop_with_reason(app, session, world):
    client = login(app, world["users"]["beheerder"])
    url = f"/projecten/{world['project'].id}/verplichtingen/nieuw"
    data = {"reference": "BS-OVERRIDE", "signed_date": "2025-02-01", "total": "1.200.000",
            "jaar_2026": "1.200.000", "override_reason": ""}
    assert client.post(url, data=data).status_code == 400
    data["override_reason"] = "Besluit DG van 1 februari: tijdelijke overschrijding"
    assert client.post(url, data=data).status_code == 302
    commitment = session.scalar(select(Commitment).where(Commitment.reference == "BS-OVERRIDE"))
    entry = session.scalars(select(AuditEntry).where(AuditEntry.entity == "Commitment",
                                                     AuditEntry.entity_id == commitment.id)).one()
    assert entry.changes_dict["override"]["reason"].startswith("Besluit DG")


def test_bad_commitment_input_writes_nothing(app, session, world):
    client = login(app, world["users"]["financieel"])
    before = counts(session)
    response = client.post(f"/projecten/{world['project'].id}/verplichtingen/nieuw", data={
        "reference": "BS-1", "signed_date": "2025-02-01", "total": "100.000", "jaar_2025": "90.000"})
    assert response.status_code == 400
    html = text(response)
    assert "Er bestaat al een verplichting met kenmerk BS-1." in html
    response = client.post(f"/projecten/{world['project'].id}/verplichtingen/nieuw", data={
        "reference": "BS-9", "signed_date": "", "total": "100.000", "jaar_2025": "90.000"})
    assert response.status_code == 400
    assert "Vul een geldige datum in." in text(response)
    response = client.post(f"/projecten/{world['project'].id}/verplichtingen/nieuw", data={
        "reference": "BS-9", "signed_date": "2025-02-01", "total": "100.000", "jaar_2025": "90.000"})
    assert response.status_code == 400
    assert "Het kasritme telt op tot € 90.000,00" in text(response)
    response = client.post(f"/projecten/{world['project'].id}/verplichtingen/nieuw", data={
        "reference": "BS-9", "signed_date": "2025-02-01", "total": "0", "jaar_2025": "0"})
    assert response.status_code == 400
    assert 'id="total-fout">Een verplichting heeft een bedrag groter dan nul.' in text(response)
    session.expire_all()
    assert counts(session) == before


def test_adjustment_and_payment_via_forms(app, session, world):
    client = login(app, world["users"]["financieel"])
    cid = world["commitment"].id
    assert client.post(f"/verplichtingen/{cid}/bijstelling", data={
        "adjustment_date": "2025-06-01", "jaar_2025": "-50.000", "reason": "Lagere vaststelling"}).status_code == 302
    assert client.post(f"/verplichtingen/{cid}/betalingen/nieuw", data={
        "payment_date": "2025-07-01", "amount": "100.000", "kind": "voorschot", "reference": "BET-1"}
    ).status_code == 302
    total, paid = services.commitment_totals(session, cid)
    assert (total, paid) == (Decimal("450000.00"), Decimal("100000.00"))


def test_overpayment_is_refused(app, session, world):
    client = login(app, world["users"]["financieel"])
    before = counts(session)
    response = client.post(f"/verplichtingen/{world['commitment'].id}/betalingen/nieuw", data={
        "payment_date": "2025-07-01", "amount": "500.000,01", "kind": "betaling"})
    assert response.status_code == 400
    assert "gaat daar € 0,01 overheen" in text(response)
    session.expire_all()
    assert counts(session) == before


def test_delete_commitment_with_payment_is_refused_with_reason(app, session, world):
    fin = world["users"]["financieel"]
    services.add_payment(session, fin, world["commitment"], payment_date=date(2025, 2, 1),
                         amount=Decimal("1000"), kind="voorschot")
    session.commit()
    client = login(app, fin)
    html = text(client.post(f"/verplichtingen/{world['commitment'].id}/verwijderen",
                       follow_redirects=True))
    assert "Niet verwijderd" in html and "1 betaling(en)" in html
    session.expire_all()
    assert session.get(Commitment, world["commitment"].id) is not None


def test_delete_commitment_without_dependants(app, session, world):
    client = login(app, world["users"]["financieel"])
    assert client.post(f"/verplichtingen/{world['commitment'].id}/verwijderen").status_code == 302
    session.expire_all()
    assert session.get(Commitment, world["commitment"].id) is None


def test_unknown_ids_give_404(app, world):
    client = login(app, world["users"]["financieel"])
    for url in ("/budget/bronnen/999", "/budget/mutaties/999", "/budget/kasschuif/nope", "/budget/personeel/999",
                "/budget/personeelskosten/999", "/projecten/999/verplichtingen/nieuw",
                "/verplichtingen/999/bijstelling", "/verplichtingen/999/betalingen/nieuw"):
        assert client.get(url).status_code == 404, url


# --- the money section of the project page --------------------------------------------------


def _render_money(app, user, project) -> str:
    with app.test_request_context("/"):
        g.pop("programme", None)  # as a real request starts: nothing cached from the one before
        login_user(user)
        return render_template("budget/_project_money.html", project=project,
                               data=queries.project_money(db.session, project))


def test_money_partial_shows_figures_and_controls_only_to_finance(app, session, world):
    fin = world["users"]["financieel"]
    services.add_payment(session, fin, world["commitment"], payment_date=date(2025, 2, 1),
                         amount=Decimal("120000"), kind="voorschot", reference="BET-9")
    services.adjust_commitment(session, fin, world["commitment"], adjustment_date=date(2025, 5, 1),
                               changes={2025: Decimal("-20000")}, reason="Lagere vaststelling")
    session.commit()
    for role in ROLES:
        html = _render_money(app, world["users"][role], world["project"]).replace("\xa0", " ")
        assert "BS-1" in html and "BET-9" in html and "Lagere vaststelling" in html
        assert "€ 480.000,00" in html  # 500.000 − 20.000
        assert "€ 360.000,00" in html  # still to pay
        has_controls = any(path in html for path in ("/verplichtingen/nieuw", "/betalingen/nieuw", "/bijstelling",
                                                      "/verwijderen"))
        assert has_controls == (role in ("beheerder", "financieel")), role


def test_money_on_project_page(app, world):
    html = text(login(app, world["users"]["financieel"]).get(f"/projecten/{world['project'].id}"))
    assert "BS-1" in html and "Nieuwe verplichting" in html
    html = text(login(app, world["users"]["lezer"]).get(f"/projecten/{world['project'].id}"))
    assert "BS-1" in html and "Nieuwe verplichting" not in html


def test_money_partial_query_count_does_not_grow_with_rows(app, session, world):
    fin = world["users"]["financieel"]

    def queries() -> int:
        seen = []
        listener = lambda *args: seen.append(1)  # noqa: E731
        event.listen(db.engine, "before_cursor_execute", listener)
        try:
            project = session.get(type(world["project"]), world["project"].id)
            _render_money(app, fin, project)
        finally:
            event.remove(db.engine, "before_cursor_execute", listener)
        return len(seen)

    session.expire_all()
    few = queries()
    for n in range(6):
        c = commit_money(session, fin, world["project"], {2026: Decimal("1000")}, reference=f"BS-Q{n}")
        for k in range(3):
            services.add_payment(session, fin, c, payment_date=date(2026, 1, 1 + k), amount=Decimal("100"),
                                 kind="betaling")
        services.adjust_commitment(session, fin, c, adjustment_date=date(2026, 2, 1),
                                   changes={2026: Decimal("-10")}, reason="Bijstelling")
    session.commit()
    session.expire_all()
    assert queries() == few


def test_beheerder_lowers_allocation_past_the_stop_with_a_reason(app, session, world):
    client = login(app, world["users"]["beheerder"])
    url = f"/budget/bronnen/{world['source'].id}"
    data = {"version": shown_version(client, url), "name": "Structureel", "kind": "structureel",
            "reference": "Kamerstuk 1", "jaar_2024": "400.000", "jaar_2025": "1.000.000", "jaar_2026": "1.000.000",
            "override_reason": "kort"}
    response = client.post(url, data=data)
    assert response.status_code == 400 and "minstens 10 tekens" in text(response)
    data["override_reason"] = "Taakstelling Voorjaarsnota, besluit minister"
    assert client.post(f"/budget/bronnen/{world['source'].id}", data=data).status_code == 302
    entry = session.scalars(select(AuditEntry).where(AuditEntry.entity == "BudgetAllocation",
                                                     AuditEntry.action == "update")).one()
    assert entry.changes_dict["override"]["shortfalls"] == {"2024": "110000.00"}


def _first_in_main(html: str) -> str:
    """What the page shows first inside <main>, tags and blanks removed."""
    main = html[html.index("<main"):]
    main = main[main.index(">") + 1:]
    return re.sub(r"\s+", " ", re.sub(r"<[^>]+>", " ", main)).strip()


@pytest.mark.parametrize("url, data, confirmation, link", [
    ("/budget/mutaties/nieuw", {"year": "2025", "amount": "25.000", "kind": "beleidsmatig",
                                "moment": "najaarsnota", "reason": "Extra", "date": "2025-09-01"},
     "Mutatie toegevoegd.", ("/budget#mutaties", "Naar de mutaties")),
    ("/budget/kasschuif/nieuw", {"moment": "najaarsnota", "reason": "Later", "date": "2025-09-01",
                                 "jaar_2025": "-5.000", "jaar_2026": "5.000"},
     "Kasschuif toegevoegd.", ("/budget#mutaties", "Naar de mutaties")),
    ("/budget/bronnen/nieuw", {"name": "Extra", "kind": "incidenteel", "jaar_2025": "10.000"},
     "Financieringsbron toegevoegd.", ("/budget#bronnen", "Naar de financieringsbronnen")),
])
def test_the_confirmation_after_a_budget_save_is_at_the_top_of_the_page(app, world, url, data, confirmation, link):
    client = login(app, world["users"]["financieel"])
    response = client.post(url, data=data)
    assert response.status_code == 302
    # No fragment: the browser opens the page at its top, where the confirmation is.
    assert response.location == "/budget"
    html = text(client.get(response.location))
    assert _first_in_main(html).startswith(f"{confirmation} {link[1]} Budget")
    region = html[html.index('id="meldingen"') - 30:]
    region = region[:region.index("</div>")]
    assert 'tabindex="-1"' in region and 'role="status"' in region
    assert f'<a href="{link[0]}">{link[1]}</a>' in region  # the section is one click away


def test_the_confirmation_after_a_payment_is_at_the_top_of_the_project_page(app, world):
    client = login(app, world["users"]["financieel"])
    response = client.post(f"/verplichtingen/{world['commitment'].id}/betalingen/nieuw", data={
        "payment_date": "2025-04-01", "amount": "1.000", "kind": "betaling"})
    assert response.status_code == 302 and "#" not in response.location
    assert _first_in_main(text(client.get(response.location))).startswith(
        "Betaling vastgelegd. Naar de verplichtingen en betalingen")

