"""The outbound-target policy: a tenant cannot aim the server's checks at the server itself,
its private network or a cloud metadata service, in any spelling, through a name or a
redirect; and what a blocked check says tells nothing about the target's ports.

The suite's other servers allow private targets (their targets run on 127.0.0.1); here the
settings say what each test needs, mostly the default: public targets only.
"""

from __future__ import annotations

import re
import socket
from collections.abc import AsyncIterator
from contextlib import asynccontextmanager
from dataclasses import dataclass, field
from ipaddress import ip_address, ip_network
from pathlib import Path
from typing import Any

import pytest
from aiohttp import web
from aiohttp.test_utils import TestClient
from pydantic import ValidationError

from console.cli.up_command import local_settings
from server.config import Settings
from server.providers.checks import Checker, CheckSpec, network_ok
from server.providers.outbound import TargetPolicy, parse_literal
from tests.builders import Person
from tests.conftest import World

STRICT = TargetPolicy()
# "127.0.0.1" in fullwidth digits and an ideographic full stop, which URL parsers fold.
FULLWIDTH_LOOPBACK = "\uff11\uff12\uff17\u3002\uff10.\uff10.\uff11"
BLOCKED_LOOPBACK = re.compile(r"^blocked: (127\.0\.0\.1|::1) is a loopback address$")


@dataclass
class Target:
    """A real HTTP server that counts the requests it gets; `location` makes it redirect."""

    url: str
    requests: list[str] = field(default_factory=list)
    location: str | None = None


@asynccontextmanager
async def serve(host: str = "127.0.0.1") -> AsyncIterator[Target]:
    target = Target(url="")

    async def handler(request: web.Request) -> web.StreamResponse:
        target.requests.append(request.path_qs)
        if target.location is not None:
            raise web.HTTPFound(target.location)
        return web.json_response({"status": "ok"})

    app = web.Application()
    app.router.add_route("*", "/{tail:.*}", handler)
    runner = web.AppRunner(app, shutdown_timeout=0.1)
    await runner.setup()
    await web.TCPSite(runner, host, 0).start()
    target.url = f"http://{host}:{runner.addresses[0][1]}/"
    try:
        yield target
    finally:
        await runner.cleanup()


@pytest.fixture
async def target() -> AsyncIterator[Target]:
    async with serve() as running:
        yield running


@pytest.fixture
def settings(settings: Settings) -> Settings:
    """The default policy: public targets only (the suite's fixture allows private ones)."""
    return settings.model_copy(update={"allow_private_targets": False})


def closed_port() -> int:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return int(sock.getsockname()[1])


async def post_monitor(client: TestClient, person: Person, **body: Any) -> tuple[int, Any]:
    body = {"name": "Target", "type": "http", **body}
    response = await client.post("/api/v1/monitors", json=body, headers=person.headers)
    return response.status, await response.json()


async def check_now(client: TestClient, person: Person, **body: Any) -> dict[str, Any]:
    status, monitor = await post_monitor(client, person, **body)
    assert status == 201, monitor
    response = await client.post(
        f"/api/v1/monitors/{monitor['id']}/check-now", headers=person.headers
    )
    assert response.status == 200, await response.text()
    return dict(await response.json())


