"""Rounds: open, change and close a rapportageronde, and its progress board (the mails: rounds.reminders)."""
from __future__ import annotations

import logging
from dataclasses import dataclass, field
from datetime import UTC, date, datetime

from sqlalchemy import and_, func, select
from sqlalchemy.orm import joinedload

from budget.breakdowns import status_at
from core.audit import record, snapshot
from core.dates import datum, datum_lang
from core.errors import Collect, Conflict, NotFound, ValidationError
from core.locking import serialise
from core.users import FINANCE_ROLES, User, require_role
from projects.models import Programme, Project, StatusUpdate
from reports.services import create_snapshot
from rounds import rules
from rounds.mail import current_settings as mail_settings  # noqa: F401 - the pages and the CLI ask here
from rounds.models import ReportingRound, RoundMail, RoundProject

logger = logging.getLogger(__name__)

#: The fields of the round's audit entries.
_AUDITED = ("title", "peildatum", "opened_on", "deadline", "kamerstuk", "remind_days_before",
            "remind_days_after", "state", "snapshot_id")


# --- Opening, changing, closing --------------------------------------------------------------------

def open_round(session, actor, programme: Programme, values: dict, codes: list[str] | None = None,
               today: date | None = None) -> ReportingRound:
    """Open a round (finance roles): the projects running on the peildatum, or the ones `codes` names.

    Refuses a second open round for the programme. Audited; never commits.
    """
    require_role(actor, *FINANCE_ROLES)
    serialise(session)
    today = today or date.today()
    c = Collect()
    peildatum = c(rules.check_peildatum, values.get("peildatum"))
    fields_ = c(rules.check_fields, values, today)
    codes = [code.strip().upper() for code in (codes or []) if code and code.strip()]
    project_ids = c(_chosen_projects, session, programme, codes) if codes else None
    c.raise_any()
    current = open_round_of(session, programme)
    if current is not None:
        raise Conflict(f"Voor {programme.code} loopt al een rapportageronde: {current.title} (deadline "
                       f"{datum(current.deadline)}). Sluit die eerst af.")
    if project_ids is None:
        project_ids = running_projects(session, programme, peildatum)
        if not project_ids:
            raise ValidationError(f"Op {datum_lang(peildatum)} liep geen enkel project. Noem de projecten "
                                  "die een update moeten geven.", field="projects")
    rnd = ReportingRound(programme_id=programme.id, peildatum=peildatum, opened_on=today,
                         opened_by_id=getattr(actor, "id", None), state="open", **vars(fields_))
    session.add(rnd)
    session.flush()
    session.add_all(RoundProject(round_id=rnd.id, project_id=pid) for pid in project_ids)
    record(session, actor, "create", rnd, {"after": {**_audited(rnd), "projects": len(project_ids)}})
    return rnd


def _chosen_projects(session, programme: Programme, codes: list[str]) -> list[int]:
    found = dict(session.execute(select(Project.code, Project.id).where(
        Project.programme_id == programme.id, Project.code.in_(codes))).all())
    unknown = [code for code in dict.fromkeys(codes) if code not in found]
    if unknown:
        raise ValidationError(f"Onbekende projectcode(s) in {programme.code}: {', '.join(unknown)}.",
                              field="projects")
    return sorted(set(found.values()))


def running_projects(session, programme: Programme, peildatum: date) -> list[int]:
    """The programme's projects that were running (toegekend, in uitvoering, opgeschort) on the peildatum."""
    return list(session.scalars(select(Project.id).where(
        Project.programme_id == programme.id, status_at(peildatum).in_(rules.RUNNING_STATUSES))
        .order_by(Project.id)))


def update_round(session, actor, rnd: ReportingRound, values: dict) -> ReportingRound:
    """Change an open round's title, deadline, Kamerstuk or reminder days (finance roles); audited."""
    require_role(actor, *FINANCE_ROLES)
    serialise(session)
    _require_open(rnd)
    fields_ = rules.check_fields(values, rnd.opened_on)
    before = _audited(rnd)
    for name, value in vars(fields_).items():
        setattr(rnd, name, value)
    after = _audited(rnd)
    if after != before:
        record(session, actor, "update", rnd, {"before": before, "after": after})
    return rnd


def close_round(session, actor, rnd: ReportingRound, close_period: bool = False,
                allow_missing: bool = False) -> ReportingRound:
    """Close a round: freeze the stand at its peildatum (and the books through it, when asked); audited.

    Projects that have not updated keep the round open unless `allow_missing`: then the stand is
    frozen without their update, and the board keeps saying who was missing.
    """
    require_role(actor, *FINANCE_ROLES)
    serialise(session)
    _require_open(rnd)
    missing = [row.project.code for row in board(session, rnd).rows if row.progress != "bijgewerkt"]
    if missing and not allow_missing:
        raise ValidationError(
            f"{len(missing)} van de projecten hebben nog geen update in deze ronde ({_codes(missing)}). "
            "Herinner de projectleiders, of kies 'toch afsluiten' om de stand zonder hun update vast te leggen.",
            field="allow_missing")
    programme = session.get(Programme, rnd.programme_id)
    snap = create_snapshot(session, actor, programme, rnd.peildatum, rnd.title, rnd.kamerstuk, close=close_period)
    before = _audited(rnd)
    rnd.state, rnd.snapshot_id = "gesloten", snap.id
    rnd.closed_at, rnd.closed_by_id = datetime.now(UTC), getattr(actor, "id", None)
    record(session, actor, "close", rnd, {"before": before, "after": {
        **_audited(rnd), "close_period": close_period, "missing": missing}})
    return rnd


