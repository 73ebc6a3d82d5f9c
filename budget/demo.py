"""The demo programme STM: loads data/demo/stm.json through the services, so every rule and audit entry applies."""
from __future__ import annotations

import json
import secrets
from collections import Counter
from datetime import date, timedelta
from pathlib import Path

from sqlalchemy import func, select

from budget import services as budget
from core.users import SystemActor, User, create_user
from projects import services as portfolio
from projects.models import STATUSES, Organisation, Programme, Project
from projects.rules import status_path

DEMO_CODE = "STM"
DEFAULT_PATH = Path(__file__).resolve().parent.parent / "data" / "demo" / "stm.json"

_CLOSING = ("afgerond", "afgewezen", "ingetrokken")

#: Texts of the status updates the loader adds for steps the data file does not spell out.
_STEP_TEXTS = {
    "voorstel": ("Projectvoorstel ontvangen en geregistreerd.", "Voorstel ingediend."),
    "in_behandeling": ("Voorstel in behandeling genomen; beoordeling door het programmateam.",
                       "Het voorstel wordt beoordeeld."),
    "toegekend": ("Financiering toegekend{ref}.", "Financiering toegekend."),
    "in_uitvoering": ("Project gestart.", "Het project is gestart."),
    "afgerond": ("Project afgerond; eindverantwoording ontvangen.", "Het project is afgerond."),
    "afgewezen": ("Voorstel afgewezen.", "Het voorstel is niet gehonoreerd."),
    "ingetrokken": ("Voorstel of project ingetrokken.", "Het project is ingetrokken."),
    "opgeschort": ("Project opgeschort.", "Het project is tijdelijk opgeschort."),
}


#: The demo loader acts as this beheerder without a user row.
DEMO_ACTOR = SystemActor("systeem (demo)")


def load_demo(session, with_users: bool, path: Path | None = None) -> dict:
    """Load the demo programme unless programme STM exists; flushes, never commits.

    Returns {"loaded": False} when STM is already there (nothing changed), else
    {"loaded": True, "users": [(email, role, password), ...], "counts": {...}}; the
    passwords are random and exist only in this return value.
    """
    if session.scalar(select(Programme.id).where(Programme.code == DEMO_CODE)) is not None:
        return {"loaded": False}
    data = json.loads(Path(path or DEFAULT_PATH).read_text(encoding="utf-8"))
    actor = DEMO_ACTOR
    counts: Counter = Counter()

    created_users = _load_users(session, actor, data.get("users", []), counts) if with_users else []
    programme = _load_programme(session, actor, data["programme"])
    organisations = _load_organisations(session, actor, data.get("organisations", []), counts)
    _load_funding(session, actor, programme, data, counts)
    _load_staffing(session, actor, programme, data.get("staffing", []), counts)
    _load_projects(session, actor, programme, data.get("projects", []), organisations, with_users, counts)
    session.flush()

    keys = ("users", "organisations", "projects", "status_updates", "funding_sources", "mutations",
            "staffing_reservations", "staffing_costs", "commitments", "adjustments", "settlements", "payments")
    return {"loaded": True, "users": created_users, "counts": {k: counts.get(k, 0) for k in keys}}


# --- Pieces ----------------------------------------------------------------------------------


def _day(value: str | None) -> date | None:
    return date.fromisoformat(value) if value else None


def _load_users(session, actor, users: list[dict], counts: Counter) -> list[tuple[str, str, str]]:
    created = []
    for spec in users:
        email = spec["email"].strip().lower()
        if session.scalar(select(User.id).where(func.lower(User.email) == email)) is not None:
            continue  # an existing account keeps its password
        password = secrets.token_urlsafe(12)
        create_user(session, actor, email, spec["name"], spec["role"], password)
        created.append((email, spec["role"], password))
        counts["users"] += 1
    return created


def _load_programme(session, actor, spec: dict) -> Programme:
    return portfolio.create_programme(session, actor, spec["code"], spec["name"], spec["ministry"],
                                      spec["budget_article"], spec["first_year"], spec.get("last_year"))


def _load_organisations(session, actor, specs: list[dict], counts: Counter) -> dict[str, Organisation]:
    """Organisations by name; one that already exists (names are global) is reused as it is."""
    result = {}
    for spec in specs:
        org = session.scalar(select(Organisation).where(func.lower(Organisation.name) == spec["name"].lower()))
        if org is None:
            org = portfolio.create_organisation(session, actor, spec["name"], spec["type"])
            counts["organisations"] += 1
        result[spec["name"]] = org
    return result


