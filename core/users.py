"""Users and roles: the User table, password hashing, creating users, role checks."""
from __future__ import annotations

import secrets
from dataclasses import dataclass
from datetime import datetime

from argon2 import PasswordHasher
from argon2.exceptions import InvalidHashError, VerificationError
from sqlalchemy import (
    Boolean,
    CheckConstraint,
    DateTime,
    Integer,
    String,
    func,
    or_,
    select,
    update,
)
from sqlalchemy.orm import Mapped, mapped_column

from core.audit import diff, record, snapshot
from core.audit_labels import register_codes
from core.db import Base, utcnow
from core.errors import Conflict, NotFound, PermissionDenied, ValidationError

ROLES = {
    "beheerder": "Beheerder",
    "financieel": "Financieel medewerker",
    "projectleider": "Projectleider",
    "lezer": "Lezer",
}
FINANCE_ROLES = ("beheerder", "financieel")
register_codes("User", role=ROLES)  # the audit trail shows "Financieel medewerker", not the code
MIN_PASSWORD_LENGTH = 12

_hasher = PasswordHasher()  # argon2id with the library's current parameters
_dummy: tuple[PasswordHasher, str] | None = None  # (hasher, hash) for unknown e-mails; see authenticate


class User(Base):
    """Someone who can log in; personal data stays internal (never in Kamer output)."""

    __tablename__ = "user"
    __table_args__ = (
        CheckConstraint("role IN ('beheerder','financieel','projectleider','lezer')", name="role"),
    )

    id: Mapped[int] = mapped_column(primary_key=True)
    #: Optimistic locking: every UPDATE checks and bumps it, so a stale edit cannot overwrite.
    version: Mapped[int] = mapped_column(default=1, server_default="1")
    __mapper_args__ = {"version_id_col": version}
    email: Mapped[str] = mapped_column(String(254), unique=True)
    name: Mapped[str] = mapped_column(String(200))
    role: Mapped[str] = mapped_column(String(20))
    password_hash: Mapped[str] = mapped_column(String(255))
    active: Mapped[bool] = mapped_column(Boolean, default=True)
    #: Part of the login cookie; replaced at logout so replayed cookies stop working.
    session_token: Mapped[str] = mapped_column(String(64), default=lambda: new_session_token())
    #: Base32 TOTP secret once two-factor login is set up; required for beheerders.
    totp_secret: Mapped[str | None] = mapped_column(String(64))
    #: The secret shown while linking an app: kept here, not in the (signed, readable) session cookie.
    totp_pending_secret: Mapped[str | None] = mapped_column(String(64))
    #: The last TOTP time step that logged in; a code is accepted once (ASVS 2.8.4).
    totp_last_step: Mapped[int | None] = mapped_column(Integer)
    #: Who this user is at the ministry's identity provider (the `sub` claim), set by a beheerder (core.sso).
    sso_subject: Mapped[str | None] = mapped_column(String(255), unique=True)
    created_at: Mapped[datetime] = mapped_column(DateTime(timezone=True), default=utcnow)

    # The four members Flask-Login expects, written out so this module needs no Flask.
    is_authenticated = True
    is_anonymous = False

    @property
    def is_active(self) -> bool:  # Flask-Login refuses inactive users
        return bool(self.active)

    def get_id(self) -> str:
        return f"{self.id}:{self.session_token}"

    @property
    def role_label(self) -> str:
        return ROLES.get(self.role, self.role)

    def set_password(self, password: str) -> None:
        check_password(password)
        self.password_hash = _hasher.hash(password)

    def check_password(self, password: str) -> bool:
        try:
            return _hasher.verify(self.password_hash, password)
        except (VerificationError, InvalidHashError):
            return False

    @property
    def needs_second_factor(self) -> bool:
        return self.role == "beheerder" or self.totp_secret is not None

    def has_role(self, *roles: str) -> bool:
        return self.role in roles

    def __str__(self) -> str:
        return self.email


def _dummy_hash() -> str:
    """A hash of a random password with the current hasher's cost, made once per hasher."""
    global _dummy
    if _dummy is None or _dummy[0] is not _hasher:
        _dummy = (_hasher, _hasher.hash(secrets.token_urlsafe(16)))
    return _dummy[1]


