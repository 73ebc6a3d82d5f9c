"""Portfolio rules: creating programmes, organisations and projects, status updates by owners."""
from __future__ import annotations

from datetime import date

from sqlalchemy import func, select

from core.audit import diff, record, snapshot
from core.errors import Conflict, InvalidTransition, NotFound, PermissionDenied, ValidationError
from core.locking import serialise
from core.money import parse_eur
from core.users import FINANCE_ROLES, User, require_role
from projects.models import (
    CATEGORIES,
    EXPLOITATION_FORMS,
    INSTRUMENTS,
    LINES,
    ORGANISATION_TYPES,
    RAG,
    STATUSES,
    TRANSITIONS,
    YEAR_MAX,
    YEAR_MIN,
    Organisation,
    Programme,
    Project,
    ProjectExploitation,
    StatusUpdate,
)


def _text(value, label: str, field: str, required: bool = True, max_len: int | None = None) -> str:
    text = (value or "").strip()
    if required and not text:
        raise ValidationError(f"Vul {label} in.", field=field)
    if max_len and len(text) > max_len:
        raise ValidationError(f"{label[0].upper() + label[1:]} is te lang (hoogstens {max_len} tekens).",
                              field=field)
    return text


def _code(value, allowed: dict, label: str, field: str) -> str:
    if value not in allowed:
        raise ValidationError(f"Onbekende {label} '{value}'; kies uit: {', '.join(allowed.values())}.",
                              field=field)
    return value


def check_year(year, field: str = "year") -> int:
    try:
        year = int(year)
    except (TypeError, ValueError):
        raise ValidationError("Vul een jaartal in.", field=field) from None
    if not YEAR_MIN <= year <= YEAR_MAX:
        raise ValidationError(f"Het jaar moet tussen {YEAR_MIN} en {YEAR_MAX} liggen.", field=field)
    return year


def create_programme(session, actor, code: str, name: str, ministry: str, budget_article: str,
                     first_year: int, last_year: int | None = None) -> Programme:
    require_role(actor, "beheerder")
    serialise(session)
    code = _text(code, "een code", "code", max_len=20).upper()
    if session.scalar(select(Programme.id).where(Programme.code == code)):
        raise Conflict(f"Programma {code} bestaat al.", field="code")
    first = check_year(first_year, "first_year")
    last = check_year(last_year, "last_year") if last_year else None
    if last is not None and last < first:
        raise ValidationError("Het laatste jaar ligt voor het eerste jaar.", field="last_year")
    programme = Programme(code=code, name=_text(name, "een naam", "name", max_len=200),
                          ministry=_text(ministry, "het ministerie", "ministry", max_len=200),
                          budget_article=_text(budget_article, "het begrotingsartikel", "budget_article",
                                               max_len=50),
                          first_year=first, last_year=last)
    session.add(programme)
    record(session, actor, "create", programme, {"after": snapshot(programme)})
    return programme


def create_organisation(session, actor, name: str, type: str) -> Organisation:
    require_role(actor, *FINANCE_ROLES)
    serialise(session)
    name = _text(name, "een naam", "name", max_len=200)
    if session.scalar(select(Organisation.id).where(func.lower(Organisation.name) == name.lower())):
        raise Conflict(f"Organisatie '{name}' bestaat al.", field="name")
    org = Organisation(name=name, type=_code(type, ORGANISATION_TYPES, "organisatietype", "type"))
    session.add(org)
    record(session, actor, "create", org, {"after": snapshot(org)})
    return org


def update_organisation(session, actor, org: Organisation, name: str, type: str) -> Organisation:
    """Rename or retype an organisation (finance roles); names stay unique, case-insensitively."""
    require_role(actor, *FINANCE_ROLES)
    serialise(session)
    name = _text(name, "een naam", "name", max_len=200)
    dup = select(Organisation.id).where(func.lower(Organisation.name) == name.lower(), Organisation.id != org.id)
    if session.scalar(dup):
        raise Conflict(f"Organisatie '{name}' bestaat al.", field="name")
    type = _code(type, ORGANISATION_TYPES, "organisatietype", "type")
    before = snapshot(org)
    org.name, org.type = name, type
    changes = diff(before, snapshot(org))
    if changes["after"]:
        record(session, actor, "update", org, changes)
    return org


