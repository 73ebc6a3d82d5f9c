"""Portfolio pages: project list and page, project and organisation forms, owners' status updates."""
from __future__ import annotations

from datetime import date

from flask import (
    Blueprint,
    Response,
    abort,
    flash,
    redirect,
    render_template,
    request,
    url_for,
)
from flask_babel import gettext as _
from flask_login import current_user, login_required
from sqlalchemy.orm import selectinload

from core import unit
from core.auth import role_required
from core.db import db
from core.download import attachment
from core.forms import check_version
from core.money import ZERO
from core.paging import DEFAULT_PAGE_SIZE, PAGE_SIZES, Page, page_size_arg
from core.params import page_arg, parse_id
from core.sections import project_sections
from core.users import FINANCE_ROLES
from core.web import current_programme
from projects import export, queries, services
from projects.forms import (
    NONE,
    OrganisationForm,
    ProjectForm,
    StatusUpdateForm,
    choices,
)
from projects.models import (
    CATEGORIES,
    EXPLOITATION_FORMS,
    INSTRUMENTS,
    LINES,
    ORGANISATION_TYPES,
    RAG,
    STATUSES,
    TRANSITIONS,
    Organisation,
    Project,
)
from projects.rules import (
    UPDATE_INTERVAL_MONTHS,
    next_update_due,
    settable_statuses,
    update_overdue,
)

bp = Blueprint("projects", __name__, template_folder="templates")

FILTERS = ("categorie", "lijn", "status", "organisatie", "vorm", "zoek")


@bp.context_processor
def _labels():
    # The code -> Dutch label maps, so every template shows the same words.
    return {"CATEGORIES": CATEGORIES, "LINES": LINES, "STATUSES": STATUSES, "INSTRUMENTS": INSTRUMENTS,
            "EXPLOITATION_FORMS": EXPLOITATION_FORMS, "RAG": RAG, "ORGANISATION_TYPES": ORGANISATION_TYPES,
            "form_codes": queries.form_codes}


def _no_programme():
    # A fresh install has no programme yet: say so on the overview instead of a bare 404.
    flash(_("Er is nog geen programma; projecten horen altijd bij een programma."), "info")
    return redirect(url_for("reports.dashboard"))


def _project_or_404(project_id: int, *options) -> Project:
    return queries.project(db.session, project_id, *options) or abort(404)


def _filters() -> dict:
    """The list filters from the query string, only the filled-in and known ones."""
    args = {k: request.args.get(k, "").strip() for k in FILTERS}
    if args["categorie"] not in CATEGORIES:
        args["categorie"] = ""
    if args["lijn"] not in LINES:
        args["lijn"] = ""
    if args["status"] not in STATUSES:
        args["status"] = ""
    if args["vorm"] not in EXPLOITATION_FORMS:
        args["vorm"] = ""
    if parse_id(args["organisatie"]) is None:
        args["organisatie"] = ""
    return {k: v for k, v in args.items() if v}


def _list_request() -> tuple[dict, str, bool]:
    """(filters, sort key, descending) of the project list and its exports, from the query string."""
    sort = request.args.get("sorteer", "code")
    if sort not in queries.SORT_KEYS:
        sort = "code"
    return _filters(), sort, request.args.get("richting") == "af"


@bp.route("/projecten")
@login_required
def index():
    programme = current_programme()
    if programme is None:
        return _no_programme()
    filters, sort, descending = _list_request()
    size = page_size_arg()
    listing = queries.project_list(programme, filters, sort, descending)
    count, committed, paid, remaining = db.session.execute(listing.totals).one()
    page = Page(page_arg(), None if size == "alle" else int(size), count)
    page.items = db.session.execute(listing.rows.offset(page.offset).limit(page.limit)).all()
    totals = {"verplicht": committed or ZERO, "betaald": paid or ZERO, "resterend": remaining or ZERO}
    # What every link of the page keeps: the filters, the sort and a chosen page size.
    list_args = {**filters, "sorteer": sort, "richting": "af" if descending else "op",
                 "per_pagina": None if size == DEFAULT_PAGE_SIZE else size}
    return render_template("projects/index.html", programme=programme, page=page, filters=filters,
                           sort=sort, descending=descending, size=size, sizes=PAGE_SIZES, list_args=list_args,
                           totals=totals, organisations=queries.organisations(db.session),
                           may_internal=current_user.role in FINANCE_ROLES)


