"""The migrations build exactly the schema the models declare (tables, columns, indexes, keys)."""
from alembic.autogenerate import compare_metadata
from alembic.migration import MigrationContext

from core.db import db


def test_the_migrated_schema_matches_the_models(app):
    with db.engine.connect() as conn:
        assert compare_metadata(MigrationContext.configure(conn), db.metadata) == []
