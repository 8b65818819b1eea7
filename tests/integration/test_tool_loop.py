"""The tool loop (``client.chat.run_tools`` / ``stream_tools``) against a scripted model server
and the emulator."""

from __future__ import annotations

import asyncio
import dataclasses
import enum
import threading
from collections.abc import AsyncIterator, Sequence
from typing import Any, Literal

import attrs
import orjson
import pytest
from aiohttp import web

import openrouter_async as ora
from openrouter_async._convert import unstructure
from openrouter_async._tool_loop import (
    ToolInvocation,
    ToolResultEvent,
    ToolRunResult,
    tool_result_content,
)
from openrouter_async.testing import Emulator
from openrouter_async.tools import function_tool
from tests.localserver import serve

USER = [{"role": "user", "content": "Plan my day"}]
REASONING = [
    {
        "type": "reasoning.text",
        "text": "Check the weather.",
        "signature": "sig==",
        "format": "anthropic-claude-v1",
        "index": 0,
    },
    {
        "type": "reasoning.encrypted",
        "data": "opaque==",
        "id": "r1",
        "format": "anthropic-claude-v1",
        "index": 1,
    },
]


# --- a model that follows a script --------------------------------------------------------------


@attrs.frozen
class Turn:
    """What the scripted model answers on one turn."""

    content: str | None = None
    calls: Sequence[tuple[str, str, str]] = ()  # (id, name, arguments)
    reasoning_details: Sequence[dict[str, Any]] | None = None


class ScriptedModel:
    """An OpenRouter-shaped server answering turn N with ``turns[N]`` (the last one repeats),
    streamed or not as the request asks. ``bodies`` records every request body."""

    def __init__(self, *turns: Turn) -> None:
        self.turns = turns
        self.bodies: list[dict[str, Any]] = []

    def message(self, turn: Turn) -> dict[str, Any]:
        message: dict[str, Any] = {"role": "assistant", "content": turn.content}
        if turn.reasoning_details is not None:
            message["reasoning_details"] = list(turn.reasoning_details)
        if turn.calls:
            message["tool_calls"] = [
                {"id": cid, "type": "function", "function": {"name": name, "arguments": args}}
                for cid, name, args in turn.calls
            ]
        return message

    def chunks(self, turn: Turn, base: dict[str, Any]) -> list[dict[str, Any]]:
        def chunk(delta: dict[str, Any], finish: str | None = None) -> dict[str, Any]:
            return {**base, "choices": [{"index": 0, "delta": delta, "finish_reason": finish}]}

        out = [chunk({"role": "assistant", "content": ""})]
        if turn.reasoning_details is not None:
            out.append(chunk({"reasoning_details": list(turn.reasoning_details)}))
        if turn.content:
            text = turn.content
            out.extend(chunk({"content": text[i : i + 4]}) for i in range(0, len(text), 4))
        for index, (cid, name, args) in enumerate(turn.calls):
            start = {
                "index": index,
                "id": cid,
                "type": "function",
                "function": {"name": name, "arguments": ""},
            }
            out.append(chunk({"tool_calls": [start]}))
            for i in range(0, len(args), 5):
                piece = {"index": index, "function": {"arguments": args[i : i + 5]}}
                out.append(chunk({"tool_calls": [piece]}))
        out.append(chunk({}, "tool_calls" if turn.calls else "stop"))
        usage = {"prompt_tokens": 3, "completion_tokens": 2, "total_tokens": 5}
        out.append({**base, "choices": [], "usage": usage})
        return out

    async def handle(self, request: web.Request) -> web.StreamResponse:
        body = await request.json()
        self.bodies.append(body)
        turn = self.turns[min(len(self.bodies), len(self.turns)) - 1]
        base = {"id": f"gen-{len(self.bodies)}", "created": 1, "model": "m/x"}
        if not body.get("stream"):
            finish = "tool_calls" if turn.calls else "stop"
            return web.json_response(
                {
                    **base,
                    "object": "chat.completion",
                    "choices": [
                        {"index": 0, "message": self.message(turn), "finish_reason": finish}
                    ],
                    "usage": {"prompt_tokens": 3, "completion_tokens": 2, "total_tokens": 5},
                }
            )
        response = web.StreamResponse(headers={"Content-Type": "text/event-stream"})
        await response.prepare(request)
        for item in self.chunks(turn, {**base, "object": "chat.completion.chunk"}):
            await response.write(b"data: " + orjson.dumps(item) + b"\n\n")
        await response.write(b"data: [DONE]\n\n")
        await response.write_eof()
        return response


