"""Budget tables: funding and allocations, mutations, staffing, commitments with schedules, payments, closed periods."""
from __future__ import annotations

import datetime as dt
from datetime import datetime
from decimal import Decimal

from sqlalchemy import (
    CheckConstraint,
    Date,
    DateTime,
    ForeignKey,
    Index,
    String,
    Text,
    UniqueConstraint,
)
from sqlalchemy.orm import Mapped, mapped_column, relationship

from core.audit_labels import register_codes
from core.db import Base, utcnow
from core.money import Fte
from projects.models import in_list, year_check

FUNDING_KINDS = {"structureel": "Structureel", "incidenteel": "Incidenteel"}
MUTATION_KINDS = {
    "beleidsmatig": "Beleidsmatig",
    "technisch": "Technisch",
    "kasschuif": "Kasschuif",
    "eindejaarsmarge": "Eindejaarsmarge",
    "overboeking": "Overboeking",
}
MUTATION_MOMENTS = {
    "ontwerpbegroting": "Ontwerpbegroting",
    "voorjaarsnota": "Voorjaarsnota",
    "najaarsnota": "Najaarsnota",
    "slotwet": "Slotwet",
    "intern": "Intern",
}
#: The date carried-over rows count from (migration 0011): the earliest date a date column holds, so a
#: fact entered before facts were dated still counts at every peildatum, as it did when it was undated.
UNDATED_FROM = dt.date(1, 1, 1)

PAYMENT_KINDS = {
    "voorschot": "Voorschot",
    "betaling": "Betaling",
    "eindbetaling": "Eindbetaling",
    "terugbetaling": "Terugbetaling",
}


class FundingSource(Base):
    __tablename__ = "funding_source"
    __table_args__ = (
        UniqueConstraint("programme_id", "name"),
        CheckConstraint(in_list("kind", FUNDING_KINDS), name="kind"),
        CheckConstraint("length(name) > 0", name="name_not_empty"),
    )

    id: Mapped[int] = mapped_column(primary_key=True)
    #: Optimistic locking: every UPDATE checks and bumps it, so a stale edit cannot overwrite.
    version: Mapped[int] = mapped_column(default=1, server_default="1")
    __mapper_args__ = {"version_id_col": version}
    programme_id: Mapped[int] = mapped_column(ForeignKey("programme.id", ondelete="RESTRICT"))
    name: Mapped[str] = mapped_column(String(200))
    kind: Mapped[str] = mapped_column(String(20))
    #: Kamerstuk or decision the money rests on.
    reference: Mapped[str] = mapped_column(String(200), default="")

    allocations: Mapped[list[BudgetAllocation]] = relationship(
        back_populates="source", order_by="BudgetAllocation.year")


class BudgetAllocation(Base):
    """Amount a funding source brings in one year: the sum of its dated changes (all dates).

    The figures at a peildatum sum the changes dated on or before it; `amount` is the current
    amount, which the pages, the import and the budget stop (which looks at all dates) read.
    """

    __tablename__ = "budget_allocation"
    __table_args__ = (
        UniqueConstraint("source_id", "year"),
        CheckConstraint(year_check(), name="year_range"),
        CheckConstraint("amount >= 0", name="amount_nonneg"),
    )

    id: Mapped[int] = mapped_column(primary_key=True)
    #: Optimistic locking: every UPDATE checks and bumps it, so a stale edit cannot overwrite.
    version: Mapped[int] = mapped_column(default=1, server_default="1")
    __mapper_args__ = {"version_id_col": version}
    source_id: Mapped[int] = mapped_column(ForeignKey("funding_source.id", ondelete="RESTRICT"))
    year: Mapped[int]
    amount: Mapped[Decimal]

    source: Mapped[FundingSource] = relationship(back_populates="allocations")
    changes: Mapped[list[AllocationChange]] = relationship(
        back_populates="allocation", order_by="[AllocationChange.valid_from, AllocationChange.id]")


class AllocationChange(Base):
    """A dated change of an allocation: it counts in the figures from `valid_from` on. Never edited."""

    __tablename__ = "allocation_change"
    __table_args__ = (
        # Covering: the figures read (allocation, date, amount) from the index alone.
        Index("ix_allocation_change_allocation_from_amount", "allocation_id", "valid_from", "amount"),
    )

    id: Mapped[int] = mapped_column(primary_key=True)
    allocation_id: Mapped[int] = mapped_column(ForeignKey("budget_allocation.id", ondelete="RESTRICT"))
    valid_from: Mapped[dt.date] = mapped_column(Date)
    #: Signed: the new amount minus the amount before this change.
    amount: Mapped[Decimal]
    created_at: Mapped[datetime] = mapped_column(DateTime(timezone=True), default=utcnow)

    allocation: Mapped[BudgetAllocation] = relationship(back_populates="changes")


