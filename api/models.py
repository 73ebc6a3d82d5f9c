"""Personal access tokens and the idempotency keys of API writes."""
from __future__ import annotations

from datetime import date, datetime

from sqlalchemy import (
    CheckConstraint,
    Date,
    DateTime,
    ForeignKey,
    Integer,
    String,
    Text,
)
from sqlalchemy.orm import Mapped, mapped_column, relationship

from core.audit_labels import register_codes
from core.db import Base, utcnow

#: What a token may do; it never does more than its user's role allows.
SCOPES = {"read": "Lezen", "write": "Lezen en schrijven"}
register_codes("ApiToken", scope=SCOPES)


class ApiToken(Base):
    """A user's personal access token; only its SHA-256 is kept (the token itself is shown once)."""

    __tablename__ = "api_token"
    __table_args__ = (
        CheckConstraint("scope IN ('read','write')", name="scope"),
        CheckConstraint("length(trim(name)) > 0", name="name_not_empty"),
    )

    id: Mapped[int] = mapped_column(primary_key=True)
    user_id: Mapped[int] = mapped_column(ForeignKey("user.id", ondelete="CASCADE"), index=True)
    name: Mapped[str] = mapped_column(String(100))
    #: The first characters of the token, so its owner can tell tokens apart; not enough to use it.
    prefix: Mapped[str] = mapped_column(String(12))
    token_hash: Mapped[str] = mapped_column(String(64), unique=True)
    scope: Mapped[str] = mapped_column(String(10))
    #: The last day it works.
    expires_on: Mapped[date] = mapped_column(Date)
    created_at: Mapped[datetime] = mapped_column(DateTime(timezone=True), default=utcnow)
    revoked_at: Mapped[datetime | None] = mapped_column(DateTime(timezone=True))
    last_used_at: Mapped[datetime | None] = mapped_column(DateTime(timezone=True))

    user = relationship("User")


class IdempotentRequest(Base):
    """A POST's Idempotency-Key with the response it got: the same request again gets that response again."""

    __tablename__ = "api_idempotency"

    user_id: Mapped[int] = mapped_column(ForeignKey("user.id", ondelete="CASCADE"), primary_key=True)
    key: Mapped[str] = mapped_column(String(255), primary_key=True)
    #: SHA-256 of method, path and body: the same key with another request is refused, not replayed.
    fingerprint: Mapped[str] = mapped_column(String(64))
    status: Mapped[int] = mapped_column(Integer)
    body: Mapped[str] = mapped_column(Text)
    location: Mapped[str] = mapped_column(String(500), default="")
    #: Kept for KEEP_HOURS (api.unit forgets older keys): long enough for any retry.
    at: Mapped[datetime] = mapped_column(DateTime(timezone=True), default=utcnow, index=True)
