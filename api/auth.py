"""Who is calling the API: a bearer token, never a session cookie, checked against core.policy and its scope."""
from __future__ import annotations

import hashlib
import logging

from flask import g, request
from flask_limiter.util import get_remote_address
from sqlalchemy import select

from api import tokens
from api.problems import problem
from core.db import db

logger = logging.getLogger("programmamonitor.api")

_READS = ("GET", "HEAD", "OPTIONS")
_CHALLENGE = {"WWW-Authenticate": 'Bearer realm="programmamonitor"'}


def _secret() -> str:
    scheme, _sep, secret = request.headers.get("Authorization", "").partition(" ")
    return secret.strip() if scheme.lower() == "bearer" else ""


def rate_key() -> str:
    """The rate limit counts per token presented (hashed: the key lives in the limiter's storage), else per address."""
    secret = _secret()
    return "token:" + hashlib.sha256(secret.encode()).hexdigest()[:32] if secret else get_remote_address()


def enforce():
    """Run before every /api request, instead of the session login: None lets it through, else a problem.

    The session cookie is never read here, so a page open in a browser cannot be made to call the API
    (no CSRF on the API, as there is no cookie it trusts).
    """
    from flask_login import AnonymousUserMixin

    from core.policy import POLICY, decide
    from projects.models import Project

    g._login_user = AnonymousUserMixin()
    rule = POLICY.get(request.endpoint)
    if rule is None:
        logger.error("Endpoint %s staat niet in het toegangsbeleid; geweigerd.", request.endpoint)
        return problem(403)
    if rule.roles_for(request.method) is None:
        return None  # the OpenAPI document and its docs page
    secret = _secret()
    token = tokens.authenticate(db.session, secret) if secret else None
    if token is None:
        g.api_auth_failed = True
        return problem(401, headers=_CHALLENGE)
    g._login_user = token.user
    g.api_token = token
    tokens.touch(db.session, token)
    if request.method not in _READS and token.scope != "write":
        return problem(403, "Dit token mag alleen lezen; maak een token met 'Lezen en schrijven' om te boeken.")
    verdict = decide(request.endpoint, request.method, token.user, request.view_args or {},
                     lambda project_id: db.session.scalar(select(Project.owner_id).where(Project.id == project_id)))
    if verdict != "allow":
        return problem(403)
    return None


def log_use(response):
    """Each use of a token in the application log: which token, whose, what, and the answer."""
    token = g.get("api_token")
    if token is not None:
        logger.info("API-token %s (%s, gebruiker %s): %s %s -> %s", token.id, token.prefix, token.user_id,
                    request.method, request.full_path.rstrip("?"), response.status_code)
    elif g.get("api_auth_failed"):
        logger.warning("API-verzoek zonder geldig token van %s: %s %s", get_remote_address(), request.method,
                       request.path)
    return response
