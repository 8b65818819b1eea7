"""A synchronous facade over the async client, for scripts and notebooks::

    from openrouter_async.sync import OpenRouter
    import openrouter_async as ora

    with OpenRouter() as client:
        done = client.chat.completions.create(model="openai/gpt-4o-mini", messages=[...])
        with client.chat.completions.stream(model=..., messages=[...]) as stream:
            for event in stream:
                if isinstance(event, ora.TextDelta):
                    print(event.text, end="")

Why it is built this way: there is no second copy of the SDK. Each client runs the async core
on one private event loop in a thread of its own (:mod:`._sync._portal`), and every object here
is a thin facade that runs the async object's method of the same name on that loop and blocks
for the result (:mod:`._sync._facade`). Results, stream events and exceptions are the async
core's own objects; an exception raised on the loop thread is re-raised in the caller as the
same object, its traceback running through both threads.

Consequences worth knowing:

* It works where ``asyncio.run`` cannot: inside a running event loop (a Jupyter cell, a
  coroutine) the call just blocks that thread until the private loop answers.
* Any number of threads may share one client; the calls run concurrently on its loop.
* A stream is a plain iterator. Each ``next()`` runs one step of the async stream, so it still
  reads from the socket only when asked (backpressure, no read-ahead). ``break`` inside
  ``with``, ``close()``, an exception, or dropping the stream close its connection at once.
* Ctrl-C (``KeyboardInterrupt``) while a call blocks cancels the call on the loop and waits
  briefly for it to close its connection before the interrupt propagates (best effort: only
  the main thread receives signals).
* ``close()`` (or leaving ``with``) cancels calls still running in other threads (they raise
  ``ClientClosedError``), closes open streams and the pool, and ends the thread. A client
  garbage collected while open warns with a ``ResourceWarning`` and does the same; clients
  still open when the interpreter exits are closed then.
* Callbacks the core runs (hooks, ``on_progress``, ``on_tool_call``, sync tools) run outside
  the caller's thread. Tools run in the client's worker threads and may use the client, even close
  it (``close()`` never waits for a tool still running); a callback on the loop thread itself
  must not call the client (it would wait for itself, and raises ``RuntimeError``).
* ``session=`` is not accepted: an aiohttp session belongs to the loop that made it. For the
  same reason a client does not survive ``fork()``: in the child it raises
  ``ClientClosedError`` (instead of waiting forever for a thread that is not there).

Names the facade does not declare (a method added to the async core later) still work at run
time by the same rule (awaited, iterated, entered); type checkers see only the declared ones,
so a misspelt name stays an error.
"""

from __future__ import annotations

from importlib import import_module
from types import TracebackType
from typing import TYPE_CHECKING, Any

from ._client import ClientState
from ._client import OpenRouter as AsyncOpenRouter
from ._config import ClientConfig
from ._errors import ClientClosedError
from ._sync._facade import Facade, SyncIterator, arguments_of, calling, late, resource, same
from ._sync._portal import Portal

if TYPE_CHECKING:
    from ._sync._chat import Chat, ChatCompletions
    from ._sync._completions import Completions
    from ._sync._resources import (
        CreditsResource,
        Embeddings,
        Generations,
        KeyResource,
        Models,
        Providers,
    )
    from ._sync._runs import Batch, ToolRunStream
    from ._sync._streams import ChatStream, CompletionStream, ParsedChatStream

__all__ = [
    "Batch",
    "Chat",
    "ChatCompletions",
    "ChatStream",
    "CompletionStream",
    "Completions",
    "CreditsResource",
    "Embeddings",
    "Generations",
    "KeyResource",
    "Models",
    "OpenRouter",
    "ParsedChatStream",
    "Providers",
    "SyncIterator",
    "ToolRunStream",
]

# name -> module: the facades of the resources and streams load on first use, like the async
# ones, so importing this module costs no more than importing the package.
_LAZY = {
    "Batch": "._sync._runs",
    "Chat": "._sync._chat",
    "ChatCompletions": "._sync._chat",
    "ChatStream": "._sync._streams",
    "CompletionStream": "._sync._streams",
    "Completions": "._sync._completions",
    "CreditsResource": "._sync._resources",
    "Embeddings": "._sync._resources",
    "Generations": "._sync._resources",
    "KeyResource": "._sync._resources",
    "Models": "._sync._resources",
    "ParsedChatStream": "._sync._streams",
    "Providers": "._sync._resources",
    "ToolRunStream": "._sync._runs",
}