def organisation_project_count(session, org: Organisation) -> int:
    return session.scalar(select(func.count(Project.id)).where(Project.organisation_id == org.id))


def delete_organisation(session, actor, org: Organisation) -> None:
    """Remove an organisation that no project names (penvoerder); otherwise say which hold it."""
    require_role(actor, *FINANCE_ROLES)
    serialise(session)
    count = organisation_project_count(session, org)
    if count:
        noun = "project noemt" if count == 1 else "projecten noemen"
        raise Conflict(f"Organisatie '{org.name}' kan niet worden verwijderd: {count} {noun} haar als "
                       "penvoerder. Wijs die projecten eerst een andere organisatie toe.")
    record(session, actor, "delete", org, {"before": snapshot(org)})
    session.delete(org)
    session.flush()


PROJECT_FIELDS = ("code", "title", "summary", "category", "line", "organisation_id", "instrument",
                  "owner_id", "predecessor_id", "start_date", "end_date", "requested_amount",
                  "internal_notes", "contact_person", "forms")


def _project_values(session, programme: Programme, data: dict, project: Project | None) -> dict:
    """Check every project field; returns clean values or raises the first ValidationError."""
    v: dict = {}
    v["code"] = _text(data.get("code"), "een projectcode", "code", max_len=30)
    v["title"] = _text(data.get("title"), "een titel", "title", max_len=300)
    v["summary"] = _text(data.get("summary"), "", "summary", required=False)
    v["category"] = _code(data.get("category"), CATEGORIES, "categorie", "category")
    v["line"] = _code(data.get("line"), LINES, "programmalijn", "line")
    v["instrument"] = _code(data.get("instrument"), INSTRUMENTS, "instrument", "instrument")
    forms = list(dict.fromkeys(data.get("forms") or []))
    for form in forms:
        _code(form, EXPLOITATION_FORMS, "vorm van uitbuiting", "forms")
    if not forms:
        raise ValidationError("Kies minstens één vorm van uitbuiting.", field="forms")
    v["forms"] = forms
    org_id = data.get("organisation_id")
    if org_id is not None and session.get(Organisation, org_id) is None:
        raise ValidationError("Onbekende organisatie.", field="organisation_id")
    v["organisation_id"] = org_id
    owner_id = data.get("owner_id")
    if owner_id is not None:
        owner = session.get(User, owner_id)
        if owner is None or not owner.active:
            raise ValidationError("Onbekende of inactieve projectleider.", field="owner_id")
    v["owner_id"] = owner_id
    pred_id = data.get("predecessor_id")
    if pred_id is not None:
        pred = session.get(Project, pred_id)
        if pred is None or pred.programme_id != programme.id:
            raise ValidationError("Het voorgaande project hoort niet bij dit programma.", field="predecessor_id")
        if project is not None and _is_descendant_or_self(session, pred, project):
            raise ValidationError("Een project kan geen vervolg zijn van zichzelf of van een eigen vervolg.",
                                  field="predecessor_id")
    if v["category"] == "vervolg" and pred_id is None:
        raise ValidationError("Een vervolgproject noemt het project waarop het volgt.", field="predecessor_id")
    v["predecessor_id"] = pred_id
    start, end = data.get("start_date"), data.get("end_date")
    if start and end and end < start:
        raise ValidationError("De einddatum ligt voor de startdatum.", field="end_date")
    v["start_date"], v["end_date"] = start, end
    requested = data.get("requested_amount")
    if requested not in (None, ""):
        requested = parse_eur(requested)
        if requested < 0:
            raise ValidationError("Het gevraagde bedrag kan niet negatief zijn.", field="requested_amount")
    else:
        requested = None
    v["requested_amount"] = requested
    v["internal_notes"] = _text(data.get("internal_notes"), "", "internal_notes", required=False)
    v["contact_person"] = _text(data.get("contact_person"), "", "contact_person", required=False, max_len=200)
    dup = select(Project.id).where(Project.programme_id == programme.id, Project.code == v["code"])
    if project is not None:
        dup = dup.where(Project.id != project.id)
    if session.scalar(dup):
        raise Conflict(f"Projectcode {v['code']} bestaat al in dit programma.", field="code")
    return v


