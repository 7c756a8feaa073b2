"""The service context: what a service function is given instead of an HTTP request.

A `Context` carries the database session (one transaction), the actor (a member through a
token or API key, or the system when an engine acts on its own), the client's ip and user
agent when there is one, and the after-commit outbox: live events, callbacks such as engine
wake-ups, and emails. Nothing in the outbox happens unless the transaction commits, so a
rolled-back change never announces itself. Audit entries of failed attempts are the
exception: they are kept aside and written even when the change rolls back.

The HTTP adapter builds a context from a request (`server/http/routing.py`); an engine
builds a system one with `system_transaction`. Both then call the same service functions.
"""

from __future__ import annotations

import contextlib
import dataclasses
from collections.abc import AsyncIterator, Awaitable, Callable
from dataclasses import dataclass, field
from enum import StrEnum
from typing import TYPE_CHECKING, Any, TypeVar

from sqlalchemy import insert
from sqlalchemy.ext.asyncio import AsyncSession

from server.audit.models import AuditLog
from server.events.log import publish_in
from server.http.principal import AgentPrincipal, Principal
from server.status_pages.cache import PageCache

if TYPE_CHECKING:
    from server.config import Settings
    from server.db.engine import SessionMaker
    from server.engines.checks import CheckEngine
    from server.events import EventPublisher
    from server.http.ratelimit import RateLimiter
    from server.keys import Keys
    from server.providers.channels import Channels
    from server.providers.email import Email, Mailer
    from server.providers.stripe import Payments
    from server.tasks import BackgroundTasks
    from shared.api.events import EventData

T = TypeVar("T")


@dataclass(frozen=True)
class System:
    """The actor when nobody called: an engine acting on its own (audited as `system`)."""

    email: str = "system"


@dataclass(frozen=True)
class Anonymous:
    """The actor of a public request (sign-up, sign-in) before anyone is known."""


SYSTEM = System()
ANONYMOUS = Anonymous()
Actor = Principal | AgentPrincipal | System | Anonymous


class Wake(StrEnum):
    """The engines a service can ask to look for work now."""

    checks = "checks"
    discovery = "discovery"
    cost_sync = "cost_sync"
    resource_actions = "resource_actions"
    dispatch = "dispatch"


@dataclass
class Runtime:
    """The pieces a process shares between requests and engines, built by the composition root.

    `wakers` maps an engine's name to a callable that makes it look for work now; a service
    asks for one with `Context.wake(name)`, after its transaction commits. An engine that
    does not run in this process has no waker, or one that reaches it elsewhere.
    """

    settings: Settings
    keys: Keys
    sessions: SessionMaker
    events: EventPublisher
    mailer: Mailer
    tasks: BackgroundTasks
    limiter: RateLimiter
    wakers: dict[Wake, Callable[[], None]] = field(default_factory=dict)
    # What runs a check at a member's request ("check now") and stores its result.
    check_engine: CheckEngine | None = None
    # What sends a channel's test message at a member's request.
    channels: Channels | None = None
    # Organizations' enabled metric alert rules by id and scope, and until when (monotonic
    # seconds) they are taken as read: every agent post would ask otherwise
    # (server/alert_rules/live.py).
    metric_rule_scopes: dict[int, tuple[float, list[tuple[int, dict[str, Any]]]]] = field(
        default_factory=dict
    )
    # Public status pages as rendered (server/status_pages/cache.py).
    page_cache: PageCache = field(default_factory=PageCache)
    # The Stripe account that takes payments; None when billing is off (no secret key).
    payments: Payments | None = None


