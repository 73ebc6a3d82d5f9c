"""The audit trail reads as Dutch for people: object names, verbs, form labels, euros, Amsterdam time."""
from __future__ import annotations

import re
from contextlib import contextmanager
from datetime import date, datetime, timezone
from decimal import Decimal as D
from zoneinfo import ZoneInfo

import pytest
from sqlalchemy import event, select

from budget import services as budget
from core.audit import AuditEntry
from core.audit_labels import format_value, local_time, override_text
from core.db import db
from projects import services as portfolio
from tests.factories import (
    commit_money,
    fund,
    login,
    make_programme,
    make_project,
    make_user,
)

DEVELOPER_OUTPUT = ("created_at", "{'", "Payment", "Commitment", "BudgetMutation", "FundingSource", "create",
                    "flask audit", "UTC", "programme_id", "None")


def _main(html: str) -> str:
    """The page's own text, without tags (the menu and footer are not the trail's)."""
    main = html[html.index("<main"):html.index("</main>")]
    return re.sub(r"\s+", " ", re.sub(r"<[^>]+>", " ", main)).replace("&amp;", "&")


@pytest.fixture
def world(session):
    boss, fin = make_user(session, "beheerder"), make_user(session, "financieel")
    prog = make_programme(session, boss, code="STM", first_year=2025, last_year=2027)
    fund(session, fin, prog, {2025: "1.000.000", 2026: "1.000.000", 2027: "100.000"})
    project = make_project(session, fin, prog, code="STM-007", title="Opvang slachtoffers")
    commitment = commit_money(session, fin, project, {2025: D("50000")}, reference="V-01")
    budget.add_payment(session, fin, commitment, payment_date=date(2025, 2, 1), amount=D("1234.56"),
                       kind="voorschot", reference="BET-2025-12")
    session.commit()
    return {"boss": boss, "fin": fin, "prog": prog, "project": project, "commitment": commitment}


def _page(client, session, user, url="/audit/") -> str:
    login(client, user)
    response = client.get(url)
    assert response.status_code == 200
    return _main(response.get_data(as_text=True))


def test_the_trail_names_objects_as_users_know_them(client, session, world):
    text = _page(client, session, world["fin"])
    assert "Betaling BET-2025-12 op verplichting V-01 (STM-007)" in text
    assert "Verplichting V-01 (STM-007)" in text
    assert "Project STM-007 – Opvang slachtoffers" in text
    assert "Betaling aangemaakt" in text and "Kenmerk" in text and "€ 1.234,56" in text and "1-2-2025" in text
    assert "Een beheerder kan de keten controleren" in text
    for developer in DEVELOPER_OUTPUT:
        assert developer not in text, developer


def test_times_are_in_amsterdam(client, session, world):
    entry = session.scalar(select(AuditEntry).order_by(AuditEntry.id.desc()).limit(1))
    at = entry.at if entry.at.tzinfo else entry.at.replace(tzinfo=timezone.utc)
    local = at.astimezone(ZoneInfo("Europe/Amsterdam"))
    expected = f"{local.day}-{local.month}-{local.year} {local:%H:%M}"  # d-m-jjjj, to the minute
    assert expected in _page(client, session, world["fin"])
    # Summer and winter time: 12:00 UTC is 14:00 in July and 13:00 in January.
    assert local_time(datetime(2026, 7, 1, 12)) == "1-7-2026 14:00"
    assert local_time(datetime(2026, 1, 1, 12, tzinfo=timezone.utc)) == "1-1-2026 13:00"


def test_a_change_is_old_and_new_under_the_form_label(client, session, world):
    project = world["project"]
    portfolio.update_project(session, world["fin"], project, {
        "code": project.code, "title": "Opvang en herstel", "summary": project.summary, "category": project.category,
        "line": project.line, "instrument": project.instrument, "forms": ["seksuele_uitbuiting"],
        "requested_amount": "250000"})
    session.commit()
    text = _page(client, session, world["fin"], f"/audit/Project/{project.id}")
    assert "Geschiedenis van Project STM-007 – Opvang en herstel" in text
    assert "Project gewijzigd" in text
    assert "Titel Opvang slachtoffers Opvang en herstel" in text
    assert "Aangevraagd bedrag – € 250.000,00" in text
    assert "title" not in text and "requested_amount" not in text


