"""Mail about four eyes: approvers hear that something waits, the person who entered it hears the decision."""
from __future__ import annotations

import logging

from markupsafe import escape
from sqlalchemy import event, select
from sqlalchemy.orm import Session

from approvals.models import KINDS, PendingEntry
from core.users import FINANCE_ROLES, User
from rounds.mail import MailError, MailSettings, Outbox, current_settings, message

logger = logging.getLogger(__name__)

#: session.info key: the messages to send once the transaction that made them has committed.
_QUEUE = "approvals.mail"


def queue_waiting(session, entry: PendingEntry) -> None:
    """Tell every finance officer who may decide it (not its author; for an override, beheerders) that it waits."""
    settings = current_settings()
    if settings is None:
        return
    roles = ("beheerder",) if entry.override_reason else FINANCE_ROLES
    people = session.scalars(select(User).where(User.active.is_(True), User.role.in_(roles))).all()
    link = _link(settings)
    text = (f"{entry.summary}\n\nIngevoerd door {entry.entered_label}. Deze boeking telt pas mee als een ander haar "
            f"goedkeurt. Bekijk wat zij verandert en keur goed of wijs af:\n{link}\n")
    subject = f"Ter goedkeuring: {KINDS[entry.kind].lower()}"
    _queue(session, settings, [(p, subject, text) for p in people if p.id != entry.entered_by_id])


def queue_decided(session, entry: PendingEntry, decider) -> None:
    """Tell the person who entered it what was decided, and why when it was refused."""
    settings = current_settings()
    author = session.get(User, entry.entered_by_id) if entry.entered_by_id else None
    if settings is None or author is None or not author.active:
        return
    verdict = "goedgekeurd en vastgelegd" if entry.state == "goedgekeurd" else "afgewezen"
    text = f"{entry.summary}\n\nDeze boeking is {verdict} door {getattr(decider, 'name', decider)}."
    if entry.decision_reason:
        text += f"\nReden: {entry.decision_reason}"
    text += f"\n\n{_link(settings)}\n"
    _queue(session, settings, [(author, f"{KINDS[entry.kind]} {verdict}", text)])


def _link(settings: MailSettings) -> str:
    return f"{settings.base_url}/goedkeuring"


def _queue(session, settings: MailSettings, mails) -> None:
    queued = session.info.setdefault(_QUEUE, [])
    for person, subject, text in mails:
        html = "".join(f"<p>{escape(part)}</p>" for part in text.split("\n\n"))
        queued.append((settings, message(settings, person.name, person.email, subject, text, html)))


@event.listens_for(Session, "after_commit")
def _send(session) -> None:
    # Only once the entry is committed: a mail about an entry that was rolled back would mislead.
    queued = session.info.pop(_QUEUE, None)
    if not queued:
        return
    with Outbox(queued[0][0]) as outbox:
        for _settings_, msg in queued:
            try:
                outbox.send(msg)
            except MailError as exc:
                logger.warning("Mail over vier ogen aan %s mislukt: %s", msg["To"], exc.message)


@event.listens_for(Session, "after_rollback")
def _drop(session) -> None:
    session.info.pop(_QUEUE, None)
