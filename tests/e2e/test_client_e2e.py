"""The shared client against a real `upmetr serve` subprocess, sync and async."""

from __future__ import annotations

import io
import json
from collections.abc import Iterator
from pathlib import Path

import pytest

from shared.api.auth import TokenPair
from shared.client import AsyncClient, Client, Forbidden, NotFound, Unauthorized
from tests.e2e.upmetr_server import ADMIN_EMAIL, ADMIN_PASSWORD, ServerProcess


@pytest.fixture(scope="module")
def server(tmp_path_factory: pytest.TempPathFactory) -> Iterator[ServerProcess]:
    data_dir = tmp_path_factory.mktemp("e2e-server") / "data"
    data_dir.mkdir()
    process = ServerProcess(data_dir)
    process.create_user(ADMIN_EMAIL, ADMIN_PASSWORD, "--org", "Acme")
    process.start()
    yield process
    assert process.stop() == 0


def signed_in(server: ServerProcess) -> Client:
    api = Client(server.url)
    tokens = api.auth.login(ADMIN_EMAIL, ADMIN_PASSWORD)
    assert isinstance(tokens, TokenPair)
    return api


def test_admin_signs_in_creates_an_api_key_and_a_script_uses_it(server: ServerProcess) -> None:
    with signed_in(server) as api:
        me = api.auth.me()
        assert me.user.email == ADMIN_EMAIL
        assert me.organization.slug == "acme"
        assert me.role == "superadmin"
        created = api.api_keys.create("nightly-report", role="viewer")
        assert created.key.startswith("upk_")
        assert created.id in [key.id for key in api.api_keys.list()]

    with Client(server.url, api_key=created.key) as script:
        assert script.auth.me().role == "viewer"
        members = script.users.list()
        assert ADMIN_EMAIL in [m.email for m in members.items]
        with pytest.raises(Forbidden):  # a viewer key cannot invite
            script.users.invitations.create("someone@example.com")

    with signed_in(server) as api:
        api.api_keys.revoke(created.id)
    with Client(server.url, api_key=created.key) as script, pytest.raises(Unauthorized):
        script.auth.me()


def test_admin_invites_manages_members_and_reads_the_audit_log(server: ServerProcess) -> None:
    with signed_in(server) as api:
        invitation = api.users.invitations.create("new.hire@example.com", role="admin")
        assert invitation.status == "pending"
        assert invitation.id in [i.id for i in api.users.invitations.list()]
        api.users.invitations.revoke(invitation.id)

        member = api.users.create(
            email="ops@example.com", full_name="Ops", password=ADMIN_PASSWORD, role="viewer"
        )
        assert api.users.update(member.id, role="admin").role == "admin"
        assert api.users.get(member.id).email == "ops@example.com"
        api.users.remove(member.id)
        with pytest.raises(NotFound):
            api.users.get(member.id)

        assert api.organization.get().name == "Acme"
        assert api.settings.get().discovery_interval in {"1h", "6h", "12h", "24h"}
        assert "enterprise" in [plan.code for plan in api.plans.list()]

        logins = api.audit_logs.list(action="auth.login")
        assert logins.total >= 1
        assert all(entry.action == "auth.login" for entry in logins.items)
        assert api.audit_logs.get(logins.items[0].id).id == logins.items[0].id
        assert api.audit_logs.summary().logins_24h >= 1
        out = io.BytesIO()
        api.audit_logs.export(out, format="json")
        exported = json.loads(out.getvalue())
        assert any(entry["action"] == "auth.login" for entry in exported)


def test_expired_access_token_is_refreshed_and_rotated_tokens_reported(
    server: ServerProcess,
) -> None:
    with signed_in(server) as first:
        refresh_token = first.refresh_token
    rotated: list[TokenPair] = []
    with Client(
        server.url,
        access_token="not-a-valid-jwt",
        refresh_token=refresh_token,
        on_tokens=rotated.append,
    ) as api:
        assert api.auth.me().user.email == ADMIN_EMAIL
    assert len(rotated) == 1
    assert rotated[0].refresh_token != refresh_token


def test_logout_spends_the_refresh_token(server: ServerProcess) -> None:
    api = signed_in(server)
    old_refresh = api.refresh_token
    assert old_refresh
    api.auth.logout()
    assert api.access_token is None
    with pytest.raises(Unauthorized):
        api.auth.refresh(old_refresh)
    api.close()


async def test_async_client_drives_the_same_server(server: ServerProcess) -> None:
    async with AsyncClient(server.url) as api:
        tokens = await api.auth.login(ADMIN_EMAIL, ADMIN_PASSWORD)
        assert isinstance(tokens, TokenPair)
        me = await api.auth.me()
        orgs = await api.auth.organizations()
        assert me.organization.id in [org.id for org in orgs]
        page = await api.users.list(per_page=10)
        assert page.per_page == 10
        assert (await api.audit_logs.summary()).total >= 1
        with pytest.raises(NotFound):
            await api.users.get(999_999)
        await api.auth.logout()


def test_server_stops_cleanly_on_sigterm_and_tokens_survive_a_restart(tmp_path: Path) -> None:
    data_dir = tmp_path / "data"
    data_dir.mkdir()
    process = ServerProcess(data_dir)
    process.create_user(ADMIN_EMAIL, ADMIN_PASSWORD)
    process.start()
    try:
        api = signed_in(process)
        access_token = api.access_token
        key = api.api_keys.create("survives-restart").key
        api.close()
    finally:
        assert process.stop(timeout=5) == 0

    process.start()
    try:
        with Client(process.url, access_token=access_token) as again:
            assert again.auth.me().user.email == ADMIN_EMAIL
        with Client(process.url, api_key=key) as script:
            assert script.auth.me().user.email == ADMIN_EMAIL
    finally:
        assert process.stop(timeout=5) == 0
