"""The migrations build exactly the schema ``itsm/storage/tables.py`` describes."""

from __future__ import annotations

from alembic.autogenerate import compare_metadata
from alembic.migration import MigrationContext
from sqlalchemy import create_engine

from itsm.storage.tables import metadata


def test_migrated_schema_matches_the_tables(database_url: str) -> None:
    engine = create_engine(database_url)
    try:
        with engine.connect() as connection:
            context = MigrationContext.configure(connection, opts={"render_as_batch": True})
            differences = compare_metadata(context, metadata)
    finally:
        engine.dispose()
    assert differences == [], "tables.py and the migrations disagree: add a migration"