def authenticate(session, email: str, password: str) -> User | None:
    """The active user with this e-mail and password, else None.

    An unknown or inactive e-mail is verified against a dummy hash, so every refusal costs one
    argon2 verification and the answer time does not tell which addresses have an account.
    """
    user = with_email(session, email)
    if user is None or not user.active:
        try:
            _hasher.verify(_dummy_hash(), password or "")
        except (VerificationError, InvalidHashError):
            pass
        return None
    return user if user.check_password(password) else None


def new_session_token() -> str:
    return secrets.token_urlsafe(32)


def check_password(password: str) -> None:
    if password is None or len(password) < MIN_PASSWORD_LENGTH:
        raise ValidationError(
            f"Een wachtwoord heeft minstens {MIN_PASSWORD_LENGTH} tekens.", field="password"
        )


def create_user(session, actor: Actor, email: str, name: str, role: str, password: str | None) -> User:
    """Add a user after checking role, e-mail and password; only a beheerder may; audited, never commits.

    Without a password (sign-in only through the identity provider) the account gets one nobody knows.
    """
    _require_admin(actor)
    email = normal_email(email)
    if "@" not in email or len(email) > 254:
        raise ValidationError("Vul een geldig e-mailadres in.", field="email")
    if role not in ROLES:
        raise ValidationError(f"Onbekende rol '{role}'; kies uit {', '.join(ROLES)}.", field="role")
    if not (name or "").strip():
        raise ValidationError("Vul een naam in.", field="name")
    if with_email(session, email) is not None:
        raise Conflict(f"Er bestaat al een gebruiker met e-mailadres {email}.", field="email")
    user = User(email=email, name=name.strip(), role=role, active=True)
    user.set_password(secrets.token_urlsafe(32) if password is None else password)
    session.add(user)
    record(session, actor, "create", user, {"after": snapshot(user)})
    return user


@dataclass(frozen=True)
class SystemActor:
    """An active beheerder without a user row: the demo loader or a command-line import.

    Its `email` is the label the audit trail shows for what it did.
    """

    email: str
    id: int | None = None
    role: str = "beheerder"
    active: bool = True


#: Who makes a change: a signed-in user, or the system (CLI, demo, import) acting as a beheerder.
#: Never a bare string: require_role refuses anything without an active role.
Actor = User | SystemActor


def require_role(actor: Actor, *roles: str) -> None:
    """Refuse the change unless `actor` is an active user with one of `roles`."""
    if actor is None or not getattr(actor, "active", False) or actor.role not in roles:
        raise PermissionDenied("U heeft geen toestemming voor deze wijziging.")


def _require_admin(actor: Actor) -> None:
    require_role(actor, "beheerder")


def _active_admins(session) -> int:
    return session.scalar(select(func.count(User.id)).where(User.role == "beheerder", User.active.is_(True)))


def change_role(session, actor: Actor, user: User, role: str) -> User:
    """Give a user another role; a beheerder cannot demote themself (nobody would be left to undo it)."""
    _require_admin(actor)
    if role not in ROLES:
        raise ValidationError(f"Onbekende rol '{role}'; kies uit {', '.join(ROLES)}.", field="role")
    if user.id == actor.id and role != user.role:
        raise PermissionDenied("U kunt uw eigen rol niet wijzigen; vraag een andere beheerder.", field="role")
    if user.role == "beheerder" and role != "beheerder" and user.active and _active_admins(session) <= 1:
        raise Conflict("Dit is de laatste actieve beheerder; wijs eerst een andere beheerder aan.", field="role")
    if role == user.role:
        return user
    before = snapshot(user)
    user.role = role
    record(session, actor, "update", user, diff(before, snapshot(user)))
    return user


def set_active(session, actor: Actor, user: User, active: bool) -> User:
    """Deactivate (cannot log in any more, history kept) or reactivate a user."""
    _require_admin(actor)
    if user.id == actor.id and not active:
        raise PermissionDenied("U kunt uzelf niet deactiveren; vraag een andere beheerder.")
    if bool(user.active) == bool(active):
        return user
    if not active and user.role == "beheerder" and _active_admins(session) <= 1:
        raise Conflict("Dit is de laatste actieve beheerder; wijs eerst een andere beheerder aan.")
    before = snapshot(user)
    user.active = bool(active)
    # A new token on every change: a cookie from before a deactivation must not come back to
    # life when the account is reactivated.
    user.session_token = new_session_token()
    record(session, actor, "activate" if active else "deactivate", user, diff(before, snapshot(user)))
    return user


