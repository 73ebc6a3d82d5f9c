"""Scenarios: finance roles make and fill them, every role reads them, adopting books them through the services."""
from __future__ import annotations

import json
from dataclasses import dataclass
from datetime import date
from decimal import Decimal

from sqlalchemy import select

from approvals import replay
from approvals.services import DRAFTING, Draft, decode, encode
from budget import services as budget
from budget.ledger import programme_years
from budget.models import Commitment
from core import validate
from core.audit import record, snapshot
from core.db import utcnow
from core.errors import (
    BudgetStopError,
    Collect,
    Conflict,
    DomainError,
    NotFound,
    Refusals,
    ValidationError,
)
from core.locking import serialise
from core.money import ZERO, format_eur
from core.users import FINANCE_ROLES, require_role
from projects.models import CATEGORIES, LINES, Programme, Project
from scenarios import rules
from scenarios.models import ENTRY_KINDS, Scenario, ScenarioEntry

#: The base is the stand the budget stop judges: every entry, whatever its date (ledger.enforce_budget_stop).
BASE_DAY = date(validate.YEAR_MAX, 12, 31)


def create_scenario(session, actor, programme: Programme, name: str, description: str = "") -> Scenario:
    require_role(actor, *FINANCE_ROLES)
    serialise(session)
    c = Collect()
    name = c(validate.text, name, "een naam", "name", max_len=200)
    if name and session.scalar(select(Scenario.id).where(Scenario.programme_id == programme.id,
                                                          Scenario.name == name)):
        c.errors.append(Conflict(f"Er is al een scenario '{name}' voor dit programma.", field="name"))
    c.raise_any()
    scenario = Scenario(programme_id=programme.id, name=name, description=(description or "").strip(),
                        created_by_id=getattr(actor, "id", None))
    session.add(scenario)
    record(session, actor, "create", scenario, {"after": snapshot(scenario)})
    return scenario


def get_scenario(session, scenario_id: int) -> Scenario:
    scenario = session.get(Scenario, scenario_id)
    if scenario is None:
        raise NotFound(f"Scenario {scenario_id} bestaat niet.")
    return scenario


def list_scenarios(session, programme: Programme) -> list[Scenario]:
    return list(session.scalars(select(Scenario).where(Scenario.programme_id == programme.id)
                                .order_by(Scenario.state, Scenario.created_at.desc(), Scenario.id.desc())))


def _open(scenario: Scenario) -> None:
    if scenario.state != "concept":
        raise Conflict(f"Scenario '{scenario.name}' is al aangenomen; het verandert niet meer.")


def _in_programme(scenario: Scenario, programme_id: int, what: str) -> None:
    if programme_id != scenario.programme_id:
        raise ValidationError(f"{what} hoort niet bij het programma van dit scenario.")


# --- Entries: the budget services, drafting -----------------------------------------------------------------

def _call(session, actor, scenario: Scenario, kind: str, f: dict):
    """The service an entry of `kind` is, called with the entry's fields; returns the project it is for."""
    programme = session.get(Programme, scenario.programme_id)
    if kind == "commitment":
        project = f["project"]
        _in_programme(scenario, project.programme_id, "Dit project")
        budget.add_commitment(session, actor, project, reference=f["reference"], signed_date=f["signed_date"],
                              total=f["total"], schedule=f["schedule"], description=f.get("description", ""))
        return project.id
    if kind == "adjustment":
        commitment: Commitment = f["commitment"]
        _in_programme(scenario, commitment.project.programme_id, "Deze verplichting")
        budget.adjust_commitment(session, actor, commitment, adjustment_date=f["adjustment_date"],
                                 changes=f["changes"], reason=f["reason"], reference=f.get("reference", ""))
        return commitment.project_id
    if kind == "kasschuif":
        budget.add_kasschuif(session, actor, programme, amounts=f["amounts"], moment=f["moment"], reason=f["reason"],
                             mutation_date=f["mutation_date"], reference=f.get("reference", ""))
    elif kind == "mutation":
        budget.add_mutation(session, actor, programme, year=f["year"], amount=f["amount"], kind=f["mutation_kind"],
                            moment=f["moment"], reason=f["reason"], mutation_date=f["mutation_date"],
                            reference=f.get("reference", ""))
    elif kind == "staffing":
        budget.set_staffing_reservation(session, actor, programme, year=f["year"], fte=f["fte"], amount=f["amount"])
    else:
        raise ValidationError(f"Onbekende soort post '{kind}'.")
    return None


