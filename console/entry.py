"""The `upmetr` command's entry point: the process tuned for a short life, then the command
line.

Importing click, the client's models and (for the console) Textual makes some 70,000
objects that live as long as the process. The cyclic collector, run every 700 allocations
and now and then over all of them, spent about 0.1 s of that import; every 10,000 it
barely runs.

Two imports are left out as their libraries allow when the module is missing:
- httpx imports its own command line (with rich and pygments) when those are installed, as
  Textual's dependencies are; `upmetr` never runs it.
- httpcore imports trio when it is installed (~0.1 s), only to tell whether trio runs it;
  `upmetr` runs on asyncio alone.
"""

from __future__ import annotations

import gc
import sys

GC_THRESHOLD = (10_000, 20, 20)
LEFT_OUT = ("httpx._main", "trio")


def tune_start() -> None:
    gc.set_threshold(*GC_THRESHOLD)
    for module in LEFT_OUT:
        sys.modules.setdefault(module, None)  # type: ignore[arg-type]


def main() -> None:
    tune_start()
    from console.cli import main as command_line

    command_line()
