"""A plain index on project.programme_id: the report's per-project sums walk a programme in id order.

The stand van zaken sums payments and schedules per project. The existing project indexes all
start with programme_id but then order by status, category or title, so SQLite had to sort every
payment row by project before summing; with the projects read in id order it sums as it goes.

Revision ID: 0008
Revises: 0007
"""
from alembic import op

revision = "0008"
down_revision = "0007"
branch_labels = None
depends_on = None


def upgrade():
    op.create_index("ix_project_programme", "project", ["programme_id"])


def downgrade():
    op.drop_index("ix_project_programme", table_name="project")
