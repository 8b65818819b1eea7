"""``ChatProcessor``: a callable class for ``Dataset.map_batches`` that answers rows with chat.

Why it is built this way:

* **One client per actor, made in the actor.** Ray pickles the processor's arguments, never a
  client: the ``OpenRouter`` client (and its connection pool) is created on the first batch,
  inside the event loop Ray Data runs async callables on, and serves every later batch of
  that actor. ``__call__`` is a coroutine, so Ray Data can run several batches of one actor at
  once on that loop while the rows of each run concurrently under one ``concurrency`` bound.
* **The SDK's one retry engine.** Each attempt is ``chat.completions.create(...,
  max_retries=0)`` inside ``_retry.Retrier.run``, which decides (from where the request failed
  and the status) what may be sent again and when; the attempt itself takes a permit from the
  cluster budget first, so retries pass through it too, and a 429 is told to the
  :class:`ClusterLimiter` (pausing every worker) before anyone sends again.
* **A row never fails the job.** Whatever a row raises (a bad request, a 4xx, retries run
  out, a bug in ``request_fn``) becomes that row's error columns; a row whose request is
  invalid is never sent (``attempts`` 0). Only a misconfiguration that concerns every row
  (no prompt or messages column at all) raises.
"""

from __future__ import annotations

import asyncio
import contextlib
import os
import time
import uuid
from collections.abc import Callable, Mapping
from typing import TYPE_CHECKING, Any

import attrs
import pyarrow as pa

from .._backoff import asks_to_slow_down
from .._config import PoolLimits, RetryPolicy, Timeouts
from .._errors import RequestValidationError
from .._ratelimit import estimate_prompt_tokens
from .._retry import Retrier
from ._grants import GrantBook
from ._limiter import ClusterLimiter
from ._permits import Book, LocalBook, Permits

if TYPE_CHECKING:
    from .._client import OpenRouter
    from ..types.chat_request import ChatRequest
    from ..types.responses import ChatCompletion

__all__ = ["RESULT_COLUMNS", "ChatProcessor"]

#: The columns a processor appends to each batch (after ``prefix``), with their Arrow types.
RESULT_COLUMNS: tuple[tuple[str, Any], ...] = (
    ("content", pa.string()),
    ("finish_reason", pa.string()),
    ("prompt_tokens", pa.int64()),
    ("completion_tokens", pa.int64()),
    ("cost", pa.float64()),
    ("generation_id", pa.string()),
    ("attempts", pa.int64()),
    ("latency", pa.float64()),
    ("error_type", pa.string()),
    ("error_status", pa.int64()),
    ("error_code", pa.string()),
    ("error_message", pa.string()),
)


@attrs.frozen(kw_only=True)
class _Outcome:
    content: str | None = None
    finish_reason: str | None = None
    prompt_tokens: int | None = None
    completion_tokens: int | None = None
    cost: float | None = None
    generation_id: str | None = None
    attempts: int = 0
    latency: float = 0.0
    error_type: str | None = None
    error_status: int | None = None
    error_code: str | None = None
    error_message: str | None = None


def _error_outcome(exc: BaseException, attempts: int, latency: float) -> _Outcome:
    if isinstance(exc, RequestValidationError):
        message = str(exc)  # names the field path
    else:
        message = getattr(exc, "message", None) or str(exc) or type(exc).__name__
    status = getattr(exc, "status_code", None)
    code = getattr(exc, "code", None)
    return _Outcome(
        attempts=attempts,
        latency=latency,
        error_type=type(exc).__name__,
        error_status=status if isinstance(status, int) else None,
        error_code=None if code is None else str(code),
        error_message=message,
    )


def _without_nones(message: Any) -> Any:
    # Arrow gives every struct the union of the fields of all rows, absent ones as None.
    if isinstance(message, Mapping):
        return {k: v for k, v in message.items() if v is not None}
    return message


