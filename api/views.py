"""The API's operations: thin views that read through the queries and write through the services."""
from __future__ import annotations

import json
from datetime import date

from flask import abort, url_for
from flask_login import current_user
from flask_smorest import Blueprint
from sqlalchemy import func, select

from api import schemas as s
from api.problems import from_domain
from api.unit import write
from budget import queries as budget_queries
from budget.ledger import programme_years
from budget.models import Commitment
from budget.services.commitments import add_commitment, add_payment, adjust_commitment
from budget.services.mutations import add_mutation
from core.audit import AuditEntry, trail_query
from core.dates import default_peildatum
from core.db import db
from core.errors import DomainError, StaleEdit
from core.money import ZERO
from core.users import FINANCE_ROLES
from projects import queries as project_queries
from projects import services as project_services
from projects.models import CATEGORIES, LINES, Programme, Project
from reports import services as report_services
from reports.queries import SUMMARY_ROWS, frames, live_frames

bp = Blueprint("api", __name__, url_prefix="/api/v1", description="Programmamonitor: budget, projecten en "
               "de stand van zaken. Bedragen in euro's als tekst (\"1250.00\").")

#: The Samenvatting's keys (reports.queries.SUMMARY_ROWS) by their name in the API.
SUMMARY_NAMES = {
    "structural": "structureel_budget", "incidental": "incidenteel_budget", "mutations": "mutaties",
    "available": "beschikbaar_budget", "staffing": "ambtelijke_ondersteuning",
    "committed_projects": "verplicht_projecten", "released": "vrijval_na_vaststelling",
    "committed": "verplicht_totaal", "paid": "gerealiseerd", "free": "vrije_ruimte",
    "pct_committed": "aandeel_verplicht", "pct_paid": "aandeel_gerealiseerd",
}
#: A service's field name -> the API's, so a refusal names the field the client sent.
FIELD_NAMES = {
    "update_date": "datum", "rag": "voortgang", "status": "status", "reference": "kenmerk",
    "signed_date": "datum_ondertekening", "total": "totaal", "schedule": "kasritme", "description": "omschrijving",
    "adjustment_date": "datum", "changes": "wijzigingen", "reason": "reden", "payment_date": "datum",
    "amount": "bedrag", "kind": "soort", "year": "jaar", "moment": "moment", "date": "datum",
    "override_reason": "reden_doorbraak",
}
_WRITE_RESPONSES = {201: "Geboekt.", 202: "Ter goedkeuring aangeboden (vier ogen); telt nog niet mee."}


def _programme(code: str) -> Programme:
    programme = db.session.scalar(select(Programme).where(Programme.code == code.upper()))
    return programme or abort(404)


def _project(project_id: int) -> Project:
    return project_queries.project(db.session, project_id) or abort(404)


def _refused(exc: DomainError):
    abort(from_domain(exc, FIELD_NAMES))


# --- Programmes and their figures ------------------------------------------------------------------------

def _programme_out(programme: Programme) -> dict:
    return {"code": programme.code, "naam": programme.name, "ministerie": programme.ministry,
            "begrotingsartikel": programme.budget_article, "jaren": programme_years(db.session, programme)}


@bp.get("/programmas")
@bp.response(200, s.ProgrammeSchema(many=True))
def programmes():
    """Alle programma's."""
    return [_programme_out(p) for p in db.session.scalars(select(Programme).order_by(Programme.code))]


@bp.get("/programmas/<code>")
@bp.response(200, s.ProgrammeSchema)
def programme(code: str):
    """Eén programma."""
    return _programme_out(_programme(code))


def _groups(frame, codes: dict) -> list[dict]:
    by_label = {label: code for code, label in codes.items()}
    return [{"omschrijving": label, "code": by_label.get(label), "aantal_projecten": row.iloc[0],
             "verplicht": row.iloc[1], "gerealiseerd": row.iloc[2], "in_voorbereiding": row.iloc[3]}
            for label, row in frame.iterrows()]


def figures_of(rf, year: int) -> dict:
    """The figures of one year of a report (live or frozen) as the API gives them."""
    column = rf.summary[year]
    summary = {SUMMARY_NAMES[key]: column.get(label, ZERO) for label, key, _kind in SUMMARY_ROWS}
    matrix = [{"categorie": category, "programmalijn": line, "verplicht": rf.matrix.at[category, line]}
              for category in CATEGORIES.values() for line in LINES.values()]
    return {"programma": rf.meta["programme_code"], "jaar": year, "peildatum": rf.meta["peildatum"],
            "samenvatting": summary, "categorieen": _groups(rf.categories, CATEGORIES),
            "programmalijnen": _groups(rf.lines, LINES), "matrix": matrix}


