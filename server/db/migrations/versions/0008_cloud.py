"""Cloud accounts, discovered resources and their actions, jobs, daily costs, budgets.

Revision ID: 0008
Revises: 0007
"""

from __future__ import annotations

import sqlalchemy as sa
from alembic import op

revision = "0008"
down_revision = "0007"
branch_labels = None
depends_on = None


# A copy of server.costs.models.TOTALS_TRIGGERS as it was when this migration was written
# (SQLite; PostgreSQL's form is _PG_TOTALS below).
_TOTALS_TRIGGERS = {
    "cost_daily_totals_insert": """AFTER INSERT ON cost_daily BEGIN
    INSERT INTO cost_account_day (account_id, day, org_id, amount_micros, daily_rows)
    VALUES (NEW.account_id, NEW.day, NEW.org_id, NEW.amount_micros, 1)
    ON CONFLICT (account_id, day) DO UPDATE
    SET amount_micros = amount_micros + excluded.amount_micros, daily_rows = daily_rows + 1;
    INSERT INTO cost_service_day (org_id, service, day, amount_micros, daily_rows)
    VALUES (NEW.org_id, NEW.service, NEW.day, NEW.amount_micros, 1)
    ON CONFLICT (org_id, service, day) DO UPDATE
    SET amount_micros = amount_micros + excluded.amount_micros, daily_rows = daily_rows + 1;
END""",
    "cost_daily_totals_delete": """AFTER DELETE ON cost_daily BEGIN
    UPDATE cost_account_day SET amount_micros = amount_micros - OLD.amount_micros,
        daily_rows = daily_rows - 1
    WHERE account_id = OLD.account_id AND day = OLD.day;
    DELETE FROM cost_account_day
    WHERE account_id = OLD.account_id AND day = OLD.day AND daily_rows <= 0;
    UPDATE cost_service_day SET amount_micros = amount_micros - OLD.amount_micros,
        daily_rows = daily_rows - 1
    WHERE org_id = OLD.org_id AND service = OLD.service AND day = OLD.day;
    DELETE FROM cost_service_day
    WHERE org_id = OLD.org_id AND service = OLD.service AND day = OLD.day
        AND daily_rows <= 0;
END""",
    "cost_daily_totals_update": """AFTER UPDATE OF org_id, account_id, day, service, amount_micros
ON cost_daily BEGIN
    UPDATE cost_account_day SET amount_micros = amount_micros - OLD.amount_micros,
        daily_rows = daily_rows - 1
    WHERE account_id = OLD.account_id AND day = OLD.day;
    DELETE FROM cost_account_day
    WHERE account_id = OLD.account_id AND day = OLD.day AND daily_rows <= 0;
    UPDATE cost_service_day SET amount_micros = amount_micros - OLD.amount_micros,
        daily_rows = daily_rows - 1
    WHERE org_id = OLD.org_id AND service = OLD.service AND day = OLD.day;
    DELETE FROM cost_service_day
    WHERE org_id = OLD.org_id AND service = OLD.service AND day = OLD.day
        AND daily_rows <= 0;
    INSERT INTO cost_account_day (account_id, day, org_id, amount_micros, daily_rows)
    VALUES (NEW.account_id, NEW.day, NEW.org_id, NEW.amount_micros, 1)
    ON CONFLICT (account_id, day) DO UPDATE
    SET amount_micros = amount_micros + excluded.amount_micros, daily_rows = daily_rows + 1;
    INSERT INTO cost_service_day (org_id, service, day, amount_micros, daily_rows)
    VALUES (NEW.org_id, NEW.service, NEW.day, NEW.amount_micros, 1)
    ON CONFLICT (org_id, service, day) DO UPDATE
    SET amount_micros = amount_micros + excluded.amount_micros, daily_rows = daily_rows + 1;
END""",
}


