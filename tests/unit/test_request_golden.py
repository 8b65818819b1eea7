"""Golden request bodies: each kind of request, built from the attrs classes, must encode to exactly
the bytes stored in ``tests/golden/requests/<name>.json``.

The files hold the body exactly as sent (compact orjson output) plus a trailing newline. They were
written once from reviewed output. After an intended change of the wire format, regenerate them
with::

    UPDATE_GOLDEN=1 .venv/bin/python -m pytest tests/unit/test_request_golden.py

then review ``git diff tests/golden/requests`` before committing: every changed byte is a change of
what the SDK sends. Without ``UPDATE_GOLDEN`` a missing or different file fails the test.
"""

from __future__ import annotations

import os
from collections.abc import Callable
from pathlib import Path
from typing import Any

import orjson
import pytest

from openrouter_async.types.chat_request import ChatRequest, chat_request_body, coerce_chat_request
from openrouter_async.types.content import (
    AudioPart,
    CacheControl,
    FileData,
    FilePart,
    ImagePart,
    ImageURL,
    InputAudio,
    PromptCacheBreakpoint,
    PromptCacheOptions,
    TextPart,
    VideoPart,
    VideoURL,
)
from openrouter_async.types.messages import (
    AssistantMessage,
    DeveloperMessage,
    SystemMessage,
    ToolCall,
    ToolCallFunction,
    ToolMessage,
    UserMessage,
)
from openrouter_async.types.options import (
    ContextCompressionPlugin,
    DebugOptions,
    FileParserPlugin,
    MaxPrice,
    PdfParserOptions,
    Percentiles,
    Plugin,
    ProviderPreferences,
    ProviderSort,
    Reasoning,
    ResponseHealingPlugin,
    StreamOptions,
    Trace,
    UsageOptions,
    WebPlugin,
    WebSearchOptions,
)
from openrouter_async.types.tools import (
    FunctionDefinition,
    JSONSchemaSpec,
    NamedToolChoice,
    Prediction,
    ResponseFormatGrammar,
    ResponseFormatJSONObject,
    ResponseFormatJSONSchema,
    ResponseFormatPython,
    ResponseFormatText,
    ServerTool,
    ServerToolChoice,
    Tool,
)

GOLDEN_DIR = Path(__file__).resolve().parent.parent / "golden" / "requests"
UPDATE = os.environ.get("UPDATE_GOLDEN") == "1"

MODEL = "openai/gpt-4o-mini"
HI = UserMessage(content="Hi")
WEATHER_SCHEMA = {
    "type": "object",
    "properties": {"city": {"type": "string"}, "unit": {"enum": ["c", "f"]}},
    "required": ["city"],
    "additionalProperties": False,
}


def text_chat() -> ChatRequest:
    return ChatRequest(
        model=MODEL,
        messages=[
            SystemMessage(content="You are terse."),
            DeveloperMessage(content=[TextPart(text="Answer in English.")], name="ops"),
            UserMessage(content="Capital of France?", name="alice"),
            AssistantMessage(content="The capital is"),
        ],
        max_tokens=64,
        max_completion_tokens=64,
        temperature=0.2,
        top_p=0.9,
        frequency_penalty=0.5,
        presence_penalty=-0.5,
        seed=42,
        stop=["\n\n", "END"],
        user="user-1234",
        session_id="session-abc",
        metadata={"app": "golden", "run": "1"},
    )


def multimodal() -> ChatRequest:
    return ChatRequest(
        model="google/gemini-2.5-flash",
        messages=[
            UserMessage(
                content=[
                    TextPart(
                        text="Describe all of these.",
                        cache_control=CacheControl(ttl="1h"),
                        prompt_cache_breakpoint=PromptCacheBreakpoint(),
                    ),
                    ImagePart(image_url=ImageURL(url="https://example.com/cat.png", detail="high")),
                    ImagePart(image_url="data:image/png;base64,iVBORw0KGgo="),
                    AudioPart(input_audio=InputAudio(data="UklGRiQAAABXQVZF", format="wav")),
                    FilePart(
                        file=FileData(
                            filename="paper.pdf", file_data="data:application/pdf;base64,JVBERi0x"
                        )
                    ),
                    FilePart(file=FileData(file_id="file-123")),
                    VideoPart(video_url=VideoURL(url="https://example.com/clip.mp4")),
                    VideoPart(type="input_video", video_url="https://example.com/old.mp4"),
                ]
            )
        ],
    )


