"""What every channel shows of a Notice, in words the vendors' formats share."""

from __future__ import annotations

from datetime import UTC, datetime

from server.providers.channels.base import Notice, Severity

SEVERITY_LABELS: dict[Severity, str] = {
    "info": "Info",
    "warning": "Warning",
    "error": "Error",
    "critical": "Critical",
}
# One colour per severity (Material Design's blue, amber, deep orange and red 700), as
# Discord embeds and HTML emails show it.
SEVERITY_COLOURS: dict[Severity, int] = {
    "info": 0x1976D2,
    "warning": 0xFFA000,
    "error": 0xE64A19,
    "critical": 0xD32F2F,
}


def iso_z(moment: datetime) -> str:
    """ISO 8601 in UTC with a Z, to the second: 2026-12-06T13:40:00Z."""
    return moment.astimezone(UTC).replace(microsecond=0).isoformat().replace("+00:00", "Z")


def subject(notice: Notice) -> str:
    """One line: "[Critical] api is down"."""
    return f"[{SEVERITY_LABELS[notice.severity]}] {notice.title}"


def details(notice: Notice) -> list[tuple[str, str]]:
    """The facts every channel lists: severity, status, the event's own facts, the org."""
    rows = [("Severity", SEVERITY_LABELS[notice.severity])]
    if notice.status:
        rows.append(("Status", notice.status))
    rows.extend((str(name), str(value)) for name, value in notice.facts.items())
    rows.append(("Organization", notice.org_name))
    return rows


def plain_text(notice: Notice) -> str:
    """The notice as plain text: title, paragraph, facts, time and link."""
    lines = [subject(notice), "", notice.text, ""]
    lines.extend(f"{name}: {value}" for name, value in details(notice))
    lines.append(f"Time: {iso_z(notice.occurred_at)}")
    if notice.url:
        lines.extend(["", notice.url])
    return "\n".join(lines)
