"""Import step 3: organisations, programmes and projects through the rules, in the services or in bulk."""
from __future__ import annotations

import functools
import itertools
from collections.abc import Callable
from dataclasses import dataclass, field
from datetime import date

from sqlalchemy import bindparam, select
from sqlalchemy.exc import SQLAlchemyError

from budget.demo import status_path
from budget.ledger import programme_figures
from core import bulk
from core.audit import record_many
from core.errors import (
    BudgetStopError,
    DomainError,
    InvalidTransition,
    PermissionDenied,
)
from core.users import FINANCE_ROLES, require_role
from imports.contract import CHANGED, NEW, UNCHANGED
from imports.resolve import norm
from projects import services as portfolio
from projects.models import (
    STATUSES,
    Organisation,
    Programme,
    Project,
    ProjectExploitation,
)
from projects.rules import ProjectLookups, check_project, checked_organisation


class Missing(DomainError):
    """A row refers to something another row still has to create; retried after the rest."""


class Abort(Exception):
    """The database refused a write; the transaction is unusable, stop applying."""


@dataclass
class Op:
    sheet: str
    row: int
    fn: Callable[[], None]
    columns: dict = field(default_factory=dict)  # service field name -> column header
    rows: int = 1
    ref: str = ""  # the commitment a money row books on
    #: A refund or final payment (budget.settlement_rules.AFTER_SETTLEMENT): may follow its commitment's vaststelling.
    after_settlement: bool = False


@dataclass
class Ref:
    """A project this import writes in bulk: what later rows need of it, without loading it back."""

    id: int
    programme_id: int
    code: str


@dataclass
class OrgRef:
    """An organisation this import writes in bulk: its id for the projects that name it."""

    id: int


