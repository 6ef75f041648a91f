"""Decide whether a long line is JSON without decoding it, at memchr speed. Pure; no I/O.

Long lines are nearly all one long string in a small envelope: an image in a
``session/prompt``, a file in ``fs/read_text_file``. ``json.loads`` would make two or
three more copies of such a line, and the byte-wise grammar of
:mod:`acp_tap.wire.jsonscan` reads it at about 250 MB/s. Here every string of
:data:`LONG_STRING` bytes or more is checked where it lies (``bytes.find`` for quotes,
backslashes and control characters) and replaced by ``""``; what is left, the skeleton,
is small and is parsed with the C decoder. Taking a valid string out changes neither the
document's validity nor its envelope -- unless that string is the ``method`` or ``id``
itself, which is why a skeleton whose method or id is ``""`` is not trusted.

:func:`classify_large` checks a whole line; :class:`LongLine` checks one as its pieces
arrive, so the relay never joins them (the writer writes the pieces with ``writev``).
Both answer exactly what ``envelope(scan_json(line.decode()))`` would, or, for
:class:`LongLine`, None when unsure (the caller then joins the pieces and asks
:func:`classify_large`).
"""

from __future__ import annotations

import codecs
import re
from collections.abc import Callable

import attrs

from acp_tap.cassette.codec import scan_json
from acp_tap.cassette.framelines import MAX_DEPTH
from acp_tap.native import native
from acp_tap.wire.jsonrpc import Envelope, Kind, envelope
from acp_tap.wire.jsonscan import Buffer, is_utf8, scan

LARGE_LINE = 1 << 20
"""Lines longer than this are never decoded whole (memory stays one copy of the line)."""

LONG_STRING = 1 << 12
"""Strings at least this long are checked in place and left out of the skeleton."""

SKELETON = 1 << 18
"""The most bytes of a line left to parse once its long strings are taken out."""

_QUOTE, _BACKSLASH, _BACKSLASH_BYTE = b'"', b"\\", 0x5C
_CONTROLS = tuple(bytes([c]) for c in range(0x20))
_SLICE = 1 << 18
_MAYBE_BAD_ESCAPE = re.compile(rb'\\(?:[^"\\/bfnrtu]|u(?![0-9a-fA-F]{4}))')
_STRING_BODY = re.compile(rb'(?:[^"\\\x00-\x1f]++|\\(?:["\\/bfnrt]|u[0-9a-fA-F]{4}))*+')


class _Invalid(Exception):
    """A long string is not a valid JSON string."""


def classify_large(content: bytes | bytearray) -> Envelope | None:
    """The envelope of a long line if it is exactly one JSON document, else None.

    ``content`` holds no CR: the recorder keeps lines with a raw CR as text beforehand.
    """
    try:
        skeleton = _skeleton(content)
    except _Invalid:
        return None
    if skeleton is None:  # too many short strings: no small skeleton
        return (
            scan(content, max_depth=MAX_DEPTH) if len(content) > LARGE_LINE else _decoded(content)
        )
    if not is_utf8(content):
        return None
    found = _parse(skeleton)
    if found is None or found.method == "" or found.id == "":
        return scan(
            content, max_depth=MAX_DEPTH
        )  # not JSON, or maybe a long method or id was taken out
    return found


def _decoded(content: bytes | bytearray) -> Envelope | None:
    """The envelope of a line by decoding it whole, or None if it is not JSON."""
    try:
        return envelope(scan_json(content.decode("utf-8")))
    except (ValueError, RecursionError):  # UnicodeDecodeError is a ValueError
        return None


def _parse(skeleton: bytes) -> Envelope | None:
    """The envelope of a (valid UTF-8) skeleton, or None if it is not JSON or too deep.

    An object with a string ``method`` but no valid id is not a JSON-RPC message, yet
    redaction needs its method (a ``session/new`` with ``"id": false`` still holds
    secrets): it comes back as an ``INVALID`` envelope that carries the method.
    """
    try:
        value = scan_json(skeleton.decode("utf-8"))
    except (ValueError, RecursionError):
        return None
    found = envelope(value)
    if found.kind is Kind.INVALID and isinstance(value, dict):
        method = value.get("method")
        if isinstance(method, str):
            return Envelope(Kind.INVALID, method)
    return found


def _skeleton(buf: bytes | bytearray) -> bytes | None:
    """``buf`` with its long strings checked and emptied; None if too much is left."""
    find = buf.find
    pieces: list[bytes | bytearray] = []
    kept = start = pos = 0
    while (opening := find(_QUOTE, pos)) >= 0:
        closing = _closing_quote(buf, opening + 1)
        if closing < 0:
            return None  # unterminated: not JSON, the slow path says so
        if closing - opening > LONG_STRING:
            _check_string(buf, opening + 1, closing)
            pieces.append(buf[start:opening])
            pieces.append(b'""')
            kept += opening - start + 2
            start = closing + 1
        pos = closing + 1
        if kept + pos - start > SKELETON:
            return None
    if kept + len(buf) - start > SKELETON:
        return None
    pieces.append(buf[start:])
    return b"".join(pieces)


def _closing_quote(buf: bytes | bytearray, pos: int) -> int:
    """The index of the quote ending the string whose body starts at ``pos``, or -1."""
    while (quote := buf.find(_QUOTE, pos)) >= 0:
        first = quote
        while buf[first - 1] == _BACKSLASH_BYTE:  # stops at the opening quote at the latest
            first -= 1
        if (quote - first) % 2 == 0:
            return quote
        pos = quote + 1
    return -1