# A copy of server.resources.models.SEARCH_DDL and SEARCH_TRIGGERS as they were when this
# migration was written: the trigram index that `q` reads, kept by triggers on `resource`.
_SEARCH_DDL = (
    "CREATE VIRTUAL TABLE resource_search USING fts5(name, provider_id,"
    " content='resource', content_rowid='id', tokenize='trigram')"
)
_SEARCH_TRIGGERS = {
    "resource_search_insert": """AFTER INSERT ON resource BEGIN
    INSERT INTO resource_search (rowid, name, provider_id)
    VALUES (NEW.id, NEW.name, NEW.provider_id);
END""",
    "resource_search_delete": """AFTER DELETE ON resource BEGIN
    INSERT INTO resource_search (resource_search, rowid, name, provider_id)
    VALUES ('delete', OLD.id, OLD.name, OLD.provider_id);
END""",
    "resource_search_update": """AFTER UPDATE OF id, name, provider_id ON resource
WHEN NEW.id IS NOT OLD.id OR NEW.name IS NOT OLD.name OR NEW.provider_id IS NOT OLD.provider_id BEGIN
    INSERT INTO resource_search (resource_search, rowid, name, provider_id)
    VALUES ('delete', OLD.id, OLD.name, OLD.provider_id);
    INSERT INTO resource_search (rowid, name, provider_id)
    VALUES (NEW.id, NEW.name, NEW.provider_id);
END""",
}


# A copy of server.resources.models.TAG_TRIGGERS as it was when this migration was written:
# they copy a resource's org_id and state into its tags.
_TAG_TRIGGERS = {
    "resource_tag_copy_insert": """AFTER INSERT ON resource_tag BEGIN
    UPDATE resource_tag SET (org_id, state) =
        (SELECT org_id, state FROM resource WHERE id = NEW.resource_id)
    WHERE resource_id = NEW.resource_id AND key = NEW.key;
END""",
    "resource_tag_copy_move": """AFTER UPDATE OF resource_id ON resource_tag BEGIN
    UPDATE resource_tag SET (org_id, state) =
        (SELECT org_id, state FROM resource WHERE id = NEW.resource_id)
    WHERE resource_id = NEW.resource_id AND key = NEW.key;
END""",
    "resource_tag_copy_resource": """AFTER UPDATE OF org_id, state ON resource
WHEN NEW.org_id IS NOT OLD.org_id OR NEW.state IS NOT OLD.state BEGIN
    UPDATE resource_tag SET org_id = NEW.org_id, state = NEW.state
    WHERE resource_id = NEW.id;
END""",
}


# PostgreSQL's form of _TOTALS_TRIGGERS: one plpgsql function for the three events. A
# column of the row being updated is named by its table in ON CONFLICT's SET (PostgreSQL
# finds a bare `amount_micros` ambiguous beside `excluded`).
_PG_TOTALS = (
    """CREATE FUNCTION cost_daily_totals() RETURNS trigger LANGUAGE plpgsql AS $$
BEGIN
    IF TG_OP IN ('DELETE', 'UPDATE') THEN
        UPDATE cost_account_day SET amount_micros = amount_micros - OLD.amount_micros,
            daily_rows = daily_rows - 1
        WHERE account_id = OLD.account_id AND day = OLD.day;
        DELETE FROM cost_account_day
        WHERE account_id = OLD.account_id AND day = OLD.day AND daily_rows <= 0;
        UPDATE cost_service_day SET amount_micros = amount_micros - OLD.amount_micros,
            daily_rows = daily_rows - 1
        WHERE org_id = OLD.org_id AND service = OLD.service AND day = OLD.day;
        DELETE FROM cost_service_day
        WHERE org_id = OLD.org_id AND service = OLD.service AND day = OLD.day
            AND daily_rows <= 0;
    END IF;
    IF TG_OP IN ('INSERT', 'UPDATE') THEN
        INSERT INTO cost_account_day (account_id, day, org_id, amount_micros, daily_rows)
        VALUES (NEW.account_id, NEW.day, NEW.org_id, NEW.amount_micros, 1)
        ON CONFLICT (account_id, day) DO UPDATE
        SET amount_micros = cost_account_day.amount_micros + excluded.amount_micros,
            daily_rows = cost_account_day.daily_rows + 1;
        INSERT INTO cost_service_day (org_id, service, day, amount_micros, daily_rows)
        VALUES (NEW.org_id, NEW.service, NEW.day, NEW.amount_micros, 1)
        ON CONFLICT (org_id, service, day) DO UPDATE
        SET amount_micros = cost_service_day.amount_micros + excluded.amount_micros,
            daily_rows = cost_service_day.daily_rows + 1;
    END IF;
    RETURN NULL;
END $$""",
    """CREATE TRIGGER cost_daily_totals
AFTER INSERT OR DELETE OR UPDATE OF org_id, account_id, day, service, amount_micros
ON cost_daily FOR EACH ROW EXECUTE FUNCTION cost_daily_totals()""",
)

