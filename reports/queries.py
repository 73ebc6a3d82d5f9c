"""All figures of a stand van zaken as a plain state (JSON-able) and as pandas DataFrames, without a request."""
from __future__ import annotations

import functools
from dataclasses import dataclass, field
from datetime import date, datetime
from decimal import Decimal

import pandas as pd
from sqlalchemy import func, select

from budget import breakdowns, ledger, overruns
from budget.models import MUTATION_KINDS, MUTATION_MOMENTS, BudgetMutation
from budget.services.periods import reopenings
from core.dates import datum, datum_lang
from core.gcpause import gc_paused
from core.money import ZERO, share
from core.users import User
from projects.models import (
    CATEGORIES,
    EXPLOITATION_FORMS,
    INSTRUMENTS,
    LINES,
    STATUSES,
    Organisation,
    Programme,
    Project,
    ProjectExploitation,
    StatusUpdate,
)
from reports import budgetdocs, budgetdocs_frames

STATE_FORMAT = 1
STAFFING_LABEL = "Ambtelijke ondersteuning JenV"

RELEASED_LABEL = "Vrijval na vaststelling"
#: Samenvatting rows: (label, key in YearFigures or a computed key, kind). "info" is an amount shown for
#: information only: already in another row, so no total or check adds it.
SUMMARY_ROWS = [
    ("Structureel budget", "structural", "eur"),
    ("Incidenteel budget", "incidental", "eur"),
    ("Mutaties", "mutations", "eur"),
    ("Beschikbaar budget", "available", "eur"),
    (STAFFING_LABEL, "staffing", "eur"),
    ("Verplicht projecten", "committed_projects", "eur"),
    # Already taken off Verplicht projecten: it says where part of the free room came from.
    (RELEASED_LABEL, "released", "info"),
    ("Verplicht totaal", "committed", "eur"),
    ("Gerealiseerd t/m peildatum", "paid", "eur"),
    ("Vrije ruimte", "free", "eur"),
    ("% verplicht", "pct_committed", "pct"),
    ("% gerealiseerd", "pct_paid", "pct"),
]
#: What every output says under the Samenvatting when it shows the vrijval.
RELEASED_NOTE = (f"{RELEASED_LABEL}: ter informatie. Wat vaststellingen t/m de peildatum van de verplichtingen "
                 "voor het jaar afhaalden; het is al afgetrokken van Verplicht projecten en telt in geen totaal mee.")
GROUP_COLUMNS = ["Aantal projecten", "Verplicht", "Gerealiseerd", "In voorbereiding"]

#: The Projecten sheet: only these columns may leave the building (allow-list, in order).
PUBLIC_PROJECT_COLUMNS = [
    "Projectcode", "Project", "Categorie", "Programmalijn", "Vormen van uitbuiting",
    "Uitvoerende organisatie", "Instrument", "Looptijd", "Status", "Verplicht", "Gerealiseerd",
    "Verplicht totaal", "Toelichting",
]
INTERNAL_PROJECT_COLUMNS = PUBLIC_PROJECT_COLUMNS + ["Projectleider", "Contactpersoon", "Interne notitie"]
MUTATION_COLUMNS = ["Datum", "Soort", "Moment", "Bedrag", "Reden", "Kenmerk"]
CONTROL_COLUMNS = ["Controle", "Uitkomst", "Waarde 1", "Waarde 2"]
AMOUNT_PROJECT_COLUMNS = ("Verplicht", "Gerealiseerd", "Verplicht totaal")


# --- Collecting: SQL aggregates -> a plain state ------------------------------------------------

def _s(amount: Decimal | None) -> str:
    return str(amount if amount is not None else ZERO)


