"""A monitor's target written as an address the outbound-target policy refuses is a 400
when the monitor is created or changed; a name is checked each time a check resolves it
(server/providers/outbound.py), since what it resolves to may change."""

from __future__ import annotations

from typing import Any
from urllib.parse import urlsplit

from server.http.errors import BadRequest
from server.providers.checks.dns import parse_resolver
from server.providers.outbound import TargetBlocked, TargetPolicy
from shared.api.monitors import MonitorType

_URL_TYPES = {MonitorType.http, MonitorType.keyword, MonitorType.json}


def _target_fields(kind: MonitorType, values: dict[str, Any]) -> dict[str, str]:
    """The hosts a monitor of this type connects to, by the field that names them."""
    if kind in _URL_TYPES and values.get("url"):
        return {"url": urlsplit(values["url"]).hostname or ""}
    if kind is MonitorType.tcp and values.get("host"):
        return {"host": values["host"]}
    if kind is MonitorType.dns and values.get("dns_resolver"):
        try:
            return {"dns_resolver": parse_resolver(values["dns_resolver"])[0]}
        except ValueError:
            return {}  # a resolver that is not an address fails its check, in words
    return {}


def check_targets(
    values: dict[str, Any], policy: TargetPolicy, *, changed: set[str] | None = None
) -> None:
    """400 naming the field whose address the policy refuses; on an update only the fields
    in `changed` are looked at, so a monitor saved before the policy was tightened can
    still be renamed or paused."""
    for field, host in _target_fields(MonitorType(values["type"]), values).items():
        if changed is not None and field not in changed:
            continue
        try:
            policy.check_literal(host)
        except TargetBlocked as refused:
            advice = (
                "which this server never connects to"
                if refused.always
                else "which this server does not connect to unless its administrator "
                "allows private targets (UPMETR_ALLOW_PRIVATE_TARGETS)"
            )
            raise BadRequest(f"body field '{field}': {refused.reason}, {advice}") from None