# Every spelling of an address that reaches this machine, its network or the metadata service.
REFUSED = [
    ("127.0.0.1", "127.0.0.1 is a loopback address"),
    ("[::1]", "::1 is a loopback address"),
    ("::ffff:127.0.0.1", "127.0.0.1 is a loopback address"),
    ("[::ffff:7f00:1]", "127.0.0.1 is a loopback address"),
    ("64:ff9b::7f00:1", "127.0.0.1 is a loopback address"),
    ("2130706433", "127.0.0.1 is a loopback address"),
    ("0x7f.1", "127.0.0.1 is a loopback address"),
    ("0177.0.0.1", "127.0.0.1 is a loopback address"),
    ("127.1", "127.0.0.1 is a loopback address"),
    ("127.0.0.1.", "127.0.0.1 is a loopback address"),
    (FULLWIDTH_LOOPBACK, "127.0.0.1 is a loopback address"),
    ("0.0.0.0", "0.0.0.0 is an unspecified address"),  # noqa: S104 - a target, not a bind
    ("0", "0.0.0.0 is an unspecified address"),
    ("[::]", ":: is an unspecified address"),
    ("10.0.0.5", "10.0.0.5 is a private address"),
    ("192.168.1.10", "192.168.1.10 is a private address"),
    ("fd12::1", "fd12::1 is a private address"),
    ("100.64.0.1", "100.64.0.1 is a shared (carrier-grade NAT) address"),
    ("224.0.0.1", "224.0.0.1 is a multicast address"),
    ("169.254.169.254", "169.254.169.254 is a cloud metadata address"),
    ("::ffff:169.254.169.254", "169.254.169.254 is a cloud metadata address"),
    ("0xa9fea9fe", "169.254.169.254 is a cloud metadata address"),
    ("[fd00:ec2::254]", "fd00:ec2::254 is a cloud metadata address"),
    ("100.100.100.200", "100.100.100.200 is a cloud metadata address"),
    ("169.254.10.1", "169.254.10.1 is a link-local address"),
    ("fe80::1%eth0", "fe80::1%eth0 is a link-local address"),
]


@pytest.mark.parametrize(("host", "reason"), REFUSED)
def test_every_spelling_of_a_refused_address_is_read_as_the_address_it_reaches(
    host: str, reason: str
) -> None:
    address = parse_literal(host)
    assert address is not None
    refused = STRICT.refusal(address)
    assert refused is not None and refused.reason == reason


@pytest.mark.parametrize("host", ["example.com", "localhost", "1.1.1.1", "2606:4700::1111"])
def test_names_and_public_addresses_pass_the_literal_check(host: str) -> None:
    STRICT.check_literal(host)  # names are checked once resolved


def test_link_local_and_metadata_are_refused_even_with_private_targets_allowed() -> None:
    policy = TargetPolicy(allow_private=True, allowed_networks=(ip_network("169.254.0.0/16"),))
    for host in ("169.254.169.254", "::ffff:169.254.169.254", "fd00:ec2::254", "fe80::1"):
        refused = policy.refusal(ip_address(host))
        assert refused is not None and refused.always, host
    for host in ("127.0.0.1", "10.0.0.5", "::1", "100.64.0.1"):
        assert policy.refusal(ip_address(host)) is None, host


def test_the_allow_list_permits_exactly_its_networks() -> None:
    policy = TargetPolicy(allowed_networks=(ip_network("10.0.0.0/8"), ip_network("127.0.0.2/32")))
    for host in ("10.1.2.3", "::ffff:10.9.9.9", "127.0.0.2", "93.184.215.14"):
        assert policy.refusal(ip_address(host)) is None, host
    for host in ("127.0.0.1", "127.0.0.3", "192.168.1.1", "::1", "fd00::1"):
        assert policy.refusal(ip_address(host)) is not None, host


