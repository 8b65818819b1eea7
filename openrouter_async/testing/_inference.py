"""The inference endpoints: ``POST /chat/completions``, ``/completions`` and ``/embeddings``.

Each handler runs the same pipeline: read and parse the body (413/400), resolve faults
(header, model suffix, scripted), apply the pre-response faults, validate (400), resolve the
model (400/404), plan the answer, then write it (streamed or not) and record the generation.
"""

from __future__ import annotations

import asyncio
from collections.abc import Mapping
from decimal import Decimal
from typing import Any

from aiohttp import web

from ._catalog import ModelEntry, find_model
from ._chunks import FINGERPRINT, ChatEvents, TextEvents, huge_image
from ._context import Ctx
from ._faults import ErrorIn200, HugeEvent, MidStreamError
from ._models import (
    Knobs,
    Plan,
    assemble_message,
    embedding_vector,
    encode_embedding,
    make_plan,
    split_model,
    tokenize,
    usage_payload,
)
from ._output import EventSource, StreamOutcome, pre_response, send_body, stream_plan
from ._wire import dumps, error_body

__all__ = ["chat_completions", "embeddings", "legacy_completions"]

_ROLES = ("system", "developer", "user", "assistant", "tool")
# OpenRouter's OpenAPI schema states no ranges at all. Kept: the OpenAI-compatible limits the
# API reference documents and OpenAI-style upstreams enforce with a 400 (max_tokens >= 1,
# temperature 0-2, ...). Dropped: the OpenRouter-only samplers (repetition_penalty, min_p,
# top_a, top_k), which OpenRouter forwards to providers that support them and drops for the
# rest; their documented ranges even disagree between pages, so only their type is checked.
_RANGES = {
    "temperature": (0.0, 2.0),
    "top_p": (0.0, 1.0),
    "frequency_penalty": (-2.0, 2.0),
    "presence_penalty": (-2.0, 2.0),
}
_NUMBERS = ("repetition_penalty", "min_p", "top_a")
_INT_MINIMUMS = {"max_tokens": 1, "max_completion_tokens": 1, "top_logprobs": 0}
_INTS = ("top_k",)


async def read_json(ctx: Ctx) -> dict[str, Any]:
    """Read the body (413 past the limit) and parse a JSON object (400 otherwise)."""
    request, limit = ctx.request, ctx.emu.max_body_bytes
    if request.content_length is not None and request.content_length > limit:
        raise ctx.error(413, f"Request body too large: {request.content_length} > {limit} bytes")
    try:
        raw = await request.read()
    except web.HTTPRequestEntityTooLarge:
        raise ctx.error(413, f"Request body too large: more than {limit} bytes") from None
    ctx.raw_body = raw
    ctx.record.body_size = len(raw)
    try:
        body = ctx.emu._loads(raw)
    except ValueError:
        raise ctx.error(400, "Invalid JSON in request body") from None
    ctx.record.body = body
    if not isinstance(body, dict):
        raise ctx.error(400, "Request body must be a JSON object")
    return body


def _check_params(ctx: Ctx, body: Mapping[str, Any]) -> None:
    for key, (lo, hi) in _RANGES.items():
        value = body.get(key)
        if value is None:
            continue
        if isinstance(value, bool) or not isinstance(value, int | float) or not lo <= value <= hi:
            raise ctx.error(400, f"{key}: must be a number between {lo:g} and {hi:g}")
    for key in _NUMBERS:
        value = body.get(key)
        if value is not None and (isinstance(value, bool) or not isinstance(value, int | float)):
            raise ctx.error(400, f"{key}: must be a number")
    for key, minimum in _INT_MINIMUMS.items():
        value = body.get(key)
        if value is None:
            continue
        if isinstance(value, bool) or not isinstance(value, int) or value < minimum:
            raise ctx.error(400, f"{key}: must be an integer >= {minimum}")
    for key in _INTS:
        value = body.get(key)
        if value is not None and (isinstance(value, bool) or not isinstance(value, int)):
            raise ctx.error(400, f"{key}: must be an integer")
    if body.get("stream") is not None and not isinstance(body["stream"], bool):
        raise ctx.error(400, "stream: must be a boolean")
    tools = body.get("tools")
    if tools is not None and (
        not isinstance(tools, list) or not all(isinstance(t, dict) for t in tools)
    ):
        raise ctx.error(400, "tools: must be an array of tool objects")