def add_entry(session, actor, scenario: Scenario, kind: str, **fields) -> ScenarioEntry:
    """An entry: the same service and rules as booking it (closed periods, schedules, ...), but kept, not booked.

    Only the budget stop does not refuse: a scenario shows where it would overrun (rules.year_rows).
    """
    require_role(actor, *FINANCE_ROLES)
    serialise(session)
    _open(scenario)
    drafts: list[Draft] = []
    session.info[DRAFTING] = drafts
    try:
        project_id = _call(session, actor, scenario, kind, fields)
    finally:
        session.info.pop(DRAFTING, None)
    if not drafts:
        raise ValidationError("Deze post verandert niets; er is niets aan het scenario toegevoegd.")
    draft = drafts[-1]
    entry = ScenarioEntry(kind=kind, params=json.dumps(encode(draft.params), sort_keys=True),
                          deltas=json.dumps({str(y): str(d) for y, d in sorted(draft.deltas.items())}),
                          summary=draft.summary[:500], project_id=project_id)
    scenario.entries.append(entry)
    record(session, actor, "create", entry, {"after": {"scenario": scenario.name, "kind": kind,
                                                       "summary": entry.summary, "deltas": draft.deltas}})
    return entry


def remove_entry(session, actor, scenario: Scenario, entry_id: int) -> None:
    require_role(actor, *FINANCE_ROLES)
    serialise(session)
    _open(scenario)
    entry = next((e for e in scenario.entries if e.id == entry_id), None)
    if entry is None:
        raise NotFound("Deze post bestaat niet (meer).")
    record(session, actor, "delete", entry, {"before": {"scenario": scenario.name, "summary": entry.summary}})
    scenario.entries.remove(entry)


def delete_scenario(session, actor, scenario: Scenario) -> None:
    """A concept goes with its entries; an adopted scenario stays, as the record of what was decided."""
    require_role(actor, *FINANCE_ROLES)
    serialise(session)
    _open(scenario)
    record(session, actor, "delete", scenario, {"before": {**snapshot(scenario), "entries": len(scenario.entries)}})
    session.delete(scenario)


# --- Figures --------------------------------------------------------------------------------------------------

@dataclass(frozen=True)
class Comparison:
    """Base and scenario per year, per category and per programme line (verplicht)."""

    years: list[rules.YearRow]
    categories: list[rules.GroupRow]
    lines: list[rules.GroupRow]

    @property
    def overruns(self) -> dict[int, Decimal]:
        return rules.adoption_shortfalls(self.years)


def effects(session, scenario: Scenario) -> list[rules.Effect]:
    ids = {e.project_id for e in scenario.entries if e.project_id}
    # One query for both: each entry's project as (category, line).
    places = {pid: (category, line) for pid, category, line in session.execute(
        select(Project.id, Project.category, Project.line).where(Project.id.in_(ids)))} if ids else {}
    return [rules.Effect(e.kind, {int(y): Decimal(d) for y, d in json.loads(e.deltas).items()},
                         *places.get(e.project_id, (None, None))) for e in scenario.entries]