# PostgreSQL's form of the search index: pg_trgm's GIN indexes answer `ILIKE '%term%'`
# (https://www.postgresql.org/docs/15/pgtrgm.html#PGTRGM-INDEX), kept by PostgreSQL
# itself, so no shadow table and no triggers. pg_trgm is a trusted extension (PostgreSQL
# 13+): the database's owner may create it.
_PG_SEARCH = (
    "CREATE EXTENSION IF NOT EXISTS pg_trgm",
    "CREATE INDEX ix_resource_name_trgm ON resource USING gin (name gin_trgm_ops)",
    "CREATE INDEX ix_resource_provider_id_trgm ON resource USING gin (provider_id gin_trgm_ops)",
)

# PostgreSQL's form of _TAG_TRIGGERS: a tag takes the resource's org_id and state before
# it is written; a resource's change is copied to its tags after.
_PG_TAGS = (
    """CREATE FUNCTION resource_tag_copy() RETURNS trigger LANGUAGE plpgsql AS $$
BEGIN
    SELECT org_id, state INTO NEW.org_id, NEW.state FROM resource WHERE id = NEW.resource_id;
    RETURN NEW;
END $$""",
    """CREATE TRIGGER resource_tag_copy BEFORE INSERT OR UPDATE OF resource_id ON resource_tag
FOR EACH ROW EXECUTE FUNCTION resource_tag_copy()""",
    """CREATE FUNCTION resource_tag_copy_resource() RETURNS trigger LANGUAGE plpgsql AS $$
BEGIN
    UPDATE resource_tag SET org_id = NEW.org_id, state = NEW.state WHERE resource_id = NEW.id;
    RETURN NULL;
END $$""",
    """CREATE TRIGGER resource_tag_copy_resource AFTER UPDATE OF org_id, state ON resource
FOR EACH ROW WHEN (NEW.org_id IS DISTINCT FROM OLD.org_id OR NEW.state IS DISTINCT FROM OLD.state)
EXECUTE FUNCTION resource_tag_copy_resource()""",
)


def _postgresql() -> bool:
    return op.get_bind().dialect.name == "postgresql"


