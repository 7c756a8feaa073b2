"""The spool keeps what the server did not take: bounded by age and size, oldest first,
across restarts of the agent."""

from __future__ import annotations

import json
from pathlib import Path
from typing import Any

from agent.collect import iso_utc
from agent.spool import Spool, epoch_of

START = 1_800_000_000.0  # 2027-01-15T08:00:00Z


def sample(at: float, padding: int = 0) -> dict[str, Any]:
    return {
        "ts": iso_utc(at),
        "cpu_pct": 1.0,
        "mem_pct": 2.0,
        "mem_used": 3,
        "disk": [{"mount": "/" + "x" * padding, "total_bytes": 10, "used_bytes": 5, "pct": 50.0}],
        "net": {"rx_bps": 0.0, "tx_bps": 0.0, "errors_per_min": 0.0},
        "load": [0.1, 0.2, 0.3],
    }


def times_of(samples: list[dict[str, Any]]) -> list[float]:
    return [epoch_of(s["ts"]) for s in samples]


def test_times_written_by_the_collector_read_back_to_the_millisecond() -> None:
    assert epoch_of(iso_utc(START + 12.345)) == START + 12.345
    assert iso_utc(START) == "2027-01-15T08:00:00.000Z"


def test_spooled_samples_come_back_oldest_first_after_a_restart(tmp_path: Path) -> None:
    spool = Spool(str(tmp_path))
    for second in (30, 10, 20):  # added out of order, as a replay that failed might
        spool.add([sample(START + second)], now=START + 60)
    del spool

    reopened = Spool(str(tmp_path))
    names, samples = reopened.oldest(now=START + 60)
    assert times_of(samples) == [START + 10, START + 20, START + 30]
    reopened.remove(names)
    assert len(reopened) == 0 and not list(tmp_path.iterdir())


def test_samples_older_than_an_hour_are_dropped(tmp_path: Path) -> None:
    spool = Spool(str(tmp_path))
    for minute in range(0, 90, 10):
        spool.add([sample(START + minute * 60)], now=START + minute * 60)
    _, samples = spool.oldest(now=START + 80 * 60)
    # At minute 80, the hour kept starts at minute 20.
    assert times_of(samples) == [START + m * 60 for m in range(20, 90, 10)]


def test_past_its_size_bound_the_spool_drops_the_oldest_batches(tmp_path: Path) -> None:
    spool = Spool(str(tmp_path), max_bytes=10_000)
    for second in range(40):
        spool.add([sample(START + second, padding=200)], now=START + 40)
    assert spool.size_bytes <= 10_000
    on_disk = sum(path.stat().st_size for path in tmp_path.iterdir())
    assert on_disk == spool.size_bytes
    _, samples = spool.oldest(now=START + 40)
    kept = times_of(samples)
    assert kept == [START + s for s in range(40 - len(kept), 40)]  # the newest, in order
    assert 20 < len(kept) < 40


def test_one_replay_post_carries_at_most_500_samples_and_whole_batches(tmp_path: Path) -> None:
    spool = Spool(str(tmp_path))
    for batch in range(4):  # four failed posts of 200 samples each
        spool.add([sample(START + batch * 200 + i) for i in range(200)], now=START + 900)
    names, samples = spool.oldest(500, now=START + 900)
    assert len(names) == 2 and len(samples) == 400
    assert times_of(samples) == [START + i for i in range(400)]
    spool.remove(names)
    names, samples = spool.oldest(500, now=START + 900)
    assert times_of(samples) == [START + i for i in range(400, 800)]


def test_a_write_cut_short_by_a_crash_is_cleared_and_a_corrupt_file_skipped(
    tmp_path: Path,
) -> None:
    spool = Spool(str(tmp_path))
    spool.add([sample(START + 1)], now=START + 5)
    spool.add([sample(START + 2)], now=START + 5)
    (tmp_path / ".00000000000001-00000000000001-0000.json.tmp").write_text("[{")
    first = sorted(p for p in tmp_path.iterdir() if not p.name.startswith("."))[0]
    first.write_text("[{not json")

    reopened = Spool(str(tmp_path))
    assert not any(path.name.startswith(".") for path in tmp_path.iterdir())
    _, samples = reopened.oldest(now=START + 5)
    assert times_of(samples) == [START + 2]


def test_each_spool_file_holds_a_batch_as_json(tmp_path: Path) -> None:
    spool = Spool(str(tmp_path))
    spool.add([sample(START + 1), sample(START + 2)], now=START + 5)
    (only,) = tmp_path.iterdir()
    assert only.name.startswith(f"{int((START + 1) * 1000):014d}-{int((START + 2) * 1000):014d}")
    assert times_of(json.loads(only.read_text())) == [START + 1, START + 2]
