"""Background jobs (discovery, cost sync): a 202 answers with one, its state can be read."""

from __future__ import annotations

from enum import StrEnum
from typing import Any

from pydantic import Field

from shared.api.common import PageQuery, ReadModel, UtcDatetime


class JobKind(StrEnum):
    discovery = "discovery"
    cost_sync = "cost_sync"


class JobStatus(StrEnum):
    queued = "queued"
    running = "running"
    succeeded = "succeeded"
    failed = "failed"


class JobAccepted(ReadModel):
    job_id: int


class JobRead(ReadModel):
    id: int
    kind: JobKind
    status: JobStatus
    account_id: int | None
    progress: dict[str, Any] = Field(
        default_factory=dict, description="e.g. {done, total, step}; changes while running"
    )
    result: dict[str, Any] = Field(default_factory=dict, description="counts once finished")
    detail: str | None
    created_at: UtcDatetime
    started_at: UtcDatetime | None
    finished_at: UtcDatetime | None


class JobQuery(PageQuery):
    kind: JobKind | None = None
    status: JobStatus | None = None
    account_id: int | None = None
