"""Response models and ``parse_chat_completion``: tolerant reading, errors inside a 200."""

from __future__ import annotations

import copy
from typing import Any

import orjson
import pytest

from openrouter_async import _errors as e
from openrouter_async._convert import structure
from openrouter_async._decode import parse_chat_completion
from openrouter_async.types.chunks import ChatCompletionChunk
from openrouter_async.types.responses import (
    ChatCompletion,
    CompletionUsage,
    ResponseInfo,
    ToolCall,
)

# The reference's §3.6 example, verbatim.
EXAMPLE_3_6: dict[str, Any] = orjson.loads(
    b"""{"id":"gen-1760000000-Xy12","object":"chat.completion","created":1760000000,
 "model":"openai/gpt-4o-mini","provider":"OpenAI","system_fingerprint":"fp_x1",
 "choices":[{"index":0,"finish_reason":"tool_calls","native_finish_reason":"tool_calls","logprobs":null,
   "message":{"role":"assistant","content":null,"refusal":null,"reasoning":null,
     "tool_calls":[{"id":"call_1","type":"function","function":{"name":"get_weather","arguments":"{\\"city\\":\\"Paris\\"}"}}]}}],
 "usage":{"prompt_tokens":82,"completion_tokens":17,"total_tokens":99,"cost":0.0000225,"is_byok":false,
   "prompt_tokens_details":{"cached_tokens":0},"completion_tokens_details":{"reasoning_tokens":0},
   "cost_details":{"upstream_inference_cost":null,"upstream_inference_prompt_cost":0.0000123,"upstream_inference_completions_cost":0.0000102}}}"""
)


def body(**changes: Any) -> dict[str, Any]:
    data = copy.deepcopy(EXAMPLE_3_6)
    data.update(changes)
    return data


def text_body(content: Any = "Hello", **choice: Any) -> dict[str, Any]:
    entry = {
        "index": 0,
        "finish_reason": "stop",
        "message": {"role": "assistant", "content": content},
    }
    entry.update(choice)
    return body(choices=[entry])


# --------------------------------------------------------------------------- the example


def test_reference_example_3_6() -> None:
    done = parse_chat_completion(EXAMPLE_3_6)
    assert isinstance(done, ChatCompletion)
    assert done.id == "gen-1760000000-Xy12"
    assert done.object == "chat.completion"
    assert done.created == 1760000000
    assert done.model == "openai/gpt-4o-mini"
    assert done.provider == "OpenAI"
    assert done.system_fingerprint == "fp_x1"
    assert done.generation_id == "gen-1760000000-Xy12"
    (choice,) = done.choices
    assert choice.index == 0
    assert choice.finish_reason == "tool_calls"
    assert choice.native_finish_reason == "tool_calls"
    assert choice.logprobs is None
    assert choice.error is None
    message = choice.message
    assert message.role == "assistant"
    assert message.content is None
    assert message.refusal is None
    assert message.reasoning is None
    assert message.reasoning_details == []
    assert message.annotations == []
    assert message.images == []
    (call,) = message.tool_calls
    assert call.id == "call_1"
    assert call.type == "function"
    assert call.function.name == "get_weather" == call.name
    assert call.function.arguments == '{"city":"Paris"}'
    assert call.parsed_arguments() == {"city": "Paris"}
    usage = done.usage
    assert usage is not None
    assert (usage.prompt_tokens, usage.completion_tokens, usage.total_tokens) == (82, 17, 99)
    assert usage.cost == pytest.approx(0.0000225)
    assert usage.is_byok is False
    assert usage.cached_tokens == 0
    assert usage.reasoning_tokens == 0
    assert usage.cost_details is not None
    assert usage.cost_details.upstream_inference_cost is None
    assert usage.cost_details.upstream_inference_prompt_cost == pytest.approx(0.0000123)
    assert done.content is None
    assert done.tool_calls == [call]
    assert done.extra == {}


