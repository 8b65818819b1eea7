"""Built-in deterministic model behaviours, token counting, pricing and per-request knobs.

A behaviour turns a request body into a :class:`Plan`: a list of steps, one per emitted token
(a content word, a reasoning word, or a tool-call fragment), plus the finish reason and the
prompt token count. The server streams the steps one chunk each, or folds them into a single
message for a non-streaming reply, so both modes always agree on content and usage.
"""

from __future__ import annotations

import base64
import hashlib
import json
import math
import re
import struct
from collections.abc import Mapping, Sequence
from decimal import Decimal
from typing import Any

import attrs

from ._catalog import ModelEntry

__all__ = [
    "MAX_TOKENS_KNOB",
    "Knobs",
    "Plan",
    "Step",
    "assemble_message",
    "count_prompt_tokens",
    "embedding_vector",
    "encode_embedding",
    "example_for_schema",
    "make_plan",
    "split_model",
    "tokenize",
    "usage_payload",
]

_WORD = re.compile(r"\s*\S+")

LOREM = (
    "Lorem",
    "ipsum",
    "dolor",
    "sit",
    "amet,",
    "consectetur",
    "adipiscing",
    "elit,",
    "sed",
    "do",
    "eiusmod",
    "tempor",
    "incididunt",
    "ut",
    "labore",
    "et",
    "dolore",
    "magna",
    "aliqua.",
    "Ut",
    "enim",
    "ad",
    "minim",
    "veniam,",
    "quis",
    "nostrud",
    "exercitation",
    "ullamco",
    "laboris",
    "nisi",
    "ut",
    "aliquip",
    "ex",
    "ea",
    "commodo",
    "consequat.",
)


def tokenize(text: str) -> list[str]:
    """Words with their leading whitespace: ``"a b "`` -> ``["a", " b "]``; a word is a token."""
    tokens = _WORD.findall(text)
    if tokens:
        tail = text[sum(len(t) for t in tokens) :]
        tokens[-1] += tail
    return tokens


#: Largest ``tokens`` knob: a plan holds every token up front, so an unbounded count would let
#: one request make the emulator allocate gigabytes.
MAX_TOKENS_KNOB = 100_000


def _check_tokens(_instance: object, _attribute: object, tokens: int) -> None:
    if not 0 <= tokens <= MAX_TOKENS_KNOB:
        raise ValueError(f"tokens must be between 0 and {MAX_TOKENS_KNOB} (the emulator's cap)")


@attrs.frozen
class Knobs:
    """Per-request behaviour and pacing (every field also has an Emulator-wide default).

    ``tokens``: emulator/lorem length. ``tps``: tokens per second (None = as fast as possible).
    ``latency``: seconds before the first token. ``comments``/``interval``: how many
    ``: OPENROUTER PROCESSING`` comments precede the first token, and the gap between them.
    ``calls``: how many tool calls emulator/tools makes (first N tools). ``tokens`` past
    ``MAX_TOKENS_KNOB`` raises ``ValueError`` (from a request: a 400).
    """

    tokens: int = attrs.field(default=16, validator=_check_tokens)
    tps: float | None = None
    latency: float = 0.0
    comments: int = 1
    interval: float = 0.0
    calls: int = 1

    def updated(self, values: Mapping[str, Any]) -> Knobs:
        """Override from text or JSON values; unknown keys raise ValueError."""
        changes: dict[str, Any] = {}
        for key, raw in values.items():
            if key in ("tokens", "comments", "calls"):
                changes[key] = int(raw)
                if changes[key] < 0:
                    raise ValueError(f"{key} must be >= 0")
            elif key == "tps":
                tps = None if str(raw).lower() in ("none", "0", "inf") else float(raw)
                changes[key] = tps
            elif key in ("latency", "interval"):
                changes[key] = float(raw)
            else:
                raise ValueError(f"unknown emulator option {key!r}")
        return attrs.evolve(self, **changes)


