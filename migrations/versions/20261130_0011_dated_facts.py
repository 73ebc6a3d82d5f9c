"""Dated facts: allocations and staffing reservations change by dated change rows, never by overwrite.

Revision ID: 0011
Revises: 0010
"""
from datetime import date, datetime, timezone

import sqlalchemy as sa
from alembic import op

revision = "0011"
down_revision = "0010"
branch_labels = None
depends_on = None

# Every existing allocation and reservation gets one change row holding its whole amount (and fte),
# dated 0001-01-01, the earliest date a date column holds. The rows were undated and counted at every
# peildatum; dated that early they still count at every peildatum a report can ask for, so no figure
# at any peildatum changes. Dated at the migration day they would drop out of every report before
# today; dated at the programme's first 1 January, out of a report at an earlier peildatum.
# (budget.models.UNDATED_FROM is the same day; a migration keeps its own copy.)
UNDATED_FROM = date(1, 1, 1)


def upgrade():
    op.create_table(
        "allocation_change",
        sa.Column("id", sa.Integer(), nullable=False),
        sa.Column("allocation_id", sa.Integer(), nullable=False),
        sa.Column("valid_from", sa.Date(), nullable=False),
        sa.Column("amount", sa.BigInteger(), nullable=False),
        sa.Column("created_at", sa.DateTime(timezone=True), nullable=False),
        sa.ForeignKeyConstraint(["allocation_id"], ["budget_allocation.id"],
                                name=op.f("fk_allocation_change_allocation_id_budget_allocation"),
                                ondelete="RESTRICT"),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_allocation_change")),
    )
    op.create_index("ix_allocation_change_allocation_from_amount", "allocation_change",
                    ["allocation_id", "valid_from", "amount"])
    op.create_table(
        "staffing_change",
        sa.Column("id", sa.Integer(), nullable=False),
        sa.Column("reservation_id", sa.Integer(), nullable=False),
        sa.Column("valid_from", sa.Date(), nullable=False),
        sa.Column("fte", sa.BigInteger(), nullable=False),
        sa.Column("amount", sa.BigInteger(), nullable=False),
        sa.Column("created_at", sa.DateTime(timezone=True), nullable=False),
        sa.ForeignKeyConstraint(["reservation_id"], ["staffing_reservation.id"],
                                name=op.f("fk_staffing_change_reservation_id_staffing_reservation"),
                                ondelete="RESTRICT"),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_staffing_change")),
    )
    op.create_index("ix_staffing_change_reservation_from_amount", "staffing_change",
                    ["reservation_id", "valid_from", "amount"])
    # Amounts are integer cents (and fte hundredths) in both tables: copied as they are.
    at = datetime.now(timezone.utc)
    for sql in (("INSERT INTO allocation_change (allocation_id, valid_from, amount, created_at) "
                 "SELECT id, :valid_from, amount, :at FROM budget_allocation ORDER BY id"),
                ("INSERT INTO staffing_change (reservation_id, valid_from, fte, amount, created_at) "
                 "SELECT id, :valid_from, fte, amount, :at FROM staffing_reservation ORDER BY id")):
        op.execute(sa.text(sql).bindparams(sa.bindparam("valid_from", UNDATED_FROM, type_=sa.Date()),
                                           sa.bindparam("at", at, type_=sa.DateTime(timezone=True))))


def downgrade():
    # The change rows only repeat what budget_allocation and staffing_reservation hold as current
    # amounts, so dropping them loses the history of changes but no current figure.
    op.drop_index("ix_staffing_change_reservation_from_amount", table_name="staffing_change")
    op.drop_table("staffing_change")
    op.drop_index("ix_allocation_change_allocation_from_amount", table_name="allocation_change")
    op.drop_table("allocation_change")
