"""DNS checks: a name resolves to a record type, optionally to an expected answer, through the
system's resolvers or a chosen one (dnspython's asyncio resolver; no answer cache)."""

from __future__ import annotations

import ipaddress
import time

import dns.asyncresolver
import dns.exception
import dns.nameserver
import dns.resolver
from dns.rdata import Rdata

from server.providers.checks.base import (
    AttemptResult,
    CheckProvider,
    CheckSpec,
    elapsed_ms,
    format_seconds,
)
from server.providers.outbound import TargetPolicy


def parse_resolver(text: str) -> tuple[str, int]:
    """ "1.1.1.1" -> ("1.1.1.1", 53); "127.0.0.1:5353"; "[::1]:53"; a bare IPv6 address."""
    text = text.strip()
    host, port = text, 53
    if text.startswith("["):
        host, _, rest = text[1:].partition("]")
        if rest.startswith(":"):
            port = int(rest[1:])
    elif text.count(":") == 1:
        host, port_text = text.split(":")
        port = int(port_text)
    ipaddress.ip_address(host)  # a resolver is an address; a name would need a resolver itself
    if not 1 <= port <= 65535:
        raise ValueError(f"resolver port {port} is outside 1-65535")
    return host, port


def answer_texts(rdata: Rdata) -> tuple[str, ...]:
    """The forms of one answer an expected value may match, normalised for comparison."""
    text = rdata.to_text()
    rdtype = rdata.rdtype.name if hasattr(rdata.rdtype, "name") else str(rdata.rdtype)
    if rdtype in ("A", "AAAA"):
        return (str(ipaddress.ip_address(text)),)
    if rdtype == "TXT":
        return (b"".join(rdata.strings).decode(errors="replace"),)  # type: ignore[attr-defined]
    if rdtype == "MX":
        exchange = _name(rdata.exchange.to_text())  # type: ignore[attr-defined]
        return (f"{rdata.preference} {exchange}", exchange)  # type: ignore[attr-defined]
    return (_name(text),)


def _name(text: str) -> str:
    return text.rstrip(".").lower()


def normalise_expected(record_type: str, expected: str) -> str:
    expected = expected.strip()
    if record_type in ("A", "AAAA"):
        try:
            return str(ipaddress.ip_address(expected))
        except ValueError:
            return expected
    if record_type == "TXT":
        return expected.strip('"')
    if record_type == "MX":
        preference, _, exchange = expected.partition(" ")
        return f"{preference} {_name(exchange)}" if exchange else _name(expected)
    return _name(expected)


class DnsCheck(CheckProvider):
    types = frozenset({"dns"})

    def __init__(self) -> None:
        self._resolvers: dict[str | None, dns.asyncresolver.Resolver] = {}

    def _resolver_for(self, spec: CheckSpec) -> dns.asyncresolver.Resolver:
        resolver = self._resolvers.get(spec.resolver)
        if resolver is None:
            if spec.resolver is None:
                resolver = dns.asyncresolver.Resolver()  # /etc/resolv.conf, read once
            else:
                host, port = parse_resolver(spec.resolver)
                resolver = dns.asyncresolver.Resolver(configure=False)
                resolver.nameservers = [dns.nameserver.Do53Nameserver(host, port)]
            self._resolvers[spec.resolver] = resolver
        return resolver

    async def attempt(self, spec: CheckSpec, policy: TargetPolicy) -> AttemptResult:
        """One resolution.

        1. Pick the resolver: spec.resolver ("ip" or "ip:port"), an address the tenant chose
           and so one the policy must allow (TargetBlocked), or the system's, which the
           server's administrator chose.
        2. Resolve host/record_type with lifetime = timeout; the time taken is the response time.
        3. NXDOMAIN, no record of that type, SERVFAIL from every server, timeout: down in words.
        4. With an expected answer, up only if one of the answers equals it (IP addresses
           compared as addresses, names without the final dot and case, TXT strings joined,
           MX as "10 mail.example.com" or just "mail.example.com").
        """
        host = spec.host or ""
        started = time.perf_counter()
        try:
            resolver = self._resolver_for(spec)
            if spec.resolver is not None:
                policy.check_literal(parse_resolver(spec.resolver)[0])
            answer = await resolver.resolve(
                host, spec.record_type, lifetime=spec.timeout_seconds, search=False
            )
        except dns.resolver.NXDOMAIN:
            return _failed(started, f"{host} does not exist (NXDOMAIN)")
        except dns.resolver.NoAnswer:
            return _failed(started, f"no {spec.record_type} record for {host}")
        except dns.resolver.LifetimeTimeout:
            return AttemptResult(
                ok=False, error=f"timeout after {format_seconds(spec.timeout_seconds)}"
            )
        except dns.resolver.NoNameservers as exc:
            return _failed(started, f"no nameserver could answer: {exc}")
        except (dns.exception.DNSException, ValueError, OSError) as exc:
            return AttemptResult(ok=False, error=f"DNS error: {exc}")
        response_time_ms = elapsed_ms(started)
        answers = [text for rdata in answer for text in answer_texts(rdata)]
        if spec.expected_answer:
            expected = normalise_expected(spec.record_type, spec.expected_answer)
            if expected not in answers:
                shown = ", ".join(answer_texts(rdata)[0] for rdata in answer)
                return AttemptResult(
                    ok=False,
                    error=f"expected {spec.record_type} {spec.expected_answer}, got {shown}",
                    response_time_ms=response_time_ms,
                )
        return AttemptResult(ok=True, response_time_ms=response_time_ms)


def _failed(started: float, error: str) -> AttemptResult:
    """A definite answer from DNS (the server responded), so it has a response time."""
    return AttemptResult(ok=False, error=error, response_time_ms=elapsed_ms(started))
