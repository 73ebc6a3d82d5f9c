"""Round pages: open a reporting round, follow who has updated, remind, change and close it."""
from __future__ import annotations

from datetime import date

from flask import Blueprint, abort, flash, redirect, render_template, request, url_for
from flask_babel import gettext as _
from flask_babel import ngettext
from flask_login import current_user

from core import unit
from core.auth import role_required
from core.db import db
from core.errors import DomainError
from core.users import FINANCE_ROLES
from core.web import current_programme
from projects.models import RAG
from reports.services import diff_snapshots
from rounds import reminders, rules, services
from rounds.forms import CloseRoundForm, EditRoundForm, OpenRoundForm, RemindForm
from rounds.models import MAIL_KINDS, MAIL_STATES, ReportingRound

bp = Blueprint("rounds", __name__, template_folder="templates")


@bp.context_processor
def _labels():
    return {"MAIL_KINDS": MAIL_KINDS, "MAIL_STATES": MAIL_STATES, "PROGRESS": rules.PROGRESS, "RAG": RAG}


def _round_or_404(round_id: int) -> ReportingRound:
    programme = current_programme() or abort(404)
    try:
        return services.get_round(db.session, round_id, programme)
    except DomainError:
        abort(404)


def _round_url(rnd: ReportingRound) -> str:
    return url_for("rounds.detail", round_id=rnd.id)


@bp.route("/rondes", methods=["GET", "POST"])
@role_required(*FINANCE_ROLES)
def index():
    programme = current_programme() or abort(404)
    current = services.open_round_of(db.session, programme)
    # A post while a round runs still goes through the form: a repeat of the post that opened it
    # leads to that round, a new one is refused with the reason.
    form = OpenRoundForm() if current is None or request.method == "POST" else None
    status = 200
    if form is not None:
        opened = []

        def action():
            rnd = services.open_round(db.session, current_user, programme, {**form.values(),
                                      "peildatum": form.peildatum.data}, form.codes())
            opened.append(rnd)
            return rnd

        done = unit.submit(form, action, lambda rnd: _("De ronde %(title)s is geopend.", title=rnd.title), _round_url,
                           field_map={"through": "peildatum"})
        if done:
            if opened:
                _send_and_tell(opened[0])
            return done
        status = 400 if form.errors else 200
    return render_template("rounds/index.html", programme=programme, current=current, form=form,
                           rounds=services.list_rounds(db.session, programme),
                           mail_on=services.mail_settings() is not None), status


def _send_and_tell(rnd: ReportingRound) -> None:
    """Send what is due for the round now (the invitations at opening) and say how it went."""
    settings = services.mail_settings()
    if settings is None:
        flash(_("E-mail staat uit: de projectleiders krijgen geen uitnodiging. Laat ze zelf weten dat er een "
                "ronde loopt."), "info")
        return
    done = reminders.send_due(db.session, settings, round_id=rnd.id)
    if done.sent:
        flash(ngettext("%(num)d uitnodiging verstuurd.", "%(num)d uitnodigingen verstuurd.", len(done.sent)),
              "success")
    if done.failed:
        flash(ngettext("%(num)d mail kon niet worden verstuurd; die wordt automatisch opnieuw geprobeerd.",
                       "%(num)d mails konden niet worden verstuurd; ze worden automatisch opnieuw geprobeerd.",
                       len(done.failed)), "error")


@bp.route("/rondes/<int:round_id>")
@role_required(*FINANCE_ROLES)
def detail(round_id: int):
    return _detail_page(_round_or_404(round_id))


def _detail_page(rnd: ReportingRound, edit_form=None, close_form=None, status: int = 200):
    today = date.today()
    if rnd.is_open:
        edit_form = edit_form or EditRoundForm(obj=rnd)
        close_form = close_form or CloseRoundForm()
    previous = services.previous_closed(db.session, rnd) if not rnd.is_open else None
    changes = None
    if previous is not None:
        try:
            changes = diff_snapshots(previous.snapshot, rnd.snapshot, rnd.peildatum.year)
        except DomainError:
            changes = None  # a damaged snapshot: its own page says so
    return render_template("rounds/detail.html", programme=rnd.programme, rnd=rnd,
                           board=services.board(db.session, rnd, today), today=today, edit_form=edit_form,
                           close_form=close_form, remind_form=RemindForm(), previous=previous, changes=changes,
                           mail_on=services.mail_settings() is not None), status


@bp.route("/rondes/<int:round_id>/wijzigen", methods=["POST"])
@role_required(*FINANCE_ROLES)
def edit(round_id: int):
    rnd = _round_or_404(round_id)
    form = EditRoundForm()
    done = unit.submit(form, lambda: services.update_round(db.session, current_user, rnd, form.values()),
                       _("De ronde is opgeslagen."), _round_url(rnd), edited=rnd)
    return done or _detail_page(rnd, edit_form=form, status=400)


@bp.route("/rondes/<int:round_id>/herinneren", methods=["POST"])
@role_required(*FINANCE_ROLES)
def remind(round_id: int):
    rnd = _round_or_404(round_id)
    form = RemindForm()
    if not form.validate_on_submit() or not str(form.user_id.data).isdigit():
        abort(400)
    try:
        mail = reminders.remind_now(db.session, services.mail_settings(), current_user, rnd, int(form.user_id.data))
    except DomainError as exc:
        db.session.rollback()
        flash(exc.message, "error")
    else:
        if mail.state == "verzonden":
            flash(_("Herinnering verstuurd aan %(name)s.", name=mail.user.name), "success")
        else:
            flash(_("De herinnering aan %(name)s kon niet worden verstuurd; die wordt automatisch opnieuw "
                    "geprobeerd.", name=mail.user.name), "error")
    return redirect(_round_url(rnd) + "#mensen")


@bp.route("/rondes/<int:round_id>/afsluiten", methods=["POST"])
@role_required(*FINANCE_ROLES)
def close(round_id: int):
    rnd = _round_or_404(round_id)
    form = CloseRoundForm()
    done = unit.submit(form, lambda: services.close_round(db.session, current_user, rnd, form.close_period.data,
                                                          form.allow_missing.data),
                       _("De ronde is afgesloten en de stand is vastgelegd."), _round_url(rnd),
                       field_map={"through": "close_period", "peildatum": "close_period", "title": "close_period"})
    return done or _detail_page(rnd, close_form=form, status=400)
