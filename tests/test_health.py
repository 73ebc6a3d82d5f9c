"""Health, readiness and metrics: for the load balancer and monitoring, without login and without personal data."""
from __future__ import annotations

import pytest
from sqlalchemy import text

from app import create_app
from core.db import db
from tests.factories import login, make_user


def test_healthz_answers_without_login_or_database(client):
    response = client.get("/healthz")
    assert response.status_code == 200 and response.get_json() == {"status": "ok"}


def test_readyz_is_ready_at_the_migration_head(client):
    response = client.get("/readyz")
    assert response.status_code == 200
    assert response.get_json()["status"] == "gereed" and response.get_json()["schema"]


def test_readyz_is_503_with_the_database_down(tmp_path):
    down = create_app({"TESTING": True, "SECRET_KEY": "x" * 40,
                       "SQLALCHEMY_DATABASE_URI": f"sqlite:///{tmp_path}/missing/dir/db.sqlite"})
    response = down.test_client().get("/readyz")
    assert response.status_code == 503
    assert response.get_json() == {"status": "niet gereed", "reden": "De database is niet bereikbaar."}
    assert down.test_client().get("/healthz").status_code == 200


def test_readyz_is_503_before_the_migrations_ran(session, client, db_kind):
    if db_kind != "sqlite":
        pytest.skip("the schema of the shared PostgreSQL test database is not changed here")
    session.execute(text("UPDATE alembic_version SET version_num = '0001'"))
    session.commit()
    response = client.get("/readyz")
    assert response.status_code == 503 and "db upgrade" in response.get_json()["reden"]


def test_metrics_need_their_token_and_count_requests(app, client, session):
    assert client.get("/metrics").status_code == 404  # no token configured: no metrics page
    app.config["METRICS_TOKEN"] = "metrics-token-0123456789abcdef"
    assert client.get("/metrics").status_code == 401
    assert client.get("/metrics", headers={"Authorization": "Bearer wrong"}).status_code == 401
    user = make_user(session, "lezer")
    session.commit()
    login(client, user)
    assert client.get("/").status_code == 200
    body = client.get("/metrics", headers={"Authorization": "Bearer metrics-token-0123456789abcdef"}).get_data(
        as_text=True)
    assert 'programmamonitor_requests_total{endpoint="reports.dashboard",method="GET",status="200"}' in body
    assert "programmamonitor_request_seconds_bucket" in body and "programmamonitor_figures_cache_total" in body
    assert user.email not in body and "lezer" not in body.split("programmamonitor_requests_total")[0]
