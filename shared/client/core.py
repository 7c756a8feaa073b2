"""Executing calls: auth headers, one refresh on 401, 429 back-off, typed errors.

`_CoreBase` holds the state and every decision; `SyncCore` and `AsyncCore` differ only in
how they wait for the network, so the two clients behave identically.
"""

from __future__ import annotations

import asyncio
import contextlib
import email.utils
import json
import time
from collections.abc import Awaitable, Callable
from datetime import UTC, datetime
from importlib.metadata import PackageNotFoundError, version
from typing import Any, TypeVar

import httpx

from shared.api.auth import TokenPair
from shared.api.common import API_PREFIX, ErrorResponse
from shared.client.call import Call, parse_as
from shared.client.errors import ApiConnectionError, ApiError, RateLimited, error_class

T = TypeVar("T")

DEFAULT_TIMEOUT = httpx.Timeout(30.0, connect=10.0)
TokenCallback = Callable[[TokenPair], None]
# Told the seconds the server asked to wait on each 429 (a console shows them).
RateLimitCallback = Callable[[float], None]


def client_version() -> str:
    try:
        return version("upmetr")
    except PackageNotFoundError:  # running from a checkout
        return "0.0.0+dev"


USER_AGENT = f"upmetr-client/{client_version()}"


def normalize_base_url(url: str) -> str:
    """`http://host:8080`, `http://host:8080/` and `.../api/v1/` all mean `.../api/v1`."""
    url = url.strip()
    if "://" not in url:
        url = f"http://{url}"
    url = url.rstrip("/")
    if not url.endswith(API_PREFIX):
        url += API_PREFIX
    return url


def retry_after_seconds(response: httpx.Response) -> float | None:
    """`Retry-After` as seconds: delta-seconds or an HTTP date (RFC 9110 section 10.2.3)."""
    value = response.headers.get("Retry-After")
    if not value:
        return None
    try:
        return max(0.0, float(value))
    except ValueError:
        pass
    try:
        when = email.utils.parsedate_to_datetime(value)
    except (TypeError, ValueError):
        return None
    if when.tzinfo is None:
        when = when.replace(tzinfo=UTC)
    return max(0.0, (when - datetime.now(UTC)).total_seconds())


class _CoreBase:
    def __init__(
        self,
        base_url: str,
        *,
        access_token: str | None,
        refresh_token: str | None,
        api_key: str | None,
        on_tokens: TokenCallback | None,
        max_retries: int,
        max_retry_wait: float,
    ) -> None:
        self.base_url = normalize_base_url(base_url)
        self.access_token = access_token
        self.refresh_token = refresh_token
        self.api_key = api_key
        self.on_tokens = on_tokens
        self.max_retries = max_retries
        self.max_retry_wait = max_retry_wait
        self.on_rate_limited: RateLimitCallback | None = None
        # time.monotonic() until which the server asked for no more requests (429).
        self.rate_limited_until: float | None = None

    # -- decisions shared by both cores ------------------------------------------------
    def _bearer(self) -> str | None:
        return self.api_key or self.access_token

    def _request(self, http: httpx.Client | httpx.AsyncClient, call: Call[Any]) -> httpx.Request:
        headers = {"Accept": "application/json"}
        token = self._bearer()
        if token and call.authenticated:
            headers["Authorization"] = f"Bearer {token}"
        return http.build_request(
            call.method,
            call.path.lstrip("/"),
            params=call.params,
            json=call.json,
            headers=headers,
        )

    def _can_refresh(self, call: Call[Any], sent_with: str | None) -> bool:
        # API keys do not expire into refreshes; a 401 with a key is final.
        return call.authenticated and self.api_key is None and bool(self.refresh_token)

    def _retry_wait(self, response: httpx.Response, attempt: int) -> float | None:
        """Seconds to wait before retrying a 429, or None when retries are spent."""
        if response.status_code != 429:
            self.rate_limited_until = None  # answered: the server takes requests again
            return None
        hinted = retry_after_seconds(response)
        wait = hinted if hinted is not None else float(2**attempt)
        self.rate_limited(wait)
        if attempt >= self.max_retries:
            return None
        return min(wait, self.max_retry_wait)

    def rate_limited(self, seconds: float) -> None:
        """Note a 429 asking to wait `seconds` (`Retry-After`), and tell `on_rate_limited`."""
        until = time.monotonic() + seconds
        if self.rate_limited_until is None or until > self.rate_limited_until:
            self.rate_limited_until = until
        if self.on_rate_limited is not None:
            self.on_rate_limited(seconds)

    def rate_limit_left(self) -> float:
        """Seconds until the server's last 429 allows requests again (0 when it does)."""
        if self.rate_limited_until is None:
            return 0.0
        return max(0.0, self.rate_limited_until - time.monotonic())

    def _hold_before_sending(self) -> float:
        """Seconds a new request waits first: the rest of a `Retry-After` another request
        was told (RFC 9110 section 10.2.3: wait that long before a follow-up request);
        sent now, it would only be refused too."""
        return min(self.rate_limit_left(), self.max_retry_wait)

    def _refresh_call(self) -> Call[TokenPair]:
        return Call(
            "POST",
            "/auth/refresh",
            parse_as(TokenPair),
            json={"refresh_token": self.refresh_token},
            authenticated=False,
            adopt_tokens=True,
        )

    def adopt(self, tokens: TokenPair) -> None:
        self.access_token = tokens.access_token
        self.refresh_token = tokens.refresh_token
        if self.on_tokens is not None:
            self.on_tokens(tokens)

    def _finish(self, call: Call[T], response: httpx.Response) -> T:
        if response.is_error:
            raise _error(response)
        if call.stream_to is not None or response.status_code == 204 or not response.content:
            data: Any = None
        else:
            try:
                data = response.json()
            except json.JSONDecodeError as exc:
                raise ApiError(
                    f"unexpected non-JSON response from {response.request.url}",
                    status=response.status_code,
                ) from exc
        result = call.parse(data)
        if call.adopt_tokens and isinstance(result, TokenPair):
            self.adopt(result)
        if call.forget_tokens:
            self.access_token = None
            self.refresh_token = None
        return result

    def _connection_error(self, exc: httpx.TransportError) -> ApiConnectionError:
        if isinstance(exc, httpx.TimeoutException):
            reason = "the request timed out"
        else:
            reason = str(exc) or type(exc).__name__
        return ApiConnectionError(
            f"cannot reach the Upmetr server at {self.base_url}: {reason}", url=self.base_url
        )


