"""One adapter per client, all with the same small async interface.

Why it is built this way:

* Every adapter consumes what a real caller would: each text delta's text (its length is summed,
  so nothing is optimised away and the scenarios can check that every client saw the same text),
  a non-streaming completion's message content, and, where the client has one, the final
  accumulated completion.
* Each hot loop is written the way the client's own documentation shows it. The first text delta
  is taken before the main loop so the hold and time-to-first-chunk scenarios can hook it without
  adding work per chunk (the raw JSON loop, which has no such split, tests one boolean).
* Peers are imported lazily, inside ``open``: a missing peer is a skipped row with the import error
  as its reason, never a crash, and importing this module imports no client.
* Every client gets the same connection pool size (``pool``), because the defaults differ (aiohttp
  and httpx cap at 100) and several scenarios need more than 100 connections at once.
"""

from __future__ import annotations

import asyncio
import importlib
import inspect
import json
from collections.abc import Callable
from typing import Any, ClassVar, NamedTuple

from .server import TEXT_MODEL, TOOLS_MODEL

API_KEY = "sk-or-bench-key"
MESSAGES: list[dict[str, Any]] = [{"role": "user", "content": "Tell me about the weather."}]
DEFAULT_POOL = 1000


class NotSupported(Exception):
    """The client has no such feature; the scenario reports the row as skipped."""


class Hooks:
    """Called once per stream, after its first text delta has been consumed."""

    async def first(self) -> None:  # pragma: no cover - overridden
        return None


async def _count_chunk_text(chunks: Any, hooks: Hooks | None) -> int:
    """Sum the text of OpenAI-shaped chunks (the peers' normal iteration); ``hooks.first()``
    runs once the first text has arrived."""
    total = 0
    it = aiter(chunks)
    async for chunk in it:
        if chunk.choices:
            text = chunk.choices[0].delta.content
            if text:
                total += len(text)
                break
    if hooks is not None:
        await hooks.first()
    async for chunk in it:
        if chunk.choices:
            text = chunk.choices[0].delta.content
            if text:
                total += len(text)
    return total


class FinalSummary(NamedTuple):
    """The comparable essence of a final completion: equal across clients that got it right."""

    content: int
    reasoning: int
    tools: tuple[tuple[str, str], ...]


class Adapter:
    """The interface the scenarios drive. Subclasses set ``name`` and override what they support."""

    name: ClassVar[str]
    kind: ClassVar[str] = "sdk"  # "sdk" or "baseline"
    modules: ClassVar[tuple[str, ...]] = ()  # imported by ``probe``
    counts_text: ClassVar[bool] = True  # False: ``stream_text`` returns bytes, not text length

    def __init__(self, base_url: str, pool: int = DEFAULT_POOL) -> None:
        self.base_url = base_url.rstrip("/")
        self.pool = pool
        self.notes: list[str] = []

    @classmethod
    def probe(cls) -> str | None:
        """None when the client can run here, else why not."""
        for mod in cls.modules:
            try:
                importlib.import_module(mod)
            except Exception as exc:
                return f"import {mod} failed: {type(exc).__name__}: {exc}"
        return None

    async def open(self) -> None:
        raise NotImplementedError

    async def close(self) -> None:
        raise NotImplementedError

    async def __aenter__(self) -> Adapter:
        await self.open()
        return self

    async def __aexit__(self, *exc: object) -> None:
        await self.close()

    async def stream_text(
        self, n: int, hooks: Hooks | None = None, *, model: str = TEXT_MODEL
    ) -> int:
        """Stream ``n`` chunks; return the summed length of every text delta."""
        raise NotImplementedError

    async def complete(self) -> int:
        """One non-streaming request; return the length of the message content."""
        raise NotImplementedError

    async def stream_final(self, n: int) -> FinalSummary:
        """Stream the tools/reasoning body, consume text deltas, return the final completion."""
        raise NotSupported(f"{self.name} has no final-completion accumulator")

    async def batch(self, n: int, concurrency: int) -> int:
        """The client's own batch API, for clients that have one."""
        raise NotSupported(f"{self.name} has no batch API")

    async def gather(self, n: int, concurrency: int) -> int:
        """``n`` non-streaming requests with ``asyncio.gather`` and a semaphore."""
        sem = asyncio.Semaphore(concurrency)

        async def one() -> int:
            async with sem:
                return await self.complete()

        return sum(await asyncio.gather(*(one() for _ in range(n))))


