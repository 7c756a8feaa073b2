"""OpenAPI 3.1 document built from the route table and the shared pydantic models."""

from __future__ import annotations

from types import UnionType
from typing import Any, Union, get_args, get_origin

from pydantic import BaseModel
from pydantic.json_schema import JsonSchemaMode, models_json_schema

from server.http.routing import INT64, Access, Route
from shared.api.common import ErrorResponse
from shared.api.events import EventData, event_types

_REF = "#/components/schemas/{model}"
_STATUS_TEXT = {
    200: "OK",
    201: "Created",
    202: "Accepted",
    204: "No content",
    400: "Invalid input",
    401: "Missing, invalid or expired token",
    403: "Role too low, plan module missing or limit reached",
    404: "Not found",
    409: "Conflict",
    413: "Body too large",
    429: "Rate limited",
    503: "A provider (payments) did not answer; try again",
}


def build_openapi(routes: list[Route], *, prefix: str, version: str) -> dict[str, Any]:
    models = _collect_models(routes)
    modes: tuple[JsonSchemaMode, ...] = ("validation", "serialization")
    keyed = [(model, mode) for model in models for mode in modes]
    # Events are only ever read: their validation schema holds `event_type`, the SSE name.
    keyed += [(model, "validation") for model in _event_models(routes)]
    refs, defs = models_json_schema(keyed, ref_template=_REF)
    schemas = defs.get("$defs", {})
    paths: dict[str, dict[str, Any]] = {}
    for route in routes:
        operation = _operation(route, refs)
        paths.setdefault(prefix + route.path, {})[route.method.lower()] = operation
    _bound_integers(schemas)
    _bound_integers(paths)
    return {
        "openapi": "3.1.0",
        "info": {
            "title": "Upmetr API",
            "version": version,
            "description": "Uptime monitors, incidents, cloud resources and costs, behind one API.",
        },
        "servers": [{"url": "/"}],
        "paths": paths,
        "components": {
            "schemas": schemas,
            "securitySchemes": {
                "bearer": {
                    "type": "http",
                    "scheme": "bearer",
                    "description": "An access JWT from /auth/login or an API key (upk_...).",
                },
                "agent": {
                    "type": "http",
                    "scheme": "bearer",
                    "description": "An infra agent's token (upa_...), from POST /agents.",
                },
            },
        },
    }


def _bound_integers(node: Any) -> None:
    """Every integer is a 64-bit one (the server refuses others with a 400): each integer
    schema without a bound of its own gets that one."""
    if isinstance(node, dict):
        if node.get("type") == "integer":
            if "minimum" not in node and "exclusiveMinimum" not in node:
                node["minimum"] = INT64[0]
            if "maximum" not in node and "exclusiveMaximum" not in node:
                node["maximum"] = INT64[1]
        for value in node.values():
            _bound_integers(value)
    elif isinstance(node, list):
        for value in node:
            _bound_integers(value)


def _is_model(value: Any) -> bool:
    return isinstance(value, type) and issubclass(value, BaseModel)


def _members(value: Any) -> tuple[Any, ...]:
    """The models inside `list[X]` or `X | Y` response types, else the value itself."""
    if get_origin(value) in (list, Union, UnionType):
        return get_args(value)
    return (value,)


def _collect_models(routes: list[Route]) -> list[type[BaseModel]]:
    seen: dict[type[BaseModel], None] = {ErrorResponse: None}
    for route in routes:
        for declared in (route.body, route.response, route.also_json):
            for model in _members(declared):
                if _is_model(model):
                    seen[model] = None
    return list(seen)


def _event_models(routes: list[Route]) -> list[type[EventData]]:
    return list(dict.fromkeys(model for route in routes for model in route.events))


def _event_stream(route: Route, refs: dict[Any, Any]) -> dict[str, Any]:
    """An event stream's response: each frame's `event:` names a type, its `data:` is that
    type's schema without `event_type` (OpenAPI 3.1 cannot describe the items of a stream,
    so the union is an `x-events` extension beside a string schema)."""
    mapping = {
        name: refs[(model, "validation")]["$ref"]
        for model in route.events
        for name in event_types(model)
    }
    names = ", ".join(f"`{name}` ({ref.rsplit('/', 1)[-1]})" for name, ref in mapping.items())
    return {
        "description": "Server-Sent Events: `id:` the event id (the resume point), `event:` "
        "the type, `data:` a JSON object, the schema of that type without `event_type`. "
        f"Types: {names}. A client ignores types it does not know.",
        "content": {
            route.content_type or "text/event-stream": {
                # Before OpenAPI 3.2's `itemSchema`, a stream's `schema` describes one event.
                "schema": _SSE_EVENT,
                "x-events": {
                    "oneOf": [dict(refs[(model, "validation")]) for model in route.events],
                    "discriminator": {"propertyName": "event_type", "mapping": mapping},
                },
            }
        },
    }


