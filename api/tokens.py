"""Personal access tokens: made by their user, shown once, kept as a hash, expiring and revocable."""
from __future__ import annotations

import hashlib
import logging
import secrets
from datetime import date, datetime, timedelta

from sqlalchemy import select, update
from sqlalchemy.exc import OperationalError

from api.models import SCOPES, ApiToken
from core import validate
from core.audit import record, snapshot
from core.dates import datum_lang
from core.db import utcnow
from core.errors import Collect, NotFound, PermissionDenied, ValidationError
from core.locking import serialise

#: Recognisable in a log or a leaked file (secret scanners look for fixed prefixes).
PREFIX = "pm_"
#: A token lives at most a year; its user makes a new one, so a forgotten token dies on its own.
MAX_DAYS = 365
DEFAULT_DAYS = 90
#: last_used_at is written at most once a minute per token: a busy client must not make every read a write.
TOUCH_SECONDS = 60
#: Never in the audit trail: with the hash alone nobody can use a token, but it has no business there.
_HIDDEN = ("token_hash",)

logger = logging.getLogger(__name__)


def digest(secret: str) -> str:
    # The token is 256 random bits: a plain SHA-256 cannot be brute-forced, and lets a lookup use the index.
    return hashlib.sha256(secret.encode()).hexdigest()


def expiry_day(value, today: date | None = None) -> date:
    """The last day a new token works: after today, at most MAX_DAYS ahead."""
    today = today or date.today()
    if not isinstance(value, date):
        raise ValidationError("Vul een geldige datum in.", field="expires_on")
    if value <= today:
        raise ValidationError("Een token moet na vandaag nog geldig zijn.", field="expires_on")
    if value > today + timedelta(days=MAX_DAYS):
        raise ValidationError(f"Een token is hoogstens een jaar geldig (uiterlijk "
                              f"{datum_lang(today + timedelta(days=MAX_DAYS))}).", field="expires_on")
    return value


def create_token(session, actor, *, name: str, scope: str, expires_on) -> tuple[ApiToken, str]:
    """A new token for `actor` itself; returns it with its secret, which is never shown again."""
    if actor is None or not getattr(actor, "active", False):
        raise PermissionDenied("Alleen een actieve gebruiker kan een token maken.")
    serialise(session)
    c = Collect()
    name = c(validate.text, name, "een naam", "name", max_len=100)
    scope = c(validate.code, scope, SCOPES, "bevoegdheid", "scope")
    expires_on = c(expiry_day, expires_on)
    c.raise_any()
    secret = PREFIX + secrets.token_urlsafe(32)
    token = ApiToken(user_id=actor.id, name=name, scope=scope, expires_on=expires_on, prefix=secret[:10],
                     token_hash=digest(secret))
    session.add(token)
    record(session, actor, "create", token, {"after": snapshot(token, exclude=_HIDDEN)})
    return token, secret


def user_tokens(session, user_id: int) -> list[ApiToken]:
    """A user's tokens, newest first, revoked and expired ones too (with when they stopped)."""
    return list(session.scalars(select(ApiToken).where(ApiToken.user_id == user_id)
                                .order_by(ApiToken.created_at.desc(), ApiToken.id.desc())))


def revoke_token(session, actor, token_id: int) -> ApiToken:
    """Stop a token at once; its user may, and a beheerder may stop anyone's."""
    serialise(session)
    token = session.get(ApiToken, token_id)
    if token is None:
        raise NotFound("Dit token bestaat niet.")
    if token.user_id != getattr(actor, "id", None) and getattr(actor, "role", None) != "beheerder":
        raise PermissionDenied("U kunt alleen uw eigen tokens intrekken.")
    if token.revoked_at is None:
        token.revoked_at = utcnow()
        record(session, actor, "revoke", token, {"after": {"revoked_at": token.revoked_at}})
    return token


def state(token: ApiToken, today: date | None = None) -> str:
    """'actief', 'verlopen' or 'ingetrokken'."""
    if token.revoked_at is not None:
        return "ingetrokken"
    if token.expires_on < (today or date.today()):
        return "verlopen"
    return "actief"


def authenticate(session, secret: str) -> ApiToken | None:
    """The token behind `secret` when it works today for an active user; None otherwise (no reason given out)."""
    if not secret or not secret.startswith(PREFIX) or len(secret) > 100:
        return None
    hashed = digest(secret)
    token = session.scalar(select(ApiToken).where(ApiToken.token_hash == hashed))
    if token is None:
        return None
    if state(token) != "actief" or not token.user.active:
        return None
    return token


def touch(session, token: ApiToken, now: datetime | None = None) -> None:
    """Record that `token` was used (at most once a minute; committed on its own, outside any booking)."""
    now = now or utcnow()
    last = token.last_used_at
    if last is not None and last.tzinfo is None:
        last = last.replace(tzinfo=now.tzinfo)  # SQLite hands back naive UTC
    if last is not None and (now - last).total_seconds() < TOUCH_SECONDS:
        return
    try:
        session.execute(update(ApiToken).where(ApiToken.id == token.id).values(last_used_at=now))
        session.commit()
    except OperationalError:
        # A write lock held elsewhere: the request itself must not fail for a usage mark.
        session.rollback()
        logger.warning("Laatste gebruik van token %s niet bijgewerkt (database bezet)", token.id)
