"""Budget pages: funding, mutations, kasschuif, staffing, and commitments/payments of a project."""
from __future__ import annotations

from datetime import date
from decimal import Decimal

from flask import Blueprint, abort, flash, redirect, render_template, request, url_for
from flask_babel import gettext as _
from flask_login import current_user
from sqlalchemy import select
from sqlalchemy.orm.attributes import flag_modified

from budget import queries, services
from budget.forms import (
    AdjustmentForm,
    CommitmentForm,
    ConfirmForm,
    FundingSourceForm,
    KasschuifForm,
    MutationForm,
    PaymentForm,
    StaffingCostForm,
    StaffingForm,
    with_years,
    year_amounts,
    year_key,
)
from budget.ledger import programme_years
from budget.models import (
    FUNDING_KINDS,
    MUTATION_KINDS,
    MUTATION_MOMENTS,
    BudgetMutation,
    Commitment,
    FundingSource,
    StaffingCost,
    StaffingReservation,
)
from core import unit
from core.auth import role_required
from core.db import db
from core.errors import BudgetStopError, DomainError
from core.forms import check_version
from core.money import format_eur
from core.sections import add_project_section
from core.users import FINANCE_ROLES
from core.web import current_programme
from projects.models import Project

bp = Blueprint("budget", __name__, template_folder="templates")

ZERO = Decimal("0.00")
finance_only = role_required(*FINANCE_ROLES)


# --- helpers -------------------------------------------------------------------------------


def _programme():
    programme = current_programme()
    if programme is None:
        abort(404)
    return programme


def _owned(model, object_id: int):
    """An object of the current programme, else 404 (ids of another programme are not shown)."""
    obj = db.session.get(model, object_id)
    if obj is None or getattr(obj, "programme_id", None) != _programme().id:
        abort(404)
    return obj


def _commitment(commitment_id: int) -> Commitment:
    commitment = db.session.get(Commitment, commitment_id)
    if commitment is None:
        abort(404)
    return commitment


def _override_field(form) -> None:
    # Only a beheerder may break the budget stop; nobody else even sees the field.
    if current_user.role != "beheerder" and "override_reason" in form:
        del form.override_reason


def _override(form) -> str | None:
    return form.override_reason.data if "override_reason" in form else None


def _index(anchor: str) -> str:
    return url_for("budget.index") + anchor


def _project_url(project) -> str:
    return url_for("projects.detail", project_id=project.id) + "#geld"


def _save(form, action, success: str, field_map: dict | None = None, year_field: bool = False, *, next_url):
    """core.unit.save for a budget form: a budget stop also marks the years that fall short."""
    def on_refusal(exc):
        if year_field and isinstance(exc, BudgetStopError):
            for year, shortfall in exc.shortfalls.items():
                key = year_key(year)
                if key in form:
                    form[key].errors = list(form[key].errors) + [
                        _("tekort %(amount)s", amount=format_eur(shortfall))]
    return unit.save(form, action, success, next_url, field_map=field_map, on_refusal=on_refusal)


def _page(template: str, form, **context):
    return render_template(template, form=form, **context), (400 if form.errors else 200)


# --- overview ------------------------------------------------------------------------------


@bp.route("/budget")
@finance_only
def index():
    programme = current_programme()
    if programme is None:
        return render_template("budget/index.html", programme=None)
    return render_template(
        "budget/index.html", programme=programme, **queries.budget_overview(db.session, programme),
        funding_kinds=FUNDING_KINDS, mutation_kinds=MUTATION_KINDS, moments=MUTATION_MOMENTS,
        confirm=ConfirmForm())



# --- funding sources -----------------------------------------------------------------------


def _source_form(programme, source=None):
    years = programme_years(db.session, programme)
    if source is not None:
        years = sorted(set(years) | {a.year for a in source.allocations})
    cls = with_years(FundingSourceForm, years)
    form = cls(obj=source) if source is not None and request.method == "GET" else cls()
    if source is not None and request.method == "GET":
        for alloc in source.allocations:
            form[year_key(alloc.year)].data = alloc.amount
    _override_field(form)
    return form


@bp.route("/budget/bronnen/nieuw", methods=["GET", "POST"])
@finance_only
def source_new():
    programme = _programme()
    form = _source_form(programme)
    if form.validate_on_submit():
        def action():
            source = services.add_funding_source(db.session, current_user, programme, form.name.data,
                                                 form.kind.data, form.reference.data or "")
            services.set_allocations(db.session, current_user, source, form.amounts(), _override(form))
            # The yearly amounts are part of the source: changing them makes older forms stale too.
            flag_modified(source, "name")
        if done := _save(form, action, _("Financieringsbron toegevoegd."), {"year": "range_from"},
                         year_field=True, next_url=_index("#bronnen")):
            return done
    return _page("budget/source_form.html", form, programme=programme, source=None)


