"""Tests for acp_tap.wire.framing: NDJSON line splitting over arbitrary chunk boundaries."""

from __future__ import annotations

import itertools
import time
from typing import Any

import pytest
from hypothesis import given
from hypothesis import strategies as st

from acp_tap.cassette.model import Eol
from acp_tap.wire.framing import Line, LineSplitter


def expected_lines(data: bytes) -> list[tuple[bytes, Eol]]:
    """The lines of ``data`` by definition: split at LF, a CR before the LF is the CRLF."""
    *terminated, last = data.split(b"\n")
    lines = [
        (piece[:-1], Eol.CRLF) if piece.endswith(b"\r") else (piece, Eol.LF) for piece in terminated
    ]
    if last:
        lines.append((last, Eol.NONE))
    return lines


def split(chunks: list[bytes] | list[bytearray]) -> list[tuple[bytes, Eol]]:
    """Feed the chunks, close, and return the lines as (content, eol)."""
    splitter = LineSplitter()
    lines: list[Line] = []
    for chunk in chunks:
        lines += splitter.feed(chunk)
    if (last := splitter.close()) is not None:
        lines.append(last)
    assert splitter.pending == 0
    return [(line.data, line.eol) for line in lines]


def chunked(data: bytes, cuts: list[int]) -> list[bytes]:
    """Cut ``data`` at the given offsets (any order, duplicates give empty chunks)."""
    bounds = [0, *sorted(c % (len(data) + 1) for c in cuts), len(data)]
    return [data[a:b] for a, b in itertools.pairwise(bounds)]


streams = st.binary(max_size=64) | st.lists(
    st.sampled_from([b"\n", b"\r", b"\r\n", b"{}", b'{"a":1}', b"\xff", b"x", b""]), max_size=30
).map(b"".join)


@given(streams, st.lists(st.integers(min_value=0), max_size=12))
def test_random_chunk_boundaries(data: bytes, cuts: list[int]) -> None:
    """Wherever the stream is cut into chunks, the same lines come out."""
    assert expected_lines(data) == split(chunked(data, cuts))


@given(streams)
def test_one_byte_at_a_time(data: bytes) -> None:
    """Feeding one byte per chunk gives the same lines as one big chunk."""
    assert expected_lines(data) == split([data[i : i + 1] for i in range(len(data))])
    assert expected_lines(data) == split([data])


@given(streams, st.lists(st.integers(min_value=0), max_size=6))
def test_lines_concatenate_to_input(data: bytes, cuts: list[int]) -> None:
    """Content plus terminator over all lines is exactly the input."""
    assert data == b"".join(content + eol.bytes for content, eol in split(chunked(data, cuts)))


@given(streams, st.lists(st.integers(min_value=0), max_size=6))
def test_bytearray_chunks(data: bytes, cuts: list[int]) -> None:
    """Chunks may be bytearrays (a reused read buffer) and are not kept by reference."""
    chunks = [bytearray(c) for c in chunked(data, cuts)]
    splitter = LineSplitter()
    lines: list[Line] = []
    for chunk in chunks:
        lines += splitter.feed(chunk)
        chunk[:] = b"#" * len(chunk)  # the caller reuses its buffer
    if (last := splitter.close()) is not None:
        lines.append(last)
    assert expected_lines(data) == [(line.data, line.eol) for line in lines]


@pytest.mark.parametrize(
    ("chunks", "expected"),
    [
        pytest.param([b"a\r", b"\nb\n"], [(b"a", Eol.CRLF), (b"b", Eol.LF)], id="crlf-split"),
        pytest.param([b"a\r", b"", b"\n"], [(b"a", Eol.CRLF)], id="crlf-split-by-empty-chunk"),
        pytest.param(
            [b"\r\n\n\r\n"], [(b"", Eol.CRLF), (b"", Eol.LF), (b"", Eol.CRLF)], id="blank"
        ),
        pytest.param([b"a\r\r\n"], [(b"a\r", Eol.CRLF)], id="cr-cr-lf"),
        pytest.param([b"a\rb\n"], [(b"a\rb", Eol.LF)], id="inner-cr"),
        pytest.param([b"abc"], [(b"abc", Eol.NONE)], id="no-final-newline"),
        pytest.param([b"a\n", b"b"], [(b"a", Eol.LF), (b"b", Eol.NONE)], id="last-unterminated"),
        pytest.param([b"a\r"], [(b"a\r", Eol.NONE)], id="cr-at-eof"),
        pytest.param([b"", b""], [], id="nothing"),
        pytest.param([b"\n"], [(b"", Eol.LF)], id="one-blank-line"),
    ],
)
def test_explicit_streams(chunks: list[bytes], expected: list[tuple[bytes, Eol]]) -> None:
    """CRLF across chunks, blank lines and a missing final newline are framed exactly."""
    assert expected == split(chunks)


def test_feed_returns_lines_as_soon_as_complete() -> None:
    """A line is returned by the feed that completes it; pending counts the rest."""
    splitter = LineSplitter()
    assert splitter.feed(b'{"a":') == []
    assert splitter.pending == 5
    lines = splitter.feed(b'1}\n{"b"')
    assert [(line.data, line.eol) for line in lines] == [(b'{"a":1}', Eol.LF)]
    assert splitter.pending == 4
    last = splitter.close()
    assert last is not None
    assert (last.data, last.eol) == (b'{"b"', Eol.NONE)
    assert splitter.close() is None


def test_huge_line_in_small_chunks() -> None:
    """A 64 MiB line fed in 64 KiB chunks is found once, exact, searching each byte once."""
    size, step = 64 * 2**20, 64 * 2**10
    body = bytes(range(256)).replace(b"\n", b"") * (size // 255 + 1)
    data = b"before\n" + body[:size] + b"\r\nafter"
    searched = 0

    class Chunk(bytes):
        """A chunk that counts how many bytes the splitter searches in it."""

        def find(self, sub: Any, start: Any = 0, end: Any = None) -> int:
            nonlocal searched
            found = super().find(sub, start, end)
            searched += (found + 1 if found >= 0 else len(self)) - start
            return found

    splitter = LineSplitter()
    lines: list[Line] = []
    started = time.perf_counter()
    for at in range(0, len(data), step):
        lines += splitter.feed(Chunk(data[at : at + step]))
    elapsed = time.perf_counter() - started
    last = splitter.close()
    assert [line.eol for line in lines] == [Eol.LF, Eol.CRLF]
    assert lines[0].data == b"before"
    assert len(lines[1].content) == size
    assert lines[1].content == body[:size]
    assert last is not None
    assert last.data == b"after"
    assert searched == len(data)  # every byte is searched exactly once
    assert elapsed < 5, f"framing 64 MiB took {elapsed:.1f}s: is the buffer copied per chunk?"


@given(st.lists(st.binary(max_size=20), max_size=12))
def test_feed_contents_agrees_with_feed(chunks: list[bytes]) -> None:
    """The fast form gives the same line contents as feed, whatever the chunking."""
    slow, fast = LineSplitter(), LineSplitter()
    expected = [line.data for chunk in chunks for line in slow.feed(chunk)]
    assert [line for chunk in chunks for line in fast.feed_contents(chunk)] == expected
    assert fast.pending == slow.pending
