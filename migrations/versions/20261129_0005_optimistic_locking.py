"""Optimistic locking: a version column on every editable table (checked and bumped on UPDATE).

Revision ID: 0005
Revises: 0004
"""
import sqlalchemy as sa
from alembic import op

revision = "0005"
down_revision = "0004"
branch_labels = None
depends_on = None

TABLES = ("programme", "organisation", "project", "funding_source", "budget_allocation", "budget_mutation",
          "staffing_reservation", "staffing_cost", "user")


def upgrade():
    for table in TABLES:
        # Plain ADD COLUMN with a default: existing rows start at version 1, no table rebuild.
        op.add_column(table, sa.Column("version", sa.Integer(), nullable=False, server_default="1"))


def downgrade():
    for table in TABLES:
        with op.batch_alter_table(table) as batch:
            batch.drop_column("version")
