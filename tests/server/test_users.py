"""Members of an organization: listing, direct creation, role changes and removal."""

from __future__ import annotations

from aiohttp.test_utils import TestClient
from sqlalchemy import select
from sqlalchemy.ext.asyncio import AsyncSession

from server.audit.models import AuditLog
from server.auth.models import ApiKey, AuthSession
from server.orgs.models import Membership
from tests.builders import PASSWORD, add_member, create_org, create_user
from tests.conftest import World

USERS = "/api/v1/users"
NEW_MEMBER = {
    "email": "Dave@Example.com",
    "full_name": "Dave Doe",
    "password": PASSWORD,
    "role": "admin",
}


async def _actions(db: AsyncSession, org_id: int) -> list[str]:
    rows = await db.execute(
        select(AuditLog.action).where(AuditLog.org_id == org_id).order_by(AuditLog.id)
    )
    return list(rows.scalars())


async def test_members_list_shows_roles_and_pages(client: TestClient, world: World) -> None:
    response = await client.get(USERS, headers=world.bob.headers)
    assert response.status == 200
    page = await response.json()
    assert page["total"] == 2
    assert {(m["email"], m["role"]) for m in page["items"]} == {
        ("alice@example.com", "superadmin"),
        ("bob@example.com", "viewer"),
    }
    response = await client.get(f"{USERS}?per_page=1&page=2&sort=email", headers=world.bob.headers)
    page = await response.json()
    assert (page["total"], page["page"], page["per_page"]) == (2, 2, 1)
    assert [m["email"] for m in page["items"]] == ["bob@example.com"]


async def test_members_list_filters_by_role_and_text(client: TestClient, world: World) -> None:
    response = await client.get(f"{USERS}?role=viewer", headers=world.alice.headers)
    assert [m["email"] for m in (await response.json())["items"]] == ["bob@example.com"]
    response = await client.get(f"{USERS}?q=ALI", headers=world.alice.headers)
    assert [m["email"] for m in (await response.json())["items"]] == ["alice@example.com"]
    response = await client.get(f"{USERS}?q=%25", headers=world.alice.headers)
    assert (await response.json())["total"] == 0


async def test_members_list_never_shows_another_org(client: TestClient, world: World) -> None:
    response = await client.get(USERS, headers=world.carol.headers)
    assert [m["email"] for m in (await response.json())["items"]] == ["carol@example.com"]


async def test_superadmin_creates_a_member_who_can_sign_in(
    client: TestClient, world: World, db: AsyncSession
) -> None:
    response = await client.post(USERS, json=NEW_MEMBER, headers=world.alice.headers)
    assert response.status == 201, await response.text()
    member = await response.json()
    assert (member["email"], member["role"]) == ("dave@example.com", "admin")
    login = await client.post(
        "/api/v1/auth/login", json={"email": "dave@example.com", "password": PASSWORD}
    )
    assert login.status == 200
    assert "user.created" in await _actions(db, world.org_a)


async def test_created_member_password_must_meet_the_policy(
    client: TestClient, world: World
) -> None:
    weak = {**NEW_MEMBER, "password": "short"}
    response = await client.post(USERS, json=weak, headers=world.alice.headers)
    assert response.status == 400
    assert "password" in (await response.json())["detail"]


async def test_creating_an_existing_account_says_invite_it(
    client: TestClient, world: World
) -> None:
    taken = {**NEW_MEMBER, "email": "CAROL@example.com"}
    response = await client.post(USERS, json=taken, headers=world.alice.headers)
    assert response.status == 409
    assert "invite" in (await response.json())["detail"]


async def test_viewer_cannot_create_members(client: TestClient, world: World) -> None:
    response = await client.post(USERS, json=NEW_MEMBER, headers=world.bob.headers)
    assert response.status == 403


async def test_free_plan_user_limit_names_the_limit(
    client: TestClient, world: World, db: AsyncSession, password_hash: str
) -> None:
    async with db.begin():
        org = await create_org(db, "Small", plan="free")
        for name in ("erin", "frank", "gina"):
            user = await create_user(db, f"{name}@example.com", password_hash=password_hash)
            await add_member(db, user, org, "superadmin" if name == "erin" else "viewer")
    login = await client.post(
        "/api/v1/auth/login", json={"email": "erin@example.com", "password": PASSWORD}
    )
    headers = {"Authorization": f"Bearer {(await login.json())['access_token']}"}
    response = await client.post(USERS, json=NEW_MEMBER, headers=headers)
    assert response.status == 403
    detail = (await response.json())["detail"]
    assert "users" in detail and "Free" in detail and "3" in detail
    invite = {"email": "zed@example.com", "role": "viewer"}
    response = await client.post(f"{USERS}/invitations", json=invite, headers=headers)
    assert response.status == 403