def _tools() -> list[Tool | ServerTool]:
    return [
        Tool(
            function=FunctionDefinition(
                name="get_weather",
                description="Current weather for a city",
                parameters=WEATHER_SCHEMA,
                strict=True,
            ),
            cache_control=CacheControl(),
        ),
        Tool.define("get-time_2", "Current time"),
        ServerTool(type="openrouter:web_search", parameters={"max_results": 3, "engine": "exa"}),
        ServerTool(type="openrouter:datetime"),
    ]


def tools_named_choice() -> ChatRequest:
    return ChatRequest(
        model=MODEL,
        messages=[HI],
        tools=_tools(),
        tool_choice=NamedToolChoice(function="get_weather"),
        parallel_tool_calls=False,
    )


def tools_server_choice() -> ChatRequest:
    return ChatRequest(
        model=MODEL,
        messages=[HI],
        tools=_tools(),
        tool_choice=ServerToolChoice(type="openrouter:web_search"),
    )


def tools_required_choice() -> ChatRequest:
    return ChatRequest(model=MODEL, messages=[HI], tools=_tools(), tool_choice="required")


def tool_loop() -> ChatRequest:
    """A second turn of a tool loop: the assistant's call (with signed reasoning) and the result."""
    return ChatRequest(
        model="anthropic/claude-sonnet-4",
        messages=[
            UserMessage(content="Weather in Paris?"),
            AssistantMessage(
                content=None,
                tool_calls=[
                    ToolCall(
                        id="call_1",
                        function=ToolCallFunction(name="get_weather", arguments='{"city":"Paris"}'),
                    )
                ],
                reasoning="The user wants the weather.",
                reasoning_details=[
                    {
                        "type": "reasoning.text",
                        "text": "The user wants the weather.",
                        "signature": "sig==",
                        "format": "anthropic-claude-v1",
                        "index": 0,
                    },
                    {"type": "reasoning.encrypted", "data": "b64==", "id": None},
                ],
            ),
            ToolMessage(tool_call_id="call_1", content='{"temp_c": 21}', name="get_weather"),
        ],
        tools=[Tool.define("get_weather", "Current weather", WEATHER_SCHEMA)],
        tool_choice="auto",
    )


def response_format_text() -> ChatRequest:
    return ChatRequest(model=MODEL, messages=[HI], response_format=ResponseFormatText())


def response_format_json_object() -> ChatRequest:
    return ChatRequest(model=MODEL, messages=[HI], response_format=ResponseFormatJSONObject())


def response_format_json_schema() -> ChatRequest:
    return ChatRequest(
        model=MODEL,
        messages=[HI],
        response_format=ResponseFormatJSONSchema(
            json_schema=JSONSchemaSpec(
                name="weather", description="A forecast", schema=WEATHER_SCHEMA, strict=True
            )
        ),
    )


def response_format_grammar() -> ChatRequest:
    return ChatRequest(
        model=MODEL,
        messages=[HI],
        response_format=ResponseFormatGrammar(grammar='root ::= "yes" | "no"'),
    )


def response_format_python() -> ChatRequest:
    return ChatRequest(model=MODEL, messages=[HI], response_format=ResponseFormatPython())


def reasoning() -> ChatRequest:
    return ChatRequest(
        model="openai/gpt-5.6",
        messages=[HI],
        reasoning=Reasoning(
            effort="high",
            exclude=False,
            enabled=True,
            summary="detailed",
            context="all_turns",
            mode="pro",
        ),
        reasoning_effort="high",
        include_reasoning=True,
        verbosity="low",
    )


def reasoning_budget() -> ChatRequest:
    return ChatRequest(
        model="anthropic/claude-sonnet-4",
        messages=[HI],
        max_tokens=4096,
        reasoning=Reasoning(max_tokens=2048, exclude=True),
    )


def provider_full() -> ChatRequest:
    return ChatRequest(
        model="meta-llama/llama-3.3-70b-instruct",
        models=["qwen/qwen3-32b", "mistralai/mistral-small"],
        messages=[HI],
        provider=ProviderPreferences(
            order=["deepinfra/turbo", "Together"],
            allow_fallbacks=False,
            require_parameters=True,
            data_collection="deny",
            zdr=True,
            enforce_distillable_text=False,
            only=["deepinfra", "together"],
            ignore=["azure"],
            quantizations=["fp8", "bf16"],
            sort=ProviderSort(by="throughput", partition="none"),
            preferred_min_throughput=Percentiles(p50=100, p90=50.5),
            preferred_max_latency=Percentiles(p75=1.5, p99=3),
            max_price=MaxPrice(prompt=1, completion="2.5", image=0.01, audio=0, request="0.001"),
        ),
        route="fallback",
    )


def provider_simple_forms() -> ChatRequest:
    return ChatRequest(
        model=MODEL,
        messages=[HI],
        provider=ProviderPreferences(
            sort="price", preferred_min_throughput=20, preferred_max_latency=0.5
        ),
    )


