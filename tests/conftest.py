"""Fixtures: a fresh migrated database per test, a real server on 127.0.0.1, standing users.

alice is superadmin of org A, bob a viewer in org A, carol superadmin of org B (who must
never see org A's data). Org A and B are on the Enterprise plan unless a test says otherwise.
"""

from __future__ import annotations

import os
import shutil
from collections.abc import AsyncIterator, Iterator
from dataclasses import dataclass
from pathlib import Path

import pytest
from aiohttp.test_utils import TestClient, TestServer
from argon2 import PasswordHasher
from sqlalchemy.ext.asyncio import AsyncSession

from server.app import build_app
from server.config import Settings
from server.context import SESSIONS
from server.db.migrate import upgrade
from server.providers.outbound import TargetPolicy
from tests import postgres
from tests.builders import PASSWORD, Person, add_member, create_org, create_user

# `smtp`: a real SMTP server on 127.0.0.1; `aws`: moto's server on 127.0.0.1; `stripe_world`:
# localstripe and a Stripe-shaped front on 127.0.0.1.
pytest_plugins = ["tests.mail", "tests.aws", "tests.server.stripe_world"]


def pytest_configure(config: pytest.Config) -> None:
    """Under tox the suite tests the installed wheel: importing the checkout would hide a
    file left out of the wheel, as the console's styles once were."""
    import server

    checkout = Path(__file__).resolve().parents[1]
    imported = Path(server.__file__).resolve().parents[1]
    if os.environ.get("UPMETR_TEST_INSTALLED") and imported == checkout:
        raise pytest.UsageError(f"the tests imported the checkout at {checkout}, not the wheel")
    postgres.configure(config)


def pytest_sessionfinish() -> None:
    postgres.stop()


def pytest_collection_modifyitems(items: list[pytest.Item]) -> None:
    """Tests marked `runs_long` go first: spread over two workers (pytest-xdist), one that
    starts last runs alone at the end while the other worker has nothing left to do."""
    items.sort(key=lambda item: item.get_closest_marker("runs_long") is None)
    postgres.skip_sqlite_only(items)


# The suite's check targets are real servers on 127.0.0.1, so its servers and checkers allow
# private targets, as `upmetr up` does; tests/server/test_outbound_policy.py turns it off.
LOCAL_TARGETS = TargetPolicy(allow_private=True)

# Cheap argon2 parameters keep the suite fast; production uses the defaults in Settings.
FAST_ARGON2 = {"argon2_time_cost": 1, "argon2_memory_cost": 1024, "argon2_parallelism": 1}


@pytest.fixture(scope="session")
def template_db(tmp_path_factory: pytest.TempPathFactory) -> Path:
    """Migrate once; every test gets a copy of the result (a fresh database, quickly)."""
    path = tmp_path_factory.mktemp("template") / "upmetr.db"
    upgrade(f"sqlite+aiosqlite:///{path}")
    return path


@pytest.fixture(scope="session")
def postgres_template() -> None:
    """Migrate a PostgreSQL template once per worker (tests/postgres.py)."""
    postgres.migrate_template()


@pytest.fixture
def database_url(request: pytest.FixtureRequest) -> Iterator[str | None]:
    """A fresh PostgreSQL database for this test under UPMETR_TEST_DATABASE=postgresql;
    None on SQLite, where `settings` copies the migrated file instead."""
    if not postgres.enabled():
        yield None
        return
    request.getfixturevalue("postgres_template")
    with postgres.fresh_database() as url:
        yield url


@pytest.fixture(scope="session")
def password_hash() -> str:
    return PasswordHasher(time_cost=1, memory_cost=1024, parallelism=1).hash(PASSWORD)


@pytest.fixture
def settings(tmp_path: Path, database_url: str | None, request: pytest.FixtureRequest) -> Settings:
    data_dir = tmp_path / "data"
    data_dir.mkdir()
    if database_url is None:
        shutil.copy(request.getfixturevalue("template_db"), data_dir / "upmetr.db")
    return Settings(
        data_dir=data_dir,
        database_url=database_url,
        engines=False,  # tests that need scheduled checks turn them on
        rate_limit_user="10000/minute",
        rate_limit_anon="10000/minute",
        login_failure_limit="1000/minute",
        login_failure_limit_ip="1000/minute",
        allow_private_targets=True,
        **FAST_ARGON2,  # type: ignore[arg-type]
    )


@pytest.fixture
async def client(settings: Settings) -> AsyncIterator[TestClient]:  # type: ignore[type-arg]
    """An HTTP client for the server, started for real on 127.0.0.1 on a random port."""
    app = build_app(settings)
    async with TestClient(TestServer(app, host="127.0.0.1")) as test_client:
        yield test_client


@pytest.fixture
async def db(client: TestClient) -> AsyncIterator[AsyncSession]:  # type: ignore[type-arg]
    """A session on the server's own database, for arranging data and checking effects."""
    async with client.app[SESSIONS]() as session:
        yield session


@dataclass
class World:
    alice: Person
    bob: Person
    carol: Person
    org_a: int
    org_b: int


async def sign_in(client: TestClient, person: Person) -> Person:  # type: ignore[type-arg]
    response = await client.post(
        "/api/v1/auth/login", json={"email": person.email, "password": person.password}
    )
    assert response.status == 200, await response.text()
    tokens = await response.json()
    person.access_token = tokens["access_token"]
    person.refresh_token = tokens["refresh_token"]
    person.headers = {"Authorization": f"Bearer {person.access_token}"}
    return person


@pytest.fixture
async def world(client: TestClient, password_hash: str) -> World:  # type: ignore[type-arg]
    async with client.app[SESSIONS]() as session, session.begin():
        org_a = await create_org(session, "Org A")
        org_b = await create_org(session, "Org B")
        people = {}
        for name, org, role in (
            ("alice", org_a, "superadmin"),
            ("bob", org_a, "viewer"),
            ("carol", org_b, "superadmin"),
        ):
            user = await create_user(session, f"{name}@example.com", password_hash=password_hash)
            await add_member(session, user, org, role)
            people[name] = Person(email=user.email, user_id=user.id, org_id=org.id, role=role)
        org_ids = (org_a.id, org_b.id)
    for person in people.values():
        await sign_in(client, person)
    return World(**people, org_a=org_ids[0], org_b=org_ids[1])
