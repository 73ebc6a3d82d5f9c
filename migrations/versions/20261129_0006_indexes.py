"""Indexes for the project list at thousands of projects: its filters (category, line) and the title sort.

Revision ID: 0006
Revises: 0005
"""
from alembic import op

revision = "0006"
down_revision = "0005"
branch_labels = None
depends_on = None

# (name, columns): every one starts with programme_id, as every list query does.
INDEXES = (
    ("ix_project_programme_category_line", ["programme_id", "category", "line"]),
    ("ix_project_programme_line", ["programme_id", "line"]),
    ("ix_project_programme_title", ["programme_id", "title"]),
)


def upgrade():
    for name, columns in INDEXES:
        op.create_index(name, "project", columns)


def downgrade():
    for name, _columns in INDEXES:
        op.drop_index(name, table_name="project")
