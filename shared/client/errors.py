"""Typed errors: what the server said (`detail`, status, `errors`) or why it was unreachable."""

from __future__ import annotations

from typing import Any

from shared.api.common import ErrorItem


class ClientError(Exception):
    """Base of everything the client raises; `str(exc)` is a readable sentence."""


class ApiConnectionError(ClientError):
    """The server could not be reached (refused, DNS, TLS, timeout); nothing was answered."""

    def __init__(self, message: str, *, url: str) -> None:
        super().__init__(message)
        self.url = url


class ApiError(ClientError):
    """The server answered with an error status; `detail` is its human-readable message."""

    status: int = 0

    def __init__(
        self,
        detail: str,
        *,
        status: int,
        errors: list[ErrorItem] | None = None,
        headers: dict[str, str] | None = None,
    ) -> None:
        super().__init__(detail)
        self.detail = detail
        self.status = status
        self.errors = errors or []
        self.headers = headers or {}

    def __repr__(self) -> str:
        return f"{type(self).__name__}(status={self.status}, detail={self.detail!r})"


class BadRequest(ApiError):
    """400 (validation: `errors` names the fields) or 413 (body too large)."""


class Unauthorized(ApiError):
    """401: missing, invalid or expired credentials (after one refresh attempt)."""


class Forbidden(ApiError):
    """403: role too low, plan module missing or a plan limit reached."""


class NotFound(ApiError):
    """404: no such object in this organization."""


class Conflict(ApiError):
    """409: duplicate or wrong state."""


class RateLimited(ApiError):
    """429 after the client's bounded retries; `retry_after` is the server's last hint."""

    def __init__(self, detail: str, *, retry_after: float | None = None, **kwargs: Any) -> None:
        super().__init__(detail, **kwargs)
        self.retry_after = retry_after


class ServerError(ApiError):
    """5xx: the server failed; retrying later may help."""


_BY_STATUS: dict[int, type[ApiError]] = {
    400: BadRequest,
    401: Unauthorized,
    403: Forbidden,
    404: NotFound,
    409: Conflict,
    413: BadRequest,
    422: BadRequest,
}


def error_class(status: int) -> type[ApiError]:
    if status == 429:
        return RateLimited
    if status >= 500:
        return ServerError
    return _BY_STATUS.get(status, ApiError)
