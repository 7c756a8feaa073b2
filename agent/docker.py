"""Container stats from the Docker Engine API on its unix socket, as `docker stats` shows them.

1. GET /containers/json?all=1 lists every container with its state.
2. For each running one, GET /containers/{id}/stats?stream=false&one-shot=true, a few at a
   time (a bounded thread pool, each thread with its own connection).
3. CPU % is computed as the docker CLI does (cli/command/container/stats_helpers.go):
   (cpu_delta / system_delta) x online_cpus x 100, the deltas taken against `precpu_stats`.
   With one-shot (Engine API >= 1.41) the daemon answers at once but leaves precpu_stats
   empty, so the previous interval's cpu_stats of the same container stand in for it: the
   figure is then the average over the whole interval. A container's first sample reads 0.
4. Memory is usage minus the page cache: `inactive_file` on cgroup v2, `cache` on v1.
5. No socket (no Docker on this host), or no permission on it: no containers, said once in
   the log, and said again only when it changes.
"""

from __future__ import annotations

import json
import logging
import os
from concurrent.futures import ThreadPoolExecutor
from threading import local
from typing import Any

from agent.transport import Endpoint, TransportError

log = logging.getLogger("upmetr.agent.docker")

MAX_CONTAINERS = 200  # shared.api.agents.IngestBatch.containers' bound
STATS_WORKERS = 4
TIMEOUT_SECONDS = 5.0

Stats = dict[str, Any]


def cpu_pct(stats: Stats, previous: Stats | None = None) -> float:
    """Of one core (a container busy on 4 cores shows 400), as `docker stats` computes it.
    `previous` is an earlier `cpu_stats` of the same container, used when the answer's own
    `precpu_stats` is empty (one-shot)."""
    now = stats.get("cpu_stats") or {}
    before = stats.get("precpu_stats") or {}
    if not before.get("system_cpu_usage") and previous is not None:
        before = previous
    cpu_delta = (now.get("cpu_usage") or {}).get("total_usage", 0) - (
        before.get("cpu_usage") or {}
    ).get("total_usage", 0)
    system_delta = now.get("system_cpu_usage", 0) - before.get("system_cpu_usage", 0)
    online = now.get("online_cpus") or len((now.get("cpu_usage") or {}).get("percpu_usage") or ())
    if cpu_delta <= 0 or system_delta <= 0 or not before.get("system_cpu_usage"):
        return 0.0
    return round(cpu_delta / system_delta * (online or 1) * 100.0, 2)


def memory(stats: Stats) -> tuple[int, int | None, float | None]:
    """(usage without page cache, limit, % of limit)."""
    mem = stats.get("memory_stats") or {}
    usage = int(mem.get("usage") or 0)
    detail = mem.get("stats") or {}
    # cgroup v1 reports `cache`; v2 has no such key and reports `inactive_file`.
    cache = detail["cache"] if "cache" in detail else detail.get("inactive_file", 0)
    if 0 < cache < usage:
        usage -= int(cache)
    limit = int(mem.get("limit") or 0) or None
    pct = round(min(usage / limit * 100, 100.0), 2) if limit else None
    return usage, limit, pct


def _name(summary: Stats) -> str:
    names = summary.get("Names") or []
    name = str(names[0]).lstrip("/") if names else str(summary.get("Id", ""))[:12]
    return name[:255] or "unnamed"


class DockerStats:
    """Reads container stats every interval; `read()` never raises."""

    def __init__(self, socket_path: str, *, timeout: float = TIMEOUT_SECONDS) -> None:
        self.socket_path = socket_path
        self.timeout = timeout
        self._lister = Endpoint(unix_socket=socket_path, timeout=timeout)
        self._local = local()  # each pool thread's own Endpoint: http.client is not shared
        self._pool: ThreadPoolExecutor | None = None
        self._previous: dict[str, Stats] = {}
        self._problem: str | None = None

    def _say(self, problem: str | None) -> None:
        """Log a problem once, and its end once: a host without Docker must not fill the
        journal with one line per interval."""
        if problem == self._problem:
            return
        if problem is None:
            log.info("Docker answers on %s again: container stats resume", self.socket_path)
        else:
            log.warning("%s: no container stats until that changes", problem)
        self._problem = problem

    def _endpoint(self) -> Endpoint:
        endpoint: Endpoint | None = getattr(self._local, "endpoint", None)
        if endpoint is None:
            endpoint = Endpoint(unix_socket=self.socket_path, timeout=self.timeout)
            self._local.endpoint = endpoint
        return endpoint

    def _get(self, endpoint: Endpoint, path: str) -> Any:
        answer = endpoint.request("GET", path)
        if answer.status != 200:
            raise TransportError(f"GET {path} answered {answer.status}")
        return json.loads(answer.body)

    def _stats_of(self, container_id: str) -> Stats | None:
        try:
            stats = self._get(
                self._endpoint(), f"/containers/{container_id}/stats?stream=false&one-shot=true"
            )
        except (TransportError, ValueError) as error:
            # It may have stopped between the list and this call; it is listed next time.
            log.debug("stats of container %s: %s", container_id[:12], error)
            return None
        return stats if isinstance(stats, dict) else None

    def read(self) -> list[dict[str, Any]]:
        if not os.path.exists(self.socket_path):
            self._say(f"no Docker socket at {self.socket_path}")
            return []
        try:
            listed = self._get(self._lister, "/containers/json?all=1")
        except (TransportError, ValueError) as error:
            problem = f"Docker on {self.socket_path}: {error}"
            if "PermissionError" in problem:
                problem = f"no permission on {self.socket_path} (is the user in the docker group?)"
            self._say(problem)
            return []
        self._say(None)
        if not isinstance(listed, list):
            return []
        listed = listed[:MAX_CONTAINERS]
        running = [item["Id"] for item in listed if item.get("State") == "running"]
        stats_by_id: dict[str, Stats | None] = {}
        if running:
            if self._pool is None:
                self._pool = ThreadPoolExecutor(STATS_WORKERS, thread_name_prefix="docker-stats")
            stats_by_id = dict(zip(running, self._pool.map(self._stats_of, running), strict=True))

        containers: list[dict[str, Any]] = []
        seen: dict[str, Stats] = {}
        for item in listed:
            entry: dict[str, Any] = {
                "name": _name(item),
                "image": str(item.get("Image", ""))[:500],
                "state": str(item.get("State", "unknown"))[:50] or "unknown",
                "cpu_pct": 0.0,
                "mem_bytes": 0,
                "mem_limit": None,
                "mem_pct": None,
            }
            stats = stats_by_id.get(item.get("Id", ""))
            if stats:
                entry["cpu_pct"] = min(cpu_pct(stats, self._previous.get(item["Id"])), 100_000.0)
                entry["mem_bytes"], entry["mem_limit"], entry["mem_pct"] = memory(stats)
                if stats.get("cpu_stats"):
                    seen[item["Id"]] = stats["cpu_stats"]
            containers.append(entry)
        self._previous = seen  # forgets removed containers
        return containers

    def close(self) -> None:
        if self._pool is not None:
            self._pool.shutdown(wait=False, cancel_futures=True)
        self._lister.close()