@gc_paused
def collect_state(session, programme: Programme, peildatum: date, years: list[int] | None = None,
                  with_projects: bool = True) -> dict:
    """The figures at `peildatum` as a JSON-able dict: summary for every programme year, detail for `years`.

    A snapshot stores exactly this (detail for every year); a live report builds the same for one
    year, so both paths run through frames() and come out alike. Amounts are strings (exact).
    """
    all_years = ledger.programme_years(session, programme, peildatum)
    detail_years = all_years if years is None else list(years)
    # The full report reads the payments (most of the rows) once, and every figure below sums them from there.
    # Without projects (the Rapportage page's tables) only two figures need them: their own statements are cheaper.
    paid = ledger.paid_sums(session, programme.id, peildatum) if with_projects else None
    figures = ledger.programme_figures(session, programme.id, peildatum, sorted(set(all_years) | set(detail_years)),
                                       paid)
    state = {
        "format": STATE_FORMAT,
        "programme": {"code": programme.code, "name": programme.name, "ministry": programme.ministry,
                      "budget_article": programme.budget_article},
        "peildatum": peildatum.isoformat(),
        "years": all_years,
        "summary": {str(y): {k: _s(getattr(f, k)) for k in (
            "structural", "incidental", "mutations", "staffing", "committed_projects", "paid", "released")}
            for y, f in figures.items()},
        "detail": {},
        # Reopened closed periods so far: a later report says that reported figures may have moved.
        "reopened": [{"at": e.at.isoformat(), "previous": e.previous.isoformat(),
                      "through": e.through.isoformat() if e.through else None, "reason": e.reason}
                     for e in reopenings(session, programme.id)],
        # Why a year's free room is negative: the budget-stop overrides recorded up to the peildatum.
        "overrides": {str(y): o for y, o in overruns.overrides(
            session, programme.id, [y for y, f in figures.items() if f.free < 0], peildatum).items()},
    }
    if with_projects:
        count, overpaid = breakdowns.commitment_check(session, programme.id, peildatum)
        state["commitments"] = {"count": count, "overpaid": [[ref, code, _s(p), _s(c)]
                                                             for ref, code, p, c in overpaid]}
    projects = _project_rows(session, programme, peildatum) if with_projects else None
    for year in detail_years:
        state["detail"][str(year)] = _year_detail(session, programme, year, peildatum, figures[year], projects, paid)
    if with_projects:
        # The budget documents' tables go with the full report (and every snapshot), not the dashboard.
        state["budgetdocs"], verloop = budgetdocs.collect(session, programme, peildatum, all_years, detail_years,
                                                          paid)
        for year, movement in verloop.items():
            state["detail"][str(year)]["verloop"] = movement
    return state


def _year_detail(session, programme, year, peildatum, figures, projects, paid) -> dict:
    groups = {by: {k: {"projects": g.projects, "committed": _s(g.committed), "paid": _s(g.paid),
                       "pipeline": _s(g.pipeline)} for k, g in per_key.items()}
              for by, per_key in breakdowns.breakdowns(session, programme.id, year, peildatum, paid).items()}
    detail = {
        "staffing": {"committed": _s(figures.staffing),
                     "paid": _s(breakdowns.staffing_paid(session, programme.id, year, peildatum))},
        "categories": groups["category"],
        "lines": groups["line"],
        "matrix": [[c, line, _s(a)] for (c, line), a in
                   sorted(breakdowns.matrix(session, programme.id, year, peildatum).items())],
        "paid_by_date": [[d.isoformat(), _s(a)]
                         for d, a in breakdowns.paid_by_date(session, programme.id, year, peildatum)],
        "mutations": _mutations(session, programme, year, peildatum),
    }
    if projects is not None:
        money = breakdowns.project_figures(session, programme.id, year, peildatum, paid)
        none = dict.fromkeys(("committed_year", "paid_year", "committed_total", "paid_total"))
        # A new dict per project and year: with every year in a snapshot, `projects` is shared.
        detail["projects"] = [{**p, **{k: _s(v) for k, v in money.get(p["id"], none).items()}} for p in projects]
    return detail


def _mutations(session, programme, year, peildatum) -> list[dict]:
    rows = session.scalars(
        select(BudgetMutation)
        .where(BudgetMutation.programme_id == programme.id, BudgetMutation.year == year,
               BudgetMutation.date <= peildatum)
        .order_by(BudgetMutation.date, BudgetMutation.id)
    )
    return [{"date": m.date.isoformat(), "kind": m.kind, "moment": m.moment, "amount": _s(m.amount),
             "reason": m.reason, "reference": m.reference or ""} for m in rows]