def plugins() -> ChatRequest:
    return ChatRequest(
        model=MODEL,
        messages=[HI],
        plugins=[
            WebPlugin(
                engine="exa",
                mode="deep",
                max_results=3,
                search_prompt="Sources:",
                include_domains=["example.com"],
                exclude_domains=["spam.example"],
                max_uses=2,
                user_location={"type": "approximate", "approximate": {"country": "FR"}},
            ),
            FileParserPlugin(pdf=PdfParserOptions(engine="mistral-ocr")),
            ResponseHealingPlugin(),
            ContextCompressionPlugin(enabled=False, engine="middle-out"),
            Plugin(id="moderation"),
            {"id": "auto-router", "allowed_models": ["anthropic/*"], "cost_quality_tradeoff": 7},
        ],
    )


def prediction() -> ChatRequest:
    return ChatRequest(
        model=MODEL,
        messages=[UserMessage(content="Rename x to y in: x = 1")],
        prediction=Prediction(content="y = 1"),
    )


def prediction_parts() -> ChatRequest:
    return ChatRequest(
        model=MODEL,
        messages=[HI],
        prediction=Prediction(content=[TextPart(text="y = "), TextPart(text="1")]),
    )


def options() -> ChatRequest:
    """Every remaining top-level field."""
    return ChatRequest(
        model="openai/gpt-4o",
        messages=[HI],
        stream=True,
        stream_options=StreamOptions(include_usage=True),
        top_k=40,
        repetition_penalty=1.1,
        min_p=0.05,
        top_a=0.2,
        logit_bias={50256: -100, "1234": 2.5},
        logprobs=True,
        top_logprobs=5,
        stop="STOP",
        usage=UsageOptions(include=True),
        transforms=["middle-out"],
        trace=Trace(trace_id="t-1", trace_name="golden", span_name="s", parent_span_id="p-0"),
        web_search_options=WebSearchOptions(
            search_context_size="high", max_results=4, engine="native"
        ),
        modalities=["text", "image"],
        image_config={"aspect_ratio": "16:9", "num_images": 1},
        service_tier="flex",
        cache_control=CacheControl(ttl="5m"),
        prompt_cache_key="key-1",
        prompt_cache_options=PromptCacheOptions(ttl="1h"),
        stop_server_tools_when=[
            {"type": "step_count_is", "step_count": 5},
            {"type": "max_cost", "max_cost_in_dollars": 0.5},
        ],
        debug=DebugOptions(echo_upstream_body=True),
    )


def open_trace() -> ChatRequest:
    return ChatRequest(
        messages=[HI], trace={"trace_id": "t-2", "environment": "prod", "tags": ["a", "b"]}
    )


def extra_body() -> ChatRequest:
    return ChatRequest(
        model=MODEL,
        messages=[HI],
        temperature=0.5,
        extra_body={"temperature": 0.1, "safe_prompt": True, "provider": {"order": ["mistral"]}},
    )


# Issue #15: each value below was refused before sending although OpenRouter accepts it (newer
# fields and values, or values its OpenAPI description documents as valid). Built from plain
# dicts, as a user writes them; the golden file shows each one sent unchanged.
FORWARD_COMPAT: dict[str, Any] = {
    "model": "openai/gpt-5",
    "preset": "my-preset",
    "service_tier": "ultrafast",
    "modalities": ["text", "video"],
    "messages": [
        {"role": "system", "content": ""},
        {"role": "user", "content": []},
        {
            "role": "user",
            "content": [
                {"type": "file", "file": {"filename": "notes.pdf"}},
                {"type": "tool_addition", "tool": {"type": "tool_reference", "name": "f"}},
                {"type": "image_url", "image_url": {"url": "s3://bucket/cat.png"}},
            ],
        },
        {"role": "assistant"},
        {
            "role": "assistant",
            "model": "openai/gpt-5",
            "content": "Here it is.",
            "images": [{"image_url": {"url": "iVBORw0KGgoAAAANSUhEUg=="}}],
            "tool_calls": [],
        },
        {"role": "tool", "tool_call_id": "", "content": "done"},
    ],
    "top_p": 0,
    "top_k": 0,
    "top_logprobs": 3,
    "repetition_penalty": 3.5,
    "min_p": 2,
    "top_a": 5,
    "max_tokens": 0,
    "logit_bias": {"abc": 500, "-1": -250},
    "models": [""],
    "tools": [
        {
            "type": "function",
            "function": {"name": "get_weather", "parameters": WEATHER_SCHEMA},
            "defer_loading": True,
        },
        {"type": "function", "function": {"name": "lookup"}},
        {"type": "openrouter:tool_search"},
        {
            "type": "web_search",
            "engine": "exa",
            "max_results": 3,
            "search_context_size": "high",
            "allowed_domains": ["example.com"],
        },
    ],
    "tool_choice": {
        "type": "allowed_tools",
        "mode": "required",
        "tools": [{"type": "function", "name": "get_weather"}],
    },
    "provider": {
        "order": ["openai", ""],
        "sort": "cheapest-first",
        "options": {"openai": {"store": False}},
    },
    "web_search_options": {"search_context_size": "huge", "max_uses": 2, "freshness": "week"},
    "reasoning": {"effort": "ultra", "new_knob": 1},
    "plugins": [{"id": "web", "engine": "", "max_results": 0, "future_option": [1, 2]}],
    "response_format": {"type": "grammar", "grammar": ""},
    "trace": {"trace_id": "t-1", "custom": {"k": 1}},
}


