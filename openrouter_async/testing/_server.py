"""The Emulator: a real aiohttp.web server on loopback speaking OpenRouter's wire protocol.

This module holds the public object (lifecycle, fault scripting, observation helpers, the
generation store); routing and the per-request wrapper live in ``_app``. ``stop()`` cancels
the handlers still running (open streams included) before tearing the runner down, so no
task, socket or transport outlives it.
"""

from __future__ import annotations

import asyncio
import contextlib
import importlib
import json
import random
import string
import time
from collections import deque
from collections.abc import Callable, Iterable, Sequence
from decimal import Decimal
from types import TracebackType
from typing import Any, TypeVar

from aiohttp import web

from ._app import API_PREFIX, make_app
from ._catalog import ModelEntry
from ._context import Ctx
from ._faults import (
    Fault,
    FaultRule,
    FaultSpecError,
    HTTPError,
    coerce_faults,
    fault_name,
    parse_faults,
)
from ._generations import generation_data
from ._models import Knobs, Plan, split_model
from ._output import StreamOutcome
from ._records import RequestRecord

__all__ = ["API_PREFIX", "INFERENCE_ENDPOINTS", "Emulator", "run_emulator"]

INFERENCE_ENDPOINTS = ("/chat/completions", "/completions", "/embeddings")

_T = TypeVar("_T")
_ScriptStep = Fault | str | Sequence[Fault] | None


def _path_matches(pattern: str | None, endpoint: str) -> bool:
    if pattern is None:
        return endpoint in INFERENCE_ENDPOINTS
    if pattern == "*":
        return True
    if pattern.startswith(API_PREFIX):
        pattern = pattern[len(API_PREFIX) :]
    return endpoint == pattern


