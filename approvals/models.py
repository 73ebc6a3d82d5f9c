"""PendingEntry: a financial entry waiting for a second person's approval, with what it would change."""
from __future__ import annotations

from datetime import datetime
from decimal import Decimal

from sqlalchemy import (
    CheckConstraint,
    DateTime,
    ForeignKey,
    Index,
    LargeBinary,
    String,
    Text,
)
from sqlalchemy.orm import Mapped, mapped_column, relationship

from core.audit_labels import register_codes
from core.db import Base, utcnow
from projects.models import in_list

STATES = {"ter_goedkeuring": "Ter goedkeuring", "goedgekeurd": "Goedgekeurd", "afgewezen": "Afgewezen"}
KINDS = {
    "commitment": "Nieuwe verplichting",
    "adjustment": "Bijstelling van een verplichting",
    "mutation": "Budgetmutatie",
    "mutation_update": "Wijziging van een budgetmutatie",
    "mutation_delete": "Verwijdering van een budgetmutatie",
    "kasschuif": "Kasschuif",
    "kasschuif_update": "Wijziging van een kasschuif",
    "staffing": "Reservering ambtelijke ondersteuning",
    "payment": "Betaling",
    "settlement": "Vaststelling van een verplichting",
    "settlement_delete": "Intrekking van een vaststelling",
    "import": "Import",
}


class PendingEntry(Base):
    """Entered by one person, decided by another: until approved it changes no figure, but holds its room."""

    __tablename__ = "pending_entry"
    __table_args__ = (
        CheckConstraint(in_list("state", STATES), name="state"),
        CheckConstraint(in_list("kind", KINDS), name="kind"),
        CheckConstraint("state = 'ter_goedkeuring' OR decided_at IS NOT NULL", name="decided"),
        CheckConstraint("state <> 'afgewezen' OR length(trim(decision_reason)) > 0", name="rejection_reasoned"),
        # The budget stop reads the holds of a programme's open entries on every financial write.
        Index("ix_pending_entry_programme_state", "programme_id", "state"),
    )

    id: Mapped[int] = mapped_column(primary_key=True)
    #: Optimistic locking: two approvers at once, the second is told it was decided already.
    version: Mapped[int] = mapped_column(default=1, server_default="1")
    __mapper_args__ = {"version_id_col": version}
    programme_id: Mapped[int] = mapped_column(ForeignKey("programme.id", ondelete="RESTRICT"))
    kind: Mapped[str] = mapped_column(String(20))
    state: Mapped[str] = mapped_column(String(20), default="ter_goedkeuring")
    #: What it is, in a line ("Verplichting BS-12 voor STM-004: € 120.000,00").
    summary: Mapped[str] = mapped_column(Text)
    #: The amount judged against the threshold (the largest side of its change per year).
    amount: Mapped[Decimal]
    #: The change in free room per year it would make, as JSON {"2027": "-120000.00"}.
    deltas: Mapped[str] = mapped_column(Text, default="{}")
    #: The service call that books it once approved (core.jsonvalues), so approval runs every rule again.
    params: Mapped[str] = mapped_column(Text, default="{}")
    #: The budget-stop override it asks for (a beheerder's reason), empty when none.
    override_reason: Mapped[str] = mapped_column(Text, default="", server_default="")
    #: An import batch's file (kind 'import'); its rows are checked and booked as a whole once approved.
    payload: Mapped[bytes | None] = mapped_column(LargeBinary)
    entered_by_id: Mapped[int | None] = mapped_column(ForeignKey("user.id", ondelete="RESTRICT"))
    entered_label: Mapped[str] = mapped_column(String(200))
    entered_at: Mapped[datetime] = mapped_column(DateTime(timezone=True), default=utcnow)
    decided_by_id: Mapped[int | None] = mapped_column(ForeignKey("user.id", ondelete="RESTRICT"))
    decided_at: Mapped[datetime | None] = mapped_column(DateTime(timezone=True))
    decision_reason: Mapped[str] = mapped_column(Text, default="", server_default="")
    #: What the approval booked, e.g. "Commitment 12", for the link to it.
    result: Mapped[str] = mapped_column(String(200), default="", server_default="")

    programme = relationship("Programme")
    entered_by = relationship("User", foreign_keys=[entered_by_id])
    decided_by = relationship("User", foreign_keys=[decided_by_id])

    @property
    def is_pending(self) -> bool:
        return self.state == "ter_goedkeuring"

    @property
    def pending_message(self) -> str:
        """What core.unit.save says instead of "vastgelegd" when a service returned this entry (still waiting)."""
        if not self.is_pending:
            return ""
        return (f"{KINDS[self.kind]} is ter goedkeuring aangeboden: een tweede persoon moet haar goedkeuren "
                "voordat zij meetelt.")


register_codes("PendingEntry", state=STATES, kind=KINDS)
