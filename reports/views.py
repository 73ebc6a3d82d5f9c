"""Report pages: the programme overview per year (the web issue grows this into the dashboard)."""
from __future__ import annotations

from datetime import date

from flask import Blueprint, abort, render_template, request
from flask_login import login_required
from sqlalchemy import select

from budget.ledger import programme_figures, programme_years
from core.db import db
from projects.models import Programme

bp = Blueprint("reports", __name__, template_folder="templates")


@bp.route("/")
@login_required
def dashboard():
    programmes = db.session.scalars(select(Programme).order_by(Programme.code)).all()
    if not programmes:
        return render_template("reports/dashboard.html", programme=None, programmes=[], figures={})
    code = request.args.get("programma", programmes[0].code)
    programme = next((p for p in programmes if p.code == code), None)
    if programme is None:
        abort(404)
    try:
        peildatum = date.fromisoformat(request.args.get("peildatum", "")) if request.args.get("peildatum") else date.today()
    except ValueError:
        abort(400)
    years = programme_years(db.session, programme)
    figures = programme_figures(db.session, programme.id, peildatum, years)
    return render_template("reports/dashboard.html", programme=programme, programmes=programmes,
                           figures=figures, peildatum=peildatum)
