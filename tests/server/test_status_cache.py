"""The rendered pages' cache: kept until it expires or an event makes it stale, and one
render for every visitor who asks while it is being made."""

from __future__ import annotations

import asyncio

import pytest

from server.status_pages.cache import PageCache, Rendered, rendered


def entry(org_id: int = 1, body: bytes = b"<p>up</p>", ttl: float = 60.0) -> Rendered:
    return rendered(org_id, body, "text/html", ttl)


def test_an_entry_is_kept_until_it_expires() -> None:
    cache = PageCache()
    cache.put(("html", "acme"), entry())
    assert cache.get(("html", "acme")) is not None
    cache.put(("html", "gone"), entry(ttl=-1))
    assert cache.get(("html", "gone")) is None


def test_an_event_that_changes_a_page_drops_its_organizations_entries_only() -> None:
    cache = PageCache()
    cache.put(("html", "acme"), entry(org_id=1))
    cache.put(("rss", "acme"), entry(org_id=1))
    cache.put(("html", "other"), entry(org_id=2))
    cache.on_event(1, "monitor.check")  # every check: not a reason to render again
    assert len(cache) == 3
    cache.on_event(1, "monitor.status")
    assert cache.get(("html", "acme")) is None and cache.get(("rss", "acme")) is None
    assert cache.get(("html", "other")) is not None


def test_the_least_recently_read_entry_goes_first_when_full() -> None:
    cache = PageCache(max_entries=2)
    cache.put(("a",), entry())
    cache.put(("b",), entry())
    cache.get(("a",))
    cache.put(("c",), entry())
    assert cache.get(("b",)) is None and cache.get(("a",)) is not None


async def test_visitors_asking_during_a_render_share_that_one_render() -> None:
    cache = PageCache()
    renders = 0
    release = asyncio.Event()

    async def render() -> Rendered:
        nonlocal renders
        renders += 1
        await release.wait()
        return entry()

    waiting = [asyncio.create_task(cache.through(("html", "acme"), render)) for _ in range(50)]
    await asyncio.sleep(0)
    release.set()
    results = await asyncio.gather(*waiting)
    assert renders == 1 and len({id(result) for result in results}) == 1


async def test_a_failed_render_fails_its_waiters_and_keeps_nothing() -> None:
    cache = PageCache()

    async def broken() -> Rendered:
        await asyncio.sleep(0)
        raise LookupError("no such page")

    first = asyncio.create_task(cache.through(("html", "x"), broken))
    second = asyncio.create_task(cache.through(("html", "x"), broken))
    for task in (first, second):
        with pytest.raises(LookupError):
            await task
    assert cache.get(("html", "x")) is None
