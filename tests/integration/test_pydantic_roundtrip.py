"""pydantic round trips against the emulator: ``parse``, ``stream`` with ``response_format``,
and a tool loop whose tool takes a pydantic model."""

from __future__ import annotations

import attrs
import pydantic
from typing_extensions import assert_type

import openrouter_async as ora
from openrouter_async._parsed_stream import ParsedChatStream
from openrouter_async._structured import ParsedChatCompletion
from openrouter_async.testing import Emulator


class Step(pydantic.BaseModel):
    title: str
    minutes: int = pydantic.Field(ge=0)


class Plan(pydantic.BaseModel):
    """A plan of work."""

    goal: str
    steps: list[Step]
    done: bool
    notes: str | None = None


@attrs.frozen
class Note:
    text: str


def ask(text: str) -> list[dict[str, str]]:
    return [{"role": "user", "content": text}]


async def test_parse_with_a_pydantic_model(emulator: Emulator) -> None:
    async with emulator.client() as client:
        done = await client.chat.completions.parse(
            model="emulator/json", messages=ask("plan"), response_format=Plan
        )
    assert isinstance(done, ParsedChatCompletion)
    # emulator/json fills each required property with its first type's default ("" for notes).
    assert done.parsed == Plan(goal="", steps=[], done=False, notes="")
    sent = emulator.requests[-1].body["response_format"]["json_schema"]
    assert sent["name"] == "Plan"
    assert sent["strict"] is True
    assert sent["schema"]["required"] == ["goal", "steps", "done", "notes"]
    assert sent["schema"]["$defs"]["Step"]["additionalProperties"] is False


async def test_stream_with_a_pydantic_response_format(emulator: Emulator) -> None:
    client: ora.OpenRouter
    async with (
        emulator.client() as client,
        client.chat.completions.stream(
            model="emulator/json", messages=ask("plan"), response_format=Plan
        ) as stream,
    ):
        text = "".join([piece async for piece in stream.text_stream])
        final = await stream.get_final_completion()
    assert isinstance(stream, ParsedChatStream)
    assert_type(final, ParsedChatCompletion[Plan])  # typed through the overload of stream()
    assert isinstance(final, ParsedChatCompletion)
    assert final.parsed == Plan.model_validate_json(text)
    assert final.content == text
    body = emulator.requests[-1].body
    assert body["stream"] is True
    assert body["response_format"]["json_schema"]["schema"]["properties"]["steps"]["items"] == {
        "$ref": "#/$defs/Step"
    }


async def test_stream_with_an_attrs_response_format(emulator: Emulator) -> None:
    async with (
        emulator.client() as client,
        client.chat.completions.stream(
            model="emulator/json", messages=ask("x"), response_format=Note
        ) as stream,
    ):
        final = await stream.get_final_completion()
    assert isinstance(final, ParsedChatCompletion)
    assert final.parsed == Note(text="")


async def test_stream_with_a_mismatch_raises_at_the_final_completion(emulator: Emulator) -> None:
    async with (
        emulator.client() as client,
        client.chat.completions.stream(
            model="emulator/echo", messages=ask('{"goal": 1}'), response_format=Plan
        ) as stream,
    ):
        try:
            await stream.get_final_completion()
        except ora.StructuredOutputError as exc:
            assert exc.raw == '{"goal": 1}'
            assert "goal" in exc.message
        else:
            raise AssertionError("a mismatching answer must raise StructuredOutputError")


async def test_tool_loop_with_a_pydantic_argument(emulator: Emulator) -> None:
    received: list[Plan] = []

    def schedule(plan: Plan) -> str:
        """Put a plan in the calendar."""
        received.append(plan)
        return f"scheduled {len(plan.steps)} steps"

    async with emulator.client() as client:
        result = await client.chat.run_tools(
            model="emulator/tools", messages=ask("schedule it"), tools=[schedule]
        )
    assert received == [Plan(goal="", steps=[], done=False)]  # notes is optional: left out
    assert isinstance(received[0], Plan)
    assert result.content == "The tool returned: scheduled 0 steps"
    tool = emulator.requests[0].body["tools"][0]["function"]
    assert tool["parameters"]["properties"]["plan"]["title"] == "Plan"
    assert "Step" in tool["parameters"]["$defs"]
