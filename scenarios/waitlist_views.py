"""The waiting list pages: rank the proposals, set what each asks per year, and take one into a scenario."""
from __future__ import annotations

from datetime import date

from flask import abort, flash, redirect, render_template, request, url_for
from flask_babel import gettext as _
from flask_babel import lazy_gettext as _l
from flask_login import current_user
from flask_wtf import FlaskForm
from wtforms import HiddenField, SelectField

from budget.forms import with_years, year_amounts, year_key
from budget.ledger import programme_years
from core import unit
from core.db import db
from core.errors import ValidationError
from core.once import OnceTokenField
from core.params import parse_id
from core.web import current_programme
from projects.forms import choices
from projects.models import Project
from scenarios import services, waitlist
from scenarios.models import READINESS
from scenarios.views import bp


class OrderForm(FlaskForm):
    form_token = OnceTokenField()
    shown = HiddenField()


class RequestForm(FlaskForm):
    form_token = OnceTokenField()
    readiness = SelectField(_l("Gereedheid"), choices=choices([("", _l("— onbekend —")), *READINESS.items()]))


def _priorities(form_data) -> dict[int, int | None]:
    """prioriteit-<project id> fields: a whole number, or empty for unranked (anything else is refused)."""
    found = {}
    for key, value in form_data.items():
        pid = parse_id(key.removeprefix("prioriteit-")) if key.startswith("prioriteit-") else None
        if pid is None:
            continue
        value = value.strip()
        if value and not (value.isascii() and value.isdigit()):
            raise ValidationError(_("Een prioriteit is een geheel getal van 1 tot %(max)s (of leeg).",
                                    max=waitlist.MAX_PRIORITY))
        found[pid] = int(value) if value else None
    return found


@bp.route("/wachtlijst", methods=["GET", "POST"])
def waiting():
    programme = current_programme() or abort(404)
    form = OrderForm()
    if form.validate_on_submit():
        def action():
            return waitlist.set_priorities(db.session, current_user, programme, _priorities(request.form),
                                           form.shown.data)
        if done := unit.save(form, action, lambda n: _("Volgorde opgeslagen (%(n)s verschoven).", n=n),
                             url_for("scenarios.waiting")):
            return done
    rows = waitlist.waiting_list(db.session, programme)
    form.shown.data = waitlist.stamp(rows)
    return render_template("scenarios/waiting.html", programme=programme, rows=rows, form=form,
                           today=date.today(), READINESS=READINESS,
                           concepts=[s for s in services.list_scenarios(db.session, programme)
                                     if s.state == "concept"]), (400 if form.errors else 200)


@bp.route("/wachtlijst/<int:project_id>", methods=["GET", "POST"])
def waiting_request(project_id: int):
    project = db.session.get(Project, project_id) or abort(404)
    form = with_years(RequestForm, programme_years(db.session, project.programme))()
    proposal = db.session.get(waitlist.Proposal, project.id)
    if request.method == "GET" and proposal is not None:
        form.readiness.data = proposal.readiness
        for year in proposal.years:
            if year_key(year.year) in form:
                form[year_key(year.year)].data = year.amount
    back = url_for("scenarios.waiting")
    done = unit.submit(form, lambda: waitlist.set_request(db.session, current_user, project, form.readiness.data,
                                                          year_amounts(form)),
                       _("Aanvraag van %(code)s opgeslagen.", code=project.code), back)
    if done:
        return done
    return render_template("scenarios/waiting_request.html", project=project, form=form,
                           back=back), (400 if form.errors else 200)


@bp.route("/wachtlijst/financieren")
def fund():
    """From the waiting list into a scenario: its entry form for this proposal, filled with its request."""
    scenario_id, project_id = parse_id(request.args.get("scenario")), parse_id(request.args.get("project"))
    if scenario_id is None or project_id is None:
        flash(_("Kies een scenario."), "error")
        return redirect(url_for("scenarios.waiting"))
    return redirect(url_for("scenarios.entry_new", scenario_id=scenario_id, kind="commitment", project=project_id))