@pytest.fixture
async def scripted() -> AsyncIterator[tuple[list[ScriptedModel], ora.OpenRouter]]:
    """A client pointed at a scripted model; put the ScriptedModel in the list first."""
    models: list[ScriptedModel] = []

    async def handler(request: web.Request) -> web.StreamResponse:
        return await models[0].handle(request)

    routes = {("POST", "/api/v1/chat/completions"): handler}
    async with (
        serve(routes) as base,  # type: ignore[arg-type]
        ora.OpenRouter(api_key="k", base_url=base + "/api/v1") as client,
    ):
        yield models, client


async def run(client: ora.OpenRouter, mode: str, **kwargs: Any) -> tuple[ToolRunResult, list[Any]]:
    """Run the loop with create() or stream(); return the result and (streaming) the events."""
    if mode == "create":
        return await client.chat.run_tools(**kwargs), []
    events: list[Any] = []
    async with client.chat.stream_tools(**kwargs) as loop:
        async for event in loop:
            events.append(event)
    assert loop.result is not None
    assert events[-1] is loop.result
    return loop.result, events


# --- tools --------------------------------------------------------------------------------------


class Unit(enum.Enum):
    C = "c"
    F = "f"


@attrs.frozen
class Weather:
    city: str
    temp: float
    unit: Unit


THREADS: list[int] = []


@function_tool
async def get_weather(city: str, unit: Unit = Unit.C) -> Weather:
    """Current weather for a city.

    Args:
        city: City name.
        unit: Temperature unit.
    """
    await asyncio.sleep(0)
    return Weather(city=city, temp=21.5 if unit is Unit.C else 70.7, unit=unit)


def add(a: int, b: int) -> int:
    """Add two integers."""
    THREADS.append(threading.get_ident())
    return a + b


def explode() -> str:
    """Always fails."""
    raise ValueError("boom")


# --- the required multi-turn scenario -----------------------------------------------------------