def _project_rows(session, programme, peildatum) -> list[dict]:
    """Every reportable project with its classification and texts: one query, however many projects."""
    # The forms and the latest public text come along as correlated subqueries (an index lookup
    # per project): one row per project instead of three result sets of ~20,000 rows to stitch.
    forms = (select(func.aggregate_strings(ProjectExploitation.form, ","))
             .where(ProjectExploitation.project_id == Project.id).scalar_subquery())
    latest_text = (select(StatusUpdate.public_text)
                   .where(StatusUpdate.project_id == Project.id, StatusUpdate.public_text != "",
                          StatusUpdate.date <= peildatum)
                   .order_by(StatusUpdate.date.desc(), StatusUpdate.id.desc()).limit(1).scalar_subquery())
    # Columns, not entities, on the Core connection: ten thousand ORM objects (or even ORM row
    # handling) cost more than the whole query.
    rows = session.connection().execute(
        select(Project.id, Project.code, Project.title, Project.category, Project.line, Project.instrument,
               breakdowns.shown_status_at(peildatum), Project.start_date, Project.end_date, Project.contact_person,
               Project.internal_notes, Organisation.name, User.name, forms, latest_text)
        .outerjoin(Organisation, Project.organisation_id == Organisation.id)
        .outerjoin(User, Project.owner_id == User.id)
        .where(Project.programme_id == programme.id, breakdowns.reportable_projects(peildatum))
        .order_by(Project.code)
    ).all()
    rank = {form: i for i, form in enumerate(EXPLOITATION_FORMS)}
    return [{
        "id": pid, "code": code, "title": title, "category": category, "line": line,
        "forms": sorted(form_list.split(","), key=rank.__getitem__) if form_list else [],
        "organisation": org or "", "instrument": instrument, "status": status,
        "start": start.isoformat() if start else None,
        "end": end.isoformat() if end else None,
        "public_text": text or "",
        # Personal data and working notes: kept for the internal version only.
        "owner": owner or "", "contact_person": contact or "", "internal_notes": notes or "",
    } for (pid, code, title, category, line, instrument, status, start, end, contact, notes, org, owner,
           form_list, text) in rows]


# --- From state to DataFrames --------------------------------------------------------------------

@dataclass
class ReportFrames:
    """Everything a report shows for one year; excel.py and charts.py read only this."""

    meta: dict
    summary: pd.DataFrame           # index: Samenvatting labels, columns: years
    categories: pd.DataFrame        # index: category labels + Totaal, columns: GROUP_COLUMNS
    lines: pd.DataFrame             # index: line labels + Totaal projecten
    matrix: pd.DataFrame            # index: category labels + Totaal, columns: line labels + Totaal
    projects: pd.DataFrame | None   # PUBLIC_ or INTERNAL_PROJECT_COLUMNS
    mutations: pd.DataFrame
    cumulative: pd.DataFrame        # Datum, Gerealiseerd cumulatief
    controls: pd.DataFrame = field(default_factory=pd.DataFrame)
    # Codes of projects paid beyond their commitment (all years): only for a snapshot made before the
    # per-commitment check. Not in projects.attrs: pandas deep-copies attrs on every column access.
    overpaid: list[str] | None = None
    #: {"count": commitments checked, "overpaid": [[reference, project code, paid, committed], ...]}.
    commitments: dict | None = None
    #: Per year whose free room is negative: the Dutch note (overrides, when, why) every output shows.
    overruns: dict[int, str] = field(default_factory=dict)
    #: The checks in one Dutch sentence (page, HTML report, CLI).
    controls_text: str = ""
    #: Per instrument, Mutatieoverzicht, Verloop verplichtingen; None for a snapshot frozen before them.
    budgetdocs: budgetdocs_frames.BudgetDocs | None = None
    #: What the Samenvatting's rows need said under the table (every output shows the same words).
    summary_notes: list[str] = field(default_factory=list)


def _d(text) -> Decimal:
    return Decimal(text) if text is not None else ZERO


def year_values(raw: dict) -> dict[str, Decimal | None]:
    """One year's Samenvatting values (with the derived ones) from the state's summary entry.

    "released" (the vrijval) is 0 for a state frozen before the vaststelling existed: nothing was settled then.
    """
    v = {k: _d(raw.get(k)) for k in ("structural", "incidental", "mutations", "staffing",
                                     "committed_projects", "paid", "released")}
    v["available"] = v["structural"] + v["incidental"] + v["mutations"]
    v["committed"] = v["staffing"] + v["committed_projects"]
    v["free"] = v["available"] - v["committed"]
    v["pct_committed"] = share(v["committed"], v["available"])
    v["pct_paid"] = share(v["paid"], v["available"])
    return v