def compare(session, scenario: Scenario) -> Comparison:
    """The scenario on the current stand: what the budget stop would judge, with the entries added."""
    from reports.queries import collect_state, year_values

    programme = session.get(Programme, scenario.programme_id)
    years = programme_years(session, programme)
    state = collect_state(session, programme, BASE_DAY, years, with_projects=False)
    base, categories, lines = {}, {}, {}
    for year in years:
        values = year_values(state["summary"][str(year)])
        base[year] = (values["available"], values["committed"])
        detail = state["detail"][str(year)]
        categories[year] = {code: Decimal(g.get("committed") or ZERO) for code, g in detail["categories"].items()}
        categories[year][rules.STAFFING] = Decimal(detail["staffing"]["committed"])
        lines[year] = {code: Decimal(g.get("committed") or ZERO) for code, g in detail["lines"].items()}
    found = effects(session, scenario)
    return Comparison(rules.year_rows(base, found),
                      rules.group_rows(categories, found, [rules.STAFFING, *CATEGORIES], "category"),
                      rules.group_rows(lines, found, list(LINES), "line"))


# --- Adopting ---------------------------------------------------------------------------------------------------

def adopt(session, actor, scenario: Scenario) -> list:
    """Book every entry through its service, in order, in this one transaction: all of them, or none.

    Refused with every reason at once: the years the scenario would leave below zero, and each entry a
    rule refuses now (the stand may have moved since it was drafted). With four eyes on, an entry waits
    for approval like any other booking. Returns what the services returned.
    """
    require_role(actor, *FINANCE_ROLES)
    serialise(session)
    _open(scenario)
    if not scenario.entries:
        raise ValidationError("Dit scenario heeft nog geen posten.")
    shortfalls = compare(session, scenario).overruns
    if shortfalls:
        raise BudgetStopError(shortfalls, "Niet aangenomen: het scenario brengt de vrije ruimte onder nul in "
                              + ", ".join(f"{y} (tekort {format_eur(a)})" for y, a in shortfalls.items()) + ".")
    errors: list[DomainError] = []
    results = []
    for entry in scenario.entries:
        try:
            results.append(replay.KINDS[entry.kind](session, actor, decode(json.loads(entry.params)), None))
        except DomainError as exc:
            errors.extend(DomainError(f"{entry.summary}: {e.message}")
                          for e in (exc.errors if isinstance(exc, Refusals) else [exc]))
    Refusals.raise_any(errors)
    scenario.state, scenario.adopted_at = "aangenomen", utcnow()
    record(session, actor, "adopt", scenario, {"after": {"state": "aangenomen", "entries": len(scenario.entries)}})
    return results


def underspend_scenario(session, actor, programme: Programme, year: int, peildatum: date,
                        moved: dict[int, Decimal]) -> Scenario:
    """A concept scenario from the underspend forecast (budget.underspend): each commitment's expected
    underspend moved to the next year, and a kasschuif of the same total, so both years' free room stays as it is."""
    require_role(actor, *FINANCE_ROLES)
    serialise(session)
    following = year + 1
    if following not in programme_years(session, programme):
        raise ValidationError(f"{year} is het laatste programmajaar: er is geen volgend jaar om naar te schuiven.")
    if not moved:
        raise ValidationError(f"Er is voor {year} geen verwachte onderuitputting om te verschuiven.")
    base = f"Kasschuif {year} naar {following} (onderuitputting t/m {peildatum:%d-%m-%Y})"
    name, n = base, 1
    while session.scalar(select(Scenario.id).where(Scenario.programme_id == programme.id, Scenario.name == name)):
        n += 1
        name = f"{base} ({n})"
    scenario = create_scenario(session, actor, programme, name,
                               "Voorgesteld uit de verwachte onderuitputting: het kasritme van de verplichtingen en "
                               "het budget schuiven even veel door naar het volgende jaar.")
    reason = f"Verwachte onderuitputting {year}, naar {following}"
    for cid, amount in sorted(moved.items()):
        add_entry(session, actor, scenario, "adjustment", commitment=session.get(Commitment, cid),
                  adjustment_date=peildatum, changes={year: -amount, following: amount}, reason=reason)
    total = sum(moved.values(), ZERO)
    add_entry(session, actor, scenario, "kasschuif", amounts={year: -total, following: total}, moment="najaarsnota",
              reason=reason, mutation_date=peildatum)
    return scenario


def kind_label(kind: str) -> str:
    return ENTRY_KINDS[kind]
