"""The README's examples, run as written (with the plugin's ``openrouter_emulator`` fixture)."""

from __future__ import annotations

from typing import Literal

import attrs
import pytest

import openrouter_async as ora
from openrouter_async import function_tool
from openrouter_async.testing import Emulator


@pytest.fixture(autouse=True)
def _zero_waits():
    ora.set_testing(True)
    yield
    ora.set_testing(False)


async def test_my_summary_handles_overload(openrouter_emulator: Emulator) -> None:
    openrouter_emulator.fail_next(1, status=529)
    async with openrouter_emulator.client() as client:
        done = await client.chat.completions.create(
            model="emulator/echo", messages=[{"role": "user", "content": "hello"}]
        )
    assert done.choices[0].message.content == "hello"
    assert [r.status for r in openrouter_emulator.requests] == [529, 200]


async def test_stream_cut_mid_way(openrouter_emulator: Emulator) -> None:
    caught = False
    async with openrouter_emulator.client() as client:
        stream = client.chat.completions.stream(
            model="emulator/lorem:tokens=50:fault=mid_error(after=10,code=502)",
            messages=[{"role": "user", "content": "x"}],
        )
        try:
            async with stream:
                async for _ in stream:
                    pass
        except ora.StreamError as err:
            assert err.code == 502 and err.partial is not None
            caught = True
    assert caught


async def test_quick_start_against_the_emulator() -> None:
    async with Emulator() as emu, emu.client() as client:
        done = await client.chat.completions.create(
            model="emulator/echo", messages=[{"role": "user", "content": "Say hi"}]
        )
        assert done.choices[0].message.content == "Say hi" and done.usage is not None
        seen: list[str] = []
        async with client.chat.completions.stream(
            model="emulator/reasoning", messages=[{"role": "user", "content": "Tell me a story"}]
        ) as stream:
            async for event in stream:
                match event:
                    case ora.TextDelta(text=text):
                        seen.append(text)
                    case ora.Usage(usage=usage):
                        assert usage.total_tokens > 0
            final = await stream.get_final_completion()
        assert "".join(seen) == final.choices[0].message.content == "Tell me a story"


async def test_request_objects_and_tools_and_parse() -> None:
    request = ora.ChatRequest(
        model="emulator/echo",
        messages=[ora.SystemMessage(content="Be brief."), ora.UserMessage(content="Hi")],
        temperature=0.3,
        reasoning=ora.Reasoning(effort="low"),
        provider=ora.ProviderPreferences(order=["anthropic"], allow_fallbacks=False),
    )

    @function_tool
    async def get_weather(city: str, unit: Literal["c", "f"] = "c") -> dict[str, float]:
        """Current weather.

        Args:
            city: The city name.
        """
        return {"temperature": 21.0}

    @attrs.define
    class Recipe:
        title: str
        minutes: int

    async with Emulator() as emu, emu.client() as client:
        done = await client.chat.completions.create(request)
        assert done.choices[0].message.content == "Hi"
        result = await client.chat.run_tools(
            model="emulator/tools",
            messages=[{"role": "user", "content": "Weather in Paris?"}],
            tools=[get_weather],
            max_turns=8,
        )
        assert result.invocations and result.invocations[0].name == "get_weather"
        assert "21.0" in (result.content or "")
        parsed = await client.chat.completions.parse(
            model="emulator/json",
            messages=[{"role": "user", "content": "x"}],
            response_format=Recipe,
        )
        assert isinstance(parsed.parsed, Recipe)
