"""Chunk and response builders for chat and legacy-completions streams (§3, §4 key order)."""

from __future__ import annotations

from typing import Any

import attrs

from ._catalog import ModelEntry
from ._faults import ErrorIn200, MidStreamError
from ._models import Plan, Step, usage_payload
from ._wire import data_event, dumps, error_body

__all__ = ["ChatEvents", "TextEvents", "huge_image"]

FINGERPRINT = "fp_emulator"


def huge_image(size: int) -> dict[str, Any]:
    """An ``images[]`` entry whose data URL carries ``size`` base64 characters."""
    return {"type": "image_url", "image_url": {"url": "data:image/png;base64," + "A" * size}}


@attrs.define
class _Base:
    gen_id: str
    model: ModelEntry
    created: int
    user_id: str | None
    exclude_reasoning: bool = False

    def head(self, obj: str) -> dict[str, Any]:
        return {
            "id": self.gen_id,
            "provider": self.model.provider,
            "model": self.model.id,
            "object": obj,
            "created": self.created,
        }

    def usage(self, plan: Plan, generated: int) -> bytes:
        reasoning = sum(1 for s in plan.steps[:generated] if s.kind == "reasoning")
        usage = usage_payload(self.model, plan.prompt_tokens, generated, reasoning)
        return data_event({**self.head(self.obj), "choices": [], "usage": usage})

    obj = "chat.completion.chunk"

    def error_envelope(self, fault: ErrorIn200) -> bytes:
        body = error_body(
            200, fault.message, code=fault.code, error_type=fault.error_type, user_id=self.user_id
        )
        return data_event(body)

    def _error_head(self, fault: MidStreamError) -> dict[str, Any]:
        return {
            "id": self.gen_id,
            "object": self.obj,
            "created": self.created,
            "model": self.model.id,
            "provider": self.model.provider,
            "error": {
                "code": fault.code,
                "message": fault.message,
                "metadata": {"error_type": fault.error_type},
            },
        }


@attrs.define
class ChatEvents(_Base):
    """``chat.completion.chunk`` events; ``role`` is repeated in every delta as OpenRouter does."""

    def _chunk(self, delta: dict[str, Any], finish: str | None = None) -> bytes:
        choice = {
            "index": 0,
            "delta": delta,
            "finish_reason": finish,
            "native_finish_reason": finish,
            "logprobs": None,
        }
        return data_event(
            {**self.head(self.obj), "choices": [choice], "system_fingerprint": FINGERPRINT}
        )

    def role(self) -> bytes | None:
        return self._chunk({"role": "assistant", "content": ""})

    def step(self, step: Step) -> bytes | None:
        if step.kind == "content":
            return self._chunk({"role": "assistant", "content": step.text})
        if step.kind == "reasoning":
            if self.exclude_reasoning:
                return None
            detail = {"type": "reasoning.text", "text": step.text, "format": "unknown", "index": 0}
            return self._chunk(
                {
                    "role": "assistant",
                    "content": "",
                    "reasoning": step.text,
                    "reasoning_details": [detail],
                }
            )
        call: dict[str, Any] = {"index": step.index}
        if step.call_id is not None:
            call["id"] = step.call_id
            call["type"] = "function"
            call["function"] = {"name": step.name, "arguments": ""}
        else:
            call["function"] = {"arguments": step.text}
        return self._chunk({"role": "assistant", "content": None, "tool_calls": [call]})

    def finish(self, finish_reason: str) -> bytes:
        return self._chunk({"role": "assistant", "content": ""}, finish_reason)

    def error(self, fault: MidStreamError) -> bytes:
        choice = {
            "index": 0,
            "delta": {"content": ""},
            "finish_reason": "error",
            "native_finish_reason": "error",
        }
        return data_event({**self._error_head(fault), "choices": [choice]})

    def malformed(self) -> bytes:
        whole = dumps({**self.head(self.obj), "choices": [{"index": 0, "delta": {"content": "x"}}]})
        return b"data: " + whole[: len(whole) // 2] + b"\n\n"

    def huge(self, size: int) -> bytes:
        delta = {"role": "assistant", "content": "", "images": [huge_image(size)]}
        return self._chunk(delta)


@attrs.define
class TextEvents(_Base):
    """Legacy ``/completions`` stream: ``text_completion`` chunks with ``choices[].text``."""

    obj = "text_completion"

    def _chunk(self, text: str, finish: str | None = None) -> bytes:
        choice = {
            "text": text,
            "index": 0,
            "logprobs": None,
            "finish_reason": finish,
            "native_finish_reason": finish,
        }
        return data_event(
            {**self.head(self.obj), "choices": [choice], "system_fingerprint": FINGERPRINT}
        )

    def role(self) -> bytes | None:
        return None

    def step(self, step: Step) -> bytes | None:
        return self._chunk(step.text) if step.kind == "content" else None

    def finish(self, finish_reason: str) -> bytes:
        return self._chunk("", finish_reason)

    def error(self, fault: MidStreamError) -> bytes:
        choice = {"text": "", "index": 0, "logprobs": None, "finish_reason": "error"}
        return data_event({**self._error_head(fault), "choices": [choice]})

    def malformed(self) -> bytes:
        whole = dumps({**self.head(self.obj), "choices": [{"text": "x", "index": 0}]})
        return b"data: " + whole[: len(whole) // 2] + b"\n\n"

    def huge(self, size: int) -> bytes:
        return self._chunk("", None).replace(b'"text":""', b'"text":"' + b"A" * size + b'"', 1)