def split_model(model: str) -> tuple[str, dict[str, str], str | None]:
    """``"emulator/lorem:tokens=5:fault=drop(2)"`` -> base id, knob texts, fault spec.

    Everything after ``:fault=`` belongs to the fault spec. Suffixes that are not
    ``key=value`` (``:free``, ``:nitro``…) are accepted and ignored.
    """
    fault: str | None = None
    head, sep, tail = model.partition(":fault=")
    if sep:
        fault = tail
    base, *variants = head.split(":")
    knobs: dict[str, str] = {}
    for variant in variants:
        key, eq, value = variant.partition("=")
        if eq:
            knobs[key.strip()] = value.strip()
    return base, knobs, fault


@attrs.frozen
class Step:
    """One emitted token: ``kind`` is ``"content"``, ``"reasoning"`` or ``"tool"``."""

    kind: str
    text: str
    index: int = 0
    call_id: str | None = None
    name: str | None = None


@attrs.frozen
class Plan:
    steps: tuple[Step, ...]
    finish_reason: str
    prompt_tokens: int

    @property
    def completion_tokens(self) -> int:
        return len(self.steps)

    @property
    def reasoning_tokens(self) -> int:
        return sum(1 for s in self.steps if s.kind == "reasoning")


def _text_of(content: Any) -> str:
    if isinstance(content, str):
        return content
    if isinstance(content, list):
        return " ".join(
            str(p.get("text", ""))
            for p in content
            if isinstance(p, dict) and p.get("type") == "text"
        )
    return ""


def count_prompt_tokens(messages: Sequence[Any]) -> int:
    """3 per message + 1 per word of text content + 1 per non-text content part."""
    total = 0
    for msg in messages:
        if not isinstance(msg, dict):
            continue
        content = msg.get("content")
        total += 3 + len(tokenize(_text_of(content)))
        if isinstance(content, list):
            total += sum(
                1 for p in content if not (isinstance(p, dict) and p.get("type") == "text")
            )
    return total


def _last_user_text(messages: Sequence[Any]) -> str:
    for msg in reversed(messages):
        if isinstance(msg, dict) and msg.get("role") == "user":
            return _text_of(msg.get("content"))
    return ""


def _content_steps(text: str) -> list[Step]:
    return [Step("content", tok) for tok in tokenize(text)]


def example_for_schema(schema: Any, root: Any = None, depth: int = 0) -> Any:
    """A deterministic value matching ``schema``: its required properties, with defaults by type.

    ``const``/``default``/first ``enum``/first ``examples`` win; otherwise string ``""``,
    number/integer ``0`` (or ``minimum``), boolean ``false``, array ``[]`` (``minItems`` copies
    of the item example), null ``null``; objects list their ``required`` properties in order.
    Local ``$ref`` (``#/$defs/…``, ``#/definitions/…``) is followed.
    """
    root = schema if root is None else root
    if not isinstance(schema, dict) or depth > 32:
        return None
    if "$ref" in schema and isinstance(schema["$ref"], str) and schema["$ref"].startswith("#/"):
        target: Any = root
        for part in schema["$ref"][2:].split("/"):
            target = target.get(part) if isinstance(target, dict) else None
        return example_for_schema(target, root, depth + 1)
    for key in ("const", "default"):
        if key in schema:
            return schema[key]
    for key in ("enum", "examples"):
        if isinstance(schema.get(key), list) and schema[key]:
            return schema[key][0]
    for key in ("anyOf", "oneOf", "allOf"):
        if isinstance(schema.get(key), list) and schema[key]:
            return example_for_schema(schema[key][0], root, depth + 1)
    typ = schema.get("type")
    if isinstance(typ, list):
        typ = next((t for t in typ if t != "null"), "null")
    if typ is None and "properties" in schema:
        typ = "object"
    if typ == "object":
        props = schema.get("properties") or {}
        return {
            name: example_for_schema(props.get(name, {}), root, depth + 1)
            for name in schema.get("required") or []
            if isinstance(name, str)
        }
    if typ == "array":
        n = int(schema.get("minItems", 0) or 0)
        return [example_for_schema(schema.get("items", {}), root, depth + 1) for _ in range(n)]
    if typ == "string":
        return "x" * int(schema.get("minLength", 0) or 0)
    if typ in ("number", "integer"):
        minimum = schema.get("minimum", schema.get("exclusiveMinimum"))
        return minimum if isinstance(minimum, int | float) else 0
    if typ == "boolean":
        return False
    return None