def test_parse_does_not_mutate_the_input() -> None:
    data = body(choices=[{"index": 0, "message": {"content": [{"type": "text", "text": "a"}]}}])
    snapshot = copy.deepcopy(data)
    parse_chat_completion(data)
    assert data == snapshot


# --------------------------------------------------------------------------- tolerance


def test_unknown_fields_at_every_level_are_kept_in_extra() -> None:
    data = body(new_top=1)
    choice = data["choices"][0]
    choice["new_choice"] = 2
    choice["message"]["new_message"] = 3
    choice["message"]["tool_calls"][0]["new_call"] = 4
    choice["message"]["tool_calls"][0]["function"]["new_function"] = 5
    choice["logprobs"] = {
        "content": [
            {
                "token": "a",
                "logprob": -0.1,
                "bytes": [97],
                "top_logprobs": [{"token": "a", "logprob": -0.1, "bytes": None, "new_top": 6}],
                "new_token": 7,
            }
        ],
        "refusal": None,
        "new_logprobs": 8,
    }
    data["usage"]["new_usage"] = 9
    data["usage"]["prompt_tokens_details"]["new_ptd"] = 10
    data["usage"]["completion_tokens_details"]["new_ctd"] = 11
    data["usage"]["cost_details"]["new_cd"] = 12
    done = parse_chat_completion(data)
    assert done.extra == {"new_top": 1}
    c = done.choices[0]
    assert c.extra == {"new_choice": 2}
    assert c.message.extra == {"new_message": 3}
    assert c.message.tool_calls[0].extra == {"new_call": 4}
    assert c.message.tool_calls[0].function.extra == {"new_function": 5}
    assert c.logprobs is not None
    assert c.logprobs.extra == {"new_logprobs": 8}
    assert c.logprobs.content is not None
    token = c.logprobs.content[0]
    assert token.extra == {"new_token": 7}
    assert token.bytes == [97]
    assert token.top_logprobs is not None
    assert token.top_logprobs[0].extra == {"new_top": 6}
    usage = done.usage
    assert usage is not None
    assert usage.extra == {"new_usage": 9}
    assert usage.prompt_tokens_details is not None
    assert usage.prompt_tokens_details.extra == {"new_ptd": 10}
    assert usage.completion_tokens_details is not None
    assert usage.completion_tokens_details.extra == {"new_ctd": 11}
    assert usage.cost_details is not None
    assert usage.cost_details.extra == {"new_cd": 12}


def test_extra_is_out_of_repr() -> None:
    done = parse_chat_completion(body(secretish_new_field="x" * 50))
    assert "secretish" not in repr(done)


@pytest.mark.parametrize("reason", ["function_call", "end_turn", "MAX_TOKENS", "brand_new"])
def test_unknown_finish_reasons_pass_through(reason: str) -> None:
    data = text_body(finish_reason=reason, native_finish_reason=reason.lower())
    choice = parse_chat_completion(data).choices[0]
    assert choice.finish_reason == reason
    assert choice.native_finish_reason == reason.lower()


def test_unknown_role_and_tool_type_pass_through() -> None:
    data = body()
    data["choices"][0]["message"]["role"] = "model"
    data["choices"][0]["message"]["tool_calls"][0]["type"] = "custom"
    message = parse_chat_completion(data).choices[0].message
    assert message.role == "model"
    assert message.tool_calls[0].type == "custom"


def test_openrouter_only_fields() -> None:
    details = [
        {"type": "reasoning.text", "text": "think", "signature": "sig", "format": "x", "index": 0},
        {"type": "reasoning.encrypted", "data": "[REDACTED]", "id": None, "format": None},
    ]
    data = text_body(
        message={
            "role": "assistant",
            "content": "hi",
            "reasoning": "think",
            "reasoning_details": details,
            "annotations": [{"type": "url_citation", "url_citation": {"url": "https://a"}}],
            "images": [{"type": "image_url", "image_url": {"url": "data:image/png;base64,AA"}}],
            "audio": {"id": "a1", "transcript": "hi"},
        }
    )
    data["service_tier"] = "default"
    data["openrouter_metadata"] = {"strategy": "price", "attempt": 1}
    done = parse_chat_completion(data)
    message = done.choices[0].message
    assert message.reasoning == "think"
    assert message.reasoning_details == details
    assert message.annotations[0]["url_citation"] == {"url": "https://a"}
    assert message.images[0]["image_url"]["url"].startswith("data:")
    assert message.audio == {"id": "a1", "transcript": "hi"}
    assert done.service_tier == "default"
    assert done.openrouter_metadata == {"strategy": "price", "attempt": 1}