@bp.route("/budget/bronnen/<int:source_id>", methods=["GET", "POST"])
@finance_only
def source_edit(source_id: int):
    programme = _programme()
    source = _owned(FundingSource, source_id)
    form = _source_form(programme, source)
    if form.validate_on_submit():
        check_version(source, form)

        def action():
            services.update_funding_source(db.session, current_user, source, name=form.name.data,
                                           kind=form.kind.data, reference=form.reference.data or "")
            services.set_allocations(db.session, current_user, source, form.amounts(), _override(form))
            # The yearly amounts are part of the source: changing them makes older forms stale too.
            flag_modified(source, "name")
        if done := _save(form, action, _("Financieringsbron opgeslagen."), {"year": "range_from"},
                         year_field=True, next_url=_index("#bronnen")):
            return done
    return _page("budget/source_form.html", form, programme=programme, source=source)


# --- deletes (one pattern: POST, refusal as a flash message that says why) -------------------


def _delete(action, success: str, next_url: str):
    form = ConfirmForm()
    if not form.validate_on_submit():
        abort(400)
    try:
        action()
    except DomainError as exc:
        db.session.rollback()
        flash(_("Niet verwijderd: %(reason)s", reason=exc.message), "error")
    else:
        db.session.commit()
        flash(success, "success")
    return redirect(next_url)


@bp.route("/budget/bronnen/<int:source_id>/verwijderen", methods=["POST"])
@finance_only
def source_delete(source_id: int):
    source = _owned(FundingSource, source_id)
    return _delete(lambda: services.delete_funding_source(db.session, current_user, source),
                   _("Financieringsbron verwijderd."), _index("#bronnen"))


@bp.route("/budget/mutaties/<int:mutation_id>/verwijderen", methods=["POST"])
@finance_only
def mutation_delete(mutation_id: int):
    mutation = _owned(BudgetMutation, mutation_id)
    return _delete(lambda: services.delete_mutation(db.session, current_user, mutation),
                   _("Mutatie verwijderd."), _index("#mutaties"))


@bp.route("/budget/personeel/<int:reservation_id>/verwijderen", methods=["POST"])
@finance_only
def staffing_delete(reservation_id: int):
    reservation = _owned(StaffingReservation, reservation_id)
    return _delete(lambda: services.delete_staffing_reservation(db.session, current_user, reservation),
                   _("Reservering verwijderd."), _index("#personeel"))


@bp.route("/budget/personeelskosten/<int:cost_id>/verwijderen", methods=["POST"])
@finance_only
def cost_delete(cost_id: int):
    cost = _staffing_cost(cost_id)
    return _delete(lambda: services.delete_staffing_cost(db.session, current_user, cost),
                   _("Personeelskosten verwijderd."), _index("#personeel"))


# --- mutations and kasschuif ---------------------------------------------------------------


def _mutation_form(mutation=None):
    form = MutationForm(obj=mutation) if mutation is not None and request.method == "GET" else MutationForm()
    if mutation is None and request.method == "GET":
        form.date.data = date.today()
        form.year.data = date.today().year
    _override_field(form)
    return form


def _mutation_args(form) -> dict:
    return dict(year=form.year.data, amount=form.amount.data, kind=form.kind.data, moment=form.moment.data,
                reason=form.reason.data, mutation_date=form.date.data, reference=form.reference.data or "",
                override_reason=_override(form))


@bp.route("/budget/mutaties/nieuw", methods=["GET", "POST"])
@finance_only
def mutation_new():
    programme = _programme()
    form = _mutation_form()
    if form.validate_on_submit():
        if done := _save(form, lambda: services.add_mutation(db.session, current_user, programme,
                                                             **_mutation_args(form)),
                         _("Mutatie toegevoegd."), {"mutation_date": "date"}, next_url=_index("#mutaties")):
            return done
    return _page("budget/mutation_form.html", form, mutation=None)


