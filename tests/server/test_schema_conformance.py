"""The served OpenAPI document is true: schemathesis runs every operation against the server,
with every check, a superadmin's token and real object ids, and finds nothing; and the
defects it once found stay fixed (strict types, empty changes, nulls, query times, 405s)."""

from __future__ import annotations

import asyncio
import re
from typing import Any

import pytest
from aiohttp.test_utils import TestClient
from sqlalchemy import update

from server.auth.passwords import check_policy
from server.billing.models import Invoice
from server.config import Settings
from server.context import SESSIONS
from server.http.errors import BadRequest
from server.http.routing import Access
from server.routes import ROUTES
from server.users.models import User
from shared.api.auth import RegisterRequest
from tests.builders import PASSWORD
from tests.conformance import config, run, seed
from tests.conftest import World

API = "/api/v1"
# Small enough for the suite; benchmarks/fuzz.py runs more. The coverage phase's cases are
# a fixed cost (about 4,000 here), so the test takes about 3.5 minutes on two cores.
MAX_EXAMPLES = 5


@pytest.fixture
def settings(settings: Settings) -> Settings:
    """The suite's settings with live-event streams that end: schemathesis reads a response
    to its end, and an endless stream held each GET /events case for a minute."""
    return settings.model_copy(update={"sse_max_seconds": 1.0})


# Above the suite's 300 s: a machine shared with other runs must not fail it on time alone.
@pytest.mark.timeout(900)
@pytest.mark.runs_long
async def test_every_operation_conforms_to_the_served_document(
    aws: str,
    client: TestClient,  # type: ignore[type-arg]
    world: World,
) -> None:
    async with client.app[SESSIONS]() as db, db.begin():  # invoices come from Stripe only
        db.add(Invoice(org_id=world.org_a, number=1, status="paid", total_cents=1900))
    base_url = str(client.make_url("")).rstrip("/")
    objects = await asyncio.to_thread(seed, base_url, world.alice.email, PASSWORD, aws)
    passes = [
        config(base_url, objects, max_examples=MAX_EXAMPLES, seed=16, stateful=stateful)
        for stateful in (False, True)
    ]
    outcome = await asyncio.to_thread(run, base_url, passes)
    report = "\n".join([*outcome.errors, *outcome.failures])
    document = await (await client.get("/openapi.json")).json()
    assert outcome.operations == sum(len(item) for item in document["paths"].values())
    assert outcome.cases > 1000
    assert outcome.server_errors == 0, report
    assert not outcome.errors, report
    assert not outcome.failures, report


async def post(
    client: TestClient,  # type: ignore[type-arg]
    world: World,
    method: str,
    path: str,
    **kwargs: Any,
) -> tuple[int, dict[str, Any]]:
    headers = {**world.alice.headers, **kwargs.pop("headers", {})}
    response = await client.request(method, API + path, headers=headers, **kwargs)
    return response.status, await response.json()


@pytest.mark.parametrize(
    ("method", "path", "body", "field"),
    [
        ("POST", "/cloud-accounts", {"cloudwatch_enabled": 0}, "cloudwatch_enabled"),
        ("PATCH", "/monitors/1", {"paused": 0}, "paused"),
        ("PATCH", "/settings", {"discovery_auto": "true"}, "discovery_auto"),
        ("POST", "/resources/bulk-action", {"ids": ["1"], "action": "stop"}, "ids.0"),
        ("POST", "/budgets", {"name": "b", "amount": 100}, "amount"),
        ("POST", "/budgets", {"name": "b", "amount": ""}, "amount"),
    ],
)
async def test_bodies_take_the_json_types_their_schema_states(
    client: TestClient,  # type: ignore[type-arg]
    world: World,
    method: str,
    path: str,
    body: dict[str, Any],
    field: str,
) -> None:
    """`0` is not a boolean nor `"1"` an id nor `100` a money string (lax validation took
    them, where the document says boolean, integer, decimal string)."""
    status, answer = await post(client, world, method, path, json=body)
    assert status == 400, answer
    named = {".".join(str(part) for part in error["loc"]) for error in answer["errors"]}
    assert f"body.{field}" in named, answer


PATCH_ROUTES = [route for route in ROUTES if route.method == "PATCH"]


