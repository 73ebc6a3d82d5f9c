"""Sections that one package adds to another's page, computed by the view (a template never queries)."""
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
