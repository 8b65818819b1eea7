"""OpenTelemetry spans through ``openrouter_async.otel`` with the in-memory span exporter: one
span per request, retries as events, GenAI attributes, streamed spans closed on break, cancel
and error."""

from __future__ import annotations

import asyncio
import subprocess
import sys

import pytest
from opentelemetry.sdk.trace import TracerProvider
from opentelemetry.sdk.trace.export import SimpleSpanProcessor
from opentelemetry.sdk.trace.export.in_memory_span_exporter import InMemorySpanExporter
from opentelemetry.trace import SpanKind, StatusCode

import openrouter_async as ora
from openrouter_async.otel import instrument
from openrouter_async.testing import Emulator

pytestmark = pytest.mark.usefixtures("zero_waits")

MESSAGES = [{"role": "user", "content": "hi"}]


@pytest.fixture
def spans() -> InMemorySpanExporter:
    return InMemorySpanExporter()


def traced(emulator: Emulator, exporter: InMemorySpanExporter) -> ora.OpenRouter:
    provider = TracerProvider()
    provider.add_span_processor(SimpleSpanProcessor(exporter))
    client = emulator.client()
    instrument(client, tracer_provider=provider)
    return client


async def test_one_span_per_create_with_retries_as_events(
    emulator: Emulator, spans: InMemorySpanExporter
) -> None:
    async with traced(emulator, spans) as client:
        emulator.fail_next(2, 503)
        done = await client.chat.completions.create(
            model="emulator/echo", messages=MESSAGES, temperature=0.5, max_tokens=50
        )
    (span,) = spans.get_finished_spans()
    attrs = dict(span.attributes or {})
    assert span.name == "chat emulator/echo"
    assert span.kind is SpanKind.CLIENT
    assert attrs["gen_ai.system"] == "openrouter"
    assert attrs["gen_ai.operation.name"] == "chat"
    assert attrs["gen_ai.request.model"] == "emulator/echo"
    assert attrs["gen_ai.request.temperature"] == 0.5
    assert attrs["gen_ai.request.max_tokens"] == 50
    assert attrs["gen_ai.response.model"] == done.model
    assert attrs["gen_ai.response.id"] == done.id
    assert attrs["gen_ai.response.finish_reasons"] == ("stop",)
    assert done.usage is not None
    assert attrs["gen_ai.usage.input_tokens"] == done.usage.prompt_tokens
    assert attrs["gen_ai.usage.output_tokens"] == done.usage.completion_tokens
    assert attrs["openrouter.cost"] == done.usage.cost
    assert attrs["openrouter.generation_id"]
    assert attrs["server.address"] == "127.0.0.1"
    assert [e.name for e in span.events] == ["retry", "retry"]
    assert span.events[0].attributes["error.type"] == "ServiceUnavailableError"  # type: ignore[index]
    assert span.status.status_code is not StatusCode.ERROR


async def test_a_failed_call_is_an_error_span(
    emulator: Emulator, spans: InMemorySpanExporter
) -> None:
    async with traced(emulator, spans) as client:
        with pytest.raises(ora.BadRequestError):
            emulator.fail_next(1, 400)
            await client.chat.completions.create(model="emulator/echo", messages=MESSAGES)
        await client.models.list()
    error_span, models_span = spans.get_finished_spans()
    assert error_span.status.status_code is StatusCode.ERROR
    assert error_span.attributes["error.type"] == "BadRequestError"  # type: ignore[index]
    assert error_span.attributes["http.response.status_code"] == 400  # type: ignore[index]
    assert models_span.name == "GET /models"


async def test_a_streamed_span_carries_usage_and_time_to_first_token(
    emulator: Emulator, spans: InMemorySpanExporter
) -> None:
    async with traced(emulator, spans) as client:
        async with client.chat.completions.stream(
            model="emulator/echo", messages=MESSAGES
        ) as stream:
            final = await stream.get_final_completion()
    (span,) = spans.get_finished_spans()
    attrs = dict(span.attributes or {})
    assert attrs["openrouter.stream.outcome"] == "done"
    assert attrs["gen_ai.server.time_to_first_token"] > 0
    assert final.usage is not None
    assert attrs["gen_ai.usage.output_tokens"] == final.usage.completion_tokens
    assert attrs["gen_ai.response.finish_reasons"] == ("stop",)


@pytest.mark.parametrize("how", ["break", "cancel", "error"])
async def test_streamed_spans_close_on_break_cancel_and_error(
    emulator: Emulator, spans: InMemorySpanExporter, how: str
) -> None:
    model = {
        "break": "emulator/lorem:tokens=200:tps=400",
        "cancel": "emulator/lorem:tokens=200:tps=100",
        "error": "emulator/lorem:tokens=40:fault=mid_error(after=5,code=502)",
    }[how]
    async with traced(emulator, spans) as client:

        async def consume() -> None:
            async with client.chat.completions.stream(model=model, messages=MESSAGES) as stream:
                async for _ in stream.text_stream:
                    if how == "break":
                        break

        if how == "cancel":
            task = asyncio.create_task(consume())
            await asyncio.sleep(0.2)
            task.cancel()
            with pytest.raises(asyncio.CancelledError):
                await task
        elif how == "error":
            with pytest.raises(ora.StreamError):
                await consume()
        else:
            await consume()
    (span,) = spans.get_finished_spans()
    attrs = dict(span.attributes or {})
    assert attrs["openrouter.stream.outcome"] == ("closed" if how == "break" else "error")
    if how == "break":
        assert span.status.status_code is not StatusCode.ERROR
    else:
        assert span.status.status_code is StatusCode.ERROR
        assert attrs["error.type"] == ("CancelledError" if how == "cancel" else "StreamError")


def test_importing_the_sdk_never_imports_opentelemetry() -> None:
    code = (
        "import sys, openrouter_async, openrouter_async.testing;"
        "c = openrouter_async.OpenRouter(api_key='k');"
        "assert not any(m.startswith('opentelemetry') for m in sys.modules), 'otel imported'"
    )
    subprocess.run([sys.executable, "-c", code], check=True, timeout=60)
