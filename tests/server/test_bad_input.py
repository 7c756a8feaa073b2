"""Bad input never causes a 500: every body route refuses garbage with a clean 4xx {"detail"}.

The cases are generated from the route table and the body models, so a new route is covered
as soon as it has an entry in VALID_BODIES (a test below insists on one).
"""

from __future__ import annotations

import json
import weakref
from typing import Any

import pytest
from aiohttp.test_utils import TestClient
from sqlalchemy import func, select, update
from sqlalchemy.ext.asyncio import AsyncSession

from server.context import SESSIONS
from server.http.routing import Access
from server.orgs.models import Membership, Organization
from server.routes import ROUTES
from server.users.models import User
from shared.api.common import API_PREFIX, UpdateModel
from tests.builders import PASSWORD
from tests.conftest import World

# A key used only as a shape: its private half was never kept.
SSH_PUBLIC_KEY = (
    "ssh-ed25519 AAAAC3NzaC1lZDI1NTE5AAAAIOJ8uKydu6OS1vyzjDI1ay0aFAoFonBPUVTIlQk1wh5o fixture"
)
# A body each route accepts as valid input (whatever the handler then decides).
VALID_BODIES: dict[tuple[str, str], dict[str, Any]] = {
    ("POST", "/auth/register"): {
        "email": "new@example.com",
        "password": PASSWORD,
        "full_name": "New Person",
        "organization_name": "New Org",
    },
    ("POST", "/auth/login"): {"email": "alice@example.com", "password": PASSWORD},
    ("POST", "/auth/mfa/verify"): {"mfa_token": "token", "code": "123456"},
    ("POST", "/auth/refresh"): {"refresh_token": "token"},
    ("POST", "/auth/logout"): {"refresh_token": "token"},
    ("POST", "/auth/select-org"): {"organization_id": 1},
    ("POST", "/auth/password/change"): {
        "current_password": PASSWORD,
        "new_password": "Another-Horse-43!",
    },
    ("POST", "/auth/password/forgot"): {"email": "alice@example.com"},
    ("POST", "/auth/password/reset"): {"token": "token", "new_password": "Another-Horse-43!"},
    ("POST", "/auth/magic-link"): {"email": "alice@example.com"},
    ("POST", "/auth/magic-link/verify"): {"token": "token"},
    ("POST", "/auth/email/confirm"): {"token": "token"},
    ("POST", "/auth/mfa/enable"): {"code": "123456"},
    ("POST", "/auth/mfa/disable"): {"code": "123456"},
    ("POST", "/auth/mfa/backup-codes"): {"code": "123456"},
    ("POST", "/auth/api-keys"): {"name": "ci"},
    ("POST", "/users"): {
        "email": "dave@example.com",
        "full_name": "Dave",
        "password": PASSWORD,
        "role": "viewer",
    },
    ("PATCH", "/users/me"): {"full_name": "Alice A"},
    ("POST", "/users/me/ssh-keys"): {"public_key": SSH_PUBLIC_KEY},
    ("POST", "/users/invitations"): {"email": "erin@example.com", "role": "viewer"},
    ("POST", "/users/invitations/accept"): {"token": "token"},
    ("PATCH", "/users/{id}"): {"full_name": "Bob B"},
    ("PATCH", "/organization"): {"name": "Org A2"},
    ("PATCH", "/settings"): {"discovery_auto": False},
    ("POST", "/monitors"): {"name": "Homepage", "type": "http", "url": "https://example.com/"},
    ("PATCH", "/monitors/{id}"): {"name": "Homepage 2"},
    ("POST", "/monitors/{id}/maintenance"): {
        "starts_at": "2030-01-01T02:00:00Z",
        "ends_at": "2030-01-01T03:00:00Z",
        "timezone": "Europe/Berlin",
        "reason": "database upgrade",
    },
    ("POST", "/incidents"): {"title": "Checkout is slow", "severity": "warning"},
    ("POST", "/incidents/bulk"): {"ids": [1], "action": "acknowledge", "note": "on it"},
    ("POST", "/incidents/{id}/acknowledge"): {"note": "looking"},
    ("POST", "/incidents/{id}/resolve"): {"note": "fixed"},
    ("POST", "/incidents/{id}/notes"): {"text": "restarted the pods"},
    ("POST", "/cloud-accounts"): {
        "name": "prod",
        "provider": "aws",
        "credentials": {"access_key_id": "AKIAEXAMPLEKEY123456", "secret_access_key": "s3cret"},
        "default_region": "us-east-1",
    },
    ("POST", "/cloud-accounts/test"): {
        "provider": "aws",
        "credentials": {"role_arn": "arn:aws:iam::123456789012:role/ro", "external_id": "ext-1"},
        "default_region": "us-east-1",
    },
    ("PATCH", "/cloud-accounts/{id}"): {"name": "prod 2"},
    ("POST", "/resources/bulk-action"): {"ids": [1], "action": "stop"},
    ("POST", "/budgets"): {"name": "compute", "amount": "1500.00", "period": "monthly"},
    ("PATCH", "/budgets/{id}"): {"name": "compute 2"},
    ("POST", "/notifications/channels"): {
        "name": "pager",
        "type": "slack",
        "config": {"url": "https://hooks.slack.com/services/T0/B0/SECRET0000"},
    },
    ("PATCH", "/notifications/channels/{id}"): {"name": "pager 2"},
    ("POST", "/notifications/rules"): {
        "name": "route",
        "events": ["incident.opened"],
        "channel_ids": [1],
    },
    ("PATCH", "/notifications/rules/{id}"): {"name": "route 2"},
    ("POST", "/alert-rules"): {"name": "db down", "trigger_type": "monitor_down"},
    ("PATCH", "/alert-rules/{id}"): {"name": "db down 2"},
    ("PUT", "/alert-rules/{id}/overrides/{agent_id}"): {"threshold": 95.0},
    ("POST", "/alert-rules/{id}/backtest"): {
        "from": "2026-01-01T00:00:00Z",
        "to": "2026-01-02T00:00:00Z",
    },
    ("POST", "/agents"): {"name": "db-1", "tags": ["db"]},
    ("PUT", "/status-pages/global"): {"enabled": True, "title": "Acme Status"},
    ("POST", "/status-pages/clients"): {"name": "Acme"},
    ("PATCH", "/status-pages/clients/{id}"): {"name": "Acme 2"},
    ("POST", "/status-pages/announcements"): {"title": "Slow logins", "body": "Looking"},
    ("PATCH", "/status-pages/announcements/{id}"): {"state": "identified"},
    ("POST", "/public/status/{org_slug}/subscribe"): {"email": "reader@example.com"},
    ("POST", "/public/status/{org_slug}/{client_slug}/subscribe"): {"email": "reader@example.com"},
    ("PATCH", "/agents/{id}"): {"name": "db-2"},
    ("POST", "/billing/checkout"): {"plan": "pro", "interval": "month"},
    ("POST", "/agents/ingest"): {
        "hostname": "db-1",
        "interval_seconds": 10,
        "samples": [
            {
                "ts": "2026-01-01T00:00:00Z",
                "cpu_pct": 1.5,
                "mem_pct": 20.0,
                "mem_used": 1000,
                "net": {"rx_bps": 1.0, "tx_bps": 2.0},
            }
        ],
    },
    ("PATCH", "/admin/organizations/{id}"): {"modules": ["whitelabel"]},
    # A slug that is no organization's: the handler refuses it, nothing is deleted.
    ("DELETE", "/admin/organizations/{id}"): {"confirm": "no-such-org"},
    ("POST", "/admin/organizations/{id}/impersonate"): {"reason": "ticket 1", "minutes": 5},
    ("POST", "/admin/plans"): {
        "code": "team",
        "name": "Team",
        "price_month_cents": 1900,
        "limits": {"users": 5, "history_days": None},
        "modules": ["status_pages"],
    },
    ("PATCH", "/admin/plans/{id}"): {"name": "Free"},
    ("PUT", "/notifications/preferences"): {
        "min_severity": "warning",
        "quiet_hours": {"enabled": True, "start": "22:00", "end": "07:00", "timezone": "UTC"},
    },
}

