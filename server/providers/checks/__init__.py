"""Uptime check providers: run ONE check of one target and report a typed outcome.

    async with Checker(max_connections=200, policy=TargetPolicy()) as checker:
        outcome = await checker.run(CheckSpec(type="http", url="https://example.com"))

The engine owns the Checker (one per process, created and closed with the app). Every check
connects only where the outbound-target policy allows (server/providers/outbound.py).
Heartbeats are not run but evaluated from stored pings: `evaluate_heartbeat`.
"""

from __future__ import annotations

from types import TracebackType

from server.providers.checks.base import (
    AttemptResult,
    CheckOutcome,
    CheckProvider,
    CheckSpec,
    CheckStatus,
    CheckType,
    RecordType,
)
from server.providers.checks.dns import DnsCheck
from server.providers.checks.heartbeat import evaluate_heartbeat, heartbeat_deadline
from server.providers.checks.http import HttpCheck, HttpClients
from server.providers.checks.tcp import TcpCheck
from server.providers.outbound import TargetPolicy

# The canary is the administrator's own setting, not a tenant's target: it may be private
# (a gateway, an internal resolver), though never link-local or metadata.
CANARY_POLICY = TargetPolicy(allow_private=True)

__all__ = [
    "AttemptResult",
    "CheckOutcome",
    "CheckProvider",
    "CheckSpec",
    "CheckStatus",
    "CheckType",
    "Checker",
    "RecordType",
    "TargetPolicy",
    "evaluate_heartbeat",
    "heartbeat_deadline",
    "network_ok",
]


class Checker:
    """Runs checks of every type over shared, bounded connection pools."""

    def __init__(self, *, max_connections: int = 100, policy: TargetPolicy | None = None):
        """`policy` decides where checks may connect; by default only to public addresses."""
        self.policy = policy or TargetPolicy()
        self._http_clients = HttpClients(max_connections=max_connections)
        providers: list[CheckProvider] = [HttpCheck(self._http_clients), TcpCheck(), DnsCheck()]
        self._providers = {name: provider for provider in providers for name in provider.types}

    async def __aenter__(self) -> Checker:
        return self

    async def __aexit__(
        self,
        exc_type: type[BaseException] | None,
        exc: BaseException | None,
        traceback: TracebackType | None,
    ) -> None:
        await self.aclose()

    async def aclose(self) -> None:
        await self._http_clients.aclose()

    async def run(self, spec: CheckSpec, *, policy: TargetPolicy | None = None) -> CheckOutcome:
        """One check, under the Checker's policy unless another is given."""
        provider = self._providers.get(spec.type)
        if provider is None:
            raise ValueError(f"{spec.type} monitors are evaluated, not run (evaluate_heartbeat)")
        return await provider.run(spec, policy or self.policy)


async def network_ok(checker: Checker, canary: str, *, timeout_seconds: float = 5.0) -> bool:
    """Whether this server's own network works, judged by one canary.

    1. A URL canary ("https://1.1.1.1"): any HTTP response at all, of any status and with any
       certificate, proves the network; only transport failures count.
    2. A "host:port" canary: a TCP connection is accepted.
    3. One attempt, bounded by timeout_seconds; never raises (a bad canary is False).
    """
    try:
        if "://" in canary:
            spec = CheckSpec(
                type="http",
                url=canary,
                method="HEAD",
                expected_status="100-599",
                follow_redirects=False,
                verify_tls=False,
                timeout_seconds=timeout_seconds,
                attempts=1,
            )
        else:
            host, _, port = canary.rpartition(":")
            spec = CheckSpec(
                type="tcp",
                host=host.strip("[]"),
                port=int(port),
                timeout_seconds=timeout_seconds,
                attempts=1,
            )
    except ValueError:
        return False
    outcome = await checker.run(spec, policy=CANARY_POLICY)
    return outcome.status != "down"
