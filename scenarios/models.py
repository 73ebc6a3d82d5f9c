"""A scenario and its entries: what the budget services would book, kept apart from the ledger."""
from __future__ import annotations

from datetime import datetime
from decimal import Decimal

from sqlalchemy import (
    CheckConstraint,
    DateTime,
    ForeignKey,
    String,
    Text,
    UniqueConstraint,
)
from sqlalchemy.orm import Mapped, mapped_column, relationship

from core.audit_labels import register_codes
from core.db import Base, utcnow

STATES = {"concept": "Concept", "aangenomen": "Aangenomen"}
#: What an entry does, in the words of the page; the codes are the budget services' (approvals.replay).
ENTRY_KINDS = {
    "commitment": "Voorstel financieren (verplichting)",
    "adjustment": "Kasritme van een verplichting wijzigen",
    "kasschuif": "Kasschuif",
    "mutation": "Budgetmutatie",
    "staffing": "Ambtelijke ondersteuning wijzigen",
}
register_codes("Scenario", state=STATES)
register_codes("ScenarioEntry", kind=ENTRY_KINDS)


class Scenario(Base):
    """A named what-if on a programme's current stand; never part of the figures until adopted."""

    __tablename__ = "scenario"
    __table_args__ = (
        UniqueConstraint("programme_id", "name"),
        CheckConstraint("state IN ('concept','aangenomen')", name="state"),
        CheckConstraint("length(trim(name)) > 0", name="name_not_empty"),
    )

    id: Mapped[int] = mapped_column(primary_key=True)
    version: Mapped[int] = mapped_column(default=1, server_default="1")
    __mapper_args__ = {"version_id_col": version}
    programme_id: Mapped[int] = mapped_column(ForeignKey("programme.id", ondelete="RESTRICT"), index=True)
    name: Mapped[str] = mapped_column(String(200))
    description: Mapped[str] = mapped_column(Text, default="")
    state: Mapped[str] = mapped_column(String(20), default="concept")
    created_by_id: Mapped[int | None] = mapped_column(ForeignKey("user.id", ondelete="RESTRICT"))
    created_at: Mapped[datetime] = mapped_column(DateTime(timezone=True), default=utcnow)
    adopted_at: Mapped[datetime | None] = mapped_column(DateTime(timezone=True))

    entries: Mapped[list[ScenarioEntry]] = relationship(back_populates="scenario", order_by="ScenarioEntry.id",
                                                        cascade="all, delete-orphan")


class ScenarioEntry(Base):
    """One entry: the service call (kind and parameters, as approvals keeps them) and its effect per year."""

    __tablename__ = "scenario_entry"
    __table_args__ = (
        CheckConstraint("kind IN ('commitment','adjustment','kasschuif','mutation','staffing')", name="kind"),
    )

    id: Mapped[int] = mapped_column(primary_key=True)
    scenario_id: Mapped[int] = mapped_column(ForeignKey("scenario.id", ondelete="CASCADE"), index=True)
    kind: Mapped[str] = mapped_column(String(20))
    #: The service's parameters (approvals.services.encode), replayed through the service on adoption.
    params: Mapped[str] = mapped_column(Text)
    #: The change in free room per year, {"2026": "-50000.00"}, as the service's gate reported it.
    deltas: Mapped[str] = mapped_column(Text)
    summary: Mapped[str] = mapped_column(String(500))
    #: The project a commitment or its change is for: its category and programme line in the tables.
    project_id: Mapped[int | None] = mapped_column(ForeignKey("project.id", ondelete="SET NULL"))
    created_at: Mapped[datetime] = mapped_column(DateTime(timezone=True), default=utcnow)

    scenario: Mapped[Scenario] = relationship(back_populates="entries")


#: How far a proposal is: what a finance officer weighs beside its priority.
READINESS = {"gereed": "Gereed om te starten", "uitwerking": "In uitwerking", "idee": "Idee"}
register_codes("Proposal", readiness=READINESS)


class Proposal(Base):
    """A project on the waiting list: its rank (set by finance), readiness and requested amount per year.

    Kept beside the project, not on it: reordering the list never touches (or conflicts with) a project edit.
    """

    __tablename__ = "proposal"
    __table_args__ = (
        CheckConstraint("priority IS NULL OR priority >= 1", name="priority_positive"),
        CheckConstraint("readiness IN ('', 'gereed', 'uitwerking', 'idee')", name="readiness"),
    )

    project_id: Mapped[int] = mapped_column(ForeignKey("project.id", ondelete="CASCADE"), primary_key=True)
    version: Mapped[int] = mapped_column(default=1, server_default="1")
    __mapper_args__ = {"version_id_col": version}
    priority: Mapped[int | None]
    readiness: Mapped[str] = mapped_column(String(20), default="")

    years: Mapped[list[ProposalYear]] = relationship(order_by="ProposalYear.year", cascade="all, delete-orphan")

    @property
    def id(self) -> int:
        """The project's id: the audit trail names a proposal by it."""
        return self.project_id


class ProposalYear(Base):
    """The amount a proposal asks for in one year."""

    __tablename__ = "proposal_year"
    __table_args__ = (CheckConstraint("amount > 0", name="amount_positive"),)

    project_id: Mapped[int] = mapped_column(ForeignKey("proposal.project_id", ondelete="CASCADE"), primary_key=True)
    year: Mapped[int] = mapped_column(primary_key=True)
    amount: Mapped[Decimal]