def _export_rows(programme):
    """(version, rows) of the filtered, sorted list, every page; internal only for finance roles (as reports)."""
    internal = request.args.get("versie") == "intern"
    if internal and current_user.role not in FINANCE_ROLES:
        abort(403)
    filters, sort, descending = _list_request()
    listing = queries.project_list(programme, filters, sort, descending, with_owner=internal)
    return internal, db.session.execute(listing.rows).all()


def _export_name(programme, internal: bool, ext: str) -> str:
    return f"projecten-{programme.code}-{date.today():%Y%m%d}-{'intern' if internal else 'openbaar'}.{ext}"


@bp.route("/projecten/projecten.csv")
@login_required
def export_csv():
    programme = current_programme() or abort(404)
    internal, rows = _export_rows(programme)
    return Response(export.csv_bytes(export.table(rows, internal)), mimetype="text/csv",
                    headers={"Content-Disposition": attachment(_export_name(programme, internal, "csv"),
                                                               "projecten.csv")})


@bp.route("/projecten/projecten.xlsx")
@login_required
def export_xlsx():
    programme = current_programme() or abort(404)
    internal, rows = _export_rows(programme)
    return Response(export.xlsx_bytes(export.table(rows, internal), programme.name, internal),
                    mimetype="application/vnd.openxmlformats-officedocument.spreadsheetml.sheet",
                    headers={"Content-Disposition": attachment(_export_name(programme, internal, "xlsx"),
                                                               "projecten.xlsx")})


@bp.route("/projecten/mijn")
@role_required("projectleider")
def mine():
    programme = current_programme()
    if programme is None:
        return _no_programme()
    today = date.today()
    rows = []
    for project, last in queries.own_projects(db.session, programme, current_user.id):
        due = next_update_due(project.status, last.date if last else None, project.start_date,
                              project.created_at.date())
        rows.append({"project": project, "last": last, "due": due, "overdue": update_overdue(due, today)})
    # Running projects first, the most urgent update on top; closed ones apart, below.
    running = sorted((r for r in rows if r["due"] is not None), key=lambda r: (r["due"], r["project"].code))
    closed = [r for r in rows if r["due"] is None]
    # The open reporting round, when it asks this person for updates: its deadline on top, a marker per project.
    from rounds.services import rounds_for_leader

    round_ = rounds_for_leader(db.session, programme, current_user.id, today)
    return render_template("projects/mine.html", programme=programme, running=running, closed=closed,
                           interval=UPDATE_INTERVAL_MONTHS, round_=round_, today=today)


@bp.route("/projecten/<int:project_id>")
@login_required
def detail(project_id: int):
    project = queries.project_page(db.session, project_id) or abort(404)
    return render_template("projects/detail.html", project=project,
                           sections=project_sections(db.session, project),
                           can_see_internal=_may_see_internal(project),
                           can_edit=current_user.role in FINANCE_ROLES,
                           can_update_status=services.may_update_status(current_user, project))


def _may_see_internal(project: Project) -> bool:
    # Internal notes and the contact person are personal data / working notes: never for readers.
    return current_user.role in FINANCE_ROLES or (
        current_user.role == "projectleider" and project.owner_id == current_user.id)


def _fill_project_choices(form: ProjectForm, programme, project: Project | None) -> None:
    organisations, owners, others = queries.project_form_choices(db.session, programme, project)
    form.organisation_id.choices = choices(organisations, NONE)
    form.owner_id.choices = choices(owners, NONE)
    form.predecessor_id.choices = choices(others, NONE)


def _project_data(form: ProjectForm) -> dict:
    return {name: form[name].data for name in services.PROJECT_FIELDS}


@bp.route("/projecten/nieuw", methods=["GET", "POST"])
@role_required(*FINANCE_ROLES)
def create():
    programme = current_programme()
    if programme is None:
        return _no_programme()
    form = ProjectForm()
    _fill_project_choices(form, programme, None)
    done = unit.submit(form, lambda: services.create_project(db.session, current_user, programme,
                                                             {**_project_data(form), "status": form.status.data}),
                       lambda project: _("Project %(code)s is toegevoegd.", code=project.code), _detail_url)
    return done or _render_form(form, None, programme)