# --------------------------------------------------------------------------- our SDK


class Ours(Adapter):
    """``openrouter_async``: ``client.chat.completions.stream`` yielding typed events."""

    name = "openrouter_async"
    modules = ("openrouter_async",)

    @classmethod
    def probe(cls) -> str | None:
        reason = super().probe()
        if reason:
            return reason
        import openrouter_async as ora

        missing = [n for n in ("OpenRouter", "TextDelta") if not hasattr(ora, n)]
        return f"openrouter_async lacks {', '.join(missing)}" if missing else None

    async def open(self) -> None:
        import openrouter_async as ora

        self._ora = ora
        self._text = ora.TextDelta
        kwargs: dict[str, Any] = {"api_key": API_KEY, "base_url": self.base_url}
        limits = self._pool_limits(ora)
        if limits is not None:
            kwargs["limits"] = limits
        else:
            self.notes.append("pool size not configurable: client default used")
        self.client = ora.OpenRouter(**kwargs)
        await self.client.__aenter__()

    def _pool_limits(self, ora: Any) -> Any:
        try:
            params = inspect.signature(ora.OpenRouter).parameters
        except (TypeError, ValueError):
            return None
        if "limits" not in params:
            return None
        pool_limits = getattr(ora, "PoolLimits", None)
        if pool_limits is None:
            try:
                pool_limits = importlib.import_module("openrouter_async._config").PoolLimits
            except (ImportError, AttributeError):
                return None
        return pool_limits(total=self.pool)

    async def close(self) -> None:
        await self.client.__aexit__(None, None, None)

    async def stream_text(
        self, n: int, hooks: Hooks | None = None, *, model: str = TEXT_MODEL
    ) -> int:
        text_delta = self._text
        total = 0
        async with self.client.chat.completions.stream(
            model=model, messages=MESSAGES, max_tokens=n
        ) as stream:
            it = aiter(stream)
            async for event in it:
                if isinstance(event, text_delta):
                    total += len(event.text)
                    break
            if hooks is not None:
                await hooks.first()
            async for event in it:
                if isinstance(event, text_delta):
                    total += len(event.text)
        return total

    async def complete(self) -> int:
        done = await self.client.chat.completions.create(model=TEXT_MODEL, messages=MESSAGES)
        return len(done.choices[0].message.content)

    async def stream_final(self, n: int) -> FinalSummary:
        text_delta = self._text
        total = 0
        async with self.client.chat.completions.stream(
            model=TOOLS_MODEL, messages=MESSAGES, max_tokens=n
        ) as stream:
            async for event in stream:
                if isinstance(event, text_delta):
                    total += len(event.text)
            final = await stream.get_final_completion()
        return summarize(final)

    async def batch(self, n: int, concurrency: int) -> int:
        # ``client.batch(requests, concurrency=N)`` as its docstring shows it: an async context
        # manager yielding ``BatchResult`` objects (``.completion`` or ``.error``) as they finish.
        # Results are consumed and dropped, as the gather rows drop theirs, so peak RSS compares.
        batch = getattr(self.client, "batch", None)
        if batch is None:
            raise NotSupported("client.batch is absent")
        requests = ({"model": TEXT_MODEL, "messages": MESSAGES} for _ in range(n))
        total = 0
        async with batch(requests, concurrency=concurrency) as results:
            async for result in results:
                if result.error is not None:
                    raise result.error
                total += len(result.completion.choices[0].message.content)
        return total


