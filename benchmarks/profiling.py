"""py-spy profiles of a benchmark's processes while one of its phases runs, summed up as
self time by area (SQLAlchemy, the SQLite driver, aiohttp, ...) and the project's functions
most often on the stack. py-spy is not a dependency: its path is given (`--profile`).
"""

from __future__ import annotations

import contextlib
import re
import signal
import subprocess
from collections import Counter
from collections.abc import Iterator
from pathlib import Path


@contextlib.contextmanager
def profiled(py_spy: str | None, pids: dict[str, int], phase: str, out: Path) -> Iterator[None]:
    """py-spy record (raw collapsed stacks, --nonblocking so the process is not paused) on
    each process while the block runs; then each one's top functions are printed."""
    if not py_spy:
        yield
        return
    spies = {}
    for name, pid in pids.items():
        command = [py_spy, "record", "--nonblocking", "--format", "raw", "--rate", "200"]
        output = out / f"{phase}-{name}.txt"
        command += ["--pid", str(pid), "--output", str(output)]
        spies[name] = subprocess.Popen(
            command, stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL
        )
    try:
        yield
    finally:
        for spy in spies.values():
            spy.send_signal(signal.SIGINT)
        for name, spy in spies.items():
            spy.wait(timeout=60)
            print_profile(out / f"{phase}-{name}.txt", f"{phase}, {name} process")


AREAS = (  # where a sample's top frame is, by its file
    ("waiting in select (idle)", ("selectors.py",)),
    ("SQLAlchemy", ("sqlalchemy/",)),
    ("SQLite calls (inline driver, lock waits)", ("server/db/inline_sqlite.py", "sqlite3/")),
    ("thread pool (lock waits)", ("concurrent/", "threading.py")),
    ("aiohttp (client, server)", ("aiohttp/", "yarl/", "multidict/")),
    ("asyncio", ("asyncio/",)),
    ("pydantic", ("pydantic",)),
    ("json", ("json/",)),
    ("Upmetr code", ("server/", "shared/", "console/")),
)


def print_profile(path: Path, title: str, top: int = 12) -> None:
    """Self time by area, and the Upmetr functions most often on the stack. SQLAlchemy's
    async layer runs each statement in a greenlet whose stack starts at the Session call,
    so a function's inclusive share leaves out its statements' time."""
    if not path.exists():
        print(f"\nprofile {title}: none written")
        return
    total, areas, ours = 0, Counter[str](), Counter[str]()
    for line in path.read_text().splitlines():
        stack, _, count = line.rpartition(" ")
        # "function (/a/b/site-packages/pkg/file.py:12)" -> "function (pkg/file.py)"
        frames = [
            re.sub(
                r":\d+\)$", ")", re.sub(r" \(.*/(site-packages|python3\.\d+|wt-[^/]+)/", " (", f)
            )
            for f in stack.split(";")
        ]
        samples = int(count)
        total += samples
        file = frames[-1].rpartition("(")[2]
        area = next((name for name, starts in AREAS if file.startswith(starts)), "other")
        areas[area] += samples
        for frame in {f for f in frames if "(server/" in f and "(server/worker.py" not in f}:
            ours[frame] += samples
    print(f"\nprofile {title}: {total} samples ({path.name})")
    print("  self time by area:")
    for area, samples in areas.most_common():
        print(f"    {100 * samples / max(1, total):5.1f} %  {area}")
    print("  Upmetr functions on the stack:")
    for frame, samples in ours.most_common(top):
        print(f"    {100 * samples / max(1, total):5.1f} %  {frame[:120]}")
