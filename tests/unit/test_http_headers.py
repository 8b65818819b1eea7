"""``_http.header_value`` / ``generation_id``: one case-insensitive header rule for aiohttp's
headers and plain dicts alike."""

from __future__ import annotations

from multidict import CIMultiDict, CIMultiDictProxy

from openrouter_async._http import generation_id, header_value


def test_plain_dicts_match_any_case() -> None:
    assert header_value({"x-generation-id": "g"}, "X-Generation-Id") == "g"
    assert header_value({"X-GENERATION-ID": "g"}, "x-generation-id") == "g"
    assert header_value({"Other": "v"}, "X-Generation-Id") is None


def test_aiohttp_headers_match_any_case() -> None:
    class Counting(dict[str, str]):
        scans = 0

        def items(self):  # type: ignore[override]
            Counting.scans += 1
            return super().items()

    proxy = CIMultiDictProxy(CIMultiDict({"x-GENERATION-id": "g", "Content-Type": "a/b"}))
    assert header_value(proxy, "X-Generation-Id") == "g"
    assert header_value(proxy, "X-Missing") is None
    assert header_value(CIMultiDict(proxy), "content-type") == "a/b"
    # A plain mapping is scanned when the exact name is absent; aiohttp's never needs to be.
    assert header_value(Counting({"a": "1"}), "X-Missing") is None
    assert Counting.scans == 1


def test_generation_id_drops_what_is_not_clean_text() -> None:
    assert generation_id(CIMultiDict({"X-Generation-Id": "gen-1"})) == "gen-1"
    assert generation_id({"x-generation-id": "gen-\udcff"}) is None
    assert generation_id({"x-generation-id": "gen\r\n1"}) is None
    assert generation_id({}) is None
    assert generation_id(None) is None
