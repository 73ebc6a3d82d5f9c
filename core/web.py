"""Web plumbing shared by every blueprint: navigation, current programme, Dutch error pages."""
from __future__ import annotations

import secrets

from flask import Flask, abort, current_app, g, render_template, request, session
from flask_babel import lazy_gettext as _l
from flask_login import current_user
from sqlalchemy import select
from sqlalchemy.exc import DBAPIError
from sqlalchemy.orm.exc import StaleDataError
from werkzeug.exceptions import HTTPException

from core.db import db
from core.errors import StaleEdit
from core.locking import is_busy

#: (endpoint, label, roles) in menu order; items whose endpoint does not exist yet are hidden.
NAV = [
    ("reports.dashboard", _l("Overzicht"), None),
    ("projects.index", _l("Projecten"), None),
    ("projects.mine", _l("Mijn projecten"), ("projectleider",)),
    ("budget.index", _l("Budget"), ("beheerder", "financieel")),
    ("reports.index", _l("Rapportage"), None),
    ("scenarios.index", _l("Scenario's"), None),
    ("rounds.index", _l("Rapportageronde"), ("beheerder", "financieel")),
    ("approvals.index", _l("Ter goedkeuring"), ("beheerder", "financieel")),
    ("imports.index", _l("Import"), ("beheerder", "financieel")),
    ("projects.organisations", _l("Organisaties"), ("beheerder", "financieel")),
    ("audit.index", _l("Audittrail"), ("beheerder", "financieel")),
    ("users.index", _l("Gebruikers"), ("beheerder",)),
]


def current_programme():
    """The programme the user works on: ?programma=CODE, else the one remembered in the session.

    Returns None when there is no programme at all; 404 for an unknown code.
    """
    from projects.models import Programme

    if "programme" in g:
        return g.programme
    code = request.args.get("programma") or session.get("programma")
    programme = None
    if code:
        programme = db.session.scalar(select(Programme).where(Programme.code == code.upper()))
        if programme is None and request.args.get("programma"):
            abort(404)
    if programme is None:
        programme = db.session.scalar(select(Programme).order_by(Programme.code))
    if programme is not None:
        session["programma"] = programme.code
    g.programme = programme
    return programme


def _nav_items():
    if not current_user.is_authenticated:
        return []
    from flask import current_app

    return [(endpoint, label) for endpoint, label, roles in NAV
            if endpoint in current_app.view_functions and (roles is None or current_user.role in roles)]


def _programmes():
    from projects.models import Programme

    if not current_user.is_authenticated:
        return []
    return db.session.scalars(select(Programme).order_by(Programme.code)).all()


def init_app(app: Flask) -> None:
    @app.context_processor
    def _inject():
        # Computed here, not called from the template: a template never runs a query.
        if g.get("database_down") or not current_user.is_authenticated:
            return {"nav_items": [], "all_programmes": [], "chosen_programme": None}
        try:
            chosen = current_programme()
        except HTTPException:  # an unknown ?programma= while its 404 page is being shown
            chosen = None
        return {"nav_items": _nav_items(), "all_programmes": _programmes(), "chosen_programme": chosen}

    for code, title, text in (
        (400, _l("Ongeldig verzoek"), _l("Het verzoek kon niet worden verwerkt. Controleer de invoer.")),
        (403, _l("Geen toegang"), _l("U heeft geen toegang tot deze pagina.")),
        (404, _l("Niet gevonden"), _l("Deze pagina bestaat niet (meer).")),
        (405, _l("Niet toegestaan"), _l("Deze actie is op deze pagina niet mogelijk.")),
        (413, _l("Bestand te groot"), _l("Het bestand is groter dan toegestaan.")),
        (429, _l("Te veel pogingen"), _l("U heeft het te vaak geprobeerd. Wacht een minuut en probeer het opnieuw.")),
        (500, _l("Er ging iets mis"), _l("Er is een fout opgetreden. Probeer het later opnieuw.")),
    ):
        app.register_error_handler(code, _error_page(code, title, text))
    app.register_error_handler(DBAPIError, _database_unavailable)
    app.register_error_handler(StaleEdit, _stale_edit)
    app.register_error_handler(StaleDataError, _stale_edit)
    app.before_request(_enforce_policy)
    app.after_request(_security_headers)


def _enforce_policy():
    """Apply core.policy before any view: one table decides who may use which endpoint."""
    from core.auth import login_manager
    from core.policy import POLICY, decide
    from projects.models import Project

    if request.endpoint is None:
        return None  # no route matched: the 404/405 handlers answer
    if request.path.startswith("/api/"):
        from api.auth import enforce

        return enforce()  # tokens, not the session; the same POLICY table
    verdict = decide(request.endpoint, request.method, current_user, request.view_args or {},
                     lambda project_id: db.session.scalar(select(Project.owner_id).where(Project.id == project_id)))
    if verdict == "login":
        return login_manager.unauthorized()
    if verdict == "deny":
        if request.endpoint not in POLICY:
            current_app.logger.error("Endpoint %s staat niet in het toegangsbeleid; geweigerd.", request.endpoint)
        abort(403)
    return None


