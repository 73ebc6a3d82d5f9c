"""A project leader's home: landing on Mijn projecten, update due dates and 'achterstallig', the status form."""
from __future__ import annotations

import re
from datetime import date, timedelta

import pytest

from projects import services as portfolio
from projects.rules import (
    UPDATE_INTERVAL_MONTHS,
    add_months,
    next_update_due,
    update_overdue,
)
from tests.factories import login, make_programme, make_project, make_user

# --- the due rule ---------------------------------------------------------------------------------

def test_an_update_is_due_half_a_year_after_the_last_one():
    assert UPDATE_INTERVAL_MONTHS == 6
    assert next_update_due("in_uitvoering", date(2025, 3, 15), date(2024, 1, 1), date(2023, 6, 1)) == date(2025, 9, 15)


def test_without_an_update_the_interval_counts_from_the_start_or_else_from_entry():
    assert next_update_due("toegekend", None, date(2025, 1, 6), date(2024, 11, 1)) == date(2025, 7, 6)
    assert next_update_due("voorstel", None, None, date(2024, 11, 1)) == date(2025, 5, 1)


@pytest.mark.parametrize("status", ["afgerond", "afgewezen", "ingetrokken"])
def test_closed_projects_owe_no_update(status, today):
    assert next_update_due(status, None, date(2020, 1, 1), date(2020, 1, 1)) is None
    assert not update_overdue(None, today)


def test_a_suspended_project_still_reports():
    assert next_update_due("opgeschort", date(2025, 1, 1), None, date(2024, 1, 1)) == date(2025, 7, 1)


@pytest.mark.parametrize("day, months, expected", [
    (date(2025, 8, 31), 6, date(2026, 2, 28)), (date(2023, 8, 31), 6, date(2024, 2, 29)),
    (date(2025, 7, 15), 6, date(2026, 1, 15)), (date(2025, 12, 31), 1, date(2026, 1, 31)),
])
def test_add_months_keeps_the_day_or_takes_the_months_last(day, months, expected):
    assert add_months(day, months) == expected


def test_overdue_only_after_the_due_day():
    due = date(2025, 7, 1)
    assert not update_overdue(due, date(2025, 6, 30))
    assert not update_overdue(due, due)
    assert update_overdue(due, date(2025, 7, 2))


# --- landing after login --------------------------------------------------------------------------

@pytest.fixture
def world(app, session, today):
    admin = make_user(session, "beheerder")
    owner = make_user(session, "projectleider")
    programme = make_programme(session, admin, first_year=2024, last_year=today.year + 1)
    late = make_project(session, admin, programme, code="STM-001", title="Opvang met oude update",
                        owner_id=owner.id, status="toegekend", start_date=date(2024, 2, 1))
    fresh = make_project(session, admin, programme, code="STM-002", title="Voorlichting bijgewerkt",
                         owner_id=owner.id, status="toegekend", start_date=date(2024, 2, 1))
    never = make_project(session, admin, programme, code="STM-003", title="Nooit bijgewerkt",
                         owner_id=owner.id, status="toegekend", start_date=date(2024, 3, 1))
    starting = make_project(session, admin, programme, code="STM-004", title="Begint pas",
                            owner_id=owner.id, status="toegekend", start_date=today + timedelta(days=30))
    done = make_project(session, admin, programme, code="STM-005", title="Al afgerond",
                        owner_id=owner.id, status="afgerond", start_date=date(2024, 1, 1))
    portfolio.add_status_update(session, owner, late, status="in_uitvoering", rag="risico",
                                update_date=date(2024, 6, 1), progress="Werving loopt achter",
                                public_text="De opvang is gestart.", next_steps="Tweede locatie openen")
    portfolio.add_status_update(session, owner, fresh, status="in_uitvoering", rag="op_koers",
                                update_date=today - timedelta(days=20), public_text="Lessen gegeven.")
    session.commit()
    return {"admin": admin, "owner": owner, "late": late, "fresh": fresh, "never": never,
            "starting": starting, "done": done, "lezer": make_user(session, "lezer"),
            "fin": make_user(session, "financieel")}


def _login(app, session, user, next_url: str | None = None):
    session.commit()
    client = app.test_client()
    url = "/login" if next_url is None else f"/login?next={next_url}"
    response = client.post(url, data={"email": user.email, "password": "correct-horse-battery"})
    return client, response


def test_a_project_leader_lands_on_mijn_projecten(app, session, world):
    client, response = _login(app, session, world["owner"])
    assert response.status_code == 302 and response.headers["Location"] == "/projecten/mijn"
    assert "Mijn projecten" in client.get("/projecten/mijn").get_data(as_text=True)


def test_a_project_leader_asked_for_a_page_still_gets_it(app, session, world):
    _client, response = _login(app, session, world["owner"], "/projecten?lijn=zorg")
    assert response.headers["Location"] == "/projecten?lijn=zorg"
    # An unsafe next falls back to the role's landing page, not to the outside site.
    _client, response = _login(app, session, world["owner"], "//evil.example/")
    assert response.headers["Location"] == "/projecten/mijn"


@pytest.mark.parametrize("role", ["lezer", "fin"])
def test_other_roles_still_land_on_the_dashboard(app, session, world, role):
    _client, response = _login(app, session, world[role])
    assert response.status_code == 302 and response.headers["Location"] == "/"


