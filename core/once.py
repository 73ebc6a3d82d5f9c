"""One-time form tokens: a booking form posted twice (double click, reload, back button) books once."""
from __future__ import annotations

from datetime import datetime

from sqlalchemy import DateTime, ForeignKey, String, select
from sqlalchemy.orm import Mapped, mapped_column

from core.db import Base, utcnow


class FormSubmission(Base):
    """A form token that has been used, with where its result can be seen."""

    __tablename__ = "form_submission"

    token: Mapped[str] = mapped_column(String(64), primary_key=True)
    user_id: Mapped[int | None] = mapped_column(ForeignKey("user.id", ondelete="CASCADE"))
    at: Mapped[datetime] = mapped_column(DateTime(timezone=True), default=utcnow)
    #: The page that shows what the first post booked (shown again on a repeated post).
    location: Mapped[str] = mapped_column(String(500), default="")


def used(session, token: str) -> FormSubmission | None:
    return session.scalar(select(FormSubmission).where(FormSubmission.token == token))
