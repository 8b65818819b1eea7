"""The tool-loop stream and the batch of the synchronous facade (loaded on first use)."""

from __future__ import annotations

from .._batch import Batch as AsyncBatch
from .._batch import BatchResult
from .._tool_loop import ToolRunEvent, ToolRunResult
from .._tool_loop import ToolRunStream as AsyncToolRunStream
from ..types.messages import Message
from ._facade import Bridge, SyncIterator, blocking, calling, forwarded, iterating, same

__all__ = ["Batch", "ToolRunStream"]


class ToolRunStream(Bridge[AsyncToolRunStream, ToolRunEvent]):
    """``with client.chat.stream_tools(...) as run: for event in run`` (see the async class)."""

    result = forwarded[ToolRunResult | None]()
    messages = forwarded[list[Message]]()
    text_stream = forwarded[SyncIterator[str]]()
    get_final_result = blocking(AsyncToolRunStream.get_final_result)


class Batch(Bridge[AsyncBatch, BatchResult]):
    """``with client.batch(requests, ...) as batch: for result in batch`` (see the async class).

    ``on_progress`` runs on the client's loop thread.
    """

    closed = forwarded[bool]()
    total = forwarded[int | None]()
    concurrency = forwarded[int]()
    ordered = forwarded[bool]()
    window = forwarded[int]()
    drain = calling(AsyncBatch.drain, same)
    snapshot = calling(AsyncBatch.snapshot, same)
    progress = iterating(AsyncBatch.progress)
