"""Accounts: the users CLI, password rules, login and logout through the real pages."""
from __future__ import annotations

import pytest
from sqlalchemy import select

import core.users
from core.audit import AuditEntry
from core.errors import PermissionDenied
from core.users import SystemActor, User, create_user
from tests.factories import PASSWORD, make_user


def test_users_add_reads_password_from_stdin(runner, session):
    result = runner.invoke(args=["users", "add", "Fin@Example.nl", "--name", "F. Medewerker", "--role",
                                 "financieel", "--password-stdin"], input="een-lang-wachtwoord\n")
    assert result.exit_code == 0, result.output
    user = session.scalars(select(User)).one()
    assert user.email == "fin@example.nl" and user.role == "financieel"
    assert user.password_hash.startswith("$argon2id$")
    assert user.check_password("een-lang-wachtwoord") and not user.check_password("fout")
    entry = session.scalars(select(AuditEntry)).one()
    assert "password_hash" not in entry.changes and "een-lang-wachtwoord" not in entry.changes


def test_users_add_refuses_short_password_and_duplicates(runner, session):
    result = runner.invoke(args=["users", "add", "a@b.nl", "--name", "A", "--role", "lezer",
                                 "--password-stdin"], input="kort\n")
    assert result.exit_code != 0 and "minstens 12 tekens" in result.output
    assert session.scalars(select(User)).all() == []
    ok = ["users", "add", "a@b.nl", "--name", "A", "--role", "lezer", "--password-stdin"]
    assert runner.invoke(args=ok, input="lang-genoeg-wachtwoord\n").exit_code == 0
    again = runner.invoke(args=ok, input="lang-genoeg-wachtwoord\n")
    assert again.exit_code != 0 and "bestaat al" in again.output


def test_login_and_logout(client, session):
    user = make_user(session, "lezer")
    session.commit()
    assert client.get("/").status_code == 302  # anonymous -> login
    bad = client.post("/login", data={"email": user.email, "password": "verkeerd-wachtwoord"})
    assert bad.status_code == 400 and "onjuist" in bad.get_data(as_text=True)
    good = client.post("/login", data={"email": user.email.upper(), "password": PASSWORD})
    assert good.status_code == 302
    page = client.get("/")
    assert page.status_code == 200 and user.name in page.get_data(as_text=True)
    client.post("/logout")
    assert client.get("/").status_code == 302


def test_login_never_redirects_off_site(client, session):
    user = make_user(session, "lezer")
    session.commit()
    response = client.post("/login?next=https://evil.example/", data={"email": user.email, "password": PASSWORD})
    assert response.headers["Location"] == "/"


@pytest.mark.parametrize("query", [
    "/\\evil.example",           # a browser reads the backslash as a slash: //evil.example
    "/%5Cevil.example",
    "%2F%2Fevil.example",
    "/%2F/evil.example",
    "/%09/evil.example",          # browsers drop the tab: //evil.example
    "/%0A/evil.example",
    "/%0D/evil.example",
    "/x%0D%0ASet-Cookie:a=b",     # header splitting
    "/%C3%A9",
    "http:/evil.example",
])
def test_login_next_never_leaves_the_site_and_never_fails(client, session, query):
    user = make_user(session, "lezer")
    session.commit()
    response = client.post(f"/login?next={query}", data={"email": user.email, "password": PASSWORD})
    assert response.status_code == 302 and response.headers["Location"] == "/"
    assert "Set-Cookie: a" not in str(response.headers)


def test_login_next_keeps_a_same_site_page(client, session):
    user = make_user(session, "lezer")
    session.commit()
    response = client.post("/login?next=/projecten%3Fpage%3D2", data={"email": user.email, "password": PASSWORD})
    assert response.headers["Location"] == "/projecten?page=2"


class _CountingHasher:
    """The test hasher, counting how often a password is checked against a hash."""

    def __init__(self, inner):
        self.inner, self.verified = inner, 0

    def hash(self, password):
        return self.inner.hash(password)

    def verify(self, hashed, password):
        self.verified += 1
        return self.inner.verify(hashed, password)


def test_unknown_and_inactive_accounts_cost_the_same_hash_check_as_a_wrong_password(client, session,
                                                                                    monkeypatch):
    known, gone = make_user(session, "lezer"), make_user(session, "lezer")
    gone.active = False
    session.commit()
    counter = _CountingHasher(core.users._hasher)
    monkeypatch.setattr(core.users, "_hasher", counter)
    for email in (known.email, "niemand@test.example", gone.email):
        counter.verified = 0
        response = client.post("/login", data={"email": email, "password": "verkeerd-wachtwoord"})
        assert response.status_code == 400 and "onjuist" in response.get_data(as_text=True)
        assert counter.verified == 1, email
    # The deactivated account is refused with its right password too, after the same work.
    counter.verified = 0
    assert client.post("/login", data={"email": gone.email, "password": PASSWORD}).status_code == 400
    assert counter.verified == 1


