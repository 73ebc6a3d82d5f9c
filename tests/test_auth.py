"""Accounts: the users CLI, password rules, login and logout through the real pages."""
from __future__ import annotations

from sqlalchemy import select

from core.audit import AuditEntry
from core.users import User
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


def test_inactive_user_cannot_log_in(client, session):
    user = make_user(session, "lezer")
    user.active = False
    session.commit()
    response = client.post("/login", data={"email": user.email, "password": PASSWORD})
    assert response.status_code == 400