BODY_ROUTES = [route for route in ROUTES if route.body is not None]
# A valid query for the id routes whose query has a required field: without it the query's
# 400 would come before the id's 404.
REQUIRED_QUERIES = {("GET", "/admin/organizations/{id}/downgrade-preview"): {"plan": "free"}}


def route_id(route: Any) -> str:
    return f"{route.method} {route.path}"


def url(route: Any, id_value: object = 1) -> str:
    path = route.path.replace("{id}", str(id_value)).replace("{agent_id}", "1")
    # Bodies are read before the page is looked up: any slug shows what is refused.
    path = path.replace("{org_slug}", "org-a").replace("{client_slug}", "clients")
    return API_PREFIX + path


# The agent token bad input is sent with to the agents' route, by test client.
_AGENT_TOKENS: weakref.WeakKeyDictionary[TestClient, str] = weakref.WeakKeyDictionary()


async def headers_for(client: TestClient, world: World, route: Any) -> dict[str, str]:
    """alice's headers, or an agent's of her org for a route that takes an agent token.
    For a platform admin's route alice is made one, else the 403 would come before the body
    is read."""
    if route.access is Access.platform_admin:
        async with client.app[SESSIONS]() as db, db.begin():
            await db.execute(
                update(User).where(User.id == world.alice.user_id).values(is_platform_admin=True)
            )
    if route.access is not Access.agent:
        return world.alice.headers
    if client not in _AGENT_TOKENS:
        response = await client.post(
            f"{API_PREFIX}/agents", json={"name": "bad input"}, headers=world.alice.headers
        )
        assert response.status == 201, await response.text()
        _AGENT_TOKENS[client] = (await response.json())["token"]
    return {"Authorization": f"Bearer {_AGENT_TOKENS[client]}"}