@dataclass
class Context:
    """See the module's docstring. An engine that delivers the outbox itself (it reads
    `events` after its commit) may leave out the runtime; such a context cannot wake an
    engine or send an email."""

    db: AsyncSession
    runtime: Runtime | None = None
    actor: Actor = SYSTEM
    ip: str | None = None
    user_agent: str | None = None
    events: list[tuple[int, EventData]] = field(default_factory=list)
    callbacks: list[Callable[[], None]] = field(default_factory=list)
    failed_audits: list[dict[str, Any]] = field(default_factory=list)

    @property
    def principal(self) -> Principal | None:
        return self.actor if isinstance(self.actor, Principal) else None

    @property
    def auth(self) -> Principal:
        """The calling member; only services that members call read it."""
        if not isinstance(self.actor, Principal):
            raise RuntimeError("a member's action was called without a member")
        return self.actor

    @property
    def shared(self) -> Runtime:
        if self.runtime is None:
            raise RuntimeError("this context has no runtime (an engine's outbox-only context)")
        return self.runtime

    @property
    def settings(self) -> Settings:
        return self.shared.settings

    @property
    def keys(self) -> Keys:
        return self.shared.keys

    @property
    def limiter(self) -> RateLimiter:
        return self.shared.limiter

    def as_system(self) -> Context:
        """The same transaction and outbox, acting as the system: for what follows on its own
        from a member's change (a raised budget resolves its incident automatically)."""
        return dataclasses.replace(self, actor=SYSTEM, ip=None, user_agent=None)

    def publish_after_commit(self, event: EventData, *, org_id: int | None = None) -> None:
        """Emit a live event to `org_id` (default: the caller's) once this transaction commits."""
        self.events.append((org_id if org_id is not None else self.auth.org_id, event))

    def after_commit(self, callback: Callable[[], None]) -> None:
        """Run `callback` once this transaction commits (it must not raise)."""
        self.callbacks.append(callback)

    def wake(self, engine: Wake) -> None:
        """Make `engine` look for work as soon as this transaction commits."""
        waker = self.shared.wakers.get(engine)
        if waker is not None:
            self.after_commit(waker)

    def send_email(self, email: Email) -> None:
        """Send once this transaction commits, off the request path; failures are logged."""
        runtime = self.shared

        def send() -> None:
            runtime.tasks.spawn(runtime.mailer.send(email), name=f"email to {email.to}")

        self.after_commit(send)

    async def log_events(self) -> None:
        """Append the outbox's live events to the event log in this transaction, when the
        log is the publisher (processes of their own): they commit with what they tell, so
        a crash right after the commit loses none. Call it last before the commit."""
        if self.runtime is None or not self.events:
            return
        logged = await publish_in(self.db, self.runtime.events, self.events)
        if logged is not None:
            self.events.clear()
            self.callbacks.append(logged.committed)

    def committed(self) -> None:
        """Deliver the outbox: the transaction has committed."""
        for org_id, event in self.events:
            self.shared.events.publish(org_id, event)
        for callback in self.callbacks:
            callback()
        self.events.clear()
        self.callbacks.clear()

    async def write_failed_audits(self) -> None:
        """Write the failed attempts' audit entries in the current transaction."""
        await write_audit(self.db, self.failed_audits)
        self.failed_audits.clear()


async def write_audit(db: AsyncSession, entries: list[dict[str, Any]]) -> None:
    if entries:
        await db.execute(insert(AuditLog), entries)


@contextlib.asynccontextmanager
async def system_transaction(runtime: Runtime) -> AsyncIterator[Context]:
    """A context for the system in a transaction of its own; its outbox goes out on commit."""
    async with runtime.sessions() as db:
        ctx = Context(db=db, runtime=runtime)
        async with db.begin():
            yield ctx
            await ctx.write_failed_audits()
            await ctx.log_events()
        ctx.committed()


async def commit(ctx: Context) -> None:
    """End a request's transaction after its work raised nothing: commit with the failed
    attempts' audit entries, then deliver the outbox."""
    await ctx.write_failed_audits()
    await ctx.log_events()
    await ctx.db.commit()
    ctx.committed()


async def in_transaction(ctx: Context, work: Callable[[Context], Awaitable[T]]) -> T:
    """Run `work` in `ctx`'s transaction and end it: committed when the work returns,
    rolled back when it raises."""
    try:
        result = await work(ctx)
    except BaseException:
        await roll_back(ctx)
        raise
    await commit(ctx)
    return result


async def commit_together(contexts: list[Context]) -> None:
    """`commit` for the contexts of works that shared one transaction (group commit): one
    commit with all their failed attempts' entries and events, then every outbox."""
    shared = dataclasses.replace(
        contexts[0],
        events=[event for ctx in contexts for event in ctx.events],
        callbacks=[callback for ctx in contexts for callback in ctx.callbacks],
        failed_audits=[entry for ctx in contexts for entry in ctx.failed_audits],
    )
    await commit(shared)


async def roll_back(ctx: Context) -> None:
    """End a request's transaction after its work raised: roll back, but keep the record of
    the failed attempts in a transaction of their own."""
    await ctx.db.rollback()
    if ctx.failed_audits:
        await ctx.write_failed_audits()
        await ctx.db.commit()
