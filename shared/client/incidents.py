"""Incidents and their timeline (`/incidents`)."""

from __future__ import annotations

import builtins
from collections.abc import Sequence
from datetime import datetime

from shared.api.common import Page
from shared.api.incidents import (
    BulkActionName,
    BulkOutcome,
    IncidentDetail,
    IncidentRead,
    IncidentStats,
    IncidentStatus,
    Severity,
    TimelineEventRead,
    TriggerType,
)
from shared.client.call import Call, body, no_content, parse_as, query
from shared.client.namespace import M, Namespace, endpoint


class Incidents(Namespace[M]):
    """Incidents and their timeline (`/incidents`)."""

    @endpoint
    def list(
        self,
        *,
        page: int = 1,
        per_page: int = 50,
        status: IncidentStatus | str | None = None,
        severity: Severity | str | None = None,
        trigger_type: TriggerType | str | None = None,
        monitor_id: int | None = None,
        resource_id: int | None = None,
        agent_id: int | None = None,
        from_: datetime | None = None,
        to: datetime | None = None,
        q: str | None = None,
        sort: str | None = None,
    ) -> Call[Page[IncidentRead]]:
        """Newest first unless `sort` says otherwise (`severity`, `-resolved_at`, ...)."""
        return Call(
            "GET",
            "/incidents",
            parse_as(Page[IncidentRead]),
            params=query(
                page=page,
                per_page=per_page,
                status=status,
                severity=severity,
                trigger_type=trigger_type,
                monitor_id=monitor_id,
                resource_id=resource_id,
                agent_id=agent_id,
                from_=from_,
                to=to,
                q=q,
                sort=sort,
            ),
        )

    @endpoint
    def stats(self) -> Call[IncidentStats]:
        return Call("GET", "/incidents/stats", parse_as(IncidentStats))

    @endpoint
    def get(self, incident_id: int) -> Call[IncidentDetail]:
        """One incident with its timeline, oldest event first."""
        return Call("GET", f"/incidents/{int(incident_id)}", parse_as(IncidentDetail))

    @endpoint
    def create(
        self, *, title: str, severity: Severity | str, description: str | None = None
    ) -> Call[IncidentRead]:
        """Open a manual incident."""
        return Call(
            "POST",
            "/incidents",
            parse_as(IncidentRead),
            json=body(title=title, severity=severity, description=description),
        )

    @endpoint
    def acknowledge(self, incident_id: int, note: str | None = None) -> Call[IncidentRead]:
        """Only an open incident can be acknowledged (ConflictError otherwise)."""
        return Call(
            "POST",
            f"/incidents/{int(incident_id)}/acknowledge",
            parse_as(IncidentRead),
            json=body(note=note),
        )

    @endpoint
    def resolve(self, incident_id: int, note: str | None = None) -> Call[IncidentRead]:
        """Resolve an open or acknowledged incident (ConflictError when already resolved)."""
        return Call(
            "POST",
            f"/incidents/{int(incident_id)}/resolve",
            parse_as(IncidentRead),
            json=body(note=note),
        )

    @endpoint
    def add_note(self, incident_id: int, text: str) -> Call[TimelineEventRead]:
        return Call(
            "POST",
            f"/incidents/{int(incident_id)}/notes",
            parse_as(TimelineEventRead),
            json=body(text=text),
        )

    @endpoint
    def delete(self, incident_id: int) -> Call[None]:
        return Call("DELETE", f"/incidents/{int(incident_id)}", no_content)

    @endpoint
    def bulk(
        self, ids: Sequence[int], action: BulkActionName, note: str | None = None
    ) -> Call[builtins.list[BulkOutcome]]:
        """Acknowledge, resolve or delete many incidents; one outcome per id, in order."""
        return Call(
            "POST",
            "/incidents/bulk",
            parse_as(list[BulkOutcome]),
            json=body(ids=[int(i) for i in ids], action=action, note=note),
        )
