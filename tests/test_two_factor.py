"""Two-factor login: required for beheerders (enrol at first login), optional for others."""
from __future__ import annotations

import pyotp
from sqlalchemy import select

from core.audit import AuditEntry
from tests.factories import PASSWORD, login, make_user


def _password_step(client, user):
    return client.post("/login", data={"email": user.email, "password": PASSWORD})


def test_beheerder_must_link_an_app_before_getting_in(client, session):
    boss = make_user(session, "beheerder")
    session.commit()
    first = _password_step(client, boss)
    assert first.status_code == 302 and first.headers["Location"].endswith("/login/koppelen")
    # Password alone is not a login: every page, the admin pages first, sends the beheerder back.
    assert "/login" in client.get("/").headers["Location"]
    assert "/login" in client.get("/gebruikers/").headers["Location"]
    page = client.get("/login/koppelen")
    assert page.status_code == 200 and b"data:image/svg+xml" in page.data
    with client.session_transaction() as s:
        secret = s["pending"]["secret"]
    wrong = client.post("/login/koppelen", data={"code": "000000"})
    assert wrong.status_code == 400 and "klopt niet" in wrong.get_data(as_text=True)
    assert client.post("/login/koppelen", data={"code": pyotp.TOTP(secret).now()}).status_code == 302
    assert client.get("/").status_code == 200
    session.refresh(boss)
    assert boss.totp_secret == secret
    entry = session.scalars(select(AuditEntry).where(AuditEntry.action == "enable_2fa")).one()
    assert secret not in entry.changes


def test_enrolled_beheerder_needs_the_current_code(client, session):
    boss = make_user(session, "beheerder")
    boss.totp_secret = pyotp.random_base32()
    session.commit()
    assert _password_step(client, boss).headers["Location"].endswith("/login/code")
    assert client.post("/login/code", data={"code": "123456"}).status_code == 400
    assert "/login" in client.get("/").headers["Location"]
    assert client.post("/login/code", data={"code": pyotp.TOTP(boss.totp_secret).now()}).status_code == 302
    assert client.get("/").status_code == 200


def test_guessing_codes_is_rate_limited(client, session):
    boss = make_user(session, "beheerder")
    boss.totp_secret = pyotp.random_base32()
    session.commit()
    _password_step(client, boss)
    for _ in range(5):
        client.post("/login/code", data={"code": "000000"})
    assert client.post("/login/code", data={"code": pyotp.TOTP(boss.totp_secret).now()}).status_code == 429


def test_code_page_without_a_password_step_goes_to_login(client):
    assert client.get("/login/code").headers["Location"].endswith("/login")
    assert client.get("/login/koppelen").headers["Location"].endswith("/login")


def test_other_roles_log_in_with_a_password_unless_they_chose_two_factor(client, session):
    reader = make_user(session, "lezer")
    careful = make_user(session, "financieel")
    careful.totp_secret = pyotp.random_base32()
    session.commit()
    assert _password_step(client, reader).headers["Location"] == "/"
    client.post("/logout")
    assert login(client, careful).status_code == 302
    assert client.get("/").status_code == 200


def test_any_user_may_switch_two_factor_on(client, session):
    fin = make_user(session, "financieel")
    session.commit()
    login(client, fin)
    assert client.get("/account/tweestapsverificatie").status_code == 200
    with client.session_transaction() as s:
        secret = s["enrol_secret"]
    assert client.post("/account/tweestapsverificatie", data={"code": "000000"}).status_code == 400
    assert client.post("/account/tweestapsverificatie",
                       data={"code": pyotp.TOTP(secret).now()}).status_code == 302
    client.post("/logout")
    session.refresh(fin)
    assert _password_step(client, fin).headers["Location"].endswith("/login/code")
