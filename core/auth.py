"""The web side of accounts: login/logout, session lifetime, login rate limits, role_required."""
from __future__ import annotations

import hmac
import time
from functools import wraps
from urllib.parse import urlsplit

from flask import Blueprint, abort, current_app, flash, redirect, render_template, request, session, url_for
from flask_babel import gettext as _
from flask_babel import lazy_gettext as _l
from flask_limiter import Limiter
from flask_limiter.util import get_remote_address
from flask_login import LoginManager, current_user, login_user, logout_user
from flask_wtf import FlaskForm
from sqlalchemy import func, select
from wtforms import EmailField, PasswordField
from wtforms.validators import DataRequired

from core.db import db
from core.users import User, new_session_token

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


bp = Blueprint("auth", __name__, template_folder="templates")


def _safe_next(target: str | None) -> str:
    # Only same-site paths: an absolute or scheme-relative URL would be an open redirect.
    if not target or urlsplit(target).netloc or urlsplit(target).scheme or not target.startswith("/"):
        return url_for("reports.dashboard")
    return target


def _login_account() -> str:
    return "login:" + (request.form.get("email") or "").strip().lower()


def _failed(response) -> bool:
    # Only refused attempts count, so colleagues behind one address can still log in.
    return response.status_code != 302


def _printable(text: str) -> str:
    """No line breaks or control characters from user input in the log (log injection)."""
    return "".join(ch if ch.isprintable() else "?" for ch in text)[:254]


@bp.route("/login", methods=["GET", "POST"])
@limiter.limit("20 per minute", methods=["POST"], deduct_when=_failed)
@limiter.limit("5 per minute", key_func=_login_account, methods=["POST"], deduct_when=_failed)
def login():
    form = LoginForm()
    if form.validate_on_submit():
        email = form.email.data.strip().lower()
        user = db.session.scalar(select(User).where(func.lower(User.email) == email))
        if user is not None and user.active and user.check_password(form.password.data):
            # A fresh session at login: nothing from before the login carries over.
            session.clear()
            login_user(user)
            session.permanent = True
            session["login_at"] = session["seen_at"] = _now()
            current_app.logger.info("Ingelogd: gebruiker %s vanaf %s", user.id, request.remote_addr)
            return redirect(_safe_next(request.args.get("next")))
        current_app.logger.warning("Mislukte inlog voor %r vanaf %s", _printable(email), request.remote_addr)
        # One message for unknown user and wrong password: no account probing.
        form.password.errors.append(_("E-mailadres of wachtwoord is onjuist."))
    return render_template("auth/login.html", form=form), (200 if not form.errors else 400)


def end_session(message: str) -> None:
    """Log out here and everywhere: rotating the token invalidates every copy of the cookie."""
    if current_user.is_authenticated:
        user = db.session.get(User, current_user.id)
        user.session_token = new_session_token()
        db.session.commit()
    logout_user()
    session.clear()
    flash(message, "info")


@bp.route("/logout", methods=["POST"])
def logout():
    end_session(_("U bent uitgelogd."))
    return redirect(url_for("auth.login"))


@bp.before_app_request
def _enforce_session_lifetime():
    if not current_user.is_authenticated:
        return None
    now = _now()
    login_at, seen_at = session.get("login_at", 0), session.get("seen_at", 0)
    if now - login_at > ABSOLUTE_SECONDS or now - seen_at > IDLE_SECONDS:
        end_session(_("Uw sessie is verlopen. Log opnieuw in."))
        return redirect(url_for("auth.login", next=request.full_path if request.method == "GET" else None))
    session["seen_at"] = now
    return None
