"""Route declarations and the adapter that turns one into an aiohttp handler.

A route says what it takes (path, query and body models), what it returns, who may call it
and which plan module it needs. The adapter parses and validates input, authenticates,
checks the role and module, opens one database transaction around the handler and
serializes the result, so handlers hold only their domain call.
"""

from __future__ import annotations

import asyncio
import contextlib
import json
import re
from collections.abc import AsyncIterator, Awaitable, Callable
from dataclasses import dataclass, field
from enum import Enum
from functools import cached_property
from typing import Any

from aiohttp import web
from pydantic import BaseModel, TypeAdapter, ValidationError
from pydantic_core import to_json
from sqlalchemy.ext.asyncio import AsyncSession

from server.config import Settings
from server.context import RUNTIME, SESSIONS, SETTINGS
from server.group_commit import GroupCommit
from server.http.errors import (
    ApiError,
    BadRequest,
    Forbidden,
    PayloadTooLarge,
    Unauthorized,
    validation_error,
)
from server.http.principal import AgentPrincipal, Caller, Principal
from server.service_context import ANONYMOUS, Context, in_transaction
from shared.api.common import Role
from shared.api.events import EventData

Handler = Callable[["Call"], Awaitable[Any]]
Authenticator = Callable[[web.Request, AsyncSession, str], Awaitable[Caller]]
ModuleCheck = Callable[[Context, str], Awaitable[None]]

AUTHENTICATOR: web.AppKey[Authenticator] = web.AppKey("authenticator")
MODULE_CHECK: web.AppKey[ModuleCheck] = web.AppKey("module_check")
# The paths (as aiohttp's resources name them) of routes left out of the rate limits.
UNLIMITED: web.AppKey[set[str]] = web.AppKey("unlimited")
# Routes taken a few at a time (Route.at_once), by canonical path: their line.
IN_LINE: web.AppKey[dict[str, asyncio.Semaphore]] = web.AppKey("in_line")

_PARAM = re.compile(r"\{(\w+)\}")
READ_METHODS = frozenset({"GET", "HEAD"})


class Access(Enum):
    public = "public"  # no token
    user = "user"  # access token or API key
    agent = "agent"  # an infra agent's token
    platform_admin = "platform_admin"


@dataclass(frozen=True)
class Route:
    method: str
    path: str
    handler: Handler
    summary: str
    tag: str
    access: Access = Access.user
    role: Role = Role.viewer
    module: str | None = None
    body: type[BaseModel] | None = None
    query: type[BaseModel] | None = None
    response: Any = None  # a model or type; None with status 204 means no content
    status: int = 200
    also: tuple[int, ...] = ()  # other success statuses a handler may answer with (Answer)
    content_type: str | None = None  # for non-JSON responses (files, CSV, HTML)
    also_json: Any = None  # of a non-JSON route that answers JSON on request: that JSON's type
    multipart: bool = False
    description: str = ""
    errors: tuple[int, ...] = ()
    events: tuple[type[EventData], ...] = ()  # of an event stream: the data of each type
    # False for a sender that authenticates each request itself and retries on 429 without
    # end (a payment provider's signed webhook): the per-IP limit only throttles it.
    rate_limited: bool = True
    # At most this many at once per process, the others waiting in line before they take a
    # database connection: a bound on a fleet's posts in flight (their bodies, their token
    # lookups), so members' requests still find connections and the loop's time.
    at_once: int | None = None
    # Up to this many requests of the route that arrive together share one transaction
    # and one commit (server/group_commit.py): for a fleet's posts, whose own commits were
    # a fifth of their cost.
    grouped: int | None = None

    @cached_property
    def path_params(self) -> list[str]:
        return _PARAM.findall(self.path)

    @cached_property
    def response_adapter(self) -> TypeAdapter[Any] | None:
        return TypeAdapter(self.response) if self.response is not None else None


@dataclass
class Call:
    """A request as a handler sees it: its parsed input and the service context it runs in."""

    request: web.Request
    ctx: Context
    path: dict[str, Any] = field(default_factory=dict)
    body: Any = None
    query: Any = None

    @property
    def db(self) -> AsyncSession:
        return self.ctx.db

    @property
    def auth(self) -> Principal:
        return self.ctx.auth

    @property
    def settings(self) -> Settings:
        return self.ctx.settings


