"""The `agents` and `metrics` namespaces and the metric parts of `alert_rules`: the requests
they send (httpx.MockTransport standing in for the network, which records them) and what
they make of the answers. Against the real server: tests/shared/test_agents_server_client.py."""

from __future__ import annotations

import json
from datetime import UTC, datetime

import httpx

from shared.api.agents import AgentStatus
from shared.client import AsyncClient, Client
from tests.shared.recording import recording

NOW = "2026-12-06T12:00:00Z"
AGENT = {
    "id": 7, "name": "web-1", "tags": ["web"], "status": "online", "last_seen_at": NOW,
    "hostname": "web-1.example", "os": "Linux", "agent_version": "1.0.0",
    "interval_seconds": 10, "facts": None, "token_hint": "****ab12", "created_at": NOW,
    "updated_at": NOW,
}  # fmt: skip
SERIES = {"agent_id": 7, "range": "24h", "resolution_seconds": 300, "series": []}


def test_sync_and_async_clients_offer_the_same_agent_and_metric_methods() -> None:
    sync_api, async_api = Client("http://host"), AsyncClient("http://host")
    methods = {
        "agents": {
            "list", "get", "create", "update", "delete", "regenerate_token", "install_script",
        },
        "metrics": {"summary", "series", "latest", "containers", "container_series"},
    }  # fmt: skip
    for name, expected in methods.items():
        for api in (sync_api, async_api):
            namespace = getattr(api, name)
            assert {m for m in dir(namespace) if not m.startswith("_")} == expected, name
    for api in (sync_api, async_api):
        rules = {m for m in dir(api.alert_rules) if not m.startswith("_")}
        assert {"overrides", "set_override", "delete_override", "backtest"} <= rules


def test_agents_are_listed_with_filters_and_created_with_their_token_once() -> None:
    sent, handle = recording(
        {
            "GET /api/v1/agents": httpx.Response(
                200, json={"items": [AGENT], "total": 1, "page": 2, "per_page": 10}
            ),
            "POST /api/v1/agents": httpx.Response(201, json={**AGENT, "token": "upa_secret"}),
        }
    )
    with Client("http://host", api_key="upk_x", transport=httpx.MockTransport(handle)) as api:
        page = api.agents.list(page=2, per_page=10, status=AgentStatus.online, tag="web")
        created = api.agents.create(name="web-1", tags=("web",))
    assert page.items[0].status is AgentStatus.online
    assert dict(sent[0].url.params) == {"page": "2", "per_page": "10", "status": "online",
                                        "tag": "web"}  # fmt: skip
    assert json.loads(sent[1].content) == {"name": "web-1", "tags": ["web"]}
    assert created.token == "upa_secret"


def test_the_install_script_is_text_and_a_container_name_stays_one_path_segment() -> None:
    script = "#!/bin/sh\nset -eu\necho installing\n"
    sent, handle = recording(
        {
            "GET /api/v1/agents/7/install-script": httpx.Response(
                200, text=script, headers={"content-type": "text/x-shellscript"}
            ),
            "GET /api/v1/metrics/agents/7/containers/a%2Fb": httpx.Response(
                200, json={**SERIES, "name": "a/b"}
            ),
        }
    )
    with Client("http://host", api_key="upk_x", transport=httpx.MockTransport(handle)) as api:
        assert api.agents.install_script(7) == script
        assert api.metrics.container_series(7, "a/b", range="24h").name == "a/b"
    assert sent[1].url.raw_path.decode() == "/api/v1/metrics/agents/7/containers/a%2Fb?range=24h"


async def test_series_names_its_metrics_and_a_backtest_sends_from_and_to() -> None:
    result = {"rule_id": 3, "from": NOW, "to": NOW, "samples": 12, "incidents": []}
    override = {"agent_id": 7, "agent_name": "web-1", "threshold": None, "enabled": False,
                "updated_at": NOW}  # fmt: skip
    sent, handle = recording(
        {
            "GET /api/v1/metrics/agents/7": httpx.Response(200, json=SERIES),
            "POST /api/v1/alert-rules/3/backtest": httpx.Response(200, json=result),
            "PUT /api/v1/alert-rules/3/overrides/7": httpx.Response(200, json=override),
        }
    )
    start, end = datetime(2026, 12, 5, 12, tzinfo=UTC), datetime(2026, 12, 6, 12, tzinfo=UTC)
    transport = httpx.MockTransport(handle)
    async with AsyncClient("http://host", api_key="upk_x", transport=transport) as api:
        await api.metrics.series(7, range="24h", metrics=["cpu_pct", "mem_pct"])
        backtest = await api.alert_rules.backtest(3, from_=start, to=end, agent_ids=[7])
        off = await api.alert_rules.set_override(3, 7, enabled=False)
    assert dict(sent[0].url.params) == {"range": "24h", "metrics": "cpu_pct,mem_pct"}
    assert json.loads(sent[1].content) == {
        "from": "2026-12-05T12:00:00Z", "to": "2026-12-06T12:00:00Z", "agent_ids": [7],
    }  # fmt: skip
    assert (backtest.samples, backtest.from_) == (12, datetime(2026, 12, 6, 12, tzinfo=UTC))
    # A PUT replaces: the threshold is sent as null so the rule's own applies again.
    assert json.loads(sent[2].content) == {"threshold": None, "enabled": False}
    assert off.enabled is False
