"""The migrations build exactly the schema the models describe, and seed the plans."""

from __future__ import annotations

import subprocess
import sys
from datetime import UTC, datetime, timedelta
from pathlib import Path
from typing import Any

import pytest
import sqlalchemy as sa
from alembic import command
from alembic.autogenerate import compare_metadata
from alembic.migration import MigrationContext
from sqlalchemy.orm import Session

from server.db.migrate import alembic_config, upgrade
from server.db.models import Base, CheckResult, Monitor, MonitorRollup, described_by_models
from server.metrics import packing
from server.metrics.models import metric_block
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


# 0010: results and rollups in their compact form

T = datetime(2026, 5, 1, 12, 30, 15, 123456, tzinfo=UTC)
OLD_RESULTS = [
    # id, checked_at, status, response_time_ms, status_code, error
    (5, T, "up", 120, 200, None),
    (7, T, "degraded", 900, 200, None),  # same time as 5: id decides the order
    (9, T + timedelta(minutes=1), "down", None, None, "connection refused"),
    (11, T.replace(microsecond=0) + timedelta(minutes=2), "maintenance", None, None, None),
    # Within a millisecond of the next second: not rounded up to it.
    (12, T.replace(microsecond=999_742) + timedelta(minutes=3), "up", 80, 301, None),
]
OLD_ROLLUPS = [
    # period, bucket_start, up, down, degraded, maintenance, unknown, min, avg, max, p95, measured
    ("minute", T.replace(second=0, microsecond=0), 3, 1, 0, 0, 0, 50, 287.5, 700, 700, 4),
    (
        "hour",
        T.replace(minute=0, second=0, microsecond=0),
        0,
        0,
        0,
        2,
        1,
        None,
        None,
        None,
        None,
        0,
    ),
    ("day", datetime(2026, 5, 1, tzinfo=UTC), 1300, 10, 30, 100, 0, 12, 151.25, 2400, None, 1340),
]
RESULT_COLUMNS = ("id", "checked_at", "status", "response_time_ms", "status_code", "error")
ROLLUP_COLUMNS = (
    "period", "bucket_start", "up", "down", "degraded", "maintenance", "unknown",
    "min_ms", "avg_ms", "max_ms", "p95_ms", "measured",
)  # fmt: skip


def downgrade(url: str, revision: str) -> None:
    command.downgrade(alembic_config(url), revision)


def _old_tables() -> tuple[sa.TableClause, sa.TableClause]:
    """check_result and monitor_rollup as revision 0009 left them."""
    results = sa.table(
        "check_result",
        sa.column("monitor_id", sa.Integer),
        *(
            sa.column(name, sa.DateTime if name == "checked_at" else None)
            for name in RESULT_COLUMNS
        ),
    )
    rollups = sa.table(
        "monitor_rollup",
        sa.column("monitor_id", sa.Integer),
        *(
            sa.column(name, sa.DateTime if name == "bucket_start" else None)
            for name in ROLLUP_COLUMNS
        ),
    )
    return results, rollups


def _naive(rows: list[tuple[Any, ...]]) -> list[tuple[Any, ...]]:
    """As SQLite gave the old datetime columns back: naive UTC."""
    return [
        tuple(v.replace(tzinfo=None) if isinstance(v, datetime) else v for v in row) for row in rows
    ]


def insert_organization(connection: sa.Connection) -> None:
    """Organization 1, in the columns every revision since 0001 has."""
    connection.execute(
        sa.text(
            "INSERT INTO organization (id, name, slug, plan_id, status, extra_modules,"
            " settings, created_at) VALUES (1, 'Org', 'org', 1, 'active', '[]', '{}',"
            " '2026-05-01 00:00:00.000000')"
        )
    )


def test_0010_converts_results_and_rollups_keeping_every_value(tmp_path: Path) -> None:
    path = tmp_path / "upmetr.db"
    url = f"sqlite+aiosqlite:///{path}"
    upgrade(url, "0009")
    engine = sa.create_engine(f"sqlite:///{path}")
    old_results, old_rollups = _old_tables()
    with engine.begin() as connection:
        insert_organization(connection)
        connection.execute(
            sa.insert(Monitor.__table__), [{"id": 3, "org_id": 1, "name": "Site", "type": "http"}]
        )
        connection.execute(
            sa.insert(old_results),
            [
                dict(zip(("monitor_id", *RESULT_COLUMNS), (3, *row), strict=True))
                for row in OLD_RESULTS
            ],
        )
        connection.execute(
            sa.insert(old_rollups),
            [
                dict(zip(("monitor_id", *ROLLUP_COLUMNS), (3, *row), strict=True))
                for row in OLD_ROLLUPS
            ],
        )

    upgrade(url)
    with Session(engine) as session:
        results = session.scalars(
            sa.select(CheckResult).order_by(CheckResult.checked_at, CheckResult.id)
        ).all()
        assert [tuple(getattr(r, name) for name in RESULT_COLUMNS) for r in results] == OLD_RESULTS
        rollups = session.scalars(
            sa.select(MonitorRollup).order_by(MonitorRollup.bucket_start.desc())
        ).all()
        assert [tuple(getattr(r, name) for name in ROLLUP_COLUMNS) for r in rollups] == OLD_ROLLUPS
        # Ids go on from the largest kept one.
        new = CheckResult(monitor_id=3, checked_at=T + timedelta(hours=1), status="up")
        session.add(new)
        session.flush()
        assert new.id == 13
        session.rollback()

    downgrade(url, "0009")
    with engine.connect() as connection:
        back = connection.execute(
            sa.select(*(old_results.c[name] for name in RESULT_COLUMNS)).order_by(
                old_results.c.checked_at, old_results.c.id
            )
        ).all()
        assert [tuple(row) for row in back] == _naive(OLD_RESULTS)
        back = connection.execute(
            sa.select(*(old_rollups.c[name] for name in ROLLUP_COLUMNS)).order_by(
                old_rollups.c.bucket_start.desc()
            )
        ).all()
        assert [tuple(row) for row in back] == _naive(OLD_ROLLUPS)
    engine.dispose()