def summarize(final: Any) -> FinalSummary:
    """The comparable essence of a final completion object (ours or openai's)."""
    message = final.choices[0].message
    content = message.content or ""
    reasoning = getattr(message, "reasoning", None)
    if reasoning is None:
        extra = getattr(message, "model_extra", None) or {}
        reasoning = extra.get("reasoning")
    tools = tuple(
        (call.function.name, call.function.arguments) for call in (message.tool_calls or ())
    )
    return FinalSummary(len(content), len(reasoning or ""), tools)


# --------------------------------------------------------------------------- openai


class OpenAI(Adapter):
    """``openai.AsyncOpenAI`` with ``stream=True``; its ``.stream()`` helper for accumulation."""

    name = "openai"
    modules = ("openai",)

    async def open(self) -> None:
        import openai

        # openai's default pool (1,000 connections) already covers every scenario.
        self.client = openai.AsyncOpenAI(base_url=self.base_url, api_key=API_KEY)

    async def close(self) -> None:
        await self.client.close()

    async def stream_text(
        self, n: int, hooks: Hooks | None = None, *, model: str = TEXT_MODEL
    ) -> int:
        stream = await self.client.chat.completions.create(
            model=model, messages=MESSAGES, max_tokens=n, stream=True
        )
        async with stream:
            return await _count_chunk_text(stream, hooks)

    async def complete(self) -> int:
        done = await self.client.chat.completions.create(model=TEXT_MODEL, messages=MESSAGES)
        return len(done.choices[0].message.content or "")

    async def stream_final(self, n: int) -> FinalSummary:
        total = 0
        async with self.client.chat.completions.stream(
            model=TOOLS_MODEL, messages=MESSAGES, max_tokens=n
        ) as stream:
            async for event in stream:
                if event.type == "content.delta":
                    total += len(event.delta)
            final = await stream.get_final_completion()
        return summarize(final)


# --------------------------------------------------------------------------- official SDK


class OfficialOpenRouter(Adapter):
    """The official ``openrouter`` SDK: ``chat.send_async(..., stream=True)``."""

    name = "openrouter (official)"
    modules = ("openrouter", "httpx")

    async def open(self) -> None:
        import httpx
        import openrouter

        # The SDK's default httpx client caps the pool at 100 connections and times out after 5 s;
        # give it the same pool as everyone else and a generous timeout.
        self.http = httpx.AsyncClient(
            follow_redirects=True,
            limits=httpx.Limits(max_connections=self.pool, max_keepalive_connections=100),
            timeout=httpx.Timeout(300.0),
        )
        self.sdk = openrouter.OpenRouter(
            api_key=API_KEY, server_url=self.base_url, async_client=self.http
        )
        await self.sdk.__aenter__()

    async def close(self) -> None:
        await self.sdk.__aexit__(None, None, None)
        await self.http.aclose()

    async def stream_text(
        self, n: int, hooks: Hooks | None = None, *, model: str = TEXT_MODEL
    ) -> int:
        res = await self.sdk.chat.send_async(
            model=model, messages=MESSAGES, max_tokens=n, stream=True
        )
        async with res as events:
            return await _count_chunk_text(events, hooks)

    async def complete(self) -> int:
        done = await self.sdk.chat.send_async(model=TEXT_MODEL, messages=MESSAGES)
        content = done.choices[0].message.content
        return len(content) if isinstance(content, str) else 0


# --------------------------------------------------------------------------- raw baselines


