"""Portfolio tables: Programme, Organisation, Project (+ forms of exploitation), StatusUpdate."""
from __future__ import annotations

import datetime as dt
from datetime import date, datetime
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
from sqlalchemy import false as sa_false
from sqlalchemy.orm import Mapped, mapped_column, relationship

from core.audit_labels import register_codes
from core.db import Base, utcnow
from core.validate import YEAR_MAX, YEAR_MIN

# Code -> Dutch label, in the order pages and reports show them.
CATEGORIES = {
    "lopend": "Lopend",
    "vervolg": "Vervolg",
    "op_de_plank": "Op de plank",
    "nieuw": "Nieuw",
}
LINES = {
    "preventie": "Preventie",
    "zicht_op_slachtoffers": "Zicht op slachtoffers",
    "zorg": "Zorg",
    "opsporing_vervolging": "Opsporing en vervolging",
}
EXPLOITATION_FORMS = {
    "seksuele_uitbuiting": "Seksuele uitbuiting",
    "arbeidsuitbuiting": "Arbeidsuitbuiting",
    "criminele_uitbuiting": "Criminele uitbuiting",
    "orgaanverwijdering": "Gedwongen orgaanverwijdering",
    "overig": "Overig",
}
INSTRUMENTS = {
    "subsidie": "Subsidie",
    "opdracht": "Opdracht",
    "bijdrage_medeoverheid": "Bijdrage medeoverheid",
    "bijdrage_zbo_rwt": "Bijdrage zbo/rwt",
    "overig": "Overig",
}
STATUSES = {
    "voorstel": "Voorstel",
    "in_behandeling": "In behandeling",
    "toegekend": "Toegekend",
    "in_uitvoering": "In uitvoering",
    "afgerond": "Afgerond",
    "afgewezen": "Afgewezen",
    "ingetrokken": "Ingetrokken",
    "opgeschort": "Opgeschort",
}
#: The lifecycle of DESIGN.md: the main path plus the side exits, and resuming a suspension.
TRANSITIONS = {
    "voorstel": {"in_behandeling", "afgewezen", "ingetrokken"},
    "in_behandeling": {"toegekend", "afgewezen", "ingetrokken"},
    "toegekend": {"in_uitvoering", "opgeschort", "ingetrokken"},
    "in_uitvoering": {"afgerond", "opgeschort", "ingetrokken"},
    "opgeschort": {"in_uitvoering", "ingetrokken"},
    "afgerond": set(),
    "afgewezen": set(),
    "ingetrokken": set(),
}
#: Statuses whose requested amount counts as pipeline ("in voorbereiding") while uncommitted.
PIPELINE_STATUSES = ("voorstel", "in_behandeling")
#: Voortgang: how a project is going. The stored codes (column `rag`) are those of a red/amber/green
#: traffic light; pages and exports only ever show these plain Dutch words, never "RAG".
RAG = {"op_koers": "Op koers", "risico": "Risico", "achter": "Achter"}
ORGANISATION_TYPES = {
    "preventie": "Preventie",
    "zorg_opvang": "Zorg en opvang",
    "opsporing_vervolging": "Opsporing en vervolging",
    "ngo": "Ngo",
    "ervaringsdeskundigen": "Ervaringsdeskundigen",
    "gemeente": "Gemeente",
    "rijksoverheid": "Rijksoverheid",
    "kennisinstelling": "Kennisinstelling",
    "overig": "Overig",
}


def in_list(column: str, values) -> str:
    """SQL CHECK text limiting `column` to the given codes."""
    return f"{column} IN ({', '.join(repr(v) for v in values)})"


def year_check(column: str = "year") -> str:
    return f"{column} BETWEEN {YEAR_MIN} AND {YEAR_MAX}"


def _creation_status(context) -> str:
    # A row written without initial_status (a bulk insert, a test's factory) was created with its status.
    return context.get_current_parameters().get("status") or "voorstel"


