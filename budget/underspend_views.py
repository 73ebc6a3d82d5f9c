"""Budget page Onderuitputting: the expected year-end realisation per project, and the kasschuif it proposes."""
from __future__ import annotations

from datetime import date

from flask import abort, redirect, render_template, request, url_for
from flask_babel import gettext as _
from flask_login import current_user
from sqlalchemy import select

from budget.forms import ConfirmForm
from budget.ledger import programme_years
from budget.underspend import programme_forecast, proposed_shift
from budget.views import bp, current_or_404, finance_only
from core import unit
from core.db import db
from core.params import parse_id
from projects.models import Project
from scenarios.services import underspend_scenario


def _year(programme) -> int:
    """?jaar=, else the running year, else the programme's latest year before it (or its first)."""
    years = programme_years(db.session, programme)
    asked = parse_id(request.args.get("jaar"))
    if asked is not None:
        if asked not in years:
            abort(404)
        return asked
    today = date.today().year
    return today if today in years else max([y for y in years if y <= today] or years[:1])


@bp.route("/onderuitputting")
@finance_only
def underspend():
    programme = current_or_404()
    year = _year(programme)
    peildatum = min(date.today(), date(year, 12, 31))
    found = programme_forecast(db.session, programme, year, peildatum)
    projects = {p.id: p for p in db.session.scalars(
        select(Project).where(Project.id.in_([r.project_id for r in found.rows])))}
    moved = proposed_shift(db.session, found)
    return render_template("budget/underspend.html", programme=programme, found=found, projects=projects,
                           moved_total=sum(moved.values()), moved_count=len(moved),
                           can_shift=year + 1 in programme_years(db.session, programme), confirm=ConfirmForm())


@bp.post("/onderuitputting/scenario")
@finance_only
def underspend_to_scenario():
    programme = current_or_404()
    year = _year(programme)
    back = url_for("budget.underspend", jaar=year)
    if not ConfirmForm().validate_on_submit():
        return redirect(back)
    peildatum = min(date.today(), date(year, 12, 31))

    made = []

    def action():
        # The forecast again, under the write lock: what the page showed may have moved since.
        found = programme_forecast(db.session, programme, year, peildatum)
        made.append(underspend_scenario(db.session, current_user, programme, year, peildatum,
                                        proposed_shift(db.session, found)))
    response = unit.run(action, _("Conceptscenario met de voorgestelde kasschuif gemaakt; er is niets geboekt."),
                        back, lambda m: _("Geen scenario gemaakt: %(m)s", m=m))
    # Made: straight to the scenario (the confirmation goes with it); refused: back, with the reason.
    return redirect(url_for("scenarios.detail", scenario_id=made[0].id)) if made else response
