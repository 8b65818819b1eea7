"""``client.completions`` (legacy text completions) of the synchronous facade."""

from __future__ import annotations

from typing import TYPE_CHECKING

from .._resources.completions import Completions as AsyncCompletions
from ._facade import Facade, blocking, calling, late

if TYPE_CHECKING:
    from ._streams import CompletionStream

__all__ = ["Completions"]


def _completion_stream() -> type[CompletionStream]:
    from ._streams import CompletionStream

    return CompletionStream


class Completions(Facade[AsyncCompletions]):
    """``client.completions`` (legacy text completions)."""

    create = blocking(AsyncCompletions.create)
    stream = calling(AsyncCompletions.stream, late(_completion_stream))
