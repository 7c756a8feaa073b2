"""TCP checks: the target accepts a connection. The smallest check type; copy its shape."""

from __future__ import annotations

import contextlib
import time

from server.providers.checks.base import (
    AttemptResult,
    CheckProvider,
    CheckSpec,
    describe_os_error,
    elapsed_ms,
)
from server.providers.outbound import TargetPolicy, open_connection


class TcpCheck(CheckProvider):
    types = frozenset({"tcp"})

    async def attempt(self, spec: CheckSpec, policy: TargetPolicy) -> AttemptResult:
        """One connection.

        1. Open a TCP connection to host:port (the base class bounds it by the timeout), to
           an address the policy allows, resolved once (a refused one raises TargetBlocked).
        2. The connect time is the response time; refused, reset or unresolvable is a failure.
        3. Close the connection cleanly and wait for the close, so no socket leaks.
        """
        started = time.perf_counter()
        try:
            _reader, writer = await open_connection(spec.host or "", spec.port or 0, policy)
        except OSError as exc:
            return AttemptResult(ok=False, error=describe_os_error(exc, spec.host))
        response_time_ms = elapsed_ms(started)
        writer.close()
        with contextlib.suppress(OSError):
            await writer.wait_closed()
        return AttemptResult(ok=True, response_time_ms=response_time_ms)