@pytest.mark.parametrize("route", PATCH_ROUTES, ids=lambda route: route.path)
@pytest.mark.parametrize("body", [{}, None], ids=["empty-object", "no-body"])
async def test_a_change_names_at_least_one_field(
    client: TestClient,  # type: ignore[type-arg]
    world: World,
    route: Any,
    body: dict[str, Any] | None,
) -> None:
    path = route.path.replace("{id}", str(world.bob.user_id))
    if route.access is Access.platform_admin:  # else refused before the body is read
        async with client.app[SESSIONS]() as db, db.begin():
            await db.execute(
                update(User).where(User.id == world.alice.user_id).values(is_platform_admin=True)
            )
    status, answer = await post(client, world, "PATCH", path, json=body)
    assert status == 400, answer
    assert answer["detail"] == "body: must name at least one field to change"


async def test_the_document_says_a_change_names_a_field_and_which_fields_take_null(
    client: TestClient,  # type: ignore[type-arg]
) -> None:
    document = await (await client.get("/openapi.json")).json()
    schemas = document["components"]["schemas"]

    def body_of(path: str) -> dict[str, Any]:
        body = document["paths"][API + path]["patch"]["requestBody"]
        ref: str = body["content"]["application/json"]["schema"]["$ref"]
        schema: dict[str, Any] = schemas[ref.rsplit("/", 1)[-1]]
        return schema

    for route in PATCH_ROUTES:
        assert body_of(route.path)["minProperties"] == 1
    budget = body_of("/budgets/{id}")["properties"]
    assert "anyOf" not in budget["name"] and budget["name"]["type"] == "string"
    assert {"type": "null"} in budget["service"]["anyOf"]  # null widens the budget again


@pytest.mark.parametrize(
    ("path", "body", "field"),
    [("/budgets/{id}", {"name": None}, "name"), ("/monitors/{id}", {"paused": None}, "paused")],
)
async def test_null_is_refused_on_fields_that_cannot_be_cleared(
    client: TestClient,  # type: ignore[type-arg]
    world: World,
    path: str,
    body: dict[str, Any],
    field: str,
) -> None:
    status, answer = await post(client, world, "PATCH", path.replace("{id}", "1"), json=body)
    assert status == 400, answer
    assert answer["detail"] == f"body field '{field}': cannot be null"


@pytest.mark.parametrize("path", ["/incidents", "/audit-logs", "/audit-logs/export"])
@pytest.mark.parametrize("value", ["0.5", "1700000000"])
async def test_query_times_are_iso_8601_not_numbers(
    client: TestClient,  # type: ignore[type-arg]
    world: World,
    path: str,
    value: str,
) -> None:
    status, answer = await post(client, world, "GET", path, params={"to": value})
    assert status == 400, answer
    assert answer["detail"].startswith("query field 'to': ")
    params = {"to": "2030-01-01T00:00:00Z"}
    response = await client.get(API + path, params=params, headers=world.alice.headers)
    assert response.status == 200


async def test_a_check_filter_names_only_statuses_a_check_can_have(
    client: TestClient,  # type: ignore[type-arg]
    world: World,
) -> None:
    """`paused` is a monitor's state, never a check's: it was a 500 from the column type."""
    body = {"name": "Site", "type": "http", "url": "https://example.com/"}
    _, monitor = await post(client, world, "POST", "/monitors", json=body)
    status, answer = await post(
        client, world, "GET", f"/monitors/{monitor['id']}/checks", params={"status": "paused"}
    )
    assert status == 400 and answer["detail"].startswith("query field 'status'"), answer


async def test_a_multipart_part_header_with_control_characters_is_a_400(
    client: TestClient,  # type: ignore[type-arg]
    world: World,
) -> None:
    boundary = "b0undary"
    body = (
        f'--{boundary}\r\nContent-Disposition: form-data; name="x\x10y"\r\n\r\n{{}}\r\n'
        f"--{boundary}--\r\n"
    ).encode()
    headers = {"Content-Type": f"multipart/form-data; boundary={boundary}"}
    status, answer = await post(client, world, "PUT", "/organization/logo", data=body,
                                headers=headers)  # fmt: skip
    assert status == 400 and answer["detail"].startswith("Malformed multipart body"), answer