def _load_funding(session, actor, programme: Programme, data: dict, counts: Counter) -> None:
    for spec in data.get("funding_sources", []):
        budget.add_funding_source(session, actor, programme, spec["name"], spec["kind"], spec.get("reference", ""),
                                  {int(y): a for y, a in spec["allocations"].items()}, _valid_from(programme, spec))
        counts["funding_sources"] += 1
    for spec in data.get("mutations", []):
        budget.add_mutation(session, actor, programme, year=spec["year"], amount=spec["amount"], kind=spec["kind"],
                            moment=spec["moment"], reason=spec["reason"], reference=spec.get("reference", ""),
                            mutation_date=_day(spec["date"]))
        counts["mutations"] += 1
    for spec in data.get("kasschuiven", []):
        rows = budget.add_kasschuif(session, actor, programme, amounts={int(y): a for y, a in spec["amounts"].items()},
                                    moment=spec["moment"], reason=spec["reason"],
                                    reference=spec.get("reference", ""), mutation_date=_day(spec["date"]))
        counts["mutations"] += len(rows)


def _valid_from(programme: Programme, spec: dict) -> date:
    # Demo money counts from its own date, else from the programme's start, never from the day it is loaded.
    return _day(spec["valid_from"]) if "valid_from" in spec else date(programme.first_year, 1, 1)


def _load_staffing(session, actor, programme: Programme, specs: list[dict], counts: Counter) -> None:
    for spec in specs:
        reservation = budget.set_staffing_reservation(session, actor, programme, year=spec["year"], fte=spec["fte"],
                                                      amount=spec["amount"], valid_from=_valid_from(programme, spec))
        counts["staffing_reservations"] += 1
        for cost in spec.get("costs", []):
            budget.add_staffing_cost(session, actor, reservation, cost_date=_day(cost["date"]), amount=cost["amount"],
                                     description=cost.get("description", ""), reference=cost.get("reference", ""))
            counts["staffing_costs"] += 1


def _load_projects(session, actor, programme: Programme, specs: list[dict], organisations: dict,
                   with_users: bool, counts: Counter) -> None:
    by_code: dict[str, Project] = {}
    for spec in specs:
        owner_id = None
        if with_users and spec.get("owner"):
            owner_id = session.scalar(select(User.id).where(func.lower(User.email) == spec["owner"].lower()))
        predecessor = spec.get("predecessor")
        if predecessor and predecessor not in by_code:
            raise ValueError(f"demodata: {spec['code']} volgt op {predecessor}, dat eerder in het bestand moet staan")
        org = spec.get("organisation")
        project = portfolio.create_project(session, actor, programme, {
            "code": spec["code"],
            "title": spec["title"],
            "summary": spec.get("summary", ""),
            "category": spec["category"],
            "line": spec["line"],
            "instrument": spec["instrument"],
            "forms": spec["forms"],
            "organisation_id": organisations[org].id if org else None,
            "owner_id": owner_id,
            "predecessor_id": by_code[predecessor].id if predecessor else None,
            "start_date": _day(spec.get("start_date")),
            "end_date": _day(spec.get("end_date")),
            "requested_amount": spec.get("requested_amount"),
            "internal_notes": spec.get("internal_notes", ""),
            "contact_person": spec.get("contact_person", ""),
        })
        by_code[project.code] = project
        counts["projects"] += 1
        _walk_status(session, actor, project, spec, counts)
        for commitment_spec in spec.get("commitments", []):
            _load_commitment(session, actor, project, commitment_spec, counts)


# --- Status history ------------------------------------------------------------------------


def _default_step_date(status: str, spec: dict) -> date | None:
    """Date of a status step the data file leaves implicit, from the project's own dates."""
    given = (spec.get("status_dates") or {}).get(status)
    if given:
        return _day(given)
    submitted = _day(spec["submitted"])
    signed = min((_day(c["signed_date"]) for c in spec.get("commitments", [])), default=None)
    start, end = _day(spec.get("start_date")), _day(spec.get("end_date"))
    if status == "voorstel":
        return submitted
    if status == "in_behandeling":
        return submitted + timedelta(days=21)
    if status == "toegekend":
        return signed
    if status == "in_uitvoering":
        return max(d for d in (start, signed) if d) if (start or signed) else None
    if status == "afgerond":
        return end
    return None


