"""The `upmetr` command's entry point: the collector tuned for a short-lived process, then
the command line.

Importing click, the client's models and (for the console) Textual makes some 70,000
objects that live as long as the process. The cyclic collector, run every 700 allocations
and now and then over all of them, spent about 0.1 s of that import; every 10,000 it
barely runs.

httpx imports its own command line (with rich and pygments) when those are installed, as
Textual's dependencies are; `upmetr` never runs it. Its import is left out as httpx allows
when they are missing.
"""

from __future__ import annotations

import gc
import sys

GC_THRESHOLD = (10_000, 20, 20)


def main() -> None:
    gc.set_threshold(*GC_THRESHOLD)
    sys.modules.setdefault("httpx._main", None)  # type: ignore[arg-type]
    from console.cli import main as command_line

    command_line()
