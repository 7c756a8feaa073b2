"""The base of every channel that speaks HTTP: one POST to the vendor, read into a Reply
or a DeliveryError that says whether to try again.

The connection goes only where the outbound-target policy allows (the HTTP checks'
connector, server/providers/checks/http.py), redirects are refused (a redirect
could lead a request, with its token, to a host the policy never saw), and no error
names more of the target than its host: a webhook URL or a token in a path is a secret.
"""

from __future__ import annotations

import asyncio
import json
from dataclasses import dataclass
from datetime import UTC, datetime
from email.utils import parsedate_to_datetime
from typing import Annotated, Any, ClassVar

import aiohttp
import yarl
from multidict import CIMultiDictProxy
from pydantic import AfterValidator, Field

from server.providers.channels.base import Channel, ChannelEnv, DeliveryError
from server.providers.checks.base import describe_os_error, format_seconds
from server.providers.checks.http import PolicyConnector
from server.providers.outbound import TargetPolicy, blocked_reason

USER_AGENT = "Upmetr-Notifications/0.1 (+https://upmetr.example/bot)"
# A vendor's answer is a status and a few words; more is never read (a hostile endpoint
# could otherwise stream without end into the worker's memory).
MAX_ANSWER_BYTES = 64 * 1024
# Worth another try later (RFC 9110: 408 Request Timeout; RFC 8470: 425 Too Early; RFC 6585:
# 429 Too Many Requests); every 5xx is too. Any other 4xx is the request's or the config's
# fault and will fail again the same way.
TEMPORARY_STATUSES = frozenset({408, 425, 429})


def new_session(policy: TargetPolicy, *, limit: int = 100) -> aiohttp.ClientSession:
    # The HTTP checks' connector: the policy for every name, literal address and peer.
    return aiohttp.ClientSession(
        connector=PolicyConnector(policy, limit=limit),
        headers={"User-Agent": USER_AGENT},
        cookie_jar=aiohttp.DummyCookieJar(),  # deliveries share nothing between them
    )


class HttpSessions:
    """The pooled sessions of a `Channels`, one per policy; kept alive between deliveries,
    as most go to the same few vendors."""

    def __init__(self, *, max_connections: int = 100):
        self._max_connections = max_connections
        self._sessions: dict[TargetPolicy, aiohttp.ClientSession] = {}

    def session(self, policy: TargetPolicy) -> aiohttp.ClientSession:
        session = self._sessions.get(policy)
        if session is None or session.closed:
            session = self._sessions[policy] = new_session(policy, limit=self._max_connections)
        return session

    async def aclose(self) -> None:
        sessions, self._sessions = self._sessions, {}
        for session in sessions.values():
            await session.close()


@dataclass(frozen=True)
class Reply:
    """A vendor's 2xx answer."""

    status: int
    headers: CIMultiDictProxy[str]
    body: bytes

    @property
    def text(self) -> str:
        return self.body.decode("utf-8", "replace")

    def json(self) -> Any:
        """The answer as JSON, or None when it is not JSON."""
        return HttpChannel.parse_json(self.body)


def retry_after(value: str | None, *, now: datetime | None = None) -> float | None:
    """Seconds from a Retry-After header: delay-seconds or an HTTP-date (RFC 9110, 10.2.3)."""
    if not value:
        return None
    text = value.strip()
    if text.isdigit():
        return float(text)
    try:
        when = parsedate_to_datetime(text)
    except (TypeError, ValueError):
        return None
    if when.tzinfo is None:
        when = when.replace(tzinfo=UTC)
    return max(0.0, (when - (now or datetime.now(UTC))).total_seconds())


def is_temporary(status: int) -> bool:
    return status in TEMPORARY_STATUSES or status >= 500


def one_line(text: str, limit: int = 200) -> str:
    words = " ".join(text.split())
    return words if len(words) <= limit else words[: limit - 1] + "…"


def describe_answer(body: bytes) -> str:
    """What a vendor said, in a few words: its JSON error fields, or the start of its text."""
    try:
        document = json.loads(body)
    except ValueError:
        return one_line(body.decode("utf-8", "replace"))
    if isinstance(document, dict):
        parts = [
            str(document[key])
            for key in ("error", "err", "message", "description", "detail", "errors")
            if document.get(key) not in (None, "", [], {})
        ]
        if parts:
            return one_line("; ".join(parts))
    return one_line(json.dumps(document))