class ApplySteps:
    """The apply step of an import run (imports.services._Import): order, retries, and the portfolio."""

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
        except Abort as exc:
            self.error("", 0, "", f"De database weigerde een wijziging ({exc}); er is niets opgeslagen.")
            return
        if not self.result.errors:
            self._final_budget_check()

    def _run(self, ops: list[Op], report: bool = True) -> None:
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
                except (BudgetStopError, Missing) as exc:
                    deferred.append((op, exc))
                except DomainError as exc:
                    self._op_error(op, exc)
                    progress(op.rows, self.result.rows)
                except SQLAlchemyError as exc:
                    raise Abort(type(exc).__name__) from exc
            if len(deferred) == len(pending):
                for op, exc in deferred:
                    self._op_error(op, exc)
                    progress(op.rows, self.result.rows)
                return
            pending = [op for op, _exc in deferred]

    def _written(self, n: int) -> None:
        self.progress(n, self.result.rows)

    def _op_error(self, op: Op, exc: DomainError) -> None:
        # Refusals (several rules at once, e.g. check_project): each in its own column. A budget stop
        # among them is left out: it may clear once the rest of the file has run (see _run), the others not.
        errors = getattr(exc, "errors", None) or [exc]
        errors = [e for e in errors if not isinstance(e, BudgetStopError)] or errors
        for error in errors:
            self.error(op.sheet, op.row, op.columns.get(error.field, ""), error.message)

    def _programme(self, code: str) -> Programme:
        programme = self.db_programmes.get(code)
        if programme is None:
            programme = self.session.scalar(select(Programme).where(Programme.code == code))
            if programme is None:
                raise Missing(f"Programma {code} ontbreekt.")
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
            name, type_ = checked_organisation(r["name"], r["type"], lambda n: norm(n) in self.db_orgs)
            row = {"id": next(ids), "version": 1, "name": name, "type": type_}
            created.append(row)
            self.db_orgs[key] = OrgRef(row["id"])

        def retype(org, r):
            require_role(self.actor, *FINANCE_ROLES)
            # The name stays as it is (the row found the organisation by it), so only the type is new.
            _name, type_ = checked_organisation(org.name, r["type"], lambda n: False)
            changed.append((org, type_))

        columns = {"name": "Naam", "type": "Type"}
        self._run([Op("Organisaties", r["row"], functools.partial(create, key, r), columns) for key, r in new]
                  + [Op("Organisaties", r["row"], functools.partial(retype, org, r), columns)
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

    def _programme_ops(self) -> list[Op]:
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
                ops.append(Op("Programma", r["row"], create, columns))
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
                portfolio.update_programme(self.session, self.actor, programme, **wanted)
            ops.append(Op("Programma", r["row"], change, columns))
            self.count("Programma", CHANGED)
        return ops

    def _require_beheerder(self) -> None:
        if getattr(self.actor, "role", None) != "beheerder":
            raise PermissionDenied("Alleen een beheerder kan een programma aanmaken of wijzigen; "
                                   "laat het blad Programma weg of vraag een beheerder.", field="code")

    def _project_data(self, r: dict) -> tuple[Programme, dict]:
        programme = self._programme(r["programme"])
        org = self.db_orgs.get(norm(r["organisation"])) if r["organisation"] else None
        if r["organisation"] and org is None:
            raise Missing(f"Organisatie {r['organisation']} ontbreekt.")
        predecessor, outside = None, ""
        key = (r["programme"], r["predecessor"])
        if r["predecessor"] and (key in self.file_projects or key in self.db_projects):
            predecessor = self.db_projects.get(key)
            if predecessor is None:
                raise Missing(f"Project {r['predecessor']} (vervolg op) kon niet worden aangemaakt.",
                               field="predecessor_id")
        elif r["predecessor"]:
            # Not a project code of this programme: a predecessor outside the system, as named.
            outside = r["predecessor"]
        owner = self.users.get(r["owner"]) if r["owner"] else None
        return programme, {
            "code": r["code"], "title": r["title"], "summary": r["summary"], "category": r["category"],
            "line": r["line"], "instrument": r["instrument"], "forms": r["forms"],
            "organisation_id": org.id if org else None, "owner_id": owner.id if owner else None,
            "predecessor_id": predecessor.id if predecessor else None, "predecessor_outside": outside,
            "start_date": r["start_date"], "end_date": r["end_date"], "requested_amount": r["requested_amount"],
            "internal_notes": r["internal_notes"], "contact_person": r["contact_person"]}

    PROJECT_COLUMNS = {"code": "Projectcode", "title": "Titel", "summary": "Samenvatting", "category": "Categorie",
                       "line": "Programmalijn", "instrument": "Instrument", "forms": "Vormen van uitbuiting",
                       "organisation_id": "Organisatie", "owner_id": "Projectleider",
                       "predecessor_id": "Vervolg op", "predecessor_outside": "Vervolg op",
                       "start_date": "Startdatum", "end_date": "Einddatum", "requested_amount": "Gevraagd bedrag",
                       "internal_notes": "Interne notitie", "contact_person": "Contactpersoon", "status": "Status"}

    def _create_projects(self) -> None:
        """New projects: checked by the rule create_project applies, then written in bulk with their audit entries.

        Resolve already found what each row names (organisation, owner, predecessor, by name or
        code); here come order (a predecessor the file creates comes first), the ids, and
        projects.rules.check_project on what the row refers to.
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
            # _project_data found the predecessor by code within this programme: it is one of its projects.
            pred_id = data["predecessor_id"]
            data = check_project(data, ProjectLookups(
                programme_id=programme.id,
                organisations={data["organisation_id"]} - {None}, active_owners={data["owner_id"]} - {None},
                projects={pred_id: (programme.id, None)} if pred_id is not None else {}))
            row = {"id": next(ids), "version": 1, "programme_id": programme.id, "status": r["status"],
                   "initial_status": r["status"], "created_at": self.now, **data}
            staged.append(row)
            self.db_projects[key] = Ref(row["id"], programme.id, r["code"])

        ops = []
        for key, r in new:
            ops.append(Op("Projecten", r["row"], functools.partial(create, r, key), self.PROJECT_COLUMNS))
            self.count("Projecten", NEW)
        self._run(ops, report=False)
        # Staged in dependency order: a predecessor is always written before its follow-up.
        bulk.insert_rows(self.session, table, ({k: v for k, v in row.items() if k != "forms"} for row in staged),
                        self._written)
        bulk.insert_rows(self.session, ProjectExploitation.__table__,
                        ({"project_id": row["id"], "form": form} for row in staged for form in row["forms"]))
        record_many(self.session, self.actor, (("create", "Project", row["id"], {"after": row}) for row in staged))

    def _project_ops(self) -> list[Op]:
        """Changes to existing projects go through the services: few rows, and each one audited as a change."""
        ops = []
        for key, r in self.file_projects.items():
            project = self.db_projects.get(key)
            if project is None or isinstance(project, Ref):
                continue  # created above
            try:
                _programme, data = self._project_data(r)
                current = {f: getattr(project, f) for f in data if f != "forms"}
                current["forms"] = sorted(project.form_codes)
                changed = tuple(k for k, v in data.items() if (sorted(v) if k == "forms" else v) != current[k])
            except Missing:
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
            ops.append(Op("Projecten", r["row"], change, self.PROJECT_COLUMNS))
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