@pytest.mark.parametrize("key", ["server_tool_use", "server_tool_use_details"])
def test_server_tool_use_accepts_both_names(key: str) -> None:
    data = body()
    data["usage"][key] = {"web_search_requests": 2}
    usage = parse_chat_completion(data).usage
    assert usage is not None
    assert usage.server_tool_use is not None
    assert usage.server_tool_use.web_search_requests == 2
    assert usage.extra == {}


def test_server_tool_use_wins_over_the_alias_when_both_are_sent() -> None:
    usage = structure(
        {
            "server_tool_use": {"web_search_requests": 1},
            "server_tool_use_details": {"web_search_requests": 5},
        },
        CompletionUsage,
    )
    assert usage.server_tool_use is not None
    assert usage.server_tool_use.web_search_requests == 1


def test_byok_usage() -> None:
    data = body()
    data["usage"].update(cost=0, is_byok=True)
    data["usage"]["cost_details"]["upstream_inference_cost"] = 0.0012
    usage = parse_chat_completion(data).usage
    assert usage is not None
    assert usage.cost == 0
    assert usage.is_byok is True
    assert usage.cost_details is not None
    assert usage.cost_details.upstream_inference_cost == pytest.approx(0.0012)


def test_content_parts_are_joined_and_kept() -> None:
    parts = [
        {"type": "text", "text": "Hello, "},
        {"type": "image_url", "image_url": {"url": "https://x"}},
        {"type": "text", "text": "world"},
    ]
    message = parse_chat_completion(text_body(content=parts)).choices[0].message
    assert message.content == "Hello, world"
    assert message.content_parts == parts


@pytest.mark.parametrize("content", [None, ""])
def test_empty_content_is_not_malformed(content: str | None) -> None:
    data = text_body(content=content, finish_reason="length")
    choice = parse_chat_completion(data).choices[0]
    assert choice.message.content == content
    assert choice.finish_reason == "length"


def test_null_lists_and_fields_mean_not_set() -> None:
    data = body(system_fingerprint=None, model=None)
    message = data["choices"][0]["message"]
    message.update(tool_calls=None, reasoning_details=None, annotations=None, images=None)
    data["usage"]["prompt_tokens"] = None
    done = parse_chat_completion(data)
    assert done.model == ""
    assert done.system_fingerprint is None
    m = done.choices[0].message
    assert m.tool_calls == []
    assert m.reasoning_details == []
    assert m.annotations == []
    assert m.images == []
    assert done.usage is not None
    assert done.usage.prompt_tokens == 0


@pytest.mark.parametrize("arguments", ["", "   ", None])
def test_empty_or_null_tool_arguments_become_empty_object(arguments: str | None) -> None:
    data = body()
    data["choices"][0]["message"]["tool_calls"][0]["function"]["arguments"] = arguments
    call = parse_chat_completion(data).choices[0].message.tool_calls[0]
    assert call.function.arguments == "{}"
    assert call.parsed_arguments() == {}


def test_tool_arguments_sent_as_an_object_become_json_text() -> None:
    data = body()
    data["choices"][0]["message"]["tool_calls"][0]["function"]["arguments"] = {"city": "Paris"}
    call = parse_chat_completion(data).choices[0].message.tool_calls[0]
    assert orjson.loads(call.function.arguments) == {"city": "Paris"}


