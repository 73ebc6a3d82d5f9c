"""Read-only queries for the portfolio pages: the project list, a project's page, form choices (no rules)."""
from __future__ import annotations

from sqlalchemy import case, func, or_, select
from sqlalchemy.orm import contains_eager, joinedload, selectinload

from core.users import User
from projects.models import (
    CATEGORIES,
    LINES,
    STATUSES,
    Organisation,
    Project,
    ProjectExploitation,
    StatusUpdate,
)


def _in_listed_order(column, codes: dict):
    # Classifications sort as pages and reports list them (lifecycle order for status), not by code.
    return case({code: i for i, code in enumerate(codes)}, value=column, else_=len(codes))


#: ?sorteer= value -> sort expression; organisation sorts on the joined Organisation name.
SORTS = {
    "code": Project.code,
    "titel": Project.title,
    "categorie": _in_listed_order(Project.category, CATEGORIES),
    "lijn": _in_listed_order(Project.line, LINES),
    "status": _in_listed_order(Project.status, STATUSES),
    "organisatie": Organisation.name,
}


def project_list(programme, filters: dict, sort: str, descending: bool):
    """(page query, count query) of the project list with its filters (already checked) and sort key."""
    conditions = [Project.programme_id == programme.id]
    if "categorie" in filters:
        conditions.append(Project.category == filters["categorie"])
    if "lijn" in filters:
        conditions.append(Project.line == filters["lijn"])
    if "status" in filters:
        conditions.append(Project.status == filters["status"])
    if "organisatie" in filters:
        conditions.append(Project.organisation_id == int(filters["organisatie"]))
    if "vorm" in filters:
        conditions.append(Project.forms.any(ProjectExploitation.form == filters["vorm"]))
    if "zoek" in filters:
        pattern = f"%{filters['zoek'].lower()}%"
        conditions.append(or_(func.lower(Project.code).like(pattern), func.lower(Project.title).like(pattern)))
    column = SORTS[sort]
    order = column.desc() if descending else column.asc()
    query = (select(Project).where(*conditions)
             .outerjoin(Organisation, Project.organisation_id == Organisation.id)
             # Eager loading keeps the page at a fixed number of queries, however many projects.
             .options(contains_eager(Project.organisation), selectinload(Project.forms))
             # Code breaks ties so the order (and so the pages) are stable.
             .order_by(order.nulls_last() if sort == "organisatie" else order, Project.code, Project.id))
    # Counted on the project table alone (the index answers it), not on the joined, sorted page query.
    return query, select(func.count(Project.id)).where(*conditions)


def project(session, project_id: int, *options) -> Project | None:
    return session.scalar(select(Project).where(Project.id == project_id).options(*options))


def project_page(session, project_id: int) -> Project | None:
    """A project with everything its page shows, in a fixed number of queries."""
    return project(session, project_id,
                   joinedload(Project.organisation), joinedload(Project.owner), joinedload(Project.predecessor),
                   selectinload(Project.successors), selectinload(Project.forms),
                   selectinload(Project.updates).joinedload(StatusUpdate.author))


def own_projects(session, programme, user_id: int) -> list[Project]:
    return session.scalars(
        select(Project).where(Project.programme_id == programme.id, Project.owner_id == user_id)
        .options(joinedload(Project.organisation), selectinload(Project.updates))
        .order_by(Project.code)).all()


def organisations(session) -> list[Organisation]:
    return session.scalars(select(Organisation).order_by(Organisation.name)).all()


def project_counts_by_organisation(session) -> dict[int, int]:
    return dict(session.execute(
        select(Project.organisation_id, func.count(Project.id)).group_by(Project.organisation_id)).all())


def project_form_choices(session, programme, project: Project | None) -> tuple[list, list, list]:
    """(organisations, project leaders, possible predecessors) as (id, label) pairs for the project form."""
    orgs = [(o.id, o.name) for o in organisations(session)]
    owners = session.scalars(select(User).where(User.role == "projectleider", User.active.is_(True))
                             .order_by(User.name)).all()
    if project is not None and project.owner is not None and project.owner not in owners:
        # Keep the current owner visible, so saving other fields never silently drops them.
        owners.append(project.owner)
    others = select(Project.id, Project.code, Project.title).where(
        Project.programme_id == programme.id).order_by(Project.code)
    if project is not None:
        others = others.where(Project.id != project.id)
    return orgs, [(u.id, u.name) for u in owners], [(pid, f"{code} – {title}")
                                                    for pid, code, title in session.execute(others)]