def test_the_allow_list_is_read_from_the_environment_and_a_bad_network_is_refused(
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    monkeypatch.setenv("UPMETR_ALLOWED_TARGET_NETWORKS", "10.0.0.0/8, 192.168.1.0/24,fd00::/8")
    settings = Settings()
    assert [str(net) for net in settings.allowed_target_networks] == [
        "10.0.0.0/8",
        "192.168.1.0/24",
        "fd00::/8",
    ]
    assert TargetPolicy.from_settings(settings).refusal(ip_address("192.168.1.7")) is None
    again = Settings.model_validate_json(settings.model_dump_json())  # as the worker reads it
    assert again.allowed_target_networks == settings.allowed_target_networks
    monkeypatch.setenv("UPMETR_ALLOWED_TARGET_NETWORKS", "10.0.0.1/8")
    with pytest.raises(ValidationError):
        Settings()


def test_upmetr_up_allows_private_targets_unless_the_environment_says_otherwise(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.delenv("UPMETR_ALLOW_PRIVATE_TARGETS", raising=False)
    assert local_settings(host=None, port=None, data_dir=tmp_path).allow_private_targets
    monkeypatch.setenv("UPMETR_ALLOW_PRIVATE_TARGETS", "false")
    assert not local_settings(host=None, port=None, data_dir=tmp_path).allow_private_targets
    assert not Settings().allow_private_targets  # `upmetr serve` and the default


URLS = [
    "http://127.0.0.1/",
    "http://[::1]:22/",
    "http://[::ffff:127.0.0.1]/",
    "http://2130706433/",
    "http://0x7f.1/",
    f"http://{FULLWIDTH_LOOPBACK}/",
    "http://0.0.0.0:8080/",
    "https://10.0.0.5/admin",
    "http://169.254.169.254/latest/meta-data/",
    "http://[fd00:ec2::254]/",
]


@pytest.mark.parametrize("url", URLS)
async def test_a_monitor_on_a_refused_address_is_a_400_naming_the_field(
    client: TestClient, world: World, url: str
) -> None:
    status, answer = await post_monitor(client, world.alice, url=url)
    assert status == 400
    assert answer["detail"].startswith("body field 'url': ")
    assert " address, which this server " in answer["detail"]


async def test_tcp_hosts_dns_resolvers_and_updates_are_checked_too(
    client: TestClient, world: World
) -> None:
    status, answer = await post_monitor(client, world.alice, type="tcp", host="0x7f.1", port=22)
    assert (status, answer["detail"]) == (
        400,
        "body field 'host': 127.0.0.1 is a loopback address, which this server does not "
        "connect to unless its administrator allows private targets "
        "(UPMETR_ALLOW_PRIVATE_TARGETS)",
    )
    status, answer = await post_monitor(
        client, world.alice, type="dns", host="example.com", dns_record_type="A",
        dns_resolver="[::1]:53",
    )  # fmt: skip
    assert (status, answer["detail"].split(":")[0]) == (400, "body field 'dns_resolver'")
    status, monitor = await post_monitor(client, world.alice, url="https://example.com/")
    assert status == 201
    response = await client.patch(
        f"/api/v1/monitors/{monitor['id']}",
        json={"url": "http://169.254.169.254/"},
        headers=world.alice.headers,
    )
    assert response.status == 400
    assert (await response.json())["detail"] == (
        "body field 'url': 169.254.169.254 is a cloud metadata address, "
        "which this server never connects to"
    )


async def test_a_name_resolving_to_loopback_is_accepted_then_blocked_when_checked(
    client: TestClient, world: World, target: Target
) -> None:
    url = target.url.replace("127.0.0.1", "localhost")
    result = await check_now(client, world.alice, url=url)
    assert result["status"] == "down"
    assert BLOCKED_LOOPBACK.match(result["error"]), result
    assert result["response_time_ms"] is None
    assert target.requests == []  # nothing was sent


async def test_a_json_monitor_cannot_read_the_servers_own_api_with_a_borrowed_header(
    client: TestClient, world: World
) -> None:
    """The attack of issue 16: a monitor on /auth/me that prints the user's email."""
    me = f"http://localhost:{client.server.port}/api/v1/auth/me"
    result = await check_now(
        client, world.alice, type="json", url=me, json_path="$.email", expected_value="-",
        headers=[{"name": "Authorization", "value": world.alice.headers["Authorization"]}],
    )  # fmt: skip
    assert BLOCKED_LOOPBACK.match(result["error"]), result
    assert world.alice.email not in str(result)
    literal = me.replace("localhost", "127.0.0.1")
    status, _ = await post_monitor(client, world.alice, type="json", url=literal,
                                   json_path="$.email", expected_value="-")  # fmt: skip
    assert status == 400


async def test_a_blocked_tcp_target_says_the_same_of_an_open_and_a_closed_port(
    client: TestClient, world: World
) -> None:
    open_port = client.server.port
    errors = {
        (await check_now(client, world.alice, type="tcp", host="localhost", port=port))["error"]
        for port in (open_port, closed_port())
    }
    assert len(errors) == 1
    assert BLOCKED_LOOPBACK.match(errors.pop())


class TestTheAllowListOnly:
    """Only 127.0.0.2 is allowed: a target there is checked, a redirect off it is not."""

    @pytest.fixture
    def settings(self, settings: Settings) -> Settings:
        return settings.model_copy(update={"allowed_target_networks": [ip_network("127.0.0.2/32")]})

    @pytest.fixture
    async def allowed(self) -> AsyncIterator[Target]:
        async with serve("127.0.0.2") as running:
            yield running

    async def test_the_allowed_network_is_checked_and_its_neighbours_are_refused(
        self, client: TestClient, world: World, allowed: Target
    ) -> None:
        result = await check_now(client, world.alice, url=allowed.url)
        assert (result["status"], result["status_code"]) == ("up", 200)
        status, _ = await post_monitor(
            client, world.alice, url=allowed.url.replace("127.0.0.2", "127.0.0.3")
        )
        assert status == 400

    @pytest.mark.parametrize(
        ("location", "error"),
        [
            ("{loopback}", "blocked: 127.0.0.1 is a loopback address"),
            ("{loopback_name}", None),
            ("http://169.254.169.254/latest/meta-data/", "blocked: 169.254.169.254 is a "
             "cloud metadata address"),
            ("http://[::ffff:127.0.0.1]:{port}/", "blocked: 127.0.0.1 is a loopback address"),
        ],
    )  # fmt: skip
    async def test_every_redirect_hop_is_checked(
        self,
        client: TestClient,
        world: World,
        allowed: Target,
        target: Target,
        location: str,
        error: str | None,
    ) -> None:
        port = target.url.rsplit(":", 1)[1].strip("/")
        allowed.location = location.format(
            loopback=target.url, loopback_name=target.url.replace("127.0.0.1", "localhost"),
            port=port,
        )  # fmt: skip
        result = await check_now(client, world.alice, url=allowed.url)
        assert result["status"] == "down"
        if error is None:
            assert BLOCKED_LOOPBACK.match(result["error"]), result
        else:
            assert result["error"] == error
        assert allowed.requests == ["/"]  # the first hop was made
        assert target.requests == []  # the redirect was not followed


class TestPrivateTargetsAllowed:
    """UPMETR_ALLOW_PRIVATE_TARGETS=true, as `upmetr up` and the rest of the suite run."""

    @pytest.fixture
    def settings(self, settings: Settings) -> Settings:
        return settings.model_copy(update={"allow_private_targets": True})

    async def test_loopback_is_checked_but_metadata_stays_refused_through_a_redirect(
        self, client: TestClient, world: World, target: Target
    ) -> None:
        result = await check_now(client, world.alice, url=target.url)
        assert (result["status"], target.requests) == ("up", ["/"])
        target.location = "http://169.254.169.254/latest/meta-data/iam/"
        result = await check_now(client, world.alice, url=target.url)
        assert result["error"] == "blocked: 169.254.169.254 is a cloud metadata address"
        status, answer = await post_monitor(client, world.alice, url="http://[fd00:ec2::254]/")
        assert status == 400 and "never connects to" in answer["detail"]


async def test_the_checker_refuses_private_targets_by_default_but_not_the_canary(
    target: Target,
) -> None:
    async with Checker(max_connections=4) as checker:
        http = await checker.run(CheckSpec(type="http", url=target.url, attempts=1))
        tcp = await checker.run(
            CheckSpec(type="tcp", host="localhost", port=closed_port(), attempts=1)
        )
        dns = await checker.run(
            CheckSpec(type="dns", host="example.com", resolver="127.0.0.1:53", attempts=1)
        )
        assert http.error == "blocked: 127.0.0.1 is a loopback address"
        assert tcp.error is not None and BLOCKED_LOOPBACK.match(tcp.error)
        assert dns.error == "blocked: 127.0.0.1 is a loopback address"
        assert target.requests == []
        # The canary is the administrator's own setting: a gateway or a local resolver.
        assert await network_ok(checker, target.url) is True
