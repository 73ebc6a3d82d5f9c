"""Schemathesis against the live API (gunicorn) with every check on, for every role's token: 0 failures."""
from __future__ import annotations

import subprocess
import sys
from datetime import date, timedelta
from pathlib import Path

import pytest
from sqlalchemy import select

from api import tokens
from core.db import db
from core.users import User
from tests.server import gunicorn

ROLES = ("beheerder", "financieel", "projectleider", "lezer")
CONFIG = Path(__file__).with_name("schemathesis.toml")


@pytest.fixture
def live(app, runner, session, tmp_path):
    """The demo on this test's database, a write token per role, and gunicorn serving it."""
    result = runner.invoke(args=["demo", "load", "--with-users"])
    assert result.exit_code == 0, result.output
    secrets = {}
    for role in ROLES:
        user = session.scalars(select(User).where(User.role == role).order_by(User.id)).first()
        _token, secrets[role] = tokens.create_token(session, user, name="schemathesis", scope="write",
                                                    expires_on=date.today() + timedelta(days=7))
    session.commit()
    url = app.config["SQLALCHEMY_DATABASE_URI"]
    db.session.remove()
    # The fuzzer sends thousands of requests a minute: the limit is tested in test_api.py, not here.
    with gunicorn(url, workers=3, log=tmp_path / "gunicorn.log", env={"API_RATE_LIMIT": "100000 per minute"}) as base:
        yield base, secrets
    db.session.remove()


def test_schemathesis_finds_nothing_for_any_role(live, tmp_path):
    base, secrets = live
    failures = {}
    for role, secret in secrets.items():
        # One worker: Python 3.11's ast.parse, which Hypothesis calls to describe its filters, can raise a
        # spurious SystemError when threads call it at once (CPython gh-106905).
        run = subprocess.run(
            [sys.executable, "-m", "schemathesis.cli", "--config-file", str(CONFIG), "run", f"{base}/api/v1/openapi.json", "--checks", "all",
             "--header", f"Authorization: Bearer {secret}", "--max-examples", "25", "--seed", "20261130",
             "--workers", "1", "--no-color", "--generation-database", "none", "--request-timeout", "30",
             "--suppress-health-check", "too_slow,filter_too_much"],
            capture_output=True, text=True, timeout=900, cwd=tmp_path)
        if run.returncode != 0:
            # The failures with their curl to reproduce, and the summary; not the progress before them.
            out = run.stdout
            start = out.find("== FAILURES ==")
            failures[role] = (out[start - 50:] if start >= 0 else out[-8000:]) + run.stderr[-2000:]
    assert not failures, "\n\n".join(f"== {role}\n{out}" for role, out in failures.items())
