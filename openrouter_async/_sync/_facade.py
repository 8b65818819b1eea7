"""One generic bridge from the async core to blocking calls, plus typed declarations of it.

Why it is built this way: the synchronous facade must not be a second copy of the SDK. A
facade object wraps one object of the async core and a :class:`Portal`; whatever it is asked
for runs on the portal's loop thread and comes back adapted by one rule (:func:`adapt`):
awaitables are awaited there, async iterators become plain iterators, async context managers
become context managers, anything else (the typed results, events and errors) is the core's
own object. ``__getattr__`` applies that rule to any public name, so a method added to the
async core works through the facade at once.

The helpers below (:func:`blocking`, :func:`calling`, :func:`iterating`, :class:`forwarded`,
:class:`resource`, :func:`arguments_of`) only *declare* names with precise types for mypy and
editors: each is a one-line, ParamSpec-typed forwarder to the async method of the same name,
so signatures, defaults and docstrings come from the async core and cannot drift. :func:`late`
defers importing a facade class to its first use.
"""

from __future__ import annotations

import functools
import inspect
from collections.abc import AsyncIterator, Awaitable, Callable, Iterator
from types import TracebackType
from typing import TYPE_CHECKING, Any, Concatenate, Generic, ParamSpec, TypeVar, overload

from ._portal import Portal

__all__ = [
    "Bridge",
    "Facade",
    "SyncIterator",
    "adapt",
    "arguments_of",
    "blocking",
    "calling",
    "forwarded",
    "iterating",
    "late",
    "resource",
    "same",
]

A = TypeVar("A")
A_co = TypeVar("A_co", covariant=True)
E = TypeVar("E")
E_co = TypeVar("E_co", covariant=True)
T = TypeVar("T")
R = TypeVar("R")
W = TypeVar("W")
P = ParamSpec("P")
B = TypeVar("B", bound="Bridge[Any, Any]")


class _End:
    """Returned across the thread boundary instead of raising ``StopAsyncIteration``."""


_END = _End()


async def _next_or_end(iterator: Any) -> Any:
    try:
        return await anext(iterator)
    except StopAsyncIteration:
        return _END


class Facade(Generic[A_co]):
    """A synchronous view of one object of the async core, run on ``portal``'s loop."""

    def __init__(self, portal: Portal, inner: A_co) -> None:
        self._portal = portal
        self._inner = inner

    if not TYPE_CHECKING:  # hidden from type checkers, so a misspelt name is still an error

        def __getattr__(self, name: str) -> Any:
            # Only for names the facade does not declare: forwarded and adapted generically.
            if name.startswith("_"):
                raise AttributeError(name)
            portal = self._portal
            return adapt(portal, portal.read(self._inner, name))

    def __dir__(self) -> list[str]:
        public = (n for n in dir(self._inner) if not n.startswith("_"))
        return sorted({*super().__dir__(), *public})

    def __repr__(self) -> str:
        return f"<sync {self._inner!r}>"


class _Blocking:
    """A callable of the core, reached through ``__getattr__``: runs on the loop, blocks."""

    def __init__(self, portal: Portal, fn: Callable[..., Any]) -> None:
        self._portal = portal
        self._fn = fn
        functools.update_wrapper(self, fn)

    def __call__(self, *args: Any, **kwargs: Any) -> Any:
        portal = self._portal
        return adapt(portal, portal.invoke(self._fn, *args, **kwargs))


def adapt(portal: Portal, value: Any) -> Any:
    """The one rule: async context managers and iterators are bridged, callables block, and
    every other value (results, events, plain data) is returned as it is."""
    if value is None or isinstance(value, (str, bytes, int, float, tuple, list, dict, type)):
        return value  # data, and classes (which may define __aiter__ without being iterators)
    if hasattr(value, "__aenter__") or hasattr(value, "__aiter__"):
        if hasattr(value, "__aenter__") or not hasattr(value, "__anext__"):
            return Bridge(portal, value)
        return SyncIterator(portal, value)
    if inspect.isawaitable(value):
        return adapt(portal, portal.run(_identity, value))
    if callable(value):
        return _Blocking(portal, value)
    return value


async def _identity(awaitable: Awaitable[T]) -> T:
    return await awaitable


class Bridge(Facade[A_co], Generic[A_co, E_co]):
    """An async context manager and/or async iterator of the core, as a context manager and a
    plain iterator.

    Each ``next()`` runs one step of the async iterator on the loop (nothing is read ahead).
    ``close()``, leaving ``with``, and dropping the object unclosed all close it (and so its
    connection) at once; a closed client has closed it already.
    """

    def __init__(self, portal: Portal, inner: A_co) -> None:
        super().__init__(portal, inner)
        self._released = False
        if hasattr(inner, "aclose"):
            portal.register(inner)

    def __enter__(self: B) -> B:
        enter = getattr(self._inner, "__aenter__", None)
        if enter is not None:
            self._portal.run(enter)
        return self

    def __exit__(
        self,
        exc_type: type[BaseException] | None,
        exc: BaseException | None,
        tb: TracebackType | None,
    ) -> None:
        exit_ = getattr(self._inner, "__aexit__", None)
        if exit_ is None:
            self.close()
            return
        self._released = True
        if not self._portal.closed:  # else the client's close() has closed it
            self._portal.run(exit_, exc_type, exc, tb)

    def close(self) -> None:
        """Close now (idempotent)."""
        self._released = True
        aclose = getattr(self._inner, "aclose", None)
        if aclose is not None and not self._portal.closed:
            self._portal.run(aclose)

    def __iter__(self) -> Iterator[E_co]:
        inner: Any = self._inner
        if hasattr(inner, "__anext__"):
            return self  # the object is its own iterator (streams)
        return SyncIterator(self._portal, self._portal.call(aiter, inner))

    def __next__(self) -> E_co:
        item = self._portal.run(_next_or_end, self._inner)
        if item is _END:
            raise StopIteration
        return item  # type: ignore[no-any-return]

    def __del__(self) -> None:
        # Dropped without close(): close on the loop without waiting (never block a finalizer).
        inner: Any = getattr(self, "_inner", None)
        if inner is None or getattr(self, "_released", True) or getattr(inner, "closed", False):
            return
        aclose = getattr(inner, "aclose", None)
        if aclose is not None:
            self._portal.submit(aclose)


