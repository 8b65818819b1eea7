"""The chat example in a real browser: headless Chromium driven by Playwright.

The page, the relay and the emulator all run in this test's event loop; Chromium is the
system one (``/usr/bin/chromium``, Debian package ``chromium``; ``CHROMIUM_PATH`` overrides).
Without a browser the tests skip on a developer machine and fail under CI (``CI=true``).

``SCREENSHOT=1`` makes :func:`test_screenshot` refresh ``docs/chat_app.png``.
"""

from __future__ import annotations

import asyncio
import os
import shutil
import time
from collections.abc import AsyncIterator
from pathlib import Path
from typing import Any

import attrs
import pytest
import pytest_asyncio
from aiohttp import web

from examples.chat_app.app import EMULATOR_MODELS, build_app
from openrouter_async.testing import Emulator, RequestRecord

pytestmark = pytest.mark.asyncio(loop_scope="module")

CHROMIUM = os.environ.get("CHROMIUM_PATH", "/usr/bin/chromium")
# The machine may have no network: without these flags Chromium keeps trying to reach
# Google services and floods the log with refused connections.
CHROMIUM_ARGS = [
    "--headless",
    "--no-sandbox",
    "--disable-gpu",
    "--disable-quic",
    "--no-first-run",
    "--disable-background-networking",
    "--disable-component-update",
    "--disable-sync",
]
SCREENSHOT = Path(__file__).resolve().parents[2] / "docs" / "chat_app.png"


def _under_ci() -> bool:
    return os.environ.get("CI", "").strip().lower() in ("true", "1", "yes")


def _require_browser() -> None:
    problem = None
    try:
        import playwright.async_api  # noqa: F401
    except ImportError:
        problem = "the Python package `playwright` is not installed (pip install -e '.[dev]')"
    else:
        path = CHROMIUM if os.path.sep in CHROMIUM else shutil.which(CHROMIUM)
        if not path or not os.access(path, os.X_OK):
            problem = (
                f"no Chromium at {CHROMIUM}: install the Debian package `chromium` "
                "(sudo apt-get install chromium) or set CHROMIUM_PATH"
            )
    if problem is not None:
        if _under_ci():
            pytest.fail(f"browser test cannot run under CI: {problem}")
        pytest.skip(problem)


@attrs.define
class ChatServer:
    emulator: Emulator
    url: str

    def last_chat(self) -> RequestRecord:
        records = [r for r in self.emulator.requests if r.endpoint == "/chat/completions"]
        assert records, "the page sent no chat request"
        return records[-1]


@pytest_asyncio.fixture(scope="module", loop_scope="module")
async def server() -> AsyncIterator[ChatServer]:
    _require_browser()
    async with Emulator() as emulator, emulator.client() as client:
        app = build_app(client, backend="emulator", models=EMULATOR_MODELS)
        runner = web.AppRunner(app, handler_cancellation=True, access_log=None)
        await runner.setup()
        try:
            site = web.TCPSite(runner, "127.0.0.1", 0)
            await site.start()
            yield ChatServer(emulator, f"http://127.0.0.1:{runner.addresses[0][1]}/")
        finally:
            await runner.cleanup()


@pytest_asyncio.fixture(scope="module", loop_scope="module")
async def browser(server: ChatServer) -> AsyncIterator[Any]:
    from playwright.async_api import async_playwright

    async with async_playwright() as playwright:
        chromium = await playwright.chromium.launch(executable_path=CHROMIUM, args=CHROMIUM_ARGS)
        try:
            yield chromium
        finally:
            await chromium.close()


@pytest_asyncio.fixture(loop_scope="module")
async def page(browser: Any, server: ChatServer) -> AsyncIterator[Any]:
    context = await browser.new_context(viewport={"width": 960, "height": 720})
    page = await context.new_page()
    page.set_default_timeout(10_000)
    errors: list[str] = []
    page.on("pageerror", lambda exc: errors.append(str(exc)))
    page.on("console", lambda msg: errors.append(msg.text) if msg.type == "error" else None)
    await page.goto(server.url)
    await page.wait_for_selector("body[data-ready=true]")
    try:
        yield page
    finally:
        await context.close()
    assert not errors, errors


async def send(page: Any, model: str, prompt: str) -> None:
    await page.fill("#model", model)
    await page.fill("#prompt", prompt)
    await page.click("#send")