@bp.route("/projecten/<int:project_id>/bewerken", methods=["GET", "POST"])
@role_required(*FINANCE_ROLES)
def edit(project_id: int):
    project = _project_or_404(project_id, selectinload(Project.forms))
    form = ProjectForm(obj=project if request.method == "GET" else None)
    if request.method == "GET":
        form.forms.data = project.form_codes
    del form.status  # status changes go through status updates (the lifecycle)
    _fill_project_choices(form, project.programme, project)
    # The version is compared under the write lock when it is saved (unit.save's `edited`).
    done = unit.submit(form, lambda: services.update_project(db.session, current_user, project, _project_data(form)),
                       lambda saved: _("Project %(code)s is opgeslagen.", code=saved.code), _detail_url,
                       edited=project)
    return done or _render_form(form, project, project.programme)


def _detail_url(project: Project) -> str:
    return url_for("projects.detail", project_id=project.id)


def _render_form(form, project, programme):
    status = 400 if form.errors else 200
    return render_template("projects/form.html", form=form, project=project, programme=programme), status


@bp.route("/projecten/<int:project_id>/status", methods=["GET", "POST"])
@login_required
def status_update(project_id: int):
    project = _project_or_404(project_id)
    if not services.may_update_status(current_user, project):
        abort(403)
    form = StatusUpdateForm()
    previous = queries.latest_update(db.session, project)
    if previous is not None and request.method == "GET":
        # What usually still holds carries over: how it goes and the next steps. The texts of the
        # previous period are shown beside the form to write on from; the date is today's.
        form.rag.data, form.next_steps.data = previous.rag, previous.next_steps
    # Only what this user may set: a projectleider is not offered the financial decisions.
    settable = settable_statuses(current_user.role, project.status)
    withheld = [STATUSES[code] for code in STATUSES if code in TRANSITIONS[project.status] and code not in settable]
    form.status.choices = choices(
        [(project.status, _("Ongewijzigd (%(status)s)", status=STATUSES[project.status]))]
        + [(code, STATUSES[code]) for code in settable])
    if form.validate_on_submit():
        done = unit.save(form, lambda: services.add_status_update(
            db.session, current_user, project, status=form.status.data, rag=form.rag.data,
            update_date=form.update_date.data, progress=form.progress.data,
            public_text=form.public_text.data, next_steps=form.next_steps.data),
            _("De statusupdate voor %(code)s is opgeslagen.", code=project.code), _detail_url(project))
        if done:
            return done
    return render_template("projects/status_update.html", form=form, project=project, previous=previous,
                           withheld=withheld), (400 if form.errors else 200)


@bp.route("/organisaties")
@role_required(*FINANCE_ROLES)
def organisations():
    return render_template("projects/organisations.html", organisations=queries.organisations(db.session),
                           counts=queries.project_counts_by_organisation(db.session))


@bp.route("/organisaties/nieuw", methods=["GET", "POST"])
@role_required(*FINANCE_ROLES)
def organisation_create():
    return _organisation_form(None)


@bp.route("/organisaties/<int:organisation_id>/bewerken", methods=["GET", "POST"])
@role_required(*FINANCE_ROLES)
def organisation_edit(organisation_id: int):
    return _organisation_form(db.get_or_404(Organisation, organisation_id))


def _organisation_form(org: Organisation | None):
    form = OrganisationForm(obj=org if request.method == "GET" else None)
    if form.validate_on_submit():
        if org is None:
            def action():
                return services.create_organisation(db.session, current_user, form.name.data, form.type.data)

            def message(saved):
                return _("Organisatie %(name)s is toegevoegd.", name=saved.name)
        else:
            check_version(org, form)

            def action():
                return services.update_organisation(db.session, current_user, org, form.name.data, form.type.data)

            def message(saved):
                return _("Organisatie %(name)s is opgeslagen.", name=saved.name)
        done = unit.save(form, action, message, url_for("projects.organisations"), edited=org)
        if done:
            return done
    return (render_template("projects/organisation_form.html", form=form, organisation=org),
            400 if form.errors else 200)


@bp.route("/organisaties/<int:organisation_id>/verwijderen", methods=["POST"])
@role_required(*FINANCE_ROLES)
def organisation_delete(organisation_id: int):
    org = db.get_or_404(Organisation, organisation_id)
    return unit.run(lambda: services.delete_organisation(db.session, current_user, org),
                    _("Organisatie %(name)s is verwijderd.", name=org.name), url_for("projects.organisations"))
