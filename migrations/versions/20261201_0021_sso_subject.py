"""Sign-in through the ministry's identity provider: the subject a user is known by there.

Revision ID: 0021
Revises: 0020
"""
import sqlalchemy as sa
from alembic import op

revision = "0021"
down_revision = "0020"
branch_labels = None
depends_on = None


def upgrade():
    with op.batch_alter_table("user") as batch:
        batch.add_column(sa.Column("sso_subject", sa.String(length=255), nullable=True))
        batch.create_unique_constraint(batch.f("uq_user_sso_subject"), ["sso_subject"])


def downgrade():
    with op.batch_alter_table("user") as batch:
        batch.drop_constraint(batch.f("uq_user_sso_subject"), type_="unique")
        batch.drop_column("sso_subject")
