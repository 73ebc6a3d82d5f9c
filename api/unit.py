"""An API write as one serialised unit, like core.unit.save for a form: idempotent, and refused in Dutch."""
from __future__ import annotations

import hashlib
import json
from collections.abc import Callable
from datetime import timedelta

from flask import Response, request
from flask_login import current_user
from sqlalchemy import delete
from sqlalchemy.exc import IntegrityError
from sqlalchemy.orm.exc import StaleDataError

from api.models import IdempotentRequest
from api.problems import from_domain, problem
from approvals.models import PendingEntry
from core.db import db, utcnow
from core.errors import DomainError, StaleEdit
from core.locking import serialise

_JSON = "application/json"
#: How long a key is remembered: a client retries within minutes, not days; older keys may be used again.
KEEP_HOURS = 24


def _fingerprint() -> str:
    return hashlib.sha256(b"\n".join([request.method.encode(), request.path.encode(),
                                      request.get_data(cache=True)])).hexdigest()


def _response(status: int, body: str, location: str = "", replayed: bool = False) -> Response:
    response = Response(body, status=status, mimetype=_JSON)
    if location:
        response.headers["Location"] = location
    if replayed:
        response.headers["Idempotent-Replayed"] = "true"
    return response


def write(key: str, action: Callable, dump: Callable, location: Callable | None = None,
          field_names: dict | None = None) -> Response:
    """Run `action` (services that flush) once per Idempotency-Key and answer 201, or 202 when it waits.

    The key is claimed under the write lock in the same transaction as the booking, so a retry that
    arrives while the first is still running waits for it and then gets its answer; a refused booking
    keeps no key (nothing was booked: the client may correct it and send it again with the same key).
    """
    session = db.session
    fingerprint = _fingerprint()
    try:
        serialise(session)
        session.execute(delete(IdempotentRequest).where(
            IdempotentRequest.at < utcnow() - timedelta(hours=KEEP_HOURS)))
        earlier = session.get(IdempotentRequest, (current_user.id, key))
        if earlier is not None:
            session.rollback()
            if earlier.fingerprint != fingerprint:
                return problem(422, "Deze Idempotency-Key is al gebruikt voor een ander verzoek. Gebruik voor "
                                    "elke nieuwe boeking een nieuwe sleutel.")
            return _response(earlier.status, earlier.body, earlier.location, replayed=True)
        result = action()
        if isinstance(result, PendingEntry):
            status, where = 202, ""
            body = {"status": "ter_goedkeuring", "boeking": result.id, "melding": result.pending_message}
        else:
            status, where = 201, (location(result) if location else "")
            body = dump(result)
        text = json.dumps(body, ensure_ascii=False)
        session.add(IdempotentRequest(user_id=current_user.id, key=key, fingerprint=fingerprint, status=status,
                                      body=text, location=where))
        session.commit()
    except DomainError as exc:
        session.rollback()
        return from_domain(exc, field_names)
    except (StaleEdit, StaleDataError):
        session.rollback()
        return problem(409, "In de tussentijd gewijzigd door iemand anders. Haal de actuele versie op en "
                            "probeer het opnieuw; er is niets opgeslagen.")
    except IntegrityError:
        session.rollback()
        return problem(409, "Iemand anders heeft zojuist hetzelfde opgeslagen; er is niets dubbel geboekt.")
    return _response(status, text, where)
