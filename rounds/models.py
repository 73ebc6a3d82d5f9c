"""ReportingRound (with its projects) and RoundMail, the record of every invitation and reminder."""
from __future__ import annotations

from datetime import date, datetime

from sqlalchemy import (
    CheckConstraint,
    Date,
    DateTime,
    ForeignKey,
    Index,
    Integer,
    String,
    Text,
    UniqueConstraint,
    text,
)
from sqlalchemy.orm import Mapped, mapped_column, relationship

from core.audit_labels import register_codes
from core.db import Base, utcnow
from projects.models import in_list

STATES = {"open": "Open", "gesloten": "Gesloten"}
#: The mails of a round, in the order they go out; `handmatig` is the finance officer's "herinner nu".
MAIL_KINDS = {
    "uitnodiging": "Uitnodiging",
    "herinnering": "Herinnering voor de deadline",
    "deadline": "Herinnering op de deadline",
    "te_laat": "Herinnering na de deadline",
    "handmatig": "Herinnering (met de hand)",
}
MAIL_STATES = {
    "bezig": "Wordt verstuurd",
    "verzonden": "Verzonden",
    "mislukt": "Mislukt, wordt opnieuw geprobeerd",
}
#: A reminder is at most this many days before or after the deadline.
MAX_REMIND_DAYS = 60


class ReportingRound(Base):
    """A rapportageronde: every project in it owes a status update dated from `opened_on`, by `deadline`."""

    __tablename__ = "reporting_round"
    __table_args__ = (
        CheckConstraint(in_list("state", STATES), name="state"),
        CheckConstraint("length(trim(title)) > 0", name="title_not_empty"),
        CheckConstraint("deadline >= opened_on", name="deadline_after_opening"),
        CheckConstraint(f"remind_days_before BETWEEN 0 AND {MAX_REMIND_DAYS} "
                        f"AND remind_days_after BETWEEN 0 AND {MAX_REMIND_DAYS}", name="remind_days"),
        CheckConstraint("state = 'open' OR snapshot_id IS NOT NULL", name="closed_has_snapshot"),
        # One open round per programme: two would ask the same people twice.
        Index("uq_reporting_round_open", "programme_id", unique=True,
              sqlite_where=text("state = 'open'"), postgresql_where=text("state = 'open'")),
        Index("ix_reporting_round_programme", "programme_id", "id"),
    )

    id: Mapped[int] = mapped_column(primary_key=True)
    #: Optimistic locking: a deadline changed by a colleague a moment ago is never overwritten.
    version: Mapped[int] = mapped_column(default=1, server_default="1")
    __mapper_args__ = {"version_id_col": version}
    programme_id: Mapped[int] = mapped_column(ForeignKey("programme.id", ondelete="RESTRICT"))
    title: Mapped[str] = mapped_column(String(200))
    peildatum: Mapped[date] = mapped_column(Date)
    #: Status updates dated on or after this day count for the round (the day it was opened).
    opened_on: Mapped[date] = mapped_column(Date)
    deadline: Mapped[date] = mapped_column(Date)
    kamerstuk: Mapped[str] = mapped_column(String(200), default="", server_default="")
    #: Reminders: this many days before the deadline and after it (0: none); one on the day itself.
    remind_days_before: Mapped[int] = mapped_column(Integer, default=3, server_default="3")
    remind_days_after: Mapped[int] = mapped_column(Integer, default=3, server_default="3")
    state: Mapped[str] = mapped_column(String(10), default="open", server_default="open")
    opened_by_id: Mapped[int | None] = mapped_column(ForeignKey("user.id", ondelete="RESTRICT"))
    opened_at: Mapped[datetime] = mapped_column(DateTime(timezone=True), default=utcnow)
    closed_by_id: Mapped[int | None] = mapped_column(ForeignKey("user.id", ondelete="RESTRICT"))
    closed_at: Mapped[datetime | None] = mapped_column(DateTime(timezone=True))
    #: The stand frozen when the round closed.
    snapshot_id: Mapped[int | None] = mapped_column(ForeignKey("report_snapshot.id", ondelete="RESTRICT"))

    programme = relationship("Programme")
    snapshot = relationship("ReportSnapshot")
    opened_by = relationship("User", foreign_keys=[opened_by_id])
    closed_by = relationship("User", foreign_keys=[closed_by_id])

    @property
    def is_open(self) -> bool:
        return self.state == "open"


class RoundProject(Base):
    """A project that owes an update in a round (chosen when the round opened)."""

    __tablename__ = "round_project"

    round_id: Mapped[int] = mapped_column(ForeignKey("reporting_round.id", ondelete="CASCADE"), primary_key=True)
    project_id: Mapped[int] = mapped_column(ForeignKey("project.id", ondelete="RESTRICT"), primary_key=True,
                                            index=True)


class RoundMail(Base):
    """One mail to one person for one round: claimed before it is sent, so it is never sent twice."""

    __tablename__ = "round_mail"
    __table_args__ = (
        CheckConstraint(in_list("kind", MAIL_KINDS), name="kind"),
        CheckConstraint(in_list("state", MAIL_STATES), name="state"),
        # The idempotency key: a reminder of one kind, due on one day, goes to a person once.
        UniqueConstraint("round_id", "user_id", "kind", "due_on"),
    )

    id: Mapped[int] = mapped_column(primary_key=True)
    round_id: Mapped[int] = mapped_column(ForeignKey("reporting_round.id", ondelete="CASCADE"))
    user_id: Mapped[int] = mapped_column(ForeignKey("user.id", ondelete="RESTRICT"), index=True)
    kind: Mapped[str] = mapped_column(String(20))
    due_on: Mapped[date] = mapped_column(Date)
    state: Mapped[str] = mapped_column(String(10), default="bezig")
    attempts: Mapped[int] = mapped_column(Integer, default=0, server_default="0")
    #: The project codes the mail listed, comma separated: what the page shows as sent.
    projects: Mapped[str] = mapped_column(Text, default="")
    last_error: Mapped[str] = mapped_column(Text, default="", server_default="")
    claimed_at: Mapped[datetime] = mapped_column(DateTime(timezone=True), default=utcnow)
    sent_at: Mapped[datetime | None] = mapped_column(DateTime(timezone=True))

    user = relationship("User")


register_codes("ReportingRound", state=STATES)
