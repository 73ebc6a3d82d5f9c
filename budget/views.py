"""Budget pages: the overview, funding, mutations and kasschuif; the blueprint and helpers of all budget pages."""
from __future__ import annotations

from datetime import date

from flask import Blueprint, abort, redirect, render_template, request, url_for
from flask_babel import gettext as _
from flask_login import current_user
from markupsafe import Markup
from sqlalchemy.orm.attributes import flag_modified

from approvals.services import pending_totals
from budget import queries, rules, services
from budget.forms import (
    ConfirmForm,
    FundingSourceForm,
    KasschuifForm,
    MutationForm,
    with_years,
    year_amounts,
    year_key,
)
from budget.ledger import programme_years
from budget.models import (
    FUNDING_KINDS,
    MUTATION_KINDS,
    MUTATION_MOMENTS,
    BudgetMutation,
    FundingSource,
)
from core import unit
from core.auth import role_required
from core.db import db
from core.errors import BudgetStopError, Collect
from core.money import format_eur
from core.users import FINANCE_ROLES
from core.web import current_programme

bp = Blueprint("budget", __name__, template_folder="templates")

finance_only = role_required(*FINANCE_ROLES)


# --- helpers -------------------------------------------------------------------------------


def current_or_404():
    programme = current_programme()
    if programme is None:
        abort(404)
    return programme


def owned(model, object_id: int):
    """An object of the current programme, else 404 (ids of another programme are not shown)."""
    obj = db.session.get(model, object_id)
    if obj is None or getattr(obj, "programme_id", None) != current_or_404().id:
        abort(404)
    return obj


def hide_override(form) -> None:
    # Only a beheerder may break the budget stop; nobody else even sees the field.
    if current_user.role != "beheerder" and "override_reason" in form:
        del form.override_reason


def override_reason(form) -> str | None:
    return form.override_reason.data if "override_reason" in form else None


def index_url(anchor: str) -> str:
    return url_for("budget.index") + anchor


def _section_links() -> dict[str, str]:
    return {"bronnen": _("Naar de financieringsbronnen"), "mutaties": _("Naar de mutaties"),
            "personeel": _("Naar de ambtelijke ondersteuning"), "geld": _("Naar de verplichtingen en betalingen")}


def at_top(success: str, next_url: str) -> tuple[str, str]:
    """(message, url) of a confirmation that is seen: the page opens at its top, where the message is.

    A redirect to a section (#mutaties) would scroll the confirmation out of view, so the
    redirect drops the fragment and the message links to the section instead.
    """
    url, _sep, fragment = next_url.partition("#")
    if not fragment:
        return success, next_url
    label = _section_links().get(fragment, _("Naar het onderdeel"))
    return Markup('{} <a href="{}">{}</a>').format(success, next_url, label), url


def save(form, action, success: str, field_map: dict | None = None, year_field: bool = False, *, next_url,
         edited=None):
    """core.unit.submit for a budget form: saved when valid, else every error at once; a budget stop also
    marks the years that fall short."""
    def on_refusal(exc):
        stops = [e for e in getattr(exc, "errors", None) or [exc] if isinstance(e, BudgetStopError)]
        if year_field and stops:
            for year, shortfall in stops[0].shortfalls.items():
                key = year_key(year)
                if key in form:
                    form[key].errors = list(form[key].errors) + [
                        _("tekort %(amount)s", amount=format_eur(shortfall))]
                    # The summary says it once, in the budget stop's own message; the field only marks the year.
                    form.inline_only = {*getattr(form, "inline_only", ()), key}
    success, next_url = at_top(success, next_url)
    return unit.submit(form, action, success, next_url, edited=edited, field_map=field_map, on_refusal=on_refusal)


def form_page(template: str, form, **context):
    return render_template(template, form=form, **context), (400 if form.errors else 200)


# --- overview ------------------------------------------------------------------------------


