"""The migrations build exactly the schema the models describe, and seed the plans."""

from __future__ import annotations

from pathlib import Path

import sqlalchemy as sa
from alembic.autogenerate import compare_metadata
from alembic.migration import MigrationContext

from server.db.models import Base, described_by_models
from server.resources.models import SEARCH_DDL, SEARCH_TRIGGERS


def test_migrations_match_the_models(template_db: Path) -> None:
    engine = sa.create_engine(f"sqlite:///{template_db}")
    with engine.connect() as connection:
        context = MigrationContext.configure(
            connection, opts={"compare_type": True, "include_name": described_by_models}
        )
        differences = compare_metadata(context, Base.metadata)
    engine.dispose()
    assert differences == []


def test_plans_are_seeded_with_their_limits(template_db: Path) -> None:
    engine = sa.create_engine(f"sqlite:///{template_db}")
    with engine.connect() as connection:
        rows = connection.execute(sa.text("SELECT code, limits FROM plan ORDER BY id")).all()
    engine.dispose()
    assert [code for code, _ in rows] == ["free", "pro", "enterprise", "self_hosted"]
    assert '"users": 3' in rows[0][1] and '"users": null' in rows[2][1]
    assert '"min_check_interval_seconds": null' in rows[3][1]


def test_migrations_build_the_search_index_and_its_triggers_as_the_models_describe(
    template_db: Path,
) -> None:
    engine = sa.create_engine(f"sqlite:///{template_db}")
    with engine.connect() as connection:
        rows = connection.execute(
            sa.text("SELECT name, sql FROM sqlite_master WHERE name LIKE 'resource_search%'")
        ).all()
    engine.dispose()
    found = {name: sql for name, sql in rows if sql}
    assert found["resource_search"] == SEARCH_DDL
    for name, body in SEARCH_TRIGGERS.items():
        assert found[name] == f"CREATE TRIGGER {name} {body}"
