"""Client mechanics against httpx.MockTransport standing in for the network."""

from __future__ import annotations

import io
import json
from collections.abc import Callable
from typing import Any

import httpx
import pytest

from shared.api.auth import TokenPair
from shared.client import (
    USER_AGENT,
    ApiConnectionError,
    ApiError,
    AsyncClient,
    BadRequest,
    Client,
    Conflict,
    Forbidden,
    NotFound,
    RateLimited,
    ServerError,
    Unauthorized,
    normalize_base_url,
)

MEMBER = {
    "id": 1,
    "email": "alice@example.com",
    "full_name": "Alice",
    "role": "superadmin",
    "mfa_enabled": False,
    "has_avatar": False,
    "joined_at": "2024-01-01T00:00:00Z",
}
PAGE = {"items": [MEMBER], "total": 1, "page": 1, "per_page": 50}


def pair(n: int) -> dict[str, Any]:
    return {
        "access_token": f"access-{n}",
        "refresh_token": f"refresh-{n}",
        "token_type": "bearer",
        "expires_in": 1800,
    }


class FakeServer:
    """Answers /users with 401 unless the bearer is `valid`, and rotates refresh tokens."""

    def __init__(self, valid: str = "access-2") -> None:
        self.valid = valid
        self.requests: list[httpx.Request] = []
        self.refreshes = 0

    def __call__(self, request: httpx.Request) -> httpx.Response:
        self.requests.append(request)
        path = request.url.path
        if path == "/api/v1/auth/refresh":
            self.refreshes += 1
            token = json.loads(request.content)["refresh_token"]
            if token != "refresh-1":
                return httpx.Response(401, json={"detail": "Refresh token revoked"})
            return httpx.Response(200, json=pair(2))
        if request.headers.get("Authorization") != f"Bearer {self.valid}":
            return httpx.Response(401, json={"detail": "Token expired"})
        return httpx.Response(200, json=PAGE)


def test_base_url_gets_the_api_prefix_once() -> None:
    for url in (
        "http://host:8080",
        "http://host:8080/",
        "http://host:8080/api/v1",
        "http://host:8080/api/v1/",
        "host:8080",
    ):
        assert normalize_base_url(url) == "http://host:8080/api/v1"


def test_requests_go_under_api_v1_with_user_agent_and_api_key() -> None:
    seen: list[httpx.Request] = []

    def handler(request: httpx.Request) -> httpx.Response:
        seen.append(request)
        return httpx.Response(200, json=PAGE)

    with Client(
        "http://host:8080/", api_key="upk_abc", transport=httpx.MockTransport(handler)
    ) as api:
        page = api.users.list(per_page=10, role="admin")
    assert page.items[0].email == "alice@example.com"
    request = seen[0]
    assert request.url.path == "/api/v1/users"
    assert request.url.params["per_page"] == "10"
    assert request.url.params["role"] == "admin"
    assert request.headers["Authorization"] == "Bearer upk_abc"
    assert request.headers["User-Agent"] == USER_AGENT
    assert USER_AGENT.startswith("upmetr-client/")


def test_expired_access_token_is_refreshed_once_and_the_request_retried() -> None:
    server = FakeServer()
    stored: list[TokenPair] = []
    api = Client(
        "http://host",
        access_token="access-1",
        refresh_token="refresh-1",
        on_tokens=stored.append,
        transport=httpx.MockTransport(server),
    )
    page = api.users.list()
    assert page.total == 1
    assert server.refreshes == 1
    assert [t.refresh_token for t in stored] == ["refresh-2"]
    assert api.access_token == "access-2"
    assert [r.url.path for r in server.requests] == [
        "/api/v1/users",
        "/api/v1/auth/refresh",
        "/api/v1/users",
    ]


def test_failed_refresh_reports_the_original_401() -> None:
    server = FakeServer()
    api = Client(
        "http://host",
        access_token="access-1",
        refresh_token="spent",
        transport=httpx.MockTransport(server),
    )
    with pytest.raises(Unauthorized) as caught:
        api.users.list()
    assert caught.value.detail == "Token expired"
    assert server.refreshes == 1


def test_still_401_after_refresh_does_not_refresh_again() -> None:
    server = FakeServer(valid="never")
    api = Client(
        "http://host",
        access_token="access-1",
        refresh_token="refresh-1",
        transport=httpx.MockTransport(server),
    )
    with pytest.raises(Unauthorized):
        api.users.list()
    assert server.refreshes == 1


def test_api_key_401_is_final() -> None:
    server = FakeServer()
    api = Client("http://host", api_key="upk_bad", transport=httpx.MockTransport(server))
    with pytest.raises(Unauthorized):
        api.users.list()
    assert server.refreshes == 0


