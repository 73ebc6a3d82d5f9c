"""Closed periods: each close or reopen of a programme's books, kept as a history.

Revision ID: 0012
Revises: 0011
"""
import sqlalchemy as sa
from alembic import op

revision = "0012"
down_revision = "0011"
branch_labels = None
depends_on = None


def upgrade():
    op.create_table(
        "period_closure",
        sa.Column("id", sa.Integer(), nullable=False),
        sa.Column("programme_id", sa.Integer(), nullable=False),
        sa.Column("action", sa.String(length=10), nullable=False),
        sa.Column("through", sa.Date(), nullable=True),
        sa.Column("previous", sa.Date(), nullable=True),
        sa.Column("reason", sa.Text(), nullable=False),
        sa.Column("actor_id", sa.Integer(), nullable=True),
        sa.Column("actor_label", sa.String(length=200), nullable=False),
        sa.Column("at", sa.DateTime(timezone=True), nullable=False),
        sa.CheckConstraint("action IN ('close', 'reopen')", name=op.f("ck_period_closure_action")),
        sa.CheckConstraint("(action = 'close' AND through IS NOT NULL) OR "
                           "(action = 'reopen' AND length(trim(reason)) > 0)",
                           name=op.f("ck_period_closure_close_dated_reopen_reasoned")),
        sa.ForeignKeyConstraint(["programme_id"], ["programme.id"],
                                name=op.f("fk_period_closure_programme_id_programme"), ondelete="RESTRICT"),
        sa.ForeignKeyConstraint(["actor_id"], ["user.id"], name=op.f("fk_period_closure_actor_id_user"),
                                ondelete="RESTRICT"),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_period_closure")),
    )
    op.create_index("ix_period_closure_programme_id", "period_closure", ["programme_id", "id"])


def downgrade():
    op.drop_index("ix_period_closure_programme_id", table_name="period_closure")
    op.drop_table("period_closure")
