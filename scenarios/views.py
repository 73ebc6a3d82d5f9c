"""Scenario pages: the list, one scenario beside the base, its entries, adopting, and two scenarios compared."""
from __future__ import annotations

from datetime import date

from flask import (
    Blueprint,
    Response,
    abort,
    redirect,
    render_template,
    request,
    url_for,
)
from flask_babel import gettext as _
from flask_login import current_user
from sqlalchemy import select

from budget.forms import with_years, year_amounts, year_key
from budget.ledger import programme_years
from budget.models import Commitment
from core import unit
from core.db import db
from core.download import attachment
from core.errors import DomainError
from core.params import parse_id
from core.users import FINANCE_ROLES
from core.web import current_programme
from projects.forms import choices
from projects.models import CATEGORIES, LINES, STATUSES, Programme, Project
from scenarios import services
from scenarios.forms import ENTRY_FORMS, ActionForm, ScenarioForm
from scenarios.models import ENTRY_KINDS, STATES, Proposal
from scenarios.rules import STAFFING

bp = Blueprint("scenarios", __name__, template_folder="templates")
#: Projects an entry may fund: not finished, not turned down.
_FUNDABLE = ("voorstel", "in_behandeling", "toegekend", "in_uitvoering")


@bp.context_processor
def _labels():
    group_labels = {STAFFING: _("Ambtelijke ondersteuning JenV"), **CATEGORIES, **LINES}
    return {"ENTRY_KINDS": ENTRY_KINDS, "STATES": STATES, "group_labels": group_labels,
            "CATEGORIES_LABELS": CATEGORIES, "LINES_LABELS": LINES,
            "may_edit": current_user.is_authenticated and current_user.role in FINANCE_ROLES}


def _scenario(scenario_id: int):
    try:
        return services.get_scenario(db.session, scenario_id)
    except DomainError:
        abort(404)


@bp.route("/scenarios", methods=["GET", "POST"])
def index():
    programme = current_programme() or abort(404)
    form = ScenarioForm()
    if request.method == "POST":
        if current_user.role not in FINANCE_ROLES:
            abort(403)
        done = unit.submit(form, lambda: services.create_scenario(
            db.session, current_user, programme, form.name.data, form.description.data or ""),
            lambda s: _("Scenario '%(name)s' gemaakt. Voeg er posten aan toe.", name=s.name),
            lambda s: url_for("scenarios.detail", scenario_id=s.id))
        if done:
            return done
    return render_template("scenarios/index.html", programme=programme, form=form,
                           scenarios=services.list_scenarios(db.session, programme)), (400 if form.errors else 200)


@bp.route("/scenarios/<int:scenario_id>")
def detail(scenario_id: int):
    scenario = _scenario(scenario_id)
    comparison = services.compare(db.session, scenario) if scenario.state == "concept" else None
    return render_template("scenarios/detail.html", scenario=scenario, comparison=comparison, action=ActionForm(),
                           others=[s for s in services.list_scenarios(db.session, db.session.get(
                                       Programme, scenario.programme_id)) if s.id != scenario.id and s.state == "concept"])


def _entry_form(scenario, kind: str):
    cls, per_year, negative = ENTRY_FORMS[kind]
    programme = db.session.get(Programme, scenario.programme_id)
    if per_year:
        cls = with_years(cls, programme_years(db.session, programme), allow_negative=negative)
    form = cls()
    for name in ("override_reason", "version", "valid_from"):
        if name in form:
            delattr(form, name)
    if kind == "commitment":
        form.project_id.choices = choices(
            (p.id, f"{p.code} – {p.title} ({STATUSES[p.status]})") for p in db.session.scalars(
                select(Project).where(Project.programme_id == programme.id, Project.status.in_(_FUNDABLE))
                .order_by(Project.code)))
    if kind == "adjustment":
        form.commitment_id.choices = choices(
            (c.id, f"{c.reference} ({code})") for c, code in db.session.execute(
                select(Commitment, Project.code).join(Project).where(Project.programme_id == programme.id)
                .order_by(Commitment.reference)))
    return form


def _from_waiting_list(form, project_id: int | None) -> None:
    """Open the proposal form on a project from the waiting list, with what it asks per year as the schedule."""
    if project_id is None:
        return
    form.project_id.data = project_id
    proposal = db.session.get(Proposal, project_id)
    if proposal is not None and proposal.years:
        for year in proposal.years:
            if year_key(year.year) in form:
                form[year_key(year.year)].data = year.amount
        form.total.data = sum(y.amount for y in proposal.years)


