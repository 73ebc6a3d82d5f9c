"""User administration pages: only a beheerder; add, change role, (de)activate, new password."""
from __future__ import annotations

import html as html_module
import re

import pytest
from sqlalchemy import func, select

from core.audit import AuditEntry
from core.users import User
from tests.factories import login as login_as
from tests.factories import PASSWORD, make_user

ROLES = ("beheerder", "financieel", "projectleider", "lezer")
NEW_PASSWORD = "nieuw-en-lang-genoeg"


@pytest.fixture
def users(session):
    made = {role: make_user(session, role) for role in ROLES}
    session.commit()
    return made


def text(response) -> str:
    return html_module.unescape(response.get_data(as_text=True)).replace("\xa0", " ")


def login(app, user, password=PASSWORD):
    client = app.test_client()
    response = login_as(client, user, password)
    return client, response


def admin(app, users):
    client, response = login(app, users["beheerder"])
    assert response.status_code == 302
    return client


def state(session) -> list[tuple]:
    session.expire_all()
    rows = session.execute(select(User.email, User.role, User.active, User.password_hash).order_by(User.id)).all()
    return [tuple(r) for r in rows] + [session.scalar(select(func.count(AuditEntry.id)))]


def test_anonymous_goes_to_login(app, users):
    client = app.test_client()
    for url in ("/gebruikers/", "/gebruikers/nieuw", f"/gebruikers/{users['lezer'].id}"):
        response = client.get(url)
        assert response.status_code == 302 and "/login" in response.location


@pytest.mark.parametrize("role", ["financieel", "projectleider", "lezer"])
def test_other_roles_get_403_and_change_nothing(app, session, users, role):
    client, _ = login(app, users[role])
    target = users["lezer"] if role != "lezer" else users["projectleider"]
    for url in ("/gebruikers/", "/gebruikers/nieuw", f"/gebruikers/{target.id}"):
        assert client.get(url).status_code == 403, url
    before = state(session)
    posts = [
        ("/gebruikers/nieuw", {"email": "x@test.example", "name": "X", "role": "beheerder",
                               "password": NEW_PASSWORD, "password_repeat": NEW_PASSWORD}),
        (f"/gebruikers/{target.id}/rol", {"role": "beheerder"}),
        (f"/gebruikers/{target.id}/deactiveren", {}),
        (f"/gebruikers/{target.id}/wachtwoord", {"password": NEW_PASSWORD, "password_repeat": NEW_PASSWORD}),
    ]
    for url, data in posts:
        assert client.post(url, data=data).status_code == 403, url
    assert state(session) == before


def test_beheerder_sees_list_and_menu(app, users):
    client = admin(app, users)
    html = text(client.get("/gebruikers/"))
    for user in users.values():
        assert user.email in html
    assert 'href="/gebruikers/"' in html  # the menu item appears
    assert client.get(f"/gebruikers/{users['lezer'].id}").status_code == 200
    assert client.get("/gebruikers/nieuw").status_code == 200


def selected_options(html: str, select_id: str) -> list[str]:
    select_html = re.search(rf'<select[^>]*id="{select_id}"[^>]*>(.*?)</select>', html, re.S).group(1)
    return re.findall(r'<option[^>]*\bselected\b[^>]*value="([^"]*)"|<option[^>]*value="([^"]*)"[^>]*\bselected\b',
                      select_html)


def test_new_user_form_starts_at_the_least_role(app, users):
    html = text(admin(app, users).get("/gebruikers/nieuw"))
    chosen = [a or b for a, b in selected_options(html, "role")]
    assert chosen == ["lezer"]


def test_add_user_who_can_then_log_in(app, session, users):
    client = admin(app, users)
    response = client.post("/gebruikers/nieuw", data={
        "email": "Nieuw@Test.example", "name": "Nieuwe Collega", "role": "financieel",
        "password": NEW_PASSWORD, "password_repeat": NEW_PASSWORD})
    assert response.status_code == 302
    user = session.scalar(select(User).where(User.email == "nieuw@test.example"))
    assert user.role == "financieel"
    _, response = login(app, user, NEW_PASSWORD)
    assert response.status_code == 302


