"""The import: check every row, then apply the whole file in one transaction (services, or bulk for the big sheets).

Natural keys (how a row finds the record it describes; documented in README "Import"):
programme `Code`; organisation `Naam` (any case); funding source `Programma`+`Bron`, its
allocation + `Jaar`; staffing `Programma`+`Jaar`; project `Programma`+`Projectcode`;
commitment `Kenmerk`; payment `Kenmerk` (without one: commitment, date, amount, kind);
staffing cost `Programma`+`Kenmerk` (without one: date, amount, description); a mutation
and a commitment adjustment are entries, not editable records: their key is the whole row;
a kasschuif is keyed by its date, moment, reason, reference and amounts per year.

The import never deletes. Entries the domain keeps immutable (commitments, payments,
staffing costs) are refused when a row with the same key differs: a changed commitment
is booked as a row on the sheet Bijstellingen instead.
"""
from __future__ import annotations

import functools
import hashlib
import itertools
from collections import Counter, defaultdict
from collections.abc import Callable
from dataclasses import dataclass, field
from datetime import date
from decimal import Decimal

from sqlalchemy import bindparam, func, select
from sqlalchemy.exc import SQLAlchemyError
from sqlalchemy.orm import selectinload

from budget import services as budget
from budget.demo import status_path
from budget.ledger import programme_figures, programme_years
from budget.models import (
    FUNDING_KINDS,
    MUTATION_KINDS,
    MUTATION_MOMENTS,
    PAYMENT_KINDS,
    BudgetMutation,
    Commitment,
    CommitmentAdjustment,
    CommitmentSchedule,
    FundingSource,
    Payment,
    StaffingCost,
    StaffingReservation,
)
from core import bulk
from core.audit import diff, record, record_many, snapshot
from core.db import utcnow
from core.errors import BudgetStopError, DomainError, InvalidTransition, PermissionDenied, ValidationError
from core.gcpause import gc_paused
from core.locking import serialise
from core.money import Money, format_eur
from core.users import FINANCE_ROLES, ROLES, User, require_role
from imports import reader
from imports.reader import CellError, Sheet
from projects import services as portfolio
from projects.models import (
    CATEGORIES,
    EXPLOITATION_FORMS,
    INSTRUMENTS,
    LINES,
    ORGANISATION_TYPES,
    STATUSES,
    Organisation,
    Programme,
    Project,
    ProjectExploitation,
)
from projects.organisation_rules import checked_organisation

#: The template contract: sheet -> headers, in the order the template writes them.
SHEETS: dict[str, list[str]] = {
    "Programma": ["Code", "Naam", "Ministerie", "Begrotingsartikel", "Eerste jaar", "Laatste jaar"],
    "Budget": ["Programma", "Bron", "Soort", "Kenmerk", "Jaar", "Bedrag"],
    "Mutaties": ["Programma", "Jaar", "Bedrag", "Soort", "Moment", "Toelichting", "Kenmerk", "Datum",
                 "Kasschuifgroep"],
    "Ambtelijke ondersteuning": ["Programma", "Jaar", "FTE", "Bedrag"],
    "Personeelskosten": ["Kenmerk", "Programma", "Datum", "Bedrag", "Omschrijving"],
    "Organisaties": ["Naam", "Type"],
    "Projecten": ["Programma", "Projectcode", "Titel", "Samenvatting", "Categorie", "Programmalijn",
                  "Vormen van uitbuiting", "Organisatie", "Instrument", "Status", "Startdatum", "Einddatum",
                  "Gevraagd bedrag", "Vervolg op", "Projectleider", "Contactpersoon", "Interne notitie"],
    "Verplichtingen": ["Projectcode", "Kenmerk", "Datum", "Jaar", "Bedrag"],
    "Betalingen": ["Kenmerk", "Projectcode", "Kenmerk verplichting", "Datum", "Bedrag", "Soort"],
    "Bijstellingen": ["Kenmerk verplichting", "Datum", "Jaar", "Bedrag", "Reden", "Kenmerk"],
}
#: Columns a sheet may lack (their cells are optional); every other header must be there.
OPTIONAL_COLUMNS = {
    ("Programma", "Laatste jaar"), ("Mutaties", "Kenmerk"), ("Mutaties", "Kasschuifgroep"),
    ("Budget", "Kenmerk"), ("Personeelskosten", "Kenmerk"), ("Personeelskosten", "Omschrijving"),
    ("Projecten", "Samenvatting"), ("Projecten", "Organisatie"), ("Projecten", "Status"),
    ("Projecten", "Startdatum"), ("Projecten", "Einddatum"), ("Projecten", "Gevraagd bedrag"),
    ("Projecten", "Vervolg op"), ("Projecten", "Projectleider"), ("Projecten", "Contactpersoon"),
    ("Projecten", "Interne notitie"), ("Betalingen", "Kenmerk"), ("Bijstellingen", "Kenmerk"),
}
#: Coded columns and the label dictionaries they take (for the Toelichting and the drop-downs).
CODED_COLUMNS = {
    ("Budget", "Soort"): ("Soort financieringsbron", FUNDING_KINDS),
    ("Mutaties", "Soort"): ("Soort mutatie", MUTATION_KINDS),
    ("Mutaties", "Moment"): ("Moment", MUTATION_MOMENTS),
    ("Organisaties", "Type"): ("Type organisatie", ORGANISATION_TYPES),
    ("Projecten", "Categorie"): ("Categorie", CATEGORIES),
    ("Projecten", "Programmalijn"): ("Programmalijn", LINES),
    ("Projecten", "Vormen van uitbuiting"): ("Vorm van uitbuiting", EXPLOITATION_FORMS),
    ("Projecten", "Instrument"): ("Instrument", INSTRUMENTS),
    ("Projecten", "Status"): ("Status", STATUSES),
    ("Betalingen", "Soort"): ("Soort betaling", PAYMENT_KINDS),
}
NEW, CHANGED, UNCHANGED = "nieuw", "gewijzigd", "ongewijzigd"
#: Whom the Projectleider column may name: the users the project form offers (projects/views.py).
OWNER_ROLES = ("projectleider",)


@dataclass(frozen=True)
class RowError:
    """One refused cell or row: sheet, Excel row number (0: the file as a whole), column, Dutch message."""

    sheet: str
    row: int
    column: str
    message: str

    def __str__(self) -> str:
        where = [f"blad {self.sheet}"] if self.sheet else []
        if self.row:
            where.append(f"regel {self.row}")
        if self.column:
            where.append(f"kolom {self.column}")
        return (", ".join(where) + ": " if where else "") + self.message


@dataclass
class ImportResult:
    """What an import did (or would do): counts per sheet and every error found."""

    counts: dict[str, Counter] = field(default_factory=dict)
    errors: list[RowError] = field(default_factory=list)
    dry_run: bool = False
    rows: int = 0

    @property
    def ok(self) -> bool:
        return not self.errors

    @property
    def must_write(self) -> bool:
        """True only when the caller should commit: no errors, not a dry run, something changed."""
        return self.ok and not self.dry_run and self.changed

    @property
    def changed(self) -> bool:
        return any(c[NEW] or c[CHANGED] for c in self.counts.values())

    def table(self) -> list[tuple[str, int, int, int]]:
        """(sheet, new, changed, unchanged) in template order, for sheets the file had."""
        return [(s, c[NEW], c[CHANGED], c[UNCHANGED]) for s, c in
                ((s, self.counts[s]) for s in SHEETS if s in self.counts)]


class _Missing(DomainError):
    """A row refers to something another row still has to create; retried after the rest."""


class _Abort(Exception):
    """The database refused a write; the transaction is unusable, stop applying."""


@dataclass
class _Op:
    sheet: str
    row: int
    fn: Callable[[], None]
    columns: dict = field(default_factory=dict)  # service field name -> column header
    rows: int = 1
    ref: str = ""  # the commitment a money row books on


@dataclass
class _Ref:
    """A project this import writes in bulk: what later rows need of it, without loading it back."""

    id: int
    programme_id: int
    code: str


@dataclass
class _OrgRef:
    """An organisation this import writes in bulk: its id for the projects that name it."""

    id: int