def _walk_status(session, actor, project: Project, spec: dict, counts: Counter) -> None:
    """Give the project its history: the data file's updates, plus generated steps in between."""
    explicit = sorted(spec.get("updates", []), key=lambda u: u["date"])
    last = _day(spec["submitted"])
    if not explicit or explicit[0]["status"] != "voorstel":
        _step(session, actor, project, spec, "voorstel", last, counts)
    for update in explicit:
        when = _day(update["date"])
        # A progress update inside a phase gets its own step at the phase's start; a closing
        # decision (afgerond, afgewezen, ...) is itself the step.
        default = _default_step_date(update["status"], spec)
        early = update["status"] not in _CLOSING and default is not None and default < when
        last = _walk_to(session, actor, project, spec, update["status"], last, until=when, counts=counts,
                        include_target=early)
        portfolio.add_status_update(session, actor, project, status=update["status"], rag=update.get("rag", "op_koers"),
                                    update_date=when, progress=update.get("progress", ""),
                                    public_text=update.get("public_text", ""),
                                    next_steps=update.get("next_steps", ""))
        counts["status_updates"] += 1
        last = when
    final = spec.get("status", "voorstel")
    if final != project.status:
        _walk_to(session, actor, project, spec, final, last, until=None, counts=counts, include_target=True)


def _walk_to(session, actor, project, spec, target: str, last: date, *, until: date | None, counts: Counter,
             include_target: bool = False) -> date:
    """Generated updates for the steps up to `target` (and `target` itself when asked)."""
    if target == project.status:
        return last
    try:
        steps = status_path(project.status, target)
    except ValueError as exc:
        raise ValueError(f"demodata: {exc}") from None
    if not include_target:
        steps = steps[:-1]
    for status in steps:
        when = _default_step_date(status, spec) or last
        if until is not None:
            when = min(when, until)
        when = max(when, last)
        _step(session, actor, project, spec, status, when, counts)
        last = when
    return last


def _step(session, actor, project, spec, status: str, when: date, counts: Counter) -> None:
    progress, public = _STEP_TEXTS.get(status, (f"Status: {STATUSES[status]}.", ""))
    refs = ", ".join(c["reference"] for c in spec.get("commitments", []))
    progress = progress.format(ref=f" (kenmerk {refs})" if refs else "")
    portfolio.add_status_update(session, actor, project, status=status, rag="op_koers", update_date=when,
                                progress=progress, public_text=public)
    counts["status_updates"] += 1


# --- Money ---------------------------------------------------------------------------------


def _load_commitment(session, actor, project: Project, spec: dict, counts: Counter) -> None:
    commitment = budget.add_commitment(
        session, actor, project, reference=spec["reference"], signed_date=_day(spec["signed_date"]),
        total=spec["total"], schedule={int(y): a for y, a in spec["schedule"].items()},
        description=spec.get("description", ""))
    counts["commitments"] += 1
    # Payments and adjustments in date order (a refund before the lower vaststelling it leads to).
    events = [("payment", p) for p in spec.get("payments", [])]
    events += [("adjustment", a) for a in spec.get("adjustments", [])]
    # The vaststelling last on its day: it settles what was paid by then.
    events += [("settlement", spec["settlement"])] if "settlement" in spec else []
    for kind, event in sorted(events, key=lambda e: (e[1]["date"], e[0] == "settlement")):
        if kind == "settlement":
            budget.settle_commitment(session, actor, commitment, settlement_date=_day(event["date"]),
                                     amount=event["amount"], reference=event["reference"],
                                     note=event.get("note", ""))
            counts["settlements"] += 1
        elif kind == "payment":
            budget.add_payment(session, actor, commitment, payment_date=_day(event["date"]), amount=event["amount"],
                               kind=event["kind"], reference=event.get("reference"),
                               description=event.get("description", ""))
            counts["payments"] += 1
        else:
            rows = budget.adjust_commitment(session, actor, commitment, adjustment_date=_day(event["date"]),
                                            changes={int(y): a for y, a in event["changes"].items()},
                                            reason=event["reason"], reference=event.get("reference", ""))
            counts["adjustments"] += len(rows)