def fields(route: Any) -> list[tuple[str, Any]]:
    """A body's fields as JSON names them (`from`, not `from_`)."""
    return [(info.alias or name, info) for name, info in route.body.model_fields.items()]


def field_cases(predicate: Any) -> list[Any]:
    """One case per body route that has fields matching `predicate`, with those fields."""
    cases = []
    for route in BODY_ROUTES:
        names = [name for name, info in fields(route) if predicate(route, name, info)]
        if names:
            cases.append(pytest.param(route, names, id=route_id(route)))
    return cases


def takes_object(route: Any, name: str) -> bool:
    """Whether the field is a free-form object (a channel's config), whose wrong type is
    anything but an object."""
    schema = route.body.model_json_schema()["properties"][name]
    return any(option.get("type") == "object" for option in [schema, *schema.get("anyOf", [])])


def max_length(route: Any, name: str) -> int | None:
    schema = route.body.model_json_schema()["properties"][name]
    for option in [schema, *schema.get("anyOf", [])]:
        if option.get("type") == "string" and "maxLength" in option:
            return int(option["maxLength"])
    return None


async def send(
    client: TestClient, world: World, route: Any, body: Any = None, *, data: bytes | None = None
) -> tuple[int, dict[str, Any]]:
    """The status and JSON of a request as alice; a 500 or a non-JSON error fails at once."""
    response = await client.request(
        route.method,
        url(route),
        json=body if data is None else None,
        data=data,
        headers={**await headers_for(client, world, route), "Content-Type": "application/json"},
    )
    assert response.status < 500, await response.text()
    payload = await response.json() if response.status != 204 else {}
    if response.status >= 400:
        assert isinstance(payload.get("detail"), str) and payload["detail"], payload
    return response.status, payload


def test_every_body_route_has_a_valid_body() -> None:
    missing = [route_id(r) for r in BODY_ROUTES if (r.method, r.path) not in VALID_BODIES]
    assert not missing, f"add these to VALID_BODIES: {missing}"
    for route in BODY_ROUTES:
        route.body.model_validate(VALID_BODIES[route.method, route.path])


# Not an object


NOT_AN_OBJECT = [
    (b'{"email": ', "not valid JSON"),
    (b"\xff\xfe{}", "not valid JSON"),
    (b"NaN-ish garbage", "not valid JSON"),
    (b"[]", "JSON object"),
    (b'[{"name": "x"}]', "JSON object"),
    (b'"just a string"', "JSON object"),
    (b"null", "JSON object"),
    (b"42", "JSON object"),
]


@pytest.mark.parametrize("route", BODY_ROUTES, ids=route_id)
async def test_a_body_that_is_not_a_json_object_is_400(
    client: TestClient, world: World, route: Any
) -> None:
    for raw, detail in NOT_AN_OBJECT:
        status, payload = await send(client, world, route, data=raw)
        assert status == 400, raw
        assert detail in payload["detail"], raw


@pytest.mark.parametrize("route", BODY_ROUTES, ids=route_id)
async def test_no_body_is_400_when_a_field_is_required_else_it_means_no_fields(
    client: TestClient, world: World, route: Any
) -> None:
    status, payload = await send(client, world, route, data=b"")
    required = [name for name, info in fields(route) if info.is_required()]
    if required:
        assert status == 400
        assert "required" in payload["detail"]
    elif issubclass(route.body, UpdateModel):  # a change with no fields changes nothing
        assert status == 400
        assert payload["detail"] == "body: must name at least one field to change"
    else:
        assert status != 400, payload


