"""SSH public keys (`/users/me/ssh-keys`): what may be registered, whose they are, and the
sessions switched from one another that ending an SSH session signs out together."""

from __future__ import annotations

import asyncssh
from aiohttp import ClientResponse
from aiohttp.test_utils import TestClient
from sqlalchemy import select

from server.audit.models import AuditLog
from server.auth.models import AuthSession
from server.auth.sessions import revoke_with_switches
from server.context import SESSIONS
from server.orgs.models import Organization
from server.users.models import User
from tests.builders import add_member
from tests.conftest import World

API = "/api/v1"
KEYS = f"{API}/users/me/ssh-keys"


def new_public_key(algorithm: str = "ssh-ed25519", comment: str = "alice@laptop", **kw: int) -> str:
    key = asyncssh.generate_private_key(algorithm, comment=comment, **kw)
    return key.export_public_key("openssh").decode().strip()


async def add(
    client: TestClient, headers: dict[str, str], public_key: str, **body: str
) -> ClientResponse:
    return await client.post(KEYS, json={"public_key": public_key, **body}, headers=headers)


async def audit_details(client: TestClient, action: str) -> list[str]:
    async with client.app[SESSIONS]() as db:
        rows = await db.scalars(select(AuditLog.detail).where(AuditLog.action == action))
        return [str(detail) for detail in rows]


async def test_a_key_is_added_with_its_fingerprint_listed_and_deleted(
    client: TestClient, world: World
) -> None:
    public_key = new_public_key()
    response = await add(client, world.alice.headers, public_key)
    assert response.status == 201, await response.text()
    key = await response.json()
    expected = asyncssh.import_public_key(public_key).get_fingerprint("sha256")
    assert key["fingerprint"] == expected
    assert key["name"] == "alice@laptop"  # the comment, when no name is given
    assert key["public_key"] == public_key.rsplit(" ", 1)[0]  # kept without its comment
    listed = await (await client.get(KEYS, headers=world.alice.headers)).json()
    assert [k["id"] for k in listed] == [key["id"]]
    deleted = await client.delete(f"{KEYS}/{key['id']}", headers=world.alice.headers)
    assert deleted.status == 204
    assert await (await client.get(KEYS, headers=world.alice.headers)).json() == []
    assert await audit_details(client, "ssh_key.added") == [f"alice@laptop {expected}"]
    assert await audit_details(client, "ssh_key.deleted") == [f"alice@laptop {expected}"]


async def test_each_member_sees_and_deletes_only_their_own_keys(
    client: TestClient, world: World
) -> None:
    alices = await (await add(client, world.alice.headers, new_public_key(), name="a")).json()
    # Bob is in alice's organization; a key is still its owner's alone.
    assert await (await client.get(KEYS, headers=world.bob.headers)).json() == []
    refused = await client.delete(f"{KEYS}/{alices['id']}", headers=world.bob.headers)
    assert refused.status == 404
    assert "detail" in await refused.json()
    assert len(await (await client.get(KEYS, headers=world.alice.headers)).json()) == 1


async def test_a_key_belongs_to_one_account(client: TestClient, world: World) -> None:
    public_key = new_public_key()
    assert (await add(client, world.alice.headers, public_key)).status == 201
    for person in (world.alice, world.carol):
        again = await add(client, person.headers, public_key, name="again")
        assert again.status == 409
        assert "already registered" in (await again.json())["detail"]
    assert await (await client.get(KEYS, headers=world.carol.headers)).json() == []


async def test_what_is_not_a_usable_public_key_is_a_400_that_says_why(
    client: TestClient, world: World
) -> None:
    private = asyncssh.generate_private_key("ssh-ed25519").export_private_key("openssh").decode()
    cases = {
        private: "private key",
        new_public_key("ssh-rsa", key_size=1024): "at least 2048 bits",
        "ssh-dss AAAAB3NzaC1kc3MAAACBAP": "Unsupported key type",
        "ssh-ed25519 AAAAnot-base64!!": "not a valid OpenSSH public key",
        "hello": "Unsupported key type",
        new_public_key() + "\n" + new_public_key(): "one line",
    }
    for text, words in cases.items():
        response = await add(client, world.alice.headers, text)
        assert response.status == 400, text
        assert words in (await response.json())["detail"], text
    assert await (await client.get(KEYS, headers=world.alice.headers)).json() == []
    assert (await add(client, world.alice.headers, new_public_key("ssh-rsa"))).status == 201


async def test_an_api_key_cannot_add_an_ssh_key(client: TestClient, world: World) -> None:
    """An SSH session has its account's whole role, which a viewer API key must not reach."""
    created = await client.post(
        f"{API}/auth/api-keys", json={"name": "ci", "role": "viewer"}, headers=world.alice.headers
    )
    api_key = (await created.json())["key"]
    response = await add(client, {"Authorization": f"Bearer {api_key}"}, new_public_key())
    assert response.status == 403
    assert await (await client.get(KEYS, headers=world.alice.headers)).json() == []


async def test_ending_a_session_ends_the_sessions_switched_from_it(
    client: TestClient, world: World
) -> None:
    """What an SSH session relies on when its console switched organizations."""
    async with client.app[SESSIONS]() as db, db.begin():
        carol, org_a = (
            await db.get(User, world.carol.user_id),
            await db.get(Organization, world.org_a),
        )
        assert carol is not None and org_a is not None
        await add_member(db, carol, org_a, "viewer")
    first = await client.post(
        f"{API}/auth/select-org", json={"organization_id": world.org_a}, headers=world.carol.headers
    )
    assert first.status == 200, await first.text()
    switched = (await first.json())["access_token"]
    second = await client.post(
        f"{API}/auth/select-org",
        json={"organization_id": world.org_b},
        headers={"Authorization": f"Bearer {switched}"},
    )
    again = (await second.json())["access_token"]
    async with client.app[SESSIONS]() as db, db.begin():
        sessions = list(
            await db.scalars(
                select(AuthSession)
                .where(AuthSession.user_id == world.carol.user_id)
                .order_by(AuthSession.id)
            )
        )
        assert [s.origin_id for s in sessions] == [None, sessions[0].id, sessions[1].id]
        await revoke_with_switches(db, sessions[0].id, reason="ssh session ended")
    for token in (world.carol.access_token, switched, again):
        me = await client.get(f"{API}/auth/me", headers={"Authorization": f"Bearer {token}"})
        assert me.status == 401