def _call_id(gen_id: str, index: int) -> str:
    return "call_" + hashlib.sha256(f"{gen_id}/{index}".encode()).hexdigest()[:24]


def _split_fragments(text: str, size: int = 8) -> list[str]:
    return [text[i : i + size] for i in range(0, len(text), size)] or [""]


def _tool_steps(body: Mapping[str, Any], gen_id: str, knobs: Knobs) -> list[Step] | None:
    tools = [
        t
        for t in body.get("tools") or []
        if isinstance(t, dict) and t.get("type", "function") == "function"
    ]
    choice = body.get("tool_choice")
    if not tools or choice == "none":
        return None
    if isinstance(choice, dict) and isinstance(choice.get("function"), dict):
        wanted = choice["function"].get("name")
        tools = [t for t in tools if t.get("function", {}).get("name") == wanted] or tools
    steps: list[Step] = []
    for index, tool in enumerate(tools[: max(knobs.calls, 1)]):
        fn = tool.get("function") or {}
        name = str(fn.get("name", "tool"))
        args = json.dumps(
            example_for_schema(fn.get("parameters") or {"type": "object"}) or {},
            separators=(",", ":"),
            ensure_ascii=False,
        )
        steps.append(Step("tool", "", index, _call_id(gen_id, index), name))
        steps.extend(Step("tool", frag, index) for frag in _split_fragments(args))
    return steps


def make_plan(
    model: ModelEntry, body: Mapping[str, Any], messages: Sequence[Any], gen_id: str, knobs: Knobs
) -> Plan:
    """What ``model`` answers to ``messages`` (see the module docstring of ``testing``)."""
    behaviour = model.behaviour
    last_text = _last_user_text(messages)
    finish = "stop"
    steps: list[Step]
    if behaviour == "lorem":
        steps = [
            Step("content", (" " if i else "") + LOREM[i % len(LOREM)]) for i in range(knobs.tokens)
        ]
    elif behaviour == "tools":
        last = messages[-1] if messages else {}
        tool_steps = None
        if isinstance(last, dict) and last.get("role") == "tool":
            steps = _content_steps(f"The tool returned: {_text_of(last.get('content'))}")
        elif (tool_steps := _tool_steps(body, gen_id, knobs)) is not None:
            steps, finish = tool_steps, "tool_calls"
        else:
            steps = _content_steps("I have no tools to call.")
    elif behaviour == "reasoning":
        cfg = body.get("reasoning")
        reasoning_cfg: Mapping[str, Any] = cfg if isinstance(cfg, dict) else {}
        thinking = reasoning_cfg.get("effort") != "none" and body.get("reasoning_effort") != "none"
        steps = []
        if thinking:
            words = len(tokenize(last_text))
            thought = f"The user wrote {words} words. I will repeat them back."
            steps = [Step("reasoning", tok) for tok in tokenize(thought)]
        steps += _content_steps(last_text)
    elif behaviour == "json":
        fmt = body.get("response_format")
        value: Any = {"answer": last_text}
        if isinstance(fmt, dict) and fmt.get("type") == "json_schema":
            js = fmt.get("json_schema") or {}
            value = example_for_schema(js.get("schema") if isinstance(js, dict) else {})
        steps = _content_steps(json.dumps(value, ensure_ascii=False))
    else:  # echo
        steps = _content_steps(last_text)
    limit = body.get("max_completion_tokens", body.get("max_tokens"))
    if isinstance(limit, int) and limit < len(steps):
        steps, finish = steps[:limit], "length"
    return Plan(tuple(steps), finish, count_prompt_tokens(messages))


