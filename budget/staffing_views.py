"""Budget pages for the staffing reservation and the staffing costs booked against it."""
from __future__ import annotations

from flask import abort, request
from flask_babel import gettext as _
from flask_login import current_user

from budget import queries, services
from budget.forms import StaffingCostForm, StaffingForm
from budget.models import StaffingCost, StaffingReservation
from budget.views import (
    bp,
    confirmed_delete,
    current_or_404,
    finance_only,
    form_page,
    hide_override,
    index_url,
    override_reason,
    owned,
    save,
)
from core.db import db


def _staffing_cost(cost_id: int) -> StaffingCost:
    cost = db.session.get(StaffingCost, cost_id)
    if cost is None or cost.reservation.programme_id != current_or_404().id:
        abort(404)
    return cost


@bp.route("/budget/personeel/nieuw", methods=["GET", "POST"])
@bp.route("/budget/personeel/<int:reservation_id>", methods=["GET", "POST"])
@finance_only
def staffing_edit(reservation_id: int | None = None):
    programme = current_or_404()
    reservation = owned(StaffingReservation, reservation_id) if reservation_id else None
    form = StaffingForm(obj=reservation) if reservation and request.method == "GET" else StaffingForm()
    if reservation and request.method == "GET":
        form.fte.data = str(reservation.fte).replace(".", ",")
    hide_override(form)
    if reservation is None and request.method == "GET":
        form.year.data = queries.first_year_without_reservation(db.session, programme)
    if reservation is not None:
        # The year identifies the reservation; a different year is a different reservation.
        form.year.render_kw = {"readonly": True}
        form.year.data = reservation.year

    def action():
        args = dict(year=form.year.data, fte=form.fte.data, amount=form.amount.data,
                    override_reason=override_reason(form), valid_from=form.valid_from.data)
        if reservation is not None:
            return services.set_staffing_reservation(db.session, current_user, programme, **args)
        return services.add_staffing_reservation(db.session, current_user, programme, **args)
    # The version is compared under the write lock when it is saved (`edited`).
    if done := save(form, action, _("Reservering opgeslagen."), next_url=index_url("#personeel"),
                    edited=reservation):
        return done
    history = queries.staffing_history(db.session, programme.id, reservation.id) if reservation else []
    return form_page("budget/staffing_form.html", form, reservation=reservation, history=history)


@bp.route("/budget/personeel/<int:reservation_id>/kosten/nieuw", methods=["GET", "POST"])
@bp.route("/budget/personeelskosten/<int:cost_id>", methods=["GET", "POST"])
@finance_only
def cost_edit(reservation_id: int | None = None, cost_id: int | None = None):
    cost = _staffing_cost(cost_id) if cost_id else None
    reservation = cost.reservation if cost else owned(StaffingReservation, reservation_id)
    form = StaffingCostForm(obj=cost) if cost and request.method == "GET" else StaffingCostForm()
    if cost and request.method == "GET":
        form.cost_date.data = cost.date

    def action():
        args = dict(cost_date=form.cost_date.data, amount=form.amount.data,
                    description=form.description.data or "", reference=form.reference.data or "")
        if cost:
            services.update_staffing_cost(db.session, current_user, cost, **args)
        else:
            services.add_staffing_cost(db.session, current_user, reservation, **args)
    if done := save(form, action, _("Personeelskosten opgeslagen."), next_url=index_url("#personeel"),
                    edited=cost):
        return done
    return form_page("budget/cost_form.html", form, reservation=reservation, cost=cost)


@bp.route("/budget/personeel/<int:reservation_id>/verwijderen", methods=["POST"])
@finance_only
def staffing_delete(reservation_id: int):
    reservation = owned(StaffingReservation, reservation_id)
    return confirmed_delete(lambda: services.delete_staffing_reservation(db.session, current_user, reservation),
                            _("Reservering verwijderd."), index_url("#personeel"))


@bp.route("/budget/personeelskosten/<int:cost_id>/verwijderen", methods=["POST"])
@finance_only
def cost_delete(cost_id: int):
    cost = _staffing_cost(cost_id)
    return confirmed_delete(lambda: services.delete_staffing_cost(db.session, current_user, cost),
                            _("Personeelskosten verwijderd."), index_url("#personeel"))