def test_wrong_password_at_login_does_not_try_to_refresh() -> None:
    def handler(request: httpx.Request) -> httpx.Response:
        assert request.url.path == "/api/v1/auth/login"
        return httpx.Response(401, json={"detail": "Invalid email or password"})

    api = Client("http://host", refresh_token="refresh-1", transport=httpx.MockTransport(handler))
    with pytest.raises(Unauthorized, match="Invalid email or password"):
        api.auth.login("a@example.com", "nope")


def test_login_adopts_tokens_and_mfa_challenge_is_returned() -> None:
    answers = iter([{"mfa_required": True, "mfa_token": "m"}, pair(5)])
    stored: list[TokenPair] = []

    def handler(request: httpx.Request) -> httpx.Response:
        return httpx.Response(200, json=next(answers))

    api = Client("http://host", on_tokens=stored.append, transport=httpx.MockTransport(handler))
    challenge = api.auth.login("a@example.com", "pw")
    assert not isinstance(challenge, TokenPair)
    assert challenge.mfa_token == "m"
    assert api.access_token is None
    api.auth.verify_mfa(challenge.mfa_token, "123456")
    assert api.access_token == "access-5"
    assert stored[-1].refresh_token == "refresh-5"


def rate_limited_then_ok(limited: int, retry_after: str = "7") -> Callable[..., httpx.Response]:
    calls = {"n": 0}

    def handler(request: httpx.Request) -> httpx.Response:
        calls["n"] += 1
        if calls["n"] <= limited:
            return httpx.Response(
                429, json={"detail": "Rate limit exceeded"}, headers={"Retry-After": retry_after}
            )
        return httpx.Response(200, json=PAGE)

    return handler


def test_429_waits_retry_after_and_retries() -> None:
    waits: list[float] = []
    api = Client(
        "http://host",
        api_key="upk_x",
        sleep=waits.append,
        transport=httpx.MockTransport(rate_limited_then_ok(2)),
    )
    assert api.users.list().total == 1
    assert waits == [7.0, 7.0]


def test_429_wait_is_capped_and_retries_are_bounded() -> None:
    waits: list[float] = []
    api = Client(
        "http://host",
        api_key="upk_x",
        sleep=waits.append,
        max_retry_wait=5,
        transport=httpx.MockTransport(rate_limited_then_ok(100, retry_after="3600")),
    )
    with pytest.raises(RateLimited) as caught:
        api.users.list()
    assert waits == [5.0, 5.0, 5.0]
    assert caught.value.retry_after == 3600
    assert caught.value.status == 429
    assert caught.value.detail == "Rate limit exceeded"


@pytest.mark.parametrize(
    ("status", "error"),
    [
        (400, BadRequest),
        (401, Unauthorized),
        (403, Forbidden),
        (404, NotFound),
        (409, Conflict),
        (413, BadRequest),
        (500, ServerError),
        (503, ServerError),
    ],
)
def test_errors_are_typed_and_carry_the_servers_detail(status: int, error: type[ApiError]) -> None:
    def handler(request: httpx.Request) -> httpx.Response:
        return httpx.Response(
            status,
            json={"detail": f"detail {status}", "errors": [{"loc": ["body", "email"], "msg": "x"}]},
        )

    api = Client("http://host", api_key="upk_x", transport=httpx.MockTransport(handler))
    with pytest.raises(error) as caught:
        api.users.get(3)
    assert caught.value.status == status
    assert caught.value.detail == f"detail {status}"
    assert str(caught.value) == f"detail {status}"
    assert caught.value.errors[0].loc == ["body", "email"]


def test_non_json_error_still_reads_well() -> None:
    def handler(request: httpx.Request) -> httpx.Response:
        return httpx.Response(502, text="Bad gateway from proxy")

    api = Client("http://host", transport=httpx.MockTransport(handler))
    with pytest.raises(ServerError, match="Bad gateway from proxy"):
        api.plans.list()


def test_network_failure_is_a_readable_connection_error() -> None:
    def handler(request: httpx.Request) -> httpx.Response:
        raise httpx.ConnectError("Connection refused", request=request)

    api = Client("http://127.0.0.1:9", transport=httpx.MockTransport(handler))
    with pytest.raises(ApiConnectionError) as caught:
        api.auth.me()
    assert "cannot reach the Upmetr server at http://127.0.0.1:9/api/v1" in str(caught.value)
    assert "Connection refused" in str(caught.value)


def test_delete_returns_none_and_bodies_skip_unset_fields() -> None:
    seen: list[httpx.Request] = []

    def handler(request: httpx.Request) -> httpx.Response:
        seen.append(request)
        if request.method == "DELETE":
            return httpx.Response(204)
        return httpx.Response(200, json=MEMBER)

    api = Client("http://host", api_key="upk_x", transport=httpx.MockTransport(handler))
    assert api.api_keys.revoke(4) is None
    api.users.update(1, role="admin")
    assert json.loads(seen[1].content) == {"role": "admin"}
    assert seen[1].method == "PATCH"