def test_bad_new_user_rerenders_with_errors_and_writes_nothing(app, session, users):
    client = admin(app, users)
    before = state(session)
    response = client.post("/gebruikers/nieuw", data={
        "email": users["lezer"].email, "name": "", "role": "lezer", "password": "kort", "password_repeat": "anders"})
    assert response.status_code == 400
    html = text(response)
    assert "Vul een naam in." in html
    assert "minstens 12 tekens" in html
    assert "niet gelijk" in html
    assert state(session) == before
    # A valid form with an e-mail address in use: the service refuses, next to the field.
    response = client.post("/gebruikers/nieuw", data={
        "email": users["lezer"].email, "name": "Dubbel", "role": "lezer",
        "password": NEW_PASSWORD, "password_repeat": NEW_PASSWORD})
    assert response.status_code == 400
    assert "Er bestaat al een gebruiker met e-mailadres" in text(response)
    assert state(session) == before


def test_change_role(app, session, users):
    client = admin(app, users)
    assert client.post(f"/gebruikers/{users['lezer'].id}/rol", data={"role": "projectleider"}).status_code == 302
    session.expire_all()
    assert session.get(User, users["lezer"].id).role == "projectleider"
    entry = session.scalars(select(AuditEntry).where(AuditEntry.entity == "User", AuditEntry.action == "update",
                                                     AuditEntry.entity_id == users["lezer"].id)).one()
    assert entry.changes_dict == {"before": {"role": "lezer"}, "after": {"role": "projectleider"}}


def test_beheerder_cannot_demote_or_deactivate_themself(app, session, users):
    client = admin(app, users)
    me = users["beheerder"]
    before = state(session)
    response = client.post(f"/gebruikers/{me.id}/rol", data={"role": "lezer"})
    assert response.status_code == 400
    assert "U kunt uw eigen rol niet wijzigen" in text(response)
    response = client.post(f"/gebruikers/{me.id}/deactiveren", follow_redirects=True)
    assert "U kunt uzelf niet deactiveren" in text(response)
    assert state(session) == before
    # The own page explains why instead of offering the controls.
    html = text(client.get(f"/gebruikers/{me.id}"))
    assert "U kunt uw eigen rol niet wijzigen" in html and "Deactiveren</button>" not in html


def test_deactivated_user_cannot_log_in_until_reactivated(app, session, users):
    client = admin(app, users)
    target = users["financieel"]
    assert client.post(f"/gebruikers/{target.id}/deactiveren").status_code == 302
    _, response = login(app, target)
    assert response.status_code == 400 and "E-mailadres of wachtwoord is onjuist." in text(response)
    assert client.post(f"/gebruikers/{target.id}/activeren").status_code == 302
    _, response = login(app, target)
    assert response.status_code == 302


def test_deactivated_user_loses_a_running_session(app, session, users):
    target_client, _ = login(app, users["financieel"])
    assert target_client.get("/budget").status_code == 200
    admin(app, users).post(f"/gebruikers/{users['financieel'].id}/deactiveren")
    response = target_client.get("/budget")
    assert response.status_code == 302 and "/login" in response.location


def test_reactivating_a_user_does_not_revive_their_old_session(app, session, users):
    target_client, _ = login(app, users["financieel"])
    assert target_client.get("/budget").status_code == 200
    client = admin(app, users)
    client.post(f"/gebruikers/{users['financieel'].id}/deactiveren")
    client.post(f"/gebruikers/{users['financieel'].id}/activeren")
    # The cookie from before the deactivation stays dead: the user logs in again.
    response = target_client.get("/budget")
    assert response.status_code == 302 and "/login" in response.location


def test_set_new_password_is_audited_without_the_password(app, session, users):
    client = admin(app, users)
    target = users["projectleider"]
    response = client.post(f"/gebruikers/{target.id}/wachtwoord",
                           data={"password": NEW_PASSWORD, "password_repeat": NEW_PASSWORD})
    assert response.status_code == 302
    assert login(app, target)[1].status_code == 400
    assert login(app, target, NEW_PASSWORD)[1].status_code == 302
    entries = session.scalars(select(AuditEntry).where(AuditEntry.entity_id == target.id,
                                                       AuditEntry.action == "set_password")).all()
    assert len(entries) == 1
    assert NEW_PASSWORD not in entries[0].changes and "argon2" not in entries[0].changes


def test_short_new_password_refused(app, session, users):
    client = admin(app, users)
    before = state(session)
    response = client.post(f"/gebruikers/{users['lezer'].id}/wachtwoord",
                           data={"password": "elf-tekens!", "password_repeat": "elf-tekens!"})
    assert response.status_code == 400
    assert "minstens 12 tekens" in text(response)
    assert state(session) == before


def test_unknown_user_404(app, users):
    client = admin(app, users)
    assert client.get("/gebruikers/9999").status_code == 404
    assert client.post("/gebruikers/9999/deactiveren").status_code == 404
