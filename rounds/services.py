"""Rounds: open, change and close a rapportageronde; its progress board; the mails that are due, sent once."""
from __future__ import annotations

import logging
from dataclasses import dataclass, field
from datetime import UTC, date, datetime, timedelta
from urllib.parse import urlsplit

from flask import current_app
from sqlalchemy import and_, func, select, update
from sqlalchemy.exc import IntegrityError
from sqlalchemy.orm import joinedload

from budget.breakdowns import status_at
from core.audit import record, snapshot
from core.dates import datum, datum_lang
from core.errors import Collect, Conflict, NotFound, ValidationError
from core.locking import serialise
from core.users import FINANCE_ROLES, User, require_role
from projects.models import RAG, Programme, Project, StatusUpdate
from reports.services import create_snapshot
from rounds import rules
from rounds.mail import MailError, MailSettings, Outbox, message
from rounds.mail import current_settings as mail_settings  # noqa: F401 - the pages and the CLI ask here
from rounds.models import MAIL_KINDS, ReportingRound, RoundMail, RoundProject

logger = logging.getLogger(__name__)

#: A mail claimed this long ago and never marked sent or failed (the sender died): tried again.
STALE_CLAIM = timedelta(minutes=30)
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


# --- Mail -------------------------------------------------------------------------------------------

@dataclass
class Sent:
    """What one run of sending did: per mail (round, person, kind), sent or failed with the reason."""

    sent: list[RoundMail] = field(default_factory=list)
    failed: list[RoundMail] = field(default_factory=list)

    def extend(self, other: Sent) -> None:
        self.sent += other.sent
        self.failed += other.failed


def send_due(session, settings: MailSettings, today: date | None = None, round_id: int | None = None) -> Sent:
    """Send every mail that is due today (all open rounds, or one), each at most once; commits per mail.

    A mail is claimed (a row under a unique key) before it is sent, so two runs at once, a
    second run, or a page and the timer together never send it twice. A failed mail is kept as
    `mislukt` and tried again on the next run, until it is sent.
    """
    today = today or date.today()
    query = select(ReportingRound).where(ReportingRound.state == "open").order_by(ReportingRound.id)
    if round_id is not None:
        query = query.where(ReportingRound.id == round_id)
    done = Sent()
    with Outbox(settings) as outbox:
        for rnd in session.scalars(query).all():
            step = rules.due(rules.schedule(rnd.opened_on, rnd.deadline, rnd.remind_days_before,
                                            rnd.remind_days_after), today)
            if step is not None:
                done.extend(_send_step(session, outbox, rnd, step, today))
    return done


def _send_step(session, outbox: Outbox, rnd: ReportingRound, step: tuple[str, date], today: date) -> Sent:
    kind, due_on = step
    done = Sent()
    for person in board(session, rnd, today).people:
        if person.pending and person.user.active:
            _deliver(session, outbox, rnd, person.user, person.pending, kind, due_on, done)
    return done


def remind_now(session, settings: MailSettings | None, actor, rnd: ReportingRound, user_id: int,
               today: date | None = None) -> RoundMail:
    """The finance officer's "herinner nu" for one person: one mail today, listing their open projects."""
    require_role(actor, *FINANCE_ROLES)
    _require_open(rnd)
    if settings is None:
        raise ValidationError("E-mail staat uit (MAIL_SERVER is niet ingesteld): er is niets verstuurd.")
    today = today or date.today()
    person = next((p for p in board(session, rnd, today).people if p.user.id == user_id), None)
    if person is None:
        raise NotFound("Deze persoon heeft geen projecten in deze ronde.")
    if not person.pending:
        raise ValidationError(f"{person.user.name} heeft alle projecten in deze ronde al bijgewerkt.")
    if not person.user.active:
        raise ValidationError(f"{person.user.name} is gedeactiveerd en krijgt geen mail.")
    done = Sent()
    with Outbox(settings) as outbox:
        mail = _deliver(session, outbox, rnd, person.user, person.pending, "handmatig", today, done)
    if mail is None:
        raise Conflict(f"{person.user.name} is vandaag al met de hand herinnerd.")
    return mail


