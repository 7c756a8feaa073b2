"""API errors and their mapping to `{"detail": ...}` responses."""

from __future__ import annotations

import logging
from typing import Any

from aiohttp import web
from pydantic import ValidationError

from server.http.middleware import REQUEST_ID

log = logging.getLogger("upmetr.http")


class ApiError(Exception):
    status = 500
    default_detail = "Internal server error"

    def __init__(self, detail: str | None = None, *, headers: dict[str, str] | None = None):
        super().__init__(detail or self.default_detail)
        self.detail = detail or self.default_detail
        self.headers = headers or {}


class BadRequest(ApiError):
    status = 400
    default_detail = "Bad request"


class Unauthorized(ApiError):
    status = 401
    default_detail = "Not authenticated"

    def __init__(self, detail: str | None = None):
        super().__init__(detail, headers={"WWW-Authenticate": "Bearer"})


class Forbidden(ApiError):
    status = 403
    default_detail = "Not allowed"


class NotFound(ApiError):
    status = 404
    default_detail = "Not found"


class Conflict(ApiError):
    status = 409
    default_detail = "Conflict"


class PayloadTooLarge(ApiError):
    status = 413
    default_detail = "Request body too large"


class TooManyRequests(ApiError):
    status = 429
    default_detail = "Too many requests"

    def __init__(self, detail: str | None = None, *, retry_after: int):
        super().__init__(detail, headers={"Retry-After": str(max(1, retry_after))})
        self.retry_after = max(1, retry_after)


def json_error(status: int, detail: str, **extra: Any) -> web.Response:
    return web.json_response({"detail": detail, **extra}, status=status)


def _loc_name(loc: tuple[int | str, ...]) -> str:
    return ".".join(str(part) for part in loc) or "body"


def validation_error(exc: ValidationError, where: str) -> web.Response:
    """400 naming the first bad field, with every error listed (contract: 400, not 422)."""
    errors = [
        {"loc": [where, *err["loc"]], "msg": err["msg"]}
        for err in exc.errors(include_url=False, include_context=False, include_input=False)
    ]
    first = exc.errors()[0]
    if first["loc"]:
        detail = f"{where} field '{_loc_name(first['loc'])}': {first['msg']}"
    else:  # a rule of the whole body or query, such as naming at least one field to change
        detail = f"{where}: {first['msg']}"
    return json_error(400, detail, errors=errors)


@web.middleware
async def error_middleware(request: web.Request, handler: Any) -> web.StreamResponse:
    try:
        response: web.StreamResponse = await handler(request)
        return response
    except ApiError as exc:
        response = json_error(exc.status, exc.detail)
        response.headers.update(exc.headers)
        return response
    except web.HTTPRequestEntityTooLarge as exc:  # its text names the limit
        return json_error(413, f"Request body too large: {exc.text}")
    except web.HTTPException as exc:
        if exc.status < 400:
            raise
        response = json_error(exc.status, _http_detail(exc))
        for name in ("Allow", "Retry-After", "WWW-Authenticate"):
            if name in exc.headers:
                response.headers[name] = exc.headers[name]
        return response
    except Exception:
        log.exception("unhandled error on %s %s", request.method, request.path)
        request_id = request.get(REQUEST_ID, "")
        return json_error(500, f"Internal server error (request id {request_id})")


def _http_detail(exc: web.HTTPException) -> str:
    if exc.status == 404:
        return "Not found"
    if exc.status == 405:
        return "Method not allowed"
    return exc.reason


class ServiceUnavailable(ApiError):
    status = 503
    default_detail = "Temporarily unavailable; try again"
