"""Budget page for the closed period: close the books through a date, and (a beheerder) reopen them."""
from __future__ import annotations

from flask import render_template, url_for
from flask_babel import gettext as _
from flask_login import current_user

from budget import services
from budget.forms import ClosePeriodForm, ReopenPeriodForm
from budget.models import PERIOD_ACTIONS
from budget.views import bp, current_or_404, finance_only
from core import unit
from core.auth import role_required
from core.dates import datum_lang
from core.db import db


def _page(programme, close_form, reopen_form):
    history = services.period_history(db.session, programme.id)
    status = 400 if close_form.errors or (reopen_form is not None and reopen_form.errors) else 200
    return render_template("budget/periods.html", programme=programme, close_form=close_form,
                           reopen_form=reopen_form, history=history, actions=PERIOD_ACTIONS,
                           closed_through=history[0].through if history else None), status


def _reopen_form():
    return ReopenPeriodForm() if current_user.role == "beheerder" else None


@bp.route("/budget/perioden", methods=["GET", "POST"])
@finance_only
def periods():
    programme = current_or_404()
    form = ClosePeriodForm()
    if form.validate_on_submit():
        done = unit.save(form, lambda: services.close_period(db.session, current_user, programme, form.through.data),
                         lambda event: _("Periode afgesloten t/m %(day)s.", day=datum_lang(event.through)),
                         url_for("budget.periods"))
        if done:
            return done
    return _page(programme, form, _reopen_form())


@bp.route("/budget/perioden/heropenen", methods=["POST"])
@role_required("beheerder")
def period_reopen():
    programme = current_or_404()
    form = ReopenPeriodForm()
    if form.validate_on_submit():
        done = unit.save(form, lambda: services.reopen_period(db.session, current_user, programme,
                                                              form.reopen_through.data, form.reason.data),
                         _("Periode heropend."), url_for("budget.periods"), field_map={"through": "reopen_through"})
        if done:
            return done
    return _page(programme, ClosePeriodForm(formdata=None), form)
