"""Report pages: the dashboard, the stand-van-zaken page with downloads, snapshots and their diff."""
from __future__ import annotations

from collections.abc import Callable
from datetime import date

from flask import (
    Blueprint,
    Response,
    abort,
    flash,
    redirect,
    render_template,
    request,
    send_file,
    url_for,
)
from flask_babel import gettext as _
from flask_login import current_user, login_required
from markupsafe import Markup

from approvals.services import pending_totals
from budget.ledger import programme_years
from core import unit
from core.dates import default_peildatum
from core.db import db
from core.download import attachment
from core.errors import DomainError
from core.params import parse_id
from core.users import FINANCE_ROLES
from core.web import current_programme
from reports.forms import SnapshotForm
from reports.terms import TERMS

bp = Blueprint("reports", __name__, template_folder="templates")

# pandas, plotly and xlsxwriter are imported inside the views that need them: the app (and
# every unrelated CLI command, e.g. an import run) starts without their ~50 MB.


@bp.route("/assets/plotly.min.js")
def plotly_js():
    """plotly.js from the installed plotly package: no CDN, nothing from outside."""
    from reports import charts

    return send_file(charts.PLOTLY_JS, mimetype="text/javascript", max_age=86400)


def _may_internal() -> bool:
    return current_user.is_authenticated and current_user.role in FINANCE_ROLES


def _peildatum() -> date:
    raw = request.args.get("peildatum", "").strip()
    if not raw:
        return date.today()
    try:
        return date.fromisoformat(raw)
    except ValueError:
        abort(400)


def _number_arg(name: str) -> int | None:
    """An id or year from the query string: None when absent, 400 when it is not one (0-9 only, bounded)."""
    raw = request.args.get(name, "").strip()
    if not raw:
        return None
    return parse_id(raw) or abort(400)


def _year(years: list[int], peildatum: date) -> int:
    year = _number_arg("jaar")
    if year is not None:
        if year not in years:
            abort(400)
        return year
    if peildatum.year in years:
        return peildatum.year
    return years[0] if peildatum.year < years[0] else years[-1]


def _options() -> dict:
    """Public unless asked otherwise; asking for internal without a finance role is refused."""
    internal = request.args.get("versie") == "intern"
    if internal and not _may_internal():
        abort(403)
    return {"internal": internal, "thousands": request.args.get("duizenden") == "1"}


@bp.route("/")
@login_required
def dashboard():
    programme = current_programme()
    if programme is None:
        return render_template("reports/dashboard.html", programme=None)
    from reports import charts
    from reports.cache import figures_cache
    from reports.queries import live_frames

    peildatum = _peildatum()
    years = programme_years(db.session, programme)
    year = _year(years, peildatum)

    # Finance roles see who broke through a budget stop (as in the internal report); others see "een beheerder".
    names = _may_internal()
    # "Bedragen x € 1.000" for the tables (the report page's own parameter); tiles stay in whole euros.
    thousands = request.args.get("duizenden") == "1"

    def build() -> dict:
        from budget.underspend import programme_forecast
        from reports.dashboard import headline

        # No project rows: the dashboard needs aggregates only, so its queries do not grow with projects.
        rf = live_frames(db.session, programme, year, peildatum, internal=names, thousands=thousands,
                         with_projects=False)
        figures = rf.summary[year]
        # The underspend warning, for the finance roles who can act on it (a kasschuif), in the running year.
        underspend = programme_forecast(db.session, programme, year, peildatum) \
            if names and peildatum.year == year else None
        return Markup(render_template(
            "reports/_dashboard_figures.html", rf=rf, year=year, figures=figures, k=thousands,
            head=headline(figures, year, peildatum), charts=charts.chart_embeds(rf, ("budget", "groepen")),
            underspend=underspend))

    # Figures, tables and charts are built once per programme, year, peildatum and unit until the
    # next write (see reports.cache); only the page around them is rendered per request.
    body = figures_cache().get(db.session, ("dashboard", programme.id, year, peildatum, names, thousands), build)
    # Entries waiting for a second person: internal, so only finance roles see what waits.
    pending = pending_totals(db.session, programme).get(year) if names else None
    return render_template("reports/dashboard.html", programme=programme, years=years, year=year,
                           peildatum=peildatum, thousands=thousands, chart_config=charts.chart_config(), body=body,
                           pending=pending)


