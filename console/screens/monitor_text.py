"""How the console writes a monitor's target and a check's result, for the monitors view
and the monitor detail alike."""

from __future__ import annotations

from console.formatting import status_text
from shared.api.monitors import CheckResultRead, MonitorRead


def monitor_target(monitor: MonitorRead) -> str:
    """What a monitor checks: its URL, host:port, host, or heartbeat ping URL."""
    if monitor.url:
        return monitor.url
    if monitor.host:
        return f"{monitor.host}:{monitor.port}" if monitor.port else monitor.host
    return monitor.heartbeat_url or "-"


def check_summary(name: str, result: CheckResultRead) -> str:
    """`API: ● up, 200 in 35 ms` or `API: ▼ down, connection refused`."""
    line = f"{name}: {status_text(result.status.value)}"
    if result.status_code is not None:
        line += f", {result.status_code}"
    if result.response_time_ms is not None:
        line += f" in {result.response_time_ms} ms"
    if result.error:
        line += f", {result.error}"
    return line