def bearer_token(request: web.Request) -> str | None:
    header = request.headers.get("Authorization", "")
    scheme, _, token = header.partition(" ")
    if scheme.lower() != "bearer" or not token.strip():
        return None
    return token.strip()


PRINCIPAL_KEY: web.RequestKey[Caller] = web.RequestKey("principal", Caller)  # type: ignore[arg-type]
AUTH_ERROR_KEY = web.RequestKey("auth_error", ApiError)
# The request's one database session, opened by the auth middleware for /api/v1, so the
# statements that authenticate and those of the route share a connection and a transaction.
SESSION_KEY = web.RequestKey("session", AsyncSession)


def authenticated(request: web.Request) -> Caller:
    """The principal the auth middleware found, or the reason it found none."""
    principal = request.get(PRINCIPAL_KEY)
    if principal is None:
        raise request.get(AUTH_ERROR_KEY) or Unauthorized()
    return principal


def _parse_path(route: Route, request: web.Request) -> dict[str, Any]:
    values: dict[str, Any] = {}
    for name in route.path_params:
        raw = request.match_info[name]
        if _NUL in raw:
            raise BadRequest(f"path field '{name}': {_NO_NUL}")
        # An id's pattern (`_ids_as_digits`) already admitted 1 to 18 digits only.
        values[name] = int(raw) if _is_id(name) else raw
    return values


def _parse_query(route: Route, request: web.Request) -> Any:
    assert route.query is not None
    raw: dict[str, Any] = {}
    for key in request.query:
        values = request.query.getall(key)
        raw[key] = values if len(values) > 1 else values[0]
    try:
        query = route.query.model_validate(raw)
    except ValidationError as exc:
        raise _Invalid(validation_error(exc, "query")) from exc
    for key, value in raw.items():
        if any(_NUL in text for text in (value if isinstance(value, list) else [value])):
            raise BadRequest(f"query field '{key}': {_NO_NUL}")
    for name, info in route.query.model_fields.items():
        value = getattr(query, name)
        if (
            isinstance(value, int)
            and not isinstance(value, bool)
            and not INT64[0] <= value <= INT64[1]
        ):
            raise BadRequest(f"query field '{info.alias or name}': integer out of range")
    return query


async def _parse_body(route: Route, request: web.Request, limit: int) -> Any:
    assert route.body is not None
    if request.content_length is not None and request.content_length > limit:
        raise PayloadTooLarge(f"Request body too large (limit {limit} bytes)")
    raw = await request.read()
    if len(raw) > limit:
        raise PayloadTooLarge(f"Request body too large (limit {limit} bytes)")
    if not raw:
        if any(field.is_required() for field in route.body.model_fields.values()):
            raise BadRequest("Request body is required (JSON object)")
        raw = b"{}"  # every field is optional (e.g. `{note?}`): no body means no fields
    try:
        data = json.loads(raw, parse_int=_int64)
    except _IntegerOutOfRange as exc:
        raise BadRequest(str(exc)) from exc
    except RecursionError as exc:  # the decoder's own depth limit, near 1,000 levels
        raise BadRequest(_TOO_DEEP) from exc
    except (ValueError, UnicodeDecodeError) as exc:
        raise BadRequest("Request body is not valid JSON") from exc
    if not isinstance(data, dict):
        raise BadRequest("Request body must be a JSON object")
    if _depth_over(data, MAX_JSON_DEPTH):
        raise BadRequest(_TOO_DEEP)
    try:
        # Strict, from the JSON itself: a body takes the types its schema states, so `0` is
        # not a boolean and `"7"` not an id (lax validation took both). Strings still carry
        # times, enums and decimals, as JSON has no other way to.
        body = route.body.model_validate_json(raw, strict=True)
    except ValidationError as exc:
        raise _Invalid(validation_error(exc, "body")) from exc
    if b"\\u0000" in raw and _holds_nul(data):  # JSON writes a NUL as \u0000
        raise BadRequest(f"Request body: a string {_NO_NUL}")
    return body


# Text never holds a NUL: PostgreSQL's text types cannot store one (SQLite's can), so the
# API refuses it in every path, query and body string, on either database, with a 400
# rather than the driver's error. A field that refuses every control character (OneLine)
# says so first, by its name.
_NUL = "\x00"
_NO_NUL = "must not contain a NUL character"