def _chat_messages(ctx: Ctx, body: Mapping[str, Any]) -> list[Any]:
    messages = body.get("messages")
    if messages is None:
        if isinstance(body.get("prompt"), str):
            return [{"role": "user", "content": body["prompt"]}]
        raise ctx.error(400, 'Input required: specify "prompt" or "messages"')
    if not isinstance(messages, list):
        raise ctx.error(400, "messages: must be an array")
    if not messages:
        raise ctx.error(400, "messages: must contain at least one message")
    for i, msg in enumerate(messages):
        if not isinstance(msg, dict):
            raise ctx.error(400, f"messages[{i}]: must be an object")
        role = msg.get("role")
        if role not in _ROLES:
            raise ctx.error(400, f"messages[{i}].role: invalid role {role!r}")
        if role == "tool" and not isinstance(msg.get("tool_call_id"), str):
            raise ctx.error(400, f"messages[{i}].tool_call_id: required for tool messages")
        if role in ("system", "developer", "user") and msg.get("content") is None:
            raise ctx.error(400, f"messages[{i}].content: required")
    return messages


def _model_and_knobs(ctx: Ctx, body: Mapping[str, Any], *, embed: bool) -> tuple[ModelEntry, Knobs]:
    requested = body.get("model", "emulator/embed" if embed else "emulator/echo")
    if not isinstance(requested, str) or not requested:
        raise ctx.error(400, "model: must be a non-empty string")
    base, knob_texts, _ = split_model(requested)
    if "/" not in base:
        raise ctx.error(400, f"{base} is not a valid model ID")
    candidates = [base] + [
        split_model(m)[0] for m in body.get("models") or [] if isinstance(m, str)
    ]
    entry = next((e for c in candidates if (e := find_model(c)) is not None), None)
    if entry is None:
        raise ctx.error(404, f"No endpoints found for {base}.")
    if (entry.behaviour == "embed") != embed:
        kind = "embeddings" if embed else "chat completions"
        raise ctx.error(404, f"No endpoints found for {entry.id} that support {kind}.")
    knobs = ctx.emu.knobs
    try:
        knobs = knobs.updated(knob_texts)
        header = ctx.request.headers.get("X-Emulator-Options", "")
        pairs = (p.partition("=") for p in header.split(",") if p.strip())
        knobs = knobs.updated({k.strip(): v.strip() for k, _, v in pairs})
        extra = body.get("emulator")
        if isinstance(extra, dict):
            knobs = knobs.updated({k: v for k, v in extra.items() if k != "fault"})
    except (TypeError, ValueError) as exc:
        raise ctx.error(400, f"emulator options: {exc}") from None
    ctx.record.model = entry.id
    return entry, knobs


async def _prelude(ctx: Ctx) -> tuple[dict[str, Any], bool]:
    body = await read_json(ctx)
    ctx.emu._resolve_faults(ctx, body)
    stream = body.get("stream") is True
    await pre_response(ctx, streaming=stream)
    _check_params(ctx, body)
    return body, stream


def _exclude_reasoning(body: Mapping[str, Any]) -> bool:
    cfg = body.get("reasoning")
    return (isinstance(cfg, dict) and cfg.get("exclude") is True) or body.get(
        "include_reasoning"
    ) is False


async def _non_stream_delay(knobs: Knobs, tokens: int) -> None:
    delay = knobs.latency + (tokens / knobs.tps if knobs.tps else 0.0)
    if delay > 0:
        await asyncio.sleep(delay)