class BudgetMutation(Base):
    """A signed change to one year's budget; a kasschuif is several sharing `kasschuif_group`."""

    __tablename__ = "budget_mutation"
    __table_args__ = (
        CheckConstraint(year_check(), name="year_range"),
        CheckConstraint(in_list("kind", MUTATION_KINDS), name="kind"),
        CheckConstraint(in_list("moment", MUTATION_MOMENTS), name="moment"),
        CheckConstraint("length(trim(reason)) > 0", name="reason_required"),
        CheckConstraint("amount <> 0", name="amount_nonzero"),
        CheckConstraint("(kind = 'kasschuif') = (kasschuif_group IS NOT NULL)", name="kasschuif_grouped"),
        Index("ix_budget_mutation_programme_year", "programme_id", "year"),
    )

    id: Mapped[int] = mapped_column(primary_key=True)
    #: Optimistic locking: every UPDATE checks and bumps it, so a stale edit cannot overwrite.
    version: Mapped[int] = mapped_column(default=1, server_default="1")
    __mapper_args__ = {"version_id_col": version}
    programme_id: Mapped[int] = mapped_column(ForeignKey("programme.id", ondelete="RESTRICT"))
    year: Mapped[int]
    amount: Mapped[Decimal]
    kind: Mapped[str] = mapped_column(String(20))
    moment: Mapped[str] = mapped_column(String(20))
    reason: Mapped[str] = mapped_column(Text)
    reference: Mapped[str] = mapped_column(String(200), default="")
    date: Mapped[dt.date] = mapped_column(Date)
    kasschuif_group: Mapped[str | None] = mapped_column(String(36), index=True)
    created_at: Mapped[datetime] = mapped_column(DateTime(timezone=True), default=utcnow)


class StaffingReservation(Base):
    """Civil-servant staffing at JenV for one year: FTE and euros, never names.

    `fte` and `amount` are the current values, the sums of its dated changes (all dates); the
    figures at a peildatum sum the changes dated on or before it.
    """

    __tablename__ = "staffing_reservation"
    __table_args__ = (
        UniqueConstraint("programme_id", "year"),
        CheckConstraint(year_check(), name="year_range"),
        CheckConstraint("amount >= 0", name="amount_nonneg"),
        CheckConstraint("fte >= 0", name="fte_nonneg"),
    )

    id: Mapped[int] = mapped_column(primary_key=True)
    #: Optimistic locking: every UPDATE checks and bumps it, so a stale edit cannot overwrite.
    version: Mapped[int] = mapped_column(default=1, server_default="1")
    __mapper_args__ = {"version_id_col": version}
    programme_id: Mapped[int] = mapped_column(ForeignKey("programme.id", ondelete="RESTRICT"))
    year: Mapped[int]
    fte: Mapped[Decimal] = mapped_column(Fte())
    amount: Mapped[Decimal]

    costs: Mapped[list[StaffingCost]] = relationship(
        back_populates="reservation", order_by="StaffingCost.date")
    changes: Mapped[list[StaffingChange]] = relationship(
        back_populates="reservation", order_by="[StaffingChange.valid_from, StaffingChange.id]")


class StaffingChange(Base):
    """A dated change of a staffing reservation (FTE and euros): it counts from `valid_from` on. Never edited."""

    __tablename__ = "staffing_change"
    __table_args__ = (
        Index("ix_staffing_change_reservation_from_amount", "reservation_id", "valid_from", "amount"),
    )

    id: Mapped[int] = mapped_column(primary_key=True)
    reservation_id: Mapped[int] = mapped_column(ForeignKey("staffing_reservation.id", ondelete="RESTRICT"))
    valid_from: Mapped[dt.date] = mapped_column(Date)
    #: Signed: the new values minus the values before this change.
    fte: Mapped[Decimal] = mapped_column(Fte())
    amount: Mapped[Decimal]
    created_at: Mapped[datetime] = mapped_column(DateTime(timezone=True), default=utcnow)

    reservation: Mapped[StaffingReservation] = relationship(back_populates="changes")


