"""A project's predecessor outside the system (e.g. from the previous programme), kept as the user named it.

Revision ID: 0014
Revises: 0013
"""
import sqlalchemy as sa
from alembic import op

revision = "0014"
down_revision = "0013"
branch_labels = None
depends_on = None


def upgrade():
    # Plain ADD COLUMN with a default: every existing project keeps "no outside predecessor".
    op.add_column("project", sa.Column("predecessor_outside", sa.String(200), nullable=False, server_default=""))


def downgrade():
    with op.batch_alter_table("project") as batch:
        batch.drop_column("predecessor_outside")