async def _respond(
    ctx: Ctx,
    entry: ModelEntry,
    plan: Plan,
    knobs: Knobs,
    source: EventSource,
    build: Any,
    *,
    stream: bool,
    api_type: str,
) -> web.StreamResponse:
    """Shared tail of chat and legacy completions: stream or send, then record the generation."""
    gen_id = ctx.record.generation_id or ""
    headers = {"X-Generation-Id": gen_id}
    outcome = StreamOutcome()
    started = asyncio.get_running_loop().time()
    recorded = False

    def record() -> None:
        nonlocal recorded
        if not recorded:
            recorded = True
            ctx.emu._record_generation(
                ctx,
                entry,
                plan,
                outcome,
                streamed=stream,
                api_type=api_type,
                elapsed=asyncio.get_running_loop().time() - started,
            )

    try:
        if stream:
            headers["Cache-Control"] = "no-cache"
            return await stream_plan(ctx, source, plan, knobs, headers, outcome)
        mid = ctx.find(MidStreamError)
        steps = plan.steps[: mid.after] if mid is not None else plan.steps
        await _non_stream_delay(knobs, len(steps))
        outcome.generated = ctx.record.tokens_sent = len(steps)
        outcome.finish_reason = "error" if mid is not None else plan.finish_reason
        envelope = ctx.find(ErrorIn200)
        if envelope is not None:
            payload = error_body(
                200,
                envelope.message,
                code=envelope.code,
                error_type=envelope.error_type,
                user_id=ctx.emu.user_id,
            )
        else:
            payload = build(steps, outcome.finish_reason, mid)
        # Recorded before the body leaves: a client on the same loop may ask /generation for
        # it as soon as it has read the body.
        record()
        return await send_body(ctx, dumps(payload), headers=headers)
    finally:
        record()


def _error_field(mid: MidStreamError) -> dict[str, Any]:
    return {"code": mid.code, "message": mid.message, "metadata": {"error_type": mid.error_type}}


async def chat_completions(ctx: Ctx) -> web.StreamResponse:
    body, stream = await _prelude(ctx)
    messages = _chat_messages(ctx, body)
    entry, knobs = _model_and_knobs(ctx, body, embed=False)
    gen_id, created = ctx.emu._new_generation_id(ctx)
    plan = make_plan(entry, body, messages, gen_id, knobs)
    exclude = _exclude_reasoning(body)
    source = ChatEvents(gen_id, entry, created, ctx.emu.user_id, exclude)

    def build(steps: Any, finish: str, mid: MidStreamError | None) -> dict[str, Any]:
        msg = assemble_message(steps, exclude_reasoning=exclude)
        huge = ctx.find(HugeEvent)
        if huge is not None:
            msg["images"] = [huge_image(huge.size)]
        choice: dict[str, Any] = {
            "index": 0,
            "finish_reason": finish,
            "native_finish_reason": finish,
            "logprobs": None,
            "message": msg,
        }
        if mid is not None:
            choice["error"] = _error_field(mid)
        reasoning = sum(1 for s in steps if s.kind == "reasoning")
        return {
            "id": gen_id,
            "object": "chat.completion",
            "created": created,
            "model": entry.id,
            "provider": entry.provider,
            "system_fingerprint": FINGERPRINT,
            "choices": [choice],
            "usage": usage_payload(entry, plan.prompt_tokens, len(steps), reasoning),
        }

    return await _respond(
        ctx, entry, plan, knobs, source, build, stream=stream, api_type="completions"
    )


def _prompt_text(ctx: Ctx, prompt: Any) -> str:
    if isinstance(prompt, str):
        return prompt
    if isinstance(prompt, list) and prompt:
        first = prompt[0]
        if isinstance(first, str):
            return first
        if isinstance(first, int):
            return " ".join(str(t) for t in prompt)
        if isinstance(first, list):
            return " ".join(str(t) for t in first)
    raise ctx.error(400, 'Input required: specify "prompt"')


