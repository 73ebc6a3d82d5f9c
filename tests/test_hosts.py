"""Two hosts on one database and one Redis: a session, a write and the login limit carry from one to the other."""
from __future__ import annotations

import os
import secrets

import pytest
import redis

from core.db import db
from tests.factories import PASSWORD, fund, make_programme, make_project, make_user
from tests.server import Browser, gunicorn

REDIS_URL = os.environ.get("TEST_REDIS_URL", "redis://127.0.0.1:6379/0")


@pytest.fixture
def shared_redis():
    """The machine's Redis with a key prefix of this test's own; its keys are removed afterwards."""
    client = redis.Redis.from_url(REDIS_URL, socket_timeout=3)
    try:
        client.ping()
    except redis.RedisError:
        if os.environ.get("CI"):
            raise  # CI starts Redis (.ci/run): there it must be up
        pytest.skip(f"Redis antwoordt niet op {REDIS_URL}")
    prefix = f"pm-test-{secrets.token_hex(6)}"
    yield {"RATELIMIT_STORAGE_URI": REDIS_URL, "RATELIMIT_KEY_PREFIX": prefix}
    for key in client.scan_iter(f"*{prefix}*"):
        client.delete(key)


@pytest.fixture
def hosts(app, tmp_path, shared_redis):
    """Two gunicorn instances (one worker each, so nothing is shared inside a process) on the test's database."""
    session = db.session
    fin = make_user(session, "financieel")
    programme = make_programme(session, make_user(session, "beheerder"), first_year=2026, last_year=2027)
    fund(session, fin, programme, {2026: "500.000", 2027: "500.000"})
    project = make_project(session, fin, programme, code="HOST-P", title="Project op twee hosts")
    session.commit()
    world = {"fin": fin, "project": project}
    url = app.config["SQLALCHEMY_DATABASE_URI"]
    db.session.remove()
    with gunicorn(url, workers=1, env=shared_redis, log=tmp_path / "een.log") as one, \
            gunicorn(url, workers=1, env=shared_redis, log=tmp_path / "twee.log") as two:
        yield {**world, "one": one, "two": two}
    db.session.remove()


def test_a_session_and_a_write_through_one_host_hold_on_the_other(hosts):
    fin, project = hosts["fin"], hosts["project"]
    browser = Browser(hosts["one"])
    browser.log_in(fin.email, PASSWORD)
    # The load balancer sends the next request to the other host: the same cookie is the same session there.
    browser.base = hosts["two"]
    status, page, _ = browser.request("/budget")
    assert status == 200 and fin.name in page

    browser.base = hosts["one"]
    path = f"/projecten/{project.id}/verplichtingen/nieuw"
    status, _, _ = browser.request(path, {**browser.hidden(path), "reference": "BS-TWEE-HOSTS",
                                          "signed_date": "2026-02-01", "total": "123.456,78",
                                          "jaar_2026": "123.456,78"})
    assert status == 302
    browser.base = hosts["two"]
    status, page, _ = browser.request(f"/projecten/{project.id}")
    assert status == 200 and "BS-TWEE-HOSTS" in page and "123.456,78" in page
    # The other host's figures (its own cache) show the commitment at once: 500.000 - 123.456,78 free.
    status, page, _ = browser.request("/budget?jaar=2026")
    assert status == 200 and "376.543,22" in page

    # Logging out on one host ends the session on both.
    browser.request("/logout", browser.hidden("/budget"))
    browser.base = hosts["one"]
    status, _, location = browser.request("/budget")
    assert status == 302 and "/login" in location


def test_the_login_limit_counts_across_both_hosts(hosts):
    fin = hosts["fin"]
    wrong = {"email": fin.email, "password": "niet-het-wachtwoord"}
    answers = []
    for base in [hosts["one"], hosts["two"]] * 3:  # six failed attempts, three on each host
        browser = Browser(base)
        answers.append(browser.request("/login", {**browser.hidden("/login"), **wrong})[0])
    # Five failures a minute per account, counted in the shared Redis: the sixth is refused, on host two.
    assert answers == [400, 400, 400, 400, 400, 429]
    # Now even the right password waits, on either host.
    for base in (hosts["one"], hosts["two"]):
        browser = Browser(base)
        status, page, _ = browser.request("/login", {**browser.hidden("/login"), "email": fin.email,
                                                     "password": PASSWORD})
        assert status == 429 and "Wacht een minuut" in page