@pytest.mark.parametrize("mode", ["create", "stream"])
async def test_two_tools_over_several_turns_with_a_failing_tool(
    scripted: tuple[list[ScriptedModel], ora.OpenRouter], mode: str
) -> None:
    models, client = scripted
    model = ScriptedModel(
        Turn(
            reasoning_details=REASONING,
            calls=[("c1", "get_weather", '{"city": "Paris"}'), ("c2", "explode", "")],
        ),
        Turn(
            calls=[
                ("c3", "add", '{"a": 2,'),
                ("c4", "add", '{"a": "x", "b": 1}'),
                ("c5", "nope", "{}"),
            ]
        ),
        Turn(
            calls=[
                ("c6", "add", '{"a": 2, "b": 3}'),
                ("c7", "get_weather", '{"city": "Oslo", "unit": "f"}'),
            ]
        ),
        Turn(content="Done: 5"),
    )
    models.append(model)
    THREADS.clear()

    result, events = await run(
        client, mode, model="m/x", messages=USER, tools=[get_weather, add, explode]
    )

    assert result.stop_reason == "final"
    assert not result.reached_max_turns
    assert result.turns == 4
    assert result.content == "Done: 5"
    assert len(result.completions) == 4
    assert [(i.turn, i.id, i.name, i.ok) for i in result.invocations] == [
        (1, "c1", "get_weather", True),
        (1, "c2", "explode", False),
        (2, "c3", "add", False),
        (2, "c4", "add", False),
        (2, "c5", "nope", False),
        (3, "c6", "add", True),
        (3, "c7", "get_weather", True),
    ]
    by_id = {i.id: i for i in result.invocations}
    assert by_id["c1"].result == Weather(city="Paris", temp=21.5, unit=Unit.C)
    assert isinstance(by_id["c2"].error, ValueError)
    assert isinstance(by_id["c3"].error, ora.StructuredOutputError)
    assert isinstance(by_id["c4"].error, ora.StructuredOutputError)
    assert isinstance(by_id["c5"].error, LookupError)
    assert by_id["c6"].result == 5
    assert all(i.duration >= 0 for i in result.invocations)
    assert THREADS
    assert threading.get_ident() not in THREADS

    bodies = model.bodies
    assert len(bodies) == 4
    for body in bodies:
        assert [t["function"]["name"] for t in body["tools"]] == ["get_weather", "add", "explode"]
        assert body.get("stream", False) is (mode == "stream")

    # Turn 2 sees turn 1's assistant message (reasoning echoed unmodified) and both results.
    assistant, weather, boom = bodies[1]["messages"][1:]
    assert assistant["role"] == "assistant"
    assert assistant["reasoning_details"] == REASONING
    assert [c["id"] for c in assistant["tool_calls"]] == ["c1", "c2"]
    assert weather == {
        "role": "tool",
        "tool_call_id": "c1",
        "name": "get_weather",
        "content": '{"city":"Paris","temp":21.5,"unit":"c"}',
    }
    assert boom["tool_call_id"] == "c2"
    assert orjson.loads(boom["content"]) == {"error": "ValueError: boom"}

    # Turn 3: malformed arguments, arguments against the schema, and an unknown tool.
    results = {
        m["tool_call_id"]: orjson.loads(m["content"])["error"] for m in bodies[2]["messages"][-3:]
    }
    assert results["c3"].startswith(
        "StructuredOutputError: tool call 'add' arguments are not valid JSON"
    )
    assert results["c4"] == (
        "StructuredOutputError: arguments for tool 'add' do not match its schema: "
        "$.a: expected integer, got string"
    )
    assert (
        results["c5"]
        == "LookupError: there is no tool named 'nope' (tools: 'get_weather', 'add', 'explode')"
    )

    # Turn 4: the good calls.
    last_results = {m["tool_call_id"]: m["content"] for m in bodies[3]["messages"][-2:]}
    assert last_results == {"c6": "5", "c7": '{"city":"Oslo","temp":70.7,"unit":"f"}'}

    # The returned history is what was sent, plus the final answer.
    assert [unstructure(m) for m in result.messages[:-1]] == bodies[3]["messages"]
    assert unstructure(result.messages[-1]) == {"role": "assistant", "content": "Done: 5"}

    if mode == "stream":
        tool_events = [e for e in events if isinstance(e, ToolResultEvent)]
        assert sorted(e.invocation.id for e in tool_events) == [
            "c1",
            "c2",
            "c3",
            "c4",
            "c5",
            "c6",
            "c7",
        ]
        done = [e for e in events if isinstance(e, ora.ToolCallDone)]
        assert [(d.id, d.name) for d in done][:2] == [("c1", "get_weather"), ("c2", "explode")]
        assert "".join(e.text for e in events if isinstance(e, ora.TextDelta)) == "Done: 5"
        assert any(isinstance(e, ora.ReasoningDelta) for e in events)


# --- options ------------------------------------------------------------------------------------


async def test_tools_of_one_turn_run_concurrently(
    scripted: tuple[list[ScriptedModel], ora.OpenRouter],
) -> None:
    models, client = scripted
    models.append(
        ScriptedModel(Turn(calls=[("a", "first", "{}"), ("b", "second", "{}")]), Turn(content="ok"))
    )
    # Each tool waits until both have started: run one after the other, they would time out.
    arrived: list[str] = []
    release = asyncio.Event()

    async def first() -> str:
        arrived.append("first")
        if len(arrived) == 2:
            release.set()
        await asyncio.wait_for(release.wait(), 5)
        return "1"

    async def second() -> str:
        arrived.append("second")
        if len(arrived) == 2:
            release.set()
        await asyncio.wait_for(release.wait(), 5)
        return "2"

    result = await client.chat.run_tools(model="m/x", messages=USER, tools=[first, second])
    assert [i.result for i in result.invocations] == ["1", "2"]


async def test_sequential_mode_runs_in_call_order(
    scripted: tuple[list[ScriptedModel], ora.OpenRouter],
) -> None:
    models, client = scripted
    models.append(
        ScriptedModel(Turn(calls=[("a", "slow", "{}"), ("b", "fast", "{}")]), Turn(content="ok"))
    )
    log: list[str] = []

    async def slow() -> str:
        log.append("slow start")
        await asyncio.sleep(0.05)
        log.append("slow end")
        return "s"

    async def fast() -> str:
        log.append("fast")
        return "f"

    result = await client.chat.run_tools(
        model="m/x", messages=USER, tools=[slow, fast], parallel=False
    )
    assert log == ["slow start", "slow end", "fast"]
    assert [m.tool_call_id for m in result.messages if isinstance(m, ora.ToolMessage)] == ["a", "b"]