async def legacy_completions(ctx: Ctx) -> web.StreamResponse:
    body, stream = await _prelude(ctx)
    text = _prompt_text(ctx, body.get("prompt"))
    entry, knobs = _model_and_knobs(ctx, body, embed=False)
    gen_id, created = ctx.emu._new_generation_id(ctx)
    messages = [{"role": "user", "content": text}]
    full = make_plan(entry, {**body, "tools": None}, messages, gen_id, knobs)
    plan = Plan(
        tuple(s for s in full.steps if s.kind == "content"), full.finish_reason, full.prompt_tokens
    )
    source = TextEvents(gen_id, entry, created, ctx.emu.user_id)

    def build(steps: Any, finish: str, mid: MidStreamError | None) -> dict[str, Any]:
        choice: dict[str, Any] = {
            "text": "".join(s.text for s in steps),
            "index": 0,
            "logprobs": None,
            "finish_reason": finish,
            "native_finish_reason": finish,
        }
        if mid is not None:
            choice["error"] = _error_field(mid)
        return {
            "id": gen_id,
            "object": "text_completion",
            "created": created,
            "model": entry.id,
            "provider": entry.provider,
            "system_fingerprint": FINGERPRINT,
            "choices": [choice],
            "usage": usage_payload(entry, plan.prompt_tokens, len(steps)),
        }

    return await _respond(
        ctx, entry, plan, knobs, source, build, stream=stream, api_type="completions"
    )


def _embedding_items(ctx: Ctx, value: Any) -> list[Any]:
    if isinstance(value, str):
        items: list[Any] = [value]
    elif isinstance(value, list) and value and all(isinstance(v, int) for v in value):
        items = [value]
    elif isinstance(value, list):
        items = value
    else:
        raise ctx.error(400, 'Input required: specify "input"')
    if not items or any(item == "" or item == [] for item in items):
        raise ctx.error(400, "input: must not be empty")
    return items


def _item_tokens(item: Any) -> int:
    if isinstance(item, str):
        return max(1, len(tokenize(item)))
    if isinstance(item, list) and all(isinstance(t, int) for t in item):
        return len(item)
    return max(1, len(tokenize(dumps(item).decode())))


async def embeddings(ctx: Ctx) -> web.StreamResponse:
    body = await read_json(ctx)
    ctx.emu._resolve_faults(ctx, body)
    await pre_response(ctx, streaming=False)
    items = _embedding_items(ctx, body.get("input"))
    entry, _knobs = _model_and_knobs(ctx, body, embed=True)
    dims = body.get("dimensions", entry.embedding_dims)
    if isinstance(dims, bool) or not isinstance(dims, int) or not 1 <= dims <= entry.embedding_dims:
        raise ctx.error(400, f"dimensions: must be an integer in 1..{entry.embedding_dims}")
    fmt = body.get("encoding_format") or "float"
    if fmt not in ("float", "base64"):
        raise ctx.error(400, "encoding_format: must be 'float' or 'base64'")
    gen_id, _created = ctx.emu._new_generation_id(ctx)
    data = [
        {
            "object": "embedding",
            "index": i,
            "embedding": encode_embedding(embedding_vector(entry.id, item, dims), fmt),
        }
        for i, item in enumerate(items)
    ]
    tokens = sum(_item_tokens(item) for item in items)
    cost = Decimal(entry.prompt_price) * tokens
    payload = {
        "object": "list",
        "id": gen_id,
        "model": entry.id,
        "data": data,
        "usage": {"prompt_tokens": tokens, "total_tokens": tokens, "cost": float(cost)},
    }
    plan = Plan((), "stop", tokens)
    outcome = StreamOutcome(finish_reason="stop")
    ctx.emu._record_generation(
        ctx, entry, plan, outcome, streamed=False, api_type="embeddings", elapsed=0.0
    )
    return await send_body(ctx, dumps(payload), headers={"X-Generation-Id": gen_id})