def test_0021_fails_the_later_of_two_active_jobs_a_race_left_and_keeps_one(
    tmp_path: Path,
) -> None:
    path = tmp_path / "upmetr.db"
    url = f"sqlite+aiosqlite:///{path}"
    upgrade(url, "0020")
    engine = sa.create_engine(f"sqlite:///{path}")
    with engine.begin() as connection:
        insert_organization(connection)
        connection.execute(
            sa.text(
                "INSERT INTO job (id, org_id, kind, status, progress, result, attempts,"
                " created_at) VALUES (:id, 1, :kind, :status, '{}', '{}', 0,"
                " '2026-05-01 00:00:00.000000')"
            ),
            [
                {"id": 1, "kind": "cost_sync", "status": "running"},
                {"id": 2, "kind": "cost_sync", "status": "queued"},  # the race's second
                {"id": 3, "kind": "cost_sync", "status": "succeeded"},
                {"id": 4, "kind": "discovery", "status": "queued"},
            ],
        )
    upgrade(url)
    with engine.begin() as connection:
        statuses = connection.execute(sa.text("SELECT id, status FROM job ORDER BY id")).all()
        assert statuses == [(1, "running"), (2, "failed"), (3, "succeeded"), (4, "queued")]
        with pytest.raises(sa.exc.IntegrityError):
            connection.execute(
                sa.text(
                    "INSERT INTO job (org_id, kind, status, progress, result, attempts,"
                    " created_at) VALUES (1, 'discovery', 'queued', '{}', '{}', 0,"
                    " '2026-05-01 00:00:00.000000')"
                )
            )
    engine.dispose()


def test_processes_starting_together_on_a_fresh_database_all_reach_head(tmp_path: Path) -> None:
    """`serve --role worker` started beside `serve --role api` (or `create-user`) on a new
    data directory: each migrates, and none fails on a table the other just created."""
    database = tmp_path / "upmetr.db"
    script = f"from server.db.migrate import upgrade; upgrade('sqlite+aiosqlite:///{database}')"
    processes = [
        subprocess.Popen(  # noqa: S603 - this interpreter, our own module
            [sys.executable, "-c", script], stderr=subprocess.PIPE, text=True
        )
        for _ in range(4)
    ]
    errors = [process.communicate(timeout=120)[1] for process in processes]
    assert [process.returncode for process in processes] == [0] * 4, errors
    engine = sa.create_engine(f"sqlite:///{database}")
    with engine.connect() as connection:
        versions = connection.execute(sa.text("SELECT version_num FROM alembic_version")).all()
    engine.dispose()
    assert len(versions) == 1


def test_0022_downgrade_turns_sealed_blocks_back_into_rows(tmp_path: Path) -> None:
    path = tmp_path / "upmetr.db"
    url = f"sqlite+aiosqlite:///{path}"
    upgrade(url)
    engine = sa.create_engine(f"sqlite:///{path}")
    raw = [(3600 + 10 * i, 1000 + i, None, 4000, 50, 100, 200, 0) for i in range(360)]
    disk = [(3600 + 10 * i, 4000 + i % 3) for i in range(360)]
    with engine.begin() as connection:
        insert_organization(connection)
        connection.execute(
            sa.text(
                "INSERT INTO agent (id, org_id, name, tags, token_hash, token_hint, status,"
                " created_at, updated_at) VALUES (1, 1, 'web-1', '[]', 'h', '****', 'online',"
                " '2026-05-01', '2026-05-01')"
            )
        )
        connection.execute(
            metric_block.insert(),
            [
                {"agent_id": 1, "resolution": 0, "metric": "", "label": "", "start": 3600,
                 "last": 7190, "data": packing.pack(raw)},
                {"agent_id": 1, "resolution": 0, "metric": "disk_pct", "label": "/",
                 "start": 3600, "last": 7190, "data": packing.pack(disk)},
            ],
        )  # fmt: skip
    downgrade(url, "0021")
    with engine.begin() as connection:
        hosts = connection.execute(sa.text("SELECT * FROM agent_sample ORDER BY ts")).all()
        disks = connection.execute(
            sa.text("SELECT ts, value FROM series_sample WHERE label = '/' ORDER BY ts")
        ).all()
    assert [tuple(row)[1:] for row in hosts] == raw
    assert [tuple(row) for row in disks] == disk
    engine.dispose()