def test_audit_export_streams_into_a_file() -> None:
    def handler(request: httpx.Request) -> httpx.Response:
        assert request.url.params["format"] == "csv"
        assert request.url.params["from"] == "2024-01-01T00:00:00Z"
        return httpx.Response(200, content=b"id,action\n1,login\n")

    from datetime import UTC, datetime

    out = io.BytesIO()
    api = Client("http://host", api_key="upk_x", transport=httpx.MockTransport(handler))
    api.audit_logs.export(out, from_=datetime(2024, 1, 1, tzinfo=UTC))
    assert out.getvalue() == b"id,action\n1,login\n"


def test_logout_sends_own_refresh_token_and_forgets_tokens() -> None:
    seen: list[dict[str, Any]] = []

    def handler(request: httpx.Request) -> httpx.Response:
        seen.append(json.loads(request.content))
        return httpx.Response(204)

    api = Client(
        "http://host",
        access_token="a",
        refresh_token="r",
        transport=httpx.MockTransport(handler),
    )
    api.auth.logout()
    assert seen == [{"refresh_token": "r"}]
    assert api.access_token is None
    assert api.refresh_token is None


# -- the async client behaves the same -------------------------------------------------


async def test_async_client_refreshes_once_and_retries() -> None:
    server = FakeServer()
    stored: list[TokenPair] = []
    async with AsyncClient(
        "http://host",
        access_token="access-1",
        refresh_token="refresh-1",
        on_tokens=stored.append,
        transport=httpx.MockTransport(server),
    ) as api:
        page = await api.users.list()
    assert page.items[0].role == "superadmin"
    assert server.refreshes == 1
    assert stored[0].access_token == "access-2"


async def test_async_concurrent_401s_spend_the_refresh_token_once() -> None:
    import asyncio

    server = FakeServer()
    async with AsyncClient(
        "http://host",
        access_token="access-1",
        refresh_token="refresh-1",
        transport=httpx.MockTransport(server),
    ) as api:
        pages = await asyncio.gather(*(api.users.list() for _ in range(5)))
    assert all(p.total == 1 for p in pages)
    assert server.refreshes == 1


async def test_async_429_backoff_and_typed_errors() -> None:
    waits: list[float] = []

    async def sleep(seconds: float) -> None:
        waits.append(seconds)

    async with AsyncClient(
        "http://host",
        api_key="upk_x",
        sleep=sleep,
        transport=httpx.MockTransport(rate_limited_then_ok(1, retry_after="2")),
    ) as api:
        assert (await api.users.list()).total == 1
    assert waits == [2.0]

    def not_found(request: httpx.Request) -> httpx.Response:
        return httpx.Response(404, json={"detail": "Member not found"})

    async with AsyncClient("http://host", transport=httpx.MockTransport(not_found)) as api:
        with pytest.raises(NotFound, match="Member not found"):
            await api.users.get(99)


def test_sync_and_async_clients_offer_the_same_methods() -> None:
    sync_api = Client("http://host")
    async_api = AsyncClient("http://host")
    for name in ("auth", "api_keys", "users", "organization", "settings", "audit_logs", "plans"):
        sync_ns, async_ns = getattr(sync_api, name), getattr(async_api, name)
        assert type(sync_ns) is type(async_ns)
        public = [m for m in dir(type(sync_ns)) if not m.startswith("_")]
        assert public
    assert type(sync_api.users.invitations) is type(async_api.users.invitations)
    for method in (
        "register", "login", "verify_mfa", "refresh", "logout", "me", "organizations",
        "select_org", "change_password", "forgot_password", "reset_password", "magic_link",
        "verify_magic_link", "mfa_setup", "mfa_enable", "mfa_disable", "mfa_backup_codes",
        "sessions", "revoke_session",
    ):  # fmt: skip
        assert callable(getattr(sync_api.auth, method))
        assert callable(getattr(async_api.auth, method))


async def test_an_async_call_is_sent_only_when_awaited_and_dropping_it_is_silent() -> None:
    import gc
    import warnings

    server = FakeServer(valid="access-1")
    async with AsyncClient(
        "http://host", access_token="access-1", transport=httpx.MockTransport(server)
    ) as api:
        with warnings.catch_warnings(record=True) as caught:
            warnings.simplefilter("always")
            dropped = api.users.list()  # a view closed before its gather ran
            del dropped
            gc.collect()
        assert [str(w.message) for w in caught if w.category is RuntimeWarning] == []
        assert server.requests == []
        assert (await api.users.list()).total == 1
    assert len(server.requests) == 1
