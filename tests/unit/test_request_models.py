"""Request models: constructors, coercion from plain values, validation paths, the body encoder,
and properties (valid requests round-trip through JSON; garbage raises only our error)."""

from __future__ import annotations

import math
import re
from collections.abc import Callable
from typing import Any

import attrs
import orjson
import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from openrouter_async._errors import RequestValidationError
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
from openrouter_async.types.responses import ChatMessage, FunctionCall
from openrouter_async.types.responses import ToolCall as ResponseToolCall
from openrouter_async.types.tools import (
    FunctionDefinition,
    FunctionName,
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

HI = {"role": "user", "content": "Hi"}
FIELDS = [field.name for field in attrs.fields(ChatRequest)]


def body(**kwargs: Any) -> dict[str, Any]:
    result: dict[str, Any] = orjson.loads(chat_request_body(coerce_chat_request(**kwargs)))
    return result


# --- constructors and conveniences ---


def test_minimal_request_sends_only_what_was_set() -> None:
    request = ChatRequest(messages=[UserMessage(content="Hi")])
    assert chat_request_body(request) == b'{"messages":[{"role":"user","content":"Hi"}]}'


def test_none_fields_are_omitted_everywhere() -> None:
    request = coerce_chat_request(
        model=None,
        messages=[
            {"role": "user", "content": "Hi", "name": None},
            {"role": "assistant", "content": "Hello", "tool_calls": None, "reasoning": None},
        ],
        temperature=None,
        provider={"order": None, "sort": None, "allow_fallbacks": False},
        reasoning={"effort": None},
    )
    assert orjson.loads(chat_request_body(request)) == {
        "messages": [
            {"role": "user", "content": "Hi"},
            {"role": "assistant", "content": "Hello"},
        ],
        "provider": {"allow_fallbacks": False},
        "reasoning": {},
    }


def test_discriminators_are_always_sent() -> None:
    assert body(messages=[HI], response_format={"type": "json_object"})["response_format"] == {
        "type": "json_object"
    }
    assert body(messages=[HI], cache_control={})["cache_control"] == {"type": "ephemeral"}


def test_plain_string_content_and_part_shortcuts() -> None:
    assert UserMessage(content="hi").content == "hi"
    part = ImagePart(image_url="https://example.com/a.png")
    assert part.image_url == ImageURL(url="https://example.com/a.png")
    assert VideoPart(video_url="https://example.com/v.mp4").video_url.url.endswith("v.mp4")
    assert NamedToolChoice(function="f").function == FunctionName(name="f")


def test_tool_define() -> None:
    tool = Tool.define("get_weather", "Weather", {"type": "object"}, strict=True)
    assert tool == Tool(
        function=FunctionDefinition(
            name="get_weather", description="Weather", parameters={"type": "object"}, strict=True
        )
    )
    with pytest.raises(RequestValidationError) as info:
        Tool.define("bad name")
    assert info.value.path == "function.name"


def test_sequences_become_tuples_and_objects_are_kept() -> None:
    message = UserMessage(content="x")
    request = ChatRequest(messages=[message], stop=["a"], models=["m/a"])
    assert request.messages == (message,)
    assert request.messages[0] is message
    assert request.stop == ("a",)
    assert request.models == ("m/a",)


def test_mixed_objects_and_dicts() -> None:
    request = coerce_chat_request(
        messages=[
            SystemMessage(content="sys"),
            {"role": "user", "content": [TextPart(text="a"), {"type": "text", "text": "b"}]},
        ],
        tools=[Tool.define("f"), {"type": "function", "function": {"name": "g"}}],
    )
    assert request.messages[1] == UserMessage(content=[TextPart(text="a"), TextPart(text="b")])
    assert request.tools == (Tool.define("f"), Tool.define("g"))


def test_logit_bias_int_keys_become_strings() -> None:
    assert body(messages=[HI], logit_bias={50256: -100, "7": 1})["logit_bias"] == {
        "50256": -100,
        "7": 1,
    }


def test_reasoning_content_alias_on_assistant_messages() -> None:
    request = coerce_chat_request(
        messages=[HI, {"role": "assistant", "content": "x", "reasoning_content": "because"}]
    )
    assert request.messages[1] == AssistantMessage(content="x", reasoning="because")
    with pytest.raises(RequestValidationError) as info:
        coerce_chat_request(
            messages=[{"role": "assistant", "reasoning": "a", "reasoning_content": "b"}]
        )
    assert info.value.path == "messages[0].reasoning_content"


def test_reasoning_details_echo_unmodified() -> None:
    details = [
        {"type": "reasoning.encrypted", "data": "x==", "id": None, "format": "google-gemini-v1"},
        {"type": "reasoning.text", "text": "t", "signature": None, "index": 1},
    ]
    sent = body(messages=[HI, {"role": "assistant", "content": "", "reasoning_details": details}])
    assert sent["messages"][1]["reasoning_details"] == details
    assert [list(d) for d in sent["messages"][1]["reasoning_details"]] == [list(d) for d in details]


def test_plugins_become_classes_and_unknown_options_are_kept_in_extra() -> None:
    request = coerce_chat_request(
        messages=[HI],
        plugins=[
            {"id": "web", "max_results": 2},
            {"id": "file-parser", "pdf": {"engine": "native"}},
            {"id": "response-healing"},
            {"id": "context-compression", "enabled": False},
            {"id": "moderation"},
            {"id": "web", "max_results": 2, "brand_new_option": True},
        ],
    )
    assert request.plugins == (
        WebPlugin(max_results=2),
        FileParserPlugin(pdf=PdfParserOptions(engine="native")),
        ResponseHealingPlugin(),
        ContextCompressionPlugin(enabled=False),
        Plugin(id="moderation"),
        WebPlugin(max_results=2, extra={"brand_new_option": True}),
    )
    sent = orjson.loads(chat_request_body(request))
    assert sent["plugins"][-1] == {"id": "web", "max_results": 2, "brand_new_option": True}


def test_trace_known_keys_typed_other_keys_in_extra() -> None:
    assert coerce_chat_request(messages=[HI], trace={"trace_id": "a"}).trace == Trace(trace_id="a")
    raw = {"trace_id": "a", "custom": {"k": 1}}
    request = coerce_chat_request(messages=[HI], trace=raw)
    assert request.trace == Trace(trace_id="a", extra={"custom": {"k": 1}})
    assert orjson.loads(chat_request_body(request))["trace"] == raw


def test_server_tools_and_tool_choice_forms() -> None:
    request = coerce_chat_request(
        messages=[HI],
        tools=[{"type": "openrouter:web_search", "parameters": {"max_results": 2}}],
        tool_choice={"type": "openrouter:web_search"},
    )
    assert request.tools == (
        ServerTool(type="openrouter:web_search", parameters={"max_results": 2}),
    )
    assert request.tool_choice == ServerToolChoice(type="openrouter:web_search")
    for mode in ("none", "auto", "required"):
        assert body(messages=[HI], tool_choice=mode)["tool_choice"] == mode


def test_assistant_message_from_a_completion_is_accepted() -> None:
    details = [{"type": "reasoning.encrypted", "data": "x==", "id": "r1"}]
    reply = ChatMessage(
        content=None,
        tool_calls=[
            ResponseToolCall(id="c1", function=FunctionCall(name="f", arguments='{"a":1}'))
        ],
        reasoning="thinking",
        reasoning_details=details,
        annotations=[{"type": "url_citation"}],
    )
    expected = AssistantMessage(
        tool_calls=[ToolCall(id="c1", function=ToolCallFunction(name="f", arguments='{"a":1}'))],
        reasoning="thinking",
        reasoning_details=details,
    )
    assert AssistantMessage.from_response(reply) == expected
    request = coerce_chat_request(messages=[HI, reply])
    assert request.messages[1] == expected
    assert orjson.loads(chat_request_body(request))["messages"][1] == {
        "role": "assistant",
        "tool_calls": [
            {"id": "c1", "type": "function", "function": {"name": "f", "arguments": '{"a":1}'}}
        ],
        "reasoning": "thinking",
        "reasoning_details": details,
    }
    # The API requires only the role of an assistant message, so an empty reply echoes as one.
    empty = coerce_chat_request(messages=[HI, ChatMessage()])
    assert orjson.loads(chat_request_body(empty))["messages"][1] == {"role": "assistant"}


# --- coerce_chat_request ---


def test_coerce_returns_a_built_request_unchanged() -> None:
    request = ChatRequest(messages=[UserMessage(content="Hi")])
    assert coerce_chat_request(request) is request


def test_coerce_rejects_request_plus_kwargs() -> None:
    with pytest.raises(RequestValidationError) as info:
        coerce_chat_request(ChatRequest(messages=[UserMessage(content="Hi")]), temperature=1)
    assert info.value.path == "temperature"
    assert "one or the other" in info.value.message


def test_coerce_accepts_a_mapping_plus_kwargs() -> None:
    request = coerce_chat_request({"messages": [HI]}, model="m/x")
    assert request == ChatRequest(model="m/x", messages=[UserMessage(content="Hi")])
    with pytest.raises(RequestValidationError) as info:
        coerce_chat_request({"messages": [HI], "model": "a/b"}, model="m/x")
    assert info.value.path == "model"


def test_coerce_rejects_other_types() -> None:
    with pytest.raises(RequestValidationError, match="expected a ChatRequest"):
        coerce_chat_request([HI])  # type: ignore[arg-type]


def test_unknown_kwarg_names_it_and_suggests_extra_body() -> None:
    with pytest.raises(RequestValidationError) as info:
        coerce_chat_request(messages=[HI], temprature=0.5)
    assert info.value.path == "temprature"
    assert "'temprature'" in info.value.message
    assert "extra_body" in info.value.message


def test_missing_messages() -> None:
    with pytest.raises(RequestValidationError) as info:
        coerce_chat_request(model="a/b")
    assert info.value.path == "messages"
    assert "required" in info.value.message


def test_errors_are_value_errors() -> None:
    with pytest.raises(ValueError, match=r"temperature: must be a number in the range \[0, 2\]"):
        coerce_chat_request(messages=[HI], temperature=3)


# --- kwargs and attrs objects send the same bytes ---


SCHEMA = {"type": "object", "properties": {"q": {"type": "string"}}}


def complex_as_objects() -> ChatRequest:
    return ChatRequest(
        model="openai/gpt-4o",
        models=["anthropic/claude-sonnet-4"],
        messages=[
            SystemMessage(content="sys"),
            UserMessage(
                content=[
                    TextPart(text="look", cache_control=CacheControl(ttl="5m")),
                    ImagePart(image_url=ImageURL(url="https://e.x/a.png", detail="low")),
                    AudioPart(input_audio=InputAudio(data="AAAA", format="mp3")),
                    FilePart(file=FileData(filename="a.pdf", file_data="https://e.x/a.pdf")),
                    VideoPart(video_url=VideoURL(url="https://e.x/v.mp4")),
                ]
            ),
            AssistantMessage(
                tool_calls=[
                    ToolCall(id="c1", function=ToolCallFunction(name="search", arguments="{}"))
                ]
            ),
            ToolMessage(tool_call_id="c1", content=[TextPart(text="result")]),
        ],
        temperature=0.3,
        tools=[
            Tool(function=FunctionDefinition(name="search", parameters=SCHEMA)),
            ServerTool(type="openrouter:datetime"),
        ],
        tool_choice=NamedToolChoice(function=FunctionName(name="search")),
        response_format=ResponseFormatJSONSchema(
            json_schema=JSONSchemaSpec(name="out", schema=SCHEMA, strict=True)
        ),
        reasoning=Reasoning(effort="low"),
        provider=ProviderPreferences(
            order=["openai"],
            sort=ProviderSort(by="latency"),
            max_price=MaxPrice(prompt=1),
            preferred_max_latency=Percentiles(p90=2),
        ),
        plugins=[WebPlugin(max_results=2), {"id": "x-new", "opt": 1}],
        prediction=Prediction(content="abc"),
        web_search_options=WebSearchOptions(search_context_size="low"),
        stream_options=StreamOptions(include_usage=True),
        usage=UsageOptions(include=True),
        debug=DebugOptions(echo_upstream_body=False),
        trace=Trace(trace_id="t"),
        prompt_cache_options=PromptCacheOptions(),
        extra_body={"x_custom": [1, 2]},
    )


COMPLEX_AS_KWARGS: dict[str, Any] = {
    "model": "openai/gpt-4o",
    "models": ["anthropic/claude-sonnet-4"],
    "messages": [
        {"role": "system", "content": "sys"},
        {
            "role": "user",
            "content": [
                {
                    "type": "text",
                    "text": "look",
                    "cache_control": {"type": "ephemeral", "ttl": "5m"},
                },
                {"type": "image_url", "image_url": {"url": "https://e.x/a.png", "detail": "low"}},
                {"type": "input_audio", "input_audio": {"data": "AAAA", "format": "mp3"}},
                {"type": "file", "file": {"filename": "a.pdf", "file_data": "https://e.x/a.pdf"}},
                {"type": "video_url", "video_url": {"url": "https://e.x/v.mp4"}},
            ],
        },
        {
            "role": "assistant",
            "tool_calls": [
                {"id": "c1", "type": "function", "function": {"name": "search", "arguments": "{}"}}
            ],
        },
        {"role": "tool", "tool_call_id": "c1", "content": [{"type": "text", "text": "result"}]},
    ],
    "temperature": 0.3,
    "tools": [
        {"type": "function", "function": {"name": "search", "parameters": SCHEMA}},
        {"type": "openrouter:datetime"},
    ],
    "tool_choice": {"type": "function", "function": {"name": "search"}},
    "response_format": {
        "type": "json_schema",
        "json_schema": {"name": "out", "schema": SCHEMA, "strict": True},
    },
    "reasoning": {"effort": "low"},
    "provider": {
        "order": ["openai"],
        "sort": {"by": "latency"},
        "max_price": {"prompt": 1},
        "preferred_max_latency": {"p90": 2},
    },
    "plugins": [{"id": "web", "max_results": 2}, {"id": "x-new", "opt": 1}],
    "prediction": {"type": "content", "content": "abc"},
    "web_search_options": {"search_context_size": "low"},
    "stream_options": {"include_usage": True},
    "usage": {"include": True},
    "debug": {"echo_upstream_body": False},
    "trace": {"trace_id": "t"},
    "prompt_cache_options": {"mode": "explicit"},
    "extra_body": {"x_custom": [1, 2]},
}


def test_kwargs_and_objects_give_identical_bytes() -> None:
    from_objects = complex_as_objects()
    from_kwargs = coerce_chat_request(**COMPLEX_AS_KWARGS)
    assert from_kwargs == from_objects
    assert chat_request_body(from_kwargs) == chat_request_body(from_objects)
    assert chat_request_body(coerce_chat_request(COMPLEX_AS_KWARGS)) == chat_request_body(
        from_objects
    )
    assert chat_request_body(from_kwargs, stream=True) == chat_request_body(
        from_objects, stream=True
    )


def test_simple_kwargs_and_objects_give_identical_bytes() -> None:
    a = coerce_chat_request(
        model="openai/gpt-4o-mini", messages=[{"role": "user", "content": "Hi"}]
    )
    b = ChatRequest(model="openai/gpt-4o-mini", messages=[UserMessage(content="Hi")])
    assert chat_request_body(a) == chat_request_body(b)
    assert (
        chat_request_body(a)
        == b'{"messages":[{"role":"user","content":"Hi"}],"model":"openai/gpt-4o-mini"}'
    )


# --- chat_request_body ---


def test_stream_flag_is_set_when_given() -> None:
    request = ChatRequest(messages=[UserMessage(content="Hi")])
    assert orjson.loads(chat_request_body(request, stream=True))["stream"] is True
    assert orjson.loads(chat_request_body(request, stream=False))["stream"] is False
    assert "stream" not in orjson.loads(chat_request_body(request))
    streaming = attrs.evolve(request, stream=True)
    assert orjson.loads(chat_request_body(streaming, stream=False))["stream"] is False


def test_extra_body_is_merged_last_and_never_sent_as_a_field() -> None:
    request = coerce_chat_request(
        messages=[HI],
        temperature=1,
        extra_body={"temperature": 0.5, "safe_prompt": True, "stream": False},
    )
    sent = orjson.loads(chat_request_body(request, stream=True))
    assert sent == {
        "messages": [HI],
        "temperature": 0.5,
        "stream": False,
        "safe_prompt": True,
    }
    assert "extra_body" not in sent


def test_unencodable_free_json_raises_our_error() -> None:
    request = coerce_chat_request(messages=[HI], image_config={"x": object()})
    with pytest.raises(RequestValidationError, match="cannot be encoded as JSON"):
        chat_request_body(request)


# --- validation: every rule, with its path and range ---

TOOL = {"type": "function", "function": {"name": "get_weather"}}
LONG = "x" * 65


def msgs(*extra: dict[str, Any]) -> list[dict[str, Any]]:
    return [HI, *extra]


# (keyword arguments besides messages=[HI] unless given, expected path, text the message contains)
INVALID: list[tuple[dict[str, Any], str, str]] = [
    # token limits
    ({"max_tokens": True}, "max_tokens", "got bool"),
    ({"max_tokens": 1.5}, "max_tokens", "must be an integer"),
    # sampling ranges
    ({"temperature": 2.5}, "temperature", "[0, 2]"),
    ({"temperature": -0.01}, "temperature", "[0, 2]"),
    ({"temperature": math.nan}, "temperature", "finite"),
    ({"temperature": math.inf}, "temperature", "finite"),
    ({"temperature": True}, "temperature", "got bool"),
    ({"temperature": "0.5"}, "temperature", "got str"),
    ({"top_p": 1.01}, "top_p", "[0, 1]"),
    ({"top_k": False}, "top_k", "got bool"),
    ({"frequency_penalty": -2.5}, "frequency_penalty", "[-2, 2]"),
    ({"presence_penalty": 2.01}, "presence_penalty", "[-2, 2]"),
    ({"presence_penalty": -math.inf}, "presence_penalty", "finite"),
    ({"seed": 2**63}, "seed", "[-9223372036854775808, 9223372036854775807]"),
    ({"seed": True}, "seed", "got bool"),
    # logit_bias / logprobs
    ({"logit_bias": {1: True}}, "logit_bias['1']", "got bool"),
    ({"logit_bias": {1: math.nan}}, "logit_bias['1']", "finite"),
    ({"logit_bias": [1]}, "logit_bias", "mapping"),
    ({"logprobs": True, "top_logprobs": 21}, "top_logprobs", "[0, 20]"),
    ({"logprobs": 1}, "logprobs", "boolean"),
    # stop
    ({"stop": ["a", "b", "c", "d", "e"]}, "stop", "at most 4"),
    ({"stop": [1]}, "stop[0]", "string"),
    ({"stop": 5}, "stop", "at most 4 strings"),
    # tools and tool_choice
    (
        {"tools": [{"type": "function", "function": {"name": "bad name"}}]},
        "tools[0].function.name",
        "[a-zA-Z0-9_-]{1,64}",
    ),
    (
        {"tools": [{"type": "function", "function": {"name": LONG}}]},
        "tools[0].function.name",
        "1 to 64",
    ),
    ({"tools": [{"type": "function"}]}, "tools[0].function", "required"),
    (
        {"tools": [{"type": "function", "function": {"name": "f", "parameters": "{}"}}]},
        "tools[0].function.parameters",
        "JSON object",
    ),
    ({"tools": [{"function": {"name": "f"}}]}, "tools[0].type", "required"),
    ({"tools": TOOL}, "tools", "list of tools"),
    (
        {"tool_choice": {"type": "function", "function": {"name": 5}}},
        "tool_choice.function.name",
        "must be a string",
    ),
    ({"parallel_tool_calls": "yes"}, "parallel_tool_calls", "boolean"),
    # response_format
    (
        {"response_format": {"type": "json_schema", "json_schema": {"name": "bad name!"}}},
        "response_format.json_schema.name",
        "[a-zA-Z0-9_-]{1,64}",
    ),
    (
        {"response_format": {"type": "json_schema", "json_schema": {"name": LONG}}},
        "response_format.json_schema.name",
        "1 to 64",
    ),
    ({"response_format": {"type": "json_schema"}}, "response_format.json_schema", "required"),
    ({"response_format": {"type": "xml"}}, "response_format.type", "'json_schema'"),
    # messages
    ({"messages": []}, "messages", "non-empty"),
    ({"messages": "hi"}, "messages", "list of messages"),
    ({"messages": [{"content": "x"}]}, "messages[0].role", "required"),
    ({"messages": [{"role": "robot", "content": "x"}]}, "messages[0].role", "'assistant'"),
    ({"messages": [3]}, "messages[0]", "a message object"),
    ({"messages": [{"role": "user"}]}, "messages[0].content", "required"),
    (
        {"messages": msgs({"role": "assistant", "content": "a"}, {"role": "tool", "content": "r"})},
        "messages[2].tool_call_id",
        "required",
    ),
    (
        {
            "messages": msgs(
                {"role": "assistant", "tool_calls": [{"id": "c", "function": {"name": "f"}}]}
            )
        },
        "messages[1].tool_calls[0].function.arguments",
        "required",
    ),
    (
        {"messages": msgs({"role": "assistant", "content": "x", "reasoning_details": ["s"]})},
        "messages[1].reasoning_details[0]",
        "JSON object",
    ),
    (
        {"messages": [{"role": "user", "content": 5}]},
        "messages[0].content",
        "list of content parts",
    ),
    (
        {"messages": [{"role": "user", "content": [{"type": "image_url"}]}]},
        "messages[0].content[0].image_url",
        "required",
    ),
    (
        {
            "messages": [
                {
                    "role": "user",
                    "content": [
                        {
                            "type": "input_audio",
                            "input_audio": {"data": "https://x/a.wav", "format": "wav"},
                        }
                    ],
                }
            ]
        },
        "messages[0].content[0].input_audio.data",
        "base64",
    ),
    (
        {
            "messages": [
                {
                    "role": "user",
                    "content": [
                        {"type": "text", "text": "a", "cache_control": {"type": "persistent"}}
                    ],
                }
            ]
        },
        "messages[0].content[0].cache_control.type",
        "'ephemeral'",
    ),
    # metadata, ids
    ({"metadata": {f"k{i}": "v" for i in range(17)}}, "metadata", "at most 16"),
    ({"metadata": {LONG: "v"}}, f"metadata[{LONG!r}]", "1 to 64"),
    ({"metadata": {"k": "v" * 513}}, "metadata['k']", "at most 512"),
    ({"metadata": {"k": 1}}, "metadata['k']", "must be a string"),
    ({"session_id": "s" * 257}, "session_id", "at most 256"),
    ({"models": "a/b"}, "models", "list of strings"),
    ({"user": 7}, "user", "string"),
    # enums
    # reasoning
    (
        {"reasoning": {"effort": "high", "max_tokens": 100}},
        "reasoning.max_tokens",
        "either effort or max_tokens",
    ),
    ({"reasoning": {"max_tokens": -1}}, "reasoning.max_tokens", ">= 0"),
    (
        {"reasoning_effort": "low", "reasoning": {"effort": "high"}},
        "reasoning_effort",
        "conflicts with reasoning.effort='high'",
    ),
    # provider
    ({"provider": {"max_price": {"prompt": -1}}}, "provider.max_price.prompt", ">= 0"),
    ({"provider": {"max_price": {"image": math.nan}}}, "provider.max_price.image", "finite"),
    (
        {"provider": {"preferred_min_throughput": True}},
        "provider.preferred_min_throughput",
        "got bool",
    ),
    ({"provider": {"order": "openai"}}, "provider.order", "list of strings"),
    ({"provider": {"zdr": "true"}}, "provider.zdr", "boolean"),
    ({"provider": "openai"}, "provider", "ProviderPreferences or a mapping"),
    # plugins, options
    ({"plugins": [{"enabled": True}]}, "plugins[0].id", "string"),
    ({"plugins": [{"id": "web", "enabled": "no", "new_opt": 1}]}, "plugins[0].enabled", "boolean"),
    ({"prediction": {"type": "diff", "content": "x"}}, "prediction.type", "'content'"),
    ({"stop_server_tools_when": []}, "stop_server_tools_when", "non-empty"),
    ({"stop_server_tools_when": [{"step_count": 1}]}, "stop_server_tools_when[0].type", "string"),
    ({"trace": {"trace_id": 5}}, "trace.trace_id", "string"),
    ({"trace": ["t"]}, "trace", "Trace or a mapping"),
    ({"image_config": [1]}, "image_config", "JSON object"),
    ({"extra_body": "x"}, "extra_body", "JSON object"),
    ({"extra_body": {1: 2}}, "extra_body", "keys must be strings"),
    ({"stream_options": {"include_usage": "yes"}}, "stream_options.include_usage", "boolean"),
]


# Values the API documents as valid (or that are new and unknown to the SDK): sent unchanged. Each
# case was refused before issue #15 (the third item is the message it was refused with); ``path``
# names the value that must now reach the body exactly as given.
SENT_AS_GIVEN: list[tuple[dict[str, Any], str, str]] = [
    ({"tool_choice": {"type": "auto"}}, "tool_choice", "not a server tool type"),
    # Found by the schema property test: ChatServerToolChoice.type is any string.
    ({"tool_choice": {"type": ""}}, "tool_choice", "must be a non-empty string"),
    ({"max_tokens": 0}, "max_tokens", ">= 1"),
    ({"max_completion_tokens": 0}, "max_completion_tokens", ">= 1"),
    ({"top_p": 0}, "top_p", "(0, 1]"),
    ({"top_k": 0}, "top_k", ">= 1"),
    ({"repetition_penalty": 0}, "repetition_penalty", "(0, 2]"),
    ({"repetition_penalty": 2.5}, "repetition_penalty", "(0, 2]"),
    ({"min_p": 1.5}, "min_p", "[0, 1]"),
    ({"top_a": -0.1}, "top_a", "[0, 1]"),
    ({"logit_bias": {"abc": 1}}, "logit_bias['abc']", "token ids"),
    ({"logit_bias": {-1: 1}}, "logit_bias['-1']", "non-negative"),
    ({"logit_bias": {1: 101}}, "logit_bias['1']", "[-100, 100]"),
    ({"top_logprobs": 5}, "top_logprobs", "requires logprobs=True"),
    ({"logprobs": False, "top_logprobs": 5}, "top_logprobs", "requires logprobs=True"),
    ({"tools": [TOOL, TOOL]}, "tools[1].function.name", "duplicate"),
    ({"tools": [{"type": "openrouter:web_search", "params": {}}]}, "tools[0].params", "unknown"),
    (
        {"tools": [TOOL], "tool_choice": {"type": "function", "function": {"name": "other"}}},
        "tool_choice.function.name",
        "not in tools",
    ),
    ({"tool_choice": "sometimes"}, "tool_choice", "'none', 'auto', 'required'"),
    (
        {"response_format": {"type": "grammar", "grammar": ""}},
        "response_format.grammar",
        "non-empty",
    ),
    (
        {"messages": [{"role": "user", "content": "x", "nmae": "a"}]},
        "messages[0].nmae",
        "unknown field",
    ),
    (
        {
            "messages": msgs(
                {"role": "assistant", "content": "a"},
                {"role": "tool", "content": "r", "tool_call_id": ""},
            )
        },
        "messages[2].tool_call_id",
        "non-empty",
    ),
    ({"messages": msgs({"role": "assistant"})}, "messages[1]", "content or tool_calls"),
    (
        {"messages": msgs({"role": "assistant", "tool_calls": []})},
        "messages[1].tool_calls",
        "non-empty",
    ),
    ({"messages": [{"role": "user", "content": []}]}, "messages[0].content", "non-empty"),
    (
        {
            "messages": [
                {
                    "role": "user",
                    "content": [
                        {"type": "text", "text": "a"},
                        {"type": "image_url", "image_url": {"url": "ftp://x/a.png"}},
                    ],
                }
            ]
        },
        "messages[0].content[1].image_url.url",
        "http(s) URL or a data: URL",
    ),
    (
        {
            "messages": [
                {
                    "role": "user",
                    "content": [
                        {"type": "image_url", "image_url": {"url": "https://x", "detail": "max"}}
                    ],
                }
            ]
        },
        "messages[0].content[0].image_url.detail",
        "'original'",
    ),
    (
        {"messages": [{"role": "user", "content": [{"type": "file", "file": {"filename": "a"}}]}]},
        "messages[0].content[0].file",
        "file_id",
    ),
    (
        {"messages": [{"role": "user", "content": [{"type": "hologram"}]}]},
        "messages[0].content[0].type",
        "'image_url'",
    ),
    (
        {
            "messages": [
                {
                    "role": "system",
                    "content": [{"type": "image_url", "image_url": {"url": "https://x"}}],
                }
            ]
        },
        "messages[0].content[0].type",
        "'text'",
    ),
    ({"model": ""}, "model", "non-empty"),
    ({"route": "random"}, "route", "'fallback', 'sort'"),
    ({"service_tier": "ultra"}, "service_tier", "'priority'"),
    ({"verbosity": "loud"}, "verbosity", "'xhigh'"),
    ({"modalities": ["text", "video"]}, "modalities[1]", "'audio'"),
    ({"reasoning_effort": "extreme"}, "reasoning_effort", "'minimal'"),
    ({"reasoning": {"effort": "extreme"}}, "reasoning.effort", "'minimal'"),
    ({"provider": {"sort": "cheapest"}}, "provider.sort", "'throughput'"),
    ({"provider": {"sort": {"by": "cost"}}}, "provider.sort.by", "'latency'"),
    ({"provider": {"sort": {"partition": "all"}}}, "provider.sort.partition", "'none'"),
    (
        {"provider": {"max_price": {"completion": "abc"}}},
        "provider.max_price.completion",
        "decimal string",
    ),
    (
        {"provider": {"preferred_max_latency": {"p90": -1}}},
        "provider.preferred_max_latency.p90",
        ">= 0",
    ),
    ({"provider": {"only": ["openai", ""]}}, "provider.only[1]", "non-empty"),
    ({"provider": {"data_collection": "maybe"}}, "provider.data_collection", "'deny'"),
    ({"provider": {"prefered_order": []}}, "provider.prefered_order", "unknown field"),
    ({"plugins": [{"id": "web", "max_results": 0}]}, "plugins[0].max_results", ">= 1"),
    (
        {"plugins": [{"id": "file-parser", "pdf": {"engine": ""}}]},
        "plugins[0].pdf.engine",
        "non-empty",
    ),
    (
        {
            "prediction": {
                "type": "content",
                "content": [{"type": "image_url", "image_url": {"url": "https://x"}}],
            }
        },
        "prediction.content[0].type",
        "'text'",
    ),
    ({"cache_control": {"ttl": "2h"}}, "cache_control.ttl", "'5m', '1h'"),
    (
        {"web_search_options": {"search_context_size": "huge"}},
        "web_search_options.search_context_size",
        "'high'",
    ),
    ({"debug": {"echo": True}}, "debug.echo", "unknown field"),
]


@pytest.mark.parametrize(
    ("kwargs", "path", "fragment"), INVALID, ids=[f"{p}-{i}" for i, (_, p, _) in enumerate(INVALID)]
)
def test_invalid_input_is_rejected_with_path_and_range(
    kwargs: dict[str, Any], path: str, fragment: str
) -> None:
    arguments = {"messages": [HI], **kwargs}
    with pytest.raises(RequestValidationError) as info:
        coerce_chat_request(**arguments)
    assert info.value.path == path
    assert fragment in info.value.message


_STEP = re.compile(r"\.?([A-Za-z_]\w*)|\[(\d+)\]|\['([^']*)'\]")


def _at(data: Any, path: str) -> Any:
    """The value at a field path such as ``messages[0].content[1].image_url.url``."""
    for name, index, key in _STEP.findall(path):
        if index:
            data = data[int(index)]
        elif name:
            data = data[name]
        else:  # logit_bias keys given as ints are sent as their decimal strings
            data = data[key] if key in data else data[int(key)]
    return data


@pytest.mark.parametrize(
    ("kwargs", "path", "refused_before"),
    SENT_AS_GIVEN,
    ids=[f"{p}-{i}" for i, (_, p, _) in enumerate(SENT_AS_GIVEN)],
)
def test_documented_and_unknown_values_are_sent_as_given(
    kwargs: dict[str, Any], path: str, refused_before: str
) -> None:
    arguments = {"messages": [HI], **kwargs}
    sent = orjson.loads(chat_request_body(coerce_chat_request(**arguments)))
    assert _at(sent, path) == _at(arguments, path), refused_before


@pytest.mark.parametrize(
    ("build", "path"),
    [
        (lambda: ToolMessage(content="r", tool_call_id=5), "tool_call_id"),  # type: ignore[arg-type]
        (lambda: UserMessage(role="system", content="x"), "role"),  # type: ignore[arg-type]
        (
            lambda: UserMessage(content=[{"type": "image_url", "image_url": {"url": 5}}]),
            "content[0].image_url.url",
        ),
        (lambda: ImageURL(url=None), "url"),  # type: ignore[arg-type]
        (lambda: Reasoning(effort="low", max_tokens=10), "max_tokens"),
        (lambda: FunctionDefinition(name="a.b"), "name"),
        (lambda: AssistantMessage(content=5), "content"),  # type: ignore[arg-type]
        (lambda: FileData(file_data=5), "file_data"),  # type: ignore[arg-type]
        (lambda: ServerTool(type="function"), "type"),
        (lambda: DeveloperMessage(content=5), "content"),  # type: ignore[arg-type]
        (lambda: ResponseFormatGrammar(grammar=None), "grammar"),  # type: ignore[arg-type]
        (lambda: ProviderPreferences(extra=["x"]), "extra"),  # type: ignore[arg-type]
        (lambda: ChatRequest(messages=[UserMessage(content="x")], temperature=9), "temperature"),
    ],
)
def test_direct_construction_validates_with_relative_paths(
    build: Callable[[], object], path: str
) -> None:
    with pytest.raises(RequestValidationError) as info:
        build()
    assert info.value.path == path


def test_valid_boundaries_are_accepted() -> None:
    sent = body(
        messages=[HI],
        temperature=0,
        top_p=1,
        top_k=1,
        frequency_penalty=-2,
        presence_penalty=2,
        repetition_penalty=2,
        min_p=0,
        top_a=1,
        logprobs=True,
        top_logprobs=20,
        logit_bias={"0": -100, "1": 100},
        stop=["a", "b", "c", "d"],
        metadata={f"k{i}": "v" * 512 for i in range(16)},
        session_id="s" * 256,
        max_tokens=1,
        seed=-(2**63),
    )
    assert sent["top_logprobs"] == 20
    assert sent["seed"] == -(2**63)


def test_named_tool_choice_without_tools_is_not_checked() -> None:
    request = coerce_chat_request(
        messages=[HI], tool_choice={"type": "function", "function": {"name": "f"}}
    )
    assert request.tool_choice == NamedToolChoice(function="f")


# --- properties ---

SETTINGS = settings(max_examples=150, deadline=None, suppress_health_check=[HealthCheck.too_slow])


def opt(strategy: st.SearchStrategy[Any]) -> st.SearchStrategy[Any]:
    return st.none() | strategy


names = st.from_regex(r"[a-zA-Z0-9_-]{1,64}", fullmatch=True)
short_text = st.text(max_size=12)
nonempty_text = st.text(min_size=1, max_size=12)
finite = st.floats(allow_nan=False, allow_infinity=False)
json_scalar = (
    st.none() | st.booleans() | st.integers(-(2**53), 2**53) | finite | st.text(max_size=8)
)
json_value = st.recursive(
    json_scalar,
    lambda inner: (
        st.lists(inner, max_size=3) | st.dictionaries(st.text(max_size=6), inner, max_size=3)
    ),
    max_leaves=8,
)
json_object = st.dictionaries(st.text(max_size=8), json_value, max_size=3)
urls = st.sampled_from(["https://example.com/a.png", "http://x.y/z", "data:image/png;base64,AAAA"])

cache_controls = st.builds(CacheControl, ttl=opt(st.sampled_from(["5m", "1h"])))
text_parts = st.builds(
    TextPart,
    text=short_text,
    cache_control=opt(cache_controls),
    prompt_cache_breakpoint=opt(st.just(PromptCacheBreakpoint())),
)
content_parts = st.one_of(
    text_parts,
    st.builds(
        ImagePart,
        image_url=st.builds(
            ImageURL, url=urls, detail=opt(st.sampled_from(["auto", "low", "high", "original"]))
        ),
    ),
    st.builds(
        AudioPart,
        input_audio=st.builds(InputAudio, data=st.just("UklGRg=="), format=st.just("wav")),
    ),
    st.builds(
        FilePart,
        file=st.builds(
            FileData, filename=opt(short_text), file_data=urls, file_id=opt(nonempty_text)
        ),
    ),
    st.builds(
        VideoPart,
        type=st.sampled_from(["video_url", "input_video"]),
        video_url=st.builds(VideoURL, url=urls),
    ),
)
contents = short_text | st.lists(content_parts, min_size=1, max_size=3)
text_contents = short_text | st.lists(text_parts, min_size=1, max_size=2)
tool_calls = st.lists(
    st.builds(
        ToolCall,
        id=nonempty_text,
        function=st.builds(ToolCallFunction, name=names, arguments=short_text),
    ),
    min_size=1,
    max_size=2,
)
messages = st.one_of(
    st.builds(SystemMessage, content=text_contents, name=opt(short_text)),
    st.builds(DeveloperMessage, content=text_contents, name=opt(short_text)),
    st.builds(UserMessage, content=contents, name=opt(short_text)),
    st.builds(
        AssistantMessage,
        content=contents,
        name=opt(short_text),
        tool_calls=opt(tool_calls),
        refusal=opt(short_text),
        reasoning=opt(short_text),
        reasoning_details=opt(st.lists(json_object, max_size=2)),
        images=opt(
            st.lists(st.builds(ImagePart, image_url=st.builds(ImageURL, url=urls)), max_size=1)
        ),
        audio=opt(st.fixed_dictionaries({"id": nonempty_text})),
    ),
    st.builds(ToolMessage, content=contents, tool_call_id=nonempty_text, name=opt(short_text)),
)
str_list = st.lists(nonempty_text, max_size=3)
percentiles = st.builds(
    Percentiles, **{p: opt(st.floats(0, 1e6)) for p in ("p50", "p75", "p90", "p99")}
)
price = st.integers(0, 100) | st.floats(0, 100) | st.sampled_from(["0", "1.5", "0.0002"])
providers = st.builds(
    ProviderPreferences,
    order=opt(str_list),
    allow_fallbacks=opt(st.booleans()),
    require_parameters=opt(st.booleans()),
    data_collection=opt(st.sampled_from(["allow", "deny"])),
    zdr=opt(st.booleans()),
    enforce_distillable_text=opt(st.booleans()),
    only=opt(str_list),
    ignore=opt(str_list),
    quantizations=opt(st.lists(st.sampled_from(["fp8", "int4", "bf16"]), max_size=2)),
    sort=opt(
        st.sampled_from(["price", "throughput", "latency", "exacto"])
        | st.builds(
            ProviderSort,
            by=opt(st.sampled_from(["price", "latency"])),
            partition=opt(st.sampled_from(["model", "none"])),
        )
    ),
    preferred_min_throughput=opt(st.floats(0, 1e4) | percentiles),
    preferred_max_latency=opt(st.integers(0, 100) | percentiles),
    max_price=opt(
        st.builds(
            MaxPrice,
            prompt=opt(price),
            completion=opt(price),
            image=opt(price),
            audio=opt(price),
            request=opt(price),
        )
    ),
)
efforts = st.sampled_from(["max", "xhigh", "high", "medium", "low", "minimal", "none"])
plugins = st.one_of(
    st.builds(
        WebPlugin,
        enabled=opt(st.booleans()),
        max_results=opt(st.integers(1, 10)),
        engine=opt(st.just("exa")),
        include_domains=opt(str_list),
    ),
    st.builds(
        FileParserPlugin, pdf=opt(st.builds(PdfParserOptions, engine=opt(st.just("native"))))
    ),
    st.builds(ResponseHealingPlugin, enabled=opt(st.booleans())),
    st.builds(ContextCompressionPlugin, engine=opt(st.just("middle-out"))),
    st.builds(Plugin, id=st.sampled_from(["moderation", "auto-router"])),
    st.fixed_dictionaries({"id": st.just("web"), "future_option": json_value}),
)
response_formats = st.one_of(
    st.just(ResponseFormatText()),
    st.just(ResponseFormatJSONObject()),
    st.just(ResponseFormatPython()),
    st.builds(ResponseFormatGrammar, grammar=nonempty_text),
    st.builds(
        ResponseFormatJSONSchema,
        json_schema=st.builds(
            JSONSchemaSpec,
            name=names,
            description=opt(short_text),
            schema=opt(json_object),
            strict=opt(st.booleans()),
        ),
    ),
)


@st.composite
def chat_requests(draw: st.DrawFn) -> ChatRequest:
    functions = draw(st.lists(names, max_size=3, unique=True))
    tools: list[Tool | ServerTool] = [
        Tool(function=FunctionDefinition(name=n, parameters=draw(opt(json_object))))
        for n in functions
    ]
    tools += draw(
        st.lists(
            st.builds(
                ServerTool, type=st.just("openrouter:web_search"), parameters=opt(json_object)
            ),
            max_size=1,
        )
    )
    choice_options: list[st.SearchStrategy[Any]] = [
        st.none(),
        st.sampled_from(["none", "auto", "required"]),
        st.builds(ServerToolChoice, type=st.just("openrouter:web_search")),
    ]
    if functions:
        choice_options.append(st.sampled_from(functions).map(lambda n: NamedToolChoice(function=n)))
    logprobs = draw(opt(st.booleans()))
    reasoning = draw(
        opt(
            st.builds(
                Reasoning,
                effort=opt(efforts),
                exclude=opt(st.booleans()),
                summary=opt(st.sampled_from(["auto", "concise", "detailed"])),
            )
        )
    )
    effort = draw(opt(efforts))
    if reasoning is not None and reasoning.effort is not None and effort is not None:
        effort = reasoning.effort
    return ChatRequest(
        model=draw(opt(st.sampled_from(["openai/gpt-4o", "anthropic/claude-sonnet-4:thinking"]))),
        models=draw(opt(str_list)),
        messages=draw(st.lists(messages, min_size=1, max_size=4)),
        stream=draw(opt(st.booleans())),
        max_tokens=draw(opt(st.integers(1, 10**6))),
        temperature=draw(opt(st.floats(0, 2) | st.integers(0, 2))),
        top_p=draw(opt(st.floats(0, 1, exclude_min=True))),
        top_k=draw(opt(st.integers(1, 1000))),
        frequency_penalty=draw(opt(st.floats(-2, 2))),
        repetition_penalty=draw(opt(st.floats(0, 2, exclude_min=True))),
        min_p=draw(opt(st.floats(0, 1))),
        seed=draw(opt(st.integers(-(2**63), 2**63 - 1))),
        logit_bias=draw(
            opt(st.dictionaries(st.integers(0, 10**6).map(str), st.floats(-100, 100), max_size=3))
        ),
        logprobs=logprobs,
        top_logprobs=draw(opt(st.integers(0, 20))) if logprobs else None,
        stop=draw(opt(short_text | st.lists(short_text, max_size=4))),
        response_format=draw(opt(response_formats)),
        tools=tools if tools or draw(st.booleans()) else None,
        tool_choice=draw(st.one_of(*choice_options)),
        parallel_tool_calls=draw(opt(st.booleans())),
        prediction=draw(opt(st.builds(Prediction, content=text_contents))),
        reasoning=reasoning,
        reasoning_effort=effort,
        verbosity=draw(opt(st.sampled_from(["low", "medium", "high"]))),
        provider=draw(opt(providers)),
        route=draw(opt(st.sampled_from(["fallback", "sort"]))),
        plugins=draw(opt(st.lists(plugins, max_size=3))),
        web_search_options=draw(
            opt(st.builds(WebSearchOptions, search_context_size=opt(st.just("medium"))))
        ),
        user=draw(opt(short_text)),
        session_id=draw(opt(st.text(max_size=256))),
        metadata=draw(
            opt(st.dictionaries(st.text(min_size=1, max_size=64), st.text(max_size=20), max_size=4))
        ),
        trace=draw(
            opt(
                st.builds(Trace, trace_id=opt(short_text), span_name=opt(short_text))
                | st.fixed_dictionaries({"trace_id": short_text, "custom": json_value})
            )
        ),
        modalities=draw(opt(st.lists(st.sampled_from(["text", "image", "audio"]), max_size=2))),
        image_config=draw(opt(json_object)),
        service_tier=draw(opt(st.sampled_from(["auto", "flex", "priority"]))),
        cache_control=draw(opt(cache_controls)),
        prompt_cache_key=draw(opt(short_text)),
        prompt_cache_options=draw(opt(st.builds(PromptCacheOptions, ttl=opt(st.just("1h"))))),
        stop_server_tools_when=draw(
            opt(
                st.lists(
                    st.fixed_dictionaries(
                        {"type": st.just("step_count_is"), "step_count": st.integers(1, 9)}
                    ),
                    min_size=1,
                    max_size=2,
                )
            )
        ),
        debug=draw(opt(st.builds(DebugOptions, echo_upstream_body=opt(st.booleans())))),
    )


@SETTINGS
@given(chat_requests())
def test_valid_requests_round_trip_through_json(request: ChatRequest) -> None:
    sent = chat_request_body(request)
    again = coerce_chat_request(**orjson.loads(sent))
    assert chat_request_body(again) == sent
    assert again == request


PART_TYPES = ["text", "image_url", "input_audio", "file", "video_url", "input_video", "x"]
PART_KEYS = ["type", "text", "image_url", "input_audio", "file", "video_url", "cache_control"]
MESSAGE_KEYS = ["role", "content", "name", "tool_call_id", "tool_calls", "reasoning", "refusal"]
ROLES = ["system", "developer", "user", "assistant", "tool", "robot"]
garbage_parts = st.dictionaries(
    st.sampled_from(PART_KEYS), json_value | st.sampled_from(PART_TYPES) | st.just({"url": "x"})
)
garbage_messages = st.lists(
    st.fixed_dictionaries(
        {"role": st.sampled_from(ROLES)},
        optional={
            key: json_value | st.text(max_size=3) | st.lists(garbage_parts, max_size=2)
            for key in MESSAGE_KEYS[1:]
        },
    )
    | json_value,
    max_size=3,
)


def outcome(**kwargs: Any) -> str:
    """ "ok" or the path of our error; any other exception propagates and fails the test."""
    try:
        request = coerce_chat_request(**kwargs)
    except RequestValidationError as exc:
        return exc.path
    orjson.loads(chat_request_body(request))
    return "ok"


@SETTINGS
@given(garbage_messages)
def test_arbitrary_messages_raise_only_request_validation_error(messages_value: Any) -> None:
    outcome(messages=messages_value)


@SETTINGS
@given(
    st.dictionaries(st.sampled_from([f for f in FIELDS if f != "messages"]), json_value, max_size=3)
)
def test_arbitrary_field_values_raise_only_request_validation_error(fields: dict[str, Any]) -> None:
    outcome(messages=[HI], **fields)
