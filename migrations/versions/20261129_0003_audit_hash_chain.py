"""Hash-chain the audit trail: prev_hash and entry_hash on every audit entry.

Existing entries are chained in id order; the append-only triggers are lifted only for that
backfill, inside this migration's transaction, and put back before it ends.

Revision ID: 0003
Revises: 0002
"""
import hashlib
import json
from datetime import timezone

import sqlalchemy as sa
from alembic import op

revision = "0003"
down_revision = "0002"
branch_labels = None
depends_on = None

GENESIS = "0" * 64


def _digest(prev, at, actor_id, actor_label, action, entity, entity_id, changes):
    # A frozen copy of core.audit.entry_digest: migrations must not change when the app does.
    if isinstance(at, str):
        from datetime import datetime

        at = datetime.fromisoformat(at)
    if at.tzinfo is not None:
        at = at.astimezone(timezone.utc).replace(tzinfo=None)
    payload = json.dumps([prev, at.isoformat(timespec="microseconds"), actor_id, actor_label, action, entity,
                          entity_id, changes], ensure_ascii=False, separators=(",", ":"))
    return hashlib.sha256(payload.encode("utf-8")).hexdigest()


def _drop_triggers(pg: bool):
    if pg:
        op.execute("DROP TRIGGER IF EXISTS audit_entry_append_only ON audit_entry")
    else:
        op.execute("DROP TRIGGER IF EXISTS audit_entry_no_update")
        op.execute("DROP TRIGGER IF EXISTS audit_entry_no_delete")


def _create_triggers(pg: bool):
    if pg:
        op.execute("""
            CREATE TRIGGER audit_entry_append_only BEFORE UPDATE OR DELETE ON audit_entry
            FOR EACH ROW EXECUTE FUNCTION audit_entry_append_only()
        """)
    else:
        for action in ("UPDATE", "DELETE"):
            op.execute(f"""
                CREATE TRIGGER audit_entry_no_{action.lower()} BEFORE {action} ON audit_entry
                BEGIN SELECT RAISE(ABORT, 'audit_entry is append-only: {action} refused'); END
            """)


def upgrade():
    bind = op.get_bind()
    pg = bind.dialect.name == "postgresql"
    _drop_triggers(pg)
    # Plain ADD COLUMN (no table rebuild on SQLite); the empty default is replaced just below.
    op.add_column("audit_entry", sa.Column("prev_hash", sa.String(64), nullable=False, server_default=""))
    op.add_column("audit_entry", sa.Column("entry_hash", sa.String(64), nullable=False, server_default=""))
    rows = bind.execute(sa.text(
        "SELECT id, at, actor_id, actor_label, action, entity, entity_id, changes FROM audit_entry ORDER BY id"))
    prev = GENESIS
    for row in rows.all():
        digest = _digest(prev, row.at, row.actor_id, row.actor_label, row.action, row.entity, row.entity_id,
                         row.changes)
        bind.execute(sa.text("UPDATE audit_entry SET prev_hash = :p, entry_hash = :h WHERE id = :id"),
                     {"p": prev, "h": digest, "id": row.id})
        prev = digest
    op.create_index(op.f("ix_audit_entry_entry_hash"), "audit_entry", ["entry_hash"], unique=True)
    _create_triggers(pg)


def downgrade():
    pg = op.get_bind().dialect.name == "postgresql"
    _drop_triggers(pg)
    op.drop_index(op.f("ix_audit_entry_entry_hash"), table_name="audit_entry")
    with op.batch_alter_table("audit_entry") as batch:
        batch.drop_column("entry_hash")
        batch.drop_column("prev_hash")
    _create_triggers(pg)