def _check_string(buf: bytes | bytearray, start: int, end: int) -> None:
    """Raise :class:`_Invalid` unless ``buf[start:end]`` is a valid JSON string body (bytes)."""
    if buf.find(_BACKSLASH, start, end) >= 0 and _MAYBE_BAD_ESCAPE.search(buf, start, end):
        if _STRING_BODY.fullmatch(buf, start, end) is None:  # the exact, slower check
            raise _Invalid
        return
    if _has_control(buf, start, end):
        raise _Invalid


def has_control_py(buf: bytes | bytearray, start: int, end: int) -> bool:
    """Whether ``buf[start:end]`` holds a byte below 0x20 (32 memchr calls beat translate).

    The reference of the native ``has_control`` (one pass, used when built).
    """
    find = buf.find
    for at in range(start, end, _SLICE):
        stop = min(at + _SLICE, end)
        for control in _CONTROLS:
            if find(control, at, stop) >= 0:
                return True
    return False


_has_control: Callable[[bytes | bytearray, int, int], bool] = (
    native("acp_tap._plainlines", "has_control") or has_control_py
)


@attrs.define(eq=False)
class LongLine:
    """A long line checked piece by piece as it arrives; the pieces are kept, not joined.

    :meth:`add` each piece (a range of a received chunk), then :meth:`finish`. The check
    gives up (``finish`` returns None) on anything unusual -- a control character or CR
    anywhere, a backslash in a long string, a big skeleton, a parse error -- and the
    caller decides the slow way. ``pieces`` are views of the chunks: no copy of the line.
    """

    pieces: list[Buffer] = attrs.Factory(list)
    size: int = 0
    _gave_up: bool = False
    _in_string: bool = False
    _run: int = 0  # backslashes ending the current string's body so far
    _string: list[bytes] = attrs.Factory(list)  # the current string's body while short
    _string_size: int = 0
    _escapes: bool = False  # the current string holds a backslash
    _skeleton: list[bytes] = attrs.Factory(list)
    _skeleton_size: int = 0
    _utf8_tail: bytes = b""  # an incomplete UTF-8 sequence at the end of the last piece
    _base: int = 0  # the line's offset of index 0 of the chunk being added
    _string_start: int = 0  # the line's offset of the current string's body
    long_strings: list[tuple[int, int]] = attrs.Factory(list)
    """The bodies of the long strings without escapes, as ``[start, end)`` offsets."""

    def add(self, chunk: bytes, start: int, end: int, *, ascii_chunk: bool) -> None:
        """Append ``chunk[start:end]`` (``ascii_chunk``: the whole chunk is ASCII)."""
        whole = start == 0 and end == len(chunk)
        self.pieces.append(chunk if whole else memoryview(chunk)[start:end])
        self._base = self.size - start
        self.size += end - start
        if self._gave_up:
            return
        if _has_control(chunk, start, end) or not self._check_utf8(chunk, start, end, ascii_chunk):
            self._gave_up = True
            return
        pos = start
        while pos < end and not self._gave_up:
            pos = (
                self._in_string_at(chunk, pos, end)
                if self._in_string
                else self._outside(chunk, pos, end)
            )

    def finish(self) -> Envelope | None:
        """The line's envelope if it is certainly JSON; None to decide the slow way."""
        if self._gave_up or self._in_string or self._utf8_tail:
            return None
        found = _parse(b"".join(self._skeleton))
        if found is None or found.method == "" or found.id == "":
            return None
        return found

    def _check_utf8(self, chunk: bytes, start: int, end: int, ascii_chunk: bool) -> bool:
        if ascii_chunk and not self._utf8_tail:
            return True
        view = memoryview(chunk)
        try:
            for at in range(start, end, _SLICE):
                data = view[at : min(at + _SLICE, end)]
                if self._utf8_tail:
                    data = memoryview(self._utf8_tail + bytes(data))
                used = codecs.utf_8_decode(data, "strict", False)[1]
                self._utf8_tail = bytes(data[used:])
        except UnicodeDecodeError:
            return False
        return True

    def _keep(self, data: bytes) -> None:
        self._skeleton.append(data)
        self._skeleton_size += len(data)
        if self._skeleton_size > SKELETON:
            self._gave_up = True

    def _outside(self, chunk: bytes, pos: int, end: int) -> int:
        """Outside strings: keep the bytes up to the next quote, which opens a string."""
        quote = chunk.find(_QUOTE, pos, end)
        self._keep(chunk[pos : end if quote < 0 else quote + 1])
        if quote < 0:
            return end
        self._in_string, self._run, self._string_size, self._escapes = True, 0, 0, False
        self._string = []
        self._string_start = self._base + quote + 1
        return quote + 1

    def _in_string_at(self, chunk: bytes, pos: int, end: int) -> int:
        """Inside a string: find its closing quote (one after an even run of backslashes)."""
        quote = chunk.find(_QUOTE, pos, end)
        stop = end if quote < 0 else quote
        run = 0
        while stop - run > pos and chunk[stop - run - 1] == _BACKSLASH_BYTE:
            run += 1
        if run == stop - pos:
            run += self._run
        if not self._escapes and chunk.find(_BACKSLASH, pos, stop) >= 0:
            self._escapes = True
        closes = quote >= 0 and run % 2 == 0
        body_end = stop + 1 if quote >= 0 and not closes else stop  # an escaped quote is body
        self._string_size += body_end - pos
        if self._string_size <= LONG_STRING:
            self._string.append(chunk[pos:body_end])
        elif self._escapes:
            self._gave_up = True  # a long string with escapes: the slow path checks them
        else:
            self._string = []
        if not closes:
            self._run = 0 if quote >= 0 else run
            return body_end
        self._in_string = False
        if self._string_size <= LONG_STRING:
            self._keep(b"".join(self._string) + b'"')
        else:
            self._keep(b'"')
            self.long_strings.append((self._string_start, self._base + quote))
        return quote + 1