def summary_rows(state: dict) -> list[tuple[str, str, str]]:
    """The Samenvatting's rows for this state: a state frozen before the vaststelling shows them as it did then."""
    if any("released" in raw for raw in state["summary"].values()):
        return SUMMARY_ROWS
    return [row for row in SUMMARY_ROWS if row[1] != "released"]


@functools.lru_cache(maxsize=8192)
def _dmy(iso: str) -> str:
    # Thousands of projects share a few thousand dates.
    return datum(date.fromisoformat(iso))


def _looptijd(start: str | None, end: str | None) -> str:
    fmt = _dmy
    if start and end:
        return f"{fmt(start)} t/m {fmt(end)}"
    if start:
        return f"vanaf {fmt(start)}"
    if end:
        return f"t/m {fmt(end)}"
    return ""


#: How each Projecten column is made from a project of the state.
_PROJECT_CELL = {
    "Projectcode": lambda p: p["code"], "Project": lambda p: p["title"],
    "Categorie": lambda p: CATEGORIES[p["category"]], "Programmalijn": lambda p: LINES[p["line"]],
    "Vormen van uitbuiting": lambda p: ", ".join(EXPLOITATION_FORMS[f] for f in p["forms"]),
    "Uitvoerende organisatie": lambda p: p["organisation"], "Instrument": lambda p: INSTRUMENTS[p["instrument"]],
    "Looptijd": lambda p: _looptijd(p["start"], p["end"]), "Status": lambda p: STATUSES[p["status"]],
    "Verplicht": lambda p: _d(p["committed_year"]), "Gerealiseerd": lambda p: _d(p["paid_year"]),
    "Verplicht totaal": lambda p: _d(p["committed_total"]), "Toelichting": lambda p: p["public_text"],
    "Projectleider": lambda p: p["owner"], "Contactpersoon": lambda p: p["contact_person"],
    "Interne notitie": lambda p: p["internal_notes"],
}


def _group_frame(groups: dict, labels: dict, total_label: str, staffing: dict | None) -> pd.DataFrame:
    rows, index = [], []
    if staffing is not None:
        index.append(STAFFING_LABEL)
        rows.append([None, _d(staffing["committed"]), _d(staffing["paid"]), ZERO])
    for code, label in labels.items():
        g = groups.get(code, {})
        index.append(label)
        rows.append([int(g.get("projects", 0)), _d(g.get("committed")), _d(g.get("paid")), _d(g.get("pipeline"))])
    total = [sum(r[0] or 0 for r in rows)] + [sum((r[i] for r in rows), ZERO) for i in (1, 2, 3)]
    index.append(total_label)
    rows.append(total)
    # object dtype keeps the staffing row's empty count as None and amounts as exact Decimals.
    return pd.DataFrame(rows, index=pd.Index(index, name="Omschrijving"), columns=GROUP_COLUMNS, dtype=object)