class StaffingCost(Base):
    """Realised staffing cost booked against a reservation (e.g. per quarter); counts as paid."""

    __tablename__ = "staffing_cost"
    __table_args__ = (CheckConstraint("amount <> 0", name="amount_nonzero"),)

    id: Mapped[int] = mapped_column(primary_key=True)
    #: Optimistic locking: every UPDATE checks and bumps it, so a stale edit cannot overwrite.
    version: Mapped[int] = mapped_column(default=1, server_default="1")
    __mapper_args__ = {"version_id_col": version}
    reservation_id: Mapped[int] = mapped_column(
        ForeignKey("staffing_reservation.id", ondelete="RESTRICT"), index=True)
    reference: Mapped[str] = mapped_column(String(100), default="")
    date: Mapped[dt.date] = mapped_column(Date, index=True)
    amount: Mapped[Decimal]
    description: Mapped[str] = mapped_column(Text, default="")

    reservation: Mapped[StaffingReservation] = relationship(back_populates="costs")


class Commitment(Base):
    """A verplichting (beschikking/contract) on a project with its cash schedule per year."""

    __tablename__ = "commitment"
    __table_args__ = (
        CheckConstraint("total >= 0", name="total_nonneg"),
        CheckConstraint("length(reference) > 0", name="reference_not_empty"),
    )

    id: Mapped[int] = mapped_column(primary_key=True)
    project_id: Mapped[int] = mapped_column(ForeignKey("project.id", ondelete="RESTRICT"), index=True)
    reference: Mapped[str] = mapped_column(String(100), unique=True)
    signed_date: Mapped[dt.date] = mapped_column(Date, index=True)
    #: The total as signed; adjustments are separate dated entries, never edits of this.
    total: Mapped[Decimal]
    description: Mapped[str] = mapped_column(Text, default="")
    created_at: Mapped[datetime] = mapped_column(DateTime(timezone=True), default=utcnow)

    project = relationship("Project", backref="commitments")
    schedule: Mapped[list[CommitmentSchedule]] = relationship(
        back_populates="commitment", cascade="all, delete-orphan", order_by="CommitmentSchedule.year")
    adjustments: Mapped[list[CommitmentAdjustment]] = relationship(
        back_populates="commitment", order_by="CommitmentAdjustment.id")
    payments: Mapped[list[Payment]] = relationship(back_populates="commitment", order_by="Payment.date")
    settlement: Mapped[CommitmentSettlement | None] = relationship(back_populates="commitment")


class CommitmentSchedule(Base):
    """The kasritme: how much of a commitment falls in each budget year."""

    __tablename__ = "commitment_schedule"
    __table_args__ = (
        UniqueConstraint("commitment_id", "year"),
        CheckConstraint(year_check(), name="year_range"),
        CheckConstraint("amount >= 0", name="amount_nonneg"),
        Index("ix_commitment_schedule_year", "year"),
        # Covering: report sums read schedules from the index alone (migration 0007).
        Index("ix_commitment_schedule_commitment_year_amount", "commitment_id", "year", "amount"),
    )

    id: Mapped[int] = mapped_column(primary_key=True)
    commitment_id: Mapped[int] = mapped_column(ForeignKey("commitment.id", ondelete="CASCADE"))
    year: Mapped[int]
    amount: Mapped[Decimal]

    commitment: Mapped[Commitment] = relationship(back_populates="schedule")


class CommitmentAdjustment(Base):
    """A dated change of one year of a commitment (e.g. a lower vaststelling), with its reason."""

    __tablename__ = "commitment_adjustment"
    __table_args__ = (
        CheckConstraint(year_check(), name="year_range"),
        CheckConstraint("amount <> 0", name="amount_nonzero"),
        CheckConstraint("length(trim(reason)) > 0", name="reason_required"),
        Index("ix_commitment_adjustment_commitment_year", "commitment_id", "year"),
    )

    id: Mapped[int] = mapped_column(primary_key=True)
    commitment_id: Mapped[int] = mapped_column(ForeignKey("commitment.id", ondelete="RESTRICT"))
    date: Mapped[dt.date] = mapped_column(Date)
    year: Mapped[int]
    amount: Mapped[Decimal]
    reason: Mapped[str] = mapped_column(Text)
    reference: Mapped[str] = mapped_column(String(100), default="")
    #: Set when the adjustment is part of a vaststelling: then a negative one is vrijval.
    settlement_id: Mapped[int | None] = mapped_column(
        ForeignKey("commitment_settlement.id", ondelete="RESTRICT"), index=True)
    created_at: Mapped[datetime] = mapped_column(DateTime(timezone=True), default=utcnow)

    commitment: Mapped[Commitment] = relationship(back_populates="adjustments")