def upgrade() -> None:
    # ### commands auto generated by Alembic - please adjust! ###
    op.create_table(
        "cloud_account",
        sa.Column("id", sa.Integer(), nullable=False),
        sa.Column("org_id", sa.Integer(), nullable=False),
        sa.Column("name", sa.String(length=200), nullable=False),
        sa.Column("provider", sa.String(length=20), nullable=False),
        sa.Column("auth_method", sa.String(length=10), nullable=False),
        sa.Column("credentials", sa.Text(), nullable=False),
        sa.Column("credentials_hint", sa.String(length=20), nullable=False),
        sa.Column("default_region", sa.String(length=30), nullable=False),
        sa.Column("regions", sa.JSON(), nullable=False),
        sa.Column("cloudwatch_enabled", sa.Boolean(), nullable=False),
        sa.Column("external_account_id", sa.String(length=64), nullable=True),
        sa.Column("status", sa.String(length=15), nullable=False),
        sa.Column("status_detail", sa.String(length=2000), nullable=True),
        sa.Column("last_tested_at", sa.DateTime(), nullable=True),
        sa.Column("last_discovered_at", sa.DateTime(), nullable=True),
        sa.Column("created_at", sa.DateTime(), nullable=False),
        sa.Column("updated_at", sa.DateTime(), nullable=False),
        sa.ForeignKeyConstraint(
            ["org_id"],
            ["organization.id"],
            name=op.f("fk_cloud_account_org_id_organization"),
            ondelete="CASCADE",
        ),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_cloud_account")),
        sa.UniqueConstraint("org_id", "name", name=op.f("uq_cloud_account_org_id")),
        sqlite_autoincrement=True,
    )
    op.create_table(
        "budget",
        sa.Column("id", sa.Integer(), nullable=False),
        sa.Column("org_id", sa.Integer(), nullable=False),
        sa.Column("name", sa.String(length=200), nullable=False),
        sa.Column("amount_micros", sa.BigInteger(), nullable=False),
        sa.Column("currency", sa.String(length=3), nullable=False),
        sa.Column("period", sa.String(length=10), nullable=False),
        sa.Column("alert_threshold_pct", sa.Integer(), nullable=False),
        sa.Column("account_id", sa.Integer(), nullable=True),
        sa.Column("service", sa.String(length=200), nullable=True),
        sa.Column("state", sa.String(length=10), nullable=False),
        sa.Column("evaluated_at", sa.DateTime(), nullable=True),
        sa.Column("created_at", sa.DateTime(), nullable=False),
        sa.Column("updated_at", sa.DateTime(), nullable=False),
        sa.ForeignKeyConstraint(
            ["account_id"],
            ["cloud_account.id"],
            name=op.f("fk_budget_account_id_cloud_account"),
            ondelete="CASCADE",
        ),
        sa.ForeignKeyConstraint(
            ["org_id"],
            ["organization.id"],
            name=op.f("fk_budget_org_id_organization"),
            ondelete="CASCADE",
        ),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_budget")),
        sa.UniqueConstraint("org_id", "name", name=op.f("uq_budget_org_id")),
        sqlite_autoincrement=True,
    )
    op.create_table(
        "cost_daily",
        sa.Column("id", sa.Integer(), nullable=False),
        sa.Column("org_id", sa.Integer(), nullable=False),
        sa.Column("account_id", sa.Integer(), nullable=False),
        sa.Column("day", sa.Date(), nullable=False),
        sa.Column("service", sa.String(length=200), nullable=False),
        sa.Column("linked_account", sa.String(length=32), nullable=False),
        sa.Column("amount_micros", sa.BigInteger(), nullable=False),
        sa.Column("currency", sa.String(length=3), nullable=False),
        sa.Column("estimated", sa.Boolean(), nullable=False),
        sa.Column("updated_at", sa.DateTime(), nullable=False),
        sa.ForeignKeyConstraint(
            ["account_id"],
            ["cloud_account.id"],
            name=op.f("fk_cost_daily_account_id_cloud_account"),
            ondelete="CASCADE",
        ),
        sa.ForeignKeyConstraint(
            ["org_id"],
            ["organization.id"],
            name=op.f("fk_cost_daily_org_id_organization"),
            ondelete="CASCADE",
        ),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_cost_daily")),
        sa.UniqueConstraint(
            "account_id", "day", "service", "linked_account", name=op.f("uq_cost_daily_account_id")
        ),
    )
    with op.batch_alter_table("cost_daily", schema=None) as batch_op:
        batch_op.create_index("ix_cost_daily_org_day", ["org_id", "day"], unique=False)
        batch_op.create_index(
            "ix_cost_daily_org_service_day", ["org_id", "service", "day"], unique=False
        )
        batch_op.create_index(
            "ix_cost_daily_account_day",
            ["account_id", "day", "service", "amount_micros"],
            unique=False,
        )

    op.create_table(
        "cost_account_day",
        sa.Column("account_id", sa.Integer(), nullable=False),
        sa.Column("day", sa.Date(), nullable=False),
        sa.Column("org_id", sa.Integer(), nullable=False),
        sa.Column("amount_micros", sa.BigInteger(), nullable=False),
        sa.Column("daily_rows", sa.Integer(), nullable=False),
        sa.ForeignKeyConstraint(
            ["account_id"],
            ["cloud_account.id"],
            name=op.f("fk_cost_account_day_account_id_cloud_account"),
            ondelete="CASCADE",
        ),
        sa.ForeignKeyConstraint(
            ["org_id"],
            ["organization.id"],
            name=op.f("fk_cost_account_day_org_id_organization"),
            ondelete="CASCADE",
        ),
        sa.PrimaryKeyConstraint("account_id", "day", name=op.f("pk_cost_account_day")),
    )
    with op.batch_alter_table("cost_account_day", schema=None) as batch_op:
        batch_op.create_index(
            "ix_cost_account_day_org_day",
            ["org_id", "day", "account_id", "amount_micros"],
            unique=False,
        )

    op.create_table(
        "cost_service_day",
        sa.Column("org_id", sa.Integer(), nullable=False),
        sa.Column("service", sa.String(length=200), nullable=False),
        sa.Column("day", sa.Date(), nullable=False),
        sa.Column("amount_micros", sa.BigInteger(), nullable=False),
        sa.Column("daily_rows", sa.Integer(), nullable=False),
        sa.ForeignKeyConstraint(
            ["org_id"],
            ["organization.id"],
            name=op.f("fk_cost_service_day_org_id_organization"),
            ondelete="CASCADE",
        ),
        sa.PrimaryKeyConstraint("org_id", "service", "day", name=op.f("pk_cost_service_day")),
    )
    with op.batch_alter_table("cost_service_day", schema=None) as batch_op:
        batch_op.create_index(
            "ix_cost_service_day_org_day",
            ["org_id", "day", "service", "amount_micros"],
            unique=False,
        )

    # Triggers keep both totals in step with cost_daily (server/costs/models.py says why).
    if _postgresql():
        for statement in _PG_TOTALS:
            op.execute(statement)
    else:
        for name, body in _TOTALS_TRIGGERS.items():
            op.execute(f"CREATE TRIGGER {name} {body}")

    op.create_table(
        "job",
        sa.Column("id", sa.Integer(), nullable=False),
        sa.Column("org_id", sa.Integer(), nullable=False),
        sa.Column("kind", sa.String(length=30), nullable=False),
        sa.Column("account_id", sa.Integer(), nullable=True),
        sa.Column("status", sa.String(length=15), nullable=False),
        sa.Column("progress", sa.JSON(), nullable=False),
        sa.Column("result", sa.JSON(), nullable=False),
        sa.Column("detail", sa.String(length=2000), nullable=True),
        sa.Column("requested_by_id", sa.Integer(), nullable=True),
        sa.Column("attempts", sa.Integer(), nullable=False),
        sa.Column("claimed_until", sa.DateTime(), nullable=True),
        sa.Column("created_at", sa.DateTime(), nullable=False),
        sa.Column("started_at", sa.DateTime(), nullable=True),
        sa.Column("finished_at", sa.DateTime(), nullable=True),
        sa.ForeignKeyConstraint(
            ["account_id"],
            ["cloud_account.id"],
            name=op.f("fk_job_account_id_cloud_account"),
            ondelete="CASCADE",
        ),
        sa.ForeignKeyConstraint(
            ["org_id"],
            ["organization.id"],
            name=op.f("fk_job_org_id_organization"),
            ondelete="CASCADE",
        ),
        sa.ForeignKeyConstraint(
            ["requested_by_id"],
            ["user.id"],
            name=op.f("fk_job_requested_by_id_user"),
            ondelete="SET NULL",
        ),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_job")),
        sqlite_autoincrement=True,
    )
    with op.batch_alter_table("job", schema=None) as batch_op:
        batch_op.create_index("ix_job_kind_status", ["kind", "status"], unique=False)
        batch_op.create_index("ix_job_org_created", ["org_id", "id"], unique=False)

    op.create_table(
        "resource",
        sa.Column("id", sa.Integer(), nullable=False),
        sa.Column("org_id", sa.Integer(), nullable=False),
        sa.Column("account_id", sa.Integer(), nullable=False),
        sa.Column("provider", sa.String(length=20), nullable=False),
        sa.Column("provider_id", sa.String(length=512), nullable=False),
        sa.Column("type", sa.String(length=40), nullable=False),
        sa.Column("name", sa.String(length=255), nullable=False),
        sa.Column("state", sa.String(length=30), nullable=False),
        sa.Column("size", sa.String(length=60), nullable=True),
        sa.Column("region", sa.String(length=30), nullable=False),
        sa.Column("tags", sa.JSON(), nullable=False),
        sa.Column("provider_metadata", sa.JSON(), nullable=False),
        sa.Column("discovered_at", sa.DateTime(), nullable=False),
        sa.Column("last_seen_at", sa.DateTime(), nullable=False),
        sa.Column("state_changed_at", sa.DateTime(), nullable=False),
        sa.Column("terminated_at", sa.DateTime(), nullable=True),
        sa.ForeignKeyConstraint(
            ["account_id"],
            ["cloud_account.id"],
            name=op.f("fk_resource_account_id_cloud_account"),
            ondelete="CASCADE",
        ),
        sa.ForeignKeyConstraint(
            ["org_id"],
            ["organization.id"],
            name=op.f("fk_resource_org_id_organization"),
            ondelete="CASCADE",
        ),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_resource")),
        sa.UniqueConstraint("account_id", "provider_id", name=op.f("uq_resource_account_id")),
        sqlite_autoincrement=True,
    )
    # Partial indexes of the resources that exist (lists leave terminated ones out), with
    # the state last so counts and groupings read the index alone.
    existing = {
        "sqlite_where": sa.text("state != 'terminated'"),
        "postgresql_where": sa.text("state != 'terminated'"),
    }
    with op.batch_alter_table("resource", schema=None) as batch_op:
        batch_op.create_index(
            "ix_resource_org_account", ["org_id", "account_id", "state"], unique=False, **existing
        )
        batch_op.create_index("ix_resource_org_name", ["org_id", "name"], unique=False, **existing)
        batch_op.create_index(
            "ix_resource_org_region", ["org_id", "region", "state"], unique=False, **existing
        )
        batch_op.create_index("ix_resource_org_state", ["org_id", "state"], unique=False)
        batch_op.create_index(
            "ix_resource_org_type",
            ["org_id", "type", "state", "region", "account_id"],
            unique=False,
            **existing,
        )
    if _postgresql():
        for statement in _PG_SEARCH:
            op.execute(statement)
    else:
        op.execute(_SEARCH_DDL)
        for name, body in _SEARCH_TRIGGERS.items():
            op.execute(f"CREATE TRIGGER {name} {body}")

    op.create_table(
        "cost_sync",
        sa.Column("id", sa.Integer(), nullable=False),
        sa.Column("org_id", sa.Integer(), nullable=False),
        sa.Column("account_id", sa.Integer(), nullable=False),
        sa.Column("job_id", sa.Integer(), nullable=True),
        sa.Column("status", sa.String(length=15), nullable=False),
        sa.Column("start_day", sa.Date(), nullable=False),
        sa.Column("end_day", sa.Date(), nullable=False),
        sa.Column("rows", sa.Integer(), nullable=False),
        sa.Column("api_calls", sa.Integer(), nullable=False),
        sa.Column("detail", sa.String(length=2000), nullable=True),
        sa.Column("started_at", sa.DateTime(), nullable=False),
        sa.Column("finished_at", sa.DateTime(), nullable=True),
        sa.ForeignKeyConstraint(
            ["account_id"],
            ["cloud_account.id"],
            name=op.f("fk_cost_sync_account_id_cloud_account"),
            ondelete="CASCADE",
        ),
        sa.ForeignKeyConstraint(
            ["job_id"], ["job.id"], name=op.f("fk_cost_sync_job_id_job"), ondelete="SET NULL"
        ),
        sa.ForeignKeyConstraint(
            ["org_id"],
            ["organization.id"],
            name=op.f("fk_cost_sync_org_id_organization"),
            ondelete="CASCADE",
        ),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_cost_sync")),
    )
    with op.batch_alter_table("cost_sync", schema=None) as batch_op:
        batch_op.create_index("ix_cost_sync_account", ["account_id", "id"], unique=False)

    op.create_table(
        "resource_action",
        sa.Column("id", sa.Integer(), nullable=False),
        sa.Column("org_id", sa.Integer(), nullable=False),
        sa.Column("resource_id", sa.Integer(), nullable=False),
        sa.Column("action", sa.String(length=10), nullable=False),
        sa.Column("status", sa.String(length=15), nullable=False),
        sa.Column("actor", sa.String(length=254), nullable=False),
        sa.Column("actor_user_id", sa.Integer(), nullable=True),
        sa.Column("from_state", sa.String(length=30), nullable=True),
        sa.Column("to_state", sa.String(length=30), nullable=True),
        sa.Column("detail", sa.String(length=2000), nullable=True),
        sa.Column("requested_at", sa.DateTime(), nullable=False),
        sa.Column("finished_at", sa.DateTime(), nullable=True),
        sa.ForeignKeyConstraint(
            ["actor_user_id"],
            ["user.id"],
            name=op.f("fk_resource_action_actor_user_id_user"),
            ondelete="SET NULL",
        ),
        sa.ForeignKeyConstraint(
            ["org_id"],
            ["organization.id"],
            name=op.f("fk_resource_action_org_id_organization"),
            ondelete="CASCADE",
        ),
        sa.ForeignKeyConstraint(
            ["resource_id"],
            ["resource.id"],
            name=op.f("fk_resource_action_resource_id_resource"),
            ondelete="CASCADE",
        ),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_resource_action")),
        sqlite_autoincrement=True,
    )
    with op.batch_alter_table("resource_action", schema=None) as batch_op:
        batch_op.create_index("ix_resource_action_resource", ["resource_id", "id"], unique=False)
        batch_op.create_index("ix_resource_action_status", ["status"], unique=False)

    op.create_table(
        "resource_tag",
        sa.Column("resource_id", sa.Integer(), nullable=False),
        sa.Column("key", sa.String(length=128), nullable=False),
        sa.Column("value", sa.String(length=256), nullable=False),
        sa.Column("org_id", sa.Integer(), nullable=True),
        sa.Column("state", sa.String(length=30), nullable=True),
        sa.ForeignKeyConstraint(
            ["resource_id"],
            ["resource.id"],
            name=op.f("fk_resource_tag_resource_id_resource"),
            ondelete="CASCADE",
        ),
        sa.PrimaryKeyConstraint("resource_id", "key", name=op.f("pk_resource_tag")),
    )
    with op.batch_alter_table("resource_tag", schema=None) as batch_op:
        batch_op.create_index(
            "ix_resource_tag_org_key_value",
            ["org_id", "key", "value", "state", "resource_id"],
            unique=False,
        )
    if _postgresql():
        for statement in _PG_TAGS:
            op.execute(statement)
    else:
        for name, body in _TAG_TRIGGERS.items():
            op.execute(f"CREATE TRIGGER {name} {body}")

    # ### end Alembic commands ###


