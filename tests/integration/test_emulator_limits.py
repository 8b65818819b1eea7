"""What the emulator refuses: its own knob caps (issue #12) and the request limits it keeps.

The ``tokens`` knob and ``huge(size=)`` fault are capped so that no request can make the
emulator allocate gigabytes; past the cap it answers a clear 400 naming the cap. Sampling
limits: the OpenAI-compatible ones stay (documented by OpenRouter, enforced by its
OpenAI-style upstreams), the OpenRouter-only samplers are checked for type only (see
``_inference``); OpenRouter's OpenAPI schema itself states no ranges.
"""

from __future__ import annotations

from typing import Any

import aiohttp
import pytest

from openrouter_async.testing import Emulator, FaultSpecError, HugeEvent, Knobs, parse_faults
from openrouter_async.testing._faults import MAX_HUGE_SIZE
from openrouter_async.testing._models import MAX_TOKENS_KNOB

AUTH = {"Authorization": "Bearer test-key"}
USER = [{"role": "user", "content": "x"}]


async def chat(emu: Emulator, body: dict[str, Any], **headers: str) -> tuple[int, Any]:
    async with (
        aiohttp.ClientSession(headers=AUTH) as session,
        session.post(
            emu.base_url + "/chat/completions", json={"messages": USER, **body}, headers=headers
        ) as resp,
    ):
        return resp.status, await resp.json()


def test_the_caps() -> None:
    assert MAX_TOKENS_KNOB == 100_000
    assert MAX_HUGE_SIZE == 32 * 1024 * 1024


@pytest.mark.parametrize(
    ("body", "headers"),
    [
        ({"model": f"emulator/lorem:tokens={MAX_TOKENS_KNOB + 1}"}, {}),
        ({"model": "emulator/lorem"}, {"X-Emulator-Options": f"tokens={10**12}"}),
        ({"model": "emulator/lorem", "emulator": {"tokens": 10**10}}, {}),
    ],
)
async def test_tokens_past_the_cap_get_a_clear_400(
    emulator: Emulator, body: dict[str, Any], headers: dict[str, str]
) -> None:
    status, err = await chat(emulator, body, **headers)
    assert status == 400
    assert err["error"]["code"] == 400
    message = err["error"]["message"]
    assert message.startswith("emulator options: tokens must be between 0 and 100000")
    assert "cap" in message
    assert emulator.generations == {}  # refused before anything was planned


async def test_tokens_at_the_cap_are_served(emulator: Emulator) -> None:
    body = {"model": f"emulator/lorem:tokens={MAX_TOKENS_KNOB}", "max_tokens": 2}
    status, done = await chat(emulator, body)
    assert status == 200
    assert done["usage"]["completion_tokens"] == 2


@pytest.mark.parametrize(
    "where", ["model", "header", "body"], ids=["suffix", "X-Emulator-Fault", "body"]
)
async def test_huge_size_past_the_cap_gets_a_clear_400(emulator: Emulator, where: str) -> None:
    spec = f"huge(after=0,size={MAX_HUGE_SIZE + 1})"
    body: dict[str, Any] = {"model": "emulator/echo", "stream": True}
    headers: dict[str, str] = {}
    if where == "model":
        body["model"] += f":fault={spec}"
    elif where == "header":
        headers["X-Emulator-Fault"] = spec
    else:
        body["emulator"] = {"fault": spec}
    status, err = await chat(emulator, body, **headers)
    assert status == 400
    assert err["error"]["message"] == (
        "emulator fault spec: huge: size must be between 0 and 33554432 (the emulator's cap)"
    )


def test_the_caps_hold_from_python_too() -> None:
    with pytest.raises(ValueError, match="cap"):
        HugeEvent(size=MAX_HUGE_SIZE + 1)
    with pytest.raises(ValueError, match="cap"):
        Emulator(lorem_tokens=MAX_TOKENS_KNOB + 1)
    with pytest.raises(ValueError, match="cap"):
        Knobs().updated({"tokens": str(MAX_TOKENS_KNOB + 1)})
    with pytest.raises(FaultSpecError, match="cap"):
        parse_faults(f"huge(size={MAX_HUGE_SIZE + 1})")
    assert HugeEvent(size=MAX_HUGE_SIZE).size == MAX_HUGE_SIZE
    assert Knobs(tokens=MAX_TOKENS_KNOB).tokens == MAX_TOKENS_KNOB


@pytest.mark.parametrize(
    "extra",
    [
        {"repetition_penalty": 2.5},
        {"repetition_penalty": 0},
        {"min_p": 1.5},
        {"top_a": 3},
        {"top_k": 0},
        {"top_k": 500},
    ],
)
async def test_openrouter_only_samplers_are_not_range_checked(
    emulator: Emulator, extra: dict[str, Any]
) -> None:
    status, done = await chat(emulator, {"model": "emulator/echo", **extra})
    assert status == 200, done
    assert done["choices"][0]["message"]["content"] == "x"


@pytest.mark.parametrize(
    ("extra", "fragment"),
    [
        ({"repetition_penalty": "high"}, "repetition_penalty: must be a number"),
        ({"min_p": True}, "min_p: must be a number"),
        ({"top_a": [1]}, "top_a: must be a number"),
        ({"top_k": 1.5}, "top_k: must be an integer"),
        ({"max_tokens": 0}, "max_tokens: must be an integer >= 1"),
        ({"max_completion_tokens": 0}, "max_completion_tokens: must be an integer >= 1"),
        ({"temperature": 2.5}, "temperature: must be a number between 0 and 2"),
        ({"frequency_penalty": -3}, "frequency_penalty: must be a number between -2 and 2"),
    ],
)
async def test_kept_limits_and_types(
    emulator: Emulator, extra: dict[str, Any], fragment: str
) -> None:
    status, err = await chat(emulator, {"model": "emulator/echo", **extra})
    assert status == 400
    assert err["error"]["message"] == fragment
