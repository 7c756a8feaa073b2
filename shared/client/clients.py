"""`Client` (sync) and `AsyncClient`: the same namespaces, run over httpx.

A namespace's module, and the API models it parses into, load when the namespace is first
used: each costs ~1 ms per model to import, and the console's first frame needs four of
seventeen namespaces.
"""

from __future__ import annotations

import asyncio
import importlib
import time
from collections.abc import Awaitable, Callable
from types import TracebackType
from typing import TYPE_CHECKING, Any, Generic, Self
from urllib.request import getproxies

import httpx

from shared.client.auth import ApiKeys, Auth
from shared.client.core import (
    DEFAULT_TIMEOUT,
    USER_AGENT,
    AsyncCore,
    RateLimitCallback,
    SyncCore,
    TokenCallback,
    normalize_base_url,
)
from shared.client.events import AsyncEvents, SyncEvents
from shared.client.incidents import Incidents
from shared.client.monitors import Monitors
from shared.client.namespace import Async, M, Sync

if TYPE_CHECKING:
    from shared.client.admin import Admin
    from shared.client.agents import Agents, Metrics
    from shared.client.alert_rules import AlertRules
    from shared.client.billing import Billing
    from shared.client.cloud import AsyncJobs, CloudAccounts, CloudResources, SyncJobs
    from shared.client.costs import Budgets, Costs
    from shared.client.notifications import Channels, NotificationRules, Notifications
    from shared.client.organization import AuditLogs, Organization, Plans, Settings, Users
    from shared.client.overview import OverviewReads
    from shared.client.status_pages import StatusPages

DEFAULT_MAX_RETRIES = 3
DEFAULT_MAX_RETRY_WAIT = 60.0


class _OnFirstUse:
    """A namespace attribute whose class, `module:Class` under shared/client, is imported and
    made into the client's namespace when the attribute is first read; the namespace then
    stays in the client's __dict__, so later reads do not come here."""

    def __init__(self, path: str) -> None:
        self.module, _, self.name = path.partition(":")

    def __set_name__(self, owner: type, attribute: str) -> None:
        self.attribute = attribute

    def __get__(self, client: Any, owner: type | None = None) -> Any:
        if client is None:
            return self
        module = importlib.import_module(f"shared.client.{self.module}")
        namespace = getattr(module, self.name)(client._core)
        client.__dict__[self.attribute] = namespace
        return namespace


def _on_first_use(path: str) -> Any:
    # Typed Any so that each attribute keeps its namespace's type for its readers.
    return _OnFirstUse(path)


class _Namespaces(Generic[M]):
    auth: Auth[M]
    api_keys: ApiKeys[M]
    incidents: Incidents[M]
    monitors: Monitors[M]
    users: Users[M] = _on_first_use("organization:Users")
    organization: Organization[M] = _on_first_use("organization:Organization")
    settings: Settings[M] = _on_first_use("organization:Settings")
    audit_logs: AuditLogs[M] = _on_first_use("organization:AuditLogs")
    plans: Plans[M] = _on_first_use("organization:Plans")
    billing: Billing[M] = _on_first_use("billing:Billing")
    cloud_accounts: CloudAccounts[M] = _on_first_use("cloud:CloudAccounts")
    resources: CloudResources[M] = _on_first_use("cloud:CloudResources")
    costs: Costs[M] = _on_first_use("costs:Costs")
    budgets: Budgets[M] = _on_first_use("costs:Budgets")
    overview: OverviewReads[M] = _on_first_use("overview:OverviewReads")
    channels: Channels[M] = _on_first_use("notifications:Channels")
    notification_rules: NotificationRules[M] = _on_first_use("notifications:NotificationRules")
    notifications: Notifications[M] = _on_first_use("notifications:Notifications")
    alert_rules: AlertRules[M] = _on_first_use("alert_rules:AlertRules")
    agents: Agents[M] = _on_first_use("agents:Agents")
    metrics: Metrics[M] = _on_first_use("agents:Metrics")
    status_pages: StatusPages[M] = _on_first_use("status_pages:StatusPages")
    admin: Admin[M] = _on_first_use("admin:Admin")

    def _attach(self, core: SyncCore | AsyncCore) -> None:
        self._core = core
        self.auth = Auth(core)
        self.api_keys = ApiKeys(core)
        self.incidents = Incidents(core)
        self.monitors = Monitors(core)

    @property
    def base_url(self) -> str:
        return self._core.base_url

    @property
    def access_token(self) -> str | None:
        return self._core.access_token

    @property
    def refresh_token(self) -> str | None:
        return self._core.refresh_token

    @property
    def on_tokens(self) -> TokenCallback | None:
        """Called with every token pair the client adopts (sign-in, refresh, org switch)."""
        return self._core.on_tokens

    @on_tokens.setter
    def on_tokens(self, callback: TokenCallback | None) -> None:
        self._core.on_tokens = callback

    @property
    def on_rate_limited(self) -> RateLimitCallback | None:
        """Called with the seconds to wait on every 429, before the client waits them."""
        return self._core.on_rate_limited

    @on_rate_limited.setter
    def on_rate_limited(self, callback: RateLimitCallback | None) -> None:
        self._core.on_rate_limited = callback

    def rate_limit_left(self) -> float:
        """Seconds until the server's last 429 (`Retry-After`) allows requests again; 0 when
        none is pending. Requests sent meanwhile are answered 429 too."""
        return self._core.rate_limit_left()


