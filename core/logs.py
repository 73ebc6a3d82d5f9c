"""Logs as one JSON line per event, each with the id of the request it belongs to (X-Request-ID)."""
from __future__ import annotations

import json
import logging
import re
import time
import uuid
from datetime import UTC, datetime

from flask import Flask, g, has_request_context, request

#: An id a proxy or client sends along is kept when it looks like one; anything else gets a fresh id.
_REQUEST_ID = re.compile(r"^[A-Za-z0-9._-]{1,64}$")
#: The structured fields a log call may pass in `extra`; nothing else of a record is written out.
FIELDS = ("event", "method", "path", "status", "ms", "endpoint", "user_id", "action", "entity", "entity_id",
          "count")

request_log = logging.getLogger("programmamonitor.request")


def request_id() -> str | None:
    return g.get("request_id") if has_request_context() else None


class JsonFormatter(logging.Formatter):
    """{"tijd", "niveau", "logger", "bericht", "request_id", ...the FIELDS given}, one line, UTF-8."""

    def format(self, record: logging.LogRecord) -> str:
        entry = {"tijd": datetime.fromtimestamp(record.created, UTC).isoformat(timespec="milliseconds"),
                 "niveau": record.levelname, "logger": record.name, "bericht": record.getMessage()}
        found = getattr(record, "request_id", None) or request_id()
        if found:
            entry["request_id"] = found
        entry.update({key: getattr(record, key) for key in FIELDS if hasattr(record, key)})
        if record.exc_info:
            entry["uitzondering"] = self.formatException(record.exc_info)
        return json.dumps(entry, ensure_ascii=False, default=str)


def use_json(level: int = logging.INFO) -> None:
    """Every log line of the process as JSON on standard error (gunicorn passes it on to the journal)."""
    handler = logging.StreamHandler()
    handler.setFormatter(JsonFormatter())
    root = logging.getLogger()
    root.handlers[:] = [handler]
    root.setLevel(level)


def init_app(app: Flask) -> None:
    @app.before_request
    def _request_id():
        sent = request.headers.get("X-Request-ID", "")
        g.request_id = sent if _REQUEST_ID.match(sent) else uuid.uuid4().hex[:16]
        g.log_start = time.perf_counter()

    @app.after_request
    def _log_request(response):
        rid = g.get("request_id")
        if rid:
            response.headers["X-Request-ID"] = rid
        start = g.pop("log_start", None)
        # The path only: a query string can hold what someone searched for.
        request_log.info("%s %s %s", request.method, request.path, response.status_code, extra={
            "event": "request", "request_id": rid, "method": request.method, "path": request.path, "status": response.status_code,
            "ms": round((time.perf_counter() - start) * 1000, 1) if start is not None else None,
            "endpoint": request.url_rule.endpoint if request.url_rule is not None else None,
            "user_id": _user_id()})
        return response


def _user_id():
    # Read only when a user is already loaded for this request: logging must not query the database.
    user = g.get("_login_user")
    return getattr(user, "id", None) if user is not None and getattr(user, "is_authenticated", False) else None