async def test_tool_timeout_is_reported_to_the_model(
    scripted: tuple[list[ScriptedModel], ora.OpenRouter],
) -> None:
    models, client = scripted
    model = ScriptedModel(Turn(calls=[("a", "hang", "{}")]), Turn(content="ok"))
    models.append(model)

    async def hang() -> str:
        await asyncio.sleep(30)
        return "never"

    result = await client.chat.run_tools(
        model="m/x", messages=USER, tools=[hang], tool_timeout=0.05
    )
    (invocation,) = result.invocations
    assert isinstance(invocation.error, TimeoutError)
    content = orjson.loads(model.bodies[1]["messages"][-1]["content"])
    assert content == {"error": "TimeoutError: tool 'hang' did not finish within 0.05 s"}


@pytest.mark.parametrize("mode", ["create", "stream"])
async def test_max_turns_returns_with_the_flag(
    scripted: tuple[list[ScriptedModel], ora.OpenRouter], mode: str
) -> None:
    models, client = scripted
    model = ScriptedModel(Turn(calls=[("again", "add", '{"a": 1, "b": 1}')]))
    models.append(model)
    result, _ = await run(client, mode, model="m/x", messages=USER, tools=[add], max_turns=3)
    assert result.stop_reason == "max_turns"
    assert result.reached_max_turns
    assert result.turns == 3
    assert len(model.bodies) == 3
    assert len(result.invocations) == 3
    assert isinstance(result.messages[-1], ora.ToolMessage)  # the last calls were answered
    # The history can be sent again to continue.
    follow_up = ora.ChatRequest(model="m/x", messages=result.messages)
    assert len(follow_up.messages) == 1 + 3 * 2


async def test_on_tool_call_sync_and_async(
    scripted: tuple[list[ScriptedModel], ora.OpenRouter],
) -> None:
    models, client = scripted
    models.append(ScriptedModel(Turn(calls=[("a", "add", '{"a": 1, "b": 2}')]), Turn(content="ok")))
    seen: list[ToolInvocation] = []

    async def record(invocation: ToolInvocation) -> None:
        await asyncio.sleep(0)
        seen.append(invocation)

    await client.chat.run_tools(model="m/x", messages=USER, tools=[add], on_tool_call=seen.append)
    models[0] = ScriptedModel(*models[0].turns)
    await client.chat.run_tools(model="m/x", messages=USER, tools=[add], on_tool_call=record)
    assert [(i.name, i.result) for i in seen] == [("add", 3), ("add", 3)]


async def test_a_failing_callback_stops_the_loop(
    scripted: tuple[list[ScriptedModel], ora.OpenRouter],
) -> None:
    models, client = scripted
    models.append(ScriptedModel(Turn(calls=[("a", "add", '{"a": 1, "b": 2}'), ("b", "add", "{}")])))

    def refuse(invocation: ToolInvocation) -> None:
        raise RuntimeError("stop here")

    with pytest.raises(RuntimeError, match="stop here"):
        await client.chat.run_tools(model="m/x", messages=USER, tools=[add], on_tool_call=refuse)


async def test_missing_and_duplicate_call_ids_are_filled_in(
    scripted: tuple[list[ScriptedModel], ora.OpenRouter],
) -> None:
    models, client = scripted
    model = ScriptedModel(
        Turn(calls=[("", "add", '{"a": 1, "b": 2}'), ("", "add", '{"a": 3, "b": 4}')]),
        Turn(content="ok"),
    )
    models.append(model)
    result = await client.chat.run_tools(model="m/x", messages=USER, tools=[add])
    assistant = model.bodies[1]["messages"][1]
    ids = [c["id"] for c in assistant["tool_calls"]]
    assert len(set(ids)) == 2
    assert all(ids)
    assert [m["tool_call_id"] for m in model.bodies[1]["messages"][2:]] == ids
    assert [i.result for i in result.invocations] == [3, 7]