@bp.route("/budget")
@finance_only
def index():
    programme = current_programme()
    if programme is None:
        return render_template("budget/index.html", programme=None)
    return render_template(
        "budget/index.html", programme=programme, **queries.budget_overview(db.session, programme),
        pending_totals=pending_totals(db.session, programme),
        funding_kinds=FUNDING_KINDS, mutation_kinds=MUTATION_KINDS, moments=MUTATION_MOMENTS,
        confirm=ConfirmForm())


# --- funding sources -----------------------------------------------------------------------


def _source_form(programme, source=None):
    years = programme_years(db.session, programme)
    if source is not None:
        years = sorted(set(years) | {a.year for a in source.allocations})
    cls = with_years(FundingSourceForm, years)
    form = cls(obj=source) if source is not None and request.method == "GET" else cls()
    if source is not None and request.method == "GET":
        for alloc in source.allocations:
            form[year_key(alloc.year)].data = alloc.amount
    hide_override(form)
    return form


@bp.route("/budget/bronnen/nieuw", methods=["GET", "POST"])
@finance_only
def source_new():
    programme = current_or_404()
    form = _source_form(programme)

    def action():
        source = services.add_funding_source(db.session, current_user, programme, form.name.data,
                                             form.kind.data, form.reference.data or "")
        services.set_allocations(db.session, current_user, source, form.amounts(), override_reason(form),
                                 form.valid_from.data)
        # The yearly amounts are part of the source: changing them makes older forms stale too.
        flag_modified(source, "name")
    if done := save(form, action, _("Financieringsbron toegevoegd."), {"year": "range_from"},
                    year_field=True, next_url=index_url("#bronnen")):
        return done
    return form_page("budget/source_form.html", form, programme=programme, source=None)


@bp.route("/budget/bronnen/<int:source_id>", methods=["GET", "POST"])
@finance_only
def source_edit(source_id: int):
    programme = current_or_404()
    source = owned(FundingSource, source_id)
    form = _source_form(programme, source)

    def action():
        # Both parts are checked, so a missing name and a budget stop on the amounts show together.
        c = Collect()
        c(services.update_funding_source, db.session, current_user, source, name=form.name.data,
          kind=form.kind.data, reference=form.reference.data or "")
        c(services.set_allocations, db.session, current_user, source, form.amounts(), override_reason(form),
          form.valid_from.data)
        c.raise_any()
        # The yearly amounts are part of the source: changing them makes older forms stale too.
        flag_modified(source, "name")
    # The version is compared under the write lock when it is saved (`edited`).
    if done := save(form, action, _("Financieringsbron opgeslagen."), {"year": "range_from"},
                    year_field=True, next_url=index_url("#bronnen"), edited=source):
        return done
    return form_page("budget/source_form.html", form, programme=programme, source=source,
                     history=queries.allocation_history(db.session, programme.id, source.id))


# --- deletes (one pattern: POST, refusal as a flash message that says why) -------------------


def confirmed_delete(action, success: str, next_url: str):
    form = ConfirmForm()
    if not form.validate_on_submit():
        abort(400)
    success, next_url = at_top(success, next_url)
    return unit.run(action, success, next_url, lambda reason: _("Niet verwijderd: %(reason)s", reason=reason))


@bp.route("/budget/bronnen/<int:source_id>/verwijderen", methods=["POST"])
@finance_only
def source_delete(source_id: int):
    source = owned(FundingSource, source_id)
    return confirmed_delete(lambda: services.delete_funding_source(db.session, current_user, source),
                            _("Financieringsbron verwijderd."), index_url("#bronnen"))


@bp.route("/budget/mutaties/<int:mutation_id>/verwijderen", methods=["POST"])
@finance_only
def mutation_delete(mutation_id: int):
    mutation = owned(BudgetMutation, mutation_id)
    return confirmed_delete(lambda: services.delete_mutation(db.session, current_user, mutation),
                            _("Mutatie verwijderd."), index_url("#mutaties"))


# --- mutations and kasschuif ---------------------------------------------------------------