@pytest.mark.parametrize("route", BODY_ROUTES, ids=route_id)
async def test_an_empty_object_names_a_missing_field_or_is_accepted(
    client: TestClient, world: World, route: Any
) -> None:
    status, payload = await send(client, world, route, {})
    required = [name for name, info in fields(route) if info.is_required()]
    if required:
        assert status == 400
        assert any(f"'{name}'" in payload["detail"] for name in required)


# Field by field


@pytest.mark.parametrize("route", BODY_ROUTES, ids=route_id)
async def test_an_unknown_field_is_400_naming_it(
    client: TestClient, world: World, route: Any
) -> None:
    body = {**VALID_BODIES[route.method, route.path], "is_platform_admin": True}
    status, payload = await send(client, world, route, body)
    assert status == 400
    assert "'is_platform_admin'" in payload["detail"]
    assert payload["errors"][0]["loc"] == ["body", "is_platform_admin"]


@pytest.mark.parametrize(("route", "names"), field_cases(lambda r, n, i: i.is_required()))
async def test_a_missing_required_field_is_400_naming_it(
    client: TestClient, world: World, route: Any, names: list[str]
) -> None:
    for name in names:
        body = dict(VALID_BODIES[route.method, route.path])
        body.pop(name, None)
        status, payload = await send(client, world, route, body)
        assert status == 400, name
        assert f"'{name}'" in payload["detail"]


@pytest.mark.parametrize(("route", "names"), field_cases(lambda r, n, i: True))
async def test_a_field_of_the_wrong_type_is_400_naming_it(
    client: TestClient, world: World, route: Any, names: list[str]
) -> None:
    for name in names:
        wrong = "not an object" if takes_object(route, name) else {"nested": "object"}
        body = {**VALID_BODIES[route.method, route.path], name: wrong}
        status, payload = await send(client, world, route, body)
        assert status == 400, name
        assert f"'{name}" in payload["detail"]


@pytest.mark.parametrize(
    ("route", "names"), field_cases(lambda r, n, i: max_length(r, n) is not None)
)
async def test_a_string_over_its_maximum_is_400_naming_it(
    client: TestClient, world: World, route: Any, names: list[str]
) -> None:
    for name in names:
        limit = max_length(route, name)
        assert limit is not None
        for length in (limit + 1, 900_000):  # the second is under max_body_bytes
            body = {**VALID_BODIES[route.method, route.path], name: "a" * length}
            status, payload = await send(client, world, route, body)
            assert status == 400, (name, length)
            assert f"'{name}'" in payload["detail"]


@pytest.mark.parametrize(
    "body",
    [
        {"organization_id": 0},
        {"organization_id": -1},
        {"organization_id": 99999999999999999999},
        {"organization_id": 1.5},
        {"organization_id": "one"},
    ],
    ids=["zero", "negative", "huge", "float", "string"],
)
async def test_bad_integers_in_a_body_are_a_clean_4xx(
    client: TestClient, world: World, body: dict[str, Any]
) -> None:
    (route,) = [r for r in ROUTES if (r.method, r.path) == ("POST", "/auth/select-org")]
    status, _ = await send(client, world, route, body)
    assert 400 <= status < 500


# Size


@pytest.mark.parametrize("route", BODY_ROUTES, ids=route_id)
async def test_a_body_over_the_limit_is_413(
    client: TestClient, world: World, settings: Any, route: Any
) -> None:
    padding = "x" * (settings.max_body_bytes + 10)
    status, payload = await send(client, world, route, {"padding": padding})
    assert status == 413
    assert "too large" in payload["detail"]


