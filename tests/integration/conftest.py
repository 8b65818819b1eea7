"""Shared fixtures for the integration tests."""

from __future__ import annotations

from collections.abc import AsyncIterator, Iterator

import pytest

from openrouter_async.testing import Emulator


@pytest.fixture
async def emulator() -> AsyncIterator[Emulator]:
    """A started emulator accepting the key ``"test-key"``; stopped after the test."""
    async with Emulator(api_key="test-key") as emu:
        yield emu


@pytest.fixture
def zero_waits() -> Iterator[None]:
    """Every backoff and Retry-After wait is zero while the test runs."""
    from openrouter_async import _retry

    _retry.set_testing(True)
    yield
    _retry.set_testing(False)
