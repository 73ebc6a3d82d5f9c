"""Reporting rounds: the round, the projects that owe an update in it, and every mail sent for it.

Revision ID: 0016
Revises: 0015
"""
import sqlalchemy as sa
from alembic import op

revision = "0016"
down_revision = "0015"
branch_labels = None
depends_on = None


def upgrade():
    op.create_table(
        "reporting_round",
        sa.Column("id", sa.Integer(), nullable=False),
        sa.Column("version", sa.Integer(), server_default="1", nullable=False),
        sa.Column("programme_id", sa.Integer(), nullable=False),
        sa.Column("title", sa.String(length=200), nullable=False),
        sa.Column("peildatum", sa.Date(), nullable=False),
        sa.Column("opened_on", sa.Date(), nullable=False),
        sa.Column("deadline", sa.Date(), nullable=False),
        sa.Column("kamerstuk", sa.String(length=200), server_default="", nullable=False),
        sa.Column("remind_days_before", sa.Integer(), server_default="3", nullable=False),
        sa.Column("remind_days_after", sa.Integer(), server_default="3", nullable=False),
        sa.Column("state", sa.String(length=10), server_default="open", nullable=False),
        sa.Column("opened_by_id", sa.Integer(), nullable=True),
        sa.Column("opened_at", sa.DateTime(timezone=True), nullable=False),
        sa.Column("closed_by_id", sa.Integer(), nullable=True),
        sa.Column("closed_at", sa.DateTime(timezone=True), nullable=True),
        sa.Column("snapshot_id", sa.Integer(), nullable=True),
        sa.CheckConstraint("state IN ('open', 'gesloten')", name=op.f("ck_reporting_round_state")),
        sa.CheckConstraint("length(trim(title)) > 0", name=op.f("ck_reporting_round_title_not_empty")),
        sa.CheckConstraint("deadline >= opened_on", name=op.f("ck_reporting_round_deadline_after_opening")),
        sa.CheckConstraint("remind_days_before BETWEEN 0 AND 60 AND remind_days_after BETWEEN 0 AND 60",
                           name=op.f("ck_reporting_round_remind_days")),
        sa.CheckConstraint("state = 'open' OR snapshot_id IS NOT NULL",
                           name=op.f("ck_reporting_round_closed_has_snapshot")),
        sa.ForeignKeyConstraint(["programme_id"], ["programme.id"],
                                name=op.f("fk_reporting_round_programme_id_programme"), ondelete="RESTRICT"),
        sa.ForeignKeyConstraint(["opened_by_id"], ["user.id"], name=op.f("fk_reporting_round_opened_by_id_user"),
                                ondelete="RESTRICT"),
        sa.ForeignKeyConstraint(["closed_by_id"], ["user.id"], name=op.f("fk_reporting_round_closed_by_id_user"),
                                ondelete="RESTRICT"),
        sa.ForeignKeyConstraint(["snapshot_id"], ["report_snapshot.id"],
                                name=op.f("fk_reporting_round_snapshot_id_report_snapshot"), ondelete="RESTRICT"),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_reporting_round")),
    )
    op.create_index("uq_reporting_round_open", "reporting_round", ["programme_id"], unique=True,
                    sqlite_where=sa.text("state = 'open'"), postgresql_where=sa.text("state = 'open'"))
    op.create_index("ix_reporting_round_programme", "reporting_round", ["programme_id", "id"])
    op.create_table(
        "round_project",
        sa.Column("round_id", sa.Integer(), nullable=False),
        sa.Column("project_id", sa.Integer(), nullable=False),
        sa.ForeignKeyConstraint(["round_id"], ["reporting_round.id"],
                                name=op.f("fk_round_project_round_id_reporting_round"), ondelete="CASCADE"),
        sa.ForeignKeyConstraint(["project_id"], ["project.id"], name=op.f("fk_round_project_project_id_project"),
                                ondelete="RESTRICT"),
        sa.PrimaryKeyConstraint("round_id", "project_id", name=op.f("pk_round_project")),
    )
    op.create_index("ix_round_project_project_id", "round_project", ["project_id"])
    op.create_table(
        "round_mail",
        sa.Column("id", sa.Integer(), nullable=False),
        sa.Column("round_id", sa.Integer(), nullable=False),
        sa.Column("user_id", sa.Integer(), nullable=False),
        sa.Column("kind", sa.String(length=20), nullable=False),
        sa.Column("due_on", sa.Date(), nullable=False),
        sa.Column("state", sa.String(length=10), nullable=False),
        sa.Column("attempts", sa.Integer(), server_default="0", nullable=False),
        sa.Column("projects", sa.Text(), nullable=False),
        sa.Column("last_error", sa.Text(), server_default="", nullable=False),
        sa.Column("claimed_at", sa.DateTime(timezone=True), nullable=False),
        sa.Column("sent_at", sa.DateTime(timezone=True), nullable=True),
        sa.CheckConstraint("kind IN ('uitnodiging', 'herinnering', 'deadline', 'te_laat', 'handmatig')",
                           name=op.f("ck_round_mail_kind")),
        sa.CheckConstraint("state IN ('bezig', 'verzonden', 'mislukt')", name=op.f("ck_round_mail_state")),
        sa.ForeignKeyConstraint(["round_id"], ["reporting_round.id"],
                                name=op.f("fk_round_mail_round_id_reporting_round"), ondelete="CASCADE"),
        sa.ForeignKeyConstraint(["user_id"], ["user.id"], name=op.f("fk_round_mail_user_id_user"),
                                ondelete="RESTRICT"),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_round_mail")),
        sa.UniqueConstraint("round_id", "user_id", "kind", "due_on", name=op.f("uq_round_mail_round_id_user_id_kind_due_on")),
    )
    op.create_index("ix_round_mail_user_id", "round_mail", ["user_id"])


def downgrade():
    op.drop_index("ix_round_mail_user_id", table_name="round_mail")
    op.drop_table("round_mail")
    op.drop_index("ix_round_project_project_id", table_name="round_project")
    op.drop_table("round_project")
    op.drop_index("ix_reporting_round_programme", table_name="reporting_round")
    op.drop_index("uq_reporting_round_open", table_name="reporting_round")
    op.drop_table("reporting_round")