def _holds_nul(value: Any) -> bool:
    """Whether a string in `value` (decoded JSON), key or value, holds a NUL (iterative)."""
    pending: list[Any] = [value]
    while pending:
        item = pending.pop()
        if isinstance(item, str):
            if _NUL in item:
                return True
        elif isinstance(item, dict):
            pending.extend(item.keys())
            pending.extend(item.values())
        elif isinstance(item, list):
            pending.extend(item)
    return False


# No request model nests deeper than a few levels; a deeper body is refused before validation
# walks it (a body of 1,000 `[` in 2 KB once raised RecursionError here: a 500).
MAX_JSON_DEPTH = 32
_TOO_DEEP = f"Request body nests deeper than {MAX_JSON_DEPTH} levels"


def _depth_over(value: Any, limit: int) -> bool:
    """Whether arrays and objects in `value` nest deeper than `limit` (iterative: no recursion)."""
    level: list[Any] = [value]
    for _ in range(limit):
        level = [
            child
            for item in level
            for child in (item.values() if isinstance(item, dict) else item)
            if isinstance(child, dict | list)
        ]
        if not level:
            return False
    return True


# What every integer column holds; the document states it as each integer's bounds.
INT64 = (-(2**63), 2**63 - 1)


class _IntegerOutOfRange(ValueError):
    pass


def _int64(text: str) -> int:
    """JSON integers are bounded to 64 bits, what every id and count column holds.

    A larger one would pass `int` validation and then fail in the database driver
    (sqlite3 raises OverflowError binding it), a 500 instead of a 400.
    """
    value = int(text)
    if not INT64[0] <= value <= INT64[1]:
        raise _IntegerOutOfRange(f"Request body has an integer out of range: {text[:30]}")
    return value


class _Invalid(Exception):
    def __init__(self, response: web.Response):
        self.response = response


@dataclass(frozen=True)
class Answer:
    """A handler's result with another of its route's statuses (one listed in `also`)."""

    body: Any
    status: int


@dataclass(frozen=True)
class Trusted:
    """A handler's result in its route's response shape, made of JSON-ready values the
    database's columns typed (ints, strings, aware UTC times, enums, lists): written by
    pydantic-core as they are, without the validation pass into models, which cost a page
    of 50 monitors about a tenth of its request. The route's model still documents the
    response; a test holds the JSON to what that model makes of it."""

    value: Any


def _serialize(route: Route, result: Any) -> web.StreamResponse:
    if isinstance(result, web.StreamResponse):
        return result
    if isinstance(result, Trusted):
        return _json_response(to_json(result.value), route.status)
    status = route.status
    if isinstance(result, Answer):
        assert result.status in route.also, f"{result.status} is not among {route.path}'s"
        result, status = result.body, result.status
    if route.response is None or result is None:
        return web.Response(status=status if status == 204 else 204)
    assert route.response_adapter is not None
    return _json_response(route.response_adapter.dump_json(result, by_alias=True), status)


def _json_response(body: bytes, status: int) -> web.Response:
    return web.Response(body=body, status=status, content_type="application/json", charset="utf-8")


def adapt(route: Route) -> Callable[[web.Request], Awaitable[web.StreamResponse]]:
    group: GroupCommit | None = None  # of this route in this app, made at its first request

    async def handle(request: web.Request) -> web.StreamResponse:
        nonlocal group
        app = request.app
        # Who calls and with what role is settled before input is read, so an anonymous
        # or under-privileged caller learns nothing from validation messages.
        principal = _admitted(route, request)
        if route.grouped is not None:
            await _release_session(request)
        try:
            path = _parse_path(route, request)
            query = _parse_query(route, request) if route.query else None
            limit = app[SETTINGS].max_body_bytes
            body = await _parse_body(route, request, limit) if route.body else None
        except _Invalid as invalid:
            return invalid.response

        def context_for(db: AsyncSession) -> Context:
            return Context(
                db=db,
                runtime=app[RUNTIME],
                actor=principal or ANONYMOUS,
                ip=request.remote,
                user_agent=user_agent(request),
            )

        async def work(ctx: Context) -> web.StreamResponse:
            call = Call(request=request, ctx=ctx, path=path, body=body, query=query)
            if route.module:
                await app[MODULE_CHECK](ctx, route.module)
            return _serialize(route, await route.handler(call))

        if route.grouped is not None:
            if group is None:
                group = GroupCommit(app[SESSIONS], limit=route.grouped)
            response: web.StreamResponse = await group.run(work, context_for)
            return response
        async with _session_of(request) as db:
            return await in_transaction(context_for(db), work)

    handle.__name__ = route.handler.__name__
    return handle


