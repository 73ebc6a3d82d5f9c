"""Portfolio rules on plain state (no session): programme years, project fields, the status lifecycle."""
from __future__ import annotations

import calendar
import re
from collections import deque
from collections.abc import Callable, Collection, Mapping
from dataclasses import dataclass, field
from datetime import date

from core.errors import (
    Conflict,
    DomainError,
    InvalidTransition,
    PermissionDenied,
    Refusals,
    ValidationError,
)
from core.money import parse_eur
from core.users import FINANCE_ROLES
from core.validate import code, plausible_day, text, year
from projects.models import (
    CATEGORIES,
    EXPLOITATION_FORMS,
    INSTRUMENTS,
    LINES,
    ORGANISATION_TYPES,
    STATUSES,
    TRANSITIONS,
)

__all__ = [
    "CLOSED_STATUSES",
    "FINANCIAL_STATUSES",
    "TRANSITIONS",
    "UPDATE_INTERVAL_MONTHS",
    "ProjectLookups",
    "check_programme_years",
    "check_project",
    "check_status_change",
    "checked_organisation",
    "may_set_status",
    "next_update_due",
    "programme_code",
    "settable_statuses",
    "status_path",
    "update_overdue",
]

ORGANISATION_NAME_MAX = 200

#: The main lifecycle; a path search prefers these steps so a generated history walks the usual route.
MAIN_PATH = ("voorstel", "in_behandeling", "toegekend", "in_uitvoering", "afgerond")

#: Statuses only a finance role (financieel, beheerder) sets. Toegekend and afgewezen are the grant
#: decision itself. Afgerond is one too: it follows the eindverantwoording and the vaststelling (the
#: final settlement of the money, often a lower commitment), and it is final (no way back), so a
#: project owner must not close the books on a project. The owner reports "done" in the progress text.
FINANCIAL_STATUSES = frozenset({"toegekend", "afgewezen", "afgerond"})


# --- Programme -----------------------------------------------------------------------------------


def programme_code(value) -> str:
    """A programme code: capitals, digits and hyphens (it names files and appears in every URL)."""
    clean = text(value, "een code", "code", max_len=20).upper()
    if not re.fullmatch(r"[A-Z0-9-]+", clean, re.ASCII):
        raise ValidationError("Een programmacode bestaat uit hoofdletters, cijfers en streepjes, "
                              "bijvoorbeeld STM of STM-2.", field="code")
    return clean


def check_programme_years(first, last=None) -> tuple[int, int | None]:
    """A programme's first year and optional last year, the last not before the first."""
    first = year(first, "first_year")
    last = year(last, "last_year") if last else None
    if last is not None and last < first:
        raise ValidationError("Het laatste jaar ligt voor het eerste jaar.", field="last_year")
    return first, last


# --- Organisations ------------------------------------------------------------------------------


def checked_organisation(name, type, taken: Callable[[str], bool]) -> tuple[str, str]:
    """(name, type) of an organisation: a name no other organisation has (in any case), a known type.

    `taken(name)` answers whether another organisation already has this name: a query for one
    web form, a dict for a whole import file.
    """
    name = text(name, "een naam", "name", max_len=ORGANISATION_NAME_MAX)
    if taken(name):
        raise Conflict(f"Organisatie '{name}' bestaat al.", field="name")
    return name, code(type, ORGANISATION_TYPES, "organisatietype", "type")


# --- Project fields ------------------------------------------------------------------------------


#: Also said by the import when a new row names itself (it has no id for check_project yet).
FOLLOWS_ITSELF = "Een project kan geen vervolg zijn van zichzelf of van een eigen vervolg."


@dataclass(frozen=True)
class ProjectLookups:
    """What check_project needs to know of the world, loaded by the caller (a service or the import).

    Only what the values refer to has to be present: the organisation and owner they name, the
    predecessor and (when editing) its chain of predecessors, and whether the code is taken.
    """

    programme_id: int
    #: The project being edited; None for a new one.
    project_id: int | None = None
    organisations: Collection[int] = frozenset()
    #: Ids of active users (a projectleider of an inactive account cannot own a project).
    active_owners: Collection[int] = frozenset()
    #: Project id -> (programme id, predecessor id), for the predecessor and the projects it follows.
    projects: Mapping[int, tuple[int, int | None]] = field(default_factory=dict)
    #: Codes other projects of the programme already use.
    taken_codes: Collection[str] = frozenset()


