"""One-time form tokens: a booking form posted twice (double click, reload, back button) books once."""
from __future__ import annotations

import secrets
from datetime import datetime

from flask_babel import lazy_gettext as _l
from sqlalchemy import DateTime, ForeignKey, String, select
from sqlalchemy.orm import Mapped, mapped_column
from wtforms import HiddenField
from wtforms.validators import InputRequired, Regexp

from core.db import Base, utcnow


class FormSubmission(Base):
    """A form token that has been used, with where its result can be seen."""

    __tablename__ = "form_submission"

    token: Mapped[str] = mapped_column(String(64), primary_key=True)
    user_id: Mapped[int | None] = mapped_column(ForeignKey("user.id", ondelete="CASCADE"))
    at: Mapped[datetime] = mapped_column(DateTime(timezone=True), default=utcnow)
    #: The page that shows what the first post booked (shown again on a repeated post).
    location: Mapped[str] = mapped_column(String(500), default="")


_EXPIRED = _l("Dit formulier is verlopen of onvolledig. Open het opnieuw en vul het nog eens in.")


class OnceTokenField(HiddenField):
    """A fresh random token in every rendered form; the post that first uses it books, later ones do not."""

    def __init__(self, label=None, **kwargs):
        super().__init__(label, validators=[InputRequired(_EXPIRED), Regexp(r"^[A-Za-z0-9_-]{16,64}$",
                                                                            message=_EXPIRED)], **kwargs)

    def _value(self) -> str:
        # A form shown again with errors keeps its token: nothing was booked with it yet.
        if not self.data:
            self.data = secrets.token_urlsafe(24)
        return self.data


def claim(session, token: str, user_id: int | None) -> FormSubmission | None:
    """Mark `token` used in this transaction; returns the earlier use instead when there was one.

    Called under the write lock (core.unit), so two posts of one token are looked up one after
    the other; the primary key would refuse a second insert all the same.
    """
    earlier = used(session, token)
    if earlier is not None:
        return earlier
    session.add(FormSubmission(token=token, user_id=user_id))
    session.flush()
    return None


def used(session, token: str) -> FormSubmission | None:
    return session.scalar(select(FormSubmission).where(FormSubmission.token == token))


def done(session, token: str, location: str) -> None:
    """Remember where the booking made with `token` can be seen."""
    submission = session.get(FormSubmission, token)
    submission.location = location[:500]