@dataclass
class _Booked:
    """A commitment's running state while the file's money rows are replayed (totals incl. adjustments)."""

    id: int | None
    programme: Programme
    reference: str
    total: Decimal
    paid: Decimal
    years: dict[int, Decimal]
    signed: Decimal = Decimal("0.00")


# A 10,000-project file keeps some 10^6 rows, dicts and operations alive until it is written; the
# cyclic collector kept walking them and found nothing to free (~18% of B4's import on SQLite).
@gc_paused
def run_import(session, actor, data: bytes, *, dry_run: bool = False,
               progress: Callable[[int, int], None] | None = None, filename: str = "") -> ImportResult:
    """Check and apply a workbook; raises reader.UnsafeFile for a refused file.

    `progress(rows, total)` is called whenever `rows` more of the `total` rows are applied.

    Everything is flushed inside the caller's transaction; the caller commits only when
    `result.must_write`, and otherwise rolls back (errors or a dry run write nothing).
    """
    reader.check_xlsx(data)
    sheets = reader.read_workbook(data, SHEETS)
    job = _Import(session, actor, sheets, progress)
    job.result.dry_run = dry_run
    if not sheets:
        job.error("", 0, "", "Het bestand bevat geen van de bladen van het sjabloon ("
                  + ", ".join(SHEETS) + "); download het sjabloon en vul dat in.")
        return job.result
    job.parse()
    if job.result.errors:
        return job.result
    if not dry_run:
        # From here to commit no other write lands: the file is judged on the state it is written to.
        serialise(session)
    job.resolve()
    if job.result.errors:
        return job.result
    job.apply()
    if job.result.ok and job.result.changed:
        counts = {s: {NEW: n, CHANGED: c, UNCHANGED: u} for s, n, c, u in job.result.table()}
        record(session, actor, "import", "Import", {"after": {
            "bestand": (filename or "")[:200], "sha256": hashlib.sha256(data).hexdigest(), "counts": counts}})
    return job.result


def _norm(name: str) -> str:
    return " ".join((name or "").lower().split())