class SyncIterator(Bridge[AsyncIterator[T], T]):
    """A plain iterator over an async iterator of the core (``for text in s.text_stream``)."""


# --------------------------------------------------------------------------- declarations


def blocking(
    method: Callable[Concatenate[A, P], Awaitable[T]],
) -> Callable[Concatenate[Facade[A], P], T]:
    """Declare the blocking twin of the coroutine method ``method`` (same name, same signature)."""
    name = method.__name__

    @functools.wraps(method)
    def call(self: Facade[A], /, *args: P.args, **kwargs: P.kwargs) -> T:
        result: T = self._portal.run(getattr(self._inner, name), *args, **kwargs)
        return result

    return call


def calling(
    method: Callable[Concatenate[A, P], R], wrap: Callable[[Portal, R], W]
) -> Callable[Concatenate[Facade[A], P], W]:
    """Declare a plain method run on the loop thread, its result wrapped by ``wrap``."""
    name = method.__name__

    @functools.wraps(method)
    def call(self: Facade[A], /, *args: P.args, **kwargs: P.kwargs) -> W:
        portal = self._portal
        return wrap(portal, portal.call(getattr(self._inner, name), *args, **kwargs))

    return call


def arguments_of(
    init: Callable[Concatenate[Any, P], None], *, without: str
) -> Callable[[Callable[..., None]], Callable[Concatenate[Any, P], None]]:
    """Declare an ``__init__(self, **options)`` as taking ``init``'s arguments: its type (for
    mypy) and its ``inspect`` signature are ``init``'s, the latter without ``without``."""
    signature = inspect.signature(init)
    parameters = [p for name, p in signature.parameters.items() if name != without]

    def declare(fn: Callable[..., None]) -> Callable[Concatenate[Any, P], None]:
        fn.__signature__ = signature.replace(parameters=parameters)  # type: ignore[attr-defined]
        return fn

    return declare


def late(load: Callable[[], Callable[[Portal, Any], W]]) -> Callable[[Portal, Any], W]:
    """A ``wrap`` whose class is imported on first use: ``load()`` returns it. Keeps
    ``import openrouter_async.sync`` as light as ``import openrouter_async`` (the async client
    loads its resources and the stream machinery on first use too)."""

    def wrap(portal: Portal, inner: Any) -> W:
        return load()(portal, inner)

    return wrap


def same(_portal: Portal, value: T) -> T:
    """``wrap`` for :func:`calling` when the result is a plain value."""
    return value


def iterating(
    method: Callable[Concatenate[A, P], AsyncIterator[T]],
) -> Callable[Concatenate[Facade[A], P], SyncIterator[T]]:
    """Declare a method returning an async iterator as one returning a plain iterator."""
    return calling(method, SyncIterator)


class forwarded(Generic[T]):  # lower case: used like @property
    """Declare an attribute read (on the loop thread) from the async object and adapted."""

    def __set_name__(self, owner: type, name: str) -> None:
        self._name = name

    @overload
    def __get__(self, obj: None, owner: type) -> forwarded[T]: ...
    @overload
    def __get__(self, obj: Facade[Any], owner: type) -> T: ...
    def __get__(self, obj: Facade[Any] | None, owner: type) -> forwarded[T] | T:
        if obj is None:
            return self
        portal = obj._portal
        return adapt(portal, portal.read(obj._inner, self._name))  # type: ignore[no-any-return]


class resource(Generic[W]):  # used like functools.cached_property
    """Declare a sub-resource: the async object's attribute of the same name, wrapped in
    ``cls`` once and then cached on the facade."""

    def __init__(self, cls: Callable[[Portal, Any], W]) -> None:
        self._cls = cls

    def __set_name__(self, owner: type, name: str) -> None:
        self._name = name

    @overload
    def __get__(self, obj: None, owner: type) -> resource[W]: ...
    @overload
    def __get__(self, obj: Facade[Any], owner: type) -> W: ...
    def __get__(self, obj: Facade[Any] | None, owner: type) -> resource[W] | W:
        if obj is None:
            return self
        portal = obj._portal
        value = self._cls(portal, portal.call(getattr, obj._inner, self._name))
        obj.__dict__[self._name] = value  # a non-data descriptor: the instance wins next time
        return value
