"""Each emulator fault mode drives the client to its documented outcome."""

from __future__ import annotations

import asyncio
import time

import pytest

import openrouter_async as ora
from openrouter_async.testing import Emulator

MESSAGES = [{"role": "user", "content": "one two three four five six"}]


@pytest.fixture(autouse=True)
def _zero_waits():
    ora.set_testing(True)
    yield
    ora.set_testing(False)


async def stream_all(
    client: ora.OpenRouter, model: str, **kw: object
) -> tuple[list[object], ora.ChatCompletion]:
    events: list[object] = []
    async with client.chat.completions.stream(model=model, messages=MESSAGES, **kw) as stream:
        async for event in stream:
            events.append(event)
        final = await stream.get_final_completion()
    return events, final


def texts(events: list[object]) -> str:
    return "".join(e.text for e in events if isinstance(e, ora.TextDelta))


async def test_normal_stream_and_create(emulator: Emulator) -> None:
    async with emulator.client() as client:
        events, final = await stream_all(client, "emulator/echo")
        assert texts(events) == "one two three four five six"
        assert final.choices[0].message.content == "one two three four five six"
        assert final.choices[0].finish_reason == "stop"
        assert final.usage is not None and final.usage.total_tokens > 0 and final.usage.cost
        assert any(isinstance(e, ora.KeepAlive) for e in events)
        assert isinstance(events[-1], ora.Usage) or any(isinstance(e, ora.Usage) for e in events)
        done = await client.chat.completions.create(model="emulator/echo", messages=MESSAGES)
        assert done.choices[0].message.content == final.choices[0].message.content
        assert done.response is not None and done.response.generation_id == done.id


@pytest.mark.parametrize(
    ("status", "cls"),
    [
        (400, ora.BadRequestError),
        (401, ora.AuthenticationError),
        (402, ora.PaymentRequiredError),
        (403, ora.PermissionDeniedError),
        (404, ora.NotFoundError),
        (413, ora.PayloadTooLargeError),
        (422, ora.UnprocessableEntityError),
        (429, ora.RateLimitError),
        (500, ora.InternalServerError),
        (502, ora.BadGatewayError),
        (503, ora.ServiceUnavailableError),
        (504, ora.GatewayTimeoutError),
        (524, ora.EdgeTimeoutError),
        (529, ora.ProviderOverloadedError),
    ],
)
async def test_http_error_classes(emulator: Emulator, status: int, cls: type[Exception]) -> None:
    async with emulator.client(max_retries=0) as client:
        with pytest.raises(cls) as info:
            await client.chat.completions.create(
                model=f"emulator/echo:fault=http({status})", messages=MESSAGES
            )
        assert isinstance(info.value, ora.APIStatusError) and info.value.status_code == status
        with pytest.raises(cls):
            async with client.chat.completions.stream(
                model=f"emulator/echo:fault=http({status})", messages=MESSAGES
            ) as stream:
                async for _ in stream:
                    pass


async def test_fail_first_then_succeed_is_retried(emulator: Emulator) -> None:
    async with emulator.client() as client:
        done = await client.chat.completions.create(
            model="emulator/echo:fault=fail_first(2,status=503)", messages=MESSAGES
        )
        assert done.choices[0].message.content
        _, final = await stream_all(
            client, "emulator/echo:fault=fail_first(2,status=429,retry_after=1)"
        )
        assert final.choices[0].message.content
    chat_posts = [r for r in emulator.requests if r.endpoint == "/chat/completions"]
    assert [r.status for r in chat_posts] == [503, 503, 200, 429, 429, 200]


async def test_html_error_page(emulator: Emulator) -> None:
    async with emulator.client(max_retries=0) as client:
        with pytest.raises(ora.BadGatewayError) as info:
            await client.chat.completions.create(
                model="emulator/echo:fault=html(502)", messages=MESSAGES
            )
    assert "<" not in info.value.message


async def test_error_in_200(emulator: Emulator) -> None:
    async with emulator.client(max_retries=0) as client:
        with pytest.raises(ora.APIStatusError) as info:
            await client.chat.completions.create(
                model="emulator/echo:fault=error_200(code=402)", messages=MESSAGES
            )
        assert info.value.code == 402
        with pytest.raises(ora.StreamError):
            await stream_all(client, "emulator/echo:fault=error_200(code=502)")


@pytest.mark.parametrize("code", ["502", "server_error"])
async def test_mid_stream_error(emulator: Emulator, code: str) -> None:
    async with emulator.client() as client:
        with pytest.raises(ora.StreamError) as info:
            await stream_all(client, f"emulator/echo:fault=mid_error(after=3,code={code})")
    err = info.value
    assert str(err.code) == code
    assert err.partial is not None and err.partial.choices[0].message.content == "one two three"
    assert err.generation_id
    assert len([r for r in emulator.requests if r.endpoint == "/chat/completions"]) == 1


async def test_stall_with_comments_hits_idle_timeout(emulator: Emulator) -> None:
    async with emulator.client(timeout=ora.Timeouts(idle=0.3)) as client:
        started = time.monotonic()
        with pytest.raises(ora.APITimeoutError) as info:
            await stream_all(client, "emulator/echo:fault=stall(after=2,interval=0.05)")
        timed_out = time.monotonic()
    assert info.value.kind == "idle"
    assert timed_out - started < 2
    record = emulator.requests[-1]
    disconnected = await emulator.wait_for_disconnect(record, timeout=1)
    assert disconnected - timed_out < 0.1


async def test_silent_stall_hits_idle_timeout(emulator: Emulator) -> None:
    async with emulator.client(timeout=ora.Timeouts(idle=0.3)) as client:
        with pytest.raises(ora.APITimeoutError):
            await stream_all(client, "emulator/echo:fault=stall(after=2,comments=0)")