async def test_reasoning_only_final_message(
    scripted: tuple[list[ScriptedModel], ora.OpenRouter],
) -> None:
    models, client = scripted
    models.append(ScriptedModel(Turn(content=None)))
    result = await client.chat.run_tools(model="m/x", messages=USER, tools=[add])
    assert result.stop_reason == "final"
    assert result.content is None
    assert unstructure(result.messages[-1]) == {"role": "assistant", "content": ""}


# --- with the emulator --------------------------------------------------------------------------


@pytest.mark.parametrize("mode", ["create", "stream"])
async def test_emulator_two_parallel_calls_then_answer(emulator: Emulator, mode: str) -> None:
    async with emulator.client() as client:
        result, events = await run(
            client,
            mode,
            model="emulator/tools:calls=2",
            messages=USER,
            tools=[get_weather, add],
        )
    assert result.turns == 2
    assert [(i.name, i.ok) for i in result.invocations] == [("get_weather", True), ("add", True)]
    assert result.invocations[0].arguments == '{"city":""}'
    assert result.invocations[1].result == 0
    assert result.content == "The tool returned: 0"
    assert len(emulator.requests) == 2
    if mode == "stream":
        assert sum(isinstance(e, ToolResultEvent) for e in events) == 2


async def test_forced_tool_choice_applies_to_the_first_turn_only(emulator: Emulator) -> None:
    async with emulator.client() as client:
        result = await client.chat.run_tools(
            model="emulator/tools", messages=USER, tools=[add], tool_choice="required"
        )
    assert result.stop_reason == "final"
    first, second = (record.body for record in emulator.requests)
    assert first["tool_choice"] == "required"
    assert "tool_choice" not in second


async def test_stream_tools_text_stream_and_final_result(emulator: Emulator) -> None:
    async with (
        emulator.client() as client,
        client.chat.stream_tools(model="emulator/tools", messages=USER, tools=[add]) as loop,
    ):
        text = "".join([piece async for piece in loop.text_stream])
        result = await loop.get_final_result()
    assert text == "The tool returned: 0"
    assert result.content == text
    assert loop.messages == result.messages


async def test_leaving_stream_tools_early_closes_the_stream(emulator: Emulator) -> None:
    async with emulator.client() as client:
        async with client.chat.stream_tools(
            model="emulator/lorem:tokens=400:tps=100", messages=USER, tools=[add]
        ) as loop:
            async for event in loop:
                if isinstance(event, ora.TextDelta):
                    break
        assert loop.result is None
        with pytest.raises(ora.ClientClosedError):
            await loop.get_final_result()
        for _ in range(100):
            record = emulator.requests[-1]
            if record.finished:
                break
            await asyncio.sleep(0.01)
        assert record.finished
        assert not record.completed


# --- invoking one tool --------------------------------------------------------------------------


@dataclasses.dataclass
class Window:
    start: int
    end: int


async def test_invoke_converts_arguments_to_annotated_types() -> None:
    def describe(
        unit: Unit, window: Window, /, label: Literal["a", "b"] = "a", tags: tuple[str, ...] = ()
    ) -> str:
        return f"{unit.name} {window.end - window.start} {label} {tags}"

    tool = function_tool(describe)
    assert (
        await tool.invoke('{"unit": "f", "window": {"start": 1, "end": 4}, "tags": ["x"]}')
        == "F 3 a ('x',)"
    )
    assert (
        await tool.invoke({"unit": "c", "window": {"start": 0, "end": 0}, "label": "b"})
        == "C 0 b ()"
    )
    with pytest.raises(ora.StructuredOutputError) as info:
        await tool.invoke('{"unit": "k", "window": {"start": 1}}')
    message = str(info.value)
    assert '$.unit: expected one of "c", "f"' in message
    assert "$.window: missing required property 'end'" in message
    assert info.value.raw == '{"unit": "k", "window": {"start": 1}}'


async def test_invoke_async_callable_object_runs_on_the_loop() -> None:
    class Counter:
        def __init__(self) -> None:
            self.threads: list[int] = []

        async def __call__(self, step: int) -> int:
            self.threads.append(threading.get_ident())
            return step + 1

    counter = Counter()
    tool = function_tool(counter, name="count")
    assert tool.parameters["required"] == ["step"]
    assert await tool.invoke('{"step": 1}') == 2
    assert counter.threads == [threading.get_ident()]