@pytest.mark.parametrize(
    ("method", "path", "allowed"),
    [
        ("OPTIONS", "/incidents/bulk", {"POST"}),
        ("PATCH", "/budgets/status", {"GET"}),
        ("PATCH", "/monitors/summary", {"GET"}),
        ("PATCH", "/cloud-accounts/test", {"POST"}),
        ("PATCH", "/users/invitations", {"GET", "POST"}),
    ],
)
async def test_a_method_a_path_lacks_is_a_405_listing_the_ones_it_has(
    client: TestClient,  # type: ignore[type-arg]
    world: World,
    method: str,
    path: str,
    allowed: set[str],
) -> None:
    response = await client.request(method, API + path, headers=world.alice.headers)
    assert response.status == 405
    assert set(response.headers["Allow"].split(",")) == allowed
    assert (await response.json())["detail"]


def _policy_pattern() -> str:
    schema = RegisterRequest.model_json_schema()["properties"]["password"]
    pattern: str = schema["pattern"]
    return pattern


@pytest.mark.parametrize(
    "password",
    [
        PASSWORD,
        "correct-horse-42!",
        "CORRECT-HORSE-42!",
        "Correct-Horse-!!",
        "CorrectHorse42x",
        "Short-1a!",
        "ÉCLAIR-éclair-42",  # non-ASCII letters count as special characters, not as cases
        "Éclair-éclair-42",
        " Correct-Horse-42! ",
        "Correct Horse 42 ",
    ],
)
async def test_the_documented_password_pattern_is_the_policy_the_server_applies(
    password: str,
) -> None:
    try:
        check_policy(password)
        accepted = True
    except BadRequest:
        accepted = False
    assert accepted == bool(re.fullmatch(_policy_pattern(), password))


@pytest.mark.parametrize(
    "email", ["dave@example.com", "dave@example.test", "x@mail.LOCAL", "x@localhost", "x@test.io"]
)
async def test_the_documented_email_pattern_refuses_what_the_validator_refuses(
    client: TestClient,  # type: ignore[type-arg]
    world: World,
    email: str,
) -> None:
    """Special-use domains (RFC 6761) are refused by the validator: the document says so."""
    schema = RegisterRequest.model_json_schema()["properties"]["email"]
    body = {"email": email, "role": "viewer"}
    status, answer = await post(client, world, "POST", "/users/invitations", json=body)
    assert (status == 201) == bool(re.search(schema["pattern"], email)), answer


@pytest.mark.parametrize("path", ["/jobs", "/costs/summary", "/resources"])
async def test_a_query_integer_beyond_64_bits_is_a_400(
    client: TestClient,  # type: ignore[type-arg]
    world: World,
    path: str,
) -> None:
    """It reached the database driver, which cannot bind it: a 500."""
    status, answer = await post(client, world, "GET", path, params={"account_id": str(2**63)})
    assert status == 400, answer
    assert answer["detail"] == "query field 'account_id': integer out of range"


async def test_the_document_bounds_every_integer_to_64_bits(
    client: TestClient,  # type: ignore[type-arg]
) -> None:
    document = await (await client.get("/openapi.json")).json()
    found: list[dict[str, Any]] = []

    def walk(node: Any) -> None:
        if isinstance(node, dict):
            if node.get("type") == "integer":
                found.append(node)
            for value in node.values():
                walk(value)
        elif isinstance(node, list):
            for value in node:
                walk(value)

    walk(document)
    assert found
    for schema in found:
        assert schema.get("maximum", schema.get("exclusiveMaximum", 2**64)) <= 2**63 - 1
        assert schema.get("minimum", schema.get("exclusiveMinimum", -(2**64))) >= -(2**63)


async def test_a_cloud_account_name_differing_only_beyond_ascii_case_is_a_409(
    client: TestClient,  # type: ignore[type-arg]
    world: World,
) -> None:
    """SQLite's lower() folds ASCII only: a repeated name like "Ⱥ" reached the unique index."""
    body = {
        "name": "Ⱥccount",
        "provider": "aws",
        "credentials": {"access_key_id": "AKIAEXAMPLEKEY0AB12", "secret_access_key": "x/y"},
    }
    first, _ = await post(client, world, "POST", "/cloud-accounts", json=body)
    assert first == 201
    again, answer = await post(client, world, "POST", "/cloud-accounts", json=body)
    assert again == 409 and answer["detail"].startswith("name: "), answer