def test_missing_and_duplicate_tool_call_ids_are_made_unique() -> None:
    data = body()
    calls = [
        {"id": "", "type": "function", "function": {"name": "a", "arguments": "{}"}},
        {"id": None, "function": {"name": "b", "arguments": "{}"}},
        {"id": "call_x", "function": {"name": "c", "arguments": "{}"}},
        {"id": "call_x", "function": {"name": "d", "arguments": "{}"}},
    ]
    data["choices"][0]["message"]["tool_calls"] = calls
    got = parse_chat_completion(data).choices[0].message.tool_calls
    ids = [c.id for c in got]
    assert ids[2] == "call_x"
    assert len(set(ids)) == 4
    assert all(ids)
    assert ids[0] == "call_gen-1760000000-Xy12_0"
    assert [c.name for c in got] == ["a", "b", "c", "d"]


def test_tool_call_ids_are_unique_across_choices_once_a_repeat_appears() -> None:
    def choice(index: int, *ids: str) -> dict[str, Any]:
        calls = [{"id": i, "function": {"name": "f", "arguments": "{}"}} for i in ids]
        return {"index": index, "message": {"tool_calls": calls}}

    done = parse_chat_completion(body(choices=[choice(0, "a", "b"), choice(1, "b", "")]))
    ids = [c.id for ch in done.choices for c in ch.message.tool_calls]
    assert ids[:2] == ["a", "b"]
    assert len(set(ids)) == 4 and all(i.startswith("call_gen-") for i in ids[2:])


def test_legacy_completions_body_reads_text_into_content() -> None:
    data = {
        "id": "gen-1",
        "object": "text_completion",
        "created": 1,
        "model": "m",
        "choices": [{"text": "Once upon", "index": 0, "logprobs": None, "finish_reason": "length"}],
    }
    done = parse_chat_completion(data)
    assert done.object == "text_completion"
    assert done.choices[0].message.content == "Once upon"
    assert done.choices[0].finish_reason == "length"
    assert "text" not in done.choices[0].extra  # moved into the message, not kept twice


def test_a_choice_without_an_integer_index_takes_its_position() -> None:
    entry = {"message": {"content": "x"}, "finish_reason": "stop"}
    data = body(choices=[dict(entry, index=None), dict(entry, index="7"), dict(entry, index=True)])
    assert [c.index for c in parse_chat_completion(data).choices] == [0, 1, 2]


# --------------------------------------------------------------------------- tool arguments


def test_parsed_arguments_rejects_invalid_json_with_a_typed_error() -> None:
    assert ToolCall().parsed_arguments() == {}
    good = structure({"id": "c", "function": {"name": "f", "arguments": '{"a": '}}, ToolCall)
    with pytest.raises(e.StructuredOutputError) as info:
        good.parsed_arguments()
    assert info.value.raw == '{"a": '
    assert isinstance(info.value, ValueError)
    listy = structure({"id": "c", "function": {"name": "f", "arguments": "[1]"}}, ToolCall)
    with pytest.raises(e.StructuredOutputError, match="not an object"):
        listy.parsed_arguments()


# --------------------------------------------------------------------------- errors in a 200

ENVELOPE_CLASSES = [
    (400, e.BadRequestError),
    (401, e.AuthenticationError),
    (402, e.PaymentRequiredError),
    (403, e.PermissionDeniedError),
    (404, e.NotFoundError),
    (429, e.RateLimitError),
    (502, e.BadGatewayError),
    (503, e.ServiceUnavailableError),
]


@pytest.mark.parametrize(("code", "cls"), ENVELOPE_CLASSES)
def test_error_envelope_with_status_200_raises_by_code(
    code: int, cls: type[e.APIStatusError]
) -> None:
    data = {
        "error": {"code": code, "message": "nope", "metadata": {"error_type": "x"}},
        "user_id": "user_1",
    }
    with pytest.raises(e.APIStatusError) as info:
        parse_chat_completion(data, headers={"x-generation-id": "gen-h"})
    err = info.value
    assert type(err) is cls
    assert err.status_code == 200
    assert err.code == code
    assert err.message == "nope"
    assert err.metadata["error_type"] == "x" == err.error_type
    assert err.user_id == "user_1"
    assert err.generation_id == "gen-h"