_SSE_EVENT = {
    "type": "object",
    "required": ["data"],
    "properties": {
        "id": {"type": "string"},
        "event": {"type": "string"},
        "data": {"type": "string", "contentMediaType": "application/json"},
        "retry": {"type": "integer", "minimum": 0},
    },
}


def _schema_ref(model: Any, refs: dict[Any, Any], mode: str) -> dict[str, Any]:
    if _is_model(model):
        return dict(refs[(model, mode)])
    if get_origin(model) is list:
        return {"type": "array", "items": _schema_ref(get_args(model)[0], refs, mode)}
    if get_origin(model) in (Union, UnionType):
        return {"oneOf": [_schema_ref(member, refs, mode) for member in get_args(model)]}
    raise TypeError(f"cannot describe response type {model!r}")


def _operation(route: Route, refs: dict[Any, Any]) -> dict[str, Any]:
    operation: dict[str, Any] = {
        "summary": route.summary,
        "operationId": f"{route.tag}_{route.handler.__name__}".replace("-", "_"),
        "tags": [route.tag],
        "responses": _responses(route, refs),
    }
    if route.description:
        operation["description"] = route.description
    parameters = [
        {
            "name": name,
            "in": "path",
            "required": True,
            "schema": {"type": "integer"}
            if name == "id" or name.endswith("_id")
            else {"type": "string"},
        }
        for name in route.path_params
    ]
    if route.query is not None:
        parameters += _query_parameters(route.query)
    if parameters:
        operation["parameters"] = parameters
    if route.body is not None:
        operation["requestBody"] = {
            # No body means no fields (routing._parse_body): required only when a field is.
            "required": any(field.is_required() for field in route.body.model_fields.values()),
            "content": {
                "application/json": {"schema": _schema_ref(route.body, refs, "validation")}
            },
        }
    elif route.multipart:
        operation["requestBody"] = {
            "required": True,
            "content": {
                "multipart/form-data": {
                    "schema": {
                        "type": "object",
                        "properties": {"file": {"type": "string", "format": "binary"}},
                        "required": ["file"],
                    }
                }
            },
        }
    if route.access is Access.public:
        operation["security"] = []
    elif route.access is Access.agent:
        operation["security"] = [{"agent": []}]
        operation["description"] = route.description
    else:
        operation["security"] = [{"bearer": []}]
        notes = [f"Requires role `{route.role.value}` or above."]
        if route.access is Access.platform_admin:
            notes.append("Platform admins only.")
        if route.module:
            notes.append(f"Requires the `{route.module}` plan module.")
        operation["description"] = " ".join([route.description, *notes]).strip()
    return operation


def _query_parameters(model: type[BaseModel]) -> list[dict[str, Any]]:
    schema = model.model_json_schema(ref_template=_REF, by_alias=True)
    required = set(schema.get("required", []))
    return [
        {"name": name, "in": "query", "required": name in required, "schema": prop}
        for name, prop in schema.get("properties", {}).items()
    ]


def _responses(route: Route, refs: dict[Any, Any]) -> dict[str, Any]:
    responses: dict[str, Any] = {}
    if route.response is None or route.status == 204:
        responses[str(route.status)] = {"description": _STATUS_TEXT.get(route.status, "OK")}
    elif route.events:
        responses[str(route.status)] = _event_stream(route, refs)
    elif route.content_type:
        content = {route.content_type: {"schema": {"type": "string"}}}
        if route.also_json is not None:
            content["application/json"] = {
                "schema": _schema_ref(route.also_json, refs, "serialization")
            }
        responses[str(route.status)] = {
            "description": _STATUS_TEXT.get(route.status, "OK"),
            "content": content,
        }
    else:
        for status in (route.status, *route.also):
            responses[str(status)] = {
                "description": _STATUS_TEXT.get(status, "OK"),
                "content": {
                    "application/json": {
                        "schema": _schema_ref(route.response, refs, "serialization")
                    }
                },
            }
    error_codes = {400, 429, *route.errors}
    if route.access is not Access.public:
        error_codes |= {401, 403}
    if route.path_params:
        error_codes.add(404)
    error = {"application/json": {"schema": dict(refs[(ErrorResponse, "serialization")])}}
    for code in sorted(error_codes):
        responses[str(code)] = {"description": _STATUS_TEXT[code], "content": error}
    return responses
