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
    session.refresh(boss)
    secret = boss.totp_pending_secret
    assert secret in page.get_data(as_text=True)
    wrong = client.post("/login/koppelen", data={"code": "000000"})
    assert wrong.status_code == 400 and "klopt niet" in wrong.get_data(as_text=True)
    assert client.post("/login/koppelen", data={"code": pyotp.TOTP(secret).now()}).status_code == 302
    assert client.get("/").status_code == 200
    session.refresh(boss)
    assert boss.totp_secret == secret and boss.totp_pending_secret is None
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
    session.refresh(fin)
    secret = fin.totp_pending_secret
    assert client.post("/account/tweestapsverificatie", data={"code": "000000"}).status_code == 400
    assert client.post("/account/tweestapsverificatie",
                       data={"code": pyotp.TOTP(secret).now()}).status_code == 302
    client.post("/logout")
    session.refresh(fin)
    assert _password_step(client, fin).headers["Location"].endswith("/login/code")


def _cookie_text(client) -> str:
    """Everything the browser holds: the session cookie is signed, not encrypted, so it is readable."""
    import base64
    import zlib

    value = client.get_cookie("session").value
    payload = value.lstrip(".").split(".")[0]
    raw = base64.urlsafe_b64decode(payload + "=" * (-len(payload) % 4))
    return (zlib.decompress(raw) if value.startswith(".") else raw).decode()


def test_the_secret_being_linked_never_travels_in_the_session_cookie(client, session):
    boss = make_user(session, "beheerder")
    fin = make_user(session, "financieel")
    session.commit()
    _password_step(client, boss)
    client.get("/login/koppelen")
    session.refresh(boss)
    assert boss.totp_pending_secret and boss.totp_pending_secret not in _cookie_text(client)
    # Reloading the page shows the same secret: a user who scanned it already is not thrown off.
    assert boss.totp_pending_secret in client.get("/login/koppelen").get_data(as_text=True)

    other = client.application.test_client()
    login(other, fin)
    other.get("/account/tweestapsverificatie")
    session.refresh(fin)
    assert fin.totp_pending_secret and fin.totp_pending_secret not in _cookie_text(other)
    # Walking away from the enrolment (logging out) forgets the secret.
    other.post("/logout")
    session.refresh(fin)
    assert fin.totp_pending_secret is None and fin.totp_secret is None


def _code_at(secret: str, step: int) -> str:
    return pyotp.TOTP(secret).generate_otp(step)


def test_a_code_logs_in_once(app, session):
    boss = make_user(session, "beheerder")
    boss.totp_secret = pyotp.random_base32()
    session.commit()
    code = pyotp.TOTP(boss.totp_secret).now()
    first, second = app.test_client(), app.test_client()
    _password_step(first, boss)
    assert first.post("/login/code", data={"code": code}).status_code == 302
    # Someone who saw the code (over a shoulder, from a log) tries it in a session of their own.
    _password_step(second, boss)
    replay = second.post("/login/code", data={"code": code})
    assert replay.status_code == 400 and "al gebruikt" in replay.get_data(as_text=True)
    assert "/login" in second.get("/").headers["Location"]
    assert first.get("/").status_code == 200


def test_an_older_code_from_the_drift_window_is_refused_after_a_newer_one(app, session):
    import core.auth

    boss = make_user(session, "beheerder")
    boss.totp_secret = pyotp.random_base32()
    session.commit()
    step = int(core.auth._now()) // 30
    first, second = app.test_client(), app.test_client()
    _password_step(first, boss)
    assert first.post("/login/code", data={"code": _code_at(boss.totp_secret, step)}).status_code == 302
    # The previous step's code is still inside valid_window, but a newer code has logged in.
    _password_step(second, boss)
    assert second.post("/login/code", data={"code": _code_at(boss.totp_secret, step - 1)}).status_code == 400
    # The next step's code (a phone clock slightly ahead) is new, so it is accepted once.
    assert second.post("/login/code", data={"code": _code_at(boss.totp_secret, step + 1)}).status_code == 302


def test_the_code_that_linked_the_app_cannot_log_in_again(app, session):
    boss = make_user(session, "beheerder")
    session.commit()
    first = app.test_client()
    _password_step(first, boss)
    first.get("/login/koppelen")
    session.refresh(boss)
    code = pyotp.TOTP(boss.totp_pending_secret).now()
    assert first.post("/login/koppelen", data={"code": code}).status_code == 302
    second = app.test_client()
    assert _password_step(second, boss).headers["Location"].endswith("/login/code")
    assert second.post("/login/code", data={"code": code}).status_code == 400
