"""Plain helpers that build test data through the real services (flush, never commit)."""
from __future__ import annotations

import itertools
from datetime import date, datetime, timezone

from sqlalchemy import update

from budget import services as budget
from core.users import SystemActor, create_user
from projects import services as portfolio
from projects.models import Project

_seq = itertools.count(1)
PASSWORD = "correct-horse-battery"
#: The client secret the sign-in tests give the app for their identity provider (tests/test_sso.py).
OIDC_CLIENT_SECRET = "oidc-client-secret-for-the-tests"
#: Who sets up test data: a beheerder without a user row, like the demo loader.
TEST_ACTOR = SystemActor("systeem (test)")
#: The day test budgets count from: before every peildatum the tests ask about.
BUDGET_KNOWN = date(2020, 1, 1)


def make_user(session, role: str, email: str | None = None):
    n = next(_seq)
    return create_user(session, TEST_ACTOR, email or f"{role}{n}@test.example", f"{role.title()} {n}", role,
                       PASSWORD)


def make_programme(session, actor, code: str = "TST", first_year: int = 2024, last_year: int = 2026):
    return portfolio.create_programme(session, actor, code, "Testprogramma", "Ministerie van JenV",
                                      "33", first_year, last_year)


def fund(session, actor, programme, amounts: dict, name: str = "Structureel", kind: str = "structureel",
         valid_from: date = BUDGET_KNOWN):
    return budget.add_funding_source(session, actor, programme, name, kind, "Kamerstuk 1", amounts, valid_from)


def make_project(session, actor, programme, **overrides):
    n = next(_seq)
    data = {
        "code": f"P{n:03d}", "title": f"Project {n}", "summary": "Openbare samenvatting",
        "category": "nieuw", "line": "preventie", "instrument": "subsidie",
        "forms": ["seksuele_uitbuiting"], "requested_amount": None,
    }
    data.update(overrides)
    return portfolio.create_project(session, actor, programme, data)


def entered_on(session, project, day: date):
    """Backdate a project's creation to `day` (noon UTC, the same day in Amsterdam): the services stamp now,
    and a report at a past peildatum leaves out a project entered after it (budget.breakdowns.status_at)."""
    session.execute(update(Project).where(Project.id == project.id).values(
        created_at=datetime(day.year, day.month, day.day, 12, tzinfo=timezone.utc)))
    session.expire(project, ["created_at"])
    return project


def commit_money(session, actor, project, schedule: dict, signed: date = date(2025, 1, 15), **kw):
    total = sum(schedule.values())
    return budget.add_commitment(session, actor, project, reference=kw.pop("reference", f"BS-{next(_seq)}"),
                                 signed_date=signed, total=total, schedule=schedule, **kw)


def login(client, user, password: str = PASSWORD):
    """Log in through the real pages, second factor included (beheerders link an app first)."""
    response = client.post("/login", data={"email": user.email, "password": password})
    location = response.headers.get("Location", "")
    if response.status_code == 302 and "/login/" in location:
        if location.endswith("/login/koppelen"):
            client.get(location)  # makes the secret the user would scan
        response = client.post(location, data={"code": next_code(client, user)})
    return response


def next_code(client, user) -> str:
    """The code an app shows next for `user`: the current step's, or a later one once that was used.

    A code logs in once, so a test that logs the same user in again within 30 seconds gets the
    next step's code, as a user who waited for the app's next code would. Read in an app context
    of its own, so it sees what the pages committed (and works for a plain stand-in of a user).
    """
    import pyotp
    from sqlalchemy import select

    from core.auth import _now
    from core.db import db
    from core.users import User

    with client.application.app_context():
        row = db.session.scalar(select(User).where(User.email == user.email))
        secret, last_step = row.totp_secret or row.totp_pending_secret, row.totp_last_step
    totp = pyotp.TOTP(secret)
    step = int(_now()) // totp.interval
    if last_step is not None and last_step >= step:
        step = last_step + 1
    return totp.generate_otp(step)
