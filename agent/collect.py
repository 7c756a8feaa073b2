"""Host metrics from psutil, as plain dicts shaped like shared.api.agents' `Sample` and
`HostFacts` (the agent does not import pydantic; the tests validate the dicts with it).

CPU and network figures are rates over the time since the previous sample, so a `Collector`
keeps the previous counters: `prime()` once at start, then `sample()` every interval.
"""

from __future__ import annotations

import os
import platform
import time
from typing import Any, NamedTuple

import psutil

# Image filesystems that are always full by design (snap packages are squashfs loops): their
# 100 % would only ever raise false disk alerts.
IMAGE_FILESYSTEMS = frozenset({"squashfs", "iso9660", "udf", "erofs"})
MAX_DISKS = 64  # shared.api.agents.Sample.disk's bound
MAX_LABEL = 255


def iso_utc(epoch: float) -> str:
    """ISO 8601 UTC with milliseconds and a `Z`, without importing datetime's parser."""
    whole = int(epoch)
    millis = int((epoch - whole) * 1000)
    return time.strftime("%Y-%m-%dT%H:%M:%S", time.gmtime(whole)) + f".{millis:03d}Z"


def _clamp_pct(value: float) -> float:
    return round(min(max(value, 0.0), 100.0), 2)


class NetCounters(NamedTuple):
    at: float  # time.monotonic()
    bytes_recv: dict[str, int]
    bytes_sent: dict[str, int]
    faults: dict[str, int]  # errors and drops, in and out


def _is_loopback(name: str) -> bool:
    return name == "lo" or name.startswith("lo:") or name.lower().startswith("loopback")


def read_net_counters() -> NetCounters:
    counters = psutil.net_io_counters(pernic=True)
    recv: dict[str, int] = {}
    sent: dict[str, int] = {}
    faults: dict[str, int] = {}
    for name, nic in counters.items():
        if _is_loopback(name):
            continue
        recv[name] = nic.bytes_recv
        sent[name] = nic.bytes_sent
        faults[name] = nic.errin + nic.errout + nic.dropin + nic.dropout
    return NetCounters(time.monotonic(), recv, sent, faults)


def _growth(before: dict[str, int], after: dict[str, int]) -> int:
    """What the counters grew by, per interface. An interface that is new, or whose counter
    went down (a reset, a driver reload, a 32-bit wrap), adds 0: the true growth is unknown,
    and a negative rate is impossible."""
    total = 0
    for name, value in after.items():
        previous = before.get(name)
        if previous is not None and value >= previous:
            total += value - previous
    return total


def net_rates(before: NetCounters, after: NetCounters) -> dict[str, float]:
    elapsed = after.at - before.at
    if elapsed <= 0:
        return {"rx_bps": 0.0, "tx_bps": 0.0, "errors_per_min": 0.0}
    return {
        "rx_bps": round(_growth(before.bytes_recv, after.bytes_recv) / elapsed, 1),
        "tx_bps": round(_growth(before.bytes_sent, after.bytes_sent) / elapsed, 1),
        "errors_per_min": round(_growth(before.faults, after.faults) * 60 / elapsed, 2),
    }


def disks() -> list[dict[str, Any]]:
    """Usage of each physical filesystem once: a device mounted at several places (bind
    mounts, a container's /etc/hosts) is reported at its shortest mount point, `/` first."""
    by_device: dict[str, str] = {}
    for part in psutil.disk_partitions(all=False):
        if part.fstype in IMAGE_FILESYSTEMS:
            continue
        known = by_device.get(part.device)
        if known is None or (len(part.mountpoint), part.mountpoint) < (len(known), known):
            by_device[part.device] = part.mountpoint
    usages: list[dict[str, Any]] = []
    for mount in sorted(by_device.values()):
        try:
            usage = psutil.disk_usage(mount)
        except OSError:  # vanished, or hidden from this user (e.g. ProtectHome=)
            continue
        if usage.total <= 0:
            continue
        usages.append(
            {
                "mount": mount[:MAX_LABEL],
                "total_bytes": usage.total,
                "used_bytes": usage.used,
                "pct": _clamp_pct(usage.percent),
            }
        )
        if len(usages) == MAX_DISKS:
            break
    return usages


def _cpu_model() -> str | None:
    # platform.processor() is empty on most Linux systems; /proc/cpuinfo names the model.
    try:
        with open("/proc/cpuinfo", encoding="utf-8", errors="replace") as cpuinfo:
            for line in cpuinfo:
                key, _, value = line.partition(":")
                if key.strip() in ("model name", "Model", "Hardware") and value.strip():
                    return value.strip()[:200]
    except OSError:
        pass
    return platform.processor()[:200] or None


def os_name() -> str:
    """`Ubuntu 24.04.1 LTS`, from os-release where there is one."""
    try:
        pretty = platform.freedesktop_os_release().get("PRETTY_NAME", "")
    except OSError:
        pretty = ""
    return (pretty or f"{platform.system()} {platform.release()}").strip()[:200]


def host_facts() -> dict[str, Any]:
    memory = psutil.virtual_memory()
    return {
        "kernel": platform.release()[:200] or None,
        "arch": platform.machine()[:50] or None,
        "cpu_model": _cpu_model(),
        "cpu_count": psutil.cpu_count(logical=True) or None,
        "mem_total": memory.total,
        "boot_time": iso_utc(psutil.boot_time()),
    }


class Collector:
    """One sample per call of `sample()`, its rates measured since the previous call."""

    def __init__(self) -> None:
        self._net: NetCounters | None = None

    def prime(self) -> None:
        """Start the CPU and network counters: the first `sample()` measures from here.
        psutil.cpu_percent(interval=None) compares with its previous call, and answers a
        meaningless 0.0 on its first (psutil docs)."""
        psutil.cpu_percent(interval=None)
        self._net = read_net_counters()

    def sample(self) -> dict[str, Any]:
        if self._net is None:
            self.prime()
        assert self._net is not None
        cpu = psutil.cpu_percent(interval=None)
        memory = psutil.virtual_memory()
        net = read_net_counters()
        rates = net_rates(self._net, net)
        self._net = net
        return {
            "ts": iso_utc(time.time()),
            "cpu_pct": _clamp_pct(cpu),
            "mem_pct": _clamp_pct(memory.percent),
            # What psutil's percent counts: memory not available to new programs.
            "mem_used": max(memory.total - memory.available, 0),
            "disk": disks(),
            "net": rates,
            "load": [round(max(value, 0.0), 2) for value in os.getloadavg()],
        }