def _error_page(code: int, title, text):
    def handler(error):
        if request.path.startswith("/api/"):
            from api.problems import from_http

            return from_http(error)  # the API answers in problem details, never a page
        incident = None
        if code == 500:
            db.session.rollback()
            # The id links what the user reports to the traceback in the log; the page shows no detail.
            # It is the request's own id (core.logs), so every log line of this request carries it too.
            incident = g.get("request_id") or secrets.token_hex(6)
            original = getattr(error, "original_exception", None) or error
            current_app.logger.error("Incident %s bij %s %s", incident, request.method, request.path,
                                     exc_info=original)
        return render_template("errors/error.html", code=code, title=title, text=text, incident=incident), code

    return handler


def _stale_edit(error):
    """409: the record changed since the form was opened; show what it is now, overwrite nothing."""
    from core.audit import latest_entry
    from core.audit_labels import Namer, current_rows, entity_name, readable

    db.session.rollback()
    current = getattr(error, "current", {}) or {}
    entity = getattr(error, "what", "") or ""
    # What the colleague saved is the object's newest audit entry (same transaction as the save).
    last = latest_entry(db.session, entity, current.get("id")) if entity else None
    label = Namer(db.session, [last] if last else []).name(entity, current.get("id"), current) if entity else ""
    # Internal notes are for finance roles only, as on the project page.
    hide = () if getattr(current_user, "role", None) in ("beheerder", "financieel") \
        else ("internal_notes", "contact_person")
    change = readable(db.session, [last], hide)[0] if last else None
    return render_template("errors/conflict.html", label=label or entity_name(entity), change=change,
                           rows=current_rows(db.session, entity, current, hide)), 409


def _database_unavailable(error):
    """A lost database or a write lock held too long answers 503 in Dutch; nothing was written."""
    busy = is_busy(error)
    if not busy and not getattr(error, "connection_invalidated", False) and not _is_connection_error(error):
        raise error
    try:
        db.session.rollback()
    except DBAPIError:
        pass
    # The page must not ask the database who is logged in: render it as for a visitor.
    from core.auth import login_manager

    g._login_user = login_manager.anonymous_user()
    g.database_down = True
    if busy:
        current_app.logger.warning("Schrijfslot niet op tijd vrij bij %s %s", request.method, request.path)
        text = _l("Er werd tegelijk met u veel opgeslagen; uw wijziging is niet opgeslagen. "
                  "Probeer het opnieuw.")
        retry = "5"
    else:
        current_app.logger.error("Database niet bereikbaar: %s", type(error.orig).__name__)
        text = _l("De database is op dit moment niet bereikbaar. Probeer het over een paar minuten opnieuw.")
        retry = "60"
    if request.path.startswith("/api/"):
        from api.problems import problem

        return problem(503, str(text), headers={"Retry-After": retry})
    page = render_template("errors/error.html", code=503, title=_l("Tijdelijk niet beschikbaar"), text=text,
                           incident=None)
    return page, 503, {"Retry-After": retry}


def _is_connection_error(error) -> bool:
    from sqlalchemy.exc import InterfaceError, OperationalError

    if not isinstance(error, OperationalError | InterfaceError):
        return False
    text = str(error.orig).lower()
    # OperationalError also covers locked SQLite files and bad SQL on some drivers: only
    # connection failures are "unavailable"; anything else stays a 500 with an incident id.
    return any(marker in text for marker in (
        "connection", "could not connect", "unable to open database", "does not exist", "server closed",
        "timeout", "terminating"))


#: Scripts only from the app's own files (plotly.js and the chart loader are served by the app);
#: Plotly sets inline styles on its SVG, so styles may be inline, scripts never.
CSP = ("default-src 'self'; script-src 'self'; style-src 'self' 'unsafe-inline'; img-src 'self' data:; "
       "font-src 'self'; connect-src 'self'; object-src 'none'; base-uri 'none'; frame-ancestors 'none'; "
       "form-action 'self'")  # last, so core.sso can add the identity provider's origin


def _security_headers(response):
    headers = response.headers
    headers.setdefault("X-Content-Type-Options", "nosniff")
    headers.setdefault("Referrer-Policy", "same-origin")
    headers.setdefault("X-Frame-Options", "DENY")
    # Logout is a form whose answer may send the browser on to the identity provider's logout page;
    # browsers hold a form's redirects to form-action too.
    headers.setdefault("Content-Security-Policy", CSP + current_app.config.get("CSP_FORM_ACTION_EXTRA", ""))
    if request.is_secure:
        headers.setdefault("Strict-Transport-Security", "max-age=31536000; includeSubDomains")
    if current_user.is_authenticated and "Cache-Control" not in headers:
        # Signed-in pages hold budget data: never in a shared or browser cache.
        headers["Cache-Control"] = "no-store"
    return response
