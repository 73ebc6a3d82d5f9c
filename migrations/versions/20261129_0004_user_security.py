"""User security: a session token (rotated at logout) and an optional TOTP secret (two-factor login).

Revision ID: 0004
Revises: 0003
"""
import secrets

import sqlalchemy as sa
from alembic import op

revision = "0004"
down_revision = "0003"
branch_labels = None
depends_on = None


def upgrade():
    # Plain ADD COLUMN: rebuilding "user" on SQLite would trip the foreign keys pointing at it.
    # An empty token never matches a cookie (core.auth), and every row gets a real one below.
    op.add_column("user", sa.Column("session_token", sa.String(64), nullable=False, server_default=""))
    bind = op.get_bind()
    user = sa.table("user", sa.column("id", sa.Integer), sa.column("session_token", sa.String))
    for (user_id,) in bind.execute(sa.select(user.c.id)).all():
        bind.execute(user.update().where(user.c.id == user_id).values(session_token=secrets.token_urlsafe(32)))
    op.add_column("user", sa.Column("totp_secret", sa.String(64), nullable=True))


def downgrade():
    with op.batch_alter_table("user") as batch:
        batch.drop_column("totp_secret")
        batch.drop_column("session_token")
