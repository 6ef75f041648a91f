"""Binary payloads in base64 (an image's ``data``, a resource's ``blob``): not searched for
secret formats. Pure; no I/O.

A JSON string of at least :data:`BLOB_MIN` bytes made only of the base64 alphabet and
``=`` is binary data (in ACP: an image's or audio's ``data``, a resource's ``blob``). To the
format rules its bytes are random: ``AIza`` turns up in a 4 MiB image about one time in
four, sending the line down the slow path (decoding and searching megabytes), and now and
then with 35 key characters between a ``+`` and a ``/``, which the Google rule takes for a
key: the image would lose a piece to ``[REDACTED]``, and the recording its byte exactness.
The default formats therefore skip such strings. What that gives up: a real key written
into a 4 KiB run of base64 characters with no other separator (a space, a quote, a
newline, ``-``, ``.``) around it. Credential-named keys and ``--redact`` patterns still
apply to blobs.
"""

from __future__ import annotations

from collections.abc import Callable, Iterator, Sequence
from typing import Final

from acp_tap.native import native

Buffer = bytes | bytearray | memoryview

BLOB_MIN: Final = 1 << 12
"""The fewest bytes of a string taken as binary data (the long strings of LongLine)."""

_ALPHABET: Final = b"ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789+/="


def non_base64_py(data: Buffer, start: int, end: int, /) -> bool:
    """Whether ``data[start:end]`` holds a byte outside the base64 alphabet and ``=``."""
    return bool(bytes(memoryview(data)[start:end]).translate(None, _ALPHABET))


non_base64: Final[Callable[[Buffer, int, int], bool]] = (
    native("acp_tap._plainlines", "non_base64") or non_base64_py
)


def is_blob(value: str) -> bool:
    """Whether a decoded JSON string is binary data in base64 (see the module)."""
    if len(value) < BLOB_MIN or not value.isascii():
        return False
    data = value.encode("ascii")
    return not non_base64(data, 0, len(data))


def outside(pieces: Sequence[Buffer], spans: Sequence[tuple[int, int]]) -> Iterator[Buffer]:
    """The parts of the line held in ``pieces`` outside ``spans`` (sorted, disjoint
    ``[start, end)`` offsets in the line), in order, as views: nothing is copied."""
    at, spans_left = 0, list(spans)
    for piece in pieces:
        view = memoryview(piece).cast("B")
        start, end = at, at + len(view)
        at = end
        pos = start
        while spans_left and spans_left[0][0] < end:
            cut_from, cut_to = spans_left[0]
            if cut_from > pos:
                yield view[pos - start : cut_from - start]
            pos = max(pos, min(cut_to, end))
            if cut_to > end:
                break
            spans_left.pop(0)
        if pos < end:
            yield view[pos - start :]


def blob_spans(
    pieces: Sequence[Buffer], strings: Sequence[tuple[int, int]]
) -> list[tuple[int, int]]:
    """Of the long strings' bodies (``[start, end)`` offsets in the line held in
    ``pieces``), those that are binary data in base64."""
    found: list[tuple[int, int]] = []
    for start, end in strings:
        if end - start >= BLOB_MIN and not any(
            non_base64(part, 0, len(part)) for part in _within(pieces, start, end)
        ):
            found.append((start, end))
    return found


def _within(pieces: Sequence[Buffer], start: int, end: int) -> Iterator[Buffer]:
    """The views of ``pieces`` that hold the line's bytes ``[start, end)``."""
    at = 0
    for piece in pieces:
        size = len(piece)
        if at + size > start and at < end:
            view = memoryview(piece).cast("B")
            yield view[max(start - at, 0) : min(end - at, size)]
        at += size
        if at >= end:
            return