def _report_stand(years: list[int]) -> tuple[int, date]:
    """(year, peildatum) of a report: a chosen peildatum decides the year as on the dashboard; a year
    without a peildatum gets core.dates.default_peildatum (31 December for a past year, else today)."""
    if request.args.get("peildatum", "").strip():
        peildatum = _peildatum()
        return _year(years, peildatum), peildatum
    year = _year(years, date.today())
    return year, default_peildatum(year)


def _report_frames(programme, public: bool = False):
    """The ReportFrames this request asks for: live (jaar, peildatum) or from a snapshot (stand)."""
    from reports import services
    from reports.queries import live_frames

    opts = _options()
    if public:
        opts["internal"] = False  # the Word annex and the PDF: public by construction
    snap_id = _number_arg("stand")
    try:
        if snap_id is not None:
            snap = services.get_snapshot(db.session, snap_id, programme)
            return services.snapshot_frames(snap, _number_arg("jaar"), **opts), snap
        year, peildatum = _report_stand(programme_years(db.session, programme))
        return live_frames(db.session, programme, year, peildatum, **opts), None
    except DomainError:
        abort(404)


def _filename(rf, ext: str) -> str:
    m = rf.meta
    version = "intern" if m["internal"] else "openbaar"
    return f"stand-van-zaken-{m['programme_code']}-{m['year']}-{m['peildatum']:%Y%m%d}-{version}.{ext}"


@bp.route("/rapportage")
@login_required
def index():
    programme = current_programme()
    if programme is None:
        return render_template("reports/index.html", programme=None)
    from reports import charts, services

    rf, snap = _report_frames(programme)
    years = programme_years(db.session, programme) if snap is None else [int(y) for y in rf.meta["years"]]
    return render_template(
        "reports/index.html", programme=programme, rf=rf, snap=snap, years=years, may_internal=_may_internal(),
        chosen_peildatum=bool(request.args.get("peildatum", "").strip()), today=date.today(),
        snapshots=services.list_snapshots(db.session, programme), charts=charts.chart_embeds(rf),
        chart_config=charts.chart_config(), budget_rows=charts.budget_table(rf), download_args=_download_args(rf, snap),
        terms=TERMS)


def _download_args(rf, snap) -> dict:
    args = {"jaar": rf.meta["year"]}
    if snap is not None:
        args["stand"] = snap.id
    else:
        args["peildatum"] = rf.meta["peildatum"].isoformat()
    if rf.meta["internal"]:
        args["versie"] = "intern"
    if rf.meta["thousands"]:
        args["duizenden"] = "1"
    return args


#: The downloads' media types, by file extension.
_MIMETYPES = {"xlsx": "application/vnd.openxmlformats-officedocument.spreadsheetml.sheet", "html": "text/html",
              "docx": "application/vnd.openxmlformats-officedocument.wordprocessingml.document",
              "pdf": "application/pdf", "zip": "application/zip"}


def _download(rf, build: Callable[[], bytes | str], ext: str, what: str) -> Response:
    """A report as an attachment. The audit trail's head is recorded as this report's (`what`) before
    `build` runs, so the report names it."""
    from reports import services

    unit.mark(lambda: services.record_report_head(db.session, rf, what))
    return Response(build(), mimetype=_MIMETYPES[ext],
                    headers={"Content-Disposition": attachment(_filename(rf, ext), f"stand-van-zaken.{ext}")})


