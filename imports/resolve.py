"""Import step 2: what the rows refer to (programmes, organisations, projects, users, commitments), and consistency."""
from __future__ import annotations

from collections import Counter, defaultdict

from sqlalchemy import func, select
from sqlalchemy.orm import selectinload

from budget import rules as money
from budget.models import (
    Commitment,
    StaffingReservation,
)
from core.errors import DomainError
from core.users import ROLES, User
from projects.models import (
    Organisation,
    Programme,
    Project,
)
from projects.rules import FOLLOWS_ITSELF


def norm(name: str) -> str:
    return " ".join((name or "").lower().split())


#: Whom the Projectleider column may name: the users the project form offers (projects/views.py).
OWNER_ROLES = ("projectleider",)


class ResolveSteps:
    """The resolve step of an import run (imports.services._Import)."""

    def resolve(self) -> None:
        s = self.session
        self.db_programmes = {p.code: p for p in s.scalars(select(Programme))}
        self.file_programmes = {}
        for r in self.rows["Programma"]:
            if r["code"] in self.file_programmes:
                self._dup("Programma", r, "Code", self.file_programmes[r["code"]])
            self.file_programmes.setdefault(r["code"], r)
        known_programmes = set(self.db_programmes) | set(self.file_programmes)

        self.db_orgs = {norm(o.name): o for o in s.scalars(select(Organisation))}
        self.file_orgs = {}
        for r in self.rows["Organisaties"]:
            key = norm(r["name"])
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
        self.sources = defaultdict(list)
        for r in self.rows["Budget"]:
            group = self.sources[(r["programme"], norm(r["source"]))]
            for other in group:
                # One row per year and day: several rows of a year are its amount's history.
                if (other["year"], other["date"]) == (r["year"], r["date"]):
                    self._dup("Budget", r, "Datum" if r["date"] else "Jaar", other)
                    break
            if group and (group[0]["kind"], group[0]["reference"]) != (r["kind"], r["reference"]):
                column = "Soort" if group[0]["kind"] != r["kind"] else "Kenmerk"
                self.error("Budget", r["row"], column, f"Bron '{r['source']}' heeft op regel {group[0]['row']} "
                                                        "een andere soort of een ander kenmerk.")
            group.append(r)
        self.kasschuiven = defaultdict(list)
        for r in self.rows["Mutaties"]:
            if r["kind"] == "kasschuif":
                self.kasschuiven[(r["programme"], r["group"])].append(r)
        for rows in self.kasschuiven.values():
            first = rows[0]
            years = Counter(r["year"] for r in rows)
            duplicated = False
            for r in rows[1:]:
                # The Toelichting may differ per row ("Kasschuif naar 2025" / "Kasschuif uit 2024").
                if (r["date"], r["moment"], r["reference"]) != (first["date"], first["moment"], first["reference"]):
                    self.error("Mutaties", r["row"], "Kasschuifgroep",
                               f"Regels van kasschuifgroep '{r['group']}' hebben dezelfde datum, moment "
                               f"en kenmerk als regel {first['row']}.")
                if years[r["year"]] > 1 and r is not first:
                    self.error("Mutaties", r["row"], "Jaar", f"Jaar {r['year']} staat twee keer in kasschuifgroep "
                                                             f"'{r['group']}'.")
                    years[r["year"]] = 1
                    duplicated = True
            if not duplicated:
                # The kasschuif rule (two years or more, netting to zero) on the group's rows.
                try:
                    money.kasschuif([(r["year"], r["amount"]) for r in rows])
                except DomainError as exc:
                    self.error("Mutaties", first["row"], "Kasschuifgroep" if len(years) < 2 else "Bedrag",
                               exc.message)
        seen: dict[tuple, dict] = {}
        for r in self.rows["Ambtelijke ondersteuning"]:
            key = (r["programme"], r["year"], r["date"])
            if key in seen:
                self._dup("Ambtelijke ondersteuning", r, "Datum" if r["date"] else "Jaar", seen[key])
            seen.setdefault(key, r)
        self.staffing_keys = {(code, year) for code, year, _day in seen}
        seen = {}
        for r in self.rows["Personeelskosten"]:
            if r["reference"]:
                key = (r["programme"], r["reference"])
                if key in seen:
                    self._dup("Personeelskosten", r, "Kenmerk", seen[key])
                seen.setdefault(key, r)

    def _resolve_projects(self, known_programmes: set) -> None:
        s = self.session
        self.db_projects = {}
        codes = [p.id for c, p in self.db_programmes.items()]
        if codes:
            # Forms in one extra query: comparing each project's forms must not load them one by one.
            for p in s.scalars(select(Project).where(Project.programme_id.in_(codes))
                               .options(selectinload(Project.forms))):
                self.db_projects[(p.programme.code, p.code)] = p
        self.file_projects = {}
        for r in self.rows["Projecten"]:
            key = (r["programme"], r["code"])
            if key in self.file_projects:
                self._dup("Projecten", r, "Projectcode", self.file_projects[key])
            self.file_projects.setdefault(key, r)
        self.users = self._owners({r["owner"] for r in self.rows["Projecten"] if r["owner"]})
        for r in self.rows["Projecten"]:
            org_key = norm(r["organisation"])
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
            # Vervolg op names a project of the programme by its code, or else a predecessor outside
            # the system (see _project_data); only naming the row's own project is wrong here.
            if r["predecessor"] and r["predecessor"] == r["code"]:
                self.error("Projecten", r["row"], "Vervolg op", FOLLOWS_ITSELF)
        # A project code is unique per programme; sheets without a Programma column need it unambiguous.
        self.project_by_code = defaultdict(set)
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
        self.commitment_rows = defaultdict(list)
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
        on_commitments = ("Betalingen", "Bijstellingen", "Vaststellingen")
        refs = {r["commitment"] for sheet in on_commitments for r in self.rows[sheet]} | set(self.commitment_rows)
        self.db_commitments = {}
        refs_list = sorted(refs)
        for i in range(0, len(refs_list), 500):
            for c in s.scalars(select(Commitment).where(Commitment.reference.in_(refs_list[i:i + 500]))
                               .options(selectinload(Commitment.schedule), selectinload(Commitment.settlement))):
                self.db_commitments[c.reference] = c
        for sheet in on_commitments:
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
        seen = {}
        for r in self.rows["Vaststellingen"]:
            # A commitment is settled once: its kenmerk is the row's key.
            if r["commitment"] in seen:
                self._dup("Vaststellingen", r, "Kenmerk verplichting", seen[r["commitment"]])
            seen.setdefault(r["commitment"], r)
        for r in self.rows["Personeelskosten"]:
            if r["date"] and (r["programme"], r["date"].year) not in self.staffing_keys:
                programme = self.db_programmes.get(r["programme"])
                exists = programme is not None and s.scalar(select(StaffingReservation.id).where(
                    StaffingReservation.programme_id == programme.id, StaffingReservation.year == r["date"].year))
                if not exists:
                    self.error("Personeelskosten", r["row"], "Datum",
                               f"Er is geen ambtelijke ondersteuning voor {r['date'].year} in programma "
                               f"{r['programme']}; zet die op het blad Ambtelijke ondersteuning.")
