"""The outbound-target policy: which addresses the server may connect to on a tenant's behalf.

Every connection the server opens for a tenant (checks of every type, and the notification
channels and webhooks that follow) goes through one `TargetPolicy`, so a tenant cannot aim
the server at itself, at its neighbours on a private network, or at a cloud metadata
service (server-side request forgery; OWASP SSRF Prevention Cheat Sheet).

1. A name is resolved once, and the connection goes to one of the addresses that were
   checked, never to a second resolution (which DNS rebinding could answer differently):
   `PolicyResolver` for aiohttp, `resolve` and `open_connection` for plain sockets.
2. Every odd spelling of an address is read as the address it reaches: IPv4-mapped and
   NAT64 IPv6 (`::ffff:127.0.0.1`), legacy IPv4 forms that `inet_aton` accepts
   (`2130706433`, `0x7f.1`, `0177.0.0.1`, `127.1`), brackets, zone ids, a trailing dot.
3. Link-local ranges and cloud metadata addresses are always refused.
4. Every other address that is not public (loopback, private, shared CGNAT, unspecified,
   multicast, reserved) is refused unless the policy allows private targets, or the
   address is in one of its allowed networks.
5. A refusal says which address and why ("10.0.0.5 is a private address") and nothing of
   the port: a refused address is never connected to, so its ports stay unknown.
"""

from __future__ import annotations

import asyncio
import re
import socket
import unicodedata
from collections.abc import Iterable
from dataclasses import dataclass, field
from ipaddress import IPv4Address, IPv4Network, IPv6Address, IPv6Network, ip_address, ip_network
from typing import TYPE_CHECKING, Any

from aiohttp.resolver import ThreadedResolver

if TYPE_CHECKING:
    from aiohttp.abc import ResolveResult

    from server.config import Settings

Address = IPv4Address | IPv6Address
Network = IPv4Network | IPv6Network

# Reachable from inside a cloud instance only, and each hands out credentials: never a target.
METADATA_NETWORKS: tuple[Network, ...] = tuple(
    ip_network(network)
    for network in (
        "169.254.169.254/32",  # AWS, GCP, Azure IMDS, OCI, DigitalOcean, OpenStack
        "fd00:ec2::254/128",  # AWS IMDS over IPv6 (Nitro)
        "fd20:ce::254/128",  # GCP metadata server over IPv6
        "100.100.100.200/32",  # Alibaba Cloud
        "168.63.129.16/32",  # Azure WireServer (a public address that only Azure routes)
        "192.0.0.192/32",  # Oracle Cloud, older instances
    )
)
_SHARED = ip_network("100.64.0.0/10")  # carrier-grade NAT (RFC 6598); not is_private
_NAT64 = ip_network("64:ff9b::/96")  # IPv4 embedded in the low 32 bits (RFC 6052)
# What inet_aton reads as IPv4: 1-4 dot-separated decimal, octal or hex parts.
_LEGACY_IPV4 = re.compile(r"^(?:0x[0-9a-f]*|[0-9]+)(?:\.(?:0x[0-9a-f]*|[0-9]+)){0,3}$", re.I)


class TargetBlocked(Exception):
    """The policy refuses a target; the message is the reason, without the port."""

    def __init__(self, reason: str, *, always: bool):
        super().__init__(reason)
        self.reason = reason
        self.always = always  # refused whatever the settings say (link-local, metadata)


def parse_literal(host: str) -> Address | None:
    """The address a host written as an IP address reaches, in any spelling; None for a name.

    `[::1]`, `fe80::1%eth0`, `127.0.0.1.`, `2130706433`, `0x7f.1` and `0177.0.0.1` are
    addresses: getaddrinfo (glibc's inet_aton) connects to them without asking DNS; so are
    fullwidth digits and dots (U+FF10-FF19, U+3002), which a URL parser folds to ASCII.
    """
    text = host.strip()
    if not text.isascii():  # URL parsers fold fullwidth digits and dots (IDNA, UTS #46)
        text = unicodedata.normalize("NFKC", text).replace("\u3002", ".")
    if text.startswith("[") and text.endswith("]"):
        text = text[1:-1]
    text = text.removesuffix(".")
    try:
        return ip_address(text)
    except ValueError:
        pass
    if _LEGACY_IPV4.match(text):
        try:
            return IPv4Address(socket.inet_aton(text))
        except (OSError, ValueError):  # a part out of range: getaddrinfo asks DNS then
            return None
    return None


def _unwrap(address: Address) -> Address:
    """The IPv4 address an IPv6 one stands for, when it embeds one that the host reaches."""
    if isinstance(address, IPv6Address):
        if address.ipv4_mapped is not None:
            return address.ipv4_mapped
        if address in _NAT64:
            return IPv4Address(int(address) & 0xFFFFFFFF)
    return address


def _always_refused(address: Address) -> str | None:
    if any(address.version == net.version and address in net for net in METADATA_NETWORKS):
        return "a cloud metadata address"
    if address.is_link_local:
        return "a link-local address"
    return None


