"""One way to commit a unit of work, from a page or the CLI: take the lock, run the services, commit or explain."""
from __future__ import annotations

import logging
from collections.abc import Callable

import click
from flask import flash, redirect
from flask_babel import gettext as _
from flask_login import current_user
from sqlalchemy.exc import IntegrityError, OperationalError

from core import once
from core.db import db
from core.errors import DomainError
from core.forms import apply_domain_error, check_version
from core.locking import is_busy, serialise

logger = logging.getLogger(__name__)


def save(form, action: Callable, success: str | Callable, next_url: str | Callable, *,
         edited=None, field_map: dict | None = None, on_refusal: Callable | None = None):
    """Run `action` (services that flush, never commit) as one transaction for a submitted form.

    Returns a redirect when it was saved, or when this very form was saved before (a double
    click, a reload, the back button: nothing is booked again); returns None when the form
    must be shown again with the refusal on it. `success` and `next_url` may be callables
    that take what `action` returned. `edited`: the record an edit form changes; its version is
    compared with the form's under the lock, so a colleague's save a moment earlier is never
    overwritten (409). `on_refusal(exc)` adds more to the form (e.g. per year).
    """
    session = db.session
    token = form.form_token.data if "form_token" in form else None
    user_id = getattr(current_user, "id", None)
    try:
        # The whole unit is one serialised step: the token's look-up and the rules see every
        # earlier write, and no other write lands before this one commits (core.locking).
        serialise(session)
        if edited is not None:
            check_version(edited, form)
        if token is not None:
            earlier = once.claim(session, token, user_id)
            if earlier is not None:
                session.rollback()
                return _repeat(form, earlier, user_id)
        result = action()
        url = next_url(result) if callable(next_url) else next_url
        if token is not None:
            once.done(session, token, url)
        session.commit()
    except DomainError as exc:
        session.rollback()
        apply_domain_error(form, exc, field_map)
        if on_refusal is not None:
            on_refusal(exc)
        return None
    except IntegrityError:
        # Under the write lock the rules and the token's look-up already refuse duplicates; this
        # is the database's last word (a key taken by a write that skipped the lock).
        session.rollback()
        earlier = once.used(session, token) if token is not None else None
        if earlier is not None:
            return _repeat(form, earlier, user_id)
        _form_error(form, _("Iemand anders heeft zojuist hetzelfde opgeslagen. Controleer het overzicht; "
                            "er is niets dubbel geboekt."))
        return None
    _confirm(result, success)
    return redirect(url)


def _confirm(result, success) -> None:
    """The confirmation at the top of the next page; an entry that waits for approval says so instead."""
    waiting = getattr(result, "pending_message", None)
    if waiting:
        flash(waiting, "info")
    else:
        flash(success(result) if callable(success) else success, "success")


def submit(form, action: Callable, success: str | Callable, next_url: str | Callable, **options):
    """save() a submitted form whose fields are valid; for one whose fields are not, check() the rules too.

    So a user sees every error in one go: the fields' own (a date that is no date) beside the
    rules' (a code that is taken), instead of the rules' only after the fields are put right.
    """
    if form.validate_on_submit():
        return save(form, action, success, next_url, **options)
    if form.is_submitted():
        check(form, action, field_map=options.get("field_map"), on_refusal=options.get("on_refusal"))
    return None


def check(form, action: Callable, *, field_map: dict | None = None, on_refusal: Callable | None = None) -> None:
    """Run `action` on a form that its own validators refused, only to add the rules' errors; nothing is kept.

    The unit is always rolled back (and no form token is claimed). Fields that already have an
    error keep only theirs: the rules would say the same thing about them again.
    """
    session = db.session
    flagged = {name for name, errors in form.errors.items() if name and errors}
    try:
        serialise(session)
        action()
    except DomainError as exc:
        apply_domain_error(form, exc, field_map, skip=flagged)
        if on_refusal is not None:
            on_refusal(exc)
    except Exception:
        # Fields that could not be read reach the services as None; what a service makes of that
        # beyond a DomainError says nothing new to the user, who already sees those fields marked.
        logger.debug("Controle van een formulier met veldfouten gestopt", exc_info=True)
    finally:
        session.rollback()


def _repeat(form, earlier: once.FormSubmission, user_id):
    if earlier.user_id != user_id or not earlier.location:
        _form_error(form, _("Dit formulier is al gebruikt. Open het opnieuw en vul het nog eens in."))
        return None
    flash(_("Dit formulier was al verwerkt; er is niets opnieuw geboekt. Hieronder ziet u wat er is "
            "opgeslagen."), "info")
    return redirect(earlier.location)


def _form_error(form, message: str) -> None:
    form.form_errors.append(message)
    # form.errors is cached by WTForms; reset so the summary includes the new message.
    form._errors = None


def run(action: Callable, success: str, next_url: str, refused: Callable[[str], str] = str):
    """A page action without a form to show again (delete, (de)activate): saved, or refused as a notice.

    `refused(message)` words the notice, e.g. "Niet verwijderd: ...".
    """
    session = db.session
    try:
        serialise(session)
        result = action()
        session.commit()
    except DomainError as exc:
        session.rollback()
        flash(refused(exc.message), "error")
    else:
        _confirm(result, success)
    return redirect(next_url)


def mark(action: Callable):
    """A read that leaves a mark (a downloaded report records the audit head): run and committed.

    Without the write lock: the mark names an entry that exists and takes part in no rule.
    """
    try:
        result = action()
        db.session.commit()
    except BaseException:
        db.session.rollback()
        raise
    return result


def in_cli(action: Callable):
    """A CLI command's unit of work: committed, or a Dutch message and exit code 1 with nothing written."""
    session = db.session
    try:
        serialise(session)
        result = action()
        session.commit()
    except DomainError as exc:
        session.rollback()
        raise click.ClickException(exc.message) from None
    except OperationalError as exc:
        session.rollback()
        if is_busy(exc):
            raise click.ClickException("Er wordt op dit moment lang iets anders opgeslagen; er is niets "
                                       "gewijzigd. Probeer het opnieuw.") from None
        raise
    except BaseException:
        session.rollback()
        raise
    return result
