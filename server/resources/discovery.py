"""Storing what a discovery found: upsert by provider id, tags, and vanished resources.

`apply` handles one scope (a resource type in a region, or a global type everywhere) whose
listing succeeded: only then can "not listed" mean "gone". A scope whose listing failed is
not applied, so an outage never terminates anything.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from datetime import datetime
from typing import Any

from sqlalchemy import delete, insert, select, update
from sqlalchemy.ext.asyncio import AsyncSession

from server.resources.models import Resource, ResourceTag
from shared.api.events import ResourceStateChanged

TERMINATED = "terminated"
BATCH = 500  # rows per statement


@dataclass
class StateChange:
    """A resource whose state changed: the payload of a `resource.state` event."""

    id: int
    account_id: int
    name: str
    type: str
    state: str
    previous_state: str | None

    def event(self) -> ResourceStateChanged:
        return ResourceStateChanged(
            id=self.id,
            account_id=self.account_id,
            name=self.name,
            type=self.type,
            state=self.state,
            previous_state=self.previous_state,
        )


@dataclass
class Applied:
    found: int = 0
    new: int = 0
    updated: int = 0
    unchanged: int = 0
    terminated: int = 0
    changes: list[StateChange] = field(default_factory=list)


_COMPARED = ("name", "state", "size", "region", "tags", "details")


def _values(item: dict[str, Any]) -> dict[str, Any]:
    return {
        "name": str(item["name"])[:255] or str(item["provider_id"])[:255],
        "state": str(item["state"])[:30],
        "size": str(item["size"])[:60] if item.get("size") else None,
        "region": str(item["region"])[:30],
        "tags": {str(k)[:128]: str(v)[:256] for k, v in (item.get("tags") or {}).items()},
        "details": item.get("metadata") or {},
    }


def _chunks(rows: list[Any]) -> list[list[Any]]:
    return [rows[start : start + BATCH] for start in range(0, len(rows), BATCH)]


async def _replace_tags(db: AsyncSession, tags_by_id: dict[int, dict[str, str]]) -> None:
    ids = list(tags_by_id)
    for chunk in _chunks(ids):
        await db.execute(delete(ResourceTag).where(ResourceTag.resource_id.in_(chunk)))
    rows = [
        {"resource_id": resource_id, "key": key, "value": value}
        for resource_id, tags in tags_by_id.items()
        for key, value in tags.items()
    ]
    for chunk in _chunks(rows):
        await db.execute(insert(ResourceTag), chunk)


async def apply(
    db: AsyncSession,
    *,
    org_id: int,
    account_id: int,
    provider: str,
    resource_type: str,
    region: str | None,
    found: list[dict[str, Any]],
    now: datetime,
) -> Applied:
    """Upsert one scope's listing; `region=None` means every region (a global type).

    1. Read the scope's stored rows (account, type, region) in one query.
    2. A listed resource not stored is inserted (with its tag rows).
    3. A stored one is updated when anything differs (state_changed_at when its state
       did; terminated_at set or cleared with the terminated state), last_seen_at always;
       its tag rows are replaced when its tags differ.
    4. A stored, not yet terminated one that was not listed becomes terminated.
    5. Every state change (not the first sighting) is returned for `resource.state`.
    Counts: `terminated` is what became terminated now (listed so, or no longer listed),
    `updated` any other change, `unchanged` the rest of what was seen again.
    Writes go in batches of BATCH rows; the caller commits.
    """
    result = Applied(found=len(found))
    scope = [
        Resource.account_id == account_id,
        Resource.type == resource_type,
    ]
    if region is not None:
        scope.append(Resource.region == region)
    stored = {row.provider_id: row for row in await db.scalars(select(Resource).where(*scope))}
    listed: dict[str, dict[str, Any]] = {}
    for item in found:
        listed[str(item["provider_id"])] = _values(item)

    inserts: list[dict[str, Any]] = []
    updates: list[dict[str, Any]] = []
    seen_ids: list[int] = []
    new_tags: dict[str, dict[str, str]] = {}
    tags_by_id: dict[int, dict[str, str]] = {}
    for provider_id, values in listed.items():
        row = stored.get(provider_id)
        gone = values["state"] == TERMINATED
        if row is None:
            inserts.append({
                **values, "org_id": org_id, "account_id": account_id, "provider": provider,
                "provider_id": provider_id, "type": resource_type, "discovered_at": now,
                "last_seen_at": now, "state_changed_at": now,
                "terminated_at": now if gone else None,
            })  # fmt: skip
            new_tags[provider_id] = values["tags"]
            continue
        differs = {key: values[key] for key in _COMPARED if getattr(row, key) != values[key]}
        if not differs:
            seen_ids.append(row.id)
            result.unchanged += 1
            continue
        change: dict[str, Any] = {"id": row.id, **differs, "last_seen_at": now}
        if "state" in differs:
            change["state_changed_at"] = now
            change["terminated_at"] = now if gone else None
            result.changes.append(StateChange(
                row.id, account_id, values["name"], resource_type, values["state"], row.state
            ))  # fmt: skip
        if "tags" in differs:
            tags_by_id[row.id] = values["tags"]
        updates.append(change)
        if "state" in differs and gone:
            result.terminated += 1
        else:
            result.updated += 1

    vanished = [row for pid, row in stored.items() if pid not in listed and row.state != TERMINATED]
    for row in vanished:
        updates.append({
            "id": row.id, "state": TERMINATED, "state_changed_at": now, "terminated_at": now,
        })  # fmt: skip
        result.changes.append(
            StateChange(row.id, account_id, row.name, resource_type, TERMINATED, row.state)
        )
    result.terminated += len(vanished)

    for chunk in _chunks(inserts):
        created = await db.execute(
            insert(Resource).returning(Resource.id, Resource.provider_id), chunk
        )
        for resource_id, provider_id in created.all():
            if new_tags.get(provider_id):
                tags_by_id[resource_id] = new_tags[provider_id]
    result.new = len(inserts)
    for chunk in _chunks(updates):
        await db.execute(update(Resource), chunk)
    for chunk in _chunks(seen_ids):
        await db.execute(
            update(Resource)
            .where(Resource.id.in_(chunk))
            .values(last_seen_at=now)
            .execution_options(synchronize_session=False)
        )
    if tags_by_id:
        await _replace_tags(db, tags_by_id)
    # The session's copies of updated rows are stale now; later reads go to the database.
    db.expire_all()
    return result
