"""A backtest and live evaluation of a metric rule agree: on random series and random rule
terms, the incidents a backtest reports are those live evaluation opened, opening and
resolving at the same samples."""

from __future__ import annotations

import asyncio
import itertools
from datetime import UTC, datetime, timedelta
from typing import Any

from aiohttp.test_utils import TestClient, TestServer
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from server.app import build_app
from server.config import Settings
from server.context import SESSIONS
from tests.builders import Person, add_member, create_org, create_user
from tests.conftest import sign_in
from tests.server.agent_calls import add_agent, post, series_of
from tests.server.api_calls import call

# Values on a grid around the thresholds, so series cross them often and hit them exactly.
VALUES = st.sampled_from([0.0, 10.0, 49.99, 50.0, 50.01, 60.0, 90.0, 100.0])
TERMS = st.fixed_dictionaries({
    "condition": st.sampled_from(["above", "below", "equals"]),
    "threshold": st.sampled_from([50.0, 60.0]),
    "breach_count": st.integers(1, 4),
    "recovery_count": st.integers(1, 4),
    "cooldown_minutes": st.sampled_from([0, 1]),  # the series span < 1 min: 1 blocks reopening
})  # fmt: skip


def test_backtest_and_live_evaluation_agree(settings: Settings, password_hash: str) -> None:
    loop = asyncio.new_event_loop()
    try:
        loop.run_until_complete(_check_examples(settings, password_hash, loop))
    finally:
        loop.close()


async def _check_examples(
    server_settings: Settings, password_hash: str, loop: asyncio.AbstractEventLoop
) -> None:
    async with TestClient(TestServer(build_app(server_settings), host="127.0.0.1")) as client:
        alice = await _member(client, password_hash)
        names = itertools.count()

        @settings(max_examples=25, deadline=None, database=None,
                  suppress_health_check=[HealthCheck.function_scoped_fixture])  # fmt: skip
        @given(values=st.lists(VALUES, min_size=1, max_size=30), terms=TERMS)
        def agree(values: list[float], terms: dict[str, Any]) -> None:
            future = asyncio.run_coroutine_threadsafe(
                _agree(client, alice, next(names), values, terms), loop
            )
            future.result()

        await loop.run_in_executor(None, agree)


async def _member(client: TestClient, password_hash: str) -> Person:  # type: ignore[type-arg]
    async with client.app[SESSIONS]() as db, db.begin():
        org = await create_org(db, "Org A")
        user = await create_user(db, "alice@example.com", password_hash=password_hash)
        await add_member(db, user, org, "superadmin")
        person = Person(email=user.email, user_id=user.id, org_id=org.id, role="superadmin")
    return await sign_in(client, person)


async def _agree(
    client: TestClient,
    alice: Person,
    n: int,
    values: list[float],
    terms: dict[str, Any],  # type: ignore[type-arg]
) -> None:
    agent = await add_agent(client, alice, f"host-{n}")
    status, rule = await call(client, alice, "POST", "/alert-rules", {
        "name": f"rule-{n}", "trigger_type": "infra_metric", "metric": "cpu_pct",
        "scope": {"agent_ids": [agent["id"]]}, **terms,
    })  # fmt: skip
    assert status == 201, rule
    end = datetime.now(UTC).replace(microsecond=0)
    live: list[list[int | None]] = []  # [opened at sample i, resolved at sample j or None]
    for i, each in enumerate(series_of(values, end=end, step=1)):  # a post per sample
        status, answer = await post(client, agent["token"], [each])
        assert (status, answer["late"]) == (202, 0), answer
        _, found = await call(
            client, alice, "GET", f"/incidents?agent_id={agent['id']}&sort=opened_at"
        )
        for seen, incident in enumerate(found["items"]):
            if seen == len(live):
                live.append([i, None])
            if incident["status"] == "resolved" and live[seen][1] is None:
                live[seen][1] = i
    status, tested = await call(client, alice, "POST", f"/alert-rules/{rule['id']}/backtest", {
        "from": (end - timedelta(minutes=1)).isoformat(), "to": end.isoformat(),
    })  # fmt: skip
    assert status == 200 and tested["samples"] == len(values)
    expected = [_as_positions(found, end, len(values)) for found in tested["incidents"]]
    assert [tuple(each) for each in live] == expected, (values, terms)


def _as_positions(found: dict[str, Any], end: datetime, count: int) -> tuple[int, int | None]:
    """A backtest incident as (sample opening it, sample resolving it or None)."""
    first = end - timedelta(seconds=count - 1)

    def index(at: str | None) -> int | None:
        if at is None:
            return None
        return int((datetime.fromisoformat(at) - first).total_seconds())

    opened = index(found["opened_at"])
    assert opened is not None
    return opened, index(found["resolved_at"])
