"""TOTP hardening: the last used time step (a code logs in once) and the enrolment secret kept server-side.

Revision ID: 0010
Revises: 0009
"""
import sqlalchemy as sa
from alembic import op

revision = "0010"
down_revision = "0009"
branch_labels = None
depends_on = None


def upgrade():
    # Plain ADD COLUMN (as in 0004): rebuilding "user" on SQLite would trip the foreign keys pointing at it.
    op.add_column("user", sa.Column("totp_pending_secret", sa.String(64), nullable=True))
    op.add_column("user", sa.Column("totp_last_step", sa.Integer(), nullable=True))


def downgrade():
    with op.batch_alter_table("user") as batch:
        batch.drop_column("totp_last_step")
        batch.drop_column("totp_pending_secret")