def _deliver(session, outbox: Outbox, rnd: ReportingRound, user: User, rows: list[BoardRow], kind: str,
             due_on: date, done: Sent) -> RoundMail | None:
    """Claim, send and record one mail; None when it was sent (or is being sent) already."""
    codes = ", ".join(row.project.code for row in rows)
    mail = _claim(session, rnd, user, kind, due_on, codes)
    if mail is None:
        return None
    try:
        outbox.send(_compose(outbox.settings, rnd, user, rows, kind))
    except MailError as exc:
        serialise(session)  # a short write, in turn with the others (SQLite waits instead of failing)
        mail.state, mail.last_error = "mislukt", exc.message
        logger.warning("Mail %s aan %s voor ronde %s mislukt (poging %s): %s", kind, user.email, rnd.id,
                       mail.attempts, exc.message)
        done.failed.append(mail)
    else:
        serialise(session)
        mail.state, mail.last_error, mail.sent_at = "verzonden", "", datetime.now(UTC)
        logger.info("Mail %s aan %s voor ronde %s verzonden", kind, user.email, rnd.id)
        done.sent.append(mail)
    session.commit()
    return mail


def _claim(session, rnd: ReportingRound, user: User, kind: str, due_on: date, codes: str) -> RoundMail | None:
    """This run's right to send one mail, committed before it is sent; None when another run has it or sent it."""
    serialise(session)  # the look-up and the claim in one step, so two runs never both claim it
    now = datetime.now(UTC)
    key = (RoundMail.round_id == rnd.id, RoundMail.user_id == user.id, RoundMail.kind == kind,
           RoundMail.due_on == due_on)
    mail = session.scalar(select(RoundMail).where(*key))
    if mail is None:
        mail = RoundMail(round_id=rnd.id, user_id=user.id, kind=kind, due_on=due_on, state="bezig", attempts=1,
                         projects=codes, claimed_at=now)
        session.add(mail)
        try:
            session.commit()
        except IntegrityError:
            session.rollback()  # another run claimed it a moment ago
            return None
        return mail
    # A failed mail, or one whose sender died before it said how it went: taken over by one run only.
    taken = session.execute(
        update(RoundMail).where(RoundMail.id == mail.id, (RoundMail.state == "mislukt") | and_(
            RoundMail.state == "bezig", RoundMail.claimed_at < now - STALE_CLAIM))
        .values(state="bezig", claimed_at=now, attempts=RoundMail.attempts + 1, projects=codes)
        .execution_options(synchronize_session=False))
    session.commit()
    if taken.rowcount != 1:
        return None
    session.refresh(mail)
    return mail


SUBJECTS = {
    "uitnodiging": "Statusupdate gevraagd voor {title}: uiterlijk {deadline}",
    "herinnering": "Herinnering: statusupdate voor {title} uiterlijk {deadline}",
    "deadline": "Vandaag is de deadline: statusupdate voor {title}",
    "te_laat": "De deadline van {deadline} is verstreken: statusupdate voor {title}",
    "handmatig": "Herinnering: statusupdate voor {title} uiterlijk {deadline}",
}


def _compose(settings: MailSettings, rnd: ReportingRound, user: User, rows: list[BoardRow], kind: str):
    """One person's mail: their own projects in the round that still need an update, and nobody else's."""
    links = _links(settings)
    items = [{"code": row.project.code, "title": row.project.title,
              "last": datum(row.last_date) if row.last_date else "nog geen",
              "rag": RAG.get(row.last_rag or "", ""),
              "url": links("projects.status_update", project_id=row.project.id)} for row in rows]
    context = {"user": user, "round": rnd, "kind": kind, "kind_label": MAIL_KINDS[kind], "projects": items,
               "deadline": datum_lang(rnd.deadline), "peildatum": datum_lang(rnd.peildatum),
               "programme": rnd.programme.name, "mine_url": links("projects.mine")}
    subject = SUBJECTS[kind].format(title=rnd.title, deadline=datum(rnd.deadline))
    # The templates alone, without the pages' context processors: a mail has no signed-in user or menu.
    env = current_app.jinja_env
    return message(settings, user.name, user.email, subject, env.get_template("mail/round.txt").render(context),
                   env.get_template("mail/round.html").render(context))


def _links(settings: MailSettings):
    """Absolute links to the app as its users open it (BASE_URL), from the CLI as well as from a page."""
    parts = urlsplit(settings.base_url)
    adapter = current_app.url_map.bind(parts.netloc, script_name=parts.path or "/", url_scheme=parts.scheme or "http")
    return lambda endpoint, **values: adapter.build(endpoint, values, force_external=True)
