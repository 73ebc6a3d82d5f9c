"""The web side of accounts: login/logout, session lifetime, login rate limits, role_required."""
from __future__ import annotations

import hmac
import time
from functools import wraps
from urllib.parse import urlsplit

import pyotp
import segno
from flask import (
    Blueprint,
    abort,
    current_app,
    flash,
    redirect,
    render_template,
    request,
    session,
    url_for,
)
from flask_babel import gettext as _
from flask_babel import lazy_gettext as _l
from flask_limiter import Limiter
from flask_limiter.util import get_remote_address
from flask_login import LoginManager, current_user, login_user, logout_user
from flask_wtf import FlaskForm
from wtforms import EmailField, PasswordField, StringField
from wtforms.validators import DataRequired

from core.db import db
from core.users import (
    User,
    authenticate,
    enable_totp,
    end_totp_enrolment,
    new_session_token,
    normal_email,
    pending_totp_secret,
    use_totp_step,
)

#: ASVS 3.3.2: re-authenticate after 30 minutes idle or 12 hours in all.
IDLE_SECONDS = 30 * 60
ABSOLUTE_SECONDS = 12 * 60 * 60

login_manager = LoginManager()
login_manager.login_view = "auth.login"
login_manager.login_message = _l("Log in om deze pagina te zien.")
login_manager.session_protection = "strong"

# In memory per worker by default; RATELIMIT_STORAGE_URI=redis://... shares counts between workers.
limiter = Limiter(key_func=get_remote_address, default_limits=[], headers_enabled=False)


def _now() -> float:
    """The clock the session timeouts use (tests move it)."""
    return time.time()


@login_manager.user_loader
def _load_user(user_id: str):
    # The session holds "id:token"; logout rotates the token, so an old cookie replayed later
    # no longer matches and counts as logged out.
    user_part, _sep, token = user_id.partition(":")
    if not user_part.isdigit() or not token:
        return None
    user = db.session.get(User, int(user_part))
    if user is None or not hmac.compare_digest(user.session_token, token):
        return None
    # A deactivated user's running session ends at the next request, not at the next login.
    return user if user.active else None


def role_required(*roles: str):
    """View decorator: anonymous users go to login, users without one of `roles` get 403."""

    def decorator(view):
        @wraps(view)
        def wrapped(*args, **kwargs):
            if not current_user.is_authenticated:
                return login_manager.unauthorized()
            if current_user.role not in roles:
                abort(403)
            return view(*args, **kwargs)

        return wrapped

    return decorator


class LoginForm(FlaskForm):
    email = EmailField(_l("E-mailadres"), validators=[DataRequired(_l("Vul uw e-mailadres in."))])
    password = PasswordField(_l("Wachtwoord"), validators=[DataRequired(_l("Vul uw wachtwoord in."))])


class CodeForm(FlaskForm):
    code = StringField(_l("Code uit uw authenticator-app"), validators=[DataRequired(_l("Vul de code in."))])


#: How long a correct password waits for its second factor.
PENDING_SECONDS = 5 * 60

bp = Blueprint("auth", __name__, template_folder="templates")


#: Where a role lands after logging in when no page was asked for (`next`): a project leader's daily
#: work is their own projects, not the finance dashboard every other role starts on.
LANDING = {"projectleider": "projects.mine"}


def landing_url(user) -> str:
    return url_for(LANDING.get(user.role, "reports.dashboard"))


def _safe_next(target: str | None, default: str) -> str:
    # Only same-site paths: an absolute or scheme-relative URL would be an open redirect.
    # Browsers read "\" as "/" and drop tabs and line breaks, so "/\evil" and "/<tab>/evil"
    # mean "//evil"; a CR or LF would also break the Location header. Printable ASCII only.
    if (not target or not target.startswith("/") or target.startswith("//") or "\\" in target
            or not target.isascii() or not target.isprintable() or " " in target):
        return default
    parts = urlsplit(target)
    if parts.netloc or parts.scheme:
        return default
    return target


def _login_account() -> str:
    return "login:" + normal_email(request.form.get("email"))


def _failed(response) -> bool:
    # Only refused attempts count, so colleagues behind one address can still log in.
    return response.status_code != 302


