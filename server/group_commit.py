"""Group commit: writes that arrive together share one transaction and one commit.

A fleet's agent posts each wrote a few rows and committed alone. The commit, the hand-over
of the write lock and the live event's row were about a fifth of a post's CPU. Here a
request queues its work; one task runs the queued works, up to `limit`, one after another
in one transaction, commits once, then answers each. The works are the services' own
functions, unchanged: each gets a Context of its own over the shared session. No work is
answered before the commit that keeps it.

The task starts on the loop's next turn, so the requests whose bytes arrived together
queue first; while a group runs, the next one gathers. A lone request runs alone at once.
Between two works the loop takes its turn, so a group does not hold up other requests.

When a work raises, the group is rolled back; that work runs again alone, in a
transaction of its own, as it would have without grouping, and the others again together.
One post's bad input or conflict is that post's answer only. A work must be safe to run
again after a rollback, which a service's work is: nothing of it was kept.
"""

from __future__ import annotations

import asyncio
import logging
from collections.abc import Awaitable, Callable
from dataclasses import dataclass
from typing import Any

from server.db.engine import SessionMaker
from server.service_context import Context, commit_together, in_transaction

log = logging.getLogger("upmetr.group_commit")

Work = Callable[[Context], Awaitable[Any]]
ContextFor = Callable[[Any], Context]  # a context over the given session


@dataclass
class _Queued:
    work: Work
    context: ContextFor
    answer: asyncio.Future[Any]


class GroupCommit:
    """The queue of one kind of write (one route's) in one process."""

    def __init__(self, sessions: SessionMaker, *, limit: int):
        self._sessions = sessions
        self._limit = limit
        self._queue: list[_Queued] = []
        self._runner: asyncio.Task[None] | None = None

    async def run(self, work: Work, context: ContextFor) -> Any:
        """What `work` returns, once the transaction it ran in has committed; what it
        raised (after its rollback), when it runs alone."""
        answer: asyncio.Future[Any] = asyncio.get_running_loop().create_future()
        self._queue.append(_Queued(work, context, answer))
        if self._runner is None:
            self._runner = asyncio.create_task(self._drain(), name="group commit")
        return await answer

    async def _drain(self) -> None:
        group: list[_Queued] = []
        try:
            while self._queue:
                group = self._queue[: self._limit]
                del self._queue[: self._limit]
                while group := [each for each in group if not each.answer.done()]:
                    alone = await self._together(group) if len(group) > 1 else group
                    for each in alone:
                        await self._alone(each)
        finally:
            self._runner = None
            # Left unanswered only when this task is cancelled: the server is stopping.
            for each in group + self._queue:
                each.answer.cancel()
            self._queue.clear()

    async def _together(self, group: list[_Queued]) -> list[_Queued]:
        """Run `group` in one transaction, commit and answer each. When a work raises,
        roll back and give it, to run alone (the rest go on together again); when the
        commit fails, give them all."""
        results = []
        async with self._sessions() as db:
            contexts = [each.context(db) for each in group]
            try:
                for each, ctx in zip(group, contexts, strict=True):
                    results.append(await each.work(ctx))
                    # SQLite runs a work's statements without yielding the loop: members'
                    # reads, which need no write lock, go between the group's works.
                    await asyncio.sleep(0)
                await commit_together(contexts)
            except Exception:
                log.debug("a group of %d rolled back", len(group), exc_info=True)
                await db.rollback()
                return group[len(results) : len(results) + 1] or group
        for each, result in zip(group, results, strict=True):
            _settle(each.answer, result=result)
        return []

    async def _alone(self, queued: _Queued) -> None:
        try:
            async with self._sessions() as db:
                result = await in_transaction(queued.context(db), queued.work)
        except Exception as error:
            _settle(queued.answer, error=error)
        else:
            _settle(queued.answer, result=result)


def _settle(
    answer: asyncio.Future[Any], *, result: Any = None, error: BaseException | None = None
) -> None:
    """Answer a request unless it stopped waiting (its client went away)."""
    if answer.done():
        return
    if error is not None:
        answer.set_exception(error)
    else:
        answer.set_result(result)
