"""Budget pages on a project: commitments with their cash schedule, adjustments and payments."""
from __future__ import annotations

from datetime import date

from flask import abort, request, url_for
from flask_babel import gettext as _
from flask_login import current_user

from budget import queries, services
from budget.forms import (
    AdjustmentForm,
    CommitmentForm,
    ConfirmForm,
    PaymentForm,
    SettlementForm,
    with_years,
    year_amounts,
)
from budget.ledger import programme_years
from budget.models import Commitment
from budget.views import (
    at_top,
    bp,
    confirmed_delete,
    finance_only,
    form_page,
    hide_override,
    override_reason,
    save,
)
from core import unit
from core.db import db
from core.sections import add_project_section, provide_project_money
from projects.models import Project


def project_url(project) -> str:
    return url_for("projects.detail", project_id=project.id) + "#geld"


def _commitment(commitment_id: int) -> Commitment:
    commitment = db.session.get(Commitment, commitment_id)
    if commitment is None:
        abort(404)
    return commitment


def _project(project_id: int) -> Project:
    project = db.session.get(Project, project_id)
    if project is None:
        abort(404)
    return project


@bp.route("/projecten/<int:project_id>/verplichtingen/nieuw", methods=["GET", "POST"])
@finance_only
def commitment_new(project_id: int):
    project = _project(project_id)
    years = programme_years(db.session, project.programme)
    form = with_years(CommitmentForm, years)()
    hide_override(form)

    def action():
        return services.add_commitment(db.session, current_user, project, reference=form.reference.data,
                                       signed_date=form.signed_date.data, total=form.total.data,
                                       schedule=year_amounts(form), description=form.description.data or "",
                                       override_reason=override_reason(form))
    if done := save(form, action, _("Verplichting vastgelegd."), year_field=True, next_url=project_url(project)):
        return done
    return form_page("budget/commitment_form.html", form, project=project, back=project_url(project))


@bp.route("/verplichtingen/<int:commitment_id>/bijstelling", methods=["GET", "POST"])
@finance_only
def commitment_adjust(commitment_id: int):
    commitment = _commitment(commitment_id)
    project = commitment.project
    current = services.commitment_year_amounts(db.session, commitment.id)
    years = sorted(set(programme_years(db.session, project.programme)) | set(current))
    form = with_years(AdjustmentForm, years, allow_negative=True)()
    hide_override(form)
    if request.method == "GET":
        form.adjustment_date.data = date.today()

    def action():
        return services.adjust_commitment(db.session, current_user, commitment,
                                          adjustment_date=form.adjustment_date.data, changes=year_amounts(form),
                                          reason=form.reason.data, reference=form.reference.data or "",
                                          override_reason=override_reason(form))
    if done := save(form, action, _("Bijstelling vastgelegd."), year_field=True, next_url=project_url(project)):
        return done
    total, paid = services.commitment_totals(db.session, commitment.id)
    return form_page("budget/adjustment_form.html", form, project=project, commitment=commitment, current=current,
                 total=total, paid=paid, back=project_url(project))


@bp.route("/verplichtingen/<int:commitment_id>/betalingen/nieuw", methods=["GET", "POST"])
@finance_only
def payment_new(commitment_id: int):
    commitment = _commitment(commitment_id)
    project = commitment.project
    form = PaymentForm()
    if request.method == "GET":
        form.payment_date.data = date.today()
        settled = services.settled_on(db.session, commitment.id)
        if settled is not None:
            # After the vaststelling only the refund or the final payment fits: propose the one that is due.
            form.kind.data = "terugbetaling" if settled.recovery else "eindbetaling"

    def action():
        return services.add_payment(db.session, current_user, commitment, payment_date=form.payment_date.data,
                                    amount=form.amount.data, kind=form.kind.data, reference=form.reference.data,
                                    description=form.description.data or "")
    if done := save(form, action, _("Betaling vastgelegd."), next_url=project_url(project)):
        return done
    total, paid = services.commitment_totals(db.session, commitment.id)
    return form_page("budget/payment_form.html", form, project=project, commitment=commitment, total=total,
                 paid=paid, back=project_url(project))


@bp.route("/verplichtingen/<int:commitment_id>/vaststelling", methods=["GET", "POST"])
@finance_only
def commitment_settle(commitment_id: int):
    commitment = _commitment(commitment_id)
    project = commitment.project
    form = SettlementForm()
    hide_override(form)
    if request.method == "GET":
        form.settlement_date.data = date.today()

    def action():
        return services.settle_commitment(db.session, current_user, commitment,
                                          settlement_date=form.settlement_date.data, amount=form.amount.data,
                                          reference=form.reference.data, note=form.note.data or "",
                                          recovery_due=form.recovery_due.data, override_reason=override_reason(form))
    if done := save(form, action, _("Vaststelling vastgelegd."), next_url=project_url(project)):
        return done
    return form_page("budget/settlement_form.html", form, project=project, commitment=commitment,
                     back=project_url(project), **queries.settlement_basis(db.session, commitment))


@bp.route("/verplichtingen/<int:commitment_id>/vaststelling/intrekken", methods=["POST"])
@finance_only
def settlement_withdraw(commitment_id: int):
    commitment = _commitment(commitment_id)
    if not ConfirmForm().validate_on_submit():
        abort(400)
    success, next_url = at_top(_("Vaststelling ingetrokken."), project_url(commitment.project))
    return unit.run(lambda: services.withdraw_settlement(db.session, current_user, commitment), success, next_url,
                    lambda reason: _("Niet ingetrokken: %(reason)s", reason=reason))


@bp.route("/verplichtingen/<int:commitment_id>/verwijderen", methods=["POST"])
@finance_only
def commitment_delete(commitment_id: int):
    commitment = _commitment(commitment_id)
    project = commitment.project
    return confirmed_delete(lambda: services.delete_commitment(db.session, current_user, commitment),
                            _("Verplichting verwijderd."), project_url(project))


# The money section of the project page: projects must not import budget, so budget adds it.
add_project_section("budget/_project_money.html", queries.project_money)
# ... and the committed and paid columns of the project list (projects.queries.project_list).
provide_project_money(queries.project_money_sums)
