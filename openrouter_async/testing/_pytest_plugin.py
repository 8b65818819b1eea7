"""pytest plugin: the ``openrouter_emulator`` fixture (registered via the ``pytest11`` entry point).

Importing this module must stay cheap and side-effect free: it is loaded for every pytest run
in any environment that has openrouter_async installed. The emulator (and aiohttp.web) is
imported only when the fixture is used.

Usage::

    async def test_retry(openrouter_emulator):
        openrouter_emulator.fail_next(1, status=503)
        ...

    @pytest.mark.openrouter_emulator(deterministic=True, lorem_tokens=4)
    async def test_pinned(openrouter_emulator): ...

The marker's keyword arguments go to ``Emulator(...)``. Works with pytest-asyncio in auto
and strict mode (the fixture is declared with ``pytest_asyncio.fixture``).
"""

from __future__ import annotations

from collections.abc import AsyncIterator, Callable
from typing import TYPE_CHECKING, Any, TypeVar, cast

import pytest

if TYPE_CHECKING:
    from openrouter_async.testing import Emulator

_F = TypeVar("_F", bound=Callable[..., Any])


def _async_fixture(fn: _F) -> _F:
    """``pytest_asyncio.fixture`` (works in strict and auto mode), else a plain fixture."""
    try:
        import pytest_asyncio
    except ImportError:  # pragma: no cover - another async plugin must then run the fixture
        return cast(_F, pytest.fixture(fn))
    return cast(_F, pytest_asyncio.fixture(fn))


def pytest_configure(config: pytest.Config) -> None:
    config.addinivalue_line(
        "markers",
        "openrouter_emulator(**options): keyword arguments for the openrouter_emulator fixture's"
        " Emulator(...)",
    )


@_async_fixture
async def openrouter_emulator(request: pytest.FixtureRequest) -> AsyncIterator[Emulator]:
    """A started ``openrouter_async.testing.Emulator`` (stopped after the test)."""
    from openrouter_async.testing import Emulator

    marker = request.node.get_closest_marker("openrouter_emulator")
    options: dict[str, Any] = dict(marker.kwargs) if marker is not None else {}
    async with Emulator(**options) as emulator:
        yield emulator