async def answer(page: Any) -> dict[str, Any]:
    """State of the last assistant message: {state, text, reasoning, error}."""
    result: dict[str, Any] = await page.evaluate(
        """() => {
            const m = document.querySelector("article.assistant:last-of-type");
            if (!m) return null;
            const error = m.querySelector(".error");
            return {
                state: m.dataset.state,
                text: m.querySelector(".content").textContent,
                error: error.hidden ? null : error.textContent,
                stopDisabled: document.getElementById("stop").disabled,
            };
        }"""
    )
    return result


async def test_tokens_appear_as_they_arrive(page: Any) -> None:
    await send(page, "emulator/lorem:tokens=60:tps=30", "Tell me something")
    lengths: list[int] = []
    deadline = time.monotonic() + 15
    while True:
        now = await answer(page)
        if now is not None:
            lengths.append(len(now["text"]))
            if now["state"] != "streaming":
                break
        assert time.monotonic() < deadline, "the answer did not finish"
        await asyncio.sleep(0.04)
    assert now["state"] == "done", now
    final = len(now["text"])
    assert len(now["text"].split()) == 60
    intermediate = {n for n in lengths if 0 < n < final}
    assert len(intermediate) >= 3, lengths
    assert lengths == sorted(lengths)  # it only ever grows
    meta = await page.text_content("article.assistant:last-of-type .meta")
    assert "finish: stop" in meta
    assert "60 completion tokens" in meta


async def test_stop_aborts_the_upstream_stream(page: Any, server: ChatServer) -> None:
    await send(page, "emulator/lorem:tokens=600:tps=30", "A long one, please")
    await page.wait_for_function(
        "() => document.querySelector('article.assistant:last-of-type .content')"
        ".textContent.length > 20"
    )
    record = server.last_chat()
    assert record.disconnected_at is None
    clicking = time.monotonic()
    await page.click("#stop")
    disconnected_at = await server.emulator.wait_for_disconnect(record, timeout=2.0)
    assert record.disconnected_at is not None
    # click -> fetch aborted -> relay's handler cancelled -> SDK stream closed -> emulator
    assert disconnected_at - clicking < 0.5
    assert not record.completed
    assert record.tokens_sent < 600
    await page.wait_for_function(
        "() => document.querySelector('article.assistant:last-of-type').dataset.state === 'stopped'"
    )
    stopped = await answer(page)
    assert stopped["stopDisabled"]
    await asyncio.sleep(0.2)
    assert (await answer(page))["text"] == stopped["text"]  # nothing arrives after Stop


async def test_mid_stream_error_is_shown(page: Any) -> None:
    await send(
        page, "emulator/lorem:tokens=30:tps=50:fault=mid_error(after=5,code=502)", "Fail, please"
    )
    error = page.locator("article.assistant:last-of-type .error")
    await error.wait_for(state="visible")
    shown = await answer(page)
    assert shown["state"] == "error"
    assert "502" in shown["error"]
    assert "Provider disconnected unexpectedly" in shown["error"]
    assert len(shown["text"].split()) == 5  # the partial answer stays on screen


async def test_screenshot(page: Any, tmp_path: Path) -> None:
    """A finished exchange with reasoning and one mid-stream, captured as a PNG.

    Written to a temporary file; with ``SCREENSHOT=1`` it refreshes ``docs/chat_app.png``."""
    target = SCREENSHOT if os.environ.get("SCREENSHOT") else tmp_path / "chat_app.png"
    await send(page, "emulator/reasoning:tps=80", "How does the relay handle a slow browser?")
    await page.wait_for_selector("article.assistant[data-state=done]")
    await page.click("article.assistant .reasoning summary")  # show the reasoning block
    await send(page, "emulator/lorem:tokens=200:tps=25", "And when I press Stop?")
    await page.wait_for_function(
        "() => document.querySelector('article.assistant:last-of-type .content')"
        ".textContent.split(' ').length > 45"
    )
    # a steady cursor: the blink would be caught in either phase
    await page.add_style_tag(content="*, ::after { animation: none !important; }")
    await page.screenshot(path=str(target))
    await page.click("#stop")
    assert target.read_bytes()[:8] == b"\x89PNG\r\n\x1a\n"
    assert target.stat().st_size > 10_000