def test_error_envelope_with_a_string_code_uses_the_http_status() -> None:
    data = {"error": {"code": "server_error", "message": "boom"}}
    with pytest.raises(e.APIStatusError) as info:
        parse_chat_completion(data)
    assert type(info.value) is e.APIStatusError
    assert info.value.code == "server_error"
    with pytest.raises(e.ServiceUnavailableError):
        parse_chat_completion(data, status_code=503)


def test_error_envelope_without_a_code() -> None:
    with pytest.raises(e.APIStatusError) as info:
        parse_chat_completion({"error": {"message": "no code"}})
    assert type(info.value) is e.APIStatusError
    assert info.value.message == "no code"
    with pytest.raises(e.RateLimitError):
        parse_chat_completion({"error": {"message": "slow down"}}, status_code=429)


def test_availability_error_without_code_uses_http_status() -> None:
    data = {
        "error": {
            "message": "Model temporarily unavailable",
            "error_type": "temporarily_unavailable",
            "http_status": 503,
            "availability": {"code": "temporarily_unavailable", "retryable": True},
        }
    }
    with pytest.raises(e.ServiceUnavailableError) as info:
        parse_chat_completion(data)
    assert info.value.retryable is True
    assert info.value.availability is not None


def test_provider_raw_json_string_is_parsed() -> None:
    raw = '{"error": {"message": "Invalid API key for upstream", "type": "auth"}}'
    data = {
        "error": {
            "code": 502,
            "message": "Provider returned error",
            "metadata": {"provider_name": "OpenAI", "raw": raw},
        }
    }
    with pytest.raises(e.BadGatewayError) as info:
        parse_chat_completion(data)
    err = info.value
    assert err.metadata["raw"] == {
        "error": {"message": "Invalid API key for upstream", "type": "auth"}
    }
    assert "Invalid API key for upstream" in err.message
    assert "OpenAI" in err.message
    assert err.provider_name == "OpenAI"


def test_provider_raw_plain_text_is_kept() -> None:
    data = {
        "error": {"code": 502, "message": "Provider returned error", "metadata": {"raw": "oops"}}
    }
    with pytest.raises(e.BadGatewayError) as info:
        parse_chat_completion(data)
    assert info.value.metadata["raw"] == "oops"


def test_choice_with_finish_reason_error_raises_from_its_error() -> None:
    data = text_body(
        content="partial answer",
        finish_reason="error",
        error={"code": 502, "message": "Upstream died", "metadata": {"error_type": "provider"}},
    )
    with pytest.raises(e.BadGatewayError) as info:
        parse_chat_completion(data)
    err = info.value
    assert err.message == "Upstream died"
    assert err.code == 502
    assert err.status_code == 200
    assert err.generation_id == "gen-1760000000-Xy12"
    assert err.error_type == "provider"


def test_choice_error_with_string_code_and_error_without_finish_reason() -> None:
    data = text_body(finish_reason=None, error={"code": "server_error", "message": "bad"})
    with pytest.raises(e.APIStatusError) as info:
        parse_chat_completion(data)
    assert info.value.code == "server_error"
    assert info.value.message == "bad"


def test_finish_reason_error_without_an_error_object_still_raises() -> None:
    with pytest.raises(e.APIStatusError, match="finish_reason"):
        parse_chat_completion(text_body(finish_reason="error"))


# --------------------------------------------------------------------------- not a completion


@pytest.mark.parametrize("data", [[], "text", None, 42, 1.5, True])
def test_non_object_bodies_raise_response_validation_error(data: Any) -> None:
    with pytest.raises(e.ResponseValidationError, match="JSON object"):
        parse_chat_completion(data)


@pytest.mark.parametrize("choices", [None, {}, "x", 3])
def test_missing_or_non_list_choices_raise(choices: Any) -> None:
    data = body()
    if choices is None:
        del data["choices"]
    else:
        data["choices"] = choices
    with pytest.raises(e.ResponseValidationError, match="choices"):
        parse_chat_completion(data)