@bp.get("/programmas/<code>/cijfers/<int:jaar>")
@bp.arguments(s.FiguresQuery, location="query", as_kwargs=True)
@bp.response(200, s.FiguresSchema)
def figures(code: str, jaar: int, peildatum: date | None = None):
    """De stand van zaken van een jaar: de Samenvatting, per categorie, per programmalijn en de matrix.

    Dezelfde bedragen als het werkboek (openbare versie) op dezelfde peildatum.
    """
    from reports.cache import figures_cache

    programme = _programme(code)
    if jaar not in programme_years(db.session, programme):
        abort(404)
    day = peildatum or default_peildatum(jaar)
    # Built once per programme, year and peildatum until the next write, like the dashboard (reports.cache).
    return figures_cache().get(db.session, ("api-figures", programme.id, jaar, day), lambda: figures_of(
        live_frames(db.session, programme, jaar, day, internal=False, with_projects=False), jaar))


# --- Projects ---------------------------------------------------------------------------------------------

def _window(args: dict) -> tuple[int, int]:
    """(offset, limit) of the page asked for. Unlike the pages, a page past the end is empty, not the last
    one again: a client that reads on until it gets no items must come to an end."""
    return (args["pagina"] - 1) * args["per_pagina"], args["per_pagina"]


def _paging(args: dict, count: int) -> dict:
    return {"pagina": args["pagina"], "per_pagina": args["per_pagina"],
            "paginas": max(1, -(-count // args["per_pagina"])), "totaal": count}


def _may_see_internal(project: Project) -> bool:
    # As on the project page: contact person and notes are for finance roles and the project's own leader.
    return current_user.role in FINANCE_ROLES or (current_user.role == "projectleider"
                                                  and project.owner_id == current_user.id)


def _project_out(project: Project, forms, committed, paid, remaining) -> dict:
    out = {"id": project.id, "code": project.code, "titel": project.title, "samenvatting": project.summary,
           "categorie": project.category, "programmalijn": project.line, "instrument": project.instrument,
           "status": project.status, "vormen": project_queries.form_codes(forms),
           "organisatie": project.organisation.name if project.organisation else None,
           "startdatum": project.start_date, "einddatum": project.end_date,
           "verplicht": committed or ZERO, "betaald": paid or ZERO, "resterend": remaining or ZERO,
           "versie": project.version}
    if _may_see_internal(project):
        out.update(projectleider=project.owner.name if project.owner else "", contactpersoon=project.contact_person,
                   interne_notitie=project.internal_notes)
    return out


@bp.get("/programmas/<code>/projecten")
@bp.arguments(s.ProjectQuery, location="query")
@bp.response(200, s.ProjectPageSchema)
def projects(args: dict, code: str):
    """De projecten van een programma: filteren, sorteren en bladeren zoals de projectenlijst."""
    programme = _programme(code)
    filters = {k: str(args[k]) for k in ("categorie", "lijn", "status", "organisatie", "vorm", "zoek") if k in args}
    listing = project_queries.project_list(programme, filters, args["sorteer"], args["richting"] == "af",
                                           with_owner=True)
    count, committed, paid, remaining = db.session.execute(listing.totals).one()
    offset, size = _window(args)
    rows = db.session.execute(listing.rows.offset(offset).limit(size)).all()
    return {**_paging(args, count),
            "totalen": {"verplicht": committed or ZERO, "betaald": paid or ZERO, "resterend": remaining or ZERO},
            "items": [_project_out(*row) for row in rows]}


@bp.get("/projecten/<int:project_id>")
@bp.response(200, s.ProjectSchema)
def project(project_id: int):
    """Eén project, met wat de projectenlijst ervan toont."""
    found = _project(project_id)
    listing = project_queries.project_list(found.programme, {}, "code", False, with_owner=True)
    row = db.session.execute(listing.rows.where(Project.id == project_id)).one()
    return _project_out(*row)


@bp.get("/projecten/<int:project_id>/geld")
@bp.response(200, s.ProjectMoneySchema)
def project_money(project_id: int):
    """De verplichtingen van een project met kasritme, bijstellingen, betalingen en vaststelling."""
    found = _project(project_id)
    money = budget_queries.project_money(db.session, found)
    return {"project": found.code, "verplicht": money["total"], "betaald": money["paid"],
            "verplichtingen": [_commitment_out(found, item) for item in money["commitments"]]}


def _commitment_out(project: Project, item: dict) -> dict:
    c, settled = item["commitment"], item["settlement"]
    return {
        "id": c.id, "project": project.code, "kenmerk": c.reference, "datum_ondertekening": c.signed_date,
        "omschrijving": c.description, "totaal": item["current"], "betaald": item["paid"],
        "kasritme": [{"jaar": y, "bedrag": a} for y, a in sorted(item["schedule"].items())],
        "bijstellingen": [{"datum": a.date, "jaar": a.year, "bedrag": a.amount, "reden": a.reason,
                           "kenmerk": a.reference} for a in item["adjustments"]],
        "betalingen": [{"id": p.id, "datum": p.date, "soort": p.kind, "bedrag": p.amount, "kenmerk": p.reference,
                        "omschrijving": p.description} for p in item["payments"]],
        "vaststelling": None if settled is None else {
            "datum": settled.date, "vastgesteld_bedrag": settled.amount, "terugvordering": settled.recovery,
            "terugvordering_uiterlijk": settled.recovery_due, "kenmerk": settled.reference},
    }


# --- Snapshots --------------------------------------------------------------------------------------------

def _snapshot_out(snap) -> dict:
    return {"id": snap.id, "programma": snap.programme.code, "peildatum": snap.peildatum, "titel": snap.title,
            "kamerstuk": snap.kamerstuk, "vastgelegd_op": snap.created_at, "sha256": snap.sha256,
            "jaren": report_services.snapshot_years(snap)}


@bp.get("/programmas/<code>/standen")
@bp.response(200, s.SnapshotSchema(many=True))
def snapshots(code: str):
    """De vastgelegde standen van een programma, nieuwste peildatum eerst."""
    return [_snapshot_out(snap) for snap in report_services.list_snapshots(db.session, _programme(code))]


def _snapshot(snapshot_id: int):
    try:
        return report_services.get_snapshot(db.session, snapshot_id)
    except DomainError:
        abort(404)


@bp.get("/standen/<int:snapshot_id>")
@bp.response(200, s.SnapshotSchema)
def snapshot(snapshot_id: int):
    """Eén vastgelegde stand."""
    return _snapshot_out(_snapshot(snapshot_id))


@bp.get("/standen/<int:snapshot_id>/cijfers/<int:jaar>")
@bp.response(200, s.FiguresSchema)
def snapshot_figures(snapshot_id: int, jaar: int):
    """De cijfers van een jaar zoals ze in de vastgelegde stand staan (veranderen nooit)."""
    snap = _snapshot(snapshot_id)
    try:
        state = report_services.snapshot_state(snap)
    except DomainError as exc:
        _refused(exc)
    if str(jaar) not in state["detail"]:
        abort(404)
    return figures_of(frames(state, jaar), jaar)


# --- The audit trail (finance roles: it names people) ----------------------------------------------------

@bp.get("/audittrail")
@bp.arguments(s.AuditQuery, location="query")
@bp.response(200, s.AuditPageSchema)
def audit_trail(args: dict):
    """De audittrail, nieuwste eerst (alleen financiële rollen)."""
    query = trail_query(kind=args.get("soort", ""), entity_id=args.get("object"))
    count = db.session.scalar(select(func.count()).select_from(query.order_by(None).subquery()))
    offset, size = _window(args)
    entries = db.session.scalars(query.offset(offset).limit(size)).all()
    return {**_paging(args, count), "items": [_entry_out(e) for e in entries]}


def _entry_out(entry: AuditEntry) -> dict:
    return {"id": entry.id, "tijdstip": entry.at, "door": entry.actor_label, "handeling": entry.action,
            "soort": entry.entity, "object": entry.entity_id, "wijzigingen": json.loads(entry.changes or "{}"),
            "hash": entry.entry_hash}


# --- Writing ----------------------------------------------------------------------------------------------

def _booking(body, answer, waits: bool = True):
    """What every booking operation declares: its Idempotency-Key and body, 201 with `answer`, 202 when it waits."""
    def decorate(view):
        if waits:
            view = bp.alt_response(202, schema=s.PendingSchema, description=_WRITE_RESPONSES[202])(view)
        view = bp.response(201, answer, description=_WRITE_RESPONSES[201])(view)
        view = bp.arguments(body)(view)
        return bp.arguments(s.IdempotencyHeader, location="headers", as_kwargs=True)(view)
    return decorate


def _years(items: list[dict]) -> dict:
    amounts: dict[int, object] = {}
    for item in items:
        amounts[item["jaar"]] = amounts.get(item["jaar"], ZERO) + item["bedrag"]
    return amounts


@bp.post("/projecten/<int:project_id>/statusupdates")
@_booking(s.StatusUpdateIn, s.StatusUpdateOut, waits=False)
def status_update(data: dict, project_id: int, idempotency_key: str):
    """Een statusupdate: een projectleider voor de eigen projecten, financiële rollen voor alle."""
    found = _project(project_id)

    def action():
        # Read again under the write lock: a colleague's update a moment ago must count.
        db.session.refresh(found)
        if "versie" in data and data["versie"] != found.version:
            raise StaleEdit()
        return project_services.add_status_update(
            db.session, current_user, found, status=data["status"], rag=data["voortgang"],
            update_date=data["datum"], progress=data["toelichting"], public_text=data["openbare_tekst"],
            next_steps=data["vervolgstappen"])

    return write(idempotency_key, action, lambda u: {
        "id": u.id, "project": found.code, "datum": u.date.isoformat(), "status": u.status, "voortgang": u.rag,
        "projectversie": found.version}, lambda u: url_for("api.project", project_id=found.id), FIELD_NAMES)


def _commitment_dump(commitment: Commitment) -> dict:
    item = next(i for i in budget_queries.project_money(db.session, commitment.project)["commitments"]
                if i["commitment"].id == commitment.id)
    return s.CommitmentSchema().dump(_commitment_out(commitment.project, item))


@bp.post("/projecten/<int:project_id>/verplichtingen")
@_booking(s.CommitmentIn, s.CommitmentSchema)
def commitment_new(data: dict, project_id: int, idempotency_key: str):
    """Een verplichting met kasritme; de budgetstop, afgesloten perioden en vier ogen gelden als op de pagina."""
    found = _project(project_id)
    return write(idempotency_key, lambda: add_commitment(
        db.session, current_user, found, reference=data["kenmerk"], signed_date=data["datum_ondertekening"],
        total=data["totaal"], schedule=_years(data["kasritme"]), description=data["omschrijving"],
        override_reason=data.get("reden_doorbraak")), _commitment_dump,
        lambda c: url_for("api.project_money", project_id=found.id), FIELD_NAMES)


def _commitment(commitment_id: int) -> Commitment:
    return db.session.get(Commitment, commitment_id) or abort(404)


@bp.post("/verplichtingen/<int:commitment_id>/bijstellingen")
@_booking(s.AdjustmentIn, s.CommitmentSchema)
def adjustment_new(data: dict, commitment_id: int, idempotency_key: str):
    """Een bijstelling van een verplichting: per jaar een verschil, gedateerd en met reden."""
    commitment = _commitment(commitment_id)
    return write(idempotency_key, lambda: adjust_commitment(
        db.session, current_user, commitment, adjustment_date=data["datum"], changes=_years(data["wijzigingen"]),
        reason=data["reden"], reference=data["kenmerk"], override_reason=data.get("reden_doorbraak")),
        lambda _rows: _commitment_dump(commitment),
        lambda _rows: url_for("api.project_money", project_id=commitment.project_id), FIELD_NAMES)


@bp.post("/verplichtingen/<int:commitment_id>/betalingen")
@_booking(s.PaymentIn, s.PaymentSchema)
def payment_new(data: dict, commitment_id: int, idempotency_key: str):
    """Een betaling (voorschot, betaling, eindbetaling of terugbetaling) op een verplichting."""
    commitment = _commitment(commitment_id)
    return write(idempotency_key, lambda: add_payment(
        db.session, current_user, commitment, payment_date=data["datum"], amount=data["bedrag"], kind=data["soort"],
        reference=data["kenmerk"], description=data["omschrijving"]),
        lambda p: s.PaymentSchema().dump({"id": p.id, "datum": p.date, "soort": p.kind, "bedrag": p.amount,
                                          "kenmerk": p.reference, "omschrijving": p.description}),
        lambda p: url_for("api.project_money", project_id=commitment.project_id), FIELD_NAMES)


@bp.post("/programmas/<code>/mutaties")
@_booking(s.MutationIn, s.MutationOut)
def mutation_new(data: dict, code: str, idempotency_key: str):
    """Een budgetmutatie voor één jaar (een kasschuif gaat via de pagina of de import)."""
    found = _programme(code)
    return write(idempotency_key, lambda: add_mutation(
        db.session, current_user, found, year=data["jaar"], amount=data["bedrag"], kind=data["soort"],
        moment=data["moment"], reason=data["reden"], mutation_date=data["datum"], reference=data["kenmerk"],
        override_reason=data.get("reden_doorbraak")),
        lambda m: s.MutationOut().dump({"id": m.id, "jaar": m.year, "bedrag": m.amount, "soort": m.kind,
                                        "moment": m.moment, "reden": m.reason, "datum": m.date,
                                        "kenmerk": m.reference, "versie": m.version}),
        lambda m: url_for("api.programme", code=found.code), FIELD_NAMES)
