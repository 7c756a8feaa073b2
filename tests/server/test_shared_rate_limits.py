"""With UPMETR_REDIS_URL the rate limits count in Redis, so a caller's requests count the
same whichever API process answers them."""

from __future__ import annotations

import pytest
from aiohttp.test_utils import TestClient, TestServer

from server.app import build_app
from server.config import Settings
from tests.conftest import World
from tests.redis_server import redis_url  # noqa: F401 - a fixture


@pytest.fixture
def settings(settings: Settings, redis_url: str) -> Settings:  # noqa: F811
    return settings.model_copy(update={"redis_url": redis_url, "rate_limit_user": "3/minute"})


async def test_two_api_processes_count_one_callers_requests_together(
    client: TestClient, world: World, settings: Settings
) -> None:
    async with TestClient(TestServer(build_app(settings), host="127.0.0.1")) as other:
        answers = []
        for api in (client, other, client, other):
            response = await api.get("/api/v1/auth/me", headers=world.carol.headers)
            answers.append(response.status)
        assert answers == [200, 200, 200, 429]
        refused = await other.get("/api/v1/auth/me", headers=world.carol.headers)
        assert refused.status == 429
        assert int(refused.headers["Retry-After"]) >= 1
        # Another caller has a count of their own.
        assert (await other.get("/api/v1/auth/me", headers=world.alice.headers)).status == 200