class Programme(Base):
    __tablename__ = "programme"
    __table_args__ = (
        CheckConstraint(year_check("first_year"), name="first_year_range"),
        CheckConstraint(f"last_year IS NULL OR (last_year >= first_year AND {year_check('last_year')})",
                        name="last_year_range"),
        CheckConstraint("length(code) > 0", name="code_not_empty"),
    )

    id: Mapped[int] = mapped_column(primary_key=True)
    #: Optimistic locking: every UPDATE checks and bumps it, so a stale edit cannot overwrite.
    version: Mapped[int] = mapped_column(default=1, server_default="1")
    __mapper_args__ = {"version_id_col": version}
    code: Mapped[str] = mapped_column(String(20), unique=True)
    name: Mapped[str] = mapped_column(String(200))
    ministry: Mapped[str] = mapped_column(String(200))
    budget_article: Mapped[str] = mapped_column(String(50))
    first_year: Mapped[int]
    #: Optional end; when empty the programme runs to its last year with budget.
    last_year: Mapped[int | None]
    #: Four eyes (approvals): financial entries above the threshold wait for a second person's approval.
    four_eyes: Mapped[bool] = mapped_column(default=False, server_default=sa_false())
    approval_threshold: Mapped[Decimal] = mapped_column(default=Decimal("0.00"), server_default="0")
    #: Payments too (above the threshold); by default a payment follows its approved commitment.
    four_eyes_payments: Mapped[bool] = mapped_column(default=False, server_default=sa_false())
    #: A grant is "vast te stellen" this many months after its project's end date without a vaststelling.
    settlement_months: Mapped[int] = mapped_column(default=6, server_default="6")
    #: The underspend warning (budget.underspend): from the first of this month on, when the expected year-end
    #: underspend exceeds this percentage of the year's cash schedule.
    underspend_pct: Mapped[int] = mapped_column(default=10, server_default="10")
    underspend_month: Mapped[int] = mapped_column(default=7, server_default="7")
    created_at: Mapped[datetime] = mapped_column(DateTime(timezone=True), default=utcnow)


class Organisation(Base):
    __tablename__ = "organisation"
    __table_args__ = (CheckConstraint(in_list("type", ORGANISATION_TYPES), name="type"),)

    id: Mapped[int] = mapped_column(primary_key=True)
    #: Optimistic locking: every UPDATE checks and bumps it, so a stale edit cannot overwrite.
    version: Mapped[int] = mapped_column(default=1, server_default="1")
    __mapper_args__ = {"version_id_col": version}
    name: Mapped[str] = mapped_column(String(200), unique=True)
    type: Mapped[str] = mapped_column(String(30))


