"""Structured outputs against the emulator: ``chat.completions.parse`` and parsing a stream."""

from __future__ import annotations

import dataclasses
import enum
from typing import Literal, TypedDict

import attrs
import orjson
import pytest

import openrouter_async as ora
from openrouter_async._convert import unstructure
from openrouter_async._structured import ParsedChatCompletion, parse_completion, response_format_for
from openrouter_async.testing import Emulator


class Priority(enum.Enum):
    LOW = "low"
    HIGH = "high"


@attrs.frozen
class Step:
    title: str
    minutes: int


@attrs.frozen
class Plan:
    """A plan of work."""

    goal: str
    priority: Priority
    steps: list[Step]
    done: bool
    notes: str | None = None
    kind: Literal["daily", "weekly"] = "daily"


@dataclasses.dataclass
class Score:
    value: float
    label: str


class Verdict(TypedDict):
    ok: bool
    reason: str


def ask(text: str) -> list[dict[str, str]]:
    return [{"role": "user", "content": text}]


async def test_parse_returns_the_completion_with_an_instance(emulator: Emulator) -> None:
    async with emulator.client() as client:
        done = await client.chat.completions.parse(
            model="emulator/json", messages=ask("plan my day"), response_format=Plan
        )
    assert isinstance(done, ParsedChatCompletion)
    assert isinstance(done, ora.ChatCompletion)
    # emulator/json fills every required property with its type's default (first enum value,
    # first non-null type).
    assert done.parsed == Plan(goal="", priority=Priority.LOW, steps=[], done=False, notes="")
    assert done.response is not None
    assert done.response.status_code == 200
    assert done.usage is not None
    sent = emulator.requests[-1].body["response_format"]
    assert sent["type"] == "json_schema"
    assert sent["json_schema"]["name"] == "Plan"
    assert sent["json_schema"]["strict"] is True
    schema = sent["json_schema"]["schema"]
    assert schema["description"] == "A plan of work."
    assert schema["required"] == ["goal", "priority", "steps", "done", "notes", "kind"]
    assert schema["properties"]["priority"] == {"type": "string", "enum": ["low", "high"]}
    assert schema["additionalProperties"] is False


async def test_parse_non_strict_sends_defaults(emulator: Emulator) -> None:
    async with emulator.client() as client:
        done = await client.chat.completions.parse(
            model="emulator/json", messages=ask("x"), response_format=Plan, strict=False
        )
    schema = emulator.requests[-1].body["response_format"]["json_schema"]
    assert schema["strict"] is False
    assert schema["schema"]["required"] == ["goal", "priority", "steps", "done"]
    assert schema["schema"]["properties"]["kind"]["default"] == "daily"
    assert done.parsed.kind == "daily"


@pytest.mark.parametrize(
    ("cls", "expected"),
    [(Score, Score(value=0.0, label="")), (Verdict, {"ok": False, "reason": ""})],
)
async def test_parse_dataclass_and_typeddict(
    emulator: Emulator, cls: type, expected: object
) -> None:
    async with emulator.client() as client:
        done = await client.chat.completions.parse(
            model="emulator/json", messages=ask("x"), response_format=cls
        )
    assert done.parsed == expected


@pytest.mark.parametrize(
    ("answer", "message"),
    [
        ('{"goal": 5}', "$.goal: expected string, got integer"),
        (
            '{"goal": "g", "priority": "urgent", "steps": [], "done": false}',
            '$.priority: expected one of "low"',
        ),
        (
            '{"goal": "g", "priority": "low", "steps": [{"title": "t"}], "done": false}',
            "$.steps[0]: missing required property 'minutes'",
        ),
        (
            '{"goal": "g", "priority": "low", "steps": [], "done": false, "owner": "me"}',
            "$: unexpected property 'owner'",
        ),
        ("Sure! Here is your plan.", "not valid JSON"),
    ],
)
async def test_parse_mismatch_raises_with_the_raw_text(
    emulator: Emulator, answer: str, message: str
) -> None:
    # emulator/echo answers with the user's text: a model that ignored the schema.
    async with emulator.client() as client:
        with pytest.raises(ora.StructuredOutputError) as info:
            await client.chat.completions.parse(
                model="emulator/echo", messages=ask(answer), response_format=Plan
            )
    assert message in str(info.value)
    assert info.value.raw == answer


async def test_parse_cut_off_by_max_tokens(emulator: Emulator) -> None:
    async with emulator.client() as client:
        with pytest.raises(ora.StructuredOutputError, match="finish_reason 'length'") as info:
            await client.chat.completions.parse(
                model="emulator/json", messages=ask("x"), response_format=Plan, max_tokens=2
            )
    assert info.value.raw is not None


async def test_parse_refuses_a_response_format_in_the_request(emulator: Emulator) -> None:
    request = ora.ChatRequest(
        model="emulator/json", messages=ask("x"), response_format={"type": "json_object"}
    )
    async with emulator.client() as client:
        with pytest.raises(ora.RequestValidationError) as info:
            await client.chat.completions.parse(request, response_format=Plan)
        assert info.value.path == "response_format"
        with pytest.raises(ora.RequestValidationError):
            await client.chat.completions.parse(
                model="emulator/json", messages=ask("x"), response_format=int
            )
    assert emulator.requests == []


async def test_parse_a_streamed_completion(emulator: Emulator) -> None:
    fmt = response_format_for(Plan)
    async with (
        emulator.client() as client,
        client.chat.completions.stream(
            model="emulator/json", messages=ask("x"), response_format=fmt
        ) as stream,
    ):
        text = "".join([piece async for piece in stream.text_stream])
        final = await stream.get_final_completion()
    parsed = parse_completion(final, Plan)
    assert parsed.parsed.priority is Priority.LOW
    assert orjson.loads(text) == orjson.loads(final.content or "")
    assert emulator.requests[-1].body["stream"] is True
    assert emulator.requests[-1].body["response_format"] == unstructure(fmt)


async def test_parse_a_streamed_mismatch(emulator: Emulator) -> None:
    async with (
        emulator.client() as client,
        client.chat.completions.stream(
            model="emulator/echo", messages=ask('{"goal": 1}')
        ) as stream,
    ):
        final = await stream.get_final_completion()
    with pytest.raises(ora.StructuredOutputError) as info:
        parse_completion(final, Plan)
    assert info.value.raw == '{"goal": 1}'
