"""Reading resources over HTTP: filters, sort, paging, summary, types, detail and tenancy."""

from __future__ import annotations

import json
from datetime import UTC, datetime, timedelta
from typing import Any

from aiohttp.test_utils import TestClient
from sqlalchemy import delete, update
from sqlalchemy.ext.asyncio import AsyncSession

from server.cloud_accounts.models import CloudAccount
from server.context import KEYS
from server.resources.models import Resource, ResourceAction, ResourceTag
from tests.conftest import World

RESOURCES = "/api/v1/resources"
KEY_PAIR = {"access_key_id": "AKIAUPMETRTESTKEY01", "secret_access_key": "upmetr-test-secret"}


async def add_account(
    client: TestClient, db: AsyncSession, org_id: int, name: str = "production"
) -> CloudAccount:
    """A saved AWS account with credentials sealed by the server's own key."""
    account = CloudAccount(
        org_id=org_id,
        name=name,
        provider="aws",
        auth_method="keys",
        credentials=client.app[KEYS].encrypt(json.dumps(KEY_PAIR)),
        credentials_hint="****EY01",
        default_region="us-east-1",
        regions=["us-east-1", "eu-west-1"],
        status="ok",
    )
    async with db.begin():
        db.add(account)
    return account


async def add_resource(
    db: AsyncSession,
    account: CloudAccount,
    name: str,
    *,
    type: str = "ec2_instance",
    state: str = "running",
    region: str = "us-east-1",
    provider_id: str | None = None,
    tags: dict[str, str] | None = None,
    details: dict[str, Any] | None = None,
    last_seen_at: datetime | None = None,
) -> Resource:
    tags = tags or {}
    resource = Resource(
        org_id=account.org_id,
        account_id=account.id,
        provider="aws",
        provider_id=provider_id or f"{type}-{name}",
        type=type,
        name=name,
        state=state,
        size="t3.micro" if type == "ec2_instance" else None,
        region=region,
        tags=tags,
        details=details or {},
        last_seen_at=last_seen_at or datetime.now(UTC),
        terminated_at=datetime.now(UTC) if state == "terminated" else None,
    )
    async with db.begin():
        db.add(resource)
        await db.flush()
        db.add_all(ResourceTag(resource_id=resource.id, key=k, value=v) for k, v in tags.items())
    return resource


async def get(client: TestClient, world: World, path: str = "", **params: Any) -> Any:
    response = await client.get(f"{RESOURCES}{path}", params=params, headers=world.alice.headers)
    assert response.status == 200, await response.text()
    return await response.json()


def names(page: dict[str, Any]) -> list[str]:
    return [item["name"] for item in page["items"]]


async def fleet(client: TestClient, db: AsyncSession, world: World) -> dict[str, Resource]:
    """Two accounts of org A with a mix of types, states, regions and tags."""
    prod = await add_account(client, db, world.org_a, "production")
    staging = await add_account(client, db, world.org_a, "staging")
    hour = timedelta(hours=1)
    now = datetime.now(UTC)
    return {
        "web-1": await add_resource(
            db, prod, "web-1", provider_id="i-0aaa1", tags={"env": "prod", "team": "web"},
            last_seen_at=now - 3 * hour,
        ),
        "web-2": await add_resource(
            db, prod, "web-2", state="stopped", region="eu-west-1",
            tags={"env": "staging", "team": "web"}, last_seen_at=now - hour,
        ),
        "orders-db": await add_resource(
            db, prod, "orders-db", type="rds_instance", state="available",
            tags={"env": "prod"}, details={"Engine": "postgres"}, last_seen_at=now - 2 * hour,
        ),
        "thumbnailer": await add_resource(
            db, staging, "thumbnailer", type="lambda_function", state="active",
            region="eu-west-1", last_seen_at=now,
        ),
        "old-box": await add_resource(db, staging, "old-box", state="terminated"),
    }  # fmt: skip


async def test_resources_list_existing_ones_by_name_with_their_account_and_tags(
    client: TestClient, db: AsyncSession, world: World
) -> None:
    await fleet(client, db, world)
    page = await get(client, world)
    assert names(page) == ["orders-db", "thumbnailer", "web-1", "web-2"]
    assert page["total"] == 4 and page["page"] == 1 and page["per_page"] == 50
    web = page["items"][2]
    assert web["account_name"] == "production"
    assert web["tags"] == {"env": "prod", "team": "web"}
    assert web["provider_id"] == "i-0aaa1" and web["type"] == "ec2_instance"
    assert web["last_seen_at"].endswith("Z")