def test_only_a_beheerder_creates_users(session):
    reader = make_user(session, "lezer")
    finance = make_user(session, "financieel")
    for actor in (reader, finance, None, "cli"):
        with pytest.raises(PermissionDenied):
            create_user(session, actor, "nieuw@test.example", "Nieuw", "beheerder", PASSWORD)
    boss = make_user(session, "beheerder")
    assert create_user(session, boss, "nieuw@test.example", "Nieuw", "lezer", PASSWORD).role == "lezer"
    asleep = SystemActor("systeem (uit)", active=False)
    with pytest.raises(PermissionDenied):
        create_user(session, asleep, "ander@test.example", "Ander", "lezer", PASSWORD)


def test_users_add_is_audited_as_the_system_not_as_a_bare_string(runner, session):
    runner.invoke(args=["users", "add", "a@b.nl", "--name", "A", "--role", "lezer", "--password-stdin"],
                  input="lang-genoeg-wachtwoord\n")
    entry = session.scalars(select(AuditEntry)).one()
    assert entry.actor_label == "systeem (cli)" and entry.actor_id is None


def test_inactive_user_cannot_log_in(client, session):
    user = make_user(session, "lezer")
    user.active = False
    session.commit()
    response = client.post("/login", data={"email": user.email, "password": PASSWORD})
    assert response.status_code == 400


NEW_PASSWORD = "een-nieuw-lang-wachtwoord"


def _set_password(runner, email: str, line: str):
    return runner.invoke(args=["users", "set-password", email, "--password-stdin"], input=line)


def _account(session, user) -> tuple:
    """What a refused set-password must leave as it was: hash, session token, audit entries."""
    session.expire_all()
    return user.password_hash, user.session_token, len(session.scalars(select(AuditEntry)).all())


def test_users_set_password_sets_it_audited_as_the_system_and_ends_sessions(app, runner, session):
    user = make_user(session, "lezer")
    session.commit()
    logged_in = app.test_client()
    assert logged_in.post("/login", data={"email": user.email, "password": PASSWORD}).status_code == 302
    assert logged_in.get("/").status_code == 200

    result = _set_password(runner, user.email.upper(), NEW_PASSWORD + "\n")
    assert result.exit_code == 0, result.output
    assert f"Nieuw wachtwoord ingesteld voor {user.email}" in result.output
    # The session that knew the old password is over; the old password no longer opens one.
    assert logged_in.get("/").status_code == 302
    fresh = app.test_client()
    assert fresh.post("/login", data={"email": user.email, "password": PASSWORD}).status_code == 400
    assert fresh.post("/login", data={"email": user.email, "password": NEW_PASSWORD}).status_code == 302
    entry = session.scalars(select(AuditEntry).where(AuditEntry.action == "set_password")).one()
    assert entry.actor_label == "systeem (cli)" and entry.actor_id is None and entry.entity_id == user.id
    assert NEW_PASSWORD not in str(entry.changes) and "argon2" not in str(entry.changes)


@pytest.mark.parametrize("line, message", [
    ("kort\n", "minstens 12 tekens"),
    ("", "minstens 12 tekens"),  # nothing on stdin: refused, not an empty password
])
def test_users_set_password_refuses_a_weak_password_and_changes_nothing(runner, session, line, message):
    user = make_user(session, "financieel")
    session.commit()
    before = _account(session, user)
    result = _set_password(runner, user.email, line)
    assert result.exit_code != 0 and message in result.output
    assert _account(session, user) == before
    assert user.check_password(PASSWORD)


def test_users_set_password_refuses_an_unknown_email(runner, session):
    user = make_user(session, "lezer")
    session.commit()
    before = _account(session, user)
    result = _set_password(runner, "niemand@test.example", NEW_PASSWORD + "\n")
    assert result.exit_code != 0
    assert "Er is geen gebruiker met e-mailadres niemand@test.example." in result.output
    assert _account(session, user) == before


def test_users_set_password_for_a_deactivated_user_says_it_stays_deactivated(runner, session):
    user = make_user(session, "lezer")
    user.active = False
    session.commit()
    result = _set_password(runner, user.email, NEW_PASSWORD + "\n")
    assert result.exit_code == 0, result.output
    assert "is gedeactiveerd" in result.output
    session.expire_all()
    assert not user.active and user.check_password(NEW_PASSWORD)
