"""The `agents` and `metrics` namespaces and the metric parts of `alert_rules`, async,
against a real server on 127.0.0.1: what the console's hosts and alert rules views call."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta

import pytest
from aiohttp.test_utils import TestClient

from shared.api.agents import AgentStatus
from shared.client import AsyncClient, Forbidden, NotFound, Unauthorized
from tests.conftest import World
from tests.shared.cloud_builders import url_of


def api_for(client: TestClient, token: str) -> AsyncClient:  # type: ignore[type-arg]
    return AsyncClient(url_of(client), access_token=token)


def batch(ts: datetime) -> dict[str, object]:
    return {
        "hostname": "web-1", "interval_seconds": 60,
        "samples": [{"ts": ts.isoformat().replace("+00:00", "Z"), "cpu_pct": 12.5,
                     "mem_pct": 40.0, "mem_used": 2**30,
                     "net": {"rx_bps": 1.0, "tx_bps": 2.0}}],
        "containers": [{"name": "nginx", "state": "running", "cpu_pct": 1.5}],
    }  # fmt: skip


async def test_an_agent_reports_and_its_metrics_rules_and_token_follow(
    client: TestClient,  # type: ignore[type-arg]
    world: World,
) -> None:
    async with api_for(client, world.alice.access_token) as api:
        agent = await api.agents.create(name="web-1", tags=["web"])
        posted = await client.post(
            "/api/v1/agents/ingest", json=batch(datetime.now(UTC) - timedelta(seconds=5)),
            headers={"Authorization": f"Bearer {agent.token}"},
        )  # fmt: skip
        assert posted.status == 202, await posted.text()

        assert (await api.agents.get(agent.id)).status is AgentStatus.online
        latest = await api.metrics.latest(agent.id)
        assert latest.sample is not None and latest.sample.cpu_pct == 12.5
        series = await api.metrics.series(agent.id, range="1h", metrics=["cpu_pct"])
        assert [s.metric for s in series.series] == ["cpu_pct"]
        (container,) = await api.metrics.containers(agent.id)
        assert (await api.metrics.container_series(agent.id, container.name)).name == "nginx"
        assert (await api.metrics.summary()).online == 1

        renamed = await api.agents.update(agent.id, name="web-01", tags=[])
        assert (renamed.name, renamed.tags) == ("web-01", [])
        rule = await api.alert_rules.create(
            name="cpu hot", trigger_type="infra_metric", metric="cpu_pct",
            condition="above", threshold=90,
        )  # fmt: skip
        raised = await api.alert_rules.set_override(rule.id, agent.id, threshold=99.0)
        assert (raised.agent_name, raised.threshold) == ("web-01", 99.0)
        assert [o.agent_id for o in await api.alert_rules.overrides(rule.id)] == [agent.id]
        await api.alert_rules.delete_override(rule.id, agent.id)
        assert await api.alert_rules.overrides(rule.id) == []

        renewed = await api.agents.regenerate_token(agent.id)
        refused = await client.post(
            "/api/v1/agents/ingest", json=batch(datetime.now(UTC)),
            headers={"Authorization": f"Bearer {agent.token}"},
        )  # fmt: skip
        assert refused.status == 401 and renewed.token != agent.token
        await api.agents.delete(agent.id)
        with pytest.raises(NotFound):
            await api.agents.get(agent.id)


async def test_a_viewer_reads_agents_but_cannot_add_one_and_carol_sees_none_of_them(
    client: TestClient,  # type: ignore[type-arg]
    world: World,
) -> None:
    async with api_for(client, world.alice.access_token) as alice:
        agent = await alice.agents.create(name="web-1")
    async with api_for(client, world.bob.access_token) as bob:
        assert [a.name for a in (await bob.agents.list()).items] == ["web-1"]
        with pytest.raises(Forbidden):
            await bob.agents.create(name="mine")
    async with api_for(client, world.carol.access_token) as carol:
        assert (await carol.agents.list()).total == 0
        with pytest.raises(NotFound):
            await carol.metrics.latest(agent.id)
    async with AsyncClient(url_of(client), access_token=agent.token) as host:
        with pytest.raises(Unauthorized):  # an agent's token reads nothing
            await host.agents.list()