def reset_password(session, actor: Actor, user: User, password: str) -> User:
    """Set a new password for a user; the audit entry says that it changed, never what it is."""
    _require_admin(actor)
    user.set_password(password)
    # Whoever knew the old password may hold a session: a new password ends every session.
    user.session_token = new_session_token()
    record(session, actor, "set_password", user, {"after": {"password": "gewijzigd"}})
    return user


def link_sso(session, actor: Actor, user: User, subject: str | None) -> User:
    """Tie a user to their account at the identity provider (its `sub`), or untie with an empty subject.

    The subject is the provider's stable name for the person; one subject belongs to one user.
    """
    _require_admin(actor)
    subject = (subject or "").strip() or None
    if subject is not None and (len(subject) > 255 or not subject.isprintable()):
        raise ValidationError("Een SSO-kenmerk heeft hoogstens 255 leesbare tekens.", field="sso_subject")
    if subject == user.sso_subject:
        return user
    if subject is not None and session.scalar(
            select(User.id).where(User.sso_subject == subject, User.id != user.id)) is not None:
        raise Conflict("Dit SSO-kenmerk hoort al bij een andere gebruiker.", field="sso_subject")
    before = snapshot(user)
    user.sso_subject = subject
    # Another identity now opens this account: sessions of the old one end.
    user.session_token = new_session_token()
    record(session, actor, "update", user, diff(before, snapshot(user)))
    return user


def by_sso(session, *, subject: str | None = None, email: str | None = None) -> User | None:
    """The user the identity provider's claim names: by subject, or by e-mail where so configured."""
    if subject:
        return session.scalar(select(User).where(User.sso_subject == subject))
    return with_email(session, email) if normal_email(email) else None


def normal_email(email: str | None) -> str:
    """An e-mail address as the app keeps and compares it: without spaces around it, in lower case."""
    return (email or "").strip().lower()


def with_email(session, email: str | None) -> User | None:
    """The user with this e-mail address (any case, spaces around it ignored), else None."""
    return session.scalar(select(User).where(func.lower(User.email) == normal_email(email)))


def by_email(session, email: str) -> User:
    """The user with this e-mail address (any case), else NotFound: the CLI names users by e-mail."""
    user = with_email(session, email)
    if user is None:
        raise NotFound(f"Er is geen gebruiker met e-mailadres {normal_email(email)}.", field="email")
    return user


def pending_totp_secret(user: User, new_secret) -> str:
    """The secret the user is linking an app to: the one shown before, else a new one from `new_secret()`."""
    if not user.totp_pending_secret:
        user.totp_pending_secret = new_secret()
    return user.totp_pending_secret


def end_totp_enrolment(user: User) -> None:
    """Forget an unfinished enrolment's secret (logout, or the app was linked)."""
    user.totp_pending_secret = None


def enable_totp(session, user: User, secret: str, step: int) -> None:
    """Switch two-factor login on; `step` (the code that proved it) counts as used.

    The audit entry says so but never holds the secret.
    """
    user.totp_secret = secret
    user.totp_last_step = step
    end_totp_enrolment(user)
    record(session, user, "enable_2fa", user, {"after": {"two_factor": True}})


def use_totp_step(session, user: User, step: int) -> bool:
    """Mark TOTP time step `step` as used by `user`; False if it or a later one was used already.

    One conditional UPDATE, so two requests with the same code cannot both get in.
    """
    result = session.execute(
        update(User)
        .where(User.id == user.id, or_(User.totp_last_step.is_(None), User.totp_last_step < step))
        .values(totp_last_step=step)
        .execution_options(synchronize_session=False)
    )
    if result.rowcount != 1:
        return False
    # The row changed behind the ORM's back; keep the loaded object in step with it.
    session.expire(user, ["totp_last_step"])
    return True


def in_list_order(session) -> list[User]:
    """Every user, active ones first, by name (the user list)."""
    return session.scalars(select(User).order_by(User.active.desc(), User.name)).all()
