"""On PostgreSQL (UPMETR_TEST_DATABASE=postgresql) the migrations build the schema the models
describe, and its PostgreSQL forms of SQLite's triggers keep the same promises."""

from __future__ import annotations

import pytest
import sqlalchemy as sa
from alembic.autogenerate import compare_metadata
from alembic.migration import MigrationContext
from sqlalchemy.engine import Connection

from server.db.engine import create_engine
from server.db.models import Base, described_by_models
from tests import postgres

pytestmark = pytest.mark.skipif(not postgres.enabled(), reason="UPMETR_TEST_DATABASE=postgresql")


def _differences(connection: Connection) -> list[object]:
    context = MigrationContext.configure(
        connection, opts={"compare_type": True, "include_name": described_by_models}
    )
    return list(compare_metadata(context, Base.metadata))


async def test_migrations_match_the_models(database_url: str) -> None:
    engine = create_engine(database_url)
    async with engine.connect() as connection:
        differences = await connection.run_sync(_differences)
    await engine.dispose()
    assert differences == []


async def test_every_integer_is_64_bit_as_on_sqlite(database_url: str) -> None:
    engine = create_engine(database_url)
    async with engine.connect() as connection:
        narrow = (
            await connection.execute(
                sa.text(
                    "SELECT table_name, column_name FROM information_schema.columns"
                    " WHERE table_schema = 'public' AND data_type = 'integer'"
                )
            )
        ).all()
    await engine.dispose()
    assert narrow == []