@bp.route("/rapportage/werkboek.xlsx")
@login_required
def workbook():
    from reports import excel

    rf, _snap = _report_frames(current_programme() or abort(404))
    return _download(rf, lambda: excel.build_workbook(rf), "xlsx", "werkboek")


@bp.route("/rapportage/stand.html")
@login_required
def standalone():
    from reports import charts

    rf, _snap = _report_frames(current_programme() or abort(404))
    return _download(rf, lambda: charts.standalone_html(rf), "html", "HTML-rapport")


@bp.route("/rapportage/bijlage.docx")
@login_required
def word():
    from reports import word as annex

    rf, _snap = _report_frames(current_programme() or abort(404), public=True)
    return _download(rf, lambda: annex.build_docx(rf), "docx", "Word-bijlage")


@bp.route("/rapportage/stand.pdf")
@login_required
def pdf():
    from reports import pdf as printer

    rf, snap = _report_frames(current_programme() or abort(404), public=True)
    try:
        data = printer.build_pdf(rf)
    except printer.PdfUnavailable as exc:
        # No Chromium on this server: say so on the report page, with the install command.
        flash(exc.message, "error")
        return redirect(url_for("reports.index", **_download_args(rf, snap)))
    return _download(rf, lambda: data, "pdf", "PDF-rapport")


@bp.route("/rapportage/open-data.zip")
@login_required
def open_data():
    """The public stand as a Fiscal Data Package (reports.fdp), zipped: whoever may download the public report."""
    from reports import fdp

    rf, _snap = _report_frames(current_programme() or abort(404), public=True)
    return _download(rf, lambda: fdp.zip_bytes(fdp.build(rf), rf.meta["made_at"]), "zip", "open data (FDP)")


@bp.route("/rapportage/standen", methods=["GET", "POST"])
@login_required
def snapshots():
    from reports import services

    programme = current_programme() or abort(404)
    form = SnapshotForm() if _may_internal() else None
    status = 200
    if request.method == "POST":
        if form is None:
            abort(403)
        if form.validate_on_submit():
            done = unit.save(form, lambda: services.create_snapshot(db.session, current_user, programme,
                                                                    form.peildatum.data, form.title.data,
                                                                    form.kamerstuk.data or "", form.close.data),
                             lambda snap: _("De stand is vastgelegd als nummer %(id)s.", id=snap.id),
                             lambda snap: url_for("reports.snapshot", snapshot_id=snap.id),
                             field_map={"through": "peildatum"})
            if done:
                return done
        status = 400
    return render_template("reports/snapshots.html", programme=programme, form=form,
                           snapshots=services.list_snapshots(db.session, programme),
                           show_author=_may_internal()), status


@bp.route("/rapportage/standen/<int:snapshot_id>")
@login_required
def snapshot(snapshot_id: int):
    from reports import services

    programme = current_programme() or abort(404)
    try:
        snap = services.get_snapshot(db.session, snapshot_id, programme)
        rf = services.snapshot_frames(snap)
    except DomainError:
        abort(404)
    return render_template("reports/snapshot.html", programme=programme, snap=snap, rf=rf,
                           years=services.snapshot_years(snap), may_internal=_may_internal(),
                           others=[s for s in services.list_snapshots(db.session, programme) if s.id != snap.id],
                           show_author=_may_internal())


@bp.route("/rapportage/standen/verschil")
@login_required
def snapshot_diff():
    from reports import services

    programme = current_programme() or abort(404)
    a_id, b_id, year = _number_arg("a"), _number_arg("b"), _number_arg("jaar")
    if a_id is None or b_id is None:
        abort(400)
    try:
        a = services.get_snapshot(db.session, a_id, programme)
        b = services.get_snapshot(db.session, b_id, programme)
        diff = services.diff_snapshots(a, b, year)
    except DomainError:
        abort(404)
    return render_template("reports/diff.html", programme=programme, a=a, b=b, diff=diff,
                           snapshots=services.list_snapshots(db.session, programme))
