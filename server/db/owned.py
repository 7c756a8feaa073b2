"""What every org-owned, uniquely named object needs: found only in its own organization
(another org's is a 404, which tells nothing), a name free in it (a 409 otherwise), and
ids given in a body that name objects of it (a 400 otherwise)."""

from __future__ import annotations

from collections.abc import Iterable
from typing import Any, TypeVar

from sqlalchemy import select
from sqlalchemy.exc import IntegrityError
from sqlalchemy.ext.asyncio import AsyncSession

from server.http.errors import BadRequest, Conflict, NotFound

T = TypeVar("T")


async def one_of_org(db: AsyncSession, model: type[T], *, org_id: int, id: int, noun: str) -> T:
    """The `model` row `id` of `org_id`, or a 404 naming the noun ("Channel not found")."""
    table: Any = model
    found = await db.scalar(select(model).where(table.id == id, table.org_id == org_id))
    if found is None:
        raise NotFound(f"{noun} not found")
    return found


async def ids_of_org(
    db: AsyncSession, model: type[Any], *, org_id: int, ids: Iterable[int], field: str, noun: str
) -> list[int]:
    """The ids, once each, in order, when each names a `model` row of `org_id`; else a 400
    naming the body field and the first that does not (the same answer for an unknown id
    and another org's, which tells nothing)."""
    wanted = list(dict.fromkeys(ids))
    if not wanted:
        return wanted
    found = set(
        await db.scalars(select(model.id).where(model.org_id == org_id, model.id.in_(wanted)))
    )
    for each in wanted:
        if each not in found:
            raise BadRequest(f"body field '{field}': no {noun} {each} in this organization")
    return wanted


def _taken(noun: str, name: str) -> Conflict:
    article = "An" if noun[0].lower() in "aeiou" else "A"
    return Conflict(f"{article} {noun.lower()} named {name!r} already exists")


async def check_name_free(
    db: AsyncSession, model: type[Any], *, org_id: int, name: str, noun: str, other_than: int | None
) -> None:
    """A 409 when another `model` row of the org has `name` (`other_than`: the one renamed)."""
    query = select(model.id).where(model.org_id == org_id, model.name == name)
    if other_than is not None:
        query = query.where(model.id != other_than)
    if await db.scalar(query) is not None:
        raise _taken(noun, name)


async def flush_named(db: AsyncSession, *, name: str, noun: str) -> None:
    """Flush; a row of that name added since the check is the same 409."""
    try:
        await db.flush()
    except IntegrityError as exc:
        raise _taken(noun, name) from exc