class ChatProcessor:
    """Answer each row of a batch with a chat completion; use with ``Dataset.map_batches``.

    ``ds.map_batches(ChatProcessor, fn_constructor_kwargs={...}, batch_format="pyarrow",
    concurrency=N, num_cpus=0.25)`` runs N actors, each with one client. Batches may be
    ``pyarrow.Table`` or ``pandas.DataFrame`` (the same kind comes back): every input column
    plus :data:`RESULT_COLUMNS` (``content``, ``finish_reason``, ``prompt_tokens``,
    ``completion_tokens``, ``cost``, ``generation_id``, ``attempts``, ``latency``,
    ``error_type``, ``error_status``, ``error_code``, ``error_message``), each name preceded by
    ``prefix``. A row is ok when ``error_type`` is null.

    The request of a row is ``request_fn(row)`` (a mapping of ``create()`` fields) when given;
    otherwise its ``messages_column`` (a list of messages) or else its ``prompt_column`` (one
    user message, after ``system`` if set), with ``defaults`` (e.g. ``max_tokens``) and
    ``model`` (the row's ``model`` column wins). ``limiter`` is a :class:`ClusterLimiter` or its
    name; without one, each actor pauses only its own rows on a 429. ``concurrency`` bounds
    the requests in flight per actor; ``retry`` (default ``RetryPolicy()``) the attempts per
    row. ``api_key`` and ``base_url`` default to ``OPENROUTER_API_KEY`` /
    ``OPENROUTER_BASE_URL`` in the worker's environment; ``client_options`` go to
    ``OpenRouter(...)``.
    """

    def __init__(
        self,
        *,
        model: str | None = None,
        prompt_column: str = "prompt",
        messages_column: str = "messages",
        system: str | None = None,
        defaults: Mapping[str, Any] | None = None,
        request_fn: Callable[[dict[str, Any]], Mapping[str, Any]] | None = None,
        limiter: ClusterLimiter | str | None = None,
        concurrency: int = 16,
        retry: RetryPolicy | None = None,
        timeout: Timeouts | float | None = None,
        api_key: str | None = None,
        base_url: str | None = None,
        client_options: Mapping[str, Any] | None = None,
        prefix: str = "",
    ) -> None:
        if isinstance(concurrency, bool) or not isinstance(concurrency, int) or concurrency < 1:
            raise ValueError(f"concurrency must be an integer >= 1, got {concurrency!r}")
        self.model = model
        self.prompt_column = prompt_column
        self.messages_column = messages_column
        self.system = system
        self.defaults = dict(defaults or {})
        self.request_fn = request_fn
        self.concurrency = concurrency
        self.retry = retry if retry is not None else RetryPolicy()
        self.timeout = timeout
        self.prefix = prefix
        self._limiter = limiter
        self._api_key = api_key
        self._base_url = base_url
        self._client_options = dict(client_options or {})
        self._client: OpenRouter | None = None
        self._permits: Permits | None = None
        self._slots: asyncio.Semaphore | None = None
        self._loop: asyncio.AbstractEventLoop | None = None

    def __repr__(self) -> str:  # never shows the key
        return f"ChatProcessor(model={self.model!r}, concurrency={self.concurrency})"

    # -- per actor -------------------------------------------------------------------------

    def _start(self) -> None:
        """Client, permits and the in-flight bound, made on the first batch in the actor's
        event loop (they belong to it)."""
        if self._client is not None:
            return
        from .._client import OpenRouter

        options: dict[str, Any] = {"limits": PoolLimits(total=max(100, self.concurrency))}
        options.update(self._client_options)
        base_url = self._base_url or os.environ.get("OPENROUTER_BASE_URL")
        if base_url:
            options["base_url"] = base_url
        limiter = self._limiter
        book: Book
        if limiter is None:
            book = LocalBook(GrantBook())
        else:
            handle = limiter if isinstance(limiter, ClusterLimiter) else ClusterLimiter.get(limiter)
            book = handle.book()
        self._loop = asyncio.get_running_loop()
        self._permits = Permits(book, f"{os.getpid()}-{uuid.uuid4().hex[:8]}")
        self._slots = asyncio.Semaphore(self.concurrency)
        self._client = OpenRouter(api_key=self._api_key, **options)

    async def aclose(self) -> None:
        """Close the client and release this actor's permits (for use outside Ray Data)."""
        if self._permits is not None:
            await self._permits.aclose()
        if self._client is not None:
            await self._client.aclose()
        self._client = self._permits = self._slots = None

    def __del__(self) -> None:
        # Ray Data drops the processor when it retires an actor gracefully (never on a kill):
        # close the connections and hand this actor's permits back to the limiter, on the
        # loop they belong to, which is still running in its own thread.
        loop = getattr(self, "_loop", None)  # None too if __init__ raised
        if (
            getattr(self, "_client", None) is None
            or loop is None
            or loop.is_closed()
            or not loop.is_running()
        ):
            return
        try:
            asyncio.get_running_loop()
        except RuntimeError:
            pass
        else:
            return  # called on a loop thread: waiting here could deadlock
        with contextlib.suppress(Exception):
            asyncio.run_coroutine_threadsafe(self.aclose(), loop).result(timeout=5)

    # -- a batch ---------------------------------------------------------------------------

    async def __call__(self, batch: Any) -> Any:
        as_pandas = not isinstance(batch, pa.Table)
        if as_pandas:
            if not hasattr(batch, "to_dict"):
                raise TypeError(
                    "ChatProcessor takes pyarrow or pandas batches: use "
                    "map_batches(..., batch_format='pyarrow')"
                )
            table = pa.Table.from_pandas(batch, preserve_index=False)
        else:
            table = batch
        names = set(table.column_names)
        if self.request_fn is None and not {self.prompt_column, self.messages_column} & names:
            raise ValueError(
                f"the batch has neither a {self.prompt_column!r} nor a {self.messages_column!r} "
                "column; name yours with prompt_column= / messages_column=, or pass request_fn="
            )
        clashes = names & {self.prefix + name for name, _ in RESULT_COLUMNS}
        if clashes:
            raise ValueError(
                f"the batch already has result column(s) {sorted(clashes)}; pass prefix="
            )
        self._start()
        outcomes = await asyncio.gather(*(self._row(row) for row in table.to_pylist()))
        for name, kind in RESULT_COLUMNS:
            values = [getattr(outcome, name) for outcome in outcomes]
            table = table.append_column(pa.field(self.prefix + name, kind), pa.array(values, kind))
        return table.to_pandas() if as_pandas else table

    def _request(self, row: dict[str, Any]) -> ChatRequest:
        from ..types.chat_request import coerce_chat_request

        if self.request_fn is not None:
            fields = dict(self.request_fn(row))
        else:
            fields = dict(self.defaults)
            messages = row.get(self.messages_column)
            if messages is not None:
                fields["messages"] = [_without_nones(m) for m in messages]
            else:
                prompt = row.get(self.prompt_column)
                if not isinstance(prompt, str):
                    raise RequestValidationError(
                        f"must be a string, got {type(prompt).__name__}", path=self.prompt_column
                    )
                fields["messages"] = [{"role": "user", "content": prompt}]
                if self.system is not None:
                    fields["messages"].insert(0, {"role": "system", "content": self.system})
            if row.get("model") is not None:
                fields["model"] = row["model"]
        if fields.get("model") is None and self.model is not None:
            fields["model"] = self.model
        request = coerce_chat_request(fields)
        if request.stream:
            raise RequestValidationError("rows are answered whole; streaming is off", path="stream")
        return request

    async def _row(self, row: dict[str, Any]) -> _Outcome:
        try:
            request = self._request(row)
        except Exception as exc:  # the row's own fault: never sent
            return _error_outcome(exc, 0, 0.0)
        slots = self._slots
        assert slots is not None
        async with slots:
            return await self._send(request)

    async def _send(self, request: ChatRequest) -> _Outcome:
        client, permits = self._client, self._permits
        assert client is not None
        assert permits is not None
        prompt_tokens = estimate_prompt_tokens(request.messages)
        max_tokens = request.max_completion_tokens or request.max_tokens
        # The SDK's one retry engine decides what is sent again and when; each attempt first
        # takes a permit from the cluster budget, and a throttled answer pauses everyone.
        retrier = Retrier(self.retry, deadline=None, describe="ray row")
        first_sent: float | None = None

        async def attempt() -> ChatCompletion:
            nonlocal first_sent
            permit = await permits.acquire(prompt_tokens, max_tokens)
            if first_sent is None:
                first_sent = time.monotonic()
            try:
                completion = await client.chat.completions.create(
                    request, max_retries=0, timeout=self.timeout
                )
            except BaseException as exc:
                permits.failed(permit)
                if asks_to_slow_down(exc):
                    retry_after = getattr(exc, "retry_after", None)
                    asked = retry_after if retry_after is not None else self.retry.initial_backoff
                    await permits.throttled(min(float(asked), self.retry.max_retry_after))
                raise
            usage = completion.usage
            permits.done(
                permit,
                usage.total_tokens if usage is not None else None,
                usage.completion_tokens if usage is not None else None,
            )
            return completion

        try:
            completion = await retrier.run(attempt)
        except Exception as exc:
            latency = time.monotonic() - first_sent if first_sent is not None else 0.0
            return _error_outcome(exc, retrier.attempt + 1, latency)
        assert first_sent is not None
        usage = completion.usage
        choice = completion.choices[0] if completion.choices else None
        return _Outcome(
            content=choice.message.content if choice is not None else None,
            finish_reason=choice.finish_reason if choice is not None else None,
            prompt_tokens=usage.prompt_tokens if usage is not None else None,
            completion_tokens=usage.completion_tokens if usage is not None else None,
            cost=usage.cost if usage is not None else None,
            generation_id=completion.id or None,
            attempts=retrier.attempt + 1,
            latency=time.monotonic() - first_sent,
        )