def _not_public(address: Address) -> str | None:
    if address.is_loopback:
        return "a loopback address"
    if address.is_unspecified:
        return "an unspecified address"
    if address.is_multicast:
        return "a multicast address"
    if address.version == 4 and address in _SHARED:
        return "a shared (carrier-grade NAT) address"
    if address.is_private:
        return "a private address"
    if address.is_reserved or not address.is_global:
        return "a reserved address"
    return None


# Decisions remembered per policy, by the text of the host: a check engine sees the same
# few thousand targets again every minute, and parsing an address costs more than a lookup.
_REMEMBERED = 10_000
Verdict = tuple[str, bool] | None  # (reason, always refused), or None: allowed or a name


@dataclass(frozen=True, slots=True)
class TargetPolicy:
    """Which addresses outbound connections may reach (see the module's rules)."""

    allow_private: bool = False
    allowed_networks: tuple[Network, ...] = ()
    _verdicts: dict[str, Verdict] = field(
        default_factory=dict, init=False, repr=False, compare=False, hash=False
    )

    @classmethod
    def from_settings(cls, settings: Settings) -> TargetPolicy:
        return cls(
            allow_private=settings.allow_private_targets,
            allowed_networks=tuple(settings.allowed_target_networks),
        )

    def refusal(self, address: Address) -> TargetBlocked | None:
        """Why the address is refused, or None when it may be connected to."""
        verdict = self._decide(address)
        return None if verdict is None else TargetBlocked(verdict[0], always=verdict[1])

    def _decide(self, address: Address) -> Verdict:
        address = _unwrap(address)
        why = _always_refused(address)
        if why is not None:
            return f"{address} is {why}", True
        why = _not_public(address)
        if why is None or self.allow_private:
            return None
        if any(address.version == net.version and address in net for net in self.allowed_networks):
            return None
        return f"{address} is {why}", False

    def _verdict(self, host: str) -> Verdict:
        try:
            return self._verdicts[host]
        except KeyError:
            pass
        address = parse_literal(host)
        verdict = None if address is None else self._decide(address)
        if len(self._verdicts) >= _REMEMBERED:
            self._verdicts.clear()
        self._verdicts[host] = verdict
        return verdict

    def check_literal(self, host: str) -> None:
        """Raise TargetBlocked when `host` is a refused address; a name passes (it is
        checked when it is resolved, as its addresses may change)."""
        verdict = self._verdict(host)
        if verdict is not None:
            raise TargetBlocked(verdict[0], always=verdict[1])

    def allowed(self, hosts: Iterable[str]) -> list[str]:
        """The resolved addresses that may be connected to, in order; TargetBlocked with the
        first refusal when none may."""
        kept: list[str] = []
        first: Verdict = None
        for host in hosts:
            verdict = self._verdict(host)
            if verdict is None:
                kept.append(host)
            elif first is None:
                first = verdict
        if not kept and first is not None:
            raise TargetBlocked(first[0], always=first[1])
        return kept


def blocked_reason(exc: BaseException) -> str | None:
    """The reason of a TargetBlocked anywhere in an exception's chain (libraries wrap it)."""
    seen: set[int] = set()
    current: BaseException | None = exc
    while current is not None and id(current) not in seen:
        seen.add(id(current))
        if isinstance(current, TargetBlocked):
            return current.reason
        current = current.__cause__ or current.__context__
    return None


class PolicyResolver(ThreadedResolver):
    """aiohttp's resolver (the loop's getaddrinfo, as aiohttp's default) keeping only the
    addresses the policy allows, so the connector connects only to checked addresses.

    A host written as an address never reaches a resolver in aiohttp: the connector checks
    it (`check_literal`) before it connects.
    """

    def __init__(self, policy: TargetPolicy) -> None:
        super().__init__()
        self.policy = policy

    async def resolve(
        self, host: str, port: int = 0, family: socket.AddressFamily = socket.AF_INET
    ) -> list[ResolveResult]:
        results = await super().resolve(host, port, family)
        kept = set(self.policy.allowed(result["host"] for result in results))
        return [result for result in results if result["host"] in kept]


async def resolve(host: str, port: int, policy: TargetPolicy) -> list[str]:
    """The addresses of `host` that the policy allows, resolved once; raises TargetBlocked
    when it allows none, socket.gaierror when the name does not resolve."""
    literal = parse_literal(host)
    if literal is not None:
        policy.check_literal(host)
        return [str(literal)]
    infos = await asyncio.get_running_loop().getaddrinfo(host, port, type=socket.SOCK_STREAM)
    return policy.allowed(dict.fromkeys(str(info[4][0]) for info in infos))


async def open_connection(
    host: str, port: int, policy: TargetPolicy, **kwargs: Any
) -> tuple[asyncio.StreamReader, asyncio.StreamWriter]:
    """asyncio.open_connection to an address of `host` the policy allows, each in turn.

    The address is passed as it was checked, so asyncio does not resolve again; for TLS
    pass `ssl=` and `server_hostname=host`, so SNI and certificate checks use the name.
    """
    last: OSError | None = None
    for address in await resolve(host, port, policy):
        try:
            return await asyncio.open_connection(address, port, **kwargs)
        except OSError as exc:
            last = exc
    assert last is not None  # resolve() returns at least one address or raises
    raise last