def downgrade() -> None:
    # ### commands auto generated by Alembic - please adjust! ###
    if _postgresql():
        op.execute("DROP TRIGGER IF EXISTS resource_tag_copy_resource ON resource")
        op.execute("DROP FUNCTION IF EXISTS resource_tag_copy_resource()")
        op.execute("DROP TRIGGER IF EXISTS resource_tag_copy ON resource_tag")
        op.execute("DROP FUNCTION IF EXISTS resource_tag_copy()")
    for name in () if _postgresql() else _TAG_TRIGGERS:
        op.execute(f"DROP TRIGGER IF EXISTS {name}")
    with op.batch_alter_table("resource_tag", schema=None) as batch_op:
        batch_op.drop_index("ix_resource_tag_org_key_value")

    op.drop_table("resource_tag")
    with op.batch_alter_table("resource_action", schema=None) as batch_op:
        batch_op.drop_index("ix_resource_action_status")
        batch_op.drop_index("ix_resource_action_resource")

    op.drop_table("resource_action")
    with op.batch_alter_table("cost_sync", schema=None) as batch_op:
        batch_op.drop_index("ix_cost_sync_account")

    op.drop_table("cost_sync")
    if _postgresql():
        op.execute("DROP INDEX IF EXISTS ix_resource_provider_id_trgm")
        op.execute("DROP INDEX IF EXISTS ix_resource_name_trgm")
    else:
        for name in _SEARCH_TRIGGERS:
            op.execute(f"DROP TRIGGER IF EXISTS {name}")
        op.execute("DROP TABLE IF EXISTS resource_search")
    with op.batch_alter_table("resource", schema=None) as batch_op:
        batch_op.drop_index("ix_resource_org_type")
        batch_op.drop_index("ix_resource_org_state")
        batch_op.drop_index("ix_resource_org_region")
        batch_op.drop_index("ix_resource_org_name")
        batch_op.drop_index("ix_resource_org_account")

    op.drop_table("resource")
    with op.batch_alter_table("job", schema=None) as batch_op:
        batch_op.drop_index("ix_job_org_created")
        batch_op.drop_index("ix_job_kind_status")

    op.drop_table("job")
    if _postgresql():
        op.execute("DROP TRIGGER IF EXISTS cost_daily_totals ON cost_daily")
        op.execute("DROP FUNCTION IF EXISTS cost_daily_totals()")
    for name in () if _postgresql() else _TOTALS_TRIGGERS:
        op.execute(f"DROP TRIGGER IF EXISTS {name}")
    op.drop_table("cost_service_day")
    op.drop_table("cost_account_day")
    with op.batch_alter_table("cost_daily", schema=None) as batch_op:
        batch_op.drop_index("ix_cost_daily_org_service_day")
        batch_op.drop_index("ix_cost_daily_account_day")
        batch_op.drop_index("ix_cost_daily_org_day")

    op.drop_table("cost_daily")
    op.drop_table("budget")
    op.drop_table("cloud_account")
    # ### end Alembic commands ###
