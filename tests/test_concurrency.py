"""The budget stop and 'never pay more than committed' hold under parallel requests to a multi-worker server."""
from __future__ import annotations

import threading
from collections import Counter
from concurrent.futures import ThreadPoolExecutor
from datetime import date
from decimal import Decimal

import pytest
from sqlalchemy import func, select

from budget.ledger import programme_figures
from budget.models import Commitment, CommitmentSchedule, Payment
from core.audit import AuditEntry, verify_chain
from core.db import db
from tests.factories import PASSWORD, commit_money, fund, make_programme, make_project, make_user
from tests.server import Browser, gunicorn

ROUNDS = 10
PARALLEL = 20
FIRST_YEAR = 2025
AMOUNT = Decimal("100000.00")


@pytest.fixture
def server(app, tmp_path):
    """Data committed to the test's database, then gunicorn with three workers on that same database."""
    session = db.session
    boss, fin = make_user(session, "beheerder"), make_user(session, "financieel")
    programme = make_programme(session, boss, first_year=FIRST_YEAR, last_year=FIRST_YEAR + ROUNDS - 1)
    # Each round has a year of its own in which exactly 5 commitments of 100.000 fit (a sixth does not).
    fund(session, fin, programme, {FIRST_YEAR + i: 5 * AMOUNT + Decimal("99999.99") for i in range(ROUNDS)})
    project = make_project(session, fin, programme)
    session.commit()
    world = {"fin": fin, "programme": programme, "project": project}
    url = app.config["SQLALCHEMY_DATABASE_URI"]
    db.session.remove()
    with gunicorn(url, workers=3, log=tmp_path / "gunicorn.log") as base:
        world["base"] = base
        yield world
    db.session.remove()


def _fire(base: str, email: str, path: str, posts: list[dict], same_form: bool = False) -> Counter:
    """Each form is fetched first (its own tokens), then all are posted at once, each on its own connection.

    `same_form`: one form fetched and posted len(posts) times at once (a user's repeated clicks).
    """
    browser = Browser(base)
    browser.log_in(email, PASSWORD)
    if same_form:
        form = browser.hidden(path)
        forms = [{**form, **data} for data in posts]
    else:
        forms = [{**browser.hidden(path), **data} for data in posts]
    start = threading.Barrier(len(posts))

    def post(data):
        start.wait()
        status, body, _ = browser.request(path, data)
        return status, body

    with ThreadPoolExecutor(len(posts)) as pool:
        answers = list(pool.map(post, forms))
    assert not [s for s, _ in answers if s >= 500 and s != 503], "een parallelle boeking gaf een serverfout"
    # Whatever was refused was refused with the rule's own Dutch message, or a Dutch "try again".
    for status, body in answers:
        if status == 400:
            assert "Budgetstop" in body or "Betaling geweigerd" in body or "bestaat al" in body
        if status == 503:
            assert "Probeer het opnieuw" in body
    return Counter(status for status, _ in answers)


def test_parallel_commitments_never_break_the_budget_stop(server):
    booked_total = 0
    for i in range(ROUNDS):
        year = FIRST_YEAR + i
        posts = [{"reference": f"RACE-{year}-{n}", "signed_date": f"{year}-01-15",
                  "total": "100.000,00", f"jaar_{year}": "100.000,00"} for n in range(PARALLEL)]
        answers = _fire(server["base"], server["fin"].email,
                        f"/projecten/{server['project'].id}/verplichtingen/nieuw", posts)
        booked = db.session.scalar(select(func.count(CommitmentSchedule.commitment_id))
                                   .where(CommitmentSchedule.year == year))
        free = programme_figures(db.session, server["programme"].id, None, [year])[year].free
        db.session.rollback()
        assert booked <= 5 and free >= 0, f"ronde {i + 1}: {booked} geboekt, vrije ruimte {free}"
        assert answers[302] == booked
        if not answers[503]:
            # Serialised, every request that fitted when its turn came was booked: exactly five.
            assert booked == 5
        booked_total += booked
    # Every booking is in the audit trail, and the chain is whole.
    assert db.session.scalar(select(func.count()).select_from(AuditEntry)
                             .where(AuditEntry.entity == "Commitment")) == booked_total
    assert verify_chain(db.session)[0]


