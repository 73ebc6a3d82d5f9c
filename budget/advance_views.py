"""Budget page for subsidies after the grant: open advances, grants to settle, terugvorderingen, and the term."""
from __future__ import annotations

from datetime import date

from flask import render_template, url_for
from flask_babel import gettext as _
from flask_login import current_user

from budget import services
from budget.advances import open_advances, recoveries, to_settle
from budget.forms import SettlementTermForm
from budget.views import bp, current_or_404, finance_only
from core import unit
from core.db import db
from projects.models import CATEGORIES


def _page(programme, form):
    today = date.today()
    return render_template("budget/advances.html", programme=programme, form=form, today=today,
                           advances=open_advances(db.session, programme.id, None),
                           due=to_settle(db.session, programme, today),
                           recoveries=recoveries(db.session, programme.id, None), categories=CATEGORIES
                           ), 400 if form.errors else 200


@bp.route("/voorschotten")
@finance_only
def advances():
    programme = current_or_404()
    form = SettlementTermForm(formdata=None, months=programme.settlement_months)
    return _page(programme, form)


@bp.route("/voorschotten/termijn", methods=["POST"])
@finance_only
def settlement_term():
    programme = current_or_404()
    form = SettlementTermForm()
    if form.validate_on_submit():
        done = unit.save(form, lambda: services.set_settlement_term(db.session, current_user, programme,
                                                                    form.months.data),
                         _("Termijn voor de vaststelling opgeslagen."), url_for("budget.advances") + "#termijn")
        if done:
            return done
    return _page(programme, form)