def _mutation_form(mutation=None):
    form = MutationForm(obj=mutation) if mutation is not None and request.method == "GET" else MutationForm()
    if mutation is None and request.method == "GET":
        form.date.data = date.today()
        form.year.data = date.today().year
        form.moment.data = rules.default_moment(date.today())
    hide_override(form)
    return form


def _mutation_args(form) -> dict:
    return dict(year=form.year.data, amount=form.amount.data, kind=form.kind.data, moment=form.moment.data,
                reason=form.reason.data, mutation_date=form.date.data, reference=form.reference.data or "",
                override_reason=override_reason(form))


@bp.route("/budget/mutaties/nieuw", methods=["GET", "POST"])
@finance_only
def mutation_new():
    programme = current_or_404()
    form = _mutation_form()
    if done := save(form, lambda: services.add_mutation(db.session, current_user, programme, **_mutation_args(form)),
                    _("Mutatie toegevoegd."), {"mutation_date": "date"}, next_url=index_url("#mutaties")):
        return done
    return form_page("budget/mutation_form.html", form, mutation=None)


@bp.route("/budget/mutaties/<int:mutation_id>", methods=["GET", "POST"])
@finance_only
def mutation_edit(mutation_id: int):
    mutation = owned(BudgetMutation, mutation_id)
    if mutation.kasschuif_group:
        return redirect(url_for("budget.kasschuif_edit", group=mutation.kasschuif_group))
    form = _mutation_form(mutation)
    if done := save(form, lambda: services.update_mutation(db.session, current_user, mutation, **_mutation_args(form)),
                    _("Mutatie opgeslagen."), {"mutation_date": "date"}, next_url=index_url("#mutaties"),
                    edited=mutation):
        return done
    return form_page("budget/mutation_form.html", form, mutation=mutation)


def _kasschuif_form(programme, rows=None):
    years = sorted(set(programme_years(db.session, programme)) | {r.year for r in rows or []})
    cls = with_years(KasschuifForm, years, allow_negative=True)
    form = cls(obj=rows[0]) if rows and request.method == "GET" else cls()
    if request.method == "GET":
        if rows:
            for row in rows:
                form[year_key(row.year)].data = row.amount
        else:
            form.date.data = date.today()
            form.moment.data = rules.default_moment(date.today())
    hide_override(form)
    return form


def _kasschuif_args(form) -> dict:
    return dict(amounts=year_amounts(form), moment=form.moment.data, reason=form.reason.data,
                mutation_date=form.date.data, reference=form.reference.data or "",
                override_reason=override_reason(form))


@bp.route("/budget/kasschuif/nieuw", methods=["GET", "POST"])
@finance_only
def kasschuif_new():
    programme = current_or_404()
    form = _kasschuif_form(programme)
    if done := save(form, lambda: services.add_kasschuif(db.session, current_user, programme, **_kasschuif_args(form)),
                    _("Kasschuif toegevoegd."), {"mutation_date": "date"}, year_field=True,
                    next_url=index_url("#mutaties")):
        return done
    return form_page("budget/kasschuif_form.html", form, group=None, own_reasons=None)


@bp.route("/budget/kasschuif/<group>", methods=["GET", "POST"])
@finance_only
def kasschuif_edit(group: str):
    programme = current_or_404()
    rows = services.kasschuif_rows(db.session, group)
    if not rows or rows[0].programme_id != programme.id:
        abort(404)
    form = _kasschuif_form(programme, rows)
    if done := save(form, lambda: services.update_kasschuif(db.session, current_user, group, **_kasschuif_args(form)),
                    _("Kasschuif opgeslagen."), {"mutation_date": "date"}, year_field=True,
                    next_url=index_url("#mutaties"), edited=rows[0]):
        return done
    # Imported years may each have their own toelichting: say so, since saving gives them all this one.
    own_reasons = {r.year: r.reason for r in rows} if len({r.reason for r in rows}) > 1 else None
    return form_page("budget/kasschuif_form.html", form, group=group, own_reasons=own_reasons)


# The staffing and project-money pages register their routes on bp too.
from budget import advance_views, commitment_views, period_views, staffing_views, underspend_views  # noqa: E402,F401,I001
