"""A minimal, pre-encoded OpenRouter stand-in for the benchmarks.

Why it is built this way:

* **Every response body is built once and cached.** A request only selects bytes and writes them,
  so the server costs next to nothing per chunk and the client is what gets measured. The raw
  ``bytes`` client (the transport floor) shows the ceiling the server allows.
* **It runs in its own process**, pinned to another core when the machine has one, so the client's
  CPU time (``time.process_time`` in the runner) contains only client work.
* **Bodies are realistic.** Two ``: OPENROUTER PROCESSING`` keep-alive comments, a role chunk,
  content deltas (with some non-ASCII text), a finish chunk, a usage chunk with ``choices: []`` and
  ``data: [DONE]``; the framing is HTTP/1.1 chunked, as OpenRouter's is. The shapes follow §4 of
  the API notes.
* **The model name picks the body**, because every client can set it: ``bench/text`` (plain text),
  ``bench/tools`` (reasoning + content + two tool calls split into fragments),
  ``bench/hold`` (text that pauses after the first chunks until ``POST /bench/release``).
  The chunk count comes from ``max_tokens`` (or ``max_completion_tokens``).

Run it alone with ``python -m benchmarks.server --port 8765``; the runner starts it through
:class:`ServerProcess`.
"""

from __future__ import annotations

import argparse
import asyncio
import contextlib
import functools
import json
import os
import signal
import socket
import subprocess
import sys
import time
from collections.abc import Iterator
from typing import Any

TEXT_MODEL = "bench/text"
TOOLS_MODEL = "bench/tools"
HOLD_MODEL = "bench/hold"
CHAT_PATH = "/api/v1/chat/completions"
API_PREFIX = "/api/v1"

MAX_CHUNKS = 1_000_000  # bound on what one request may ask for
DEFAULT_CHUNKS = 16
HOLD_HEAD_CHUNKS = 2  # content chunks sent before a held stream pauses
HOLD_TIMEOUT = 300.0  # a held stream never waits longer than this
DEFAULT_WRITE_SIZE = 4096

_GEN_ID = "gen-1760000000-BenchXy12AbCdEf"
_MODEL_ECHO = "openai/gpt-4o-mini"
_WORDS = (
    " the",
    " quick",
    " brown",
    " fox",
    " jumps",
    " over",
    " a",
    " lazy",
    " dog",
    ",",
    " naïve",
    " café",
    " 東京",
    " weather",
    " in",
    " Paris",
    " is",
    " 🙂",
    ".",
    "\n",
    ' "quoted"',
    " tokens",
    " stream",
    " model",
)

_USAGE = {
    "prompt_tokens": 82,
    "completion_tokens": 17,
    "total_tokens": 99,
    "cost": 0.0000225,
    "is_byok": False,
    "prompt_tokens_details": {"cached_tokens": 0, "audio_tokens": 0},
    "cost_details": {
        "upstream_inference_cost": None,
        "upstream_inference_prompt_cost": 0.0000123,
        "upstream_inference_completions_cost": 0.0000102,
    },
    "completion_tokens_details": {"reasoning_tokens": 0, "image_tokens": 0},
}


def _dumps(obj: Any) -> bytes:
    return json.dumps(obj, ensure_ascii=False, separators=(",", ":")).encode()


def _event(obj: Any) -> bytes:
    return b"data: " + _dumps(obj) + b"\n\n"


def _chunk(delta: dict[str, Any], finish: str | None = None) -> bytes:
    return _event(
        {
            "id": _GEN_ID,
            "provider": "OpenAI",
            "model": _MODEL_ECHO,
            "object": "chat.completion.chunk",
            "created": 1760000000,
            "choices": [
                {
                    "index": 0,
                    "delta": delta,
                    "finish_reason": finish,
                    "native_finish_reason": finish,
                    "logprobs": None,
                }
            ],
            "system_fingerprint": "fp_x1",
        }
    )


