"""GET /metrics: the server's own figures in the Prometheus text format.

Read at scrape time from the engines' in-memory counters; no tenant data is exposed.
With `UPMETR_METRICS_TOKEN` set, a scrape must send it as a bearer token.
"""

from __future__ import annotations

import hmac
from collections.abc import Iterator

from aiohttp import web
from prometheus_client import CollectorRegistry, generate_latest
from prometheus_client.core import CounterMetricFamily, GaugeMetricFamily, SummaryMetricFamily
from prometheus_client.registry import Collector

from server.context import CHECK_ENGINE, SETTINGS
from server.engines.checks import CheckEngine
from server.http.errors import Unauthorized


class CheckEngineCollector(Collector):
    def __init__(self, engine: CheckEngine):
        self._engine = engine

    def collect(self) -> Iterator[CounterMetricFamily | GaugeMetricFamily | SummaryMetricFamily]:
        stats = self._engine.stats
        writer = self._engine.writer.stats
        yield CounterMetricFamily(
            "upmetr_checks", "Checks finished since start", value=stats.finished
        )
        yield GaugeMetricFamily(
            "upmetr_checks_per_second", "Checks finished per second, last minute",
            value=stats.checks_per_second(),
        )  # fmt: skip
        yield GaugeMetricFamily(
            "upmetr_monitors_scheduled", "Monitors the scheduler runs", value=self._engine.scheduled
        )
        drift = SummaryMetricFamily(
            "upmetr_check_schedule_drift_seconds",
            "How late checks started after their due time (recent checks)",
            count_value=len(stats.drift),
            sum_value=sum(stats.drift),
        )
        yield drift
        for quantile in (0.5, 0.99):
            value = stats.drift_quantile(quantile)
            if value is not None:
                yield GaugeMetricFamily(
                    f"upmetr_check_schedule_drift_p{int(quantile * 100)}_seconds",
                    f"Schedule drift, {quantile:.0%} of recent checks started within",
                    value=value,
                )
        yield GaugeMetricFamily(
            "upmetr_check_results_pending", "Results waiting for the writer",
            value=self._engine.writer.pending,
        )  # fmt: skip
        yield CounterMetricFamily(
            "upmetr_check_results_written", "Results written", value=writer.written
        )
        yield CounterMetricFamily(
            "upmetr_check_write_failures", "Batches that failed and were retried",
            value=writer.failures,
        )  # fmt: skip


async def metrics(request: web.Request) -> web.Response:
    token = request.app[SETTINGS].metrics_token
    if token:
        given = request.headers.get("Authorization", "").removeprefix("Bearer ")
        if not hmac.compare_digest(given.encode(), token.encode()):
            raise Unauthorized("A metrics token is required")
    registry = CollectorRegistry(auto_describe=False)
    registry.register(CheckEngineCollector(request.app[CHECK_ENGINE]))
    return web.Response(body=generate_latest(registry), content_type="text/plain", charset="utf-8")
