"""Approval pages: what waits for a second person (with its effect per year), approve or reject; the setting."""
from __future__ import annotations

from flask import Blueprint, abort, render_template, url_for
from flask_babel import gettext as _
from flask_login import current_user

from approvals import services
from approvals.forms import ApproveForm, RejectForm, SettingsForm
from approvals.models import KINDS, STATES, PendingEntry
from budget.ledger import programme_figures
from core import unit
from core.auth import role_required
from core.db import db
from core.errors import DomainError
from core.forms import check_version
from core.users import FINANCE_ROLES
from core.web import current_programme

bp = Blueprint("approvals", __name__, template_folder="templates")


@bp.context_processor
def _labels():
    return {"KINDS": KINDS, "STATES": STATES}


def _entry_or_404(entry_id: int) -> PendingEntry:
    programme = current_programme() or abort(404)
    try:
        return services.get_entry(db.session, entry_id, programme)
    except DomainError:
        abort(404)


def _effects(programme, entries: list[PendingEntry]) -> dict[int, list[tuple]]:
    """Per entry, per year: (year, change, free room now, free room after), from one figures query."""
    deltas = {entry.id: services.deltas_of(entry) for entry in entries}
    years = sorted({year for d in deltas.values() for year in d})
    figures = programme_figures(db.session, programme.id, None, years) if years else {}
    return {entry_id: [(y, d, figures[y].free, figures[y].free + d) for y, d in sorted(changes.items())]
            for entry_id, changes in deltas.items()}


@bp.route("/goedkeuring")
@role_required(*FINANCE_ROLES)
def index():
    return _page()


def _page(reject_forms: dict | None = None, status: int = 200):
    programme = current_programme() or abort(404)
    pending = services.list_pending(db.session, programme)
    reject_forms = reject_forms or {}
    forms = {entry.id: (ApproveForm(version=entry.version), reject_forms.get(entry.id) or RejectForm(
        version=entry.version)) for entry in pending}
    return render_template("approvals/index.html", programme=programme, pending=pending, forms=forms,
                           effects=_effects(programme, pending), totals=services.pending_totals(db.session, programme),
                           decided=services.list_decided(db.session, programme)), status


@bp.route("/goedkeuring/<int:entry_id>/goedkeuren", methods=["POST"])
@role_required(*FINANCE_ROLES)
def approve(entry_id: int):
    entry = _entry_or_404(entry_id)
    form = ApproveForm()
    if not form.validate_on_submit():
        abort(400)
    check_version(entry, form)
    return unit.run(lambda: services.approve(db.session, current_user, entry),
                    _("Goedgekeurd en vastgelegd: %(summary)s", summary=entry.summary), url_for("approvals.index"),
                    lambda reason: _("Niet goedgekeurd: %(reason)s", reason=reason))


@bp.route("/goedkeuring/<int:entry_id>/afwijzen", methods=["POST"])
@role_required(*FINANCE_ROLES)
def reject(entry_id: int):
    entry = _entry_or_404(entry_id)
    form = RejectForm()
    if not form.validate_on_submit():
        abort(400)
    check_version(entry, form)
    done = unit.save(form, lambda: services.reject(db.session, current_user, entry, form.reason.data),
                     _("Afgewezen: %(summary)s", summary=entry.summary), url_for("approvals.index"))
    return done or _page({entry.id: form}, 400)


@bp.route("/goedkeuring/instellingen", methods=["GET", "POST"])
@role_required("beheerder")
def settings():
    programme = current_programme() or abort(404)
    form = SettingsForm(obj=programme)
    done = unit.submit(form, lambda: services.set_four_eyes(db.session, current_user, programme,
                                                            form.four_eyes.data, form.approval_threshold.data,
                                                            form.four_eyes_payments.data),
                       _("De instelling vier ogen is opgeslagen."), url_for("approvals.settings"),
                       edited=programme, field_map={"threshold": "approval_threshold"})
    if done:
        return done
    return render_template("approvals/settings.html", programme=programme, form=form), 400 if form.errors else 200
