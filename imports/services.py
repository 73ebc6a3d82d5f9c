"""The import: check every row, then apply the whole file in one transaction (services, or bulk for the big sheets)."""
from __future__ import annotations

import hashlib
from collections import Counter
from collections.abc import Callable
from decimal import Decimal

from sqlalchemy import select

from approvals.services import APPROVING, IN_BATCH, submit_batch
from budget.ledger import programme_figures
from budget.models import Commitment
from core.audit import record
from core.db import utcnow
from core.gcpause import gc_paused
from core.locking import serialise
from core.metrics import IMPORT_SECONDS, timed
from core.money import ZERO
from core.users import User
from imports import reader
from imports.apply import ApplySteps
from imports.budget_ops import BudgetSteps
from imports.contract import CHANGED, NEW, SHEETS, UNCHANGED, ImportResult, RowError
from imports.money import Booked, MoneySteps
from imports.parse import ParseSteps
from imports.reader import Sheet
from imports.resolve import ResolveSteps
from imports.settlements import SettleSteps
from projects.models import Programme


# A 10,000-project file keeps some 10^6 rows, dicts and operations alive until it is written; the
# cyclic collector kept walking them and found nothing to free (~18% of B4's import on SQLite).
@gc_paused
@timed(IMPORT_SECONDS)
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
    # Four eyes judges the file as one batch (below), not each row as the services would.
    four_eyes = {p.id: (p, programme_figures(session, p.id, None))
                 for p in session.scalars(select(Programme).where(Programme.four_eyes.is_(True)))}
    session.info[IN_BATCH] = True
    try:
        job.apply()
    finally:
        session.info.pop(IN_BATCH, None)
    if job.result.ok and job.result.changed and not dry_run:
        batch = _batch_for_approval(session, job, four_eyes)
        if batch is not None:
            _submit_batch(session, actor, job, data, filename, *batch)
            return job.result
    if job.result.ok and job.result.changed:
        counts = {s: {NEW: n, CHANGED: c, UNCHANGED: u} for s, n, c, u in job.result.table()}
        record(session, actor, "import", "Import", {"after": {
            "bestand": (filename or "")[:200], "sha256": hashlib.sha256(data).hexdigest(), "counts": counts}})
    return job.result


def _batch_for_approval(session, job, four_eyes: dict) -> tuple[Programme, dict[int, Decimal]] | None:
    """The programme whose money the file changes while it has four eyes on, with the change in free room per year.

    A file whose rows change the budget or the commitments of a four-eyes programme waits as one
    batch (approvals); payments and portfolio rows alone do not. A file that would make two such
    batches is refused: each programme's batch is approved on its own.
    """
    if session.info.get(APPROVING) is not None:
        return None  # this run is the approval itself
    touched = []
    for programme, before in four_eyes.values():
        after = programme_figures(session, programme.id, None)
        money = {y: (f.available, f.committed) for y, f in after.items()}
        if money != {y: (f.available, f.committed) for y, f in before.items()}:
            touched.append((programme, {y: after[y].free - (before[y].free if y in before else ZERO)
                                        for y in after if y not in before or after[y].free != before[y].free}))
    if len(touched) > 1:
        job.error("", 0, "", "Vier ogen staat aan voor " + " en ".join(p.code for p, _d in touched) + ": elk "
                  "programma keurt zijn eigen import goed. Splits het bestand per programma.")
        return None
    return touched[0] if touched else None


def _submit_batch(session, actor, job, data: bytes, filename: str, programme: Programme,
                  deltas: dict[int, Decimal]) -> None:
    """Undo the applied rows and keep the file as one entry ter goedkeuring; approving it imports it again."""
    session.rollback()
    serialise(session)
    counts = ", ".join(f"{sheet} {new + changed}" for sheet, new, changed, _u in job.result.table() if new + changed)
    entry = submit_batch(session, actor, programme, data, deltas,
                         f"Import {filename or 'bestand'} voor {programme.code} ({counts})", {"filename": filename})
    job.result.pending_id = entry.id


class _Import(ParseSteps, ResolveSteps, ApplySteps, BudgetSteps, MoneySteps, SettleSteps):
    """One import run: parsed rows, what they refer to, and the operations that apply them."""

    def __init__(self, session, actor, sheets: dict[str, Sheet], progress):
        self.session, self.actor, self.sheets = session, actor, sheets
        self.progress = progress or (lambda n, total: None)
        self.result = ImportResult()
        self.rows: dict[str, list[dict]] = {name: [] for name in SHEETS}
        #: One moment for every row this import writes in bulk (their created_at and audit time).
        self.now = utcnow()
        # The state the steps build up, each filled by the step named (declared here, so the
        # whole of it can be read in one place).
        # resolve: what exists, what the file names, and the groups of rows that belong together
        self.db_programmes: dict[str, Programme] = {}
        self.file_programmes: dict[str, dict] = {}
        self.db_orgs: dict[str, object] = {}  # normalised name -> Organisation or OrgRef
        self.file_orgs: dict[str, dict] = {}
        self.sources: dict[tuple, list[dict]] = {}  # (programme, source name) -> Budget rows
        self.kasschuiven: dict[tuple, list[dict]] = {}  # (programme, group) -> Mutaties rows
        self.staffing_keys: set[tuple] = set()  # (programme, year) on Ambtelijke ondersteuning
        self.db_projects: dict[tuple, object] = {}  # (programme, code) -> Project or Ref
        self.file_projects: dict[tuple, dict] = {}
        self.users: dict[str, User] = {}  # e-mail -> the project leaders the file names
        self.project_by_code: dict[str, set] = {}
        self.commitment_rows: dict[str, list[dict]] = {}  # kenmerk -> Verplichtingen rows
        self.db_commitments: dict[str, Commitment] = {}
        # apply: the figures before, for the budget stop over the whole file
        self.before: dict[str, dict] = {}
        # money: each commitment's running state, and what is staged for the bulk write
        self.booked: dict[str, Booked] = {}
        self.staged_money: list[tuple[str, object]] = []
        self.settling: set[str] = set()  # kenmerken of the commitments the file settles
        self.settle_after: dict[str, int] = {}  # kenmerk -> the file's rows on it booked before its settlement

    def error(self, sheet: str, row: int, column: str, message: str) -> None:
        self.result.errors.append(RowError(sheet, row, column, message))

    def count(self, sheet: str, what: str, n: int = 1) -> None:
        counts = self.result.counts.get(sheet)
        if counts is None:  # not setdefault: it would build a Counter for each of 200,000 rows
            counts = self.result.counts[sheet] = Counter({NEW: 0, CHANGED: 0, UNCHANGED: 0})
        counts[what] += n