async def test_dropped_connection(emulator: Emulator) -> None:
    async with emulator.client() as client:
        with pytest.raises(ora.APIConnectionError) as info:
            await stream_all(client, "emulator/echo:fault=drop(after=2)")
    assert not isinstance(info.value, ora.APITimeoutError)


async def test_truncated_stream(emulator: Emulator) -> None:
    async with emulator.client() as client:
        with pytest.raises(ora.IncompleteStreamError) as info:
            await stream_all(client, "emulator/echo:fault=truncate(after=2)")
    assert info.value.partial is not None
    assert info.value.partial.choices[0].message.content == "one two"


async def test_malformed_event(emulator: Emulator) -> None:
    async with emulator.client() as client:
        with pytest.raises(ora.ProtocolError):
            await stream_all(client, "emulator/echo:fault=malformed(after=2)")
        with pytest.raises(ora.ProtocolError):
            await client.chat.completions.create(
                model="emulator/echo:fault=malformed", messages=MESSAGES
            )


@pytest.mark.parametrize("spec", ["crlf", "cr", "split(1)", "coalesce", "crlf;split(3)"])
async def test_wire_variants_decode_identically(emulator: Emulator, spec: str) -> None:
    async with emulator.client() as client:
        events, final = await stream_all(client, f"emulator/echo:fault={spec}")
    assert texts(events) == "one two three four five six"
    assert final.usage is not None and final.usage.total_tokens > 0


async def test_huge_event(emulator: Emulator) -> None:
    async with emulator.client() as client:
        events, final = await stream_all(client, "emulator/echo:fault=huge(after=1)")
    images = [e for e in events if isinstance(e, ora.ImagesDelta)]
    assert images and len(str(images[0].images[0])) > 2 * 1024 * 1024
    assert final.choices[0].message.images


async def test_slow_headers_hit_first_event_timeout(emulator: Emulator) -> None:
    async with emulator.client(timeout=ora.Timeouts(first_event=0.3)) as client:
        with pytest.raises(ora.APITimeoutError) as info:
            await stream_all(client, "emulator/echo:fault=slow(headers=5)")
    assert info.value.kind == "first_event"


async def test_slow_non_stream_read_timeout_not_resent(emulator: Emulator) -> None:
    async with emulator.client(timeout=ora.Timeouts(read=0.3)) as client:
        with pytest.raises(ora.APITimeoutError) as info:
            await client.chat.completions.create(
                model="emulator/echo:fault=slow(headers=5)", messages=MESSAGES
            )
    assert info.value.kind == "read"
    assert len([r for r in emulator.requests if r.endpoint == "/chat/completions"]) == 1


async def test_disconnect_after_total_timeout_is_prompt(emulator: Emulator) -> None:
    async with emulator.client(timeout=ora.Timeouts(total=0.4)) as client:
        with pytest.raises(ora.APITimeoutError):
            await stream_all(client, "emulator/lorem:tokens=1000:tps=20")
        timed_out = time.monotonic()
    disconnected = await emulator.wait_for_disconnect(emulator.requests[-1], timeout=1)
    assert disconnected - timed_out < 0.1


async def test_reasoning_and_tools_stream(emulator: Emulator) -> None:
    tool = {
        "type": "function",
        "function": {
            "name": "get_weather",
            "parameters": {
                "type": "object",
                "properties": {"city": {"type": "string"}},
                "required": ["city"],
            },
        },
    }
    async with emulator.client() as client:
        events, final = await stream_all(client, "emulator/tools", tools=[tool])
        done = [e for e in events if isinstance(e, ora.ToolCallDone)]
        assert len(done) == 1 and done[0].name == "get_weather"
        assert "city" in done[0].parsed_arguments()
        assert final.choices[0].finish_reason == "tool_calls"
        assert final.choices[0].message.tool_calls[0].id == done[0].id
        events, final = await stream_all(client, "emulator/reasoning")
        reasoning = "".join(e.text for e in events if isinstance(e, ora.ReasoningDelta))
        assert reasoning and final.choices[0].message.reasoning == reasoning


async def test_concurrent_streams_share_the_pool() -> None:
    async with Emulator(api_key="k") as emu, emu.client() as client:
        results = await asyncio.gather(
            *(stream_all(client, "emulator/lorem:tokens=20") for _ in range(50))
        )
    assert all(final.choices[0].finish_reason in ("stop", "length") for _, final in results)


async def test_error_in_same_read_as_events_delivers_events_first(emulator: Emulator) -> None:
    """Regression: a StreamError decoded in the same network read as earlier events used to
    discard those events; they must reach the consumer before the error."""
    async with emulator.client() as client:
        seen: list[str] = []
        with pytest.raises(ora.StreamError) as info:
            async with client.chat.completions.stream(
                model="emulator/echo:fault=mid_error(after=3,code=502);coalesce", messages=MESSAGES
            ) as stream:
                async for event in stream:
                    if isinstance(event, ora.TextDelta):
                        seen.append(event.text)
    assert "".join(seen) == "one two three"
    assert info.value.partial is not None


async def test_truncation_in_same_read_delivers_events_first(emulator: Emulator) -> None:
    async with emulator.client() as client:
        seen: list[str] = []
        with pytest.raises(ora.IncompleteStreamError):
            async with client.chat.completions.stream(
                model="emulator/echo:fault=truncate(after=2);coalesce", messages=MESSAGES
            ) as stream:
                async for event in stream:
                    if isinstance(event, ora.TextDelta):
                        seen.append(event.text)
    assert "".join(seen) == "one two"