async def test_terminated_resources_are_listed_only_when_asked_for(
    client: TestClient, db: AsyncSession, world: World
) -> None:
    await fleet(client, db, world)
    page = await get(client, world, state="terminated")
    assert names(page) == ["old-box"]
    assert page["items"][0]["terminated_at"] is not None


async def test_resources_filter_by_type_region_state_and_account(
    client: TestClient, db: AsyncSession, world: World
) -> None:
    made = await fleet(client, db, world)
    assert names(await get(client, world, type="ec2_instance")) == ["web-1", "web-2"]
    assert names(await get(client, world, region="eu-west-1")) == ["thumbnailer", "web-2"]
    assert names(await get(client, world, state="stopped")) == ["web-2"]
    staging = made["thumbnailer"].account_id
    assert names(await get(client, world, account_id=str(staging))) == ["thumbnailer"]
    assert names(await get(client, world, provider="gcp")) == []
    both = await get(client, world, type="ec2_instance", region="us-east-1")
    assert names(both) == ["web-1"]


async def test_resources_filter_by_tag_value_or_tag_key(
    client: TestClient, db: AsyncSession, world: World
) -> None:
    await fleet(client, db, world)
    assert names(await get(client, world, tag="env:prod")) == ["orders-db", "web-1"]
    assert names(await get(client, world, tag="team")) == ["web-1", "web-2"]
    assert names(await get(client, world, tag="team:web", state="stopped")) == ["web-2"]
    assert names(await get(client, world, tag="env:nowhere")) == []


async def test_tag_totals_count_the_resources_that_exist_as_their_state_changes(
    client: TestClient, db: AsyncSession, world: World
) -> None:
    made = await fleet(client, db, world)
    carol_account = await add_account(client, db, world.org_b, "carol-prod")
    await add_resource(db, carol_account, "carol-web", tags={"env": "prod", "team": "web"})

    def total(page: dict[str, Any]) -> int:
        assert page["total"] == len(page["items"])
        return int(page["total"])

    assert total(await get(client, world, tag="env:prod")) == 2
    assert total(await get(client, world, tag="team")) == 2
    assert total(await get(client, world, tag="team", state="stopped")) == 1
    assert total(await get(client, world, tag="team", state="terminated")) == 0

    async with db.begin():
        await db.execute(
            update(Resource).where(Resource.id == made["web-1"].id).values(state="terminated")
        )
        await db.execute(
            update(Resource).where(Resource.id == made["web-2"].id).values(state="running")
        )
    assert names(await get(client, world, tag="env:prod")) == ["orders-db"]
    assert total(await get(client, world, tag="team")) == 1
    assert names(await get(client, world, tag="team", state="terminated")) == ["web-1"]
    assert names(await get(client, world, tag="team", state="running")) == ["web-2"]
    assert total(await get(client, world, tag="team", state="stopped")) == 0

    async with db.begin():
        await db.execute(delete(Resource).where(Resource.id == made["orders-db"].id))
        db.add(ResourceTag(resource_id=made["thumbnailer"].id, key="env", value="prod"))
    assert names(await get(client, world, tag="env:prod")) == ["thumbnailer"]
    assert names(await get(client, world, tag="env")) == ["thumbnailer", "web-2"]


async def test_pages_of_a_common_tag_and_of_a_rare_one_agree(
    client: TestClient, db: AsyncSession, world: World
) -> None:
    """A page of a tag matched many times over tests each resource it walks; any other
    lists the tagged ids first (server/resources/queries.py): the same rows either way."""
    account = await add_account(client, db, world.org_a, "production")
    async with db.begin():
        resources = [
            Resource(org_id=world.org_a, account_id=account.id, provider="aws",
                     provider_id=f"i-{n:04d}", type="ec2_instance", name=f"node-{n:03d}",
                     state="terminated" if n % 7 == 0 else "running", region="us-east-1",
                     tags={})
            for n in range(240)
        ]  # fmt: skip
        db.add_all(resources)
        await db.flush()
        db.add_all(
            ResourceTag(resource_id=resource.id, key="env", value="prod" if n % 2 else "dev")
            for n, resource in enumerate(resources)
        )
    prod = sorted(f"node-{n:03d}" for n in range(240) if n % 2 and n % 7)

    first = await get(client, world, tag="env:prod", per_page="1")  # 103 matches: probes
    assert names(first) == prod[:1] and first["total"] == len(prod) == 103
    second = await get(client, world, tag="env:prod", per_page="1", page="2")  # lists
    assert names(second) == prod[1:2] and second["total"] == 103
    whole = await get(client, world, tag="env:prod", per_page="200")
    assert names(whole) == prod
    newest = await get(client, world, tag="env", sort="-name", per_page="1")
    assert names(newest) == ["node-239"] and newest["total"] == 205


