"""Pages of a list: how many rows match in all, then one page of them in the statement's order.

Every list endpoint takes a page query (`page` from 1, `per_page`) and answers a `Page`; this
is the one place that turns the one into the other. The statement carries the filters and
the order (with a unique tiebreak, so that no row shows on two pages); the count is taken
over the same statement, so it always matches what the pages hold.
"""

from __future__ import annotations

from collections.abc import Callable
from typing import Protocol, TypeVar, TypeVarTuple

from sqlalchemy import Row, Select, func, select
from sqlalchemy.ext.asyncio import AsyncSession

from shared.api.common import Page

M = TypeVar("M")
R = TypeVar("R")
Ts = TypeVarTuple("Ts")


class PageAsk(Protocol):
    """What a list's query says of the page it wants (`PageQuery` and its kin)."""

    @property
    def page(self) -> int: ...
    @property
    def per_page(self) -> int: ...


def offset_of(query: PageAsk) -> int:
    """How many matching rows come before the page."""
    return (query.page - 1) * query.per_page


def window(statement: Select[*Ts], query: PageAsk) -> Select[*Ts]:
    """`statement` cut down to the rows of the page that `query` asks for."""
    return statement.offset(offset_of(query)).limit(query.per_page)


async def count_of(db: AsyncSession, statement: Select[*Ts]) -> int:
    """How many rows `statement` matches, whatever its order and page."""
    counting = select(func.count()).select_from(statement.order_by(None).subquery())
    return await db.scalar(counting) or 0


def paged(page_type: type[Page[R]], items: list[R], total: int, query: PageAsk) -> Page[R]:
    return page_type(items=items, total=total, page=query.page, per_page=query.per_page)


async def page_of(
    db: AsyncSession,
    statement: Select[M],
    query: PageAsk,
    page_type: type[Page[R]],
    read: Callable[[M], R],
) -> Page[R]:
    """One page of the entities `statement` selects (a table's rows), each read by `read`."""
    total = await count_of(db, statement)
    rows = await db.scalars(window(statement, query))
    return paged(page_type, [read(row) for row in rows], total, query)


async def page_of_rows(
    db: AsyncSession,
    statement: Select[*Ts],
    query: PageAsk,
    page_type: type[Page[R]],
    read: Callable[[Row[*Ts]], R],
) -> Page[R]:
    """One page of a statement that selects several columns or entities, each row read by `read`."""
    total = await count_of(db, statement)
    rows = (await db.execute(window(statement, query))).all()
    return paged(page_type, [read(row) for row in rows], total, query)