class _RawAiohttp(Adapter):
    """Shared plumbing of the raw aiohttp baselines: one session, one pre-built request body."""

    kind = "baseline"
    modules = ("aiohttp",)
    loads: ClassVar[Callable[[Any], Any]] = staticmethod(json.loads)

    async def open(self) -> None:
        import aiohttp

        self.session = aiohttp.ClientSession(
            connector=aiohttp.TCPConnector(limit=self.pool),
            timeout=aiohttp.ClientTimeout(total=None, sock_connect=60),
            headers={"Authorization": f"Bearer {API_KEY}"},
        )
        self.url = self.base_url + "/chat/completions"

    async def close(self) -> None:
        await self.session.close()

    def _body(self, model: str, n: int | None) -> bytes:
        req: dict[str, Any] = {"model": model, "messages": MESSAGES}
        if n is not None:
            req["stream"] = True
            req["max_tokens"] = n
        return json.dumps(req).encode()

    def _post(self, model: str, n: int | None) -> Any:
        return self.session.post(
            self.url, data=self._body(model, n), headers={"Content-Type": "application/json"}
        )

    async def complete(self) -> int:
        loads = self.loads
        async with self._post(TEXT_MODEL, None) as resp:
            if resp.status != 200:
                raise RuntimeError(f"HTTP {resp.status}")
            done = loads(await resp.read())
        return len(done["choices"][0]["message"]["content"])

    async def _lines(self, resp: Any, on_data: Callable[[bytes], bool]) -> None:
        """Split the body on LF and hand each ``data:`` payload to ``on_data`` (False = stop)."""
        buf = b""
        async for piece in resp.content.iter_any():
            lines = (buf + piece).split(b"\n")
            buf = lines.pop()
            for line in lines:
                if line.startswith(b"data: "):
                    payload = line[6:]
                    if payload == b"[DONE]" or not on_data(payload):
                        return


class RawJson(_RawAiohttp):
    """aiohttp + split on LF + ``json.loads`` per event: the practical limit in pure Python."""

    name = "raw aiohttp+json"

    async def stream_text(
        self, n: int, hooks: Hooks | None = None, *, model: str = TEXT_MODEL
    ) -> int:
        loads = self.loads
        total = 0
        seen_first = hooks is None
        buf = b""
        async with self._post(model, n) as resp:
            if resp.status != 200:
                raise RuntimeError(f"HTTP {resp.status}")
            async for piece in resp.content.iter_any():
                lines = (buf + piece).split(b"\n")
                buf = lines.pop()
                for line in lines:
                    if not line.startswith(b"data: "):
                        continue
                    payload = line[6:]
                    if payload == b"[DONE]":
                        return total
                    choices = loads(payload)["choices"]
                    if choices:
                        text = choices[0]["delta"].get("content")
                        if text:
                            total += len(text)
                            if not seen_first:
                                seen_first = True
                                await hooks.first()  # type: ignore[union-attr]
        return total

    async def stream_final(self, n: int) -> FinalSummary:
        loads = self.loads
        content: list[str] = []
        reasoning: list[str] = []
        calls: dict[int, dict[str, Any]] = {}

        def fold(payload: bytes) -> bool:
            chunk = loads(payload)
            for choice in chunk.get("choices") or ():
                delta = choice.get("delta") or {}
                if delta.get("content"):
                    content.append(delta["content"])
                if delta.get("reasoning"):
                    reasoning.append(delta["reasoning"])
                for frag in delta.get("tool_calls") or ():
                    call = calls.setdefault(frag["index"], {"name": "", "args": []})
                    fn = frag.get("function") or {}
                    if fn.get("name"):
                        call["name"] = fn["name"]
                    if fn.get("arguments"):
                        call["args"].append(fn["arguments"])
            return True

        async with self._post(TOOLS_MODEL, n) as resp:
            await self._lines(resp, fold)
        tools = tuple((c["name"], "".join(c["args"])) for _, c in sorted(calls.items()))
        return FinalSummary(len("".join(content)), len("".join(reasoning)), tools)


class RawOrjson(RawJson):
    """As ``raw aiohttp+json`` with ``orjson.loads``, the JSON parser our SDK uses."""

    name = "raw aiohttp+orjson"
    modules = ("aiohttp", "orjson")

    async def open(self) -> None:
        import orjson

        self.loads = orjson.loads  # type: ignore[misc]
        await super().open()


class RawBytes(_RawAiohttp):
    """aiohttp reading the body and nothing else: the transport floor."""

    name = "raw aiohttp bytes"
    counts_text = False

    async def stream_text(
        self, n: int, hooks: Hooks | None = None, *, model: str = TEXT_MODEL
    ) -> int:
        total = 0
        async with self._post(model, n) as resp:
            if resp.status != 200:
                raise RuntimeError(f"HTTP {resp.status}")
            it = aiter(resp.content.iter_any())
            async for piece in it:
                total += len(piece)
                break
            if hooks is not None:
                await hooks.first()
            async for piece in it:
                total += len(piece)
        return total


