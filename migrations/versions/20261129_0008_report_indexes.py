"""Indexes for the stand van zaken: projects of a programme in id order, a project's updates by date.

The report sums payments and schedules per project. The existing project indexes all start with
programme_id but then order by status, category or title, so SQLite had to sort every payment
row by project before summing; with the projects read in id order it sums as it goes.

The report's Toelichting is each project's latest public status text up to the peildatum.
(project_id, date, id) finds it from the index, newest first, without sorting the project's
updates; it serves every lookup by project_id, so the single-column index goes.

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
    op.create_index("ix_status_update_project_date", "status_update", ["project_id", "date", "id"])
    op.drop_index("ix_status_update_project_id", table_name="status_update")


def downgrade():
    op.create_index("ix_status_update_project_id", "status_update", ["project_id"])
    op.drop_index("ix_status_update_project_date", table_name="status_update")
    op.drop_index("ix_project_programme", table_name="project")