def test_the_override_reads_as_a_sentence(client, session, world):
    budget.add_mutation(session, world["boss"], world["prog"], year=2027, amount="-280000", kind="technisch",
                        moment="intern", reason="Korting", mutation_date=date(2025, 3, 1),
                        override_reason="Minister heeft de korting besloten")
    session.commit()
    text = _page(client, session, world["fin"], "/audit/?soort=BudgetMutation")
    assert "Budgetstop doorbroken: reden Minister heeft de korting besloten; tekort 2027 € 180.000,00" in text
    assert "Mutatie 2027 (STM)" in text and "'reason'" not in text and "shortfalls" not in text


def test_a_deleted_object_keeps_its_name_from_its_entry(client, session, world):
    second = commit_money(session, world["fin"], world["project"], {2026: D("1000")}, reference="V-02")
    session.commit()
    budget.delete_commitment(session, world["fin"], second)
    session.commit()
    text = _page(client, session, world["fin"], "/audit/?actie=delete")
    assert "Verplichting V-02 (STM-007)" in text and "Verplichting verwijderd" in text
    assert "€ 1.000,00" in text


def test_secrets_and_bookkeeping_are_never_shown(client, session, world):
    text = _page(client, session, world["boss"], "/audit/?soort=User")
    assert "Gebruiker aangemaakt" in text and "E-mail" in text
    for hidden in ("password_hash", "totp_secret", "session_token", "version", "id ="):
        assert hidden not in text


def test_values_are_formatted_for_people():
    assert format_value("amount", "1234.56") == "€\xa01.234,56"
    assert format_value("start_date", "2026-06-01") == "1-6-2026"
    assert format_value("active", True) == "ja" and format_value("active", False) == "nee"
    assert format_value("end_date", None) == "–"
    assert format_value("schedule", {"2026": "1000.00"}) == "2026: €\xa01.000,00"
    assert override_text({"reason": "Besluit", "shortfalls": {"2027": "180000.00"}}) \
        == "Budgetstop doorbroken: reden Besluit; tekort 2027 €\xa0180.000,00"


@contextmanager
def _counting():
    statements = []

    def count(conn, cursor, statement, *args):
        statements.append(statement)

    engine = db.engine
    event.listen(engine, "before_cursor_execute", count)
    try:
        yield statements
    finally:
        event.remove(engine, "before_cursor_execute", count)


def test_a_full_page_of_entries_runs_as_many_queries_as_a_short_one(client, session, world):
    login(client, world["fin"])

    def queries() -> int:
        client.get("/audit/")  # warm: the login's own work is not counted
        with _counting() as statements:
            assert client.get("/audit/").status_code == 200
        return len(statements)

    few = queries()
    fin, commitment = world["fin"], world["commitment"]
    for n in range(30):  # payments on commitments on projects: three levels of names per row
        project = make_project(session, fin, world["prog"], code=f"STM-1{n:02d}")
        other = commit_money(session, fin, project, {2025: D("100")}, reference=f"V-1{n:02d}")
        budget.add_payment(session, fin, other, payment_date=date(2025, 2, 1), amount=D("1"), kind="voorschot",
                           reference=f"BET-{n}")
    budget.add_payment(session, fin, commitment, payment_date=date(2025, 2, 2), amount=D("1"), kind="voorschot")
    session.commit()
    many = queries()
    # One query per kind of object per level of names: it follows the kinds on the page, not the rows
    # (the short page has more kinds, the full one 50 rows).
    assert many <= few + 2, (few, many)
    assert "Betaling BET-29 op verplichting V-129 (STM-129)" in _main(client.get("/audit/").get_data(as_text=True))



def test_codes_read_as_their_labels(client, session, world):
    text = _page(client, session, world["fin"], f"/audit/Project/{world['project'].id}")
    assert "Vormen van uitbuiting – Seksuele uitbuiting" in text and "seksuele_uitbuiting" not in text
    assert "Categorie – Nieuw" in text
    payments = _page(client, session, world["fin"], "/audit/?soort=Payment")
    assert "Soort – Voorschot" in payments


def test_kasschuif_and_closed_period_read_in_dutch(client, session, world):
    budget.add_kasschuif(session, world["fin"], world["prog"], amounts={2025: "-1000", 2026: "1000"},
                         moment="najaarsnota", reason="Vertraging", mutation_date=date(2025, 10, 1))
    budget.close_period(session, world["fin"], world["prog"], date(2025, 3, 31))
    session.commit()
    text = _page(client, session, world["fin"])
    assert "Kasschuif 2025 (STM)" in text and "Kasschuif aangemaakt" in text and "Moment – Najaarsnota" in text
    assert "Boekperiode (STM)" in text and "Boekperiode afgesloten" in text
    assert "Afgesloten tot en met – 31-3-2025" in text and "Handeling – Afgesloten" in text
    for developer in DEVELOPER_OUTPUT:
        assert developer not in text, developer