def describe_transport_error(exc: BaseException, host: str, timeout_seconds: float) -> str:
    if isinstance(exc, TimeoutError):  # aiohttp's timeouts are TimeoutErrors too
        return f"no answer from {host} within {format_seconds(timeout_seconds)}"
    if isinstance(exc, aiohttp.ClientConnectorDNSError):
        return f"cannot resolve host {host!r}"
    if isinstance(exc, aiohttp.ClientConnectorError):
        return f"cannot connect to {host}: {describe_os_error(exc.os_error, host)}"
    if isinstance(exc, aiohttp.ServerDisconnectedError | aiohttp.ClientPayloadError):
        return f"{host} closed the connection"
    if isinstance(exc, aiohttp.ClientResponseError):  # an answer that is not HTTP
        return f"{host} answered something that is not HTTP"
    # Not str(exc): aiohttp's messages may carry the whole URL, token and all.
    return f"cannot reach {host}: {type(exc).__name__}"


class HttpChannel(Channel):
    """A channel that POSTs to its vendor."""

    # The vendor's name in messages: "Slack at hooks.slack.com answered 404: no_service".
    vendor: ClassVar[str]

    async def post(self, env: ChannelEnv, url: str, **request: Any) -> Reply:
        """One POST to the vendor; `request` goes to aiohttp (json=, data=, headers=).

        1. The session is the env's pooled one for its policy, or a session of its own.
        2. The whole request, answer included, runs inside `env.timeout_seconds`.
        3. A target the policy refuses is permanent ("blocked: 10.0.0.5 is a private
           address"): nothing was sent and the config must change.
        4. A timeout, a refused or reset connection, an unresolvable name: temporary.
        5. The answer (at most MAX_ANSWER_BYTES) decides: 2xx is the Reply; a redirect is
           permanent (never followed); 408, 425, 429 and 5xx are temporary, keeping
           Retry-After; any other 4xx is permanent. The message names the vendor, the host,
           the status and what the vendor said, never the URL (`refusal`).
        """
        host = yarl.URL(url).host or "the vendor"
        own = None if env.http is not None else new_session(env.policy, limit=1)
        session = env.http.session(env.policy) if env.http is not None else own
        assert session is not None
        try:
            async with asyncio.timeout(env.timeout_seconds):
                async with session.post(url, allow_redirects=False, **request) as response:
                    body = b""
                    while len(body) < MAX_ANSWER_BYTES:
                        chunk = await response.content.read(MAX_ANSWER_BYTES - len(body))
                        if not chunk:
                            break
                        body += chunk
                    status, headers = response.status, response.headers
        except Exception as exc:
            reason = blocked_reason(exc)  # aiohttp wraps it
            if reason is not None:
                raise DeliveryError(f"blocked: {reason}", permanent=True) from None
            if isinstance(exc, aiohttp.ClientError | TimeoutError | OSError):
                message = describe_transport_error(exc, host, env.timeout_seconds)
                raise DeliveryError(f"{self.vendor}: {message}", permanent=False) from None
            raise
        finally:
            if own is not None:
                await own.close()
        if 200 <= status < 300:
            return Reply(status, headers, body)
        raise self.refusal(status, headers, body, host)

    def refusal(
        self, status: int, headers: CIMultiDictProxy[str], body: bytes, host: str
    ) -> DeliveryError:
        """The error of an answer that is not 2xx; a vendor with its own error format
        (Telegram's) reads it here."""
        if 300 <= status < 400:
            return DeliveryError(
                f"{self.vendor} at {host} answered {status}, a redirect, which is not followed:"
                " check the URL",
                permanent=True,
                status_code=status,
            )
        said = describe_answer(body)
        return DeliveryError(
            f"{self.vendor} at {host} answered {status}" + (f": {said}" if said else ""),
            permanent=not is_temporary(status),
            status_code=status,
            retry_after_seconds=retry_after(headers.get("Retry-After")),
        )

    @staticmethod
    def parse_json(body: bytes) -> Any:
        """The body as JSON, or None when it is not JSON."""
        try:
            return json.loads(body)
        except ValueError:
            return None


def _http_url(value: str) -> str:
    try:
        url = yarl.URL(value)
    except ValueError:  # yarl's message repeats the URL, a secret
        url = yarl.URL()
    if url.scheme not in ("http", "https") or not url.host:
        raise ValueError("must be an http:// or https:// URL with a host")
    return value


# A vendor's webhook URL (Slack, Discord, Teams, a webhook): a secret, as it is the credential.
WebhookUrl = Annotated[str, Field(max_length=2048), AfterValidator(_http_url)]