async def _release_session(request: web.Request) -> None:
    """Give back the connection the auth middleware's session read the caller with: a
    grouped request's work runs in the group's session, and waiting for it holds none."""
    db = request.get(SESSION_KEY)
    if db is not None:
        await db.close()


@contextlib.asynccontextmanager
async def _session_of(request: web.Request) -> AsyncIterator[AsyncSession]:
    """The session the auth middleware opened for this request, or one of its own (pages)."""
    db = request.get(SESSION_KEY)
    if db is not None:
        yield db
        return
    async with request.app[SESSIONS]() as db:
        yield db


def user_agent(request: web.Request) -> str | None:
    agent = request.headers.get("User-Agent")
    return agent[:500] if agent else None


def _admitted(route: Route, request: web.Request) -> Caller | None:
    if route.access is Access.public:
        return None
    principal = authenticated(request)
    if route.access is Access.agent:
        if not isinstance(principal, AgentPrincipal):
            raise Unauthorized("This endpoint takes an agent token")
        return principal
    if isinstance(principal, AgentPrincipal):
        raise Unauthorized("An agent token is good for POST /api/v1/agents/ingest only")
    if principal.impersonated_by is not None:
        # Enforced here, once for every route, so no write can forget it.
        if route.access is Access.platform_admin:
            raise Forbidden("An impersonation token cannot reach /admin")
        if route.method not in READ_METHODS:
            raise Forbidden("read-only impersonation: this token cannot change anything")
    if route.access is Access.platform_admin and not principal.is_platform_admin:
        raise Forbidden("This endpoint is for platform admins")
    if not principal.role.at_least(route.role):
        raise Forbidden(f"This action requires the {route.role.value} role")
    return principal


def add_routes(app: web.Application, routes: list[Route], prefix: str) -> None:
    paths = [route.path for route in routes]
    for route in routes:
        path = _not_a_sibling(_ids_as_digits(route.path), paths)
        added = app.router.add_route(route.method, prefix + path, adapt(route))
        if not route.rate_limited and added.resource is not None:
            app.setdefault(UNLIMITED, set()).add(added.resource.canonical)
        if route.at_once is not None and added.resource is not None:
            line = asyncio.Semaphore(route.at_once)
            app.setdefault(IN_LINE, {})[added.resource.canonical] = line


def _not_a_sibling(path: str, paths: list[str]) -> str:
    """A segment that is a whole parameter (`{client_slug}`) does not match the words other
    routes have in its place (`subscribe` of /public/status/{org_slug}/subscribe): else a
    GET of the page route would be offered for the other route's path (its Allow header,
    and a 404 of a page that cannot exist in place of a 405)."""
    segments = path.split("/")
    for index, segment in enumerate(segments):
        found = _PARAM.fullmatch(segment)
        if not found:
            continue
        words = sorted(
            {
                other[index]
                for other in (each.split("/") for each in paths)
                if len(other) > index
                and not _PARAM.search(other[index])
                and all(
                    mine == theirs or _PARAM.search(mine) or _PARAM.search(theirs)
                    for mine, theirs in zip(segments[:index], other[:index], strict=True)
                )
            }
        )
        if words:
            taken = "|".join(re.escape(word) for word in words)
            segments[index] = f"{{{found[1]}:(?!(?:{taken})$)[^/]+}}"
    return "/".join(segments)


def _is_id(name: str) -> bool:
    return name == "id" or name.endswith("_id")


def _ids_as_digits(path: str) -> str:
    """`{id}` and `{x_id}` match only an id, so `/budgets/status` is not taken for budget
    "status": a method it lacks is a 405 with its own Allow header, not a 404 of `{id}`."""
    return _PARAM.sub(
        lambda found: f"{{{found[1]}:\\d{{1,18}}}}" if _is_id(found[1]) else found[0],
        path,
    )
