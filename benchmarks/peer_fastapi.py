"""The peer of `api_vs_peer.py`: the stack a user would otherwise pick for the same API.

FastAPI + uvicorn[standard] + SQLAlchemy async (ORM) + aiosqlite in one process, written the
way its tutorials write it: a `get_db` dependency yielding an AsyncSession, a
`current_user` dependency that decodes the JWT and loads the member, ORM selects, pydantic
response models. It serves a copy of Upmetr's seeded database (the same rows):

    GET  /api/v1/monitors?page=&per_page=      org filter, count + page, pydantic out
    GET  /api/v1/auth/me                       the caller, their organization and role
    POST /api/v1/incidents/{id}/acknowledge    open -> acknowledged, a timeline row, commit

A benchmark-only file: `pip install .[bench]` brings FastAPI and uvicorn; Upmetr never
imports it. Run: PEER_DB=path PEER_SECRET=s uvicorn benchmarks.peer_fastapi:app
"""

from __future__ import annotations

import os
from collections.abc import AsyncIterator
from datetime import UTC, datetime
from typing import Annotated, Any

import jwt
from fastapi import Depends, FastAPI, Header, HTTPException, Query
from pydantic import BaseModel, ConfigDict
from sqlalchemy import func, select, update
from sqlalchemy.ext.asyncio import AsyncSession, async_sessionmaker, create_async_engine
from sqlalchemy.ext.automap import automap_base

DB_PATH = os.environ.get("PEER_DB", "peer.db")
SECRET = os.environ.get("PEER_SECRET", "peer-secret")

engine = create_async_engine(f"sqlite+aiosqlite:///{DB_PATH}")
Sessions = async_sessionmaker(engine, expire_on_commit=False)
Base: Any = automap_base()
app = FastAPI()


@app.on_event("startup")
async def _reflect() -> None:
    async with engine.connect() as connection:
        await connection.run_sync(lambda sync: Base.prepare(autoload_with=sync))


async def get_db() -> AsyncIterator[AsyncSession]:
    async with Sessions() as session:
        yield session


class Caller(BaseModel):
    user_id: int
    org_id: int
    email: str
    role: str


async def current_user(
    db: Annotated[AsyncSession, Depends(get_db)], authorization: Annotated[str, Header()] = ""
) -> Caller:
    scheme, _, token = authorization.partition(" ")
    if scheme.lower() != "bearer":
        raise HTTPException(401, "Not authenticated")
    try:
        claims = jwt.decode(token, SECRET, algorithms=["HS256"])
    except jwt.InvalidTokenError as exc:
        raise HTTPException(401, "Invalid token") from exc
    user_id, org_id = int(claims["sub"]), int(claims["org"])
    User, Membership = Base.classes.user, Base.classes.membership
    row = (
        await db.execute(
            select(User.email, User.is_active, Membership.role)
            .join(Membership, Membership.user_id == User.id)
            .where(User.id == user_id, Membership.org_id == org_id)
        )
    ).one_or_none()
    if row is None or not row.is_active:
        raise HTTPException(401, "Invalid token")
    return Caller(user_id=user_id, org_id=org_id, email=row.email, role=row.role)


class Orm(BaseModel):
    model_config = ConfigDict(from_attributes=True)


class MonitorOut(Orm):
    id: int
    name: str
    type: str
    url: str | None
    host: str | None
    port: int | None
    method: str
    headers: list[dict[str, str]]
    body: str | None
    expected_status: int
    follow_redirects: bool
    keyword: str | None
    keyword_present: bool
    json_path: str | None
    expected_value: str | None
    dns_record_type: str | None
    dns_expected: str | None
    dns_resolver: str | None
    interval_seconds: int
    timeout_seconds: int
    failure_threshold: int
    recovery_threshold: int
    degraded_threshold_ms: int | None
    ssl_expiry_days: int
    tags: list[str]
    paused: bool
    heartbeat_grace_seconds: int
    last_ping_at: datetime | None
    status: str
    last_checked_at: datetime | None
    last_response_ms: int | None
    last_error: str | None
    ssl_expires_at: datetime | None
    created_at: datetime
    updated_at: datetime


class MonitorPage(BaseModel):
    items: list[MonitorOut]
    total: int
    page: int
    per_page: int


@app.get("/api/v1/monitors", response_model=MonitorPage)
async def list_monitors(
    caller: Annotated[Caller, Depends(current_user)],
    db: Annotated[AsyncSession, Depends(get_db)],
    page: Annotated[int, Query(ge=1)] = 1,
    per_page: Annotated[int, Query(ge=1, le=200)] = 50,
) -> MonitorPage:
    Monitor = Base.classes.monitor
    filtered = select(Monitor).where(Monitor.org_id == caller.org_id)
    total = await db.scalar(select(func.count()).select_from(filtered.subquery()))
    rows = await db.scalars(
        filtered.order_by(Monitor.name, Monitor.id).offset((page - 1) * per_page).limit(per_page)
    )
    items = [MonitorOut.model_validate(row) for row in rows]
    return MonitorPage(items=items, total=total or 0, page=page, per_page=per_page)


class UserOut(Orm):
    id: int
    email: str
    full_name: str | None
    is_active: bool
    created_at: datetime


class OrgOut(Orm):
    id: int
    name: str
    slug: str
    status: str


class MeOut(BaseModel):
    user: UserOut
    organization: OrgOut
    role: str


@app.get("/api/v1/auth/me", response_model=MeOut)
async def me(
    caller: Annotated[Caller, Depends(current_user)],
    db: Annotated[AsyncSession, Depends(get_db)],
) -> MeOut:
    user = await db.get(Base.classes.user, caller.user_id)
    org = await db.get(Base.classes.organization, caller.org_id)
    return MeOut(
        user=UserOut.model_validate(user),
        organization=OrgOut.model_validate(org),
        role=caller.role,
    )


class IncidentOut(Orm):
    id: int
    title: str
    severity: str
    status: str
    opened_at: datetime
    acknowledged_at: datetime | None
    acknowledged_by_id: int | None


class Note(BaseModel):
    note: str | None = None


@app.post("/api/v1/incidents/{incident_id}/acknowledge", response_model=IncidentOut)
async def acknowledge(
    incident_id: int,
    caller: Annotated[Caller, Depends(current_user)],
    db: Annotated[AsyncSession, Depends(get_db)],
    body: Note | None = None,
) -> IncidentOut:
    if caller.role not in ("admin", "superadmin"):
        raise HTTPException(403, "Admins only")
    Incident, Event = Base.classes.incident, Base.classes.incident_event
    incident = await db.scalar(
        select(Incident).where(Incident.id == incident_id, Incident.org_id == caller.org_id)
    )
    if incident is None:
        raise HTTPException(404, "Incident not found")
    now = datetime.now(UTC)
    changed = await db.execute(
        update(Incident)
        .where(Incident.id == incident_id, Incident.status == "open")
        .values(status="acknowledged", acknowledged_at=now, acknowledged_by_id=caller.user_id)
    )
    if changed.rowcount != 1:  # type: ignore[attr-defined]
        raise HTTPException(409, "Only an open incident can be acknowledged")
    db.add(
        Event(
            incident_id=incident_id,
            kind="acknowledged",
            actor=caller.email,
            actor_user_id=caller.user_id,
            text=body.note if body else None,
            created_at=now,
        )
    )
    await db.commit()
    await db.refresh(incident)
    return IncidentOut.model_validate(incident)