@bp.route("/budget/mutaties/<int:mutation_id>", methods=["GET", "POST"])
@finance_only
def mutation_edit(mutation_id: int):
    mutation = _owned(BudgetMutation, mutation_id)
    if mutation.kasschuif_group:
        return redirect(url_for("budget.kasschuif_edit", group=mutation.kasschuif_group))
    form = _mutation_form(mutation)
    if form.validate_on_submit():
        check_version(mutation, form)
        if done := _save(form, lambda: services.update_mutation(db.session, current_user, mutation,
                                                                **_mutation_args(form)),
                         _("Mutatie opgeslagen."), {"mutation_date": "date"}, next_url=_index("#mutaties")):
            return done
    return _page("budget/mutation_form.html", form, mutation=mutation)


def _kasschuif_form(programme, rows=None):
    years = sorted(set(programme_years(db.session, programme)) | {r.year for r in rows or []})
    cls = with_years(KasschuifForm, years, allow_negative=True)
    form = cls(obj=rows[0]) if rows and request.method == "GET" else cls()
    if request.method == "GET":
        if rows:
            for row in rows:
                form[year_key(row.year)].data = row.amount
        else:
            form.date.data = date.today()
    _override_field(form)
    return form


def _kasschuif_args(form) -> dict:
    return dict(amounts=year_amounts(form), moment=form.moment.data, reason=form.reason.data,
                mutation_date=form.date.data, reference=form.reference.data or "",
                override_reason=_override(form))


@bp.route("/budget/kasschuif/nieuw", methods=["GET", "POST"])
@finance_only
def kasschuif_new():
    programme = _programme()
    form = _kasschuif_form(programme)
    if form.validate_on_submit():
        if done := _save(form, lambda: services.add_kasschuif(db.session, current_user, programme,
                                                              **_kasschuif_args(form)),
                         _("Kasschuif toegevoegd."), {"mutation_date": "date"}, year_field=True,
                         next_url=_index("#mutaties")):
            return done
    return _page("budget/kasschuif_form.html", form, group=None)


@bp.route("/budget/kasschuif/<group>", methods=["GET", "POST"])
@finance_only
def kasschuif_edit(group: str):
    programme = _programme()
    rows = services.kasschuif_rows(db.session, group)
    if not rows or rows[0].programme_id != programme.id:
        abort(404)
    form = _kasschuif_form(programme, rows)
    if form.validate_on_submit():
        check_version(rows[0], form)
        if done := _save(form, lambda: services.update_kasschuif(db.session, current_user, group,
                                                                 **_kasschuif_args(form)),
                         _("Kasschuif opgeslagen."), {"mutation_date": "date"}, year_field=True,
                         next_url=_index("#mutaties")):
            return done
    return _page("budget/kasschuif_form.html", form, group=group)


# --- staffing ------------------------------------------------------------------------------


def _staffing_cost(cost_id: int) -> StaffingCost:
    cost = db.session.get(StaffingCost, cost_id)
    if cost is None or cost.reservation.programme_id != _programme().id:
        abort(404)
    return cost


@bp.route("/budget/personeel/nieuw", methods=["GET", "POST"])
@bp.route("/budget/personeel/<int:reservation_id>", methods=["GET", "POST"])
@finance_only
def staffing_edit(reservation_id: int | None = None):
    programme = _programme()
    reservation = _owned(StaffingReservation, reservation_id) if reservation_id else None
    form = StaffingForm(obj=reservation) if reservation and request.method == "GET" else StaffingForm()
    if reservation and request.method == "GET":
        form.fte.data = str(reservation.fte).replace(".", ",")
    _override_field(form)
    if reservation is None and request.method == "GET":
        # Suggest the first programme year that has no reservation yet.
        taken = set(db.session.scalars(select(StaffingReservation.year)
                                       .where(StaffingReservation.programme_id == programme.id)))
        form.year.data = next((y for y in programme_years(db.session, programme) if y not in taken), None)
    if reservation is not None:
        # The year identifies the reservation; a different year is a different reservation.
        form.year.render_kw = {"readonly": True}
        form.year.data = reservation.year
    if form.validate_on_submit():
        if reservation is not None:
            check_version(reservation, form)
        exists = None if reservation else db.session.scalar(
            select(StaffingReservation.id).where(StaffingReservation.programme_id == programme.id,
                                                 StaffingReservation.year == form.year.data))
        if exists:
            form.year.errors.append(_("Er is al een reservering voor %(year)s; wijzig die.", year=form.year.data))
        elif done := _save(form, lambda: services.set_staffing_reservation(
                    db.session, current_user, programme, year=form.year.data, fte=form.fte.data,
                    amount=form.amount.data, override_reason=_override(form)),
                _("Reservering opgeslagen."), next_url=_index("#personeel")):
            return done
    return _page("budget/staffing_form.html", form, reservation=reservation)


