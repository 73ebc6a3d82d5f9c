"""Four eyes: a programme's setting and threshold, and the entries that wait for a second person's approval.

Revision ID: 0017
Revises: 0016
"""
import sqlalchemy as sa
from alembic import op

revision = "0017"
down_revision = "0016"
branch_labels = None
depends_on = None


def upgrade():
    # Plain ADD COLUMN (with a default), not a batch copy: on SQLite a copy would drop and recreate the
    # programme table that every other table refers to.
    op.add_column("programme", sa.Column("four_eyes", sa.Boolean(), server_default=sa.false(), nullable=False))
    op.add_column("programme", sa.Column("approval_threshold", sa.BigInteger(), server_default="0", nullable=False))
    op.add_column("programme", sa.Column("four_eyes_payments", sa.Boolean(), server_default=sa.false(), nullable=False))
    op.create_table(
        "pending_entry",
        sa.Column("id", sa.Integer(), nullable=False),
        sa.Column("version", sa.Integer(), server_default="1", nullable=False),
        sa.Column("programme_id", sa.Integer(), nullable=False),
        sa.Column("kind", sa.String(length=20), nullable=False),
        sa.Column("state", sa.String(length=20), nullable=False),
        sa.Column("summary", sa.Text(), nullable=False),
        sa.Column("amount", sa.BigInteger(), nullable=False),
        sa.Column("deltas", sa.Text(), nullable=False),
        sa.Column("params", sa.Text(), nullable=False),
        sa.Column("override_reason", sa.Text(), server_default="", nullable=False),
        sa.Column("payload", sa.LargeBinary(), nullable=True),
        sa.Column("entered_by_id", sa.Integer(), nullable=True),
        sa.Column("entered_label", sa.String(length=200), nullable=False),
        sa.Column("entered_at", sa.DateTime(timezone=True), nullable=False),
        sa.Column("decided_by_id", sa.Integer(), nullable=True),
        sa.Column("decided_at", sa.DateTime(timezone=True), nullable=True),
        sa.Column("decision_reason", sa.Text(), server_default="", nullable=False),
        sa.Column("result", sa.String(length=200), server_default="", nullable=False),
        sa.CheckConstraint("state IN ('ter_goedkeuring', 'goedgekeurd', 'afgewezen')",
                           name=op.f("ck_pending_entry_state")),
        sa.CheckConstraint("kind IN ('commitment', 'adjustment', 'mutation', 'mutation_update', 'mutation_delete', "
                           "'kasschuif', 'kasschuif_update', 'staffing', 'payment', 'import')", name=op.f("ck_pending_entry_kind")),
        sa.CheckConstraint("state = 'ter_goedkeuring' OR decided_at IS NOT NULL", name=op.f("ck_pending_entry_decided")),
        sa.CheckConstraint("state <> 'afgewezen' OR length(trim(decision_reason)) > 0",
                           name=op.f("ck_pending_entry_rejection_reasoned")),
        sa.ForeignKeyConstraint(["programme_id"], ["programme.id"],
                                name=op.f("fk_pending_entry_programme_id_programme"), ondelete="RESTRICT"),
        sa.ForeignKeyConstraint(["entered_by_id"], ["user.id"], name=op.f("fk_pending_entry_entered_by_id_user"),
                                ondelete="RESTRICT"),
        sa.ForeignKeyConstraint(["decided_by_id"], ["user.id"], name=op.f("fk_pending_entry_decided_by_id_user"),
                                ondelete="RESTRICT"),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_pending_entry")),
    )
    op.create_index("ix_pending_entry_programme_state", "pending_entry", ["programme_id", "state"])


def downgrade():
    op.drop_index("ix_pending_entry_programme_state", table_name="pending_entry")
    op.drop_table("pending_entry")
    with op.batch_alter_table("programme") as batch:
        batch.drop_column("four_eyes_payments")
        batch.drop_column("approval_threshold")
        batch.drop_column("four_eyes")
