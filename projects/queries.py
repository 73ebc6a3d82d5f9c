"""Read-only queries for the portfolio pages: the project list, a project's page, form choices (no rules)."""
from __future__ import annotations

from dataclasses import dataclass

from sqlalchemy import Select, case, func, literal_column, or_, select, type_coerce
from sqlalchemy.orm import contains_eager, joinedload, selectinload

from core.money import Money
from core.sections import project_money_sums
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
#: The money columns sort on the list's own sums (built per programme, so not in SORTS).
MONEY_SORTS = ("verplicht", "betaald", "resterend")
SORT_KEYS = (*SORTS, *MONEY_SORTS)


@dataclass(frozen=True)
class ProjectList:
    """The list's queries: `rows` (Project, vormen, verplicht, betaald, resterend) in order, and `totals`
    (count, verplicht, betaald, resterend) over every filtered project, not just one page."""

    rows: Select
    totals: Select


def _conditions(programme, filters: dict) -> list:
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
    return conditions


def project_list(programme, filters: dict, sort: str, descending: bool, *, with_owner: bool = False) -> ProjectList:
    """The project list with its filters (already checked), sort key and money; `with_owner` loads the owner."""
    conditions = _conditions(programme, filters)
    money = project_money_sums(programme.id)
    # Sums in SQL (the stored cents), read as Money: a project without commitments has 0,00.
    committed = type_coerce(func.coalesce(money.c.committed, literal_column("0")), Money)
    paid = type_coerce(func.coalesce(money.c.paid, literal_column("0")), Money)
    remaining = type_coerce(committed - paid, Money)
    column = {"verplicht": committed, "betaald": paid, "resterend": remaining}.get(sort)
    if column is None:
        column = SORTS[sort]
    order = column.desc() if descending else column.asc()
    # The forms as one "code,code" column (a correlated index lookup per row), not a selectinload:
    # that would add a query per 500 rows, and the list may show (and export) every project.
    forms = (select(func.aggregate_strings(ProjectExploitation.form, ","))
             .where(ProjectExploitation.project_id == Project.id).scalar_subquery())
    options = [contains_eager(Project.organisation)]
    if with_owner:
        options.append(joinedload(Project.owner))
    rows = (select(Project, forms.label("vormen"), committed.label("verplicht"), paid.label("betaald"),
                   remaining.label("resterend"))
            .where(*conditions)
            .outerjoin(Organisation, Project.organisation_id == Organisation.id)
            .outerjoin(money, money.c.project_id == Project.id)
            # Joined, not loaded per row: a fixed number of queries, however many projects.
            .options(*options)
            # Code breaks ties so the order (and so the pages) are stable.
            .order_by(order.nulls_last() if sort == "organisatie" else order, Project.code, Project.id))
    totals = (select(func.count(Project.id), type_coerce(func.sum(committed), Money),
                     type_coerce(func.sum(paid), Money), type_coerce(func.sum(remaining), Money))
              .select_from(Project).outerjoin(money, money.c.project_id == Project.id).where(*conditions))
    return ProjectList(rows, totals)


def project(session, project_id: int, *options) -> Project | None:
    return session.scalar(select(Project).where(Project.id == project_id).options(*options))


def project_page(session, project_id: int) -> Project | None:
    """A project with everything its page shows, in a fixed number of queries."""
    return project(session, project_id,
                   joinedload(Project.organisation), joinedload(Project.owner), joinedload(Project.predecessor),
                   selectinload(Project.successors), selectinload(Project.forms),
                   selectinload(Project.updates).joinedload(StatusUpdate.author))


def own_projects(session, programme, user_id: int) -> list[tuple[Project, StatusUpdate | None]]:
    """A project leader's projects in code order, each with its latest status update (by date, then entry)."""
    projects = session.scalars(
        select(Project).where(Project.programme_id == programme.id, Project.owner_id == user_id)
        .options(joinedload(Project.organisation), selectinload(Project.updates))
        .order_by(Project.code)).all()
    return [(p, max(p.updates, key=lambda u: (u.date, u.id), default=None)) for p in projects]


def latest_update(session, project: Project) -> StatusUpdate | None:
    """The update the status form shows and carries over from: the latest by date, then by entry."""
    return session.scalar(select(StatusUpdate).where(StatusUpdate.project_id == project.id)
                          .order_by(StatusUpdate.date.desc(), StatusUpdate.id.desc()).limit(1))


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


def form_codes(joined: str | None) -> list[str]:
    """The "code,code" of a list row's forms as codes in code order (as Project.forms lists them)."""
    return sorted(code for code in (joined or "").split(",") if code)