def test_parallel_payments_never_exceed_the_commitment(app, server):
    session = db.session
    fin = session.merge(server["fin"])
    project = session.merge(server["project"])
    # Signed and paid in the first year: a payment is never dated after today (budget.rules.payment_day).
    commitments = [commit_money(session, fin, project, {FIRST_YEAR + i: Decimal("400000.00")},
                                signed=date(FIRST_YEAR, 1, 2), reference=f"PAY-{i}") for i in range(ROUNDS)]
    session.commit()
    ids = [c.id for c in commitments]
    session.remove()
    for i, commitment_id in enumerate(ids):
        posts = [{"payment_date": f"{FIRST_YEAR}-03-01", "amount": "100.000,00", "kind": "betaling",
                  "reference": f"BET-{i}-{n}"} for n in range(PARALLEL)]
        answers = _fire(server["base"], server["fin"].email, f"/verplichtingen/{commitment_id}/betalingen/nieuw",
                        posts)
        paid = db.session.scalar(select(func.coalesce(func.sum(Payment.amount), 0))
                                 .where(Payment.commitment_id == commitment_id))
        count = db.session.scalar(select(func.count(Payment.id)).where(Payment.commitment_id == commitment_id))
        total = db.session.get(Commitment, commitment_id).total
        db.session.rollback()
        assert count <= 4 and Decimal(paid) <= total, f"ronde {i + 1}: {count} betalingen, {paid} op {total}"
        assert answers[302] == count
        if not answers[503]:
            assert count == 4


def test_one_form_posted_twenty_times_at_once_books_once(server):
    year = FIRST_YEAR
    data = {"reference": "KLIK-1", "signed_date": f"{year}-01-15", "total": "1.000,00",
            f"jaar_{year}": "1.000,00"}
    answers = _fire(server["base"], server["fin"].email, f"/projecten/{server['project'].id}/verplichtingen/nieuw",
                    [data] * PARALLEL, same_form=True)
    assert db.session.scalar(select(func.count(Commitment.id)).where(Commitment.reference == "KLIK-1")) == 1
    # Every click lands on the project page that shows the one booking (or is told to try again).
    assert answers[302] + answers[503] == PARALLEL


def test_the_same_kenmerk_twenty_times_at_once_gives_one_commitment_and_a_dutch_message(server):
    year = FIRST_YEAR + 1
    data = {"reference": "DUBBEL-1", "signed_date": f"{year}-01-15", "total": "1.000,00",
            f"jaar_{year}": "1.000,00"}
    answers = _fire(server["base"], server["fin"].email, f"/projecten/{server['project'].id}/verplichtingen/nieuw",
                    [data] * PARALLEL)
    assert db.session.scalar(select(func.count(Commitment.id)).where(Commitment.reference == "DUBBEL-1")) == 1
    assert answers[302] == 1
    assert answers[400] + answers[503] == PARALLEL - 1


def test_a_writer_that_waits_too_long_is_told_to_try_again_and_nothing_is_written(app, client, monkeypatch,
                                                                                 db_kind):
    import sqlite3

    import psycopg

    import core.locking
    from budget.models import BudgetMutation
    from tests.factories import login

    session = db.session
    boss, fin = make_user(session, "beheerder"), make_user(session, "financieel")
    make_programme(session, boss)
    session.commit()
    login(client, fin)
    monkeypatch.setattr(core.locking, "LOCK_TIMEOUT_SECONDS", 1)
    url = app.config["SQLALCHEMY_DATABASE_URI"]
    # Another writer (a long import, say) holds the write lock for the whole request.
    if db_kind == "sqlite":
        other = sqlite3.connect(url.removeprefix("sqlite:///"), isolation_level=None)
        other.execute("BEGIN IMMEDIATE")
    else:
        other = psycopg.connect(url.replace("postgresql+psycopg://", "postgresql://"), autocommit=True)
        other.execute("SELECT pg_advisory_lock(%s)", (core.locking.WRITE_LOCK,))
    try:
        response = client.post("/budget/mutaties/nieuw", data={
            "year": "2025", "amount": "10.000,00", "kind": "beleidsmatig", "moment": "voorjaarsnota",
            "reason": "Extra geld", "date": "2025-03-01"})
    finally:
        other.close()
    assert response.status_code == 503
    assert response.headers["Retry-After"]
    assert "Probeer het opnieuw" in response.get_data(as_text=True)
    session.rollback()
    assert session.scalar(select(func.count(BudgetMutation.id))) == 0
