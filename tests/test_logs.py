"""Structured logs: one JSON line per request and per audited act, each with the request's id."""
from __future__ import annotations

import json
import logging

from core.logs import JsonFormatter
from core.policy import POLICY, Rule
from tests.factories import TEST_ACTOR, login, make_programme, make_user


def _lines(caplog, event):
    formatter = JsonFormatter()
    return [json.loads(formatter.format(r)) for r in caplog.records if getattr(r, "event", None) == event]


def test_every_request_is_one_json_line_with_its_request_id(client, session, caplog):
    user = make_user(session, "lezer")
    session.commit()
    login(client, user)
    with caplog.at_level(logging.INFO, logger="programmamonitor.request"):
        kept = client.get("/projecten?zoek=geheim", headers={"X-Request-ID": "lb-4711.abc"})
        fresh = client.get("/projecten", headers={"X-Request-ID": "bad id <script>"})
    assert kept.headers["X-Request-ID"] == "lb-4711.abc"
    assert fresh.headers["X-Request-ID"] != "bad id" and len(fresh.headers["X-Request-ID"]) == 16
    lines = _lines(caplog, "request")
    first = next(line for line in lines if line["request_id"] == "lb-4711.abc")
    assert first["method"] == "GET" and first["path"] == "/projecten" and first["endpoint"] == "projects.index"
    assert first["user_id"] == user.id and first["status"] in (200, 302) and first["ms"] >= 0
    assert "geheim" not in json.dumps(lines)  # the query string is not logged


def test_every_audited_act_is_a_line_with_ids_only(session, caplog):
    with caplog.at_level(logging.INFO, logger="programmamonitor.audit"):
        make_programme(session, TEST_ACTOR, code="LOG")
    line = _lines(caplog, "audit")[-1]
    assert line["action"] == "create" and line["entity"] == "Programme" and line["entity_id"]
    assert "Testprogramma" not in json.dumps(line)


def test_the_incident_id_is_the_request_id(app, client, caplog, monkeypatch):
    app.config["PROPAGATE_EXCEPTIONS"] = False
    monkeypatch.setitem(POLICY, "_stuk", Rule(None))

    @app.route("/_stuk")
    def _stuk():
        raise RuntimeError("kapot")

    with caplog.at_level(logging.ERROR):
        response = client.get("/_stuk", headers={"X-Request-ID": "incident-42"})
    assert response.status_code == 500 and "<strong>incident-42</strong>" in response.get_data(as_text=True)
    assert response.headers["X-Request-ID"] == "incident-42"


def test_the_suite_wide_watch_would_see_a_secret():
    from tests.logwatch import Watch

    watch = Watch()
    # Not passed on to the suite-wide watch, which would (rightly) count these as secrets in the run's logs.
    logger = logging.getLogger("proef.geheimen")
    logger.propagate = False
    logger.addHandler(watch)
    try:
        logger.warning("token pm_%s gebruikt", "A" * 43)
        logger.warning("totp %s", "JBSWY3DPEHPK3PXPJBSWY3DPEHPK3PXP")
        logger.warning("gewoon een regel over STM-001")
    finally:
        logger.removeHandler(watch)
    assert len(watch.findings) == 2 and watch.lines == 3
