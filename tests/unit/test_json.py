"""``_json.dumps``: orjson's bytes for everything orjson takes, and JSON for what it refuses."""

from __future__ import annotations

from typing import Any

import orjson
import pytest
from hypothesis import given
from hypothesis import strategies as st

from openrouter_async._json import dumps

JSON = st.recursive(
    st.none()
    | st.booleans()
    | st.integers(-(2**63), 2**63 - 1)
    | st.floats(allow_nan=False, allow_infinity=False)
    | st.text(),
    lambda inner: st.lists(inner, max_size=4) | st.dictionaries(st.text(), inner, max_size=4),
    max_leaves=20,
)


@given(JSON)
def test_same_bytes_as_orjson(value: Any) -> None:
    assert dumps(value) == orjson.dumps(value)


@given(JSON)
def test_slow_path_gives_the_same_bytes(value: Any) -> None:
    from openrouter_async._json import _dumps_slow

    assert _dumps_slow(value) == orjson.dumps(value)


@pytest.mark.parametrize("depth", [255, 600, 1020])
def test_deeper_than_orjson_writes(depth: int) -> None:
    # Regression (#12): orjson.loads accepts 1024 levels but dumps only 254 (TypeError).
    text = b'{"a":' * depth + b"[1,{}]" + b"}" * depth
    value = orjson.loads(text)
    with pytest.raises(TypeError):
        orjson.dumps(value)
    assert dumps(value) == text


def test_lone_surrogates_become_their_bytes_or_replacement() -> None:
    # aiohttp decodes a non-UTF-8 header byte 0xff as "\udcff" (surrogateescape).
    header = b"gen-\xff\xfe".decode("utf-8", "surrogateescape")
    assert orjson.loads(dumps({"generation_id": header})) == {"generation_id": "gen-\ufffd\ufffd"}
    assert orjson.loads(dumps(["\ud800x", ("t",)])) == ["?x", ["t"]]


def test_other_objects_still_raise_type_error() -> None:
    with pytest.raises(TypeError):
        dumps({"a": object()})
    with pytest.raises(TypeError):
        dumps([[[[object()]]]] * 1 + [orjson.loads(b"[" * 300 + b"]" * 300), object()])


def test_integers_past_64_bits_are_written_exactly() -> None:
    assert dumps({"n": 2**70}) == b'{"n":1180591620717411303424}'