class Emulator:
    """An OpenRouter emulator on ``http://127.0.0.1:<ephemeral port>/api/v1``.

    ``api_key``: the accepted bearer key (by default only ``"test-key"``; any other key gets
    401 "User not found."); ``None`` accepts any non-empty key.
    ``management_keys``: keys that may call ``GET /credits`` (also accepted everywhere); other
    keys get 403 there, as on OpenRouter.
    ``deterministic``: fixed ``created`` (``created`` arg) and sequential generation ids
    ``gen-<created>-emu000001``… so streams are byte-for-byte reproducible.
    ``lorem_tokens``/``tokens_per_second``/``first_token_latency``/``processing_comments``/
    ``processing_interval``: defaults of the per-request knobs (see ``Knobs``).
    ``coalesce``: send each response body in one write instead of one write per event.
    ``max_body_bytes``: larger request bodies get 413. ``generation_lag``: seconds during which
    ``GET /generation`` still 404s a finished generation. ``shutdown_timeout``: how long
    ``stop()`` waits for cancelled handlers.
    """

    def __init__(
        self,
        api_key: str | None = "test-key",
        *,
        host: str = "127.0.0.1",
        port: int = 0,
        management_keys: Iterable[str] = ("test-management-key",),
        deterministic: bool = False,
        created: int = 1_760_000_000,
        lorem_tokens: int = 16,
        tokens_per_second: float | None = None,
        first_token_latency: float = 0.0,
        processing_comments: int = 1,
        processing_interval: float = 0.0,
        coalesce: bool = False,
        max_body_bytes: int = 8 * 1024 * 1024,
        generation_lag: float = 0.0,
        credits: float = 100.0,
        user_id: str = "user_emulator",
        shutdown_timeout: float = 1.0,
    ) -> None:
        self.api_key = api_key
        self.host = host
        self.management_keys = frozenset(management_keys)
        self.deterministic = deterministic
        self.created = created
        self.knobs = Knobs(
            tokens=lorem_tokens,
            tps=tokens_per_second,
            latency=first_token_latency,
            comments=processing_comments,
            interval=processing_interval,
        )
        self.coalesce = coalesce
        self.max_body_bytes = max_body_bytes
        self.generation_lag = generation_lag
        self.credits = credits
        self.user_id = user_id
        self.shutdown_timeout = shutdown_timeout
        #: every request received, in arrival order
        self.requests: list[RequestRecord] = []
        self._requested_port = port
        self._port: int | None = None
        self._runner: web.AppRunner | None = None
        self._stopping = False
        self._tasks: set[asyncio.Task[Any]] = set()
        self._waiters: list[asyncio.Future[None]] = []
        self._rules: list[FaultRule] = []
        self._script: deque[tuple[str | None, tuple[Fault, ...]]] = deque()
        self._attempts: dict[str, int] = {}
        self._generations: dict[str, tuple[float, dict[str, Any]]] = {}
        self._seq = 0

    # --- lifecycle -----------------------------------------------------------------------

    @property
    def running(self) -> bool:
        return self._runner is not None

    @property
    def port(self) -> int:
        if self._port is None:
            raise RuntimeError("the emulator is not started")
        return self._port

    @property
    def url(self) -> str:
        """``http://127.0.0.1:PORT`` (no path)."""
        return f"http://{self.host}:{self.port}"

    @property
    def base_url(self) -> str:
        """``http://127.0.0.1:PORT/api/v1``: what to give a client as ``base_url``."""
        return self.url + API_PREFIX

    async def start(self) -> None:
        if self._runner is not None:
            raise RuntimeError("the emulator is already started")
        runner = web.AppRunner(
            self._make_app(),
            handle_signals=False,
            access_log=None,
            handler_cancellation=True,
            shutdown_timeout=self.shutdown_timeout,
        )
        await runner.setup()
        try:
            site = web.TCPSite(runner, self.host, self._requested_port)
            await site.start()
            self._port = int(runner.addresses[0][1])
        except BaseException:
            await runner.cleanup()
            raise
        self._runner = runner

    async def stop(self) -> None:
        """Stop serving: cancel open handlers (streams included), close every connection."""
        runner, self._runner = self._runner, None
        if runner is None:
            return
        self._stopping = True
        try:
            tasks = [t for t in self._tasks if not t.done()]
            for task in tasks:
                task.cancel()
            if tasks:
                await asyncio.wait(tasks, timeout=self.shutdown_timeout)
            await runner.cleanup()
        finally:
            self._stopping = False
            self._notify()

    async def __aenter__(self) -> Emulator:
        await self.start()
        return self

    async def __aexit__(
        self,
        exc_type: type[BaseException] | None,
        exc: BaseException | None,
        tb: TracebackType | None,
    ) -> None:
        await self.stop()

    async def serve_forever(self) -> None:
        """Start (if needed) and serve until cancelled; always stops cleanly."""
        if not self.running:
            await self.start()
        try:
            await asyncio.get_running_loop().create_future()
        finally:
            await self.stop()

    def client(self, api_key: str | None = None, **kwargs: Any) -> Any:
        """An ``openrouter_async.OpenRouter`` pointed at this emulator (import is lazy).

        ``api_key`` defaults to the accepted key; pass one of ``management_keys``
        (``"test-management-key"``) for a client that may call ``credits.get()``.
        """
        module = importlib.import_module("openrouter_async._client")
        if api_key is None:
            api_key = self.api_key if self.api_key is not None else "emulator-any-key"
        return module.OpenRouter(api_key=api_key, base_url=self.base_url, **kwargs)

    # --- faults --------------------------------------------------------------------------

    def add_fault(
        self,
        *faults: Fault | str,
        path: str | None = None,
        model: str | None = None,
        times: int | None = None,
    ) -> FaultRule:
        """Apply ``faults`` (values or spec strings) to every matching request.

        ``path``: endpoint such as ``"/chat/completions"`` (default: the inference endpoints;
        ``"*"``: all). ``model``: base model id. ``times``: stop after that many requests.
        """
        parsed: list[Fault] = []
        for fault in faults:
            parsed.extend(coerce_faults(fault))
        rule = FaultRule(tuple(parsed), path=path, model=model, times=times)
        self._rules.append(rule)
        return rule

    def fail_next(
        self,
        n: int = 1,
        status: int = 429,
        *,
        retry_after: float | None = None,
        message: str | None = None,
        path: str | None = None,
    ) -> FaultRule:
        """The next ``n`` matching requests get an HTTP ``status`` error (then normal service)."""
        return self.add_fault(
            HTTPError(status, retry_after=retry_after, message=message), path=path, times=n
        )

    def script(self, *steps: _ScriptStep, path: str | None = None) -> None:
        """Queue per-request fault sets: the next matching request gets ``steps[0]``, etc.

        A step is a fault, a spec string, a sequence of faults, or ``None`` (served normally).
        """
        for step in steps:
            self._script.append((path, coerce_faults(step)))

    def remove_fault(self, rule: FaultRule) -> None:
        if rule in self._rules:
            self._rules.remove(rule)

    def clear_faults(self) -> None:
        """Drop every rule and queued script step, and forget fail-first attempt counts."""
        self._rules.clear()
        self._script.clear()
        self._attempts.clear()

    @property
    def faults(self) -> list[FaultRule]:
        """The active fault rules."""
        return [r for r in self._rules if not r.exhausted]

    def reset(self) -> None:
        """Forget requests, generations and faults (the server keeps running)."""
        self.requests.clear()
        self._generations.clear()
        self.clear_faults()

    def _resolve_faults(self, ctx: Ctx, body: dict[str, Any] | None) -> None:
        endpoint = ctx.record.endpoint
        model: str | None = None
        suffix: str | None = None
        if body is not None and isinstance(body.get("model"), str):
            model, _, suffix = split_model(body["model"])
        faults: list[Fault] = []
        if self._script and _path_matches(self._script[0][0], endpoint):
            faults.extend(self._script.popleft()[1])
        for rule in self._rules:
            if rule.exhausted or not _path_matches(rule.path, endpoint):
                continue
            if rule.model is not None and rule.model != model:
                continue
            rule.hits += 1
            faults.extend(rule.faults)
        self._rules = [r for r in self._rules if not r.exhausted]
        specs = [ctx.request.headers.get("X-Emulator-Fault"), suffix]
        extra = body.get("emulator") if body is not None else None
        if isinstance(extra, dict) and isinstance(extra.get("fault"), str):
            specs.append(extra["fault"])
        try:
            for spec in specs:
                if spec:
                    faults.extend(parse_faults(spec))
        except FaultSpecError as exc:
            raise ctx.error(400, f"emulator fault spec: {exc}") from None
        ctx.faults = tuple(faults)
        ctx.record.faults = tuple(fault_name(f) for f in faults)

    # --- observation ---------------------------------------------------------------------

    @property
    def last_request(self) -> RequestRecord | None:
        return self.requests[-1] if self.requests else None

    @property
    def generations(self) -> dict[str, dict[str, Any]]:
        """Recorded generations by id (the ``data`` of ``GET /generation``), lag ignored."""
        return {gid: data for gid, (_, data) in self._generations.items()}

    @property
    def total_usage(self) -> float:
        total = sum(
            (Decimal(str(d["total_cost"])) for _, d in self._generations.values()), start=Decimal(0)
        )
        return float(total)

    def _notify(self) -> None:
        waiters, self._waiters = self._waiters, []
        for fut in waiters:
            if not fut.done():
                fut.set_result(None)

    async def _wait(self, check: Callable[[], _T | None], timeout: float, what: str) -> _T:
        loop = asyncio.get_running_loop()
        deadline = loop.time() + timeout
        while True:
            result = check()
            if result is not None:
                return result
            remaining = deadline - loop.time()
            if remaining <= 0:
                raise TimeoutError(f"timed out after {timeout}s waiting for {what}")
            fut: asyncio.Future[None] = loop.create_future()
            self._waiters.append(fut)
            with contextlib.suppress(asyncio.TimeoutError):
                await asyncio.wait_for(fut, remaining)

    async def wait_for_request(
        self,
        endpoint: str | None = None,
        *,
        predicate: Callable[[RequestRecord], bool] | None = None,
        timeout: float = 5.0,
    ) -> RequestRecord:
        """The first logged request (oldest first) matching ``endpoint`` and ``predicate``."""

        def check() -> RequestRecord | None:
            for rec in self.requests:
                if endpoint is not None and not _path_matches(endpoint, rec.endpoint):
                    continue
                if predicate is None or predicate(rec):
                    return rec
            return None

        return await self._wait(check, timeout, f"a request to {endpoint or 'any endpoint'}")

    async def wait_for_disconnect(self, record: RequestRecord, timeout: float = 1.0) -> float:
        """Wait until the server saw ``record``'s client go away; returns ``disconnected_at``."""
        return await self._wait(lambda: record.disconnected_at, timeout, "a client disconnect")

    async def wait_finished(self, record: RequestRecord, timeout: float = 5.0) -> RequestRecord:
        """Wait until the handler of ``record`` has returned (any outcome)."""
        await self._wait(lambda: record.finished_at, timeout, "the request to finish")
        return record

    # --- generations ---------------------------------------------------------------------

    def _new_generation_id(self, ctx: Ctx) -> tuple[str, int]:
        self._seq += 1
        if self.deterministic:
            created = self.created
            gen_id = f"gen-{created}-emu{self._seq:06d}"
        else:
            created = int(time.time())
            alphabet = string.ascii_letters + string.digits
            gen_id = f"gen-{created}-" + "".join(random.choices(alphabet, k=20))
        ctx.record.generation_id = gen_id
        ctx.created = created
        return gen_id, created

    def _record_generation(
        self,
        ctx: Ctx,
        entry: ModelEntry,
        plan: Plan,
        outcome: StreamOutcome,
        *,
        streamed: bool,
        api_type: str,
        elapsed: float,
    ) -> None:
        data = generation_data(
            ctx, entry, plan, outcome, streamed=streamed, api_type=api_type, elapsed=elapsed
        )
        self._generations[data["id"]] = (time.monotonic() + self.generation_lag, data)

    # --- HTTP plumbing -------------------------------------------------------------------

    def _loads(self, raw: bytes) -> Any:
        return json.loads(raw)

    def _make_app(self) -> web.Application:
        return make_app(self)


async def run_emulator(
    host: str = "127.0.0.1",
    port: int = 8000,
    api_key: str | None = None,
    *,
    ready_callback: Callable[[Emulator], None] | None = None,
    **options: Any,
) -> None:
    """Serve an emulator until cancelled (for ``openrouter-async emulator --port N``).

    ``api_key=None`` accepts any non-empty bearer key. ``ready_callback(emu)`` runs once the
    port is bound (``emu.base_url`` is final). ``options`` go to :class:`Emulator`.
    """
    emulator = Emulator(api_key, host=host, port=port, **options)
    await emulator.start()
    if ready_callback is not None:
        ready_callback(emulator)
    await emulator.serve_forever()
