"""How the server's processes log: one line per record to stderr or a rotated file."""

from __future__ import annotations

import logging

FORMAT = "%(asctime)s %(levelname)s %(name)s: %(message)s"


def configure(handler: logging.Handler | None = None) -> None:
    """INFO and up, in FORMAT, through `handler` (stderr when None).

    A record then skips what FORMAT never prints, as the logging HOWTO's "Optimization"
    section describes: the caller's frame, thread, process and multiprocessing names. The
    access log writes a record per request, and these were about a third of its cost."""
    logging.basicConfig(
        level=logging.INFO, format=FORMAT, handlers=[handler or logging.StreamHandler()]
    )
    logging._srcfile = None  # the HOWTO's own switch
    logging.logThreads = False
    logging.logProcesses = False
    logging.logMultiprocessing = False
    # httpx logs each request at INFO: a line per check is noise, and CPU at 10,000 monitors.
    logging.getLogger("httpx").setLevel(logging.WARNING)
