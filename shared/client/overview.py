"""The overview (`/overview`): a dashboard's first frame in one request."""

from __future__ import annotations

from shared.api.overview import Overview
from shared.client.call import Call, parse_as, query
from shared.client.namespace import M, Namespace, endpoint


class OverviewReads(Namespace[M]):
    """What is wrong now: monitor and incident counts, short lists, costs (`/overview`)."""

    @endpoint
    def get(
        self, *, latency_monitors: int | None = None, latency_points: int | None = None
    ) -> Call[Overview]:
        """`latency_monitors` monitors (default 6) come with their latest `latency_points`
        response times (default 60), for sparklines."""
        return Call(
            "GET",
            "/overview",
            parse_as(Overview),
            params=query(latency_monitors=latency_monitors, latency_points=latency_points),
        )
