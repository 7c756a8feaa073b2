"""One POST of an ingest batch, and what its answer means for the batch.

- 2xx: accepted (202 IngestAccepted).
- 400, 413, 422: dropped. The server will never take this batch; kept, it would block the
  spool forever.
- 401, 403: refused. A wrong or regenerated token, or a suspended org: spooled until an
  admin fixes it.
- no answer, a timeout, 5xx, 429, anything else: retry, spooled. 429 and 503 may say when
  to come back (Retry-After, RFC 9110 section 10.2.3).
"""

from __future__ import annotations

import json
import time
from enum import Enum
from typing import Any, NamedTuple

from agent import __version__
from agent.transport import Endpoint, TransportError

INGEST_PATH = "/api/v1/agents/ingest"
TIMEOUT_SECONDS = 10.0
MAX_RETRY_AFTER = 3600.0


class Verdict(Enum):
    accepted = "accepted"
    dropped = "dropped"
    refused = "refused"
    retry = "retry"


class PostResult(NamedTuple):
    verdict: Verdict
    status: int | None  # None: no answer
    detail: str
    retry_after: float | None = None  # seconds
    body: Any = None  # the answer's JSON, when it has one

    def describe(self) -> str:
        answer = f"HTTP {self.status}" if self.status is not None else "no answer"
        return f"{answer}: {self.detail}" if self.detail else answer


def retry_after_seconds(value: str | None, *, now: float | None = None) -> float | None:
    """Retry-After is either seconds or an HTTP date (RFC 9110 10.2.3)."""
    if not value:
        return None
    value = value.strip()
    if value.isdigit():
        seconds = float(value)
    else:
        from email.utils import parsedate_to_datetime  # rare: not worth its import at start

        try:
            seconds = parsedate_to_datetime(value).timestamp() - (now or time.time())
        except (TypeError, ValueError, IndexError):
            return None
    return min(max(seconds, 0.0), MAX_RETRY_AFTER)


def verdict_of(status: int) -> Verdict:
    if 200 <= status < 300:
        return Verdict.accepted
    if status in (400, 413, 422):
        return Verdict.dropped
    if status in (401, 403):
        return Verdict.refused
    return Verdict.retry


def _detail(body: Any, raw: bytes) -> str:
    if isinstance(body, dict) and "detail" in body:
        detail = body["detail"]
        return detail if isinstance(detail, str) else json.dumps(detail)[:500]
    return raw[:200].decode("utf-8", "replace").strip()


class Sender:
    """Posts batches to {server}/api/v1/agents/ingest over one kept-alive connection."""

    def __init__(self, server: str, token: str, *, timeout: float = TIMEOUT_SECONDS) -> None:
        self._endpoint = Endpoint(server, timeout=timeout)
        self._headers = {
            "Authorization": f"Bearer {token}",
            "Content-Type": "application/json",
            "Accept": "application/json",
            "User-Agent": f"upmetr-agent/{__version__}",
        }

    def post(self, batch: dict[str, Any]) -> PostResult:
        body = json.dumps(batch, separators=(",", ":")).encode()
        try:
            # Retried once by the endpoint on a connection the server closed while idle:
            # safe, as the server ignores a sample whose ts it has stored (`duplicates`).
            answer = self._endpoint.request("POST", INGEST_PATH, body=body, headers=self._headers)
        except TransportError as error:
            return PostResult(Verdict.retry, None, str(error))
        try:
            parsed: Any = json.loads(answer.body) if answer.body else None
        except ValueError:
            parsed = None
        verdict = verdict_of(answer.status)
        retry_after = None
        if answer.status in (429, 503):
            retry_after = retry_after_seconds(answer.headers.get("retry-after"))
        detail = "" if verdict is Verdict.accepted else _detail(parsed, answer.body)
        return PostResult(verdict, answer.status, detail, retry_after, parsed)

    def close(self) -> None:
        self._endpoint.close()