def printable(text: str) -> str:
    """No line breaks or control characters from user input in the log (log injection)."""
    return "".join(ch if ch.isprintable() else "?" for ch in text)[:254]


@bp.route("/login", methods=["GET", "POST"])
@limiter.limit("20 per minute", methods=["POST"], deduct_when=_failed)
@limiter.limit("5 per minute", key_func=_login_account, methods=["POST"], deduct_when=_failed)
def login():
    from core import sso  # here, not at the top: core.sso builds on this module

    if not current_app.config.get("LOCAL_LOGIN", True):
        # Passwords are off (LOCAL_LOGIN=0): only the ministry account signs in, whatever is posted.
        status = 403 if request.method == "POST" else 200
        return render_template("auth/login.html", form=None, sso=sso.enabled()), status
    form = LoginForm()
    if form.validate_on_submit():
        email = normal_email(form.email.data)
        user = authenticate(db.session, email, form.password.data)
        if user is not None:
            return complete_login_or_ask_code(user, request.args.get("next"))
        current_app.logger.warning("Mislukte inlog voor %r vanaf %s", printable(email), request.remote_addr)
        # One message for unknown user and wrong password: no account probing.
        form.password.errors.append(_("E-mailadres of wachtwoord is onjuist."))
    return render_template("auth/login.html", form=form, sso=sso.enabled()), (200 if not form.errors else 400)


def complete_login_or_ask_code(user: User, next_url: str | None, *, skip_code: bool = False,
                               keep: dict | None = None, via: str = "wachtwoord"):
    """The first factor held (a password, or the identity provider): log in, or ask the TOTP code first.

    `skip_code` when the identity provider vouched for a second factor itself; `keep` survives the
    fresh session (the provider's id token, for logout).
    """
    next_url = _safe_next(next_url, landing_url(user))
    # A fresh session at login: nothing from before the login carries over.
    session.clear()
    session.update({key: value for key, value in (keep or {}).items() if value})
    if user.needs_second_factor and not skip_code:
        session["pending"] = {"user": user.id, "at": _now(), "next": next_url, "via": via}
        return redirect(url_for("auth.second_factor" if user.totp_secret else "auth.enrol"))
    _complete_login(user, via)
    return redirect(next_url)


def _complete_login(user: User, via: str) -> None:
    session.pop("pending", None)
    login_user(user)
    session.permanent = True
    session["login_at"] = session["seen_at"] = _now()
    current_app.logger.info("Ingelogd (%s): gebruiker %s vanaf %s", via, user.id, request.remote_addr)


def _pending_user() -> User | None:
    """The user who gave a correct password in the last few minutes and still owes a code."""
    pending = session.get("pending")
    if not pending or _now() - pending.get("at", 0) > PENDING_SECONDS:
        session.pop("pending", None)
        return None
    user = db.session.get(User, pending["user"])
    return user if user is not None and user.active else None


def _pending_account() -> str:
    return "code:" + str((session.get("pending") or {}).get("user"))


def _code_step(secret: str, code: str) -> int | None:
    """The time step whose code this is (the current one or a neighbour, for clock drift), else None."""
    code = (code or "").replace(" ", "")
    if len(code) != 6 or not code.isascii() or not code.isdigit():
        return None
    totp = pyotp.TOTP(secret)
    current = int(_now()) // totp.interval
    for step in (current - 1, current, current + 1):
        if hmac.compare_digest(totp.generate_otp(step), code):
            return step
    return None


_WRONG_CODE = _l("Deze code klopt niet. Probeer de nieuwste code uit uw app.")
_USED_CODE = _l("Deze code is al gebruikt. Wacht op de volgende code in uw app.")


@bp.route("/login/code", methods=["GET", "POST"])
@limiter.limit("5 per minute", key_func=_pending_account, methods=["POST"], deduct_when=_failed)
def second_factor():
    user = _pending_user()
    if user is None or not user.totp_secret:
        return redirect(url_for("auth.login"))
    form = CodeForm()
    if form.validate_on_submit():
        step = _code_step(user.totp_secret, form.code.data)
        if step is not None and use_totp_step(db.session, user, step):
            db.session.commit()
            pending = session["pending"]
            _complete_login(user, pending.get("via", "wachtwoord"))
            return redirect(pending["next"])
        db.session.rollback()
        current_app.logger.warning("%s tweede-factorcode voor gebruiker %s vanaf %s",
                                   "Onjuiste" if step is None else "Hergebruikte", user.id, request.remote_addr)
        form.code.errors.append(str(_WRONG_CODE if step is None else _USED_CODE))
    return render_template("auth/code.html", form=form), (200 if not form.errors else 400)


