"""The HTTP core: health, errors as {"detail"}, request ids, docs without internet."""

from __future__ import annotations

import re

import pytest
from aiohttp import web
from aiohttp.test_utils import TestClient, TestServer
from openapi_spec_validator import validate

from server.app import build_app
from server.config import Settings
from tests.conftest import World


async def test_health_reports_database_ok(client: TestClient) -> None:
    response = await client.get("/health")
    assert response.status == 200
    assert (await response.json())["database"] == "ok"


async def test_unknown_route_is_json_404(client: TestClient) -> None:
    response = await client.get("/api/v1/no-such-thing")
    assert response.status == 404
    assert await response.json() == {"detail": "Not found"}


async def test_wrong_method_is_json_405(client: TestClient) -> None:
    response = await client.delete("/api/v1/auth/login")
    assert response.status == 405
    assert (await response.json())["detail"] == "Method not allowed"


async def test_every_response_carries_a_request_id(client: TestClient) -> None:
    response = await client.get("/health", headers={"X-Request-ID": "trace-123"})
    assert response.headers["X-Request-ID"] == "trace-123"
    response = await client.get("/api/v1/nothing")
    assert re.fullmatch(r"[0-9a-f]{32}", response.headers["X-Request-ID"])


async def test_openapi_is_valid_3_1(client: TestClient) -> None:
    response = await client.get("/openapi.json")
    spec = await response.json()
    assert spec["openapi"].startswith("3.1")
    validate(spec)


async def test_docs_pages_load_only_local_assets(client: TestClient) -> None:
    for page in ("/docs", "/redoc"):
        html = await (await client.get(page)).text()
        assets = re.findall(r'(?:src|href)="([^"]+)"', html)
        assert assets, page
        for asset in assets:
            assert asset.startswith("/"), f"{page} references {asset}"
            assert (await client.get(asset)).status == 200, asset


async def test_unexpected_error_is_500_without_internals(settings: Settings) -> None:
    app = build_app(settings)

    async def boom(_request: web.Request) -> web.Response:
        raise RuntimeError("secret internals: /etc/passwd")

    app.router.add_get("/api/v1/boom", boom)
    async with TestClient(TestServer(app, host="127.0.0.1")) as client:
        response = await client.get("/api/v1/boom")
        assert response.status == 500
        body = await response.json()
        assert body["detail"].startswith("Internal server error")
        assert "secret" not in body["detail"] and "Traceback" not in await response.text()


async def test_caller_is_checked_before_the_body_is_validated(
    client: TestClient, world: World
) -> None:
    anonymous = await client.post("/api/v1/users", data=b"{not json")
    assert anonymous.status == 401
    viewer = await client.post("/api/v1/users", json={"email": 5}, headers=world.bob.headers)
    assert viewer.status == 403
    assert "superadmin" in (await viewer.json())["detail"]


@pytest.mark.parametrize(
    ("method", "path", "allow"),
    [
        ("PATCH", "/budgets/status", "GET"),
        ("PATCH", "/monitors/summary", "GET"),
        ("PATCH", "/cloud-accounts/test", "POST"),
        ("PATCH", "/users/invitations", "GET,POST"),
        ("OPTIONS", "/incidents/bulk", "POST"),
    ],
)
async def test_a_missing_method_on_a_named_path_is_405_with_that_paths_allow_header(
    client: TestClient,  # type: ignore[type-arg]
    world: World,
    method: str,
    path: str,
    allow: str,
) -> None:
    response = await client.request(method, "/api/v1" + path, headers=world.alice.headers)
    assert response.status == 405
    assert response.headers["Allow"] == allow
    assert await response.json() == {"detail": "Method not allowed"}


async def test_an_id_that_is_not_a_number_is_404(
    client: TestClient,  # type: ignore[type-arg]
    world: World,
) -> None:
    for path in ("/monitors/abc", "/monitors/1234567890123456789012", "/incidents/1e3"):
        response = await client.get("/api/v1" + path, headers=world.alice.headers)
        assert response.status == 404, path
