"""A request description: what namespaces build and the sync/async cores execute."""

from __future__ import annotations

from collections.abc import Callable, Hashable, Mapping
from dataclasses import dataclass, field
from functools import cache
from typing import IO, Any, Generic, TypeVar, cast

from pydantic import TypeAdapter

from shared.api.common import jsonable

T = TypeVar("T")


@dataclass(frozen=True)
class Call(Generic[T]):
    """One API call. `parse` turns the JSON body into the shared model (None for 204).

    `authenticated=False` marks sign-in endpoints: a 401 there is a wrong password, never a
    reason to refresh. `adopt_tokens` makes the client use (and report) a token pair it got.
    `stream_to` sends the body to a file-like instead of parsing it (exports).
    """

    method: str
    path: str
    parse: Callable[[Any], T]
    params: Mapping[str, Any] | None = None
    json: Any = None
    authenticated: bool = True
    adopt_tokens: bool = False
    forget_tokens: bool = False
    stream_to: IO[bytes] | None = field(default=None, compare=False)


@cache
def _adapter(tp: Any) -> TypeAdapter[Any]:
    return TypeAdapter(tp)


def parse_as(tp: type[T]) -> Callable[[Any], T]:
    """A parser validating JSON into `tp` (a model, `list[Model]`, `Page[Model]`...)."""
    adapter = _adapter(cast(Hashable, tp))

    def parse(data: Any) -> T:
        result: T = adapter.validate_python(data)
        return result

    return parse


def parse_union(tp: Any) -> Callable[[Any], Any]:
    """Like `parse_as` for unions (`TokenPair | MfaChallenge`), which are not `type[T]`."""
    return _adapter(tp).validate_python


def no_content(_data: Any) -> None:
    return None


def body(**fields: Any) -> dict[str, Any]:
    """A JSON body from keyword arguments; None means "not given" and is left out."""
    return {k: jsonable(v) for k, v in fields.items() if v is not None}


def query(**fields: Any) -> dict[str, Any]:
    """Query parameters; None is left out, times become ISO strings, `from_` becomes `from`."""
    out: dict[str, Any] = {}
    for key, value in fields.items():
        if value is None:
            continue
        plain = jsonable(value)
        if isinstance(plain, bool):
            plain = "true" if plain else "false"
        out[key.rstrip("_")] = plain
    return out
