"""What one package adds to another's pages: project-page sections, and the per-project money sums of the list."""
from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass


@dataclass(frozen=True)
class Section:
    template: str
    data: object


#: (template, loader(session, project) -> data) in page order; the budget package adds its money.
_PROJECT_SECTIONS: list[tuple[str, Callable]] = []


def add_project_section(template: str, loader: Callable) -> None:
    """Show `template` on the project page with `data = loader(session, project)`."""
    if all(t != template for t, _ in _PROJECT_SECTIONS):
        _PROJECT_SECTIONS.append((template, loader))


def project_sections(session, project) -> list[Section]:
    return [Section(template, loader(session, project)) for template, loader in _PROJECT_SECTIONS]


#: builder(programme_id) -> a subquery (project_id, committed, paid), sums in the stored unit, of the
#: programme's projects that have money. The budget package provides it: projects must not import budget.
_PROJECT_MONEY: list[Callable] = []


def provide_project_money(builder: Callable) -> None:
    _PROJECT_MONEY[:] = [builder]


def project_money_sums(programme_id: int):
    return _PROJECT_MONEY[0](programme_id)
