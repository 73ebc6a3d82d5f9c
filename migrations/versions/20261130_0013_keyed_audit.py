"""Keyed, anchored audit trail: key_id per entry, the audit_anchor table, snapshot heads, stricter triggers.

Existing entries keep their plain sha256 and get key_id NULL: the unkeyed prefix, which the first
entry signed with AUDIT_KEY (or `flask --app app audit seal`) seals. Triggers now also refuse
SQLite's INSERT OR REPLACE (its delete fires no DELETE trigger) and PostgreSQL's TRUNCATE, on the
trail and on its anchors. The unique index on entry_hash goes: nothing looks an entry up by its
hash, the keyed chain makes a repeat meaningless, and it gave REPLACE a second row to delete
(and every bulk-imported entry a random index insert).

Revision ID: 0013
Revises: 0012
"""
import sqlalchemy as sa
from alembic import op

revision = "0013"
down_revision = "0012"
branch_labels = None
depends_on = None

#: Without another unique index, the id is the only row REPLACE could delete; a BEFORE INSERT
#: trigger sees it coming (one primary-key lookup).
_SQLITE_NO_REPLACE = "EXISTS (SELECT 1 FROM {table} WHERE id = NEW.id)"


def upgrade():
    pg = op.get_bind().dialect.name == "postgresql"
    # Plain ADD COLUMN (no table rebuild, which the append-only triggers would not survive).
    op.add_column("audit_entry", sa.Column("key_id", sa.String(16), nullable=True))
    op.drop_index("ix_audit_entry_entry_hash", table_name="audit_entry")
    op.create_table(
        "audit_anchor",
        sa.Column("id", sa.Integer(), nullable=False),
        sa.Column("at", sa.DateTime(timezone=True), nullable=False),
        sa.Column("source", sa.String(length=200), nullable=False),
        sa.Column("entry_id", sa.Integer(), nullable=False),
        sa.Column("entry_hash", sa.String(length=64), nullable=False),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_audit_anchor")),
    )
    op.add_column("report_snapshot", sa.Column("audit_head_id", sa.Integer(), nullable=True))
    op.add_column("report_snapshot", sa.Column("audit_head_hash", sa.String(64), nullable=True))
    if pg:
        op.execute("""
            CREATE FUNCTION audit_append_only() RETURNS trigger AS $$
            BEGIN
                RAISE EXCEPTION '% is append-only: % refused', TG_TABLE_NAME, TG_OP;
            END
            $$ LANGUAGE plpgsql
        """)
        op.execute("""CREATE TRIGGER audit_entry_no_truncate BEFORE TRUNCATE ON audit_entry
                      FOR EACH STATEMENT EXECUTE FUNCTION audit_append_only()""")
        op.execute("""CREATE TRIGGER audit_anchor_append_only BEFORE UPDATE OR DELETE ON audit_anchor
                      FOR EACH ROW EXECUTE FUNCTION audit_append_only()""")
        op.execute("""CREATE TRIGGER audit_anchor_no_truncate BEFORE TRUNCATE ON audit_anchor
                      FOR EACH STATEMENT EXECUTE FUNCTION audit_append_only()""")
        return
    for table in ("audit_entry", "audit_anchor"):
        op.execute(f"""
            CREATE TRIGGER {table}_no_replace BEFORE INSERT ON {table} WHEN {_SQLITE_NO_REPLACE.format(table=table)}
            BEGIN SELECT RAISE(ABORT, '{table} is append-only: REPLACE refused'); END
        """)
    for action in ("UPDATE", "DELETE"):
        op.execute(f"""
            CREATE TRIGGER audit_anchor_no_{action.lower()} BEFORE {action} ON audit_anchor
            BEGIN SELECT RAISE(ABORT, 'audit_anchor is append-only: {action} refused'); END
        """)


def downgrade():
    pg = op.get_bind().dialect.name == "postgresql"
    if pg:
        op.execute("DROP TRIGGER IF EXISTS audit_entry_no_truncate ON audit_entry")
        op.execute("DROP TRIGGER IF EXISTS audit_anchor_append_only ON audit_anchor")
        op.execute("DROP TRIGGER IF EXISTS audit_anchor_no_truncate ON audit_anchor")
        op.execute("DROP FUNCTION IF EXISTS audit_append_only()")
    else:
        for name in ("audit_entry_no_replace", "audit_anchor_no_replace", "audit_anchor_no_update",
                     "audit_anchor_no_delete"):
            op.execute(f"DROP TRIGGER IF EXISTS {name}")
    with op.batch_alter_table("report_snapshot") as batch:
        batch.drop_column("audit_head_hash")
        batch.drop_column("audit_head_id")
    op.drop_table("audit_anchor")
    # Plain DROP COLUMN (SQLite >= 3.35), not a batch rebuild: the append-only triggers stay in place.
    op.drop_column("audit_entry", "key_id")
    op.create_index("ix_audit_entry_entry_hash", "audit_entry", ["entry_hash"], unique=True)
