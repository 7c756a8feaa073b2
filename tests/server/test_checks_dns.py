"""DNS checks against a tiny UDP DNS responder on 127.0.0.1 whose zone each test changes."""

from __future__ import annotations

import asyncio
from collections.abc import AsyncIterator
from dataclasses import dataclass, field
from typing import Any, cast

import dns.message
import dns.rcode
import dns.rdataclass
import dns.rdatatype
import dns.rrset
import pytest

from server.providers.checks import Checker, CheckSpec
from server.providers.checks.dns import parse_resolver
from tests.conftest import LOCAL_TARGETS


@dataclass
class Zone:
    records: dict[tuple[str, str], list[str]] = field(default_factory=dict)
    servfail: bool = False
    silent: bool = False
    queries: int = 0


class Responder(asyncio.DatagramProtocol):
    def __init__(self, zone: Zone):
        self.zone = zone
        self.transport: asyncio.DatagramTransport | None = None

    def connection_made(self, transport: asyncio.BaseTransport) -> None:
        self.transport = cast(asyncio.DatagramTransport, transport)

    def datagram_received(self, data: bytes, addr: tuple[str, int]) -> None:
        self.zone.queries += 1
        if self.zone.silent or self.transport is None:
            return
        query = dns.message.from_wire(data)
        response = dns.message.make_response(query)
        question = query.question[0]
        name = question.name.to_text(omit_final_dot=True).lower()
        rdtype = dns.rdatatype.to_text(question.rdtype)
        if self.zone.servfail:
            response.set_rcode(dns.rcode.SERVFAIL)
        elif (name, rdtype) in self.zone.records:
            rrset = dns.rrset.from_text_list(
                question.name, 60, dns.rdataclass.IN, rdtype, self.zone.records[name, rdtype]
            )
            response.answer.append(rrset)
        elif not any(known == name for known, _ in self.zone.records):
            response.set_rcode(dns.rcode.NXDOMAIN)
        self.transport.sendto(response.to_wire(), addr)


@dataclass
class DnsServer:
    address: str
    zone: Zone


@pytest.fixture
async def dns_server() -> AsyncIterator[DnsServer]:
    zone = Zone()
    loop = asyncio.get_running_loop()
    transport, _ = await loop.create_datagram_endpoint(
        lambda: Responder(zone), local_addr=("127.0.0.1", 0)
    )
    port = transport.get_extra_info("sockname")[1]
    yield DnsServer(address=f"127.0.0.1:{port}", zone=zone)
    transport.close()


@pytest.fixture
async def checker() -> AsyncIterator[Checker]:
    async with Checker(max_connections=10, policy=LOCAL_TARGETS) as checker:
        yield checker


def dns_spec(server: DnsServer, **fields: Any) -> CheckSpec:
    defaults: dict[str, Any] = {"host": "app.example.test", "timeout_seconds": 2, "attempts": 1}
    return CheckSpec(type="dns", resolver=server.address, **{**defaults, **fields})


async def test_a_record_resolves_and_matches_the_expected_answer(
    dns_server: DnsServer, checker: Checker
) -> None:
    dns_server.zone.records["app.example.test", "A"] = ["10.0.0.1", "10.0.0.2"]
    outcome = await checker.run(dns_spec(dns_server, expected_answer="10.0.0.2"))
    assert outcome.status == "up", outcome.error
    assert outcome.response_time_ms is not None
    assert dns_server.zone.queries == 1


async def test_changed_answer_is_down_with_what_was_found(
    dns_server: DnsServer, checker: Checker
) -> None:
    dns_server.zone.records["app.example.test", "A"] = ["10.0.0.9"]
    outcome = await checker.run(dns_spec(dns_server, expected_answer="10.0.0.1"))
    assert outcome.status == "down"
    assert outcome.error == "expected A 10.0.0.1, got 10.0.0.9"


async def test_any_answer_is_up_without_an_expected_one(
    dns_server: DnsServer, checker: Checker
) -> None:
    dns_server.zone.records["app.example.test", "AAAA"] = ["2001:db8::1"]
    outcome = await checker.run(
        dns_spec(dns_server, record_type="AAAA", expected_answer="2001:DB8:0::1")
    )
    assert outcome.status == "up", outcome.error


async def test_missing_record_type_and_missing_name(
    dns_server: DnsServer, checker: Checker
) -> None:
    dns_server.zone.records["app.example.test", "TXT"] = ['"v=spf1 -all"']
    no_a = await checker.run(dns_spec(dns_server))
    assert (no_a.status, no_a.error) == ("down", "no A record for app.example.test")
    gone = await checker.run(dns_spec(dns_server, host="gone.example.test"))
    assert gone.error == "gone.example.test does not exist (NXDOMAIN)"


async def test_names_mx_and_txt_are_compared_normalised(
    dns_server: DnsServer, checker: Checker
) -> None:
    zone = dns_server.zone
    zone.records["app.example.test", "CNAME"] = ["LB.Example.Test."]
    zone.records["app.example.test", "MX"] = ["10 mail.example.test.", "20 backup.example.test."]
    zone.records["app.example.test", "TXT"] = ['"hello " "world"']
    zone.records["app.example.test", "NS"] = ["ns1.example.test."]
    for record_type, expected in (
        ("CNAME", "lb.example.test"),
        ("MX", "backup.example.test"),
        ("MX", "10 mail.example.test."),
        ("TXT", "hello world"),
        ("NS", "ns1.example.test."),
    ):
        spec = dns_spec(dns_server, record_type=record_type, expected_answer=expected)
        outcome = await checker.run(spec)
        assert outcome.status == "up", (record_type, expected, outcome.error)
    wrong = dns_spec(dns_server, record_type="MX", expected_answer="20 mail.example.test")
    assert (await checker.run(wrong)).status == "down"


async def test_servfail_is_down(dns_server: DnsServer, checker: Checker) -> None:
    dns_server.zone.servfail = True
    outcome = await checker.run(dns_spec(dns_server))
    assert outcome.status == "down"
    assert outcome.error is not None and outcome.error.startswith("no nameserver could answer")


async def test_silent_resolver_times_out(dns_server: DnsServer, checker: Checker) -> None:
    dns_server.zone.silent = True
    outcome = await checker.run(dns_spec(dns_server, timeout_seconds=0.3))
    assert (outcome.status, outcome.error) == ("down", "timeout after 0.3 s")


async def test_record_flips_between_healthy_and_failing(
    dns_server: DnsServer, checker: Checker
) -> None:
    spec = dns_spec(dns_server, expected_answer="10.0.0.1", attempts=2, retry_delay_seconds=0.01)
    dns_server.zone.records["app.example.test", "A"] = ["10.0.0.1"]
    assert (await checker.run(spec)).status == "up"
    dns_server.zone.records["app.example.test", "A"] = ["10.0.0.66"]
    down = await checker.run(spec)
    assert (down.status, down.attempts) == ("down", 2)


def test_resolver_addresses_parse_with_and_without_port() -> None:
    assert parse_resolver("1.1.1.1") == ("1.1.1.1", 53)
    assert parse_resolver("127.0.0.1:5353") == ("127.0.0.1", 5353)
    assert parse_resolver("[::1]:5353") == ("::1", 5353)
    assert parse_resolver("2606:4700::1111") == ("2606:4700::1111", 53)
    with pytest.raises(ValueError):
        parse_resolver("dns.example.com")