def check_project(values: Mapping, lookups: ProjectLookups) -> dict:
    """Check every project field; returns the clean values, or raises every refusal at once.

    One error is raised as itself, several as core.errors.Refusals, so a form shows them together
    (a taken code and an end date before the start date on the first submit, not one per submit).
    """
    errors: list[DomainError] = []

    def checked(rule: Callable, *args, **kwargs):
        # A refused field is noted and left None; the checks that need it then pass it by.
        try:
            return rule(*args, **kwargs)
        except DomainError as exc:
            errors.append(exc)
            return None

    v: dict = {}
    v["code"] = checked(text, values.get("code"), "een projectcode", "code", max_len=30)
    v["title"] = checked(text, values.get("title"), "een titel", "title", max_len=300)
    v["summary"] = checked(text, values.get("summary"), "", "summary", required=False)
    v["category"] = checked(code, values.get("category"), CATEGORIES, "categorie", "category")
    v["line"] = checked(code, values.get("line"), LINES, "programmalijn", "line")
    v["instrument"] = checked(code, values.get("instrument"), INSTRUMENTS, "instrument", "instrument")
    v["forms"] = checked(_forms, values.get("forms"))
    v["organisation_id"] = checked(_organisation, values.get("organisation_id"), lookups)
    v["owner_id"] = checked(_owner, values.get("owner_id"), lookups)
    v["predecessor_id"] = checked(_predecessor, values.get("predecessor_id"), lookups)
    v["predecessor_outside"] = checked(text, values.get("predecessor_outside"), "", "predecessor_outside",
                                       required=False, max_len=200)
    checked(_one_predecessor, v["category"], values.get("predecessor_id"), v["predecessor_outside"])
    v["start_date"] = checked(_day, values.get("start_date"), "start_date")
    v["end_date"] = checked(_day, values.get("end_date"), "end_date")
    checked(_period, v["start_date"], v["end_date"])
    v["requested_amount"] = checked(_requested, values.get("requested_amount"))
    v["internal_notes"] = checked(text, values.get("internal_notes"), "", "internal_notes", required=False)
    v["contact_person"] = checked(text, values.get("contact_person"), "", "contact_person", required=False,
                                  max_len=200)
    checked(_free_code, v["code"], lookups)
    Refusals.raise_any(errors)
    return v


def _forms(value) -> list[str]:
    forms = list(dict.fromkeys(value or []))
    for form in forms:
        code(form, EXPLOITATION_FORMS, "vorm van uitbuiting", "forms")
    if not forms:
        raise ValidationError("Kies minstens één vorm van uitbuiting.", field="forms")
    return forms


def _organisation(org_id, lookups: ProjectLookups):
    if org_id is not None and org_id not in lookups.organisations:
        raise ValidationError("Onbekende organisatie.", field="organisation_id")
    return org_id


def _owner(owner_id, lookups: ProjectLookups):
    if owner_id is not None and owner_id not in lookups.active_owners:
        raise ValidationError("Onbekende of inactieve projectleider.", field="owner_id")
    return owner_id


def _period(start, end) -> None:
    if start and end and end < start:
        raise ValidationError("De einddatum ligt voor de startdatum.", field="end_date")


def _free_code(project_code, lookups: ProjectLookups) -> None:
    if project_code is not None and project_code in lookups.taken_codes:
        raise Conflict(f"Projectcode {project_code} bestaat al in dit programma.", field="code")


def _predecessor(pred_id, lookups: ProjectLookups):
    if pred_id is not None:
        pred = lookups.projects.get(pred_id)
        if pred is None or pred[0] != lookups.programme_id:
            raise ValidationError("Het voorgaande project hoort niet bij dit programma.", field="predecessor_id")
        if lookups.project_id is not None and _follows(lookups, pred_id, lookups.project_id):
            raise ValidationError(FOLLOWS_ITSELF, field="predecessor_id")
    return pred_id


def _one_predecessor(category, pred_id, outside) -> None:
    if pred_id is not None and outside:
        raise ValidationError("Kies een voorgaand project uit de lijst óf noem een voorganger buiten het systeem, "
                              "niet allebei.", field="predecessor_outside")
    if category == "vervolg" and pred_id is None and not outside:
        raise ValidationError("Een vervolgproject noemt het project waarop het volgt: een project uit de lijst "
                              "of een voorganger buiten het systeem.", field="predecessor_id")