async def test_q_matches_part_of_the_name_or_the_provider_id_ignoring_case(
    client: TestClient, db: AsyncSession, world: World
) -> None:
    await fleet(client, db, world)
    assert names(await get(client, world, q="WEB")) == ["web-1", "web-2"]
    assert names(await get(client, world, q="0aaa")) == ["web-1"]
    assert names(await get(client, world, q="100%")) == []  # % is a character, not a wildcard
    second = await get(client, world, q="web", per_page="1", page="2")
    assert names(second) == ["web-2"] and second["total"] == 2
    beyond = await get(client, world, q="web", per_page="1", page="3")
    assert names(beyond) == [] and beyond["total"] == 2


async def test_q_finds_substrings_of_any_length_ignoring_case_in_name_and_provider_id(
    client: TestClient, db: AsyncSession, world: World
) -> None:
    account = await add_account(client, db, world.org_a, "production")
    await add_resource(db, account, "Alpha-DB", provider_id="arn:aws:rds:db-XY1")
    await add_resource(db, account, "beta_cache", provider_id="i-0QZ9")
    await add_resource(db, account, "gamma", provider_id="i-0qz8", state="terminated")

    for term, found in (
        ("z", ["beta_cache"]), ("Q", ["beta_cache"]),  # 1 character
        ("xy", ["Alpha-DB"]), ("a_", ["beta_cache"]), ("__", []),  # 2: _ is no wildcard
        ("pha-d", ["Alpha-DB"]), ("ALPHA", ["Alpha-DB"]), ("DB-xy1", ["Alpha-DB"]),  # 3 and more
        ("I-0qZ", ["beta_cache"]), ("a-db", ["Alpha-DB"]), ("ta_c", ["beta_cache"]),
        ('"a"', []), ("a OR b", []), ("db*", []), ("alpha-dbx", []),  # no FTS5 syntax
    ):  # fmt: skip
        assert names(await get(client, world, q=term)) == found, term
    terminated = await get(client, world, q="i-0qz", state="terminated")
    assert names(terminated) == ["gamma"] and terminated["total"] == 1


async def test_q_follows_renames_and_deletes(
    client: TestClient, db: AsyncSession, world: World
) -> None:
    account = await add_account(client, db, world.org_a, "production")
    web = await add_resource(db, account, "web-frontend", provider_id="i-0abc")
    worker = await add_resource(db, account, "queue-worker", provider_id="i-0def")
    async with db.begin():
        await db.execute(update(Resource).where(Resource.id == web.id).values(name="api-gateway"))
        await db.execute(
            update(Resource).where(Resource.id == worker.id).values(provider_id="i-0xyz")
        )

    assert names(await get(client, world, q="frontend")) == []
    assert names(await get(client, world, q="gateway")) == ["api-gateway"]
    assert names(await get(client, world, q="i-0def")) == []
    assert names(await get(client, world, q="0XYZ")) == ["queue-worker"]

    async with db.begin():
        await db.execute(delete(Resource).where(Resource.id == web.id))
    assert names(await get(client, world, q="gateway")) == []
    assert names(await get(client, world, q="i-0")) == ["queue-worker"]


async def test_resources_sort_by_a_whitelisted_field_either_way(
    client: TestClient, db: AsyncSession, world: World
) -> None:
    await fleet(client, db, world)
    assert names(await get(client, world, sort="-name")) == [
        "web-2", "web-1", "thumbnailer", "orders-db",
    ]  # fmt: skip
    assert names(await get(client, world, sort="-last_seen_at")) == [
        "thumbnailer", "web-2", "orders-db", "web-1",
    ]  # fmt: skip
    assert names(await get(client, world, sort="type"))[:2] == ["web-1", "web-2"]
    response = await client.get(
        RESOURCES, params={"sort": "provider_metadata"}, headers=world.alice.headers
    )
    assert response.status == 400
    assert "sort" in (await response.json())["detail"]


