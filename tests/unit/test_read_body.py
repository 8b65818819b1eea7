"""``_transport.read_body``: the whole body in as few reads as it arrives in, bounded."""

from __future__ import annotations

import pytest

from openrouter_async._errors import ProtocolError
from openrouter_async._transport import read_body


class Pieces:
    """The reading half of ``_http.Response``: ``read(n)`` hands out the pieces in turn."""

    def __init__(self, *pieces: bytes, eof_known: bool = True) -> None:
        self.pieces = list(pieces)
        self.reads = 0
        self.eof_known = eof_known  # False: EOF is only learnt from an empty read

    async def read(self, n: int) -> bytes:
        self.reads += 1
        return self.pieces.pop(0) if self.pieces else b""

    def at_eof(self) -> bool:
        return self.eof_known and not self.pieces


async def test_a_body_in_one_piece_takes_one_read() -> None:
    response = Pieces(b'{"a":1}')
    assert await read_body(response, 100) == b'{"a":1}'  # type: ignore[arg-type]
    assert response.reads == 1


async def test_pieces_are_joined_in_order() -> None:
    for eof_known in (True, False):
        response = Pieces(b"ab", b"cd", b"ef", eof_known=eof_known)
        assert await read_body(response, 100) == b"abcdef"  # type: ignore[arg-type]
        assert response.reads == (3 if eof_known else 4)
    assert await read_body(Pieces(), 100) == b""  # type: ignore[arg-type]


async def test_a_body_past_the_limit_is_refused() -> None:
    with pytest.raises(ProtocolError, match="limit of 5 bytes"):
        await read_body(Pieces(b"abc", b"def"), 5)  # type: ignore[arg-type]
    assert await read_body(Pieces(b"abc", b"de"), 5) == b"abcde"  # type: ignore[arg-type]