def test_wrongly_typed_values_raise_a_typed_error_not_a_cattrs_one() -> None:
    with pytest.raises(e.ResponseValidationError, match=r"ChatCompletion\.created") as info:
        parse_chat_completion(body(created="yesterday"))
    assert info.value.generation_id == "gen-1760000000-Xy12"
    assert isinstance(info.value.__cause__, e.ResponseValidationError)
    with pytest.raises(e.ResponseValidationError, match=r"choices\[0\]"):
        parse_chat_completion(body(choices=["not an object"]))


def test_empty_choices_list_is_a_valid_completion() -> None:
    done = parse_chat_completion(body(choices=[]))
    assert done.choices == []
    assert done.content is None
    assert done.tool_calls == []


# --------------------------------------------------------------------------- response info


def test_response_info_headers_are_case_insensitive() -> None:
    info = ResponseInfo(
        status_code=429,
        headers={
            "x-ratelimit-limit": "20",
            "X-RateLimit-Remaining": "0",
            "X-RATELIMIT-RESET": "1760000060000",
            "x-openrouter-cache-status": "hit",
            "X-OpenRouter-Cache-TTL": "300",
        },
        elapsed=0.25,
        generation_id="gen-1",
    )
    assert info.rate_limit_limit == 20
    assert info.rate_limit_remaining == 0
    assert info.rate_limit_reset == 1760000060000
    assert info.cache_status == "HIT"
    assert info.cache_hit is True
    assert info.cache_ttl == 300
    assert info.header("X-Missing") is None


def test_response_info_absent_or_garbled_headers() -> None:
    info = ResponseInfo(status_code=200, headers={"X-RateLimit-Limit": "lots"})
    assert info.rate_limit_limit is None
    assert info.cache_status is None
    assert info.cache_hit is None
    assert info.cache_ttl is None


def test_response_is_attached_without_changing_equality() -> None:
    import attrs

    done = parse_chat_completion(EXAMPLE_3_6)
    info = ResponseInfo(status_code=200, headers={}, generation_id="gen-h")
    with_info = attrs.evolve(done, response=info)
    assert with_info == done
    assert with_info.response is info
    assert "response" not in repr(with_info)
    assert attrs.evolve(done, id="", response=info).generation_id == "gen-h"


# --------------------------------------------------------------------------- raw chunk types


def test_chunk_model_is_tolerant() -> None:
    raw = {
        "id": "gen-1",
        "object": "chat.completion.chunk",
        "created": 1,
        "model": "m",
        "provider": "Google",
        "choices": [
            {
                "index": 0,
                "delta": {
                    "role": "assistant",
                    "content": None,
                    "tool_calls": [
                        {"index": None, "id": "", "function": {"name": "f", "arguments": "{}"}}
                    ],
                    "new_delta": 1,
                },
                "finish_reason": None,
                "native_finish_reason": None,
                "new_choice": 2,
            }
        ],
        "new_top": 3,
    }
    chunk = structure(raw, ChatCompletionChunk)
    assert chunk.extra == {"new_top": 3}
    assert chunk.choices is not None
    choice = chunk.choices[0]
    assert choice.extra == {"new_choice": 2}
    assert choice.delta.extra == {"new_delta": 1}
    assert choice.delta.tool_calls is not None
    fragment = choice.delta.tool_calls[0]
    assert fragment.index is None
    assert fragment.id == ""
    assert fragment.function is not None
    assert fragment.function.name == "f"


def test_chunk_model_usage_and_error_chunks() -> None:
    usage_chunk = structure(
        {"id": "g", "choices": [], "usage": {"prompt_tokens": 1, "server_tool_use_details": {}}},
        ChatCompletionChunk,
    )
    assert usage_chunk.choices == []
    assert usage_chunk.usage is not None
    assert usage_chunk.usage.prompt_tokens == 1
    error_chunk = structure(
        {"error": {"code": "server_error", "message": "x"}, "choices": None}, ChatCompletionChunk
    )
    assert error_chunk.error is not None
    assert error_chunk.error.code == "server_error"
    assert error_chunk.choices is None
