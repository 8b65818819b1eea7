"""``openrouter_async.testing``: an embedded OpenRouter emulator for tests and demos.

``Emulator`` runs a real aiohttp.web server on 127.0.0.1 (ephemeral port) that speaks the
OpenRouter wire protocol: chat completions (streamed and not), legacy completions,
embeddings, generation stats, the model catalog, providers, credits and key info, with
OpenRouter's error bodies, request logging and fault injection::

    async with Emulator(api_key="test-key") as emu:
        async with emu.client() as client:
            ...
        emu.fail_next(2, status=429, retry_after=0)
        emu.add_fault("mid_error(after=3,code=502)", model="emulator/lorem")

Keys: ``Emulator()`` accepts only the bearer key ``"test-key"`` (what ``emu.client()`` sends)
and the management key ``"test-management-key"``; any other key gets 401 "User not found."
(``Emulator(api_key=None)`` accepts any non-empty key). As on OpenRouter, ``GET /credits``
needs a management key (403 otherwise): ``emu.client(api_key="test-management-key")``.

Built-in models (``emulator/`` author, served by provider ``FakeProvider``; $1/M prompt,
$2/M completion tokens):

* ``emulator/echo``: repeats the last user message's text, one token per word.
* ``emulator/lorem``: ``tokens`` words of lorem ipsum (default 16; capped by ``max_tokens``
  with ``finish_reason: "length"``).
* ``emulator/tools``: calls the first tool (or the one named by ``tool_choice``; the first
  ``calls`` tools with the ``calls`` knob) with arguments built from its JSON schema,
  streamed in 8-character fragments, ``finish_reason: "tool_calls"``; when the last message
  is a tool result it answers ``"The tool returned: <content>"``.
* ``emulator/reasoning``: reasoning words (in both ``reasoning`` and ``reasoning_details``),
  then echoes; ``reasoning.effort: "none"`` skips the thinking, ``reasoning.exclude`` hides it.
* ``emulator/json``: a JSON object for ``response_format`` (json_schema: the schema's required
  properties with defaults by type; otherwise ``{"answer": <last user text>}``).
* ``emulator/embed``: 64-dimension embeddings (also ``openai/text-embedding-3-small``, 1536).

Catalog models ``openai/gpt-4o-mini``, ``openai/gpt-3.5-turbo-instruct`` (for legacy
``/completions``), ``google/gemini-2.5-flash``(``-image``) answer like echo and
``anthropic/claude-sonnet-4.5`` like reasoning, with their own provider and prices.

Per-request knobs (``tokens``, ``tps``, ``latency``, ``comments``, ``interval``, ``calls``):
model suffix ``emulator/lorem:tokens=50:tps=100``, header ``X-Emulator-Options: tokens=50``,
or body ``"emulator": {"tokens": 50}``; later sources win. ``tokens`` is capped at 100,000
and ``huge(size=)`` at 32 MiB (past a cap: 400 naming it), so no request can make the
emulator allocate gigabytes.

Faults come from the ``X-Emulator-Fault`` header, the model suffix ``:fault=<spec>`` (the rest
of the model string), the body field ``"emulator": {"fault": "<spec>"}``, or Python
(``add_fault``, ``fail_next``, ``script``). A spec is ``name(args);name(args)…`` where the first
argument may be positional (``http(429,retry_after=1)``, ``drop(3)``, ``crlf;split(1)``):

=====================================  ========================================================
``http(status,retry_after,message,     JSON error body (§5.1) with that status (+Retry-After)
code,error_type)``
``html(status,retry_after)``           Cloudflare-like ``text/html`` page (default 502)
``fail_first(n,status,retry_after,     first n attempts of each distinct request fail, then OK
message)``
``error_200(code,message,error_type)`` HTTP 200 whose body is an error envelope
``mid_error(after,code,message,        in-band error chunk after K tokens (code int or str),
error_type,done)``                     stream ends (``done=1``: then ``[DONE]``)
``stall(after,seconds,comments,        quiet after K tokens: only keep-alive comments (or
interval)``                            silence); ``seconds`` omitted/``forever`` = until the
                                       client leaves
``drop(after)``                        abort the TCP connection after K tokens
``truncate(after)``                    clean EOF after K tokens: no finish, usage or [DONE]
``malformed(after)``                   one cut-short JSON event after K tokens
``huge(after,size)``                   one event with a ``size``-char base64 image (2 MiB)
``crlf`` / ``cr``                      SSE lines end in CR LF / a bare CR instead of LF
``split(size,delay)``                  body written in ``size``-byte writes
``coalesce``                           whole body in one write
``slow(headers,body)``                 delay before the status line / before the body
=====================================  ========================================================

OpenRouter's OpenAPI schema. Every JSON body and stream chunk the emulator serves validates
against the response schemas of OpenRouter's OpenAPI 3.1 description (official TypeScript SDK
repository, ``.speakeasy/in.openapi.yaml``, commit ``cb9393a8``, 2026-08-22), checked by
``tests/integration/test_emulator_schema.py``. Choices made to conform:

* ``GET /generation``: ``data_region`` is ``"global"`` (a required enum there; no EU routing).
* ``GET /providers``: headquarters and datacenters are ISO 3166-1 alpha-2 codes.
* The built-in models' provider is ``FakeProvider`` (slug ``fake-provider``): provider names
  are closed enums in the schema, and this member's name says plainly that nothing real
  answered (``"Emulator"`` is not in them).
* Embedding models list no ``supported_parameters`` (the closed ``Parameter`` enum has no
  ``dimensions``/``encoding_format``; ``/embeddings`` still honours both).
* The schema states no parameter ranges. Kept (400): ``max_tokens``/``max_completion_tokens``
  >= 1, ``temperature`` 0-2, ``top_p`` 0-1, ``frequency_penalty``/``presence_penalty`` -2..2,
  ``top_logprobs`` >= 0, which OpenRouter documents and its OpenAI-style upstreams enforce.
  Dropped: the ranges of the OpenRouter-only samplers ``repetition_penalty``, ``min_p``,
  ``top_a``, ``top_k`` (forwarded to providers that support them, dropped for the rest; only
  their type is checked).

Deliberate deviations, where the real API differs from its schema:

==============================  =============================================================
HTTP 200 with an error body     the ``error_200`` fault, as OpenRouter does (not in schema)
``GET /generation`` without id  400, a status the schema does not list for that path
``mid_error(code=<text>)``      a string ``error.code`` (OpenRouter's streaming docs show one;
                                the schema says integer); integer codes are the default
``POST /completions``           still routed by OpenRouter, dropped from the current schema
==============================  =============================================================
"""

