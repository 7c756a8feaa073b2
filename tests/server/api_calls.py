"""One request to the API as a person, answered as (status, JSON or None for a 204)."""

from __future__ import annotations

from typing import Any

from aiohttp.test_utils import TestClient

from shared.api.common import API_PREFIX
from tests.conftest import Person


async def call(
    client: TestClient,  # type: ignore[type-arg]
    person: Person,
    method: str,
    path: str,
    body: Any = None,
) -> tuple[int, Any]:
    """`path` is relative to /api/v1."""
    response = await client.request(method, API_PREFIX + path, json=body, headers=person.headers)
    return response.status, (await response.json() if response.status != 204 else None)