async def test_invoke_empty_arguments_for_a_no_argument_tool() -> None:
    tool = function_tool(explode)
    with pytest.raises(ValueError, match="boom"):
        await tool.invoke("")
    assert await function_tool(lambda: "hi", name="hi").invoke(None) == "hi"


# --- results and validation ---------------------------------------------------------------------


@pytest.mark.parametrize(
    ("value", "content"),
    [
        ("plain text", "plain text"),
        ("", ""),
        (None, "null"),
        (5, "5"),
        ({"a": [1, 2]}, '{"a":[1,2]}'),
        ({1: "x"}, '{"1":"x"}'),
        (Weather(city="X", temp=1.0, unit=Unit.F), '{"city":"X","temp":1.0,"unit":"f"}'),
        (Window(1, 2), '{"start":1,"end":2}'),
        (frozenset({3}), "[3]"),
        (Unit.C, '"c"'),
    ],
)
def test_tool_result_content(value: Any, content: str) -> None:
    assert tool_result_content(value) == content


def test_tool_result_content_parts_and_errors() -> None:
    part = ora.TextPart(text="see image")
    image = ora.ImagePart(image_url="https://example.com/x.png")
    assert tool_result_content(part) == (part,)
    assert tool_result_content([part, image]) == (part, image)
    with pytest.raises(TypeError, match="not JSON serializable"):
        tool_result_content(object())


async def test_parts_returned_by_a_tool_are_sent_as_parts(
    scripted: tuple[list[ScriptedModel], ora.OpenRouter],
) -> None:
    models, client = scripted
    model = ScriptedModel(
        Turn(calls=[("a", "look", "{}"), ("b", "opaque", "{}")]), Turn(content="ok")
    )
    models.append(model)

    def look() -> list[ora.TextPart]:
        return [ora.TextPart(text="a red square")]

    def opaque() -> object:
        return object()

    result = await client.chat.run_tools(model="m/x", messages=USER, tools=[look, opaque])
    sent = model.bodies[1]["messages"][-2:]
    assert sent[0]["content"] == [{"type": "text", "text": "a red square"}]
    assert orjson.loads(sent[1]["content"])["error"].startswith(
        "TypeError: tool result of type object"
    )
    assert not result.invocations[1].ok


async def test_options_are_validated_before_sending(emulator: Emulator) -> None:
    async with emulator.client() as client:
        with pytest.raises(ora.RequestValidationError) as info:
            await client.chat.run_tools(model="m/x", messages=USER, tools=[add], max_turns=0)
        assert info.value.path == "max_turns"
        with pytest.raises(ora.RequestValidationError):
            await client.chat.run_tools(model="m/x", messages=USER, tools=[add], max_turns=True)
        with pytest.raises(ora.RequestValidationError) as info:
            client.chat.stream_tools(model="m/x", messages=USER, tools=[add], tool_timeout=0)
        assert info.value.path == "tool_timeout"
        with pytest.raises(ora.RequestValidationError) as info:
            await client.chat.run_tools(model="m/x", messages=USER, tools=[add], stream=True)
        assert info.value.path == "stream"
        with pytest.raises(ora.RequestValidationError) as info:
            await client.chat.run_tools(model="m/x", messages=USER, tools=[add, add])
        assert info.value.path == "tools[1].function.name"
        with pytest.raises(ora.RequestValidationError):
            await client.chat.run_tools(model="m/x", messages=USER, tools=[5])  # type: ignore[list-item]
        with pytest.raises(ora.RequestValidationError):
            await client.chat.run_tools(model="m/x", messages=USER, tools=[add], temprature=1)
    assert emulator.requests == []


async def test_request_object_and_server_tools_are_kept(emulator: Emulator) -> None:
    from openrouter_async.types.tools import ServerTool

    request = ora.ChatRequest(model="emulator/tools", messages=USER, temperature=0.5)
    async with emulator.client() as client:
        result = await client.chat.run_tools(
            request, tools=[add, ServerTool(type="openrouter:datetime")]
        )
    body = emulator.requests[0].body
    assert body["temperature"] == 0.5
    assert [t["type"] for t in body["tools"]] == ["function", "openrouter:datetime"]
    assert result.stop_reason == "final"