def _day(value, field_name: str):
    if value:
        plausible_day(value, field_name)
    return value


def _requested(value):
    if value in (None, ""):
        return None
    requested = parse_eur(value)
    if requested < 0:
        raise ValidationError("Het gevraagde bedrag kan niet negatief zijn.", field="requested_amount")
    return requested


def _follows(lookups: ProjectLookups, candidate: int, project: int) -> bool:
    """Whether `candidate` is `project` or one of its follow-ups (walking candidate's predecessors)."""
    node, seen = candidate, set()
    while node is not None and node not in seen:
        if node == project:
            return True
        seen.add(node)
        node = lookups.projects.get(node, (None, None))[1]
    return False


# --- Status --------------------------------------------------------------------------------------


def status_path(start: str, target: str) -> list[str]:
    """The shortest way through TRANSITIONS from `start` to `target` (excluding `start`); ValueError if none."""
    order = {s: i for i, s in enumerate(MAIN_PATH)}
    queue, came_from = deque([start]), {start: None}
    while queue:
        current = queue.popleft()
        if current == target:
            break
        for nxt in sorted(TRANSITIONS[current], key=lambda s: (order.get(s, len(order)), s)):
            if nxt not in came_from:
                came_from[nxt] = current
                queue.append(nxt)
    if target not in came_from:
        raise ValueError(f"status '{target}' is niet bereikbaar vanuit '{start}'")
    path, node = [], target
    while node != start:
        path.append(node)
        node = came_from[node]
    return path[::-1]


def may_set_status(role: str | None, current: str, new: str) -> bool:
    """Whether this role may move a project from `current` to `new` (keeping the status is always fine)."""
    return new == current or new not in FINANCIAL_STATUSES or role in FINANCE_ROLES


def settable_statuses(role: str | None, current: str) -> list[str]:
    """The statuses this role may move a project to from `current`, in lifecycle order."""
    return [s for s in STATUSES if s in TRANSITIONS[current] and may_set_status(role, current, s)]


def check_status_change(role: str | None, current: str, new: str) -> str:
    """A status (code) the lifecycle allows from `current`, and that this role may set."""
    new = code(new, STATUSES, "status", "status")
    if new != current and new not in TRANSITIONS[current]:
        allowed = ", ".join(STATUSES[s] for s in sorted(TRANSITIONS[current])) or "geen"
        raise InvalidTransition(f"Van '{STATUSES[current]}' kan de status niet naar '{STATUSES[new]}'; "
                                f"toegestaan: {allowed}.", field="status")
    if not may_set_status(role, current, new):
        raise PermissionDenied(f"De status '{STATUSES[new]}' is een financieel besluit; die zet alleen een "
                               "financieel medewerker of beheerder.", field="status")
    return new


# --- Status-update cadence ------------------------------------------------------------------------

#: A project owner updates each running project at least every six months: the Kamer gets a progress
#: letter twice a year (reference/DOMAIN.md, "Frequency"), so every letter can use an update that is at
#: most half a year old. Change it here; Mijn projecten, its marker and the README follow.
UPDATE_INTERVAL_MONTHS = 6

#: Finished or stopped: no more updates are due (opgeschort is paused, not stopped, so it still reports).
CLOSED_STATUSES = frozenset({"afgerond", "afgewezen", "ingetrokken"})


def add_months(day: date, months: int) -> date:
    """The same day `months` later; the month's last day when it is shorter (31 aug + 6 -> 28/29 feb)."""
    index = day.month - 1 + months
    year, month = day.year + index // 12, index % 12 + 1
    return date(year, month, min(day.day, calendar.monthrange(year, month)[1]))


def next_update_due(status: str, last_update: date | None, start: date | None, entered: date) -> date | None:
    """The day a project's next status update is due; None for a closed project.

    An interval after the latest update; a project without any update counts from its start date
    (or, without one, from the day it was entered), so its first update is due one interval in.
    """
    if status in CLOSED_STATUSES:
        return None
    return add_months(last_update or start or entered, UPDATE_INTERVAL_MONTHS)


def update_overdue(due: date | None, today: date) -> bool:
    """Achterstallig: the due day has passed without an update (on the day itself it is still on time)."""
    return due is not None and today > due
