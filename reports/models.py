"""ReportSnapshot: the frozen figures of a stand van zaken at a peildatum, with their sha256."""
from __future__ import annotations

from datetime import date, datetime

from sqlalchemy import CheckConstraint, Date, DateTime, ForeignKey, Index, String, Text
from sqlalchemy.orm import Mapped, mapped_column, relationship

from core.db import Base, utcnow


class ReportSnapshot(Base):
    """Never changed after creation: a report made from it is the same every time."""

    __tablename__ = "report_snapshot"
    __table_args__ = (
        CheckConstraint("length(trim(title)) > 0", name="title_not_empty"),
        CheckConstraint("length(sha256) = 64", name="sha256_length"),
        Index("ix_report_snapshot_programme_peildatum", "programme_id", "peildatum"),
    )

    id: Mapped[int] = mapped_column(primary_key=True)
    programme_id: Mapped[int] = mapped_column(ForeignKey("programme.id", ondelete="RESTRICT"))
    peildatum: Mapped[date] = mapped_column(Date)
    title: Mapped[str] = mapped_column(String(200))
    kamerstuk: Mapped[str] = mapped_column(String(200), default="")
    #: Who froze it: internal information, never shown in public output.
    created_by_id: Mapped[int | None] = mapped_column(ForeignKey("user.id", ondelete="RESTRICT"))
    created_at: Mapped[datetime] = mapped_column(DateTime(timezone=True), default=utcnow)
    #: Canonical JSON of reports.queries.collect_state (every programme year) and its sha256.
    data: Mapped[str] = mapped_column(Text)
    sha256: Mapped[str] = mapped_column(String(64))
    #: The audit trail's head when it was frozen (also an audit_anchor, which `audit verify` checks).
    audit_head_id: Mapped[int | None]
    audit_head_hash: Mapped[str | None] = mapped_column(String(64))

    programme = relationship("Programme")
    created_by = relationship("User")
