"""Covering indexes for the report sums: payments and cash schedules read from the index alone.

The stand van zaken sums every payment and schedule year of a programme's commitments; with
(commitment_id, date|year, amount) in one index, neither table is visited row by row. The new
payment index starts with commitment_id, so the old single-column one is dropped.

Revision ID: 0007
Revises: 0006
"""
from alembic import op

revision = "0007"
down_revision = "0006"
branch_labels = None
depends_on = None


def upgrade():
    op.create_index("ix_payment_commitment_date_amount", "payment", ["commitment_id", "date", "amount"])
    op.drop_index("ix_payment_commitment_id", table_name="payment")
    op.create_index("ix_commitment_schedule_commitment_year_amount", "commitment_schedule",
                    ["commitment_id", "year", "amount"])


def downgrade():
    op.drop_index("ix_commitment_schedule_commitment_year_amount", table_name="commitment_schedule")
    op.create_index("ix_payment_commitment_id", "payment", ["commitment_id"])
    op.drop_index("ix_payment_commitment_date_amount", table_name="payment")