class Project(Base):
    __tablename__ = "project"
    __table_args__ = (
        UniqueConstraint("programme_id", "code"),
        CheckConstraint(in_list("category", CATEGORIES), name="category"),
        CheckConstraint(in_list("line", LINES), name="line"),
        CheckConstraint(in_list("instrument", INSTRUMENTS), name="instrument"),
        CheckConstraint(in_list("status", STATUSES), name="status"),
        CheckConstraint("end_date IS NULL OR start_date IS NULL OR end_date >= start_date",
                        name="dates_ordered"),
        CheckConstraint("requested_amount IS NULL OR requested_amount >= 0", name="requested_nonneg"),
        CheckConstraint("predecessor_id IS NULL OR predecessor_id <> id", name="not_own_predecessor"),
        CheckConstraint("length(code) > 0 AND length(title) > 0", name="code_title_not_empty"),
        # The list page's filters and sorts (migration 0006): a page of 25 never scans the portfolio.
        Index("ix_project_programme_status", "programme_id", "status"),
        Index("ix_project_programme_category_line", "programme_id", "category", "line"),
        Index("ix_project_programme_line", "programme_id", "line"),
        Index("ix_project_programme_title", "programme_id", "title"),
        # The report's per-project sums (migration 0008): a programme's projects in id order.
        Index("ix_project_programme", "programme_id"),
    )

    id: Mapped[int] = mapped_column(primary_key=True)
    #: Optimistic locking: every UPDATE checks and bumps it, so a stale edit cannot overwrite.
    version: Mapped[int] = mapped_column(default=1, server_default="1")
    __mapper_args__ = {"version_id_col": version}
    programme_id: Mapped[int] = mapped_column(ForeignKey("programme.id", ondelete="RESTRICT"))
    code: Mapped[str] = mapped_column(String(30))
    title: Mapped[str] = mapped_column(String(300))
    summary: Mapped[str] = mapped_column(Text, default="")
    category: Mapped[str] = mapped_column(String(20))
    line: Mapped[str] = mapped_column(String(30))
    organisation_id: Mapped[int | None] = mapped_column(
        ForeignKey("organisation.id", ondelete="RESTRICT"), index=True)
    instrument: Mapped[str] = mapped_column(String(30))
    owner_id: Mapped[int | None] = mapped_column(ForeignKey("user.id", ondelete="RESTRICT"), index=True)
    predecessor_id: Mapped[int | None] = mapped_column(
        ForeignKey("project.id", ondelete="RESTRICT"), index=True)
    #: A predecessor that is not in the system (e.g. it ran under the previous programme), as the
    #: user named it; empty when there is none or when predecessor_id names it.
    predecessor_outside: Mapped[str] = mapped_column(String(200), default="", server_default="")
    status: Mapped[str] = mapped_column(String(20), default="voorstel")
    #: The status the project was created with (migration 0015); it never changes. Its status at a
    #: peildatum before any status update is this one (budget.breakdowns.status_at).
    initial_status: Mapped[str] = mapped_column(String(20), default=_creation_status, server_default="voorstel")
    start_date: Mapped[date | None] = mapped_column(Date)
    end_date: Mapped[date | None] = mapped_column(Date)
    requested_amount: Mapped[Decimal | None]
    #: Internal only (personal data / working notes): never in a public report.
    internal_notes: Mapped[str] = mapped_column(Text, default="")
    contact_person: Mapped[str] = mapped_column(String(200), default="")
    created_at: Mapped[datetime] = mapped_column(DateTime(timezone=True), default=utcnow)

    programme: Mapped[Programme] = relationship()
    organisation: Mapped[Organisation | None] = relationship()
    owner = relationship("User")
    predecessor: Mapped[Project | None] = relationship(remote_side=[id], back_populates="successors")
    successors: Mapped[list[Project]] = relationship(back_populates="predecessor")
    forms: Mapped[list[ProjectExploitation]] = relationship(
        cascade="all, delete-orphan", order_by="ProjectExploitation.form")
    updates: Mapped[list[StatusUpdate]] = relationship(
        back_populates="project", order_by="StatusUpdate.id")

    @property
    def form_codes(self) -> list[str]:
        return [f.form for f in self.forms]


class ProjectExploitation(Base):
    """A form of exploitation a project addresses (several per project)."""

    __tablename__ = "project_exploitation"
    __table_args__ = (CheckConstraint(in_list("form", EXPLOITATION_FORMS), name="form"),)

    project_id: Mapped[int] = mapped_column(ForeignKey("project.id", ondelete="CASCADE"), primary_key=True)
    form: Mapped[str] = mapped_column(String(30), primary_key=True)


class StatusUpdate(Base):
    __tablename__ = "status_update"
    __table_args__ = (
        CheckConstraint(in_list("status", STATUSES), name="status"),
        CheckConstraint(in_list("rag", RAG), name="rag"),
        # A project's updates newest first, read from the index (the report's latest public text;
        # migration 0008, replacing the plain project_id index).
        Index("ix_status_update_project_date", "project_id", "date", "id"),
    )

    id: Mapped[int] = mapped_column(primary_key=True)
    project_id: Mapped[int] = mapped_column(ForeignKey("project.id", ondelete="RESTRICT"))
    author_id: Mapped[int | None] = mapped_column(ForeignKey("user.id", ondelete="RESTRICT"))
    date: Mapped[dt.date] = mapped_column(Date)
    status: Mapped[str] = mapped_column(String(20))
    rag: Mapped[str] = mapped_column(String(10))
    #: Internal progress text; `public_text` is the part that may go to the Kamer.
    progress: Mapped[str] = mapped_column(Text, default="")
    public_text: Mapped[str] = mapped_column(Text, default="")
    next_steps: Mapped[str] = mapped_column(Text, default="")
    created_at: Mapped[datetime] = mapped_column(DateTime(timezone=True), default=utcnow)

    project: Mapped[Project] = relationship(back_populates="updates")
    author = relationship("User")


# The audit trail shows these codes by their labels; core.audit_labels cannot import this module.
register_codes("Project", category=CATEGORIES, line=LINES, forms=EXPLOITATION_FORMS, instrument=INSTRUMENTS,
               status=STATUSES, initial_status=STATUSES)
register_codes("StatusUpdate", status=STATUSES, rag=RAG)
register_codes("Organisation", type=ORGANISATION_TYPES)
