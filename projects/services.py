"""Portfolio rules: creating programmes, organisations and projects, status updates by owners."""
from __future__ import annotations

from datetime import date

from sqlalchemy import func, select

from core import validate
from core.audit import diff, record, snapshot
from core.dated import check_days
from core.errors import Conflict, NotFound, PermissionDenied, ValidationError
from core.locking import serialise
from core.users import FINANCE_ROLES, User, require_role
from projects.models import (
    RAG,
    STATUSES,
    Organisation,
    Programme,
    Project,
    ProjectExploitation,
    StatusUpdate,
)
from projects.rules import (
    ProjectLookups,
    check_programme_years,
    check_project,
    check_status_change,
    checked_organisation,
    programme_code,
)


def create_programme(session, actor, code: str, name: str, ministry: str, budget_article: str,
                     first_year: int, last_year: int | None = None) -> Programme:
    require_role(actor, "beheerder")
    serialise(session)
    code = programme_code(code)
    if session.scalar(select(Programme.id).where(Programme.code == code)):
        raise Conflict(f"Programma {code} bestaat al.", field="code")
    first, last = check_programme_years(first_year, last_year)
    programme = Programme(code=code, name=validate.text(name, "een naam", "name", max_len=200),
                          ministry=validate.text(ministry, "het ministerie", "ministry", max_len=200),
                          budget_article=validate.text(budget_article, "het begrotingsartikel", "budget_article",
                                                       max_len=50),
                          first_year=first, last_year=last)
    session.add(programme)
    record(session, actor, "create", programme, {"after": snapshot(programme)})
    return programme


def update_programme(session, actor, programme: Programme, **values) -> Programme:
    """Change a programme's name, ministry, budget article or years (beheerder only); the code is its key."""
    require_role(actor, "beheerder")
    serialise(session)
    wanted = {"name": programme.name, "ministry": programme.ministry, "budget_article": programme.budget_article,
              "first_year": programme.first_year, "last_year": programme.last_year, **values}
    first, last = check_programme_years(wanted["first_year"], wanted["last_year"])
    before = snapshot(programme)
    programme.name = validate.text(wanted["name"], "een naam", "name", max_len=200)
    programme.ministry = validate.text(wanted["ministry"], "het ministerie", "ministry", max_len=200)
    programme.budget_article = validate.text(wanted["budget_article"], "het begrotingsartikel", "budget_article",
                                             max_len=50)
    programme.first_year, programme.last_year = first, last
    changes = diff(before, snapshot(programme))
    if changes["after"]:
        record(session, actor, "update", programme, changes)
    return programme


def create_organisation(session, actor, name: str, type: str) -> Organisation:
    require_role(actor, *FINANCE_ROLES)
    serialise(session)
    name, type = checked_organisation(name, type, lambda n: _organisation_named(session, n) is not None)
    org = Organisation(name=name, type=type)
    session.add(org)
    record(session, actor, "create", org, {"after": snapshot(org)})
    return org


def update_organisation(session, actor, org: Organisation, name: str, type: str) -> Organisation:
    """Rename or retype an organisation (finance roles); names stay unique, case-insensitively."""
    require_role(actor, *FINANCE_ROLES)
    serialise(session)
    name, type = checked_organisation(name, type, lambda n: _organisation_named(session, n) not in (None, org.id))
    before = snapshot(org)
    org.name, org.type = name, type
    changes = diff(before, snapshot(org))
    if changes["after"]:
        record(session, actor, "update", org, changes)
    return org


def _organisation_named(session, name: str) -> int | None:
    return session.scalar(select(Organisation.id).where(func.lower(Organisation.name) == name.lower()))


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
                  "owner_id", "predecessor_id", "predecessor_outside", "start_date", "end_date", "requested_amount",
                  "internal_notes", "contact_person", "forms")


def _project_values(session, programme: Programme, data: dict, project: Project | None) -> dict:
    """Load what the values refer to, then check them with projects.rules.check_project."""
    org_id, owner_id, pred_id = data.get("organisation_id"), data.get("owner_id"), data.get("predecessor_id")
    organisations = {org_id} if org_id is not None and session.get(Organisation, org_id) is not None else set()
    owner = session.get(User, owner_id) if owner_id is not None else None
    chain: dict[int, tuple[int, int | None]] = {}
    node = session.get(Project, pred_id) if pred_id is not None else None
    # A new project cannot be anyone's predecessor, so only an edit walks the predecessor's chain.
    while node is not None and node.id not in chain:
        chain[node.id] = (node.programme_id, node.predecessor_id)
        node = node.predecessor if project is not None else None
    wanted = (data.get("code") or "").strip()
    dup = select(Project.id).where(Project.programme_id == programme.id, Project.code == wanted)
    if project is not None:
        dup = dup.where(Project.id != project.id)
    taken = {wanted} if wanted and session.scalar(dup) else set()
    return check_project(data, ProjectLookups(
        programme_id=programme.id, project_id=project.id if project is not None else None,
        organisations=organisations, active_owners={owner_id} if owner is not None and owner.active else set(),
        projects=chain, taken_codes=taken))


def create_project(session, actor, programme: Programme, data: dict) -> Project:
    """Add a project (status voorstel unless given) after checking every field."""
    require_role(actor, *FINANCE_ROLES)
    serialise(session)
    v = _project_values(session, programme, data, None)
    status = validate.code(data.get("status") or "voorstel", STATUSES, "status", "status")
    forms = v.pop("forms")
    project = Project(programme_id=programme.id, status=status, initial_status=status, **v)
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
    """Record a status update; a projectleider may do this for own projects only, and sets no financial status."""
    if not may_update_status(actor, project):
        raise PermissionDenied("U mag alleen de status van uw eigen projecten bijwerken.")
    serialise(session)
    status = check_status_change(actor.role, project.status, status)
    rag = validate.code(rag, RAG, "voortgangsindicatie", "rag")
    if not isinstance(update_date, date):
        raise ValidationError("Vul een datum in.", field="update_date")
    validate.plausible_day(update_date, "update_date")
    check_days(session, project.programme_id, (update_date, "update_date"))
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