def _is_descendant_or_self(session, candidate: Project, project: Project) -> bool:
    node, seen = candidate, set()
    while node is not None and node.id not in seen:
        if node.id == project.id:
            return True
        seen.add(node.id)
        node = node.predecessor
    return False


def create_project(session, actor, programme: Programme, data: dict) -> Project:
    """Add a project (status voorstel unless given) after checking every field."""
    require_role(actor, *FINANCE_ROLES)
    serialise(session)
    v = _project_values(session, programme, data, None)
    status = _code(data.get("status") or "voorstel", STATUSES, "status", "status")
    forms = v.pop("forms")
    project = Project(programme_id=programme.id, status=status, **v)
    project.forms = [ProjectExploitation(form=f) for f in forms]
    session.add(project)
    record(session, actor, "create", project, {"after": {**snapshot(project), "forms": forms}})
    return project


def update_project(session, actor, project: Project, data: dict) -> Project:
    """Change a project's classification and details (finance roles only; status goes via updates)."""
    require_role(actor, *FINANCE_ROLES)
    serialise(session)
    before = {**snapshot(project), "forms": project.form_codes}
    v = _project_values(session, project.programme, {**_current(project), **data}, project)
    forms = v.pop("forms")
    for key, value in v.items():
        setattr(project, key, value)
    if forms != project.form_codes:
        project.forms = [ProjectExploitation(form=f) for f in forms]
    after = {**snapshot(project), "forms": forms}
    changes = diff(before, after)
    if changes["after"]:
        record(session, actor, "update", project, changes)
    return project


def _current(project: Project) -> dict:
    return {f: (project.form_codes if f == "forms" else getattr(project, f)) for f in PROJECT_FIELDS}


def may_update_status(actor, project: Project) -> bool:
    if actor is None or not actor.active:
        return False
    return actor.role in FINANCE_ROLES or (actor.role == "projectleider" and project.owner_id == actor.id)


def add_status_update(session, actor, project: Project, *, status: str, rag: str, update_date: date,
                      progress: str = "", public_text: str = "", next_steps: str = "") -> StatusUpdate:
    """Record a status update; a projectleider may do this for own projects only."""
    if not may_update_status(actor, project):
        raise PermissionDenied("U mag alleen de status van uw eigen projecten bijwerken.")
    serialise(session)
    status = _code(status, STATUSES, "status", "status")
    rag = _code(rag, RAG, "voortgangsindicatie", "rag")
    if status != project.status and status not in TRANSITIONS[project.status]:
        allowed = ", ".join(STATUSES[s] for s in sorted(TRANSITIONS[project.status])) or "geen"
        raise InvalidTransition(
            f"Van '{STATUSES[project.status]}' kan de status niet naar '{STATUSES[status]}'; "
            f"toegestaan: {allowed}.", field="status")
    if not isinstance(update_date, date):
        raise ValidationError("Vul een datum in.", field="update_date")
    update = StatusUpdate(project_id=project.id, author_id=actor.id, date=update_date, status=status, rag=rag,
                          progress=(progress or "").strip(), public_text=(public_text or "").strip(),
                          next_steps=(next_steps or "").strip())
    session.add(update)
    record(session, actor, "create", update, {"after": snapshot(update)})
    if status != project.status:
        old = project.status
        project.status = status
        record(session, actor, "status", project, {"before": {"status": old}, "after": {"status": status}})
    return update


def get_programme(session, code: str) -> Programme:
    programme = session.scalar(select(Programme).where(Programme.code == (code or "").upper()))
    if programme is None:
        raise NotFound(f"Programma '{code}' bestaat niet.")
    return programme
