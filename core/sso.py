"""Sign-in through the ministry's identity provider (OpenID Connect, code flow with PKCE, via Authlib)."""
from __future__ import annotations

from urllib.parse import urlsplit

import requests
from authlib.integrations.base_client.errors import OAuthError
from authlib.integrations.flask_client import OAuth
from flask import (
    Blueprint,
    Flask,
    abort,
    current_app,
    render_template,
    request,
    session,
    url_for,
)
from flask_babel import gettext as _
from joserfc.errors import JoseError

from core.auth import complete_login_or_ask_code, limiter, printable
from core.db import db
from core.users import by_sso

bp = Blueprint("sso", __name__, template_folder="templates")

#: The provider's name in Authlib's registry; it also names the keys Authlib keeps in the session.
PROVIDER = "ministerie"
#: Where the id token waits for logout: the provider's end-session endpoint asks for it as a hint.
ID_TOKEN = "sso_id_token"


#: The settings and their defaults (docs/deployment.md): the provider, which claim names the user,
#: which `amr`/`acr` values count as a second factor, the button's text, whom to ask for an account.
DEFAULTS = {"OIDC_ISSUER": "", "OIDC_CLIENT_ID": "", "OIDC_CLIENT_SECRET": "", "OIDC_MATCH": "sub",
            "OIDC_MFA_AMR": "mfa", "OIDC_MFA_ACR": "", "OIDC_LABEL": "", "ACCOUNT_CONTACT": ""}


def configure(app: Flask, environ) -> None:
    """The OIDC_* and LOCAL_LOGIN settings from the environment."""
    app.config.update({name: environ.get(name, default) for name, default in DEFAULTS.items()})
    app.config["LOCAL_LOGIN"] = environ.get("LOCAL_LOGIN", "1") != "0"


def init_app(app: Flask) -> None:
    """Register the provider when OIDC_ISSUER is set; refuse to start with no way to sign in at all."""
    for name, default in {**DEFAULTS, "LOCAL_LOGIN": True}.items():
        app.config.setdefault(name, default)
    app.register_blueprint(bp)  # always, for one access policy; without a provider its pages are 404
    issuer = app.config["OIDC_ISSUER"].rstrip("/")
    if not issuer:
        if not app.config["LOCAL_LOGIN"]:
            raise RuntimeError("LOCAL_LOGIN=0 zet inloggen met wachtwoord uit; zet dan ook OIDC_ISSUER, "
                               "OIDC_CLIENT_ID en OIDC_CLIENT_SECRET, anders kan niemand inloggen.")
        return
    if app.config["OIDC_MATCH"] not in ("sub", "email"):
        raise RuntimeError("OIDC_MATCH is 'sub' (standaard) of 'email'.")
    # One registry per app: tests start several apps, each with its own provider.
    oauth = OAuth(app)
    oauth.register(
        PROVIDER,
        client_id=app.config["OIDC_CLIENT_ID"],
        client_secret=app.config["OIDC_CLIENT_SECRET"],
        server_metadata_url=f"{issuer}/.well-known/openid-configuration",
        client_kwargs={"scope": "openid email profile", "code_challenge_method": "S256", "default_timeout": 10},
    )
    app.extensions["sso"] = oauth
    issuer_origin = "{0.scheme}://{0.netloc}".format(urlsplit(issuer))
    app.config["CSP_FORM_ACTION_EXTRA"] = f" {issuer_origin}"


def enabled() -> bool:
    return "sso" in current_app.extensions


def _client():
    return current_app.extensions["sso"].create_client(PROVIDER)


@bp.before_request
def _only_with_a_provider():
    if not enabled():
        abort(404)


@bp.route("/login/sso")
def start():
    """Off to the provider; Authlib keeps state, nonce and the PKCE verifier in this session."""
    session["sso_next"] = request.args.get("next") or ""
    try:
        return _client().authorize_redirect(url_for("sso.callback", _external=True))
    except (OAuthError, requests.RequestException, ValueError) as error:
        # Its discovery document unreachable or unreadable: say so, never a 500.
        current_app.logger.error("Identiteitsprovider niet bereikbaar: %s", printable(type(error).__name__))
        return _refused(_("De identiteitsprovider van het ministerie is nu niet bereikbaar. Probeer het over een "
                          "paar minuten opnieuw."), 503)


def _refused(message: str, status: int = 403):
    return render_template("auth/sso_refused.html", message=message,
                           contact=current_app.config.get("ACCOUNT_CONTACT")), status


def _values(claim) -> set[str]:
    return {claim} if isinstance(claim, str) else set(claim or ())


def _setting(name: str) -> set[str]:
    return {part.strip() for part in current_app.config.get(name, "").split(",") if part.strip()}


def asserts_mfa(claims) -> bool:
    """Did the provider vouch for a second factor (`amr` or `acr`, as configured)? Then TOTP here is not asked."""
    return bool(_values(claims.get("amr")) & _setting("OIDC_MFA_AMR")
                or _values(claims.get("acr")) & _setting("OIDC_MFA_ACR"))


@bp.route("/login/sso/terug")
# Only refusals count (a sign-in ends in a redirect): a ministry's colleagues share one address at nine o'clock.
@limiter.limit("20 per minute", deduct_when=lambda response: response.status_code != 302)
def callback():
    """The provider sends the browser back with a code: check state, trade the code, check the id token."""
    try:
        token = _client().authorize_access_token()
    except (OAuthError, JoseError, requests.RequestException) as error:
        # A tampered or replayed state, a used or expired code, a bad signature or an old id token.
        current_app.logger.warning("SSO-inlog geweigerd vanaf %s: %s", request.remote_addr,
                                   printable(getattr(error, "error", "") or type(error).__name__))
        return _refused(_("Het inloggen via uw ministerie-account is niet gelukt of verlopen. Probeer het opnieuw."),
                        400)
    claims = token.get("userinfo") or {}
    if current_app.config["OIDC_MATCH"] == "email":
        # Only an address the provider itself vouches for; an unverified one could be anybody's.
        user = by_sso(db.session, email=claims.get("email")) if claims.get("email_verified", True) else None
    else:
        user = by_sso(db.session, subject=claims.get("sub"))
    if user is None or not user.active:
        current_app.logger.warning("SSO-inlog zonder (actief) account: sub %s vanaf %s",
                                   printable(str(claims.get("sub", ""))), request.remote_addr)
        return _refused(_("U bent bij het ministerie bekend, maar heeft (nog) geen actief account in "
                          "Programmamonitor."))
    next_url = session.get("sso_next") or None
    return complete_login_or_ask_code(user, next_url, skip_code=asserts_mfa(claims),
                                      keep={ID_TOKEN: token.get("id_token")}, via="SSO")


def logout_url() -> str | None:
    """The provider's end-session address for this session's id token, if the provider offers one."""
    id_token = session.get(ID_TOKEN)
    if not id_token or not enabled():
        return None
    try:
        return _client().create_logout_url(post_logout_redirect_uri=url_for("auth.login", _external=True),
                                           id_token_hint=id_token)["url"]
    except (RuntimeError, requests.RequestException):  # no end_session_endpoint, or the provider is away
        return None
