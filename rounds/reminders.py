"""Invitations and reminders of a reporting round: what is due on a day, each mail claimed, sent and recorded once."""
from __future__ import annotations

import logging
from dataclasses import dataclass, field
from datetime import UTC, date, datetime, timedelta
from urllib.parse import urlsplit

from flask import current_app
from sqlalchemy import and_, select, update
from sqlalchemy.exc import IntegrityError

from core.dates import datum, datum_lang
from core.errors import Conflict, NotFound, ValidationError
from core.locking import serialise
from core.metrics import MAILS
from core.users import FINANCE_ROLES, User, require_role
from projects.models import RAG
from rounds import rules
from rounds.mail import MailError, MailSettings, Outbox, message
from rounds.models import MAIL_KINDS, ReportingRound, RoundMail
from rounds.services import BoardRow, _require_open, board

logger = logging.getLogger(__name__)

#: A mail claimed this long ago and never marked sent or failed (the sender died): tried again.
STALE_CLAIM = timedelta(minutes=30)


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
        MAILS.labels("mislukt").inc()
    else:
        serialise(session)
        mail.state, mail.last_error, mail.sent_at = "verzonden", "", datetime.now(UTC)
        logger.info("Mail %s aan %s voor ronde %s verzonden", kind, user.email, rnd.id)
        done.sent.append(mail)
        MAILS.labels("verzonden").inc()
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
