"""Write each endpoint once: a method builds a `Call`, the client's core runs it.

`Namespace[Sync]` methods return the parsed model; `Namespace[Async]` methods return an
awaitable of it. The `endpoint` descriptor carries that difference for mypy, so the
resource modules stay a single, readable list of calls.
"""

from __future__ import annotations

import inspect
from collections.abc import Awaitable, Callable, Generator
from typing import TYPE_CHECKING, Any, Concatenate, Generic, ParamSpec, TypeVar, overload

from shared.client.call import Call

if TYPE_CHECKING:
    from shared.client.core import AsyncCore, SyncCore

P = ParamSpec("P")
T = TypeVar("T")


class Sync:
    """Marker: methods run the call and return its result."""


class Async:
    """Marker: methods return a coroutine to await."""


M = TypeVar("M", Sync, Async)


class Namespace(Generic[M]):
    def __init__(self, core: SyncCore | AsyncCore) -> None:
        self._core = core


class Pending(Awaitable[T]):
    """An async client's call, sent when awaited. A coroutine made at once and dropped
    unawaited (a view closed before its `gather` ran) warns "never awaited"; this does not,
    and it is sent only if awaited. asyncio.gather, ensure_future and wait_for take it."""

    __slots__ = ("_call", "_core")

    def __init__(self, core: AsyncCore, call: Call[T]) -> None:
        self._core = core
        self._call = call

    def __await__(self) -> Generator[Any, None, T]:
        return self._core.execute(self._call).__await__()


class endpoint(Generic[P, T]):  # lower case: used as a decorator, like `property`
    def __init__(self, build: Callable[Concatenate[Any, P], Call[T]]) -> None:
        self._build = build
        self.__doc__ = build.__doc__
        self.__name__ = build.__name__

    @overload
    def __get__(self, obj: None, owner: type[Any]) -> endpoint[P, T]: ...
    @overload
    def __get__(self, obj: Namespace[Sync], owner: type[Any]) -> Callable[P, T]: ...
    @overload
    def __get__(self, obj: Namespace[Async], owner: type[Any]) -> Callable[P, Awaitable[T]]: ...

    def __get__(self, obj: Namespace[Any] | None, owner: type[Any]) -> Any:
        if obj is None:
            return self
        build = self._build
        core = obj._core
        if inspect.iscoroutinefunction(core.execute):
            lazy: Any = core

            def bound(*args: P.args, **kwargs: P.kwargs) -> Any:
                return Pending(lazy, build(obj, *args, **kwargs))
        else:

            def bound(*args: P.args, **kwargs: P.kwargs) -> Any:
                return core.execute(build(obj, *args, **kwargs))

        bound.__name__ = self.__name__
        bound.__doc__ = self.__doc__
        return bound
