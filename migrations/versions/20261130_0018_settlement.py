"""Subsidy settlement: the vaststelling of a commitment, its adjustments, and a programme's settlement term.

Revision ID: 0018
Revises: 0017
"""
import sqlalchemy as sa
from alembic import op

revision = "0018"
down_revision = "0017"
branch_labels = None
depends_on = None

_KINDS_BEFORE = ("commitment", "adjustment", "mutation", "mutation_update", "mutation_delete", "kasschuif",
                 "kasschuif_update", "staffing", "payment", "import")
_KINDS_AFTER = _KINDS_BEFORE + ("settlement", "settlement_delete")


def _kinds(kinds) -> str:
    return "kind IN (" + ", ".join(f"'{k}'" for k in kinds) + ")"


def upgrade():
    op.create_table(
        "commitment_settlement",
        sa.Column("id", sa.Integer(), nullable=False),
        sa.Column("commitment_id", sa.Integer(), nullable=False),
        sa.Column("date", sa.Date(), nullable=False),
        sa.Column("amount", sa.BigInteger(), nullable=False),
        sa.Column("recovery", sa.BigInteger(), nullable=False),
        sa.Column("recovery_due", sa.Date(), nullable=True),
        sa.Column("reference", sa.String(length=100), nullable=False),
        sa.Column("note", sa.Text(), nullable=False),
        sa.Column("created_at", sa.DateTime(timezone=True), nullable=False),
        sa.CheckConstraint("amount >= 0", name=op.f("ck_commitment_settlement_amount_nonneg")),
        sa.CheckConstraint("recovery >= 0", name=op.f("ck_commitment_settlement_recovery_nonneg")),
        sa.CheckConstraint("length(trim(reference)) > 0", name=op.f("ck_commitment_settlement_reference_not_empty")),
        sa.CheckConstraint("recovery = 0 OR recovery_due IS NOT NULL",
                           name=op.f("ck_commitment_settlement_recovery_dated")),
        sa.ForeignKeyConstraint(["commitment_id"], ["commitment.id"],
                                name=op.f("fk_commitment_settlement_commitment_id_commitment"), ondelete="RESTRICT"),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_commitment_settlement")),
        sa.UniqueConstraint("commitment_id", name=op.f("uq_commitment_settlement_commitment_id")),
    )
    op.create_index(op.f("ix_commitment_settlement_date"), "commitment_settlement", ["date"])
    # A batch copy on SQLite, to add the foreign key: nothing refers to commitment_adjustment, so the copy is safe.
    with op.batch_alter_table("commitment_adjustment") as batch:
        batch.add_column(sa.Column("settlement_id", sa.Integer(), nullable=True))
        batch.create_foreign_key(op.f("fk_commitment_adjustment_settlement_id_commitment_settlement"),
                                 "commitment_settlement", ["settlement_id"], ["id"], ondelete="RESTRICT")
        batch.create_index(op.f("ix_commitment_adjustment_settlement_id"), ["settlement_id"])
    # Plain ADD COLUMN on programme (see 0017).
    op.add_column("programme", sa.Column("settlement_months", sa.Integer(), server_default="6", nullable=False))
    with op.batch_alter_table("pending_entry") as batch:
        batch.drop_constraint(op.f("ck_pending_entry_kind"), type_="check")
        batch.create_check_constraint(op.f("ck_pending_entry_kind"), _kinds(_KINDS_AFTER))


def downgrade():
    with op.batch_alter_table("pending_entry") as batch:
        batch.drop_constraint(op.f("ck_pending_entry_kind"), type_="check")
        batch.create_check_constraint(op.f("ck_pending_entry_kind"), _kinds(_KINDS_BEFORE))
    with op.batch_alter_table("programme") as batch:
        batch.drop_column("settlement_months")
    with op.batch_alter_table("commitment_adjustment") as batch:
        batch.drop_index(op.f("ix_commitment_adjustment_settlement_id"))
        batch.drop_constraint(op.f("fk_commitment_adjustment_settlement_id_commitment_settlement"), type_="foreignkey")
        batch.drop_column("settlement_id")
    op.drop_index(op.f("ix_commitment_settlement_date"), table_name="commitment_settlement")
    op.drop_table("commitment_settlement")
