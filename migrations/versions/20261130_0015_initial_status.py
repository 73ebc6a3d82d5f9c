"""A project's status at creation (initial_status): its status at a peildatum before its first status update.

Revision ID: 0015
Revises: 0014
"""
import json

import sqlalchemy as sa
from alembic import op

revision = "0015"
down_revision = "0014"
branch_labels = None
depends_on = None


def upgrade():
    # Plain ADD COLUMN (no table rebuild on SQLite); the default is only a placeholder, every row is filled below.
    op.add_column("project", sa.Column("initial_status", sa.String(20), nullable=False, server_default="voorstel"))
    conn = op.get_bind()
    project = sa.table("project", sa.column("id", sa.Integer), sa.column("status", sa.String),
                       sa.column("initial_status", sa.String))
    audit = sa.table("audit_entry", sa.column("entity", sa.String), sa.column("action", sa.String),
                     sa.column("entity_id", sa.Integer), sa.column("changes", sa.Text), sa.column("id", sa.Integer))
    update = sa.table("status_update", sa.column("project_id", sa.Integer))
    # Where it was recorded, the status the project was created with is in its audit entry of creation.
    created = {}
    for entity_id, changes in conn.execute(
            sa.select(audit.c.entity_id, audit.c.changes)
            .where(audit.c.entity == "Project", audit.c.action == "create").order_by(audit.c.id)):
        try:
            status = (json.loads(changes or "{}").get("after") or {}).get("status")
        except (ValueError, AttributeError):
            status = None
        if status and entity_id not in created:
            created[entity_id] = status
    updated = set(conn.scalars(sa.select(update.c.project_id).distinct()))
    fill: dict[str, list[int]] = {}
    for pid, status in conn.execute(sa.select(project.c.id, project.c.status)):
        # Without that entry: a project never updated still has the status it was created with; one that
        # was updated started where every lifecycle starts, at voorstel.
        initial = created.get(pid) or (status if pid not in updated else "voorstel")
        fill.setdefault(initial, []).append(pid)
    for initial, ids in fill.items():
        for i in range(0, len(ids), 500):
            conn.execute(project.update().where(project.c.id.in_(ids[i:i + 500])).values(initial_status=initial))


def downgrade():
    with op.batch_alter_table("project") as batch:
        batch.drop_column("initial_status")