@gc_paused
def frames(state: dict, year: int, internal: bool = False, *, made_at: datetime | None = None,
           snapshot: dict | None = None, thousands: bool = False) -> ReportFrames:
    """Turn a state into the report's DataFrames for `year`; public unless `internal`.

    `snapshot` ({'id', 'title', 'kamerstuk', 'sha256', 'frozen_at'}) marks a report made from a
    snapshot: its moment is the snapshot's, so the same snapshot always gives the same cells.
    """
    key = str(year)
    if key not in state["detail"]:
        raise KeyError(year)
    detail = state["detail"][key]
    years = [int(y) for y in state["years"]]
    values = {y: year_values(state["summary"].get(str(y), {})) for y in years}
    rows = summary_rows(state)
    summary = pd.DataFrame(
        {y: [values[y][k] for _l, k, _kind in rows] for y in years},
        index=pd.Index([label for label, _k, _kind in rows], name="Omschrijving"),
    )
    categories = _group_frame(detail["categories"], CATEGORIES, "Totaal", detail["staffing"])
    lines = _group_frame(detail["lines"], LINES, "Totaal projecten", None)

    cells = {(c, line): _d(a) for c, line, a in detail["matrix"]}
    mrows = []
    for c in CATEGORIES:
        row = [cells.get((c, line), ZERO) for line in LINES]
        mrows.append(row + [sum(row, ZERO)])
    mrows.append([sum((r[i] for r in mrows), ZERO) for i in range(len(LINES) + 1)])
    matrix = pd.DataFrame(mrows, index=pd.Index(list(CATEGORIES.values()) + ["Totaal"], name="Categorie"),
                          columns=list(LINES.values()) + ["Totaal"])

    projects, overpaid = None, None
    if "projects" in detail:
        columns = INTERNAL_PROJECT_COLUMNS if internal else PUBLIC_PROJECT_COLUMNS
        rows = detail["projects"]
        # The allow-list decides which columns are built; nothing else is ever copied along.
        # Column by column: one list per column is far cheaper than a dict per project.
        # object dtype: the cells stay the Python str and Decimal values, without a round trip through
        # pandas' string arrays.
        projects = pd.DataFrame({c: [_PROJECT_CELL[c](p) for p in rows] for c in columns}, columns=columns,
                                dtype=object)
        if "commitments" not in state:
            overpaid = [p["code"] for p in detail["projects"] if _d(p["paid_total"]) > _d(p["committed_total"])]

    mutations = pd.DataFrame(
        [[date.fromisoformat(m["date"]), MUTATION_KINDS.get(m["kind"], m["kind"]),
          MUTATION_MOMENTS.get(m["moment"], m["moment"]), _d(m["amount"]), m["reason"], m["reference"]]
         for m in detail["mutations"]], columns=MUTATION_COLUMNS)

    running, cum = ZERO, []
    for day, amount in detail["paid_by_date"]:
        running += _d(amount)
        cum.append([date.fromisoformat(day), _d(amount), running])
    cumulative = pd.DataFrame(cum, columns=["Datum", "Gerealiseerd", "Gerealiseerd cumulatief"])

    meta = {
        "programme_code": state["programme"]["code"], "programme_name": state["programme"]["name"],
        "ministry": state["programme"]["ministry"], "budget_article": state["programme"]["budget_article"],
        "year": year, "years": years, "peildatum": date.fromisoformat(state["peildatum"]),
        "internal": internal, "thousands": thousands, "snapshot": snapshot,
        "made_at": (datetime.fromisoformat(snapshot["frozen_at"]) if snapshot
                    else (made_at or datetime.now().astimezone()).replace(microsecond=0)),
        "available": values[year]["available"] if year in values else ZERO,
        "reopened": [_reopened(e) for e in state.get("reopened", [])],
    }
    found = state.get("overrides")  # absent in a snapshot made before overrides were kept
    notes = {y: overruns.overrun_note(y, v["free"], None if found is None else found.get(str(y), []), internal)
             for y, v in values.items() if v["free"] < 0}
    rf = ReportFrames(meta=meta, summary=summary, categories=categories, lines=lines, matrix=matrix,
                      projects=projects, mutations=mutations, cumulative=cumulative, overpaid=overpaid,
                      commitments=state.get("commitments") if projects is not None else None, overruns=notes,
                      budgetdocs=budgetdocs_frames.frames(state, year) if projects is not None else None,
                      summary_notes=[RELEASED_NOTE] if RELEASED_LABEL in summary.index else [])
    from reports import checks  # checks reads ReportFrames from this module

    rf.controls = checks.controls(rf)
    rf.controls_text = checks.summary_text(rf)
    return rf


def _reopened(event: dict) -> dict:
    """A reopen as the Verantwoording states it: when, and the sentence (no names: it may go to the Kamer)."""
    previous = date.fromisoformat(event["previous"])
    kept = (f"afgesloten blijft t/m {datum_lang(date.fromisoformat(event['through']))}" if event["through"]
            else "niets meer afgesloten")
    return {"at": datetime.fromisoformat(event["at"]),
            "text": f"Afgesloten periode t/m {datum_lang(previous)} heropend ({kept}); reden: {event['reason']}"}


@gc_paused
def live_frames(session, programme: Programme, year: int, peildatum: date, internal: bool = False,
                thousands: bool = False, with_projects: bool = True) -> ReportFrames:
    """The report for one year straight from the database."""
    state = collect_state(session, programme, peildatum, [year], with_projects=with_projects)
    return frames(state, year, internal, thousands=thousands)