@bp.route("/login/koppelen", methods=["GET", "POST"])
@limiter.limit("5 per minute", key_func=_pending_account, methods=["POST"], deduct_when=_failed)
def enrol():
    """First login of an account that must use two factors: link an authenticator app."""
    user = _pending_user()
    if user is None:
        return redirect(url_for("auth.login"))
    if user.totp_secret:
        return redirect(url_for("auth.second_factor"))
    secret = _enrolment_secret(user)
    form = CodeForm()
    if form.validate_on_submit():
        step = _code_step(secret, form.code.data)
        if step is not None:
            pending = session["pending"]
            enable_totp(db.session, user, secret, step)
            db.session.commit()
            _complete_login(user, pending.get("via", "wachtwoord"))
            flash(_("Tweestapsverificatie is ingesteld."), "info")
            return redirect(pending["next"])
        form.code.errors.append(str(_WRONG_CODE))
    return _enrol_page(form, user, secret)


def _enrolment_secret(user: User) -> str:
    """The secret to link an app to, kept on the user row until the enrolment ends."""
    had_one = bool(user.totp_pending_secret)
    secret = pending_totp_secret(user, pyotp.random_base32)
    if not had_one:
        db.session.commit()
    return secret


def _enrol_page(form, user: User, secret: str):
    uri = pyotp.TOTP(secret).provisioning_uri(name=user.email, issuer_name="Programmamonitor")
    qr = segno.make(uri, error="m").svg_data_uri(scale=5)
    return render_template("auth/enrol.html", form=form, qr=qr, secret=secret), (200 if not form.errors else 400)


@bp.route("/account/tweestapsverificatie", methods=["GET", "POST"])
@limiter.limit("5 per minute", methods=["POST"], deduct_when=_failed)
def account_two_factor():
    """Any signed-in user may add the second factor to the account (beheerders have it already)."""
    if not current_user.is_authenticated:
        return login_manager.unauthorized()
    if current_user.totp_secret:
        return render_template("auth/enrol.html", form=None, qr=None, secret=None, done=True)
    user = db.session.get(User, current_user.id)
    secret = _enrolment_secret(user)
    form = CodeForm()
    if form.validate_on_submit():
        step = _code_step(secret, form.code.data)
        if step is not None:
            enable_totp(db.session, user, secret, step)
            db.session.commit()
            flash(_("Tweestapsverificatie is ingesteld."), "info")
            return redirect(url_for("reports.dashboard"))
        form.code.errors.append(str(_WRONG_CODE))
    return _enrol_page(form, user, secret)


def end_session(message: str) -> None:
    """Log out here and everywhere: rotating the token invalidates every copy of the cookie."""
    if current_user.is_authenticated:
        user = db.session.get(User, current_user.id)
        user.session_token = new_session_token()
        end_totp_enrolment(user)
        db.session.commit()
    logout_user()
    session.clear()
    flash(message, "info")


@bp.route("/logout", methods=["POST"])
def logout():
    from core import sso  # as in login()

    # Read before the session ends: signed in through the provider, the provider's session ends too.
    provider_logout = sso.logout_url()
    end_session(_("U bent uitgelogd."))
    return redirect(provider_logout or url_for("auth.login"))


@bp.before_app_request
def _enforce_session_lifetime():
    if request.path.startswith("/api/") or not current_user.is_authenticated:
        return None  # the API has no session: a token stands for its user (api.auth)
    now = _now()
    login_at, seen_at = session.get("login_at", 0), session.get("seen_at", 0)
    if now - login_at > ABSOLUTE_SECONDS or now - seen_at > IDLE_SECONDS:
        end_session(_("Uw sessie is verlopen. Log opnieuw in."))
        return redirect(url_for("auth.login", next=request.full_path if request.method == "GET" else None))
    session["seen_at"] = now
    return None
