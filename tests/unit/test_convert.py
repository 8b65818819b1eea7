"""The one converter: tolerant structuring keeps unknown keys; unstructuring gives the wire
shape back (unknown keys merged, non-wire fields left out); shared empty ``extra``."""

from __future__ import annotations

from typing import Any

import orjson

from openrouter_async._convert import NO_EXTRA, structure, unstructure
from openrouter_async._decode import parse_chat_completion
from openrouter_async.types.responses import ChatCompletion, CompletionUsage, ResponseInfo

WIRE: dict[str, Any] = {
    "id": "gen-1",
    "object": "chat.completion",
    "created": 1760000000,
    "model": "openai/gpt-4o-mini",
    "provider": "OpenAI",
    "brand_new_top_level": {"x": 1},
    "choices": [
        {
            "index": 0,
            "finish_reason": "stop",
            "native_finish_reason": "stop",
            "message": {"role": "assistant", "content": "Hi", "new_message_field": [1, 2]},
        }
    ],
    "usage": {"prompt_tokens": 3, "completion_tokens": 1, "total_tokens": 4, "cost": 0.5},
}


def test_unknown_keys_survive_a_round_trip() -> None:
    completion = parse_chat_completion(orjson.loads(orjson.dumps(WIRE)))
    object.__setattr__(
        completion, "response", ResponseInfo(status_code=200, headers={}, elapsed=0.1)
    )
    assert completion.extra == {"brand_new_top_level": {"x": 1}}
    assert completion.choices[0].message.extra == {"new_message_field": [1, 2]}
    data = unstructure(completion)
    assert "response" not in data and "extra" not in data
    assert data["brand_new_top_level"] == {"x": 1}
    assert data["choices"][0]["message"]["new_message_field"] == [1, 2]
    assert data["usage"]["cost"] == 0.5
    again = structure(data, ChatCompletion)
    assert again == completion  # `response` is not part of equality
    orjson.dumps(data)  # JSON-ready


def test_objects_without_unknown_keys_share_one_read_only_extra() -> None:
    usage = structure(
        {"prompt_tokens": 1, "completion_tokens": 1, "total_tokens": 2}, CompletionUsage
    )
    other = structure(
        {"prompt_tokens": 2, "completion_tokens": 1, "total_tokens": 3}, CompletionUsage
    )
    assert usage.extra is NO_EXTRA and other.extra is NO_EXTRA
    assert usage.extra == {}


def test_a_well_formed_response_needs_neither_cattrs_nor_the_error_parser() -> None:
    """The batch and create() path loads no cattrs (about 0.7 MB) and no error-body parser
    (with html, 0.5 MB) while every answer is well formed; both load when first needed."""
    import subprocess
    import sys

    code = (
        "import sys, openrouter_async, openrouter_async._batch, openrouter_async._parse as p\n"
        "import openrouter_async._resources.chat\n"
        f"done = p.parse_chat_completion({WIRE!r})\n"
        "assert done.usage.total_tokens == 4 and done.extra == {'brand_new_top_level': {'x': 1}}\n"
        "lazy = ('cattrs', 'html', 'openrouter_async._error_body')\n"
        "print(*[m in sys.modules for m in lazy])\n"
        "from openrouter_async._convert import unstructure\n"
        "assert unstructure(done.usage)['total_tokens'] == 4\n"
        "try:\n"
        "    p.parse_chat_completion({'error': {'code': 429, 'message': 'slow'}})\n"
        "except openrouter_async.RateLimitError:\n"
        "    pass\n"
        "print(*[m in sys.modules for m in lazy])\n"
    )
    out = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, check=True)
    assert out.stdout.split("\n")[:2] == ["False False False", "True True True"]


def test_slot_builder_makes_what_the_constructor_makes() -> None:
    import attrs
    import pytest

    from openrouter_async._batch import BatchIndex, BatchResult
    from openrouter_async._convert import slot_builder

    cases: list[tuple[type, dict[str, Any]]] = [
        (BatchIndex, {"index": 3}),
        (
            BatchResult,
            {
                "index": 1,
                "id": "a",
                "request": {"model": "m"},
                "completion": None,
                "error": ValueError("x"),
                "attempts": 2,
                "latency": 0.5,
            },
        ),
        (
            ResponseInfo,
            {"status_code": 200, "headers": {"a": "b"}, "elapsed": 0.1, "generation_id": None},
        ),
    ]
    for cls, kwargs in cases:
        built, made = slot_builder(cls)(**kwargs), cls(**kwargs)
        assert type(built) is cls
        assert attrs.asdict(built, recurse=False) == attrs.asdict(made, recurse=False)
        assert built == made or cls is BatchResult  # an exception is equal only to itself
        if cls is BatchIndex:
            assert hash(built) == hash(made)
        with pytest.raises(attrs.exceptions.FrozenInstanceError):
            built.index = 9  # type: ignore[attr-defined,misc]  # frozen all the same
        with pytest.raises(TypeError):  # no defaults: every field is passed
            slot_builder(cls)(**dict(list(kwargs.items())[:-1]))

    @attrs.frozen
    class Checked:
        n: int = attrs.field(validator=attrs.validators.instance_of(int))

    @attrs.frozen
    class Converted:
        n: int = attrs.field(converter=int)

    @attrs.frozen
    class Hooked:
        n: int

        def __attrs_post_init__(self) -> None:
            pass

    for cls in (Checked, Converted, Hooked):
        with pytest.raises(TypeError, match="__init__"):
            slot_builder(cls)