async def test_get_member_of_own_org(client: TestClient, world: World) -> None:
    response = await client.get(f"{USERS}/{world.alice.user_id}", headers=world.bob.headers)
    assert response.status == 200
    assert (await response.json())["role"] == "superadmin"


async def test_other_org_member_is_404(client: TestClient, world: World) -> None:
    bob = f"{USERS}/{world.bob.user_id}"
    assert (await client.get(bob, headers=world.carol.headers)).status == 404
    patch = await client.patch(bob, json={"role": "admin"}, headers=world.carol.headers)
    assert patch.status == 404
    assert (await client.delete(bob, headers=world.carol.headers)).status == 404
    assert (await client.get(f"{bob}/avatar", headers=world.carol.headers)).status == 404
    assert (await client.get(f"{USERS}/999999", headers=world.alice.headers)).status == 404


async def test_superadmin_changes_a_role(
    client: TestClient, world: World, db: AsyncSession
) -> None:
    response = await client.patch(
        f"{USERS}/{world.bob.user_id}",
        json={"role": "admin", "full_name": "Robert"},
        headers=world.alice.headers,
    )
    assert response.status == 200
    member = await response.json()
    assert (member["role"], member["full_name"]) == ("admin", "Robert")
    actions = await _actions(db, world.org_a)
    assert "user.role_changed" in actions and "user.updated" in actions
    # The new role applies to bob's existing token at once.
    me = await client.get("/api/v1/users/invitations", headers=world.bob.headers)
    assert me.status == 403


async def test_viewer_cannot_change_roles(client: TestClient, world: World) -> None:
    response = await client.patch(
        f"{USERS}/{world.bob.user_id}", json={"role": "superadmin"}, headers=world.bob.headers
    )
    assert response.status == 403


async def test_last_superadmin_cannot_be_demoted(client: TestClient, world: World) -> None:
    response = await client.patch(
        f"{USERS}/{world.alice.user_id}", json={"role": "viewer"}, headers=world.alice.headers
    )
    assert response.status == 409
    assert "last superadmin" in (await response.json())["detail"]


async def test_last_superadmin_cannot_be_removed(client: TestClient, world: World) -> None:
    alice = f"{USERS}/{world.alice.user_id}"
    response = await client.delete(alice, headers=world.alice.headers)
    assert response.status == 409
    assert (await client.get(alice, headers=world.alice.headers)).status == 200


async def test_a_superadmin_can_step_down_when_another_remains(
    client: TestClient, world: World
) -> None:
    bob = f"{USERS}/{world.bob.user_id}"
    promote = await client.patch(bob, json={"role": "superadmin"}, headers=world.alice.headers)
    assert promote.status == 200
    demote = await client.patch(
        f"{USERS}/{world.alice.user_id}", json={"role": "viewer"}, headers=world.alice.headers
    )
    assert demote.status == 200
    # Now bob is the only superadmin left.
    response = await client.delete(bob, headers=world.bob.headers)
    assert response.status == 409


async def test_removed_member_loses_access_keys_and_sessions(
    client: TestClient, world: World, db: AsyncSession
) -> None:
    key = await client.post(
        "/api/v1/auth/api-keys", json={"name": "script"}, headers=world.bob.headers
    )
    assert key.status == 201, await key.text()
    response = await client.delete(f"{USERS}/{world.bob.user_id}", headers=world.alice.headers)
    assert response.status == 204
    assert (await client.get(USERS, headers=world.bob.headers)).status == 401
    api_key = {"Authorization": f"Bearer {(await key.json())['key']}"}
    assert (await client.get(USERS, headers=api_key)).status == 401
    async with db.begin():
        keys = (
            await db.execute(select(ApiKey).where(ApiKey.user_id == world.bob.user_id))
        ).scalars()
        assert all(k.revoked_at is not None for k in keys)
        sessions = (
            await db.execute(select(AuthSession).where(AuthSession.user_id == world.bob.user_id))
        ).scalars()
        assert all(s.revoked_at is not None for s in sessions)
        memberships = await db.execute(
            select(Membership).where(Membership.user_id == world.bob.user_id)
        )
        assert memberships.first() is None
    assert "user.removed" in await _actions(db, world.org_a)


async def test_viewer_cannot_remove_members(client: TestClient, world: World) -> None:
    response = await client.delete(f"{USERS}/{world.alice.user_id}", headers=world.bob.headers)
    assert response.status == 403
