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

from types import TracebackType
from typing import Any, TypeVar

from ._batch import Batch as AsyncBatch
from ._batch import BatchResult
from ._chat import Chat as AsyncChat
from ._chat import ChatCompletions as AsyncChatCompletions
from ._client import ClientState
from ._client import OpenRouter as AsyncOpenRouter
from ._config import ClientConfig
from ._errors import ClientClosedError
from ._resources.account import CreditsResource as AsyncCredits
from ._resources.account import KeyResource as AsyncKey
from ._resources.completions import Completions as AsyncCompletions
from ._resources.completions import CompletionStream as AsyncCompletionStream
from ._resources.embeddings import Embeddings as AsyncEmbeddings
from ._resources.generations import Generations as AsyncGenerations
from ._resources.models import Models as AsyncModels
from ._resources.providers import Providers as AsyncProviders
from ._streaming import ChatStream as AsyncChatStream
from ._streaming import Stream as AsyncStream
from ._sync._facade import (
    Bridge,
    Facade,
    SyncIterator,
    arguments_of,
    blocking,
    calling,
    forwarded,
    iterating,
    resource,
    same,
)
from ._sync._portal import Portal
from ._tool_loop import ToolRunEvent, ToolRunResult
from ._tool_loop import ToolRunStream as AsyncToolRunStream
from .types.events import StreamEvent
from .types.messages import Message
from .types.responses import ResponseInfo

E = TypeVar("E")
S = TypeVar("S", bound="AsyncStream[Any]")

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
    "Providers",
    "SyncIterator",
    "ToolRunStream",
]


# --------------------------------------------------------------------------- streams


class _StreamFacade(Bridge[S, E]):
    """What every stream has (see :class:`openrouter_async.ChatStream` for the semantics)."""

    response = forwarded[ResponseInfo | None]()
    closed = forwarded[bool]()
    buffered = forwarded[int]()
    generation_id = forwarded[str | None]()
    text_stream = forwarded[SyncIterator[str]]()
    partial = calling(AsyncStream.partial, same)
    get_final_completion = blocking(AsyncStream.get_final_completion)
    get_final_text = blocking(AsyncStream.get_final_text)
    until_done = blocking(AsyncStream.until_done)


class ChatStream(_StreamFacade[AsyncChatStream, StreamEvent]):
    """:class:`openrouter_async.ChatStream`, synchronously: ``for event in stream``,
    ``stream.text_stream``, ``stream.get_final_completion()``, ``stream.chunks()``."""

    chunks = iterating(AsyncChatStream.chunks)


class CompletionStream(_StreamFacade[AsyncCompletionStream, StreamEvent]):
    """A legacy text-completion stream, synchronously."""

    get_final_text_completion = blocking(AsyncCompletionStream.get_final_text_completion)


class ToolRunStream(Bridge[AsyncToolRunStream, ToolRunEvent]):
    """``with client.chat.stream_tools(...) as run: for event in run`` (see the async class)."""

    result = forwarded[ToolRunResult | None]()
    messages = forwarded[list[Message]]()
    text_stream = forwarded[SyncIterator[str]]()
    get_final_result = blocking(AsyncToolRunStream.get_final_result)


class Batch(Bridge[AsyncBatch, BatchResult]):
    """``with client.batch(requests, ...) as batch: for result in batch`` (see the async class).

    ``on_progress`` runs on the client's loop thread.
    """

    closed = forwarded[bool]()
    total = forwarded[int | None]()
    concurrency = forwarded[int]()
    ordered = forwarded[bool]()
    window = forwarded[int]()
    drain = calling(AsyncBatch.drain, same)
    snapshot = calling(AsyncBatch.snapshot, same)
    progress = iterating(AsyncBatch.progress)


# --------------------------------------------------------------------------- resources


class ChatCompletions(Facade[AsyncChatCompletions]):
    """``client.chat.completions``: ``create``, ``parse`` and ``stream``."""

    create = blocking(AsyncChatCompletions.create)
    parse = blocking(AsyncChatCompletions.parse)
    stream = calling(AsyncChatCompletions.stream, ChatStream)


class Chat(Facade[AsyncChat]):
    """``client.chat``: ``completions`` and the tool loop."""

    completions = resource(ChatCompletions)
    run_tools = blocking(AsyncChat.run_tools)
    stream_tools = calling(AsyncChat.stream_tools, ToolRunStream)


class Completions(Facade[AsyncCompletions]):
    """``client.completions`` (legacy text completions)."""

    create = blocking(AsyncCompletions.create)
    stream = calling(AsyncCompletions.stream, CompletionStream)


class Models(Facade[AsyncModels]):
    """``client.models``."""

    list = blocking(AsyncModels.list)
    iter = iterating(AsyncModels.iter)
    count = blocking(AsyncModels.count)
    endpoints = blocking(AsyncModels.endpoints)


class Generations(Facade[AsyncGenerations]):
    """``client.generations``."""

    get = blocking(AsyncGenerations.get)


class Providers(Facade[AsyncProviders]):
    """``client.providers``."""

    list = blocking(AsyncProviders.list)


class CreditsResource(Facade[AsyncCredits]):
    """``client.credits`` (needs a management key)."""

    get = blocking(AsyncCredits.get)


class KeyResource(Facade[AsyncKey]):
    """``client.key``."""

    get = blocking(AsyncKey.get)


class Embeddings(Facade[AsyncEmbeddings]):
    """``client.embeddings``."""

    create = blocking(AsyncEmbeddings.create)


# --------------------------------------------------------------------------- the client


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

    chat = resource(Chat)
    completions = resource(Completions)
    models = resource(Models)
    generations = resource(Generations)
    providers = resource(Providers)
    credits = resource(CreditsResource)
    key = resource(KeyResource)
    embeddings = resource(Embeddings)
    batch = calling(AsyncOpenRouter.batch, Batch)
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