# The names below load lazily (PEP 562): the pytest plugin lives in this package and pytest
# imports it at start-up in every run, so importing the package must not pull in aiohttp.web.
from typing import TYPE_CHECKING, Any

if TYPE_CHECKING:
    from ._faults import (
        Coalesce,
        Drop,
        ErrorIn200,
        FailFirst,
        Fault,
        FaultRule,
        FaultSpecError,
        HTMLError,
        HTTPError,
        HugeEvent,
        LineEndings,
        Malformed,
        MidStreamError,
        SlowResponse,
        SplitWrites,
        Stall,
        Truncate,
        parse_faults,
    )
    from ._models import Knobs
    from ._records import REDACTED, RequestRecord
    from ._server import Emulator, run_emulator

__all__ = [
    "REDACTED",
    "Coalesce",
    "Drop",
    "Emulator",
    "ErrorIn200",
    "FailFirst",
    "Fault",
    "FaultRule",
    "FaultSpecError",
    "HTMLError",
    "HTTPError",
    "HugeEvent",
    "Knobs",
    "LineEndings",
    "Malformed",
    "MidStreamError",
    "RequestRecord",
    "SlowResponse",
    "SplitWrites",
    "Stall",
    "Truncate",
    "parse_faults",
    "run_emulator",
]

_HOMES = {
    **dict.fromkeys(
        (
            "Coalesce",
            "Drop",
            "ErrorIn200",
            "FailFirst",
            "Fault",
            "FaultRule",
            "FaultSpecError",
            "HTMLError",
            "HTTPError",
            "HugeEvent",
            "LineEndings",
            "Malformed",
            "MidStreamError",
            "SlowResponse",
            "SplitWrites",
            "Stall",
            "Truncate",
            "parse_faults",
        ),
        "._faults",
    ),
    "Knobs": "._models",
    "REDACTED": "._records",
    "RequestRecord": "._records",
    "Emulator": "._server",
    "run_emulator": "._server",
}


def __getattr__(name: str) -> Any:
    import importlib

    home = _HOMES.get(name)
    if home is None:
        raise AttributeError(f"module {__name__!r} has no attribute {name!r}")
    value = getattr(importlib.import_module(home, __name__), name)
    globals()[name] = value
    return value


def __dir__() -> list[str]:
    return sorted(set(globals()) | set(__all__))