def _error(response: httpx.Response) -> ApiError:
    detail = response.reason_phrase or f"HTTP {response.status_code}"
    errors = None
    try:
        parsed = ErrorResponse.model_validate(response.json())
        detail, errors = parsed.detail, parsed.errors
    except ValueError:  # not JSON or not the error shape (a proxy's page, say)
        text = response.text.strip()
        if text and len(text) < 500:
            detail = text
    cls = error_class(response.status_code)
    kwargs: dict[str, Any] = {
        "status": response.status_code,
        "errors": errors,
        "headers": dict(response.headers),
    }
    if cls is RateLimited:
        return RateLimited(detail, retry_after=retry_after_seconds(response), **kwargs)
    return cls(detail, **kwargs)


class SyncCore(_CoreBase):
    def __init__(
        self,
        http: httpx.Client,
        *,
        sleep: Callable[[float], None] = time.sleep,
        **kwargs: Any,
    ) -> None:
        super().__init__(**kwargs)
        self.http = http
        self.sleep = sleep

    def execute(self, call: Call[T]) -> T:
        sent_with = self._bearer()
        response = self._send(call)
        if response.status_code == 401 and self._can_refresh(call, sent_with):
            self._read(response)  # kept, to report this 401 if the refresh fails too
            refreshed = self._bearer() != sent_with
            if not refreshed:
                with contextlib.suppress(ApiError):
                    self.execute(self._refresh_call())
                    refreshed = True
            if refreshed:
                response = self._send(call)
        try:
            if call.stream_to is not None and not response.is_error:
                for chunk in response.iter_bytes():
                    call.stream_to.write(chunk)
            else:
                response.read()
        except httpx.TransportError as exc:
            raise self._connection_error(exc) from exc
        finally:
            response.close()
        return self._finish(call, response)

    def _read(self, response: httpx.Response) -> None:
        try:
            response.read()
        except httpx.TransportError as exc:
            raise self._connection_error(exc) from exc
        finally:
            response.close()

    def _send(self, call: Call[Any]) -> httpx.Response:
        attempt = 0
        held = self._hold_before_sending()
        if held:
            self.sleep(held)
        while True:
            try:
                response = self.http.send(self._request(self.http, call), stream=True)
            except httpx.TransportError as exc:
                raise self._connection_error(exc) from exc
            wait = self._retry_wait(response, attempt)
            if wait is None:
                return response
            response.close()
            self.sleep(wait)
            attempt += 1


class AsyncCore(_CoreBase):
    def __init__(
        self,
        http: httpx.AsyncClient,
        *,
        sleep: Callable[[float], Awaitable[None]] = asyncio.sleep,
        **kwargs: Any,
    ) -> None:
        super().__init__(**kwargs)
        self.http = http
        self.sleep = sleep
        # Concurrent requests that all see a 401 must spend the refresh token only once.
        self._refresh_lock = asyncio.Lock()

    async def execute(self, call: Call[T]) -> T:
        sent_with = self._bearer()
        response = await self._send(call)
        if response.status_code == 401 and self._can_refresh(call, sent_with):
            await self._read(response)  # kept, to report this 401 if the refresh fails too
            async with self._refresh_lock:
                refreshed = self._bearer() != sent_with
                if not refreshed:
                    with contextlib.suppress(ApiError):
                        await self.execute(self._refresh_call())
                        refreshed = True
            if refreshed:
                response = await self._send(call)
        try:
            if call.stream_to is not None and not response.is_error:
                async for chunk in response.aiter_bytes():
                    call.stream_to.write(chunk)
            else:
                await response.aread()
        except httpx.TransportError as exc:
            raise self._connection_error(exc) from exc
        finally:
            await response.aclose()
        return self._finish(call, response)

    async def _read(self, response: httpx.Response) -> None:
        try:
            await response.aread()
        except httpx.TransportError as exc:
            raise self._connection_error(exc) from exc
        finally:
            await response.aclose()

    async def _send(self, call: Call[Any]) -> httpx.Response:
        attempt = 0
        held = self._hold_before_sending()
        if held:
            await self.sleep(held)
        while True:
            try:
                response = await self.http.send(self._request(self.http, call), stream=True)
            except httpx.TransportError as exc:
                raise self._connection_error(exc) from exc
            wait = self._retry_wait(response, attempt)
            if wait is None:
                return response
            await response.aclose()
            await self.sleep(wait)
            attempt += 1
