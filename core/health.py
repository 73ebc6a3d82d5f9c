"""Liveness, readiness and metrics for the load balancer and monitoring: no login, no personal data."""
from __future__ import annotations

import hmac
from functools import cache
from pathlib import Path

from alembic.script import ScriptDirectory
from flask import Blueprint, Response, abort, current_app, jsonify, request
from sqlalchemy import text
from sqlalchemy.exc import SQLAlchemyError

from core.db import db
from core.metrics import exposition

bp = Blueprint("health", __name__)


@cache
def _head(root: str) -> str | None:
    # Read once per process: the migrations shipped with this code.
    return ScriptDirectory(str(Path(root) / "migrations")).get_current_head()


@bp.get("/healthz")
def healthz():
    """The process answers; nothing else is asked (the database may be down: see /readyz)."""
    return jsonify(status="ok")


@bp.get("/readyz")
def readyz():
    """Ready for requests: the database answers and its schema is at this code's migration head."""
    try:
        current = db.session.scalar(text("SELECT version_num FROM alembic_version"))
    except SQLAlchemyError:
        db.session.rollback()
        return jsonify(status="niet gereed", reden="De database is niet bereikbaar."), 503
    finally:
        db.session.remove()
    head = _head(current_app.root_path)
    if current != head:
        return jsonify(status="niet gereed", reden=f"Het databaseschema staat op {current or 'niets'}, de code "
                                                   f"verwacht {head}: voer 'flask --app app db upgrade' uit."), 503
    return jsonify(status="gereed", schema=current)


@bp.get("/metrics")
def metrics():
    """Prometheus metrics, only with METRICS_TOKEN as bearer token; without a configured token the page does not exist."""
    token = current_app.config.get("METRICS_TOKEN") or ""
    if not token:
        abort(404)
    scheme, _sep, sent = request.headers.get("Authorization", "").partition(" ")
    if scheme.lower() != "bearer" or not hmac.compare_digest(sent.strip().encode(), token.encode()):
        return Response("Geef het metrics-token mee: Authorization: Bearer <METRICS_TOKEN>.\n", 401,
                        {"WWW-Authenticate": 'Bearer realm="metrics"'}, mimetype="text/plain")
    return Response(exposition(), mimetype="text/plain; version=0.0.4")