_PREAMBLE = b": OPENROUTER PROCESSING\n\n" * 2
_ROLE = _chunk({"role": "assistant", "content": ""})
_DONE = b"data: [DONE]\n\n"
_USAGE_CHUNK = _event(
    {
        "id": _GEN_ID,
        "provider": "OpenAI",
        "model": _MODEL_ECHO,
        "object": "chat.completion.chunk",
        "created": 1760000000,
        "choices": [],
        "usage": _USAGE,
    }
)
_WORD_CHUNKS = tuple(_chunk({"role": "assistant", "content": w}) for w in _WORDS)


def word(i: int) -> str:
    """The text of content chunk ``i`` (what a client should see)."""
    return _WORDS[i % len(_WORDS)]


def text_length(n: int) -> int:
    """The summed text length of ``n`` content chunks: what a client must count."""
    full, rest = divmod(n, len(_WORDS))
    return full * sum(map(len, _WORDS)) + sum(map(len, _WORDS[:rest]))


def text_chunks(n: int) -> list[bytes]:
    """The ``n`` content chunks of a text stream, one SSE event each."""
    k = len(_WORD_CHUNKS)
    return [_WORD_CHUNKS[i % k] for i in range(n)]


def text_tail(finish: str = "stop") -> bytes:
    return _chunk({"role": "assistant", "content": ""}, finish) + _USAGE_CHUNK + _DONE


@functools.lru_cache(maxsize=16)
def text_stream(n: int) -> bytes:
    """A whole text stream with ``n`` content deltas (plus role, finish, usage and [DONE])."""
    return _PREAMBLE + _ROLE + b"".join(text_chunks(n)) + text_tail()


@functools.lru_cache(maxsize=16)
def hold_stream(n: int) -> tuple[bytes, bytes]:
    """A text stream cut in two: the head goes out at once, the tail after a release."""
    head_n = min(HOLD_HEAD_CHUNKS, n)
    chunks = text_chunks(n)
    head = _PREAMBLE + _ROLE + b"".join(chunks[:head_n])
    return head, b"".join(chunks[head_n:]) + text_tail()


