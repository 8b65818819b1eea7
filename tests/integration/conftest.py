"""Shared fixtures for the integration tests."""

from __future__ import annotations

from collections.abc import AsyncIterator

import pytest

from openrouter_async.testing import Emulator


@pytest.fixture
async def emulator() -> AsyncIterator[Emulator]:
    """A started emulator accepting the key ``"test-key"``; stopped after the test."""
    async with Emulator(api_key="test-key") as emu:
        yield emu