async def test_resources_page_through_the_list(
    client: TestClient, db: AsyncSession, world: World
) -> None:
    await fleet(client, db, world)
    first = await get(client, world, per_page="3")
    second = await get(client, world, per_page="3", page="2")
    assert names(first) == ["orders-db", "thumbnailer", "web-1"]
    assert names(second) == ["web-2"]
    assert first["total"] == second["total"] == 4
    response = await client.get(RESOURCES, params={"per_page": "201"}, headers=world.bob.headers)
    assert response.status == 400


async def test_summary_counts_existing_resources_by_type_state_region_and_account(
    client: TestClient, db: AsyncSession, world: World
) -> None:
    made = await fleet(client, db, world)
    summary = await get(client, world, "/summary")
    assert summary["total"] == 4 and summary["terminated"] == 1
    counts = {
        field: {item["key"]: item["count"] for item in summary[field]}
        for field in ("by_type", "by_state", "by_region")
    }
    assert counts["by_type"] == {"ec2_instance": 2, "rds_instance": 1, "lambda_function": 1}
    assert counts["by_state"] == {"running": 1, "stopped": 1, "available": 1, "active": 1}
    assert counts["by_region"] == {"us-east-1": 2, "eu-west-1": 2}
    assert summary["by_account"] == [
        {"account_id": made["web-1"].account_id, "name": "production", "count": 3},
        {"account_id": made["thumbnailer"].account_id, "name": "staging", "count": 1},
    ]


async def test_types_lists_the_types_present_with_counts(
    client: TestClient, db: AsyncSession, world: World
) -> None:
    await fleet(client, db, world)
    assert await get(client, world, "/types") == [
        {"type": "ec2_instance", "count": 2},
        {"type": "lambda_function", "count": 1},
        {"type": "rds_instance", "count": 1},
    ]


async def test_detail_shows_tags_provider_metadata_and_the_actions_allowed_now(
    client: TestClient, db: AsyncSession, world: World
) -> None:
    made = await fleet(client, db, world)
    database = await get(client, world, f"/{made['orders-db'].id}")
    assert database["metadata"] == {"Engine": "postgres"}
    assert database["tags"] == {"env": "prod"}
    assert database["actions"] == ["stop", "reboot"]
    assert (await get(client, world, f"/{made['web-2'].id}"))["actions"] == ["start"]
    assert (await get(client, world, f"/{made['thumbnailer'].id}"))["actions"] == []
    assert (await get(client, world, f"/{made['old-box'].id}"))["actions"] == []


async def test_a_resource_with_an_action_under_way_allows_no_other(
    client: TestClient, db: AsyncSession, world: World
) -> None:
    made = await fleet(client, db, world)
    async with db.begin():
        db.add(
            ResourceAction(
                org_id=world.org_a, resource_id=made["web-1"].id, action="stop",
                status="running", actor=world.alice.email, from_state="running",
            )
        )  # fmt: skip
    assert (await get(client, world, f"/{made['web-1'].id}"))["actions"] == []


async def test_viewer_reads_resources(client: TestClient, db: AsyncSession, world: World) -> None:
    made = await fleet(client, db, world)
    for path in ("", "/summary", "/types", f"/{made['web-1'].id}", f"/{made['web-1'].id}/actions"):
        response = await client.get(f"{RESOURCES}{path}", headers=world.bob.headers)
        assert response.status == 200, path


async def test_another_organizations_resources_stay_invisible(
    client: TestClient, db: AsyncSession, world: World
) -> None:
    made = await fleet(client, db, world)
    carols = await add_account(client, db, world.org_b, "carol's")
    await add_resource(db, carols, "carol-box")
    page = await get(client, world)
    assert "carol-box" not in names(page)
    response = await client.get(RESOURCES, headers=world.carol.headers)
    assert names(await response.json()) == ["carol-box"]
    summary = await (await client.get(f"{RESOURCES}/summary", headers=world.carol.headers)).json()
    assert summary["total"] == 1
    for path in (f"/{made['web-1'].id}", f"/{made['web-1'].id}/actions"):
        response = await client.get(f"{RESOURCES}{path}", headers=world.carol.headers)
        assert response.status == 404
        assert (await response.json())["detail"] == "Resource not found"


async def test_an_unknown_resource_is_not_found(client: TestClient, world: World) -> None:
    response = await client.get(f"{RESOURCES}/999999", headers=world.alice.headers)
    assert response.status == 404