def tools_plan(n: int) -> tuple[int, int, int]:
    """How ``n`` chunks of the tools stream split: (reasoning, content, tool-call fragments)."""
    reasoning = n // 4
    tools = max(n // 4, 4)
    content = max(n - reasoning - tools, 0)
    return reasoning, content, tools


@functools.lru_cache(maxsize=8)
def tools_stream(n: int) -> bytes:
    """Reasoning deltas, then content deltas, then two tool calls whose arguments arrive in pieces.

    The arguments of each call concatenate to valid JSON, and ``reasoning`` and
    ``reasoning_details`` carry the same text in one delta, as OpenRouter sends them.
    """
    n_reason, n_content, n_tools = tools_plan(n)
    out = [_PREAMBLE, _ROLE]
    for i in range(n_reason):
        text = word(i)
        out.append(
            _chunk(
                {
                    "role": "assistant",
                    "content": None,
                    "reasoning": text,
                    "reasoning_details": [
                        {"type": "reasoning.text", "text": text, "format": "unknown", "index": 0}
                    ],
                }
            )
        )
    out.extend(text_chunks(n_content))
    per_call = n_tools // 2
    for call in range(2):
        name = ("get_weather", "search_docs")[call]
        out.append(
            _chunk(
                {
                    "role": "assistant",
                    "content": None,
                    "tool_calls": [
                        {
                            "index": call,
                            "id": f"call_{call}_abc123",
                            "type": "function",
                            "function": {"name": name, "arguments": ""},
                        }
                    ],
                }
            )
        )
        pieces = ['{"q": "'] + ["ab"] * max(per_call - 3, 0) + ['"', "}"]
        for piece in pieces:
            out.append(
                _chunk(
                    {
                        "role": "assistant",
                        "content": None,
                        "tool_calls": [{"index": call, "function": {"arguments": piece}}],
                    }
                )
            )
    out.append(text_tail("tool_calls"))
    return b"".join(out)


@functools.lru_cache(maxsize=1)
def completion_body() -> bytes:
    """The non-streaming response (§3.6 shape) with a short text answer."""
    return _dumps(
        {
            "id": _GEN_ID,
            "object": "chat.completion",
            "created": 1760000000,
            "model": _MODEL_ECHO,
            "provider": "OpenAI",
            "system_fingerprint": "fp_x1",
            "choices": [
                {
                    "index": 0,
                    "finish_reason": "stop",
                    "native_finish_reason": "stop",
                    "logprobs": None,
                    "message": {
                        "role": "assistant",
                        "content": "The weather in Paris is mild today, 18 °C with light wind.",
                        "refusal": None,
                        "reasoning": None,
                    },
                }
            ],
            "usage": _USAGE,
        }
    )


def sse_event_stream(n: int) -> bytes:
    """The byte stream the parser scenario feeds: exactly ``n`` data events (``n >= 5``).

    Role chunk, ``n - 4`` content chunks, finish, usage and ``[DONE]``, after two comments.
    """
    return text_stream(max(n - 4, 1))


# --------------------------------------------------------------------------- the server


@functools.lru_cache(maxsize=16)
def _events(data: bytes) -> tuple[bytes, ...]:
    parts = data.split(b"\n\n")
    return tuple(p + b"\n\n" for p in parts[:-1]) + ((parts[-1],) if parts[-1] else ())


def _slices(data: bytes, size: int) -> Iterator[bytes | memoryview]:
    """``data`` in writes of ``size`` bytes, or one write per SSE event when ``size`` is 0."""
    if size <= 0:
        yield from _events(data)
        return
    view = memoryview(data)
    for start in range(0, len(data), size):
        yield view[start : start + size]


class _State:
    def __init__(self, write_size: int) -> None:
        self.write_size = write_size
        self.release = asyncio.Event()
        self.held = 0


def build_app(write_size: int = DEFAULT_WRITE_SIZE) -> Any:
    from aiohttp import web

    state = _State(write_size)

    async def write_all(resp: web.StreamResponse, data: bytes) -> None:
        for piece in _slices(data, state.write_size):
            await resp.write(piece)

    async def chat(request: web.Request) -> web.StreamResponse:
        try:
            req = json.loads(await request.read())
        except ValueError:
            return web.json_response({"error": {"code": 400, "message": "bad json"}}, status=400)
        if not req.get("stream"):
            return web.Response(body=completion_body(), content_type="application/json")
        n = req.get("max_tokens") or req.get("max_completion_tokens") or DEFAULT_CHUNKS
        n = max(1, min(int(n), MAX_CHUNKS))
        model = req.get("model", TEXT_MODEL)
        resp = web.StreamResponse(
            headers={"Content-Type": "text/event-stream", "Cache-Control": "no-cache"}
        )
        await resp.prepare(request)
        try:
            if model == HOLD_MODEL:
                head, tail = hold_stream(n)
                await write_all(resp, head)
                release = state.release
                state.held += 1
                try:
                    await asyncio.wait_for(release.wait(), HOLD_TIMEOUT)
                finally:
                    state.held -= 1
                await write_all(resp, tail)
            elif model == TOOLS_MODEL:
                await write_all(resp, tools_stream(n))
            else:
                await write_all(resp, text_stream(n))
            await resp.write_eof()
        except (ConnectionError, asyncio.TimeoutError):
            pass  # the client went away, or a hold was never released: nothing to clean up
        return resp

    async def release(request: web.Request) -> web.Response:
        held = state.held
        state.release.set()
        state.release = asyncio.Event()  # streams that arrive later wait for the next release
        return web.json_response({"released": held})

    async def held(request: web.Request) -> web.Response:
        return web.json_response({"held": state.held})

    async def health(request: web.Request) -> web.Response:
        return web.Response(text="ok")

    app = web.Application(client_max_size=4 * 1024 * 1024)
    app.router.add_post(CHAT_PATH, chat)
    app.router.add_post("/bench/release", release)
    app.router.add_get("/bench/held", held)
    app.router.add_get("/health", health)
    return app


async def serve(
    port: int, write_size: int, max_seconds: float, parent_pid: int | None, ready: Any
) -> None:
    from aiohttp import web

    sock = socket.socket(socket.AF_INET, socket.SOCK_STREAM)
    sock.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
    sock.bind(("127.0.0.1", port))
    runner = web.AppRunner(build_app(write_size), access_log=None, handle_signals=False)
    await runner.setup()
    site = web.SockSite(runner, sock, backlog=2048, shutdown_timeout=1.0)
    await site.start()
    stop = asyncio.Event()
    loop = asyncio.get_running_loop()
    for sig in (signal.SIGTERM, signal.SIGINT):
        with contextlib.suppress(NotImplementedError, RuntimeError):
            loop.add_signal_handler(sig, stop.set)
    ready(sock.getsockname()[1])
    deadline = time.monotonic() + max_seconds
    try:
        while not stop.is_set() and time.monotonic() < deadline:
            if parent_pid is not None and os.getppid() != parent_pid:
                break  # the runner died: do not outlive it
            with contextlib.suppress(asyncio.TimeoutError):
                await asyncio.wait_for(stop.wait(), 1.0)
    finally:
        await runner.cleanup()


def pin_to(cpu: int | None) -> bool:
    """Pin this process to one CPU; False when the platform or the machine cannot."""
    if cpu is None or not hasattr(os, "sched_setaffinity"):
        return False
    try:
        os.sched_setaffinity(0, {cpu})
    except (OSError, ValueError):
        return False
    return True


def main(argv: list[str] | None = None) -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--port", type=int, default=0, help="0 = pick a free port")
    parser.add_argument(
        "--write-size", type=int, default=DEFAULT_WRITE_SIZE, help="0 = one write per event"
    )
    parser.add_argument("--max-seconds", type=float, default=3600.0, help="lifetime bound")
    parser.add_argument("--parent-pid", type=int, default=None, help="exit when it dies")
    parser.add_argument("--cpu", type=int, default=None, help="pin the server to this CPU")
    args = parser.parse_args(argv)
    pin_to(args.cpu)

    def ready(port: int) -> None:
        print(f"PORT {port}", flush=True)

    asyncio.run(serve(args.port, args.write_size, args.max_seconds, args.parent_pid, ready))


class ServerProcess:
    """Start the server in a child process; ``base_url`` is set once it listens.

    Used as a context manager; on exit the child (and only it) is terminated by pid.
    """

    def __init__(
        self,
        *,
        cpu: int | None = None,
        write_size: int = DEFAULT_WRITE_SIZE,
        max_seconds: float = 3600.0,
        start_timeout: float = 30.0,
    ) -> None:
        self.cpu = cpu
        self.write_size = write_size
        self.max_seconds = max_seconds
        self.start_timeout = start_timeout
        self.proc: subprocess.Popen[str] | None = None
        self.port = 0

    @property
    def origin(self) -> str:
        return f"http://127.0.0.1:{self.port}"

    @property
    def base_url(self) -> str:
        return self.origin + API_PREFIX

    def __enter__(self) -> ServerProcess:
        cmd = [
            sys.executable,
            "-m",
            "benchmarks.server",
            "--write-size",
            str(self.write_size),
            "--max-seconds",
            str(self.max_seconds),
            "--parent-pid",
            str(os.getpid()),
        ]
        if self.cpu is not None:
            cmd += ["--cpu", str(self.cpu)]
        root = os.path.dirname(os.path.dirname(os.path.abspath(__file__)))
        env = dict(os.environ)
        env["PYTHONPATH"] = root + os.pathsep + env.get("PYTHONPATH", "")
        self.proc = subprocess.Popen(cmd, stdout=subprocess.PIPE, text=True, env=env, cwd=root)
        line = self._read_port_line()
        if not line.startswith("PORT "):
            self.__exit__(None, None, None)
            raise RuntimeError(f"benchmark server did not start: {line!r}")
        self.port = int(line.split()[1])
        return self

    def _read_port_line(self) -> str:
        import selectors

        assert self.proc is not None
        assert self.proc.stdout is not None

        with selectors.DefaultSelector() as sel:
            sel.register(self.proc.stdout, selectors.EVENT_READ)
            if not sel.select(self.start_timeout):
                return "<timeout>"
        return self.proc.stdout.readline().strip()

    def __exit__(self, *exc: object) -> None:
        proc, self.proc = self.proc, None
        if proc is None:
            return
        if proc.poll() is None:
            proc.terminate()
            try:
                proc.wait(10)
            except subprocess.TimeoutExpired:
                proc.kill()
                proc.wait(10)
        if proc.stdout is not None:
            proc.stdout.close()


if __name__ == "__main__":
    main()
