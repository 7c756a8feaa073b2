"""The service: one sample and one POST per interval, on a steady cadence.

Each tick:
1. Sample the host (collect.Collector) and read container stats (docker.DockerStats).
2. POST the batch. Accepted: replay the spool, oldest first, up to MAX_SAMPLES a post, until
   it is empty or a post fails. Retry or refused: the batch's samples go to the spool.
   Dropped (400/413/422): logged with the server's detail and forgotten.
3. After a 429 or 503 with Retry-After, ticks spool their sample without posting until then.
4. Sleep until the next tick: ticks are `interval` apart whatever each took; a tick that
   overruns skips the ticks it missed instead of running them back to back.
Replayed posts carry no container stats: the API stores those as the current state.
"""

from __future__ import annotations

import logging
import os
import socket
import time
from threading import Event
from typing import Any

from agent import __version__
from agent.collect import Collector, host_facts, os_name
from agent.config import Config
from agent.docker import DockerStats
from agent.sender import PostResult, Sender, Verdict
from agent.spool import MAX_SAMPLES, Spool

log = logging.getLogger("upmetr.agent")

# Posts of spooled samples per tick at most: an hour at a 1 s interval drains in one tick
# or two, and the cadence holds.
MAX_REPLAYS_PER_TICK = 8
FIRST_TICK_AFTER = 1.0  # seconds after start: CPU and network rates need a span to measure


class Agent:
    def __init__(
        self,
        config: Config,
        *,
        collector: Collector | None = None,
        docker: DockerStats | None = None,
        spool: Spool | None = None,
        sender: Sender | None = None,
    ) -> None:
        self.config = config
        self.collector = collector or Collector()
        self.docker = docker or DockerStats(config.docker_socket)
        self._spool = spool
        self._sender = sender
        self.hostname = socket.gethostname()[:253] or "localhost"
        self.os = os_name()
        self.facts = host_facts()
        self.posts = 0
        self._hold_until = 0.0  # time.monotonic() before which nothing is posted
        self._refused = False
        self._unavailable = False

    @property
    def spool(self) -> Spool:
        # Made on first use: `once` and `collect` run as any user and must not create the
        # state directory.
        if self._spool is None:
            self._spool = Spool(os.path.join(self.config.state_dir, "spool"))
        return self._spool

    @property
    def sender(self) -> Sender:
        if self._sender is None:
            self._sender = Sender(self.config.server, self.config.token)
        return self._sender

    def batch(
        self, samples: list[dict[str, Any]], containers: list[dict[str, Any]]
    ) -> dict[str, Any]:
        """An IngestBatch (shared.api.agents) as a plain dict."""
        return {
            "hostname": self.hostname,
            "os": self.os,
            "agent_version": __version__,
            "interval_seconds": self.config.interval,
            "facts": self.facts,
            "samples": samples,
            "containers": containers,
        }

    def collect(self) -> dict[str, Any]:
        return self.batch([self.collector.sample()], self.docker.read())

    def post(self, batch: dict[str, Any]) -> PostResult:
        self.posts += 1
        result = self.sender.post(batch)
        if result.verdict is Verdict.refused:
            if not self._refused:
                log.error(
                    "the server refused the agent token (%s). It is wrong, or was regenerated: "
                    "put the new one in the config file and restart. Samples are kept in the "
                    "spool meanwhile.",
                    result.describe(),
                )
            self._refused = True
        elif result.status is not None:
            if self._refused:
                log.info("the server accepts the agent token again")
            self._refused = False
        if result.verdict is Verdict.dropped:
            log.error("the server will not take a batch, dropped: %s", result.describe())
        # An outage is said when it starts and when it ends, not once per interval.
        if result.verdict is Verdict.retry and not self._unavailable:
            log.warning("server unavailable (%s): samples are spooled", result.describe())
        elif result.verdict is not Verdict.retry and self._unavailable:
            log.info("the server answers again (%s)", result.describe() or "accepted")
        self._unavailable = result.verdict is Verdict.retry
        if result.retry_after:
            self._hold_until = time.monotonic() + result.retry_after
        return result

    def tick(self) -> None:
        batch = self.collect()
        if time.monotonic() < self._hold_until:
            self.spool.add(batch["samples"])
            return
        result = self.post(batch)
        if result.verdict in (Verdict.retry, Verdict.refused):
            self.spool.add(batch["samples"])
        elif result.verdict is Verdict.accepted:
            self.replay()

    def replay(self) -> None:
        for _ in range(MAX_REPLAYS_PER_TICK):
            if not len(self.spool):
                return
            names, samples = self.spool.oldest(MAX_SAMPLES)
            if not samples:
                self.spool.remove(names)
                continue
            result = self.post(self.batch(samples, []))
            if result.verdict in (Verdict.retry, Verdict.refused):
                return
            self.spool.remove(names)  # taken, or never to be taken
            if result.verdict is Verdict.accepted:
                log.info("replayed %d spooled samples", len(samples))

    def run(self, stop: Event) -> None:
        log.info(
            "upmetr-agent %s reporting to %s every %d s (spool in %s)",
            __version__,
            self.config.server,
            self.config.interval,
            self.spool.directory,
        )
        self.collector.prime()
        interval = self.config.interval
        next_at = time.monotonic() + min(FIRST_TICK_AFTER, interval)
        while not stop.wait(max(next_at - time.monotonic(), 0.0)):
            try:
                self.tick()
            except Exception:
                # A collector bug must not end the service; systemd would restart it into
                # the same state anyway.
                log.exception("tick failed")
            next_at += interval
            behind = time.monotonic() - next_at
            if behind >= 0:
                next_at += (behind // interval + 1) * interval
        self.close()
        log.info("stopped")

    def close(self) -> None:
        if self._sender is not None:
            self._sender.close()
        self.docker.close()