class CommitmentSettlement(Base):
    """The vaststelling of a commitment (a subsidy): from `date` on its total is `amount`. Once, never edited.

    The schedule change it causes is kept as its adjustments (CommitmentAdjustment.settlement_id),
    so every figure counts it by its date like any other fact. `recovery` is the terugvordering:
    what had been paid above `amount` on `date`; refunds close it.
    """

    __tablename__ = "commitment_settlement"
    __table_args__ = (
        CheckConstraint("amount >= 0", name="amount_nonneg"),
        CheckConstraint("recovery >= 0", name="recovery_nonneg"),
        CheckConstraint("length(trim(reference)) > 0", name="reference_not_empty"),
        CheckConstraint("recovery = 0 OR recovery_due IS NOT NULL", name="recovery_dated"),
    )

    id: Mapped[int] = mapped_column(primary_key=True)
    commitment_id: Mapped[int] = mapped_column(ForeignKey("commitment.id", ondelete="RESTRICT"), unique=True)
    date: Mapped[dt.date] = mapped_column(Date, index=True)
    amount: Mapped[Decimal]
    recovery: Mapped[Decimal] = mapped_column(default=Decimal("0.00"))
    recovery_due: Mapped[dt.date | None] = mapped_column(Date)
    #: The kenmerk of the vaststellingsbeschikking.
    reference: Mapped[str] = mapped_column(String(100))
    note: Mapped[str] = mapped_column(Text, default="")
    created_at: Mapped[datetime] = mapped_column(DateTime(timezone=True), default=utcnow)

    commitment: Mapped[Commitment] = relationship(back_populates="settlement")


PERIOD_ACTIONS = {"close": "Afgesloten", "reopen": "Heropend"}


class PeriodClosure(Base):
    """One close or reopen of a programme's books; the latest row's `through` is the closed date.

    Kept as a history (never updated): who closed or reopened, when, through which date, and why.
    """

    __tablename__ = "period_closure"
    __table_args__ = (
        CheckConstraint(in_list("action", PERIOD_ACTIONS), name="action"),
        # A close names its date; a reopen (to an earlier date or fully) always says why.
        CheckConstraint("(action = 'close' AND through IS NOT NULL) OR "
                        "(action = 'reopen' AND length(trim(reason)) > 0)", name="close_dated_reopen_reasoned"),
        Index("ix_period_closure_programme_id", "programme_id", "id"),
    )

    id: Mapped[int] = mapped_column(primary_key=True)
    programme_id: Mapped[int] = mapped_column(ForeignKey("programme.id", ondelete="RESTRICT"))
    action: Mapped[str] = mapped_column(String(10))
    #: Closed through this date after the event; None: nothing closed any more.
    through: Mapped[dt.date | None] = mapped_column(Date)
    #: The closed date before the event.
    previous: Mapped[dt.date | None] = mapped_column(Date)
    reason: Mapped[str] = mapped_column(Text, default="")
    actor_id: Mapped[int | None] = mapped_column(ForeignKey("user.id", ondelete="RESTRICT"))
    #: Who, as the audit trail names them (also for the command line, which has no user row).
    actor_label: Mapped[str] = mapped_column(String(200))
    at: Mapped[datetime] = mapped_column(DateTime(timezone=True), default=utcnow)


class Payment(Base):
    """A realisation on a commitment; its budget year is the year of its date."""

    __tablename__ = "payment"
    __table_args__ = (
        CheckConstraint(in_list("kind", PAYMENT_KINDS), name="kind"),
        # A refund lowers the paid total, everything else raises it.
        CheckConstraint("(kind = 'terugbetaling' AND amount < 0) OR (kind <> 'terugbetaling' AND amount > 0)",
                        name="sign_matches_kind"),
        UniqueConstraint("reference"),
        # Covering: report sums read payments from the index alone (migration 0007).
        Index("ix_payment_commitment_date_amount", "commitment_id", "date", "amount"),
    )

    id: Mapped[int] = mapped_column(primary_key=True)
    commitment_id: Mapped[int] = mapped_column(ForeignKey("commitment.id", ondelete="RESTRICT"))
    #: Optional unique kenmerk (e.g. the booking number); empty stays NULL.
    reference: Mapped[str | None] = mapped_column(String(100))
    date: Mapped[dt.date] = mapped_column(Date, index=True)
    amount: Mapped[Decimal]
    kind: Mapped[str] = mapped_column(String(20))
    description: Mapped[str] = mapped_column(Text, default="")
    created_at: Mapped[datetime] = mapped_column(DateTime(timezone=True), default=utcnow)

    commitment: Mapped[Commitment] = relationship(back_populates="payments")


# The audit trail shows these codes by their labels; core.audit_labels cannot import this module.
register_codes("FundingSource", kind=FUNDING_KINDS)
register_codes("BudgetMutation", kind=MUTATION_KINDS, moment=MUTATION_MOMENTS)
register_codes("Payment", kind=PAYMENT_KINDS)
register_codes("PeriodClosure", action=PERIOD_ACTIONS)
