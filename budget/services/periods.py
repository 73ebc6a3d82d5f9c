"""Closed periods: close a programme's books through a date, reopen them, and the check every dated write calls."""
from __future__ import annotations

from datetime import date

from sqlalchemy import select

from budget import rules
from budget.models import PeriodClosure
from core.audit import record, snapshot
from core.dated import add_day_check
from core.locking import serialise
from core.users import FINANCE_ROLES, require_role
from projects.models import Programme


def closed_through(session, programme_id: int) -> date | None:
    """The date through which a programme's books are closed (None: nothing closed): the latest event's."""
    return session.scalar(select(PeriodClosure.through).where(PeriodClosure.programme_id == programme_id)
                          .order_by(PeriodClosure.id.desc()).limit(1))


def check_open(session, programme_id: int, *days: tuple[date | None, str]) -> None:
    """budget.rules.check_open for each (date, field) of one write: the new date, and for a change the old.

    The helper a dated write's service calls after serialise(session) (allocations and staffing
    reservations too, once they carry a date).
    """
    through = closed_through(session, programme_id)
    if through is None:
        return
    for day, field in days:
        if day is not None:
            rules.check_open(through, day, field)


# A status update is a fact dated in the programme too (projects.services.add_status_update), but projects
# may not import budget: it asks core.dated, where the closed period registers its check.
add_day_check(check_open)


def _label(actor) -> str:
    return getattr(actor, "email", None) or str(actor)


def close_period(session, actor, programme: Programme, through) -> PeriodClosure:
    """Close the programme's books through `through` (finance roles): later than now closed, not after today."""
    require_role(actor, *FINANCE_ROLES)
    serialise(session)
    current = closed_through(session, programme.id)
    through = rules.close_through(current, through, date.today())
    event = PeriodClosure(programme_id=programme.id, action="close", through=through, previous=current,
                          reason="", actor_id=getattr(actor, "id", None), actor_label=_label(actor))
    session.add(event)
    record(session, actor, "close", event, {"before": {"closed_through": current},
                                            "after": snapshot(event)})
    return event


def reopen_period(session, actor, programme: Programme, through, reason: str) -> PeriodClosure:
    """Reopen to an earlier date, or fully (`through` None): a beheerder's act, with a reason, audited."""
    # A finance role passes here; the rule itself says that only a beheerder reopens.
    require_role(actor, *FINANCE_ROLES)
    serialise(session)
    current = closed_through(session, programme.id)
    through, reason = rules.reopen_to(getattr(actor, "role", None), current, through, reason)
    event = PeriodClosure(programme_id=programme.id, action="reopen", through=through, previous=current,
                          reason=reason, actor_id=getattr(actor, "id", None), actor_label=_label(actor))
    session.add(event)
    record(session, actor, "reopen", event, {"before": {"closed_through": current},
                                             "after": snapshot(event)})
    return event


def period_history(session, programme_id: int) -> list[PeriodClosure]:
    """Every close and reopen of a programme, newest first."""
    return list(session.scalars(select(PeriodClosure).where(PeriodClosure.programme_id == programme_id)
                                .order_by(PeriodClosure.id.desc())))


def reopenings(session, programme_id: int) -> list[PeriodClosure]:
    """The reopen events, oldest first: what a report's Verantwoording discloses."""
    return list(session.scalars(select(PeriodClosure).where(PeriodClosure.programme_id == programme_id,
                                                            PeriodClosure.action == "reopen")
                                .order_by(PeriodClosure.id)))
