"""An extra API process of `upmetr serve --processes N`: `python -m server.api_process`.

The first process of `serve` starts N-1 of these as supervised children (`ApiProcess`, a
ChildProcess as the worker is) with exactly its settings; every one listens on
the same port with SO_REUSEPORT, so the kernel spreads connections over them. Each runs the
API role: no engines, events from the shared stream (UPMETR_REDIS_URL). One stops on
SIGTERM, and by itself once the process that started it has gone.
"""

from __future__ import annotations

import asyncio
import logging

from server.worker import (
    ChildProcess,
    configure_logging,
    parent_pid,
    settings_from_environment,
    until_orphaned,
)

log = logging.getLogger("upmetr.server")


class ApiProcess(ChildProcess):
    name = "API process"
    module = "server.api_process"


def main() -> None:
    from server.app import build_app
    from server.http.runner import serve_until_stopped

    configure_logging()
    settings = settings_from_environment()
    parent = parent_pid()
    asyncio.run(
        serve_until_stopped(
            build_app(settings, "api"),
            settings.host,
            settings.port,
            lambda: log.info("API process listening on %s:%d", settings.host, settings.port),
            reuse_port=True,
            until=until_orphaned(parent) if parent is not None else None,
        )
    )


if __name__ == "__main__":
    main()
