"""Report snapshots: the frozen figures of a stand van zaken (JSON) and their sha256.

Revision ID: 0002
Revises: 0001
Create Date: 2026-11-29 05:25:00

"""
from alembic import op
import sqlalchemy as sa


# revision identifiers, used by Alembic.
revision = "0002"
down_revision = "0001"
branch_labels = None
depends_on = None


def upgrade():
    op.create_table(
        "report_snapshot",
        sa.Column("id", sa.Integer(), nullable=False),
        sa.Column("programme_id", sa.Integer(), nullable=False),
        sa.Column("peildatum", sa.Date(), nullable=False),
        sa.Column("title", sa.String(length=200), nullable=False),
        sa.Column("kamerstuk", sa.String(length=200), nullable=False),
        sa.Column("created_by_id", sa.Integer(), nullable=True),
        sa.Column("created_at", sa.DateTime(timezone=True), nullable=False),
        sa.Column("data", sa.Text(), nullable=False),
        sa.Column("sha256", sa.String(length=64), nullable=False),
        sa.CheckConstraint("length(trim(title)) > 0", name=op.f("ck_report_snapshot_title_not_empty")),
        sa.CheckConstraint("length(sha256) = 64", name=op.f("ck_report_snapshot_sha256_length")),
        sa.ForeignKeyConstraint(["created_by_id"], ["user.id"],
                                name=op.f("fk_report_snapshot_created_by_id_user"), ondelete="RESTRICT"),
        sa.ForeignKeyConstraint(["programme_id"], ["programme.id"],
                                name=op.f("fk_report_snapshot_programme_id_programme"), ondelete="RESTRICT"),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_report_snapshot")),
    )
    with op.batch_alter_table("report_snapshot", schema=None) as batch_op:
        batch_op.create_index("ix_report_snapshot_programme_peildatum", ["programme_id", "peildatum"], unique=False)


def downgrade():
    with op.batch_alter_table("report_snapshot", schema=None) as batch_op:
        batch_op.drop_index("ix_report_snapshot_programme_peildatum")
    op.drop_table("report_snapshot")
