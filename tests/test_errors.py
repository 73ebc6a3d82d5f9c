"""Error pages and headers: Dutch 500 with an incident id, 503 without a database, safe headers."""
from __future__ import annotations

import logging
import shutil

import psycopg
from sqlalchemy.engine import make_url

from app import create_app
from core.policy import POLICY, Rule
from tests.factories import PASSWORD, make_user


def test_500_shows_an_incident_id_that_is_in_the_log(app, client, caplog, monkeypatch):
    app.config["PROPAGATE_EXCEPTIONS"] = False
    monkeypatch.setitem(POLICY, "_broken", Rule(None))  # a new endpoint needs a rule, like any other

    @app.route("/_kapot")
    def _broken():
        raise RuntimeError("geheime interne details")

    with caplog.at_level(logging.ERROR):
        response = client.get("/_kapot")
    body = response.get_data(as_text=True)
    assert response.status_code == 500 and "Er ging iets mis" in body
    assert "geheime interne details" not in body and "Traceback" not in body
    incident = body.split("<strong>")[1].split("</strong>")[0]
    assert f"Incident {incident}" in caplog.text and "geheime interne details" in caplog.text


def test_security_headers_on_every_page(client, session):
    user = make_user(session, "lezer")
    session.commit()
    anonymous = client.get("/login")
    for header, value in (("X-Content-Type-Options", "nosniff"), ("Referrer-Policy", "same-origin"),
                          ("X-Frame-Options", "DENY")):
        assert anonymous.headers[header] == value
    assert "Strict-Transport-Security" not in anonymous.headers  # plain http here
    csp = dict(part.strip().split(" ", 1) for part in anonymous.headers["Content-Security-Policy"].split(";"))
    assert csp["script-src"] == "'self'" and csp["frame-ancestors"] == "'none'" and csp["object-src"] == "'none'"
    client.post("/login", data={"email": user.email, "password": PASSWORD})
    signed_in = client.get("/")
    assert signed_in.headers["Cache-Control"] == "no-store"
    assert client.get("/", base_url="https://localhost").headers["Strict-Transport-Security"].startswith(
        "max-age=")


def _missing_database_url(tmp_path, db_kind, app):
    if db_kind == "sqlite":
        return f"sqlite:///{tmp_path}/nog-niet-aangemaakt/programmamonitor.db"
    url = make_url(app.config["SQLALCHEMY_DATABASE_URI"])
    return url.set(database=url.database + "_weg").render_as_string(hide_password=False)


def test_unreachable_database_gives_503_and_recovers(app, tmp_path, db_kind, _migrated):
    url = _missing_database_url(tmp_path, db_kind, app)
    broken = create_app({**{k: app.config[k] for k in ("TESTING", "SECRET_KEY", "WTF_CSRF_ENABLED")},
                         "SQLALCHEMY_DATABASE_URI": url})
    client = broken.test_client()
    with broken.app_context():
        response = client.post("/login", data={"email": "a@b.nl", "password": "x" * 12})
        assert response.status_code == 503
        assert "niet bereikbaar" in response.get_data(as_text=True)
        # The database comes back: the very next request works, no restart needed.
        if db_kind == "sqlite":
            (tmp_path / "nog-niet-aangemaakt").mkdir()
            shutil.copyfile(_migrated, tmp_path / "nog-niet-aangemaakt" / "programmamonitor.db")
        else:
            _create_pg_database(url)
        assert client.post("/login", data={"email": "a@b.nl", "password": "x" * 12}).status_code == 400
        from core.db import db

        db.session.remove()
        db.engine.dispose()
    if db_kind == "postgresql":
        _drop_pg_database(url)


def _server(url: str):
    parsed = make_url(url)
    return parsed.set(drivername="postgresql", database="postgres").render_as_string(hide_password=False), \
        parsed.database


def _create_pg_database(url: str) -> None:
    import flask_migrate

    server, name = _server(url)
    with psycopg.connect(server, autocommit=True) as conn:
        conn.execute(f'CREATE DATABASE "{name}"')
    migrator = create_app({"TESTING": True, "SECRET_KEY": "x", "SQLALCHEMY_DATABASE_URI": url})
    with migrator.app_context():
        flask_migrate.upgrade()
        from core.db import db

        db.engine.dispose()


def _drop_pg_database(url: str) -> None:
    server, name = _server(url)
    with psycopg.connect(server, autocommit=True) as conn:
        conn.execute(f'DROP DATABASE IF EXISTS "{name}" WITH (FORCE)')
