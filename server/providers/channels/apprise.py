"""Apprise: any Apprise URL (https://github.com/caronc/apprise/wiki), 100+ services more.

Apprise is blocking (requests) and opens its own connections, so:
1. each URL is read by Apprise when the config is parsed: one it cannot read is a 400;
2. before sending, each service's host and all its addresses are checked against the
   outbound-target policy (a plugin talking to a fixed vendor endpoint, its `notify_url`,
   is checked by that host); a refused one is permanent and nothing is sent;
3. each service is notified on its own in a thread, redirects off and its socket timeouts
   set to the channel timeout, so `Sent.detail` tells each service's outcome
   ("slack: ok; json: failed"); all failed is temporary.
Apprise resolves a name again when it connects; a name whose DNS answer changes between the
two lookups (rebinding) is not caught here, as it is for the channels that connect themselves.
"""

from __future__ import annotations

import asyncio
import socket
from typing import Annotated, Any

import apprise
import yarl
from pydantic import AfterValidator, Field

from server.providers.channels.base import (
    Channel,
    ChannelConfig,
    ChannelEnv,
    DeliveryError,
    Notice,
    Sent,
    Severity,
    config_of,
)
from server.providers.channels.render import plain_text, subject
from server.providers.outbound import TargetBlocked, parse_literal

NOTIFY_TYPES: dict[Severity, apprise.NotifyType] = {
    "info": apprise.NotifyType.INFO,
    "warning": apprise.NotifyType.WARNING,
    "error": apprise.NotifyType.FAILURE,
    "critical": apprise.NotifyType.FAILURE,
}


def _asset() -> apprise.AppriseAsset:
    # A redirect could lead a request to a host the policy never saw: never follow one.
    return apprise.AppriseAsset(http_redirects=False)


def service_of(url: str) -> Any:
    """The Apprise plugin reading `url`, or None when Apprise cannot read it."""
    return apprise.Apprise.instantiate(url, asset=_asset(), suppress_exceptions=True)


def _readable(url: str) -> str:
    if service_of(url) is None:  # never the URL in the message: it holds the credentials
        scheme = url.partition("://")[0] if "://" in url else "?"
        raise ValueError(f"Apprise cannot read this {scheme}:// URL (see its wiki for the form)")
    return url


class AppriseConfig(ChannelConfig):
    urls: list[Annotated[str, Field(max_length=2048), AfterValidator(_readable)]] = Field(
        min_length=1, max_length=10
    )


def scheme_of(url: str) -> str:
    return url.partition("://")[0].lower()


def target_host(service: Any) -> tuple[str, int] | None:
    """The host and port a service connects to: its fixed vendor endpoint when it has one,
    else the host of its URL (a self-hosted server: json://, ntfy://, gotify://, ...)."""
    fixed = getattr(type(service), "notify_url", None)
    if isinstance(fixed, str) and fixed.startswith(("https://", "http://")):
        url = yarl.URL(fixed)
        return (url.host or "", url.port or 443) if url.host else None
    host = getattr(service, "host", None)
    if not isinstance(host, str) or not host:
        return None
    port = getattr(service, "port", None)
    return host, int(port) if isinstance(port, int) else (
        443 if getattr(service, "secure", False) else 80
    )


def looks_like_a_host(host: str) -> bool:
    """Whether the URL's "host" names a host: many plugins keep a token there
    (slack://TokenA/...), which must not be sent to DNS in a lookup."""
    return host == "localhost" or "." in host or ":" in host or parse_literal(host) is not None


async def check_target(service: Any, env: ChannelEnv) -> None:
    """TargetBlocked when the service's host, or any of its addresses, is refused.

    Every address counts, not only one (as `resolve` keeps for our own connections):
    Apprise resolves the name again and may connect to any of them. A name that does not
    resolve is let through; Apprise will fail to reach it too.
    """
    found = target_host(service)
    if found is None or not looks_like_a_host(found[0]):
        return
    host, port = found
    if parse_literal(host) is not None:
        env.policy.check_literal(host)
        return
    loop = asyncio.get_running_loop()
    try:
        infos = await loop.getaddrinfo(host, port, type=socket.SOCK_STREAM)
    except (socket.gaierror, UnicodeError):
        return
    for info in infos:
        env.policy.check_literal(str(info[4][0]))


def _notify(service: Any, title: str, body: str, notify_type: apprise.NotifyType) -> bool:
    try:
        return bool(
            service.notify(
                body=body,
                title=title,
                notify_type=notify_type,
                body_format=apprise.NotifyFormat.TEXT,
            )
        )
    except Exception:  # a plugin's bug is that service's failure, not the others'
        return False


class AppriseChannel(Channel):
    type = "apprise"
    Config = AppriseConfig
    SECRETS = frozenset({"urls"})

    async def send(self, notice: Notice, config: ChannelConfig, env: ChannelEnv) -> Sent:
        settings = config_of(config, AppriseConfig)
        services = []
        for url in settings.urls:
            service = service_of(url)
            if service is None:
                raise DeliveryError(
                    f"Apprise cannot read a {scheme_of(url)}:// URL", permanent=True
                )
            try:
                await check_target(service, env)
            except TargetBlocked as exc:
                raise DeliveryError(
                    f"blocked: {scheme_of(url)}: {exc.reason}", permanent=True
                ) from None
            service.socket_connect_timeout = env.timeout_seconds
            service.socket_read_timeout = env.timeout_seconds
            services.append((scheme_of(url), service))
        title, body = subject(notice), plain_text(notice)
        outcomes: list[tuple[str, bool]] = []
        for name, service in services:
            try:
                async with asyncio.timeout(env.timeout_seconds * 2 + 1):
                    ok = await asyncio.to_thread(
                        _notify, service, title, body, NOTIFY_TYPES[notice.severity]
                    )
            except TimeoutError:  # the thread runs on, bounded by its socket timeouts
                ok = False
            outcomes.append((name, ok))
        detail = "; ".join(f"{name}: {'ok' if ok else 'failed'}" for name, ok in outcomes)
        if not any(ok for _, ok in outcomes):
            raise DeliveryError(f"Apprise: {detail}", permanent=False)
        return Sent(None, detail)