def forward_compat() -> ChatRequest:
    return coerce_chat_request(FORWARD_COMPAT)


def extra_body_deep() -> ChatRequest:
    return ChatRequest(
        model=MODEL,
        messages=[HI],
        provider=ProviderPreferences(order=["openai", "azure"], allow_fallbacks=False),
        reasoning=Reasoning(effort="low"),
        stop=["a", "b"],
        extra_body={
            "provider": {"options": {"openai": {"store": False}}, "allow_fallbacks": True},
            "reasoning": {"summary": "concise"},
            "stop": ["c"],
            "deferred_tools": [{"type": "function", "function": {"name": "later"}}],
        },
    )


CASES: dict[str, Callable[[], ChatRequest]] = {
    fn.__name__: fn
    for fn in (
        text_chat,
        multimodal,
        tools_named_choice,
        tools_server_choice,
        tools_required_choice,
        tool_loop,
        response_format_text,
        response_format_json_object,
        response_format_json_schema,
        response_format_grammar,
        response_format_python,
        reasoning,
        reasoning_budget,
        provider_full,
        provider_simple_forms,
        plugins,
        prediction,
        prediction_parts,
        options,
        open_trace,
        extra_body,
        forward_compat,
        extra_body_deep,
    )
}
# Bodies that are a plain ChatRequest again when parsed (extra_body adds keys the SDK rejects).
REPARSABLE = sorted(set(CASES) - {"extra_body", "extra_body_deep"})


def golden_path(name: str) -> Path:
    return GOLDEN_DIR / f"{name}.json"


@pytest.mark.parametrize("name", sorted(CASES))
def test_golden_body(name: str) -> None:
    body = chat_request_body(CASES[name]()) + b"\n"
    path = golden_path(name)
    if UPDATE:
        GOLDEN_DIR.mkdir(parents=True, exist_ok=True)
        path.write_bytes(body)
    assert path.exists(), f"missing {path}; run with UPDATE_GOLDEN=1 to write it"
    assert body == path.read_bytes()


@pytest.mark.parametrize("name", REPARSABLE)
def test_golden_body_as_kwargs_gives_same_bytes(name: str) -> None:
    """The golden JSON, passed back as plain keyword arguments, encodes to the same bytes."""
    golden = golden_path(name).read_bytes()
    request = coerce_chat_request(**orjson.loads(golden))
    assert chat_request_body(request) + b"\n" == golden
    assert request == CASES[name]()


def test_every_golden_file_has_a_case() -> None:
    assert sorted(p.stem for p in GOLDEN_DIR.glob("*.json")) == sorted(CASES)


def test_extra_body_golden_overrides_and_adds() -> None:
    body = orjson.loads(golden_path("extra_body").read_bytes())
    assert body["temperature"] == 0.1
    assert body["safe_prompt"] is True
    assert body["provider"] == {"order": ["mistral"]}
    assert "extra_body" not in body


def test_forward_compat_golden_sends_every_value_as_given() -> None:
    body = orjson.loads(golden_path("forward_compat").read_bytes())
    assert body == FORWARD_COMPAT


def test_extra_body_merges_deeply_and_keeps_typed_siblings() -> None:
    body = orjson.loads(golden_path("extra_body_deep").read_bytes())
    assert body["provider"] == {
        "order": ["openai", "azure"],  # typed, kept
        "allow_fallbacks": True,  # overridden by extra_body
        "options": {"openai": {"store": False}},  # added
    }
    assert body["reasoning"] == {"effort": "low", "summary": "concise"}
    assert body["stop"] == ["c"]  # lists are replaced, not concatenated
    assert body["deferred_tools"] == [{"type": "function", "function": {"name": "later"}}]