@bp.route("/budget/personeel/<int:reservation_id>/kosten/nieuw", methods=["GET", "POST"])
@bp.route("/budget/personeelskosten/<int:cost_id>", methods=["GET", "POST"])
@finance_only
def cost_edit(reservation_id: int | None = None, cost_id: int | None = None):
    cost = _staffing_cost(cost_id) if cost_id else None
    reservation = cost.reservation if cost else _owned(StaffingReservation, reservation_id)
    form = StaffingCostForm(obj=cost) if cost and request.method == "GET" else StaffingCostForm()
    if cost and request.method == "GET":
        form.cost_date.data = cost.date
    if form.validate_on_submit():
        args = dict(cost_date=form.cost_date.data, amount=form.amount.data,
                    description=form.description.data or "", reference=form.reference.data or "")
        if cost:
            check_version(cost, form)

            def action():
                services.update_staffing_cost(db.session, current_user, cost, **args)
        else:
            def action():
                services.add_staffing_cost(db.session, current_user, reservation, **args)
        if done := _save(form, action, _("Personeelskosten opgeslagen."), next_url=_index("#personeel")):
            return done
    return _page("budget/cost_form.html", form, reservation=reservation, cost=cost)


# --- commitments and payments on a project --------------------------------------------------


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
    _override_field(form)
    if form.validate_on_submit():
        def action():
            services.add_commitment(db.session, current_user, project, reference=form.reference.data,
                                    signed_date=form.signed_date.data, total=form.total.data,
                                    schedule=year_amounts(form), description=form.description.data or "",
                                    override_reason=_override(form))
        if done := _save(form, action, _("Verplichting vastgelegd."), year_field=True, next_url=_project_url(project)):
            return done
    return _page("budget/commitment_form.html", form, project=project, back=_project_url(project))


@bp.route("/verplichtingen/<int:commitment_id>/bijstelling", methods=["GET", "POST"])
@finance_only
def commitment_adjust(commitment_id: int):
    commitment = _commitment(commitment_id)
    project = commitment.project
    current = services.commitment_year_amounts(db.session, commitment.id)
    years = sorted(set(programme_years(db.session, project.programme)) | set(current))
    form = with_years(AdjustmentForm, years, allow_negative=True)()
    _override_field(form)
    if request.method == "GET":
        form.adjustment_date.data = date.today()
    if form.validate_on_submit():
        def action():
            services.adjust_commitment(db.session, current_user, commitment,
                                       adjustment_date=form.adjustment_date.data, changes=year_amounts(form),
                                       reason=form.reason.data, reference=form.reference.data or "",
                                       override_reason=_override(form))
        if done := _save(form, action, _("Bijstelling vastgelegd."), year_field=True, next_url=_project_url(project)):
            return done
    total, paid = services.commitment_totals(db.session, commitment.id)
    return _page("budget/adjustment_form.html", form, project=project, commitment=commitment, current=current,
                 total=total, paid=paid, back=_project_url(project))


@bp.route("/verplichtingen/<int:commitment_id>/betalingen/nieuw", methods=["GET", "POST"])
@finance_only
def payment_new(commitment_id: int):
    commitment = _commitment(commitment_id)
    project = commitment.project
    form = PaymentForm()
    if request.method == "GET":
        form.payment_date.data = date.today()
    if form.validate_on_submit():
        def action():
            services.add_payment(db.session, current_user, commitment, payment_date=form.payment_date.data,
                                 amount=form.amount.data, kind=form.kind.data, reference=form.reference.data,
                                 description=form.description.data or "")
        if done := _save(form, action, _("Betaling vastgelegd."), next_url=_project_url(project)):
            return done
    total, paid = services.commitment_totals(db.session, commitment.id)
    return _page("budget/payment_form.html", form, project=project, commitment=commitment, total=total,
                 paid=paid, back=_project_url(project))


@bp.route("/verplichtingen/<int:commitment_id>/verwijderen", methods=["POST"])
@finance_only
def commitment_delete(commitment_id: int):
    commitment = _commitment(commitment_id)
    project = commitment.project
    return _delete(lambda: services.delete_commitment(db.session, current_user, commitment),
                   _("Verplichting verwijderd."), _project_url(project))


# The money section of the project page: projects must not import budget, so budget adds it.
add_project_section("budget/_project_money.html", queries.project_money)