def test_a_beheerder_lands_on_the_dashboard_after_the_second_factor(app, session, world):
    client = app.test_client()
    session.commit()
    response = login(client, world["admin"])
    assert response.status_code == 302 and response.headers["Location"] == "/"


# --- Mijn projecten -------------------------------------------------------------------------------

def _rows(page: str, caption_part: str) -> dict[str, str]:
    """{code: row html} of the table whose caption holds `caption_part`."""
    table = next(t for t in re.findall(r"<table.*?</table>", page, re.DOTALL) if caption_part in t)
    # A row's first cell is its code (on Mijn projecten with the ARIA roles that keep a stacked row a table).
    first_cell = r'<td class="nowrap"(?: role="cell" data-label="Code")?>'
    return {re.search(first_cell + r"([^<]*)</td>", row).group(1): row
            for row in re.findall(r"<tr[^>]*>(?:(?!</tr>).)*?" + first_cell + r".*?</tr>", table, re.DOTALL)}


def test_mijn_projecten_marks_late_updates_and_puts_closed_projects_apart(app, session, world):
    client, _ = _login(app, session, world["owner"])
    page = client.get("/projecten/mijn").get_data(as_text=True)
    running = _rows(page, "Lopende projecten")
    # Most urgent first: the oldest due date on top; closed projects are not in the running table.
    assert list(running) == ["STM-003", "STM-001", "STM-002", "STM-004"]
    assert "achterstallig" in running["STM-001"] and "achterstallig" in running["STM-003"]
    assert "achterstallig" not in running["STM-002"] and "achterstallig" not in running["STM-004"]
    # Last update date, and the due date half a year later (never updated: from the start date).
    assert "1-6-2024" in running["STM-001"] and "1-12-2024" in running["STM-001"]
    assert "nog geen" in running["STM-003"] and "1-9-2024" in running["STM-003"]
    assert "Op koers" in running["STM-002"] and "Risico" in running["STM-001"]
    # The marker is text a screen reader reads, and the page says how many wait.
    assert "2 projecten wachten op een statusupdate." in page
    closed = _rows(page, "Afgeronde, afgewezen en ingetrokken")
    assert list(closed) == ["STM-005"]
    assert "Status bijwerken" not in closed["STM-005"] and "achterstallig" not in closed["STM-005"]
    assert "<details" in page and "Afgeronde en gestopte projecten (1)" in page
    assert "RAG" not in page


def test_mijn_projecten_without_late_updates_shows_no_marker(app, session, world, today):
    for key in ("late", "never"):
        portfolio.add_status_update(session, world["owner"], world[key], status=world[key].status, rag="op_koers",
                                    update_date=today)
    client, _ = _login(app, session, world["owner"])
    page = client.get("/projecten/mijn").get_data(as_text=True)
    assert "achterstallig" not in page and "wacht" not in page


# --- the status form ------------------------------------------------------------------------------

def test_status_form_shows_the_previous_update_and_carries_over_voortgang_and_next_steps(app, session, world, today):
    client, _ = _login(app, session, world["owner"])
    page = client.get(f"/projecten/{world['late'].id}/status").get_data(as_text=True)
    previous = page.split('class="previous-update"')[1].split("</section>")[0]
    assert "Vorige update van 1 juni 2024" in previous
    for shown in ("Risico", "In uitvoering", "Werving loopt achter", "De opvang is gestart.", "Tweede locatie openen"):
        assert shown in previous, shown
    form = page.split("<form method=\"post\" class=\"form\"")[1]
    assert re.search(r'<option[^>]*value="risico"[^>]*selected|<option selected[^>]*value="risico"', form)
    assert re.search(r'<textarea[^>]*id="next_steps"[^>]*>\s*Tweede locatie openen</textarea>', form)
    # This period's texts start empty, and the date is today's, not the previous update's.
    assert re.search(r'<textarea[^>]*id="progress"[^>]*>\s*</textarea>', form)
    assert re.search(r'<textarea[^>]*id="public_text"[^>]*>\s*</textarea>', form)
    assert f'value="{today.isoformat()}"' in form or today.strftime("%d-%m-%Y") in form
    assert "2024-06-01" not in form and "01-06-2024" not in form
    assert 'for="rag">Voortgang' in form and "RAG" not in page


def test_status_form_without_a_previous_update_starts_empty(app, session, world):
    client, _ = _login(app, session, world["owner"])
    page = client.get(f"/projecten/{world['never'].id}/status").get_data(as_text=True)
    assert "previous-update" not in page
    assert not re.search(r'<option[^>]*selected[^>]*value="(op_koers|risico|achter)"|'
                         r'<option[^>]*value="(op_koers|risico|achter)"[^>]*selected', page)


def test_a_posted_update_keeps_what_was_posted_not_the_previous_one(app, session, world):
    client, _ = _login(app, session, world["owner"])
    url = f"/projecten/{world['late'].id}/status"
    page = client.get(url).get_data(as_text=True)
    hidden = dict(re.findall(r'<input[^>]*name="(csrf_token|form_token)"[^>]*value="([^"]*)"', page))
    # A failing post (no date) shows the posted values back, not the carried-over ones.
    response = client.post(url, data={**hidden, "status": "in_uitvoering", "rag": "achter", "update_date": "",
                                      "next_steps": "Iets anders"})
    assert response.status_code == 400
    body = response.get_data(as_text=True)
    assert re.search(r'<textarea[^>]*id="next_steps"[^>]*>\s*Iets anders</textarea>', body)