def _codes(codes: list[str], limit: int = 10) -> str:
    shown = ", ".join(codes[:limit])
    return shown + (f" en {len(codes) - limit} meer" if len(codes) > limit else "")


def _require_open(rnd: ReportingRound) -> None:
    if not rnd.is_open:
        raise Conflict(f"De ronde {rnd.title} is al afgesloten.")


def _audited(rnd: ReportingRound) -> dict:
    values = snapshot(rnd)
    return {name: values[name] for name in _AUDITED}


# --- Reading ----------------------------------------------------------------------------------------

def get_round(session, round_id: int, programme: Programme | None = None) -> ReportingRound:
    rnd = session.get(ReportingRound, round_id)
    if rnd is None or (programme is not None and rnd.programme_id != programme.id):
        raise NotFound(f"Rapportageronde {round_id} bestaat niet.")
    return rnd


def open_round_of(session, programme: Programme) -> ReportingRound | None:
    return session.scalar(select(ReportingRound).where(ReportingRound.programme_id == programme.id,
                                                       ReportingRound.state == "open"))


def list_rounds(session, programme: Programme) -> list[ReportingRound]:
    return list(session.scalars(select(ReportingRound).where(ReportingRound.programme_id == programme.id)
                                .order_by(ReportingRound.id.desc())))


def previous_closed(session, rnd: ReportingRound) -> ReportingRound | None:
    """The programme's round closed before this one: what its stand is compared with."""
    return session.scalar(select(ReportingRound).where(
        ReportingRound.programme_id == rnd.programme_id, ReportingRound.state == "gesloten",
        ReportingRound.id < rnd.id).order_by(ReportingRound.id.desc()).limit(1))


@dataclass
class BoardRow:
    project: Project
    owner: User | None
    last_date: date | None
    last_rag: str | None
    progress: str

    @property
    def mailable(self) -> bool:
        return self.owner is not None and self.owner.active


@dataclass
class PersonRow:
    user: User
    projects: list[BoardRow] = field(default_factory=list)
    mails: list[RoundMail] = field(default_factory=list)

    @property
    def pending(self) -> list[BoardRow]:
        return [row for row in self.projects if row.progress != "bijgewerkt"]

    @property
    def late(self) -> bool:
        return any(row.progress == "te_laat" for row in self.projects)


@dataclass
class Board:
    round: ReportingRound
    rows: list[BoardRow]
    people: list[PersonRow]
    mails: list[RoundMail]

    def count(self, progress: str) -> int:
        return sum(1 for row in self.rows if row.progress == progress)

    @property
    def unowned(self) -> list[BoardRow]:
        """Projects whose update nobody is asked for by mail: no projectleider, or an inactive one."""
        return [row for row in self.rows if not row.mailable]


def board(session, rnd: ReportingRound, today: date | None = None, owner_id: int | None = None) -> Board:
    """Every project of the round with its projectleider, latest update and whether it is in (three queries).

    `owner_id`: only that projectleider's projects (Mijn projecten), without reading the rest.
    """
    today = today or date.today()
    ranked = (select(StatusUpdate.project_id, StatusUpdate.date, StatusUpdate.rag,
                     func.row_number().over(partition_by=StatusUpdate.project_id,
                                            order_by=(StatusUpdate.date.desc(), StatusUpdate.id.desc())).label("n"))
              .join(RoundProject, RoundProject.project_id == StatusUpdate.project_id)
              .where(RoundProject.round_id == rnd.id).subquery())
    result = session.execute(
        select(Project, User, ranked.c.date, ranked.c.rag)
        .join(RoundProject, RoundProject.project_id == Project.id)
        .outerjoin(User, User.id == Project.owner_id)
        .outerjoin(ranked, and_(ranked.c.project_id == Project.id, ranked.c.n == 1))
        .where(RoundProject.round_id == rnd.id, *([Project.owner_id == owner_id] if owner_id else []))
        .order_by(Project.code)).all()
    rows = [BoardRow(project, owner, last_date, rag,
                     rules.progress(last_date is not None and last_date >= rnd.opened_on, rnd.deadline, today))
            for project, owner, last_date, rag in result]
    mails = list(session.scalars(select(RoundMail).where(RoundMail.round_id == rnd.id)
                                 .options(joinedload(RoundMail.user))
                                 .order_by(RoundMail.claimed_at.desc(), RoundMail.id.desc())))
    people: dict[int, PersonRow] = {}
    for row in rows:
        if row.owner is not None:
            people.setdefault(row.owner.id, PersonRow(row.owner)).projects.append(row)
    for mail in mails:
        if mail.user_id in people:
            people[mail.user_id].mails.append(mail)
    # The late first, then who still has something open, then by name.
    ordered = sorted(people.values(), key=lambda p: (not p.late, not p.pending, p.user.name.lower()))
    return Board(rnd, rows, ordered, mails)


def rounds_for_leader(session, programme: Programme, user_id: int, today: date | None = None):
    """The open round of the programme as a project leader sees it: (round, {project_id: progress}) or None."""
    rnd = open_round_of(session, programme)
    if rnd is None:
        return None
    mine = {row.project.id: row.progress for row in board(session, rnd, today, owner_id=user_id).rows}
    return (rnd, mine) if mine else None