def __getattr__(name: str) -> Any:
    module = _LAZY.get(name)
    if module is None:
        raise AttributeError(f"module {__name__!r} has no attribute {name!r}")
    value = getattr(import_module(module, __package__), name)
    globals()[name] = value
    return value


def __dir__() -> list[str]:
    return sorted(__all__)


def _chat() -> type[Chat]:
    return __getattr__("Chat")  # type: ignore[no-any-return]


def _completions() -> type[Completions]:
    return __getattr__("Completions")  # type: ignore[no-any-return]


def _models() -> type[Models]:
    return __getattr__("Models")  # type: ignore[no-any-return]


def _generations() -> type[Generations]:
    return __getattr__("Generations")  # type: ignore[no-any-return]


def _providers() -> type[Providers]:
    return __getattr__("Providers")  # type: ignore[no-any-return]


def _credits() -> type[CreditsResource]:
    return __getattr__("CreditsResource")  # type: ignore[no-any-return]


def _key() -> type[KeyResource]:
    return __getattr__("KeyResource")  # type: ignore[no-any-return]


def _embeddings() -> type[Embeddings]:
    return __getattr__("Embeddings")  # type: ignore[no-any-return]


def _batch() -> type[Batch]:
    return __getattr__("Batch")  # type: ignore[no-any-return]


def _derived(portal: Portal, inner: AsyncOpenRouter) -> OpenRouter:
    """The facade of a client made by ``with_options``: same loop, same pool."""
    client = object.__new__(OpenRouter)
    Facade.__init__(client, portal, inner)
    client._owns_loop = False
    return client


class OpenRouter(Facade[AsyncOpenRouter]):
    """Synchronous client for the OpenRouter API: ``with OpenRouter() as client:``.

    Takes the arguments of :class:`openrouter_async.OpenRouter` (its signature is that one's)
    except ``session``. Owns a private event loop thread, stopped by :meth:`close` (or leaving
    ``with``).
    """

    @arguments_of(AsyncOpenRouter.__init__, without="session")
    def __init__(self, **options: Any) -> None:
        if "session" in options:
            raise TypeError(
                "session= is not supported by the synchronous client: an aiohttp session "
                "belongs to the event loop that made it, and this client runs its own"
            )
        # Built here, not on the loop: construction does no I/O and validates the settings,
        # so a bad argument raises before any thread exists.
        client = AsyncOpenRouter(**options)
        super().__init__(Portal(closer=client.aclose, owner="OpenRouter client"), client)
        self._owns_loop = True

    chat = resource(late(_chat))
    completions = resource(late(_completions))
    models = resource(late(_models))
    generations = resource(late(_generations))
    providers = resource(late(_providers))
    credits = resource(late(_credits))
    key = resource(late(_key))
    embeddings = resource(late(_embeddings))
    batch = calling(AsyncOpenRouter.batch, late(_batch))
    with_options = calling(AsyncOpenRouter.with_options, _derived)
    add_hook = calling(AsyncOpenRouter.add_hook, same)
    remove_hook = calling(AsyncOpenRouter.remove_hook, same)

    @property
    def state(self) -> ClientState:
        return ClientState.CLOSED if self._portal.closed else self._inner.state

    @property
    def base_url(self) -> str:
        return self._inner.base_url

    @property
    def config(self) -> ClientConfig:
        return self._inner.config

    def __repr__(self) -> str:
        return f"sync.OpenRouter(base_url={self.base_url!r}, state={self.state.value})"

    def __enter__(self) -> OpenRouter:
        if self.state is ClientState.CLOSED:
            raise ClientClosedError("This OpenRouter client is closed; create a new one")
        return self

    def __exit__(
        self,
        exc_type: type[BaseException] | None,
        exc: BaseException | None,
        tb: TracebackType | None,
    ) -> None:
        self.close()

    def close(self) -> None:
        """Close open streams and the connection pool, and stop the loop thread (idempotent).

        Calls still running in other threads are cancelled and raise ``ClientClosedError``.
        A client made by :meth:`with_options` only marks itself closed: the pool and the
        thread belong to the client it came from.
        """
        if self._owns_loop:
            self._portal.stop()
        elif not self._portal.closed:
            self._portal.run(self._inner.aclose)
