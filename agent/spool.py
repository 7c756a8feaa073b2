"""Samples the server did not take, kept on disk until it does.

1. A batch that could not be delivered (server unreachable, 5xx, 429, timeout, a refused
   token) is written as one file: a JSON list of its samples, named by its oldest and newest
   sample times so that the names sort oldest first. Written to a temporary name, synced,
   then renamed: a crash leaves either the whole file or none (rename(2) is atomic).
2. The spool keeps at most an hour of samples or 5 MB, whichever is smaller: past either
   bound, the oldest files go first. A late sample older than the server's raw retention is
   of little use, and a host must not fill its disk because the server is down.
3. `oldest(limit)` reads the oldest files, up to `limit` samples (one post), in order;
   the caller removes them once the server has taken them.
4. Files live in the state directory, so the spool survives a restart of the agent.
"""

from __future__ import annotations

import calendar
import contextlib
import json
import logging
import os
import time
from typing import Any

log = logging.getLogger("upmetr.agent.spool")

MAX_AGE_SECONDS = 3600
MAX_BYTES = 5_000_000
MAX_SAMPLES = 500  # shared.api.agents.MAX_SAMPLES: what one post may carry
SUFFIX = ".json"


def epoch_of(ts: str) -> float:
    """Seconds since 1970 of an ISO 8601 UTC time written by collect.iso_utc."""
    whole = calendar.timegm(time.strptime(ts[:19], "%Y-%m-%dT%H:%M:%S"))
    fraction = ts[19:].rstrip("Z")
    return whole + (float(fraction) if fraction.startswith(".") else 0.0)


class Spool:
    def __init__(
        self,
        directory: str,
        *,
        max_age_seconds: float = MAX_AGE_SECONDS,
        max_bytes: int = MAX_BYTES,
    ) -> None:
        self.directory = directory
        self.max_age_seconds = max_age_seconds
        self.max_bytes = max_bytes
        os.makedirs(directory, mode=0o700, exist_ok=True)
        # (name, size) oldest first; kept in memory so that a tick lists nothing on disk.
        self._files: list[tuple[str, int]] = []
        for name in os.listdir(directory):
            if name.startswith("."):  # a write a crash interrupted
                self._unlink(name)
            elif name.endswith(SUFFIX):
                self._files.append((name, os.stat(self._path(name)).st_size))
        self._files.sort()

    def _path(self, name: str) -> str:
        return os.path.join(self.directory, name)

    def _unlink(self, name: str) -> None:
        with contextlib.suppress(FileNotFoundError):
            os.unlink(self._path(name))

    def __len__(self) -> int:
        return len(self._files)

    @property
    def size_bytes(self) -> int:
        return sum(size for _, size in self._files)

    def _newest_ms(self, name: str) -> int:
        return int(name.split("-")[1])

    def add(self, samples: list[dict[str, Any]], *, now: float | None = None) -> None:
        if not samples:
            return
        times = [epoch_of(sample["ts"]) for sample in samples]
        first_ms, last_ms = int(min(times) * 1000), int(max(times) * 1000)
        body = json.dumps(samples, separators=(",", ":")).encode()
        serial = 0
        while True:
            name = f"{first_ms:014d}-{last_ms:014d}-{serial:04d}{SUFFIX}"
            if not os.path.exists(self._path(name)):
                break
            serial += 1
        temporary = self._path(f".{name}.tmp")
        with open(temporary, "wb") as handle:
            handle.write(body)
            handle.flush()
            os.fsync(handle.fileno())
        os.replace(temporary, self._path(name))
        self._files.append((name, len(body)))
        self._files.sort()
        self.trim(now=now)

    def trim(self, *, now: float | None = None) -> None:
        """Drop the oldest files past either bound."""
        cutoff_ms = ((time.time() if now is None else now) - self.max_age_seconds) * 1000
        dropped = 0
        while self._files and (
            self._newest_ms(self._files[0][0]) < cutoff_ms or self.size_bytes > self.max_bytes
        ):
            name, _ = self._files.pop(0)
            self._unlink(name)
            dropped += 1
        if dropped:
            log.warning("spool full: dropped its %d oldest batches", dropped)

    def oldest(
        self, limit: int = MAX_SAMPLES, *, now: float | None = None
    ) -> tuple[list[str], list[dict[str, Any]]]:
        """The oldest files, as many as fit in `limit` samples (always one at least), and
        their samples in order, less any older than the age bound."""
        self.trim(now=now)
        cutoff = (time.time() if now is None else now) - self.max_age_seconds
        names: list[str] = []
        samples: list[dict[str, Any]] = []
        for name, _ in list(self._files):
            try:
                with open(self._path(name), "rb") as handle:
                    loaded = json.loads(handle.read())
            except (OSError, ValueError) as error:
                log.warning("spool file %s unreadable (%s): dropped", name, error)
                self.remove([name])
                continue
            if names and len(samples) + len(loaded) > limit:
                break
            names.append(name)
            samples.extend(s for s in loaded if epoch_of(s["ts"]) >= cutoff)
        return names, samples[:limit]

    def remove(self, names: list[str]) -> None:
        gone = set(names)
        for name in names:
            self._unlink(name)
        self._files = [entry for entry in self._files if entry[0] not in gone]
