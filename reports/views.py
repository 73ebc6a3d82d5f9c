"""Report pages: the programme overview per year (the dashboard grows from here)."""
from __future__ import annotations

from datetime import date

from flask import Blueprint, abort, render_template, request
from flask_login import login_required

from budget.ledger import programme_figures, programme_years
from core.db import db
from core.web import current_programme

bp = Blueprint("reports", __name__, template_folder="templates")


@bp.route("/")
@login_required
def dashboard():
    programme = current_programme()
    if programme is None:
        return render_template("reports/dashboard.html", programme=None, figures={})
    try:
        peildatum = date.fromisoformat(request.args["peildatum"]) if request.args.get("peildatum") else date.today()
    except ValueError:
        abort(400)
    years = programme_years(db.session, programme)
    figures = programme_figures(db.session, programme.id, peildatum, years)
    return render_template("reports/dashboard.html", programme=programme, figures=figures, peildatum=peildatum)