def assemble_message(steps: Sequence[Step], *, exclude_reasoning: bool = False) -> dict[str, Any]:
    """Fold steps into a non-streaming ``message`` (§3.3 key order)."""
    content = "".join(s.text for s in steps if s.kind == "content")
    reasoning = "".join(s.text for s in steps if s.kind == "reasoning")
    calls: dict[int, dict[str, Any]] = {}
    for s in steps:
        if s.kind != "tool":
            continue
        call = calls.setdefault(
            s.index, {"id": s.call_id, "type": "function", "function": {"name": s.name}}
        )
        fn = call["function"]
        fn["arguments"] = fn.get("arguments", "") + s.text
    has_content = any(s.kind == "content" for s in steps)
    msg: dict[str, Any] = {
        "role": "assistant",
        "content": content if has_content or not calls else None,
        "refusal": None,
        "reasoning": reasoning if reasoning and not exclude_reasoning else None,
    }
    if reasoning and not exclude_reasoning:
        msg["reasoning_details"] = [
            {"type": "reasoning.text", "text": reasoning, "format": "unknown", "index": 0}
        ]
    if calls:
        msg["tool_calls"] = [calls[i] for i in sorted(calls)]
    return msg


def _cost(price: str, tokens: int) -> Decimal:
    return Decimal(price) * tokens


def usage_payload(
    model: ModelEntry, prompt_tokens: int, completion_tokens: int, reasoning_tokens: int = 0
) -> dict[str, Any]:
    """Usage with cost = tokens x the catalog price, in §4.7 key order."""
    pc = _cost(model.prompt_price, prompt_tokens)
    cc = _cost(model.completion_price, completion_tokens)
    return {
        "prompt_tokens": prompt_tokens,
        "completion_tokens": completion_tokens,
        "total_tokens": prompt_tokens + completion_tokens,
        "cost": float(pc + cc),
        "is_byok": False,
        "prompt_tokens_details": {"cached_tokens": 0, "audio_tokens": 0},
        "cost_details": {
            "upstream_inference_cost": None,
            "upstream_inference_prompt_cost": float(pc),
            "upstream_inference_completions_cost": float(cc),
        },
        "completion_tokens_details": {"reasoning_tokens": reasoning_tokens, "image_tokens": 0},
    }


def embedding_vector(model_id: str, item: Any, dims: int) -> list[float]:
    """Unit-length float32-exact vector from SHA-256 of the model and input (stable forever)."""
    key = (
        json.dumps(item, sort_keys=True, ensure_ascii=False) if not isinstance(item, str) else item
    )
    seed = hashlib.sha256(f"{model_id}\0{key}".encode()).digest()
    raw: list[float] = []
    counter = 0
    while len(raw) < dims:
        block = hashlib.sha256(seed + counter.to_bytes(4, "little")).digest()
        raw.extend(
            int.from_bytes(block[i : i + 4], "little") / 2**31 - 1.0 for i in range(0, 32, 4)
        )
        counter += 1
    raw = raw[:dims]
    norm = math.sqrt(sum(v * v for v in raw)) or 1.0
    packed = struct.pack(f"<{dims}f", *(v / norm for v in raw))
    return list(struct.unpack(f"<{dims}f", packed))


def encode_embedding(vector: Sequence[float], encoding_format: str) -> list[float] | str:
    """``float`` -> the list; ``base64`` -> little-endian float32 bytes, base64 (as OpenAI)."""
    if encoding_format == "base64":
        return base64.b64encode(struct.pack(f"<{len(vector)}f", *vector)).decode()
    return list(vector)