async def test_a_chunked_body_over_the_limit_is_413(
    client: TestClient, world: World, settings: Any
) -> None:
    async def chunks() -> Any:
        yield b'{"email": "'
        for _ in range(settings.max_body_bytes // 65536 + 2):
            yield b"a" * 65536
        yield b'"}'

    response = await client.post(
        API_PREFIX + "/auth/login", data=chunks(), headers={"Content-Type": "application/json"}
    )
    assert response.status == 413
    assert "detail" in await response.json()


async def test_a_body_far_over_the_server_maximum_is_413(
    client: TestClient, world: World, settings: Any
) -> None:
    huge = b"{" + b" " * (settings.max_upload_bytes + 200_000) + b"}"
    response = await client.patch(
        API_PREFIX + "/settings",
        data=huge,
        headers={**world.alice.headers, "Content-Type": "application/json"},
    )
    assert response.status == 413
    assert "detail" in await response.json()


# Strange but valid text


@pytest.mark.parametrize(
    "name",
    [
        "Zoë Ångström",
        "🚀 Rocket 🚀",
        "名前テスト",
        "a\u0000b",
        "\u202eevil",
        "'; DROP TABLE user; --",
    ],
    ids=["accents", "emoji", "cjk", "nul", "rtl", "sql"],
)
async def test_unusual_text_is_stored_or_refused_never_a_500(
    client: TestClient, world: World, name: str
) -> None:
    response = await client.patch(
        API_PREFIX + "/users/me", json={"full_name": name}, headers=world.alice.headers
    )
    assert response.status < 500, await response.text()
    if response.status == 200:
        assert (await response.json())["full_name"] == name
    else:
        assert response.status == 400
        assert "full_name" in (await response.json())["detail"]


TEXT_BODY_ROUTES = [
    route
    for route in BODY_ROUTES
    if any(isinstance(value, str) for value in VALID_BODIES[route.method, route.path].values())
]


@pytest.mark.parametrize("route", TEXT_BODY_ROUTES, ids=route_id)
async def test_a_lone_surrogate_is_never_a_500(
    client: TestClient, world: World, route: Any
) -> None:
    body = VALID_BODIES[route.method, route.path]
    # json.dumps cannot write a lone surrogate escape, so it is spliced into the text.
    marked = {
        name: "@@SURROGATE@@" if isinstance(value, str) else value for name, value in body.items()
    }
    raw = json.dumps(marked).replace("@@SURROGATE@@", "x\\ud800y")
    await send(client, world, route, data=raw.encode())


# Ids in paths


ID_ROUTES = [route for route in ROUTES if "{id}" in route.path]


@pytest.mark.parametrize("route", ID_ROUTES, ids=route_id)
async def test_a_bad_or_unknown_id_is_404(client: TestClient, world: World, route: Any) -> None:
    body = VALID_BODIES.get((route.method, route.path))
    headers = await headers_for(client, world, route)
    params = REQUIRED_QUERIES.get((route.method, route.path))
    for bad_id in ["99999999999999999999", "-1", "0", "abc", "1.5", "1e3", "%20"]:
        response = await client.request(
            route.method, url(route, bad_id), json=body, params=params, headers=headers
        )
        assert response.status == 404, (bad_id, await response.text())
        assert "detail" in await response.json()


@pytest.mark.parametrize(
    "query",
    [
        "page=0",
        "page=-1",
        "page=abc",
        "per_page=0",
        "per_page=201",
        "per_page=99999999999999999999",
        "role=owner",
        "q=" + "a" * 201,
    ],
)
async def test_bad_list_parameters_are_400_naming_them(
    client: TestClient, world: World, query: str
) -> None:
    response = await client.get(f"{API_PREFIX}/users?{query}", headers=world.alice.headers)
    assert response.status == 400
    assert query.split("=")[0] in (await response.json())["detail"]


# Nothing half-written


async def counts(db: AsyncSession) -> tuple[int, int, int]:
    async with db.begin():
        return (
            await db.scalar(select(func.count()).select_from(User)) or 0,
            await db.scalar(select(func.count()).select_from(Membership)) or 0,
            await db.scalar(select(func.count()).select_from(Organization)) or 0,
        )


@pytest.mark.parametrize(
    "body",
    [
        {"email": "bob@example.com", "full_name": "Bob Again", "password": PASSWORD},
        {"email": "weak@example.com", "full_name": "Weak", "password": "123"},
    ],
    ids=["member-already", "weak-password"],
)
async def test_a_failed_member_creation_leaves_no_row(
    client: TestClient, db: AsyncSession, world: World, body: dict[str, Any]
) -> None:
    before = await counts(db)
    response = await client.post(f"{API_PREFIX}/users", json=body, headers=world.alice.headers)
    assert 400 <= response.status < 500, await response.text()
    assert "detail" in await response.json()
    if body["email"] == "bob@example.com":
        assert response.status == 409
    assert await counts(db) == before


@pytest.mark.parametrize(
    "body",
    [
        {
            "email": "alice@example.com",
            "password": PASSWORD,
            "full_name": "Alice Again",
            "organization_name": "Shadow Org",
        },
        {
            "email": "fresh@example.com",
            "password": "123",
            "full_name": "Fresh",
            "organization_name": "Weak Org",
        },
        {
            "email": "fresh@example.com",
            "password": PASSWORD,
            "full_name": "Fresh",
            "invitation_token": "no-such-invitation",
        },
    ],
    ids=["duplicate-email", "weak-password", "bad-invitation"],
)
async def test_a_failed_registration_leaves_no_user_and_no_org(
    client: TestClient, db: AsyncSession, world: World, body: dict[str, Any]
) -> None:
    before = await counts(db)
    response = await client.post(f"{API_PREFIX}/auth/register", json=body)
    assert 400 <= response.status < 500, await response.text()
    assert "detail" in await response.json()
    assert await counts(db) == before


@pytest.mark.parametrize("path", ["/auth/login", "/auth/refresh", "/incidents"])
async def test_a_deeply_nested_body_is_a_400_naming_the_limit(
    client: TestClient,  # type: ignore[type-arg]
    world: World,
    path: str,
) -> None:
    for body in ('{"a": ' + "[" * 1000 + "]" * 1000 + "}", '{"a": ' + "[" * 40 + "]" * 40 + "}"):
        response = await client.post(
            API_PREFIX + path,
            data=body,
            headers={**world.alice.headers, "Content-Type": "application/json"},
        )
        assert response.status == 400
        assert await response.json() == {"detail": "Request body nests deeper than 32 levels"}


async def test_a_body_nested_within_the_limit_is_validated_as_usual(
    client: TestClient,  # type: ignore[type-arg]
    world: World,
) -> None:
    body = '{"title": ' + "[" * 31 + "]" * 31 + ', "severity": "warning"}'
    response = await client.post(
        API_PREFIX + "/incidents",
        data=body,
        headers={**world.alice.headers, "Content-Type": "application/json"},
    )
    assert response.status == 400
    assert (await response.json())["detail"].startswith("body field 'title':")


@pytest.mark.parametrize(
    ("path", "body", "field"),
    [
        ("/incidents", {"title": "db\x00down", "severity": "warning"}, "title"),
        (
            "/incidents",
            {"title": "x", "severity": "warning", "description": "\x1b[2J"},
            "description",
        ),
        ("/monitors", {"name": "a\x07", "type": "http", "url": "https://example.com"}, "name"),
        ("/monitors", {"name": "a", "type": "http", "url": "https://example.com/\x00"}, "url"),
        ("/monitors", {"name": "a", "type": "tcp", "host": "d\rb", "port": 5432}, "host"),
        ("/users/me", {"full_name": "Alice\x9b"}, "full_name"),
    ],
)
async def test_control_characters_in_names_titles_and_urls_are_a_400_naming_the_field(
    client: TestClient,  # type: ignore[type-arg]
    world: World,
    path: str,
    body: dict[str, Any],
    field: str,
) -> None:
    method = client.patch if path == "/users/me" else client.post
    response = await method(API_PREFIX + path, json=body, headers=world.alice.headers)
    assert response.status == 400, await response.text()
    detail = (await response.json())["detail"]
    assert detail.startswith(f"body field '{field}': Value error, must not contain control")


async def test_tabs_and_line_breaks_stay_allowed_in_longer_text(
    client: TestClient,  # type: ignore[type-arg]
    world: World,
) -> None:
    body = {"title": "Checkout slow", "severity": "warning", "description": "p99 up\n\tsince 9:00"}
    response = await client.post(API_PREFIX + "/incidents", json=body, headers=world.alice.headers)
    assert response.status == 201
    assert (await response.json())["description"] == "p99 up\n\tsince 9:00"


# A NUL in any text: PostgreSQL cannot store one, so it is a 400 on either database.


@pytest.mark.parametrize(
    ("method", "path", "body"),
    [
        ("POST", "/budgets", {"name": "b", "amount": "10", "service": "EC2\u0000"}),
        ("GET", "/resources?q=a%00b", None),
        ("GET", "/monitors?tag=a%00", None),
        ("GET", "/public/status/a%00b", None),
    ],
    ids=["body", "query", "tag", "path"],
)
async def test_a_nul_character_in_any_text_is_a_400(
    client: TestClient,  # type: ignore[type-arg]
    world: World,
    method: str,
    path: str,
    body: dict[str, Any] | None,
) -> None:
    response = await client.request(
        method, API_PREFIX + path, json=body, headers=world.alice.headers
    )
    assert response.status == 400, await response.text()
    assert "must not contain a NUL character" in (await response.json())["detail"]
