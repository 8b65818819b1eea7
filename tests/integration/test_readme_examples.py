"""The README's examples, run as written (with the plugin's ``openrouter_emulator`` fixture)."""

from __future__ import annotations

import os
import re
import subprocess
import sys
import textwrap
from pathlib import Path
from typing import Literal

import attrs
import pydantic
import pytest

import openrouter_async as ora
from openrouter_async import function_tool
from openrouter_async.testing import Emulator

ROOT = Path(__file__).resolve().parents[2]
README = (ROOT / "README.md").read_text(encoding="utf-8")


def readme_block(first_line: str) -> str:
    """The fenced code block of the README whose first line starts with ``first_line``."""
    blocks = re.findall(r"^```[a-z]*\n(.*?)^```", README, flags=re.M | re.S)
    found = [b for b in blocks if b.startswith(first_line)]
    assert len(found) == 1, f"{len(found)} README blocks start with {first_line!r}"
    return found[0]


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


# A fresh project has pytest-asyncio and this package, not the rest of our dev extra: load
# just those two plugins (which is also much faster than every installed one).
PLUGINS = ("-p", "pytest_asyncio.plugin", "-p", "openrouter_async.testing._pytest_plugin")


def _run_pytest(project: Path) -> subprocess.CompletedProcess[str]:
    env = {k: v for k, v in os.environ.items() if not k.startswith(("PYTEST_", "OPENROUTER_"))}
    env["PYTEST_DISABLE_PLUGIN_AUTOLOAD"] = "1"
    return subprocess.run(
        [
            sys.executable,
            "-m",
            "pytest",
            "-q",
            "-p",
            "no:cacheprovider",
            *PLUGINS,
            "test_my_app.py",
        ],
        cwd=project,
        env=env,
        capture_output=True,
        text=True,
        timeout=120,
        check=False,
    )


def test_pytest_example_runs_in_a_fresh_project(tmp_path: Path) -> None:
    """The two README blocks, copied into an empty project, pass as they are."""
    (tmp_path / "test_my_app.py").write_text(readme_block("# test_my_app.py"))
    bare = _run_pytest(tmp_path)  # what users hit before the README showed the setting
    assert bare.returncode != 0
    assert "async def functions are not natively supported" in bare.stdout + bare.stderr
    (tmp_path / "pyproject.toml").write_text(readme_block("# pyproject.toml"))
    result = _run_pytest(tmp_path)
    assert result.returncode == 0, result.stdout + result.stderr
    assert "2 passed" in result.stdout


class Review(pydantic.BaseModel):
    stars: int = pydantic.Field(ge=1, le=5)
    summary: str


async def test_structured_output_on_a_stream() -> None:
    assert "model=..., messages=..., response_format=Review" in README
    async with Emulator() as emu, emu.client() as client:
        pieces: list[str] = []
        async with client.chat.completions.stream(
            model="emulator/json",
            messages=[{"role": "user", "content": "A review"}],
            response_format=Review,
        ) as stream:
            async for text in stream.text_stream:
                pieces.append(text)
            final = await stream.get_final_completion()
    assert len(pieces) > 1  # it did arrive in pieces
    assert isinstance(final, ora.ParsedChatCompletion)
    # emulator/json writes each property's minimum, so the pydantic constraint holds.
    assert final.parsed == Review(stars=1, summary="")
    sent = emu.requests[-1].body["response_format"]
    assert sent["type"] == "json_schema"
    assert set(sent["json_schema"]["schema"]["required"]) == {"stars", "summary"}


async def test_extra_body_merges_into_a_typed_object() -> None:
    block = readme_block(
        'done = await client.chat.completions.create(\n    model="openai/gpt-4o-mini"'
    )
    async with Emulator() as emu, emu.client() as client:
        await eval_block(block, client)
    assert emu.requests[-1].body["provider"] == {
        "order": ["openai", "azure"],
        "options": {"openai": {"store": False}},
    }


async def eval_block(block: str, client: ora.OpenRouter) -> None:
    code = "async def _example(client):\n" + textwrap.indent(block, "    ")
    namespace: dict[str, object] = {}
    exec(code, namespace)
    await namespace["_example"](client)  # type: ignore[operator]


def test_a_pydantic_tool_as_written() -> None:
    block = readme_block("class Order(pydantic.BaseModel):")
    namespace: dict[str, object] = {"pydantic": pydantic, "function_tool": function_tool}
    exec(block, namespace)
    tool = namespace["place_order"]
    assert isinstance(tool, ora.FunctionTool)
    assert tool.parameters["properties"]["order"]["properties"]["quantity"]["minimum"] == 1
    assert tool.parse_arguments('{"order": {"sku": "A1", "quantity": 2}}')["order"].quantity == 2
    with pytest.raises(ora.StructuredOutputError, match="quantity"):
        tool.parse_arguments('{"order": {"sku": "A1", "quantity": 0}}')


async def test_the_emulator_accepts_only_test_key_by_default() -> None:
    assert "`Emulator()` accepts only the API key `test-key`" in README
    async with Emulator() as emu:
        async with emu.client() as client:  # uses test-key
            assert (await client.key.get()) is not None
        async with ora.OpenRouter(api_key="sk-or-mine", base_url=emu.base_url) as client:
            with pytest.raises(ora.AuthenticationError):
                await client.key.get()
    async with Emulator(api_key=None) as emu:
        async with ora.OpenRouter(api_key="sk-or-mine", base_url=emu.base_url) as client:
            assert (await client.key.get()) is not None


def test_install_lines_name_this_project_and_its_extras() -> None:
    install = readme_block("pip install openrouter-async")
    source = readme_block("pip install -e '.[cli]'")
    pyproject = (ROOT / "pyproject.toml").read_text()
    name = re.search(r'^name = "([^"]+)"', pyproject, flags=re.M)
    assert name is not None and f"pip install {name.group(1)} " in install
    extras = set(re.findall(r"\[([a-z]+)\]", install + source))
    assert extras == {"cli", "otel", "pydantic", "ray"}
    declared = pyproject.split("[project.optional-dependencies]", 1)[1].split("\n[", 1)[0]
    for extra in extras:
        assert re.search(rf"^{extra} = \[", declared, flags=re.M)
    assert (ROOT / "pyproject.toml").is_file()  # `-e .` from the repository root finds it
