"""The shape every engine loop shares (ARCHITECTURE.md: engines schedule, domains decide)."""

from __future__ import annotations

from typing import Protocol


class Engine(Protocol):
    """`run()` loops `while running: if not await run_once(): sleep`; `stop()` ends it."""

    name: str

    async def run(self) -> None: ...

    async def stop(self) -> None: ...