ADAPTERS: tuple[type[Adapter], ...] = (
    Ours,
    OpenAI,
    OfficialOpenRouter,
    RawJson,
    RawOrjson,
    RawBytes,
)
OURS = Ours.name

# Short names accepted on the command line (``--clients ours,openai``).
ALIASES: dict[str, str] = {
    "ours": Ours.name,
    "openrouter_async": Ours.name,
    "openai": OpenAI.name,
    "openrouter": OfficialOpenRouter.name,
    "official": OfficialOpenRouter.name,
    "raw-json": RawJson.name,
    "raw-orjson": RawOrjson.name,
    "raw-bytes": RawBytes.name,
}


def by_name(name: str) -> type[Adapter]:
    full = ALIASES.get(name, name)
    for cls in ADAPTERS:
        if cls.name == full:
            return cls
    raise KeyError(name)


# --------------------------------------------------------------------------- SSE parsers alone

ParserRun = Callable[[list[bytes]], int]


def parser_runners() -> dict[str, ParserRun | str]:
    """Each SSE parser as ``run(pieces) -> summed data length``, or why it is unavailable.

    Every runner turns bytes into events with a ``str`` data field and touches each event's data,
    as a client would; none parses the JSON.
    """
    out: dict[str, ParserRun | str] = {}

    try:
        from openrouter_async._sse import SSEEvent, SSEParser
    except Exception as exc:
        out[OURS + " SSEParser"] = f"{type(exc).__name__}: {exc}"
    else:

        def ours(pieces: list[bytes]) -> int:
            parser = SSEParser()
            feed = parser.feed
            event_cls = SSEEvent
            total = 0
            for piece in pieces:
                for ev in feed(piece):
                    if type(ev) is event_cls:
                        total += len(ev.data)
            for ev in feed(b""):
                if type(ev) is event_cls:
                    total += len(ev.data)
            return total

        out[OURS + " SSEParser"] = ours

    try:
        from openai._streaming import SSEDecoder as OpenAIDecoder
    except Exception as exc:
        out["openai SSEDecoder"] = f"{type(exc).__name__}: {exc}"
    else:

        def openai_run(pieces: list[bytes]) -> int:
            total = 0
            for ev in OpenAIDecoder().iter_bytes(iter(pieces)):
                total += len(ev.data)
            return total

        out["openai SSEDecoder"] = openai_run

    try:
        from httpx_sse._decoders import SSEDecoder as HxDecoder
        from httpx_sse._decoders import SSELineDecoder
    except Exception as exc:
        out["httpx-sse SSEDecoder"] = f"{type(exc).__name__}: {exc}"
    else:
        import codecs

        def httpx_sse_run(pieces: list[bytes]) -> int:
            # What ``EventSource.aiter_sse`` does: incremental UTF-8 text, then lines, then events.
            text = codecs.getincrementaldecoder("utf-8")(errors="replace").decode
            lines = SSELineDecoder()
            decode = HxDecoder().decode
            total = 0
            for piece in pieces:
                for line in lines.decode(text(piece)):
                    ev = decode(line)
                    if ev is not None:
                        total += len(ev.data)
            rest = text(b"", final=True)
            for line in [*(lines.decode(rest) if rest else ()), *lines.flush(), ""]:
                ev = decode(line)
                if ev is not None:
                    total += len(ev.data)
            return total

        out["httpx-sse SSEDecoder"] = httpx_sse_run

    def minimal(pieces: list[bytes]) -> int:
        # The smallest loop that could work: no CR, no multi-line data, no fields but ``data``.
        buf = b""
        total = 0
        for piece in pieces:
            buf += piece
            start = 0
            while True:
                end = buf.find(b"\n\n", start)
                if end < 0:
                    break
                block = buf[start:end]
                start = end + 2
                if block.startswith(b"data: "):
                    total += len(block[6:].decode())
            buf = buf[start:]
        return total

    out["minimal bytes split"] = minimal
    return out
