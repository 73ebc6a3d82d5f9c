"""Deciding what to fund: scenarios and their entries (kept apart from the ledger), the waiting list of
proposals, and the underspend warning's setting.

Revision ID: 0020
Revises: 0019
"""
import sqlalchemy as sa
from alembic import op

revision = "0020"
down_revision = "0019"
branch_labels = None
depends_on = None


def upgrade():
    op.create_table(
        "scenario",
        sa.Column("id", sa.Integer(), nullable=False),
        sa.Column("version", sa.Integer(), server_default="1", nullable=False),
        sa.Column("programme_id", sa.Integer(), nullable=False),
        sa.Column("name", sa.String(length=200), nullable=False),
        sa.Column("description", sa.Text(), nullable=False),
        sa.Column("state", sa.String(length=20), nullable=False),
        sa.Column("created_by_id", sa.Integer(), nullable=True),
        sa.Column("created_at", sa.DateTime(timezone=True), nullable=False),
        sa.Column("adopted_at", sa.DateTime(timezone=True), nullable=True),
        sa.CheckConstraint("state IN ('concept','aangenomen')", name=op.f("ck_scenario_state")),
        sa.CheckConstraint("length(trim(name)) > 0", name=op.f("ck_scenario_name_not_empty")),
        sa.ForeignKeyConstraint(["programme_id"], ["programme.id"], name=op.f("fk_scenario_programme_id_programme"),
                                ondelete="RESTRICT"),
        sa.ForeignKeyConstraint(["created_by_id"], ["user.id"], name=op.f("fk_scenario_created_by_id_user"),
                                ondelete="RESTRICT"),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_scenario")),
        sa.UniqueConstraint("programme_id", "name", name=op.f("uq_scenario_programme_id_name")),
    )
    with op.batch_alter_table("scenario") as batch:
        batch.create_index(batch.f("ix_scenario_programme_id"), ["programme_id"], unique=False)
    op.create_table(
        "scenario_entry",
        sa.Column("id", sa.Integer(), nullable=False),
        sa.Column("scenario_id", sa.Integer(), nullable=False),
        sa.Column("kind", sa.String(length=20), nullable=False),
        sa.Column("params", sa.Text(), nullable=False),
        sa.Column("deltas", sa.Text(), nullable=False),
        sa.Column("summary", sa.String(length=500), nullable=False),
        sa.Column("project_id", sa.Integer(), nullable=True),
        sa.Column("created_at", sa.DateTime(timezone=True), nullable=False),
        sa.CheckConstraint("kind IN ('commitment','adjustment','kasschuif','mutation','staffing')",
                           name=op.f("ck_scenario_entry_kind")),
        sa.ForeignKeyConstraint(["scenario_id"], ["scenario.id"], name=op.f("fk_scenario_entry_scenario_id_scenario"),
                                ondelete="CASCADE"),
        sa.ForeignKeyConstraint(["project_id"], ["project.id"], name=op.f("fk_scenario_entry_project_id_project"),
                                ondelete="SET NULL"),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_scenario_entry")),
    )
    with op.batch_alter_table("scenario_entry") as batch:
        batch.create_index(batch.f("ix_scenario_entry_scenario_id"), ["scenario_id"], unique=False)
    op.create_table(
        "proposal",
        sa.Column("project_id", sa.Integer(), nullable=False),
        sa.Column("version", sa.Integer(), server_default="1", nullable=False),
        sa.Column("priority", sa.Integer(), nullable=True),
        sa.Column("readiness", sa.String(length=20), nullable=False),
        sa.CheckConstraint("priority IS NULL OR priority >= 1", name=op.f("ck_proposal_priority_positive")),
        sa.CheckConstraint("readiness IN ('', 'gereed', 'uitwerking', 'idee')", name=op.f("ck_proposal_readiness")),
        sa.ForeignKeyConstraint(["project_id"], ["project.id"], name=op.f("fk_proposal_project_id_project"),
                                ondelete="CASCADE"),
        sa.PrimaryKeyConstraint("project_id", name=op.f("pk_proposal")),
    )
    op.create_table(
        "proposal_year",
        sa.Column("project_id", sa.Integer(), nullable=False),
        sa.Column("year", sa.Integer(), nullable=False),
        sa.Column("amount", sa.BigInteger(), nullable=False),
        sa.CheckConstraint("amount > 0", name=op.f("ck_proposal_year_amount_positive")),
        sa.ForeignKeyConstraint(["project_id"], ["proposal.project_id"],
                                name=op.f("fk_proposal_year_project_id_proposal"), ondelete="CASCADE"),
        sa.PrimaryKeyConstraint("project_id", "year", name=op.f("pk_proposal_year")),
    )
    op.add_column("programme", sa.Column("underspend_pct", sa.Integer(), server_default="10", nullable=False))
    op.add_column("programme", sa.Column("underspend_month", sa.Integer(), server_default="7", nullable=False))


def downgrade():
    op.drop_table("proposal_year")
    op.drop_table("proposal")
    with op.batch_alter_table("programme") as batch:
        batch.drop_column("underspend_month")
        batch.drop_column("underspend_pct")
    with op.batch_alter_table("scenario_entry") as batch:
        batch.drop_index(batch.f("ix_scenario_entry_scenario_id"))
    op.drop_table("scenario_entry")
    with op.batch_alter_table("scenario") as batch:
        batch.drop_index(batch.f("ix_scenario_programme_id"))
    op.drop_table("scenario")
