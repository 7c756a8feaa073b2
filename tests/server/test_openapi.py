"""The OpenAPI document describes every route of the table, its input, security and errors."""

from __future__ import annotations

import json
from typing import Any

import pytest
from aiohttp.test_utils import TestClient
from openapi_spec_validator import validate

from server.app import server_version
from server.http.openapi import build_openapi
from server.http.routing import Access, Route
from server.routes import ROUTES
from shared.api.common import API_PREFIX

ERROR_REF = "#/components/schemas/ErrorResponse"


def route_id(route: Route) -> str:
    return f"{route.method} {route.path}"


@pytest.fixture(scope="module")
def spec() -> dict[str, Any]:
    """The document as served (checked below), built once for the many checks per route."""
    document: dict[str, Any] = json.loads(
        json.dumps(build_openapi(ROUTES, prefix=API_PREFIX, version=server_version()))
    )
    return document


def operation(spec: dict[str, Any], route: Route) -> dict[str, Any]:
    path = spec["paths"].get(API_PREFIX + route.path)
    assert path is not None, f"{route.path} missing from /openapi.json"
    assert route.method.lower() in path, f"{route_id(route)} missing from /openapi.json"
    found: dict[str, Any] = path[route.method.lower()]
    return found


async def test_the_served_document_is_valid_openapi_3_1(
    client: TestClient, spec: dict[str, Any]
) -> None:
    response = await client.get("/openapi.json")
    assert response.status == 200
    assert response.headers["Content-Type"].startswith("application/json")
    served = await response.json()
    assert served == spec
    assert served["openapi"].startswith("3.1")
    validate(served)
    assert spec["components"]["securitySchemes"]["bearer"]["scheme"] == "bearer"


async def test_no_path_is_documented_that_the_table_lacks(spec: dict[str, Any]) -> None:
    declared = {(API_PREFIX + route.path, route.method.lower()) for route in ROUTES}
    documented = {(path, method) for path, item in spec["paths"].items() for method in item}
    assert documented == declared


async def test_operation_ids_are_unique(spec: dict[str, Any]) -> None:
    ids = [op["operationId"] for item in spec["paths"].values() for op in item.values()]
    assert len(ids) == len(set(ids))


@pytest.mark.parametrize("route", ROUTES, ids=route_id)
async def test_every_route_is_documented(spec: dict[str, Any], route: Route) -> None:
    op = operation(spec, route)
    assert op["summary"] and op["tags"] == [route.tag]
    assert str(route.status) in op["responses"]
    for name in route.path_params:
        (parameter,) = [p for p in op["parameters"] if p["name"] == name]
        assert parameter["in"] == "path" and parameter["required"] is True
    if route.query is not None:
        documented = {p["name"] for p in op["parameters"] if p["in"] == "query"}
        expected = {field.alias or name for name, field in route.query.model_fields.items()}
        assert documented == expected


@pytest.mark.parametrize("route", [r for r in ROUTES if r.body is not None], ids=route_id)
async def test_json_body_routes_have_a_request_schema(spec: dict[str, Any], route: Route) -> None:
    assert route.body is not None
    body = operation(spec, route)["requestBody"]
    required = {f.alias or n for n, f in route.body.model_fields.items() if f.is_required()}
    assert body["required"] is bool(required)  # without a body, a route takes no fields
    schema = body["content"]["application/json"]["schema"]
    assert schema["$ref"].endswith(f"/{route.body.__name__}") or route.body.__name__ in str(schema)
    name = schema["$ref"].rsplit("/", 1)[-1]
    component = spec["components"]["schemas"][name]
    assert set(component.get("required", [])) == required
    assert component.get("additionalProperties") is False


@pytest.mark.parametrize("route", [r for r in ROUTES if r.multipart], ids=route_id)
async def test_upload_routes_take_multipart(spec: dict[str, Any], route: Route) -> None:
    content = operation(spec, route)["requestBody"]["content"]
    assert "multipart/form-data" in content


@pytest.mark.parametrize("route", ROUTES, ids=route_id)
async def test_security_matches_the_access_of_the_route(spec: dict[str, Any], route: Route) -> None:
    op = operation(spec, route)
    if route.access is Access.public:
        assert op["security"] == []
        assert ("401" in op["responses"]) == (401 in route.errors)
    elif route.access is Access.agent:
        assert op["security"] == [{"agent": []}]
        assert "401" in op["responses"]
    else:
        assert op["security"] == [{"bearer": []}]
        assert {"401", "403"} <= set(op["responses"])
        assert route.role.value in op["description"]
        if route.module:
            assert route.module in op["description"]


@pytest.mark.parametrize("route", ROUTES, ids=route_id)
async def test_error_responses_use_the_error_schema(spec: dict[str, Any], route: Route) -> None:
    responses = operation(spec, route)["responses"]
    errors = {code: value for code, value in responses.items() if int(code) >= 400}
    assert {"400", "429"} <= set(errors)
    if route.path_params:
        assert "404" in errors
    for code in route.errors:
        assert str(code) in errors
    for code, response in errors.items():
        schema = response["content"]["application/json"]["schema"]
        assert schema == {"$ref": ERROR_REF}, code
    error = spec["components"]["schemas"]["ErrorResponse"]
    assert "detail" in error["required"]


@pytest.mark.parametrize("route", ROUTES, ids=route_id)
async def test_success_responses_describe_their_content(spec: dict[str, Any], route: Route) -> None:
    success = operation(spec, route)["responses"][str(route.status)]
    if route.status == 204 or route.response is None:
        assert "content" not in success
    elif route.content_type:
        assert route.content_type in success["content"]
    else:
        assert "schema" in success["content"]["application/json"]