class _Import:
    """One import run: parsed rows, what they refer to, and the operations that apply them."""

    def __init__(self, session, actor, sheets: dict[str, Sheet], progress):
        self.session, self.actor, self.sheets = session, actor, sheets
        self.progress = progress or (lambda n, total: None)
        self.result = ImportResult()
        self.rows: dict[str, list[dict]] = {name: [] for name in SHEETS}
        #: One moment for every row this import writes in bulk (their created_at and audit time).
        self.now = utcnow()

    # --- errors and counts ---------------------------------------------------------------

    def error(self, sheet: str, row: int, column: str, message: str) -> None:
        self.result.errors.append(RowError(sheet, row, column, message))

    def count(self, sheet: str, what: str, n: int = 1) -> None:
        counts = self.result.counts.get(sheet)
        if counts is None:  # not setdefault: it would build a Counter for each of 200,000 rows
            counts = self.result.counts[sheet] = Counter({NEW: 0, CHANGED: 0, UNCHANGED: 0})
        counts[what] += n

    # --- 1. cells to values ---------------------------------------------------------------

    def parse(self) -> None:
        for name, sheet in self.sheets.items():
            missing = [h for h in sheet.missing if (name, h) not in OPTIONAL_COLUMNS]
            for header in missing:
                self.error(name, 1, header, f"De kolom '{header}' ontbreekt in de kopregel.")
            if missing:
                continue
            parse_row = getattr(self, "_parse_" + name.lower().replace(" ", "_"))
            for number, values in sheet.rows:
                cells = _Cells(self, sheet, number, values)
                row = parse_row(cells)
                if not cells.bad and row is not None:
                    row["row"] = number
                    self.rows[name].append(row)
                self.result.rows += 1
            sheet.rows = []  # parsed: on a large file the raw cells would double the memory

    def _parse_programma(self, c) -> dict:
        first, last = c("Eerste jaar", reader.year), c("Laatste jaar", reader.year, required=False)
        if first and last and last < first:
            c.fail("Laatste jaar", "Het laatste jaar ligt voor het eerste jaar.")
        return {"code": (c("Code", reader.text, required=True, max_len=20) or "").upper(),
                "name": c("Naam", reader.text, required=True, max_len=200),
                "ministry": c("Ministerie", reader.text, required=True, max_len=200),
                "budget_article": c("Begrotingsartikel", reader.text, required=True, max_len=50),
                "first_year": first, "last_year": last, "has_last": "Laatste jaar" in c.sheet.columns}

    def _parse_budget(self, c) -> dict:
        amount = c("Bedrag", reader.amount)
        if amount is not None and amount < 0:
            c.fail("Bedrag", "Het bedrag van een financieringsbron kan niet negatief zijn; "
                             "een verlaging boekt u op het blad Mutaties.")
        return {"programme": (c("Programma", reader.text, required=True) or "").upper(),
                "source": c("Bron", reader.text, required=True, max_len=200),
                "kind": c("Soort", reader.coded, FUNDING_KINDS, "soort"),
                "reference": c("Kenmerk", reader.text, max_len=200),
                "year": c("Jaar", reader.year), "amount": amount}

    def _parse_mutaties(self, c) -> dict:
        amount = c("Bedrag", reader.amount)
        if amount == 0:
            c.fail("Bedrag", "Het bedrag van een mutatie kan niet nul zijn.")
        kind = c("Soort", reader.coded, MUTATION_KINDS, "soort mutatie")
        group = c("Kasschuifgroep", reader.text, max_len=100)
        if kind == "kasschuif" and not group:
            c.fail("Kasschuifgroep", "Vul de kasschuifgroep in: regels met dezelfde groep vormen één kasschuif.")
        if kind and kind != "kasschuif" and group:
            c.fail("Kasschuifgroep", "Alleen een kasschuif heeft een kasschuifgroep.")
        return {"programme": (c("Programma", reader.text, required=True) or "").upper(), "year": c("Jaar", reader.year),
                "amount": amount, "kind": kind, "moment": c("Moment", reader.coded, MUTATION_MOMENTS, "moment"),
                "reason": c("Toelichting", reader.text, required=True),
                "reference": c("Kenmerk", reader.text, max_len=200), "date": c("Datum", reader.day),
                "group": group}

    def _parse_ambtelijke_ondersteuning(self, c) -> dict:
        fte, amount = c("FTE", reader.amount), c("Bedrag", reader.amount)
        if fte is not None and fte < 0:
            c.fail("FTE", "Het aantal fte kan niet negatief zijn.")
        if amount is not None and amount < 0:
            c.fail("Bedrag", "Het bedrag kan niet negatief zijn.")
        return {"programme": (c("Programma", reader.text, required=True) or "").upper(), "year": c("Jaar", reader.year),
                "fte": fte, "amount": amount}

    def _parse_personeelskosten(self, c) -> dict:
        amount = c("Bedrag", reader.amount)
        if amount == 0:
            c.fail("Bedrag", "Het bedrag kan niet nul zijn.")
        return {"reference": c("Kenmerk", reader.text, max_len=100),
                "programme": (c("Programma", reader.text, required=True) or "").upper(),
                "date": c("Datum", reader.day), "amount": amount,
                "description": c("Omschrijving", reader.text)}

    def _parse_organisaties(self, c) -> dict:
        return {"name": c("Naam", reader.text, required=True, max_len=200),
                "type": c("Type", reader.coded, ORGANISATION_TYPES, "type")}

    def _parse_projecten(self, c) -> dict:
        start, end = c("Startdatum", reader.day, required=False), c("Einddatum", reader.day, required=False)
        if start and end and end < start:
            c.fail("Einddatum", "De einddatum ligt voor de startdatum.")
        requested = c("Gevraagd bedrag", reader.amount, required=False)
        if requested is not None and requested < 0:
            c.fail("Gevraagd bedrag", "Het gevraagde bedrag kan niet negatief zijn.")
        return {"programme": (c("Programma", reader.text, required=True) or "").upper(),
                "code": c("Projectcode", reader.text, required=True, max_len=30),
                "title": c("Titel", reader.text, required=True, max_len=300),
                "summary": c("Samenvatting", reader.text),
                "category": c("Categorie", reader.coded, CATEGORIES, "categorie"),
                "line": c("Programmalijn", reader.coded, LINES, "programmalijn"),
                "forms": c("Vormen van uitbuiting", reader.coded_list, EXPLOITATION_FORMS, "vorm van uitbuiting"),
                "organisation": c("Organisatie", reader.text, max_len=200),
                "instrument": c("Instrument", reader.coded, INSTRUMENTS, "instrument"),
                "status": c("Status", reader.coded, STATUSES, "status", required=False) or "voorstel",
                "start_date": start, "end_date": end, "requested_amount": requested,
                "predecessor": c("Vervolg op", reader.text, max_len=30),
                "owner": (c("Projectleider", reader.text, max_len=254) or "").lower(),
                "contact_person": c("Contactpersoon", reader.text, max_len=200),
                "internal_notes": c("Interne notitie", reader.text)}

    def _parse_verplichtingen(self, c) -> dict:
        amount = c("Bedrag", reader.amount)
        if amount is not None and amount < 0:
            c.fail("Bedrag", "Een kasritme kan niet negatief zijn; een verlaging boekt u op het blad Bijstellingen.")
        return {"project": c("Projectcode", reader.text, required=True),
                "reference": c("Kenmerk", reader.text, required=True, max_len=100),
                "date": c("Datum", reader.day), "year": c("Jaar", reader.year), "amount": amount}

    def _parse_betalingen(self, c) -> dict:
        amount, kind = c("Bedrag", reader.amount), c("Soort", reader.coded, PAYMENT_KINDS, "soort betaling")
        if amount == 0:
            c.fail("Bedrag", "Het bedrag kan niet nul zijn.")
        elif amount is not None and kind:
            if kind == "terugbetaling":
                amount = -abs(amount)  # written either way, it always lowers the paid total
            elif amount < 0:
                c.fail("Bedrag", "Een negatief bedrag boekt u als soort Terugbetaling.")
        return {"reference": c("Kenmerk", reader.text, max_len=100),
                "project": c("Projectcode", reader.text, required=True),
                "commitment": c("Kenmerk verplichting", reader.text, required=True, max_len=100),
                "date": c("Datum", reader.day), "amount": amount, "kind": kind}

    def _parse_bijstellingen(self, c) -> dict:
        amount = c("Bedrag", reader.amount)
        if amount == 0:
            c.fail("Bedrag", "Het bedrag van een bijstelling kan niet nul zijn.")
        return {"commitment": c("Kenmerk verplichting", reader.text, required=True, max_len=100),
                "date": c("Datum", reader.day), "year": c("Jaar", reader.year), "amount": amount,
                "reason": c("Reden", reader.text, required=True), "reference": c("Kenmerk", reader.text, max_len=100)}

    # --- 2. references and consistency inside the file -------------------------------------

    def resolve(self) -> None:
        s = self.session
        self.db_programmes = {p.code: p for p in s.scalars(select(Programme))}
        self.file_programmes = {}
        for r in self.rows["Programma"]:
            if r["code"] in self.file_programmes:
                self._dup("Programma", r, "Code", self.file_programmes[r["code"]])
            self.file_programmes.setdefault(r["code"], r)
        known_programmes = set(self.db_programmes) | set(self.file_programmes)

        self.db_orgs = {_norm(o.name): o for o in s.scalars(select(Organisation))}
        self.file_orgs = {}
        for r in self.rows["Organisaties"]:
            key = _norm(r["name"])
            if key in self.file_orgs:
                self._dup("Organisaties", r, "Naam", self.file_orgs[key])
            self.file_orgs.setdefault(key, r)

        for sheet in ("Budget", "Mutaties", "Ambtelijke ondersteuning", "Personeelskosten", "Projecten"):
            for r in self.rows[sheet]:
                if r["programme"] not in known_programmes:
                    self.error(sheet, r["row"], "Programma",
                               f"Programma '{r['programme']}' bestaat niet en staat niet op het blad Programma.")

        self._resolve_budget()
        self._resolve_projects(known_programmes)
        self._resolve_money()

    def _dup(self, sheet: str, r: dict, column: str, first: dict) -> None:
        self.error(sheet, r["row"], column, f"Deze sleutel staat al op regel {first['row']} van dit blad.")

    def _resolve_budget(self) -> None:
        self.sources: dict[tuple, list[dict]] = defaultdict(list)
        for r in self.rows["Budget"]:
            group = self.sources[(r["programme"], _norm(r["source"]))]
            for other in group:
                if other["year"] == r["year"]:
                    self._dup("Budget", r, "Jaar", other)
                    break
            if group and (group[0]["kind"], group[0]["reference"]) != (r["kind"], r["reference"]):
                column = "Soort" if group[0]["kind"] != r["kind"] else "Kenmerk"
                self.error("Budget", r["row"], column, f"Bron '{r['source']}' heeft op regel {group[0]['row']} "
                                                        "een andere soort of een ander kenmerk.")
            group.append(r)
        self.kasschuiven: dict[tuple, list[dict]] = defaultdict(list)
        for r in self.rows["Mutaties"]:
            if r["kind"] == "kasschuif":
                self.kasschuiven[(r["programme"], r["group"])].append(r)
        for rows in self.kasschuiven.values():
            first = rows[0]
            years = Counter(r["year"] for r in rows)
            for r in rows[1:]:
                if (r["date"], r["moment"], r["reason"], r["reference"]) != \
                        (first["date"], first["moment"], first["reason"], first["reference"]):
                    self.error("Mutaties", r["row"], "Kasschuifgroep",
                               f"Regels van kasschuifgroep '{r['group']}' hebben dezelfde datum, moment, "
                               f"toelichting en kenmerk als regel {first['row']}.")
                if years[r["year"]] > 1 and r is not first:
                    self.error("Mutaties", r["row"], "Jaar", f"Jaar {r['year']} staat twee keer in kasschuifgroep "
                                                             f"'{r['group']}'.")
                    years[r["year"]] = 1
            total = sum((r["amount"] for r in rows), Decimal("0.00"))
            if len(years) < 2:
                self.error("Mutaties", first["row"], "Kasschuifgroep",
                           "Een kasschuif verschuift geld tussen minstens twee jaren.")
            elif total != 0:
                self.error("Mutaties", first["row"], "Bedrag", f"Kasschuifgroep '{first['group']}' moet op nul "
                                                              f"uitkomen; het saldo is {format_eur(total)}.")
        seen: dict[tuple, dict] = {}
        for r in self.rows["Ambtelijke ondersteuning"]:
            key = (r["programme"], r["year"])
            if key in seen:
                self._dup("Ambtelijke ondersteuning", r, "Jaar", seen[key])
            seen.setdefault(key, r)
        self.staffing_keys = set(seen)
        seen = {}
        for r in self.rows["Personeelskosten"]:
            if r["reference"]:
                key = (r["programme"], r["reference"])
                if key in seen:
                    self._dup("Personeelskosten", r, "Kenmerk", seen[key])
                seen.setdefault(key, r)

    def _resolve_projects(self, known_programmes: set) -> None:
        s = self.session
        self.db_projects: dict[tuple, Project] = {}
        codes = [p.id for c, p in self.db_programmes.items()]
        if codes:
            # Forms in one extra query: comparing each project's forms must not load them one by one.
            for p in s.scalars(select(Project).where(Project.programme_id.in_(codes))
                               .options(selectinload(Project.forms))):
                self.db_projects[(p.programme.code, p.code)] = p
        self.file_projects: dict[tuple, dict] = {}
        for r in self.rows["Projecten"]:
            key = (r["programme"], r["code"])
            if key in self.file_projects:
                self._dup("Projecten", r, "Projectcode", self.file_projects[key])
            self.file_projects.setdefault(key, r)
        self.users = self._owners({r["owner"] for r in self.rows["Projecten"] if r["owner"]})
        for r in self.rows["Projecten"]:
            org_key = _norm(r["organisation"])
            if r["organisation"] and org_key not in self.db_orgs and org_key not in self.file_orgs:
                self.error("Projecten", r["row"], "Organisatie",
                           f"Organisatie '{r['organisation']}' bestaat niet en staat niet op het blad Organisaties.")
            if r["owner"]:
                user = self.users.get(r["owner"])
                if user is None or not user.active:
                    self.error("Projecten", r["row"], "Projectleider",
                               f"Er is geen actieve gebruiker met e-mailadres {r['owner']}; "
                               "maak de gebruiker eerst aan of laat de cel leeg.")
                elif user.role not in OWNER_ROLES and not self._keeps_owner(r, user):
                    self.error("Projecten", r["row"], "Projectleider",
                               f"{r['owner']} heeft de rol {ROLES.get(user.role, user.role).lower()}, geen "
                               "projectleider; kies een gebruiker met de rol projectleider of laat de cel leeg.")
            if r["predecessor"]:
                key = (r["programme"], r["predecessor"])
                if key not in self.file_projects and key not in self.db_projects:
                    self.error("Projecten", r["row"], "Vervolg op",
                               f"Project '{r['predecessor']}' bestaat niet in programma {r['programme']}.")
                elif r["predecessor"] == r["code"]:
                    self.error("Projecten", r["row"], "Vervolg op", "Een project kan geen vervolg op zichzelf zijn.")
            elif r["category"] == "vervolg":
                self.error("Projecten", r["row"], "Vervolg op", "Een vervolgproject noemt het project waarop het volgt.")
        # A project code is unique per programme; sheets without a Programma column need it unambiguous.
        self.project_by_code: dict[str, set] = defaultdict(set)
        for programme_code, code in list(self.db_projects) + list(self.file_projects):
            self.project_by_code[code].add(programme_code)

    def _owners(self, emails: set[str]) -> dict[str, User]:
        """The users the Projectleider column names, by lower-cased e-mail, in one query per 500."""
        found: dict[str, User] = {}
        wanted = sorted(emails)
        for i in range(0, len(wanted), 500):
            for user in self.session.scalars(select(User).where(func.lower(User.email).in_(wanted[i:i + 500]))):
                found[user.email.lower()] = user
        return found

    def _keeps_owner(self, r: dict, user: User) -> bool:
        """As the project form does: an existing project keeps its current owner, whatever their role is now."""
        project = self.db_projects.get((r["programme"], r["code"]))
        return project is not None and project.owner_id == user.id

    def _project_programme(self, sheet: str, r: dict) -> str | None:
        found = self.project_by_code.get(r["project"], set())
        if not found:
            self.error(sheet, r["row"], "Projectcode",
                       f"Project '{r['project']}' bestaat niet en staat niet op het blad Projecten.")
            return None
        if len(found) > 1:
            self.error(sheet, r["row"], "Projectcode", f"Projectcode '{r['project']}' komt in meerdere programma's "
                                                       f"voor ({', '.join(sorted(found))}).")
            return None
        return next(iter(found))

    def _resolve_money(self) -> None:
        s = self.session
        self.commitment_rows: dict[str, list[dict]] = defaultdict(list)
        for r in self.rows["Verplichtingen"]:
            r["programme"] = self._project_programme("Verplichtingen", r)
            group = self.commitment_rows[r["reference"]]
            if group and (group[0]["project"], group[0]["date"]) != (r["project"], r["date"]):
                column = "Projectcode" if group[0]["project"] != r["project"] else "Datum"
                self.error("Verplichtingen", r["row"], column, f"Verplichting {r['reference']} heeft op regel "
                                                               f"{group[0]['row']} een ander project of een andere datum.")
            for other in group:
                if other["year"] == r["year"]:
                    self._dup("Verplichtingen", r, "Jaar", other)
                    break
            group.append(r)
        refs = {r["commitment"] for r in self.rows["Betalingen"] + self.rows["Bijstellingen"]} | set(self.commitment_rows)
        self.db_commitments: dict[str, Commitment] = {}
        refs_list = sorted(refs)
        for i in range(0, len(refs_list), 500):
            for c in s.scalars(select(Commitment).where(Commitment.reference.in_(refs_list[i:i + 500]))
                               .options(selectinload(Commitment.schedule))):
                self.db_commitments[c.reference] = c
        for sheet in ("Betalingen", "Bijstellingen"):
            for r in self.rows[sheet]:
                ref = r["commitment"]
                if ref not in self.commitment_rows and ref not in self.db_commitments:
                    self.error(sheet, r["row"], "Kenmerk verplichting",
                               f"Verplichting {ref} bestaat niet en staat niet op het blad Verplichtingen.")
                elif sheet == "Betalingen":
                    project = (self.commitment_rows[ref][0]["project"] if ref in self.commitment_rows
                               else self.db_commitments[ref].project.code)
                    if project != r["project"]:
                        self.error(sheet, r["row"], "Projectcode",
                                   f"Verplichting {ref} hoort bij project {project}, niet bij {r['project']}.")
        seen: dict[str, dict] = {}
        for r in self.rows["Betalingen"]:
            if r["reference"]:
                if r["reference"] in seen:
                    self._dup("Betalingen", r, "Kenmerk", seen[r["reference"]])
                seen.setdefault(r["reference"], r)
        for r in self.rows["Personeelskosten"]:
            if r["date"] and (r["programme"], r["date"].year) not in self.staffing_keys:
                programme = self.db_programmes.get(r["programme"])
                exists = programme is not None and s.scalar(select(StaffingReservation.id).where(
                    StaffingReservation.programme_id == programme.id, StaffingReservation.year == r["date"].year))
                if not exists:
                    self.error("Personeelskosten", r["row"], "Datum",
                               f"Er is geen ambtelijke ondersteuning voor {r['date'].year} in programma "
                               f"{r['programme']}; zet die op het blad Ambtelijke ondersteuning.")

    # --- 3. applying through the services ---------------------------------------------------

    def apply(self) -> None:
        self.before = {code: programme_figures(self.session, p.id, None) for code, p in self.db_programmes.items()}
        try:
            self._write_organisations()
            self._run(self._programme_ops())
            self._create_projects()
            self._run(self._project_ops())
            raise_ops, shift_ops, lower_ops = self._budget_ops()
            # Money in first, kasschuiven next, then what uses room: no step meets a budget stop
            # that the state after the whole file would not (order of rows does not matter).
            self._run(raise_ops + shift_ops + lower_ops)
            self._run(self._staffing_cost_ops())
            self._book_money()
        except SQLAlchemyError as exc:  # a bulk write refused
            self.error("", 0, "", f"De database weigerde een wijziging ({type(exc).__name__}); "
                                  "er is niets opgeslagen.")
            return
        except _Abort as exc:
            self.error("", 0, "", f"De database weigerde een wijziging ({exc}); er is niets opgeslagen.")
            return
        if not self.result.errors:
            self._final_budget_check()

    def _run(self, ops: list[_Op], report: bool = True) -> None:
        """Run operations; budget stops and missing parents are retried once the rest has run.

        `report=False` for operations that only check and stage rows: their progress is
        reported when the rows are written.
        """
        progress = self.progress if report else (lambda n, total: None)
        pending = ops
        while pending:
            deferred = []
            for op in pending:
                try:
                    op.fn()
                    progress(op.rows, self.result.rows)
                except (BudgetStopError, _Missing) as exc:
                    deferred.append((op, exc))
                except DomainError as exc:
                    self._op_error(op, exc)
                    progress(op.rows, self.result.rows)
                except SQLAlchemyError as exc:
                    raise _Abort(type(exc).__name__) from exc
            if len(deferred) == len(pending):
                for op, exc in deferred:
                    self._op_error(op, exc)
                    progress(op.rows, self.result.rows)
                return
            pending = [op for op, _exc in deferred]

    def _written(self, n: int) -> None:
        self.progress(n, self.result.rows)

    def _op_error(self, op: _Op, exc: DomainError) -> None:
        self.error(op.sheet, op.row, op.columns.get(exc.field, ""), exc.message)

    def _programme(self, code: str) -> Programme:
        programme = self.db_programmes.get(code)
        if programme is None:
            programme = self.session.scalar(select(Programme).where(Programme.code == code))
            if programme is None:
                raise _Missing(f"Programma {code} ontbreekt.")
            self.db_programmes[code] = programme
        return programme

    def _write_organisations(self) -> None:
        """New and retyped organisations: the service's rules, then written in bulk with their audit entries.

        One dict of the names already taken instead of a query, a flush and an audit entry per
        row, so a file of 200,000 organisations costs as many statements as one of 50.
        """
        table = Organisation.__table__
        new, retyped = [], []
        for key, r in self.file_orgs.items():
            org = self.db_orgs.get(key)
            if org is None:
                new.append((key, r))
                self.count("Organisaties", NEW)
            elif org.type != r["type"]:
                retyped.append((org, r))
                self.count("Organisaties", CHANGED)
            else:
                self.count("Organisaties", UNCHANGED)
        ids = iter(bulk.reserve_ids(self.session, table, len(new)))
        created: list[dict] = []
        changed: list[tuple[Organisation, str]] = []

        def create(key, r):
            require_role(self.actor, *FINANCE_ROLES)
            name, type_ = checked_organisation(r["name"], r["type"], lambda n: _norm(n) in self.db_orgs)
            row = {"id": next(ids), "version": 1, "name": name, "type": type_}
            created.append(row)
            self.db_orgs[key] = _OrgRef(row["id"])

        def retype(org, r):
            require_role(self.actor, *FINANCE_ROLES)
            # The name stays as it is (the row found the organisation by it), so only the type is new.
            _name, type_ = checked_organisation(org.name, r["type"], lambda n: False)
            changed.append((org, type_))

        columns = {"name": "Naam", "type": "Type"}
        self._run([_Op("Organisaties", r["row"], functools.partial(create, key, r), columns) for key, r in new]
                  + [_Op("Organisaties", r["row"], functools.partial(retype, org, r), columns)
                     for org, r in retyped], report=False)
        # What passed is written even when a row failed: later rows refer to it, and the errors
        # already make the caller roll the whole file back.
        bulk.insert_rows(self.session, table, created, self._written)
        if changed:
            self.session.execute(
                table.update().where(table.c.id == bindparam("org_id"), table.c.version == bindparam("old_version"))
                .values(type=bindparam("new_type"), version=table.c.version + 1),
                [{"org_id": org.id, "old_version": org.version, "new_type": type_} for org, type_ in changed])
            self._written(len(changed))
        record_many(self.session, self.actor, itertools.chain(
            (("create", "Organisation", row["id"], {"after": row}) for row in created),
            (("update", "Organisation", org.id, {"before": {"type": org.type}, "after": {"type": type_}})
             for org, type_ in changed)))
        for org, _type in changed:
            self.session.expire(org)

    def _programme_ops(self) -> list[_Op]:
        ops = []
        columns = {"code": "Code", "name": "Naam", "ministry": "Ministerie", "budget_article": "Begrotingsartikel",
                   "first_year": "Eerste jaar", "last_year": "Laatste jaar"}
        for code, r in self.file_programmes.items():
            programme = self.db_programmes.get(code)
            if programme is None:
                def create(r=r):
                    self._require_beheerder()
                    self.db_programmes[r["code"]] = portfolio.create_programme(
                        self.session, self.actor, r["code"], r["name"], r["ministry"], r["budget_article"],
                        r["first_year"], r["last_year"])
                ops.append(_Op("Programma", r["row"], create, columns))
                self.count("Programma", NEW)
                continue
            wanted = {k: r[k] for k in ("name", "ministry", "budget_article", "first_year")}
            if r["has_last"]:
                wanted["last_year"] = r["last_year"]
            if all(getattr(programme, k) == v for k, v in wanted.items()):
                self.count("Programma", UNCHANGED)
                continue

            def change(programme=programme, wanted=wanted):
                self._require_beheerder()
                before = snapshot(programme)
                for k, v in wanted.items():
                    setattr(programme, k, v)
                if programme.last_year and programme.last_year < programme.first_year:
                    raise ValidationError("Het laatste jaar ligt voor het eerste jaar.", field="last_year")
                record(self.session, self.actor, "update", programme, diff(before, snapshot(programme)))
            ops.append(_Op("Programma", r["row"], change, columns))
            self.count("Programma", CHANGED)
        return ops

    def _require_beheerder(self) -> None:
        if getattr(self.actor, "role", None) != "beheerder":
            raise PermissionDenied("Alleen een beheerder kan een programma aanmaken of wijzigen; "
                                   "laat het blad Programma weg of vraag een beheerder.", field="code")

    def _project_data(self, r: dict) -> tuple[Programme, dict]:
        programme = self._programme(r["programme"])
        org = self.db_orgs.get(_norm(r["organisation"])) if r["organisation"] else None
        if r["organisation"] and org is None:
            raise _Missing(f"Organisatie {r['organisation']} ontbreekt.")
        predecessor = None
        if r["predecessor"]:
            predecessor = self.db_projects.get((r["programme"], r["predecessor"]))
            if predecessor is None:
                raise _Missing(f"Project {r['predecessor']} (vervolg op) kon niet worden aangemaakt.",
                               field="predecessor_id")
        owner = self.users.get(r["owner"]) if r["owner"] else None
        return programme, {
            "code": r["code"], "title": r["title"], "summary": r["summary"], "category": r["category"],
            "line": r["line"], "instrument": r["instrument"], "forms": r["forms"],
            "organisation_id": org.id if org else None, "owner_id": owner.id if owner else None,
            "predecessor_id": predecessor.id if predecessor else None, "start_date": r["start_date"],
            "end_date": r["end_date"], "requested_amount": r["requested_amount"],
            "internal_notes": r["internal_notes"], "contact_person": r["contact_person"]}

    PROJECT_COLUMNS = {"code": "Projectcode", "title": "Titel", "summary": "Samenvatting", "category": "Categorie",
                       "line": "Programmalijn", "instrument": "Instrument", "forms": "Vormen van uitbuiting",
                       "organisation_id": "Organisatie", "owner_id": "Projectleider",
                       "predecessor_id": "Vervolg op", "start_date": "Startdatum", "end_date": "Einddatum",
                       "requested_amount": "Gevraagd bedrag", "internal_notes": "Interne notitie",
                       "contact_person": "Contactpersoon", "status": "Status"}

    def _create_projects(self) -> None:
        """New projects: checked as create_project checks them, then written in bulk with their audit entries.

        Parse and resolve already checked every field, code, organisation, owner and predecessor;
        what is left is order (a predecessor the file creates comes first) and the ids.
        """
        new = [(key, r) for key, r in self.file_projects.items() if key not in self.db_projects]
        if not new:
            return
        table = Project.__table__
        ids = iter(bulk.reserve_ids(self.session, table, len(new)))
        staged: list[dict] = []

        def create(r, key):
            require_role(self.actor, *FINANCE_ROLES)
            programme, data = self._project_data(r)
            row = {"id": next(ids), "version": 1, "programme_id": programme.id, "status": r["status"],
                   "created_at": self.now, **data}
            staged.append(row)
            self.db_projects[key] = _Ref(row["id"], programme.id, r["code"])

        ops = []
        for key, r in new:
            ops.append(_Op("Projecten", r["row"], functools.partial(create, r, key), self.PROJECT_COLUMNS))
            self.count("Projecten", NEW)
        self._run(ops, report=False)
        # Staged in dependency order: a predecessor is always written before its follow-up.
        bulk.insert_rows(self.session, table, ({k: v for k, v in row.items() if k != "forms"} for row in staged),
                        self._written)
        bulk.insert_rows(self.session, ProjectExploitation.__table__,
                        ({"project_id": row["id"], "form": form} for row in staged for form in row["forms"]))
        record_many(self.session, self.actor, (("create", "Project", row["id"], {"after": row}) for row in staged))

    def _project_ops(self) -> list[_Op]:
        """Changes to existing projects go through the services: few rows, and each one audited as a change."""
        ops = []
        for key, r in self.file_projects.items():
            project = self.db_projects.get(key)
            if project is None or isinstance(project, _Ref):
                continue  # created above
            try:
                _programme, data = self._project_data(r)
                current = {f: getattr(project, f) for f in data if f != "forms"}
                current["forms"] = sorted(project.form_codes)
                changed = tuple(k for k, v in data.items() if (sorted(v) if k == "forms" else v) != current[k])
            except _Missing:
                changed = None  # refers to something this file creates: update every field once it exists
            if changed == () and r["status"] == project.status:
                self.count("Projecten", UNCHANGED)
                continue

            def change(r=r, project=project, fields=changed):
                _programme, data = self._project_data(r)
                if fields is None or fields:
                    portfolio.update_project(self.session, self.actor, project,
                                             data if fields is None else {k: data[k] for k in fields})
                if r["status"] != project.status:
                    self._walk_status(project, r["status"])
            ops.append(_Op("Projecten", r["row"], change, self.PROJECT_COLUMNS))
            self.count("Projecten", CHANGED)
        return ops

    def _walk_status(self, project: Project, target: str) -> None:
        """Take the lifecycle's steps to the new status, each a status update, as the pages would."""
        try:
            steps = status_path(project.status, target)
        except ValueError:
            raise InvalidTransition(f"Van '{STATUSES[project.status]}' kan de status niet naar "
                                    f"'{STATUSES[target]}'.", field="status") from None
        for status in steps:
            portfolio.add_status_update(self.session, self.actor, project, status=status, rag="op_koers",
                                        update_date=date.today(), progress="Status bijgewerkt via de import.")

    def _budget_ops(self) -> tuple[list[_Op], list[_Op], list[_Op]]:
        raise_ops, shift_ops, lower_ops = [], [], []
        columns = {"name": "Bron", "kind": "Soort", "reference": "Kenmerk", "year": "Jaar", "amount": "Bedrag"}
        for (code, key), rows in self.sources.items():
            programme = self.db_programmes.get(code)
            source = None
            if programme is not None:
                source = self.session.scalar(select(FundingSource).where(
                    FundingSource.programme_id == programme.id, func.lower(FundingSource.name) == key))
                if source is None:  # names differing only in spacing still mean the same source
                    source = next((s for s in self.session.scalars(select(FundingSource).where(
                        FundingSource.programme_id == programme.id)) if _norm(s.name) == key), None)
            first = rows[0]
            if source is None:
                def create(rows=rows, code=code):
                    budget.add_funding_source(self.session, self.actor, self._programme(code), rows[0]["source"],
                                              rows[0]["kind"], rows[0]["reference"],
                                              {r["year"]: r["amount"] for r in rows})
                raise_ops.append(_Op("Budget", first["row"], create, columns, rows=len(rows)))
                self.count("Budget", NEW, len(rows))
                continue
            source_changed = (source.kind, source.reference) != (first["kind"], first["reference"])
            if source_changed:
                def change(source=source, first=first):
                    require_role(self.actor, *FINANCE_ROLES)
                    before = snapshot(source)
                    source.kind, source.reference = first["kind"], first["reference"]
                    record(self.session, self.actor, "update", source, diff(before, snapshot(source)))
                raise_ops.append(_Op("Budget", first["row"], change, columns, rows=0))
            existing = {a.year: a.amount for a in source.allocations}
            for r in rows:
                old = existing.get(r["year"])
                if old == r["amount"]:
                    self.count("Budget", CHANGED if (source_changed and r is first) else UNCHANGED)
                    continue

                def set_amount(source=source, r=r):
                    budget.set_allocation(self.session, self.actor, source, r["year"], r["amount"])
                op = _Op("Budget", r["row"], set_amount, columns)
                (lower_ops if old is not None and r["amount"] < old else raise_ops).append(op)
                self.count("Budget", NEW if old is None else CHANGED)

        mutation_columns = {"year": "Jaar", "amount": "Bedrag", "kind": "Soort", "moment": "Moment",
                            "reason": "Toelichting", "reference": "Kenmerk", "date": "Datum", "amounts": "Bedrag"}
        existing_mutations: dict[str, Counter] = {}
        existing_groups: dict[str, Counter] = {}
        for code, programme in self.db_programmes.items():
            singles, groups = Counter(), defaultdict(list)
            for m in self.session.scalars(select(BudgetMutation).where(BudgetMutation.programme_id == programme.id)):
                if m.kasschuif_group:
                    groups[m.kasschuif_group].append(m)
                else:
                    singles[(m.year, m.amount, m.kind, m.moment, m.reason, m.reference, m.date)] += 1
            existing_mutations[code] = singles
            existing_groups[code] = Counter(
                (ms[0].date, ms[0].moment, ms[0].reason, ms[0].reference,
                 frozenset((m.year, m.amount) for m in ms)) for ms in groups.values())
        for r in self.rows["Mutaties"]:
            if r["kind"] == "kasschuif":
                continue
            key = (r["year"], r["amount"], r["kind"], r["moment"], r["reason"], r["reference"], r["date"])
            known = existing_mutations.get(r["programme"], Counter())
            if known[key] > 0:
                known[key] -= 1
                self.count("Mutaties", UNCHANGED)
                continue

            def add(r=r):
                budget.add_mutation(self.session, self.actor, self._programme(r["programme"]), year=r["year"],
                                    amount=r["amount"], kind=r["kind"], moment=r["moment"], reason=r["reason"],
                                    mutation_date=r["date"], reference=r["reference"])
            (raise_ops if r["amount"] > 0 else lower_ops).append(_Op("Mutaties", r["row"], add, mutation_columns))
            self.count("Mutaties", NEW)
        for (code, _group), rows in self.kasschuiven.items():
            first = rows[0]
            key = (first["date"], first["moment"], first["reason"], first["reference"],
                   frozenset((r["year"], r["amount"]) for r in rows))
            known = existing_groups.get(code, Counter())
            if known[key] > 0:
                known[key] -= 1
                self.count("Mutaties", UNCHANGED, len(rows))
                continue

            def shift(rows=rows, code=code):
                f = rows[0]
                budget.add_kasschuif(self.session, self.actor, self._programme(code),
                                     amounts={r["year"]: r["amount"] for r in rows}, moment=f["moment"],
                                     reason=f["reason"], mutation_date=f["date"], reference=f["reference"])
            shift_ops.append(_Op("Mutaties", first["row"], shift, mutation_columns, rows=len(rows)))
            self.count("Mutaties", NEW, len(rows))

        staffing_columns = {"year": "Jaar", "fte": "FTE", "amount": "Bedrag"}
        for r in self.rows["Ambtelijke ondersteuning"]:
            programme = self.db_programmes.get(r["programme"])
            res = programme and self.session.scalar(select(StaffingReservation).where(
                StaffingReservation.programme_id == programme.id, StaffingReservation.year == r["year"]))
            if res and (res.fte, res.amount) == (r["fte"], r["amount"]):
                self.count("Ambtelijke ondersteuning", UNCHANGED)
                continue

            def stage(r=r):
                budget.set_staffing_reservation(self.session, self.actor, self._programme(r["programme"]),
                                                year=r["year"], fte=r["fte"], amount=r["amount"])
            old = res.amount if res else Decimal("0.00")
            (raise_ops if r["amount"] <= old else lower_ops).append(
                _Op("Ambtelijke ondersteuning", r["row"], stage, staffing_columns))
            self.count("Ambtelijke ondersteuning", CHANGED if res else NEW)
        return raise_ops, shift_ops, lower_ops

    def _reservation(self, code: str, year: int) -> StaffingReservation:
        res = self.session.scalar(select(StaffingReservation).where(
            StaffingReservation.programme_id == self._programme(code).id, StaffingReservation.year == year))
        if res is None:
            raise _Missing(f"Er is geen ambtelijke ondersteuning voor {year}.", field="cost_date")
        return res

    def _staffing_cost_ops(self) -> list[_Op]:
        columns = {"cost_date": "Datum", "amount": "Bedrag", "description": "Omschrijving", "reference": "Kenmerk"}
        by_ref: dict[tuple, StaffingCost] = {}
        loose: dict[str, Counter] = {}
        for code, programme in self.db_programmes.items():
            costs = self.session.scalars(select(StaffingCost).join(StaffingReservation).where(
                StaffingReservation.programme_id == programme.id))
            loose[code] = Counter()
            for cost in costs:
                if cost.reference:
                    by_ref[(code, cost.reference)] = cost
                else:
                    loose[code][(cost.date, cost.amount, cost.description)] += 1
        ops = []
        for r in sorted(self.rows["Personeelskosten"], key=lambda r: (r["date"], -r["amount"])):
            if r["reference"]:
                cost = by_ref.get((r["programme"], r["reference"]))
                if cost is not None:
                    if (cost.date, cost.amount, cost.description) == (r["date"], r["amount"], r["description"]):
                        self.count("Personeelskosten", UNCHANGED)
                    else:
                        self.error("Personeelskosten", r["row"], "Kenmerk",
                                   f"Personeelskosten met kenmerk {r['reference']} zijn al geboekt met andere "
                                   "gegevens; geboekte kosten wijzigen niet: boek een correctie met een eigen kenmerk.")
                    continue
            else:
                known = loose.get(r["programme"], Counter())
                key = (r["date"], r["amount"], r["description"])
                if known[key] > 0:
                    known[key] -= 1
                    self.count("Personeelskosten", UNCHANGED)
                    continue

            def add(r=r):
                budget.add_staffing_cost(self.session, self.actor, self._reservation(r["programme"], r["date"].year),
                                         cost_date=r["date"], amount=r["amount"], description=r["description"],
                                         reference=r["reference"])
            ops.append(_Op("Personeelskosten", r["row"], add, columns))
            self.count("Personeelskosten", NEW)
        return ops

    # --- 4. commitments, adjustments and payments: checked in memory, written in bulk ---------

    def _book_money(self) -> None:
        """Commitments, adjustments and payments replayed by date, so each step met its rules then too.

        The rules are add_commitment's, adjust_commitment's and add_payment's (budget/services.py),
        checked against running totals per commitment instead of a query per row; the budget
        stop is checked once on the whole file's state (_final_budget_check). What passes is
        written in bulk, each object with the audit entry the service would have written.
        """
        self.booked: dict[str, _Booked] = {}
        self.staged_money: list[tuple[str, object]] = []  # ("commitment"|"adjustment"|"payment", staged), in order
        events = self._money_events()
        self._load_booked({op.ref for op in events if op.ref in self.db_commitments})
        self._run(events, report=False)
        self._write_money()

    def _money_events(self) -> list[_Op]:
        events: list[tuple] = []  # (date, rank, row, op)
        columns = {"reference": "Kenmerk", "signed_date": "Datum", "total": "Bedrag", "schedule": "Jaar"}
        for ref, rows in self.commitment_rows.items():
            first = rows[0]
            schedule = {r["year"]: r["amount"] for r in rows if r["amount"] != 0}
            existing = self.db_commitments.get(ref)
            if existing is not None:
                same = (existing.project.code == first["project"] and existing.signed_date == first["date"]
                        and {s.year: s.amount for s in existing.schedule} == schedule)
                if same:
                    self.count("Verplichtingen", UNCHANGED, len(rows))
                else:
                    self.error("Verplichtingen", first["row"], "Kenmerk",
                               f"Verplichting {ref} bestaat al met een ander project, datum of kasritme. Een "
                               "verplichting wordt nooit stil gewijzigd: boek de wijziging als bijstelling "
                               "(blad Bijstellingen, met een reden).")
                continue
            events.append((first["date"], 0, first["row"], _Op("Verplichtingen", first["row"],
                                                                functools.partial(self._stage_commitment, ref, rows),
                                                                columns, rows=len(rows))))
            self.count("Verplichtingen", NEW, len(rows))

        adj_columns = {"adjustment_date": "Datum", "changes": "Bedrag", "reason": "Reden", "reference": "Kenmerk"}
        known_adj: dict[str, Counter] = defaultdict(Counter)
        for ref in {r["commitment"] for r in self.rows["Bijstellingen"]}:
            if ref in self.db_commitments:
                for a in self.db_commitments[ref].adjustments:
                    known_adj[ref][(a.date, a.year, a.amount, a.reason, a.reference)] += 1
        groups: dict[tuple, list[dict]] = defaultdict(list)
        for r in self.rows["Bijstellingen"]:
            key = (r["date"], r["year"], r["amount"], r["reason"], r["reference"])
            if known_adj[r["commitment"]][key] > 0:
                known_adj[r["commitment"]][key] -= 1
                self.count("Bijstellingen", UNCHANGED)
                continue
            group = groups[(r["commitment"], r["date"], r["reason"], r["reference"])]
            if any(g["year"] == r["year"] for g in group):
                self.error("Bijstellingen", r["row"], "Jaar", f"Jaar {r['year']} staat twee keer in dezelfde "
                                                              "bijstelling (zelfde verplichting, datum en reden).")
                continue
            group.append(r)
            self.count("Bijstellingen", NEW)
        for (ref, day, reason, reference), rows in groups.items():
            up = sum((r["amount"] for r in rows), Decimal("0.00")) > 0
            op = _Op("Bijstellingen", rows[0]["row"], functools.partial(self._stage_adjustment, ref, day, reason,
                                                                        reference, rows),
                     adj_columns, rows=len(rows), ref=ref)
            events.append((day, 1 if up else 4, rows[0]["row"], op))

        pay_columns = {"payment_date": "Datum", "amount": "Bedrag", "kind": "Soort", "reference": "Kenmerk"}
        refs = [r["reference"] for r in self.rows["Betalingen"] if r["reference"]]
        by_ref: dict[str, tuple] = {}
        for i in range(0, len(refs), 500):
            for p in self.session.execute(select(Payment.reference, Commitment.reference, Payment.date,
                                                 Payment.amount, Payment.kind).join(Commitment)
                                          .where(Payment.reference.in_(refs[i:i + 500]))):
                by_ref[p[0]] = tuple(p[1:])
        loose = self._loose_payments({r["commitment"] for r in self.rows["Betalingen"] if not r["reference"]})
        for r in self.rows["Betalingen"]:
            if r["reference"] and r["reference"] in by_ref:
                if by_ref[r["reference"]] == (r["commitment"], r["date"], r["amount"], r["kind"]):
                    self.count("Betalingen", UNCHANGED)
                else:
                    self.error("Betalingen", r["row"], "Kenmerk",
                               f"Betaling {r['reference']} is al geboekt met andere gegevens; een betaling wijzigt "
                               "niet: boek een terugbetaling of een nieuwe betaling met een eigen kenmerk.")
                continue
            if not r["reference"]:
                known = loose.get(r["commitment"])
                key = (r["date"], r["amount"], r["kind"])
                if known and known[key] > 0:
                    known[key] -= 1
                    self.count("Betalingen", UNCHANGED)
                    continue
            op = _Op("Betalingen", r["row"], functools.partial(self._stage_payment, r), pay_columns,
                     ref=r["commitment"])
            events.append((r["date"], 2 if r["amount"] > 0 else 3, r["row"], op))
            self.count("Betalingen", NEW)
        events.sort(key=lambda e: e[:3])
        return [e[3] for e in events]

    def _loose_payments(self, refs: set[str]) -> dict[str, Counter]:
        """Payments without a kenmerk on existing commitments, by (date, amount, kind): in one query per 500."""
        ids = {self.db_commitments[ref].id: ref for ref in refs if ref in self.db_commitments}
        loose: dict[str, Counter] = defaultdict(Counter)
        id_list = sorted(ids)
        for i in range(0, len(id_list), 500):
            for cid, day, amount, kind in self.session.execute(
                    select(Payment.commitment_id, Payment.date, Payment.amount, Payment.kind)
                    .where(Payment.commitment_id.in_(id_list[i:i + 500]), Payment.reference.is_(None))):
                loose[ids[cid]][(day, amount, kind)] += 1
        return loose

    def _load_booked(self, refs: set[str]) -> None:
        """Current totals of the existing commitments that new rows touch, in a few grouped queries."""
        by_id = {self.db_commitments[ref].id: self.db_commitments[ref] for ref in refs}
        id_list = sorted(by_id)
        extra: dict[int, Decimal] = defaultdict(lambda: Decimal("0.00"))
        paid: dict[int, Decimal] = defaultdict(lambda: Decimal("0.00"))
        years: dict[int, dict[int, Decimal]] = defaultdict(dict)
        for i in range(0, len(id_list), 500):
            chunk = id_list[i:i + 500]
            for cid, total in self.session.execute(
                    select(Payment.commitment_id, func.sum(Payment.amount).cast(Money))
                    .where(Payment.commitment_id.in_(chunk)).group_by(Payment.commitment_id)):
                paid[cid] = total
            for cid, year, amount in self.session.execute(
                    select(CommitmentAdjustment.commitment_id, CommitmentAdjustment.year, CommitmentAdjustment.amount)
                    .where(CommitmentAdjustment.commitment_id.in_(chunk))):
                extra[cid] += amount
                years[cid][year] = years[cid].get(year, Decimal("0.00")) + amount
        for cid, c in by_id.items():
            current = {s.year: s.amount for s in c.schedule}
            for year, amount in years[cid].items():
                current[year] = current.get(year, Decimal("0.00")) + amount
            self.booked[c.reference] = _Booked(c.id, self._programme(c.project.programme.code), c.reference,
                                               c.total + extra[cid], paid[cid], current)

    def _booked_state(self, reference: str) -> _Booked:
        state = self.booked.get(reference)
        if state is None:
            raise _Missing(f"Verplichting {reference} kon niet worden aangemaakt.")
        return state

    def _years(self, programme: Programme) -> list[int]:
        cache = self.__dict__.setdefault("_years_cache", {})
        if programme.id not in cache:
            cache[programme.id] = programme_years(self.session, programme)
        return cache[programme.id]

    def _schedule(self, programme: Programme, rows: list[dict], allow_negative: bool = False) -> dict[int, Decimal]:
        """budget.services._schedule on parsed rows: years inside the programme, zero years left out."""
        years = self._years(programme)
        clean: dict[int, Decimal] = {}
        for r in rows:
            if r["year"] not in years:
                raise ValidationError(f"{r['year']} valt buiten de programmajaren {years[0]}–{years[-1]}.",
                                      field="schedule")
            if r["amount"] < 0 and not allow_negative:
                raise ValidationError("Het bedrag kan niet negatief zijn.", field="schedule")
            if r["amount"] != 0:
                clean[r["year"]] = clean.get(r["year"], Decimal("0.00")) + r["amount"]
        return clean

    def _stage_commitment(self, ref: str, rows: list[dict]) -> None:
        """add_commitment's rules (the budget stop is judged on the whole file, afterwards)."""
        f = rows[0]
        project = self.db_projects.get((f["programme"], f["project"]))
        if project is None:
            raise _Missing(f"Project {f['project']} kon niet worden aangemaakt.")
        require_role(self.actor, *FINANCE_ROLES)
        programme = self._programme(f["programme"])
        schedule = self._schedule(programme, rows)
        total = sum(schedule.values(), Decimal("0.00"))
        if total == 0:
            raise ValidationError("Een verplichting heeft een bedrag groter dan nul.", field="total")
        state = _Booked(None, programme, ref, total, Decimal("0.00"), dict(schedule), signed=total)
        self.booked[ref] = state
        self.staged_money.append(("commitment", (state, project.id, f["date"], schedule)))

    def _stage_adjustment(self, ref: str, day: date, reason: str, reference: str, rows: list[dict]) -> None:
        """adjust_commitment's rules: no year below zero, never below what is paid."""
        state = self._booked_state(ref)
        require_role(self.actor, *FINANCE_ROLES)
        deltas = self._schedule(state.programme, rows, allow_negative=True)
        if not deltas:
            raise ValidationError("Geef per jaar het bedrag van de bijstelling.", field="changes")
        for year, delta in deltas.items():
            if state.years.get(year, Decimal("0.00")) + delta < 0:
                raise ValidationError(f"De bijstelling maakt het kasritme in {year} negatief.", field="changes")
        new_total = state.total + sum(deltas.values(), Decimal("0.00"))
        if new_total < state.paid:
            raise ValidationError(f"Na deze bijstelling is de verplichting {format_eur(new_total)}, "
                                  f"maar er is al {format_eur(state.paid)} betaald.", field="changes")
        self.staged_money.append(("adjustment", (state, day, reason, reference, deltas, state.total, new_total)))
        for year, delta in deltas.items():
            state.years[year] = state.years.get(year, Decimal("0.00")) + delta
        state.total = new_total

    def _stage_payment(self, r: dict) -> None:
        """add_payment's rules: within the commitment, and a refund never below zero."""
        state = self._booked_state(r["commitment"])
        require_role(self.actor, *FINANCE_ROLES)
        amount = r["amount"]
        if state.paid + amount > state.total:
            raise BudgetStopError({r["date"].year: state.paid + amount - state.total},
                                  f"Betaling geweigerd: verplichting {state.reference} is {format_eur(state.total)}; "
                                  f"deze betaling gaat daar {format_eur(state.paid + amount - state.total)} overheen.")
        if state.paid + amount < 0:
            raise ValidationError("De terugbetaling is groter dan wat er op deze verplichting is betaald.",
                                  field="amount")
        state.paid += amount
        self.staged_money.append(("payment", (state, r)))

    def _write_money(self) -> None:
        staged = self.staged_money
        if not staged:
            return
        kinds = Counter(kind for kind, _ in staged)
        commitment_ids = iter(bulk.reserve_ids(self.session, Commitment.__table__, kinds["commitment"]))
        payment_ids = iter(bulk.reserve_ids(self.session, Payment.__table__, kinds["payment"]))
        adjustment_ids = iter(bulk.reserve_ids(self.session, CommitmentAdjustment.__table__, kinds["adjustment"]))
        commitments, schedules, adjustments, payments, audit = [], [], [], [], []
        now = self.now
        for kind, item in staged:
            if kind == "commitment":
                state, project_id, signed, schedule = item
                state.id = next(commitment_ids)
                row = {"id": state.id, "project_id": project_id, "reference": state.reference,
                       "signed_date": signed, "total": state.signed, "description": "", "created_at": now}
                commitments.append(row)
                schedules.extend({"commitment_id": state.id, "year": y, "amount": a}
                                 for y, a in sorted(schedule.items()))
                audit.append(("create", "Commitment", state.id, {"after": {
                    **row, "schedule": {str(y): a for y, a in sorted(schedule.items())}}}))
            elif kind == "adjustment":
                state, day, reason, reference, deltas, before_total, new_total = item
                rows = [{"id": next(adjustment_ids), "commitment_id": state.id, "date": day, "year": y,
                         "amount": d, "reason": reason, "reference": reference, "created_at": now}
                        for y, d in sorted(deltas.items())]
                adjustments.extend(rows)
                audit.append(("adjust", "Commitment", state.id, {"before": {"total": before_total},
                                                                 "after": {"total": new_total}, "adjustments": rows}))
            else:
                state, r = item
                row = {"id": next(payment_ids), "commitment_id": state.id, "reference": r["reference"] or None,
                       "date": r["date"], "amount": r["amount"], "kind": r["kind"], "description": "",
                       "created_at": now}
                payments.append(row)
                audit.append(("create", "Payment", row["id"], {"after": row}))
        bulk.insert_rows(self.session, Commitment.__table__, commitments)
        bulk.insert_rows(self.session, CommitmentSchedule.__table__, schedules, self._written)
        bulk.insert_rows(self.session, CommitmentAdjustment.__table__, adjustments, self._written)
        bulk.insert_rows(self.session, Payment.__table__, payments, self._written)
        record_many(self.session, self.actor, audit)


    def _final_budget_check(self) -> None:
        """Every year of every programme in the file keeps free room (or at least does not lose any)."""
        self.session.flush()
        codes = set(self.file_programmes) | {r["programme"] for s in ("Budget", "Mutaties", "Ambtelijke ondersteuning",
                                                                      "Projecten") for r in self.rows[s]}
        codes |= {r["programme"] for r in self.rows["Verplichtingen"] if r.get("programme")}
        for code in sorted(codes):
            programme = self.db_programmes.get(code)
            if programme is None:
                continue
            before = self.before.get(code, {})
            for year, figures in programme_figures(self.session, programme.id, None).items():
                old = before[year].free if year in before else Decimal("0.00")
                if figures.free < 0 and figures.free < old:
                    self.error("Budget", 0, "", f"Budgetstop: na deze import is de vrije ruimte van {code} in {year} "
                                                f"{format_eur(figures.free)}.")


class _Cells:
    """Reads one row's cells by header, collecting a Dutch error per bad cell."""

    def __init__(self, job: _Import, sheet: Sheet, number: int, values: tuple):
        self.job, self.sheet, self.number, self.values = job, sheet, number, values
        self.bad = False

    def __call__(self, header: str, convert, *args, **kwargs):
        index = self.sheet.columns.get(header)
        raw = self.values[index] if index is not None and index < len(self.values) else None
        try:
            return convert(raw, *args, **kwargs)
        except CellError as exc:
            self.fail(header, str(exc))
            return None

    def fail(self, header: str, message: str) -> None:
        self.bad = True
        self.job.error(self.sheet.name, self.number, header, message)
