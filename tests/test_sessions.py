"""Sessions and login abuse: cookie flags, rotation, server-side logout, timeouts, rate limits, CSRF."""
from __future__ import annotations

import logging

import pytest

import core.auth
from tests.factories import PASSWORD, make_user


@pytest.fixture
def reader(session):
    user = make_user(session, "lezer")
    session.commit()
    return user


def _login(client, user, password=PASSWORD):
    return client.post("/login", data={"email": user.email, "password": password})


def _session_cookie(client):
    return client.get_cookie("session")


def test_session_cookie_is_httponly_and_samesite(client, reader):
    response = _login(client, reader)
    cookie = response.headers["Set-Cookie"]
    assert "HttpOnly" in cookie and "SameSite=Lax" in cookie


def test_secure_flag_when_configured(app, client, reader):
    app.config["SESSION_COOKIE_SECURE"] = True
    assert "Secure" in _login(client, reader).headers["Set-Cookie"]


def test_login_starts_a_fresh_session(client, reader):
    with client.session_transaction() as s:
        s["planted"] = "door een aanvaller"
    _login(client, reader)
    with client.session_transaction() as s:
        assert "planted" not in s


def test_replayed_cookie_after_logout_is_refused(app, client, reader):
    _login(client, reader)
    stolen = _session_cookie(client).value
    client.post("/logout")
    replay = app.test_client()
    replay.set_cookie("session", stolen)
    response = replay.get("/")
    assert response.status_code == 302 and "/login" in response.headers["Location"]


def test_idle_timeout_after_30_minutes(client, reader, monkeypatch):
    start = core.auth._now()
    _login(client, reader)
    monkeypatch.setattr(core.auth, "_now", lambda: start + 29 * 60)
    assert client.get("/").status_code == 200
    monkeypatch.setattr(core.auth, "_now", lambda: start + 29 * 60 + 31 * 60)
    response = client.get("/")
    assert response.status_code == 302 and "/login" in response.headers["Location"]
    assert "verlopen" in client.get(response.headers["Location"]).get_data(as_text=True)


def test_absolute_timeout_after_12_hours_even_when_active(client, reader, monkeypatch):
    start = core.auth._now()
    _login(client, reader)
    for minutes in range(20, 12 * 60, 20):  # busy every 20 minutes all day
        monkeypatch.setattr(core.auth, "_now", lambda m=minutes: start + m * 60)
        assert client.get("/").status_code == 200
    monkeypatch.setattr(core.auth, "_now", lambda: start + 12 * 3600 + 60)
    assert client.get("/").status_code == 302


def test_sixth_rapid_bad_login_gets_429(client, reader):
    for _ in range(5):
        assert _login(client, reader, "verkeerd-wachtwoord").status_code == 400
    blocked = _login(client, reader, "verkeerd-wachtwoord")
    assert blocked.status_code == 429
    assert "Te veel pogingen" in blocked.get_data(as_text=True)
    # Even the right password waits now: that is the point of the limit.
    assert _login(client, reader).status_code == 429


def test_good_logins_do_not_use_up_the_limit(client, reader):
    for _ in range(8):
        assert _login(client, reader).status_code == 302
        client.post("/logout")


def test_failed_login_is_logged_without_the_password(client, reader, caplog):
    with caplog.at_level(logging.WARNING):
        _login(client, reader, "geheim-wachtwoord-123")
    assert "Mislukte inlog" in caplog.text and reader.email in caplog.text
    assert "geheim-wachtwoord-123" not in caplog.text


def test_post_without_csrf_token_is_refused(app, client, reader):
    app.config["WTF_CSRF_ENABLED"] = True
    response = _login(client, reader)
    assert response.status_code == 400
    with client.session_transaction() as s:
        assert "_user_id" not in s