def _fields(kind: str, form) -> dict:
    """The entry's fields for services.add_entry, from its form."""
    if kind == "commitment":
        return {"project": db.session.get(Project, form.project_id.data), "reference": form.reference.data,
                "signed_date": form.signed_date.data, "total": form.total.data, "schedule": year_amounts(form),
                "description": form.description.data or ""}
    if kind == "adjustment":
        return {"commitment": db.session.get(Commitment, form.commitment_id.data),
                "adjustment_date": form.adjustment_date.data, "changes": year_amounts(form),
                "reason": form.reason.data, "reference": form.reference.data or ""}
    if kind == "kasschuif":
        return {"amounts": year_amounts(form), "moment": form.moment.data, "reason": form.reason.data,
                "mutation_date": form.date.data, "reference": form.reference.data or ""}
    if kind == "mutation":
        return {"year": form.year.data, "amount": form.amount.data, "mutation_kind": form.kind.data,
                "moment": form.moment.data, "reason": form.reason.data, "mutation_date": form.date.data,
                "reference": form.reference.data or ""}
    return {"year": form.year.data, "fte": form.fte.data, "amount": form.amount.data}


@bp.route("/scenarios/<int:scenario_id>/posten/<kind>", methods=["GET", "POST"])
def entry_new(scenario_id: int, kind: str):
    scenario = _scenario(scenario_id)
    if kind not in ENTRY_FORMS:
        abort(404)
    form = _entry_form(scenario, kind)
    if kind == "commitment" and request.method == "GET":
        _from_waiting_list(form, parse_id(request.args.get("project")))
    back = url_for("scenarios.detail", scenario_id=scenario.id)
    done = unit.submit(form, lambda: services.add_entry(db.session, current_user, scenario, kind,
                                                        **_fields(kind, form)),
                       _("Post toegevoegd aan het scenario; er is niets geboekt."), back)
    if done:
        return done
    return render_template("scenarios/entry_form.html", scenario=scenario, form=form, kind=kind,
                           back=back), (400 if form.errors else 200)


@bp.post("/scenarios/<int:scenario_id>/posten/<int:entry_id>/verwijderen")
def entry_delete(scenario_id: int, entry_id: int):
    scenario = _scenario(scenario_id)
    back = url_for("scenarios.detail", scenario_id=scenario.id)
    if not ActionForm().validate_on_submit():
        return redirect(back)
    return unit.run(lambda: services.remove_entry(db.session, current_user, scenario, entry_id),
                    _("Post verwijderd uit het scenario."), back, lambda m: _("Niet verwijderd: %(m)s", m=m))


@bp.post("/scenarios/<int:scenario_id>/aannemen")
def adopt(scenario_id: int):
    scenario = _scenario(scenario_id)
    back = url_for("scenarios.detail", scenario_id=scenario.id)
    if not ActionForm().validate_on_submit():
        return redirect(back)
    return unit.run(lambda: services.adopt(db.session, current_user, scenario),
                    _("Scenario aangenomen: alle posten zijn geboekt (of wachten op goedkeuring als vier ogen aan "
                      "staat)."), back, lambda m: _("Niet aangenomen; er is niets geboekt. %(m)s", m=m))


@bp.post("/scenarios/<int:scenario_id>/verwijderen")
def delete(scenario_id: int):
    scenario = _scenario(scenario_id)
    if not ActionForm().validate_on_submit():
        return redirect(url_for("scenarios.detail", scenario_id=scenario.id))
    return unit.run(lambda: services.delete_scenario(db.session, current_user, scenario),
                    _("Scenario verwijderd."), url_for("scenarios.index"), lambda m: _("Niet verwijderd: %(m)s", m=m))


def _beslisnota(scenario_id: int):
    from scenarios.beslisnota import table

    scenario = _scenario(scenario_id)
    if scenario.state != "concept":
        abort(404)  # an adopted scenario's entries are in the figures now: the comparison would count them twice
    programme = db.session.get(Programme, scenario.programme_id)
    return scenario, table(programme.name, scenario.name, services.compare(db.session, scenario), date.today())


@bp.route("/scenarios/<int:scenario_id>/beslisnota.xlsx")
def beslisnota_xlsx(scenario_id: int):
    from scenarios.beslisnota import xlsx

    scenario, found = _beslisnota(scenario_id)
    return Response(xlsx(found), mimetype="application/vnd.openxmlformats-officedocument.spreadsheetml.sheet",
                    headers={"Content-Disposition": attachment(f"beslisnota-scenario-{scenario.id}.xlsx")})


@bp.route("/scenarios/<int:scenario_id>/beslisnota.docx")
def beslisnota_docx(scenario_id: int):
    from scenarios.beslisnota import docx

    scenario, found = _beslisnota(scenario_id)
    return Response(docx(found), mimetype="application/vnd.openxmlformats-officedocument.wordprocessingml.document",
                    headers={"Content-Disposition": attachment(f"beslisnota-scenario-{scenario.id}.docx")})


@bp.route("/scenarios/vergelijken")
def compare():
    a, b = (parse_id(request.args.get(k)) for k in ("a", "b"))
    if a is None or b is None:
        abort(404)
    first, second = _scenario(a), _scenario(b)
    if first.programme_id != second.programme_id:
        abort(404)
    return render_template("scenarios/compare.html", first=first, second=second,
                           rows=list(zip(services.compare(db.session, first).years,
                                         services.compare(db.session, second).years)))
