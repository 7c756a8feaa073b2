"""Builders for agent tests: an agent made through the API, and samples posted with its token."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta
from typing import Any

from aiohttp.test_utils import TestClient

from shared.api.common import API_PREFIX
from tests.conftest import Person
from tests.server.api_calls import call

Client = TestClient  # type: ignore[type-arg]
INGEST = f"{API_PREFIX}/agents/ingest"


async def add_agent(
    client: Client, person: Person, name: str = "web-1", **body: Any
) -> dict[str, Any]:
    """An agent of the person's org; the answer has its `token`."""
    status, created = await call(client, person, "POST", "/agents", {"name": name, **body})
    assert status == 201, created
    return dict(created)


def sample(
    ts: datetime | None = None, *, cpu: float = 10.0, mem: float = 20.0,
    disks: dict[str, float] | None = None, load1: float = 0.5, net_errors: float = 0.0,
) -> dict[str, Any]:  # fmt: skip
    """One sample as an agent posts it (default: now)."""
    at = ts or datetime.now(UTC)
    return {
        "ts": at.isoformat().replace("+00:00", "Z"),
        "cpu_pct": cpu,
        "mem_pct": mem,
        "mem_used": 1_000_000,
        "disk": [
            {"mount": mount, "total_bytes": 100, "used_bytes": int(pct), "pct": pct}
            for mount, pct in (disks if disks is not None else {"/": 40.0}).items()
        ],
        "net": {"rx_bps": 100.0, "tx_bps": 50.0, "errors_per_min": net_errors},
        "load": [load1, 0.4, 0.3],
    }


def series_of(values: list[float], *, end: datetime | None = None, step: int = 10,
              metric: str = "cpu") -> list[dict[str, Any]]:  # fmt: skip
    """Samples `step` seconds apart, the last at `end` (default now), `metric` taking `values`."""
    last = end or datetime.now(UTC).replace(microsecond=0)
    first = last - timedelta(seconds=step * (len(values) - 1))
    return [
        sample(first + timedelta(seconds=step * i), **{metric: value})
        for i, value in enumerate(values)
    ]


async def post(
    client: Client, token: str, samples: list[dict[str, Any]], *,
    containers: list[dict[str, Any]] | None = None, interval: int = 10, hostname: str = "web-1",
) -> tuple[int, Any]:  # fmt: skip
    body = {
        "hostname": hostname, "os": "Linux 6.1", "agent_version": "0.1.0",
        "interval_seconds": interval, "samples": samples, "containers": containers or [],
    }  # fmt: skip
    response = await client.post(INGEST, json=body, headers={"Authorization": f"Bearer {token}"})
    return response.status, await response.json()