def _http_options(
    url: str, timeout: float | httpx.Timeout | None, headers: dict[str, str] | None
) -> dict[str, Any]:
    base_url = normalize_base_url(url)
    return {
        # The trailing slash makes relative paths append to /api/v1 (RFC 3986 resolution).
        "base_url": base_url + "/",
        "timeout": DEFAULT_TIMEOUT if timeout is None else timeout,
        "headers": {"User-Agent": USER_AGENT, **(headers or {})},
        "verify": _may_use_tls(base_url),
    }


def _may_use_tls(base_url: str) -> bool:
    """Whether requests may go over TLS, so certificates must be verified. Not for an http://
    server (every path is relative to it; redirects are not followed) unless a proxy taken
    from the environment is https://; loading the CA bundle costs ~0.05-0.1 s per client."""
    if not base_url.startswith("http://"):
        return True
    return any(proxy.startswith("https://") for proxy in getproxies().values())


class Client(_Namespaces[Sync]):
    """Synchronous client: `Client("http://host:8080", api_key="upk_...").users.list()`.

    Sign in with `api_key=`, with tokens (`access_token=`, `refresh_token=`) or by calling
    `auth.login()`. With a refresh token, a 401 triggers one refresh and one retry; rotated
    tokens are handed to `on_tokens` so a caller can persist them. A 429 is retried up to
    `max_retries` times, waiting `Retry-After` seconds (at most `max_retry_wait`); a request
    made while such a wait runs waits for its end before it is sent. `on_rate_limited` is
    told each wait, and `rate_limit_left()` what is left of it.
    """

    events: SyncEvents
    jobs: SyncJobs = _on_first_use("cloud:SyncJobs")

    def __init__(
        self,
        url: str,
        *,
        api_key: str | None = None,
        access_token: str | None = None,
        refresh_token: str | None = None,
        on_tokens: TokenCallback | None = None,
        timeout: float | httpx.Timeout | None = None,
        transport: httpx.BaseTransport | None = None,
        headers: dict[str, str] | None = None,
        max_retries: int = DEFAULT_MAX_RETRIES,
        max_retry_wait: float = DEFAULT_MAX_RETRY_WAIT,
        sleep: Callable[[float], None] = time.sleep,
    ) -> None:
        self._http = httpx.Client(transport=transport, **_http_options(url, timeout, headers))
        core = SyncCore(
            self._http,
            sleep=sleep,
            base_url=url,
            access_token=access_token,
            refresh_token=refresh_token,
            api_key=api_key,
            on_tokens=on_tokens,
            max_retries=max_retries,
            max_retry_wait=max_retry_wait,
        )
        self._attach(core)
        self.events = SyncEvents(core)

    def close(self) -> None:
        self._http.close()

    def __enter__(self) -> Self:
        return self

    def __exit__(
        self,
        exc_type: type[BaseException] | None,
        exc: BaseException | None,
        tb: TracebackType | None,
    ) -> None:
        self.close()


class AsyncClient(_Namespaces[Async]):
    """Asynchronous twin of `Client`: the same namespaces and methods, awaited."""

    events: AsyncEvents
    jobs: AsyncJobs = _on_first_use("cloud:AsyncJobs")

    def __init__(
        self,
        url: str,
        *,
        api_key: str | None = None,
        access_token: str | None = None,
        refresh_token: str | None = None,
        on_tokens: TokenCallback | None = None,
        timeout: float | httpx.Timeout | None = None,
        transport: httpx.AsyncBaseTransport | None = None,
        headers: dict[str, str] | None = None,
        max_retries: int = DEFAULT_MAX_RETRIES,
        max_retry_wait: float = DEFAULT_MAX_RETRY_WAIT,
        sleep: Callable[[float], Awaitable[None]] = asyncio.sleep,
    ) -> None:
        self._http = httpx.AsyncClient(transport=transport, **_http_options(url, timeout, headers))
        core = AsyncCore(
            self._http,
            sleep=sleep,
            base_url=url,
            access_token=access_token,
            refresh_token=refresh_token,
            api_key=api_key,
            on_tokens=on_tokens,
            max_retries=max_retries,
            max_retry_wait=max_retry_wait,
        )
        self._attach(core)
        self.events = AsyncEvents(core)

    async def aclose(self) -> None:
        await self._http.aclose()

    async def __aenter__(self) -> Self:
        return self

    async def __aexit__(
        self,
        exc_type: type[BaseException] | None,
        exc: BaseException | None,
        tb: TracebackType | None,
    ) -> None:
        await self.aclose()
