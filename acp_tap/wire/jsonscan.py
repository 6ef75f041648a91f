"""Validate a huge JSON line in place and classify it, without copying it. Pure; no I/O.

``json.loads`` on a 64 MiB line makes two or three more copies of it (the decoded text,
then the parsed values). :func:`scan` instead walks the buffer with compiled byte
patterns (``re`` reads bytearray and memoryview without copying) and an explicit stack,
so its extra memory is a few bounded slices whatever the line's size or depth (plus
the decoded values of the top-level ``method`` and ``id``).

It accepts exactly what ``json.loads(data.decode("utf-8"), parse_constant=<raise>)``
accepts -- no NaN/Infinity, no trailing garbage, strict UTF-8, integers no longer than
``sys.get_int_max_str_digits()`` -- with two deliberate differences:

- a raw ``\\r`` anywhere makes the document invalid (the recorder stores such lines as text);
- nesting depth is unlimited (``json.loads`` raises ``RecursionError`` near depth 1000)
  unless ``max_depth`` is given.

How: every token outside strings is ASCII, so the structure is checked byte-wise with
strings allowed to hold any byte >= 0x80; then the whole buffer is checked to be UTF-8 in
bounded slices. That is the same as checking each string's UTF-8, because a multi-byte
sequence can never straddle the ASCII quote that ends a string.
"""

from __future__ import annotations

import codecs
import functools
import json
import re
import sys
from typing import Any

import attrs

from acp_tap.wire.jsonrpc import INVALID, Envelope, envelope

Buffer = bytes | bytearray | memoryview

_WS = rb"[ \t\n]*+"  # JSON whitespace without \r (see the module docstring)
_STRING = rb'"[^"\\\x00-\x1f]*+(?:\\(?:["\\/bfnrt]|u[0-9a-fA-F]{4})[^"\\\x00-\x1f]*+)*+"'
_LITERAL = rb"(?:true|false|null)"
_FRAC_EXP = rb"(?:\.[0-9]++)?+(?:[eE][+-]?+[0-9]++)?+"

_ENVELOPE_KEYS = frozenset({"method", "id", "result", "error"})
_DECODED = frozenset({"method", "id"})  # only their presence matters for the others
_LONGEST_KEY = 2 + 6 * len("method")  # quotes + every character written as \uXXXX
_UTF8_SLICE = 1 << 18  # bytes decoded at a time when checking UTF-8
_BRACKET, _BRACE, _CLOSE_BRACE, _QUOTE = 0x5B, 0x7B, 0x7D, 0x22
_OPENED = 3  # the capturing group that matched a nested '[' or '{'
_OTHER: Any = object()  # stands for a value that is not a string, an integer or null


@attrs.frozen
class _Patterns:
    """The compiled grammar for one integer-digit limit."""

    scalar: re.Pattern[bytes]
    member: re.Pattern[bytes]  # a top-level key and its colon; group 1 is the key
    member_end: re.Pattern[bytes]  # ',' or '}' after a top-level member; group 1 is ','
    opened: tuple[re.Pattern[bytes], re.Pattern[bytes]]  # right after '[' / '{'
    after: tuple[re.Pattern[bytes], re.Pattern[bytes]]  # after a nested container closed


def _number(max_digits: int) -> bytes:
    """A JSON number whose integer part, if it has no fraction or exponent, fits the limit."""
    if max_digits == 0:
        return rb"-?+(?:0|[1-9][0-9]*+)" + _FRAC_EXP
    fits = rb"[0-9]{0,%d}+(?![0-9])" % (max_digits - 1)
    return rb"-?+(?:0|[1-9](?:" + fits + rb"|[0-9]*+(?=[.eE])))" + _FRAC_EXP


@functools.lru_cache(maxsize=4)
def _patterns(max_digits: int) -> _Patterns:
    """Build the grammar: one match consumes a whole run of scalar members."""
    scalar = b"(?:%s|%s|%s)" % (_STRING, _number(max_digits), _LITERAL)
    key = _STRING + _WS + rb":" + _WS
    # One match walks a whole run of scalar members, each scanned once: a member ends with
    # a comma that is followed by another member, or just before the closer. The run then
    # closes its container (group 2) or opens a nested one (group 3).
    array_run = rb"(?:%s%s(?:,%s(?!\])|(?=\])))*+(?:(\])|([\[{]))" % (scalar, _WS, _WS)
    object_run = rb'(?:%s%s(?:,%s(?=")|(?=\})))*+(?:(\})|%s([\[{]))' % (
        key + scalar,
        _WS,
        _WS,
        key,
    )
    array_opened = re.compile(_WS + rb"(?:(\])|" + array_run + rb")")
    object_opened = re.compile(_WS + rb"(?:(\})|" + object_run + rb")")
    array_after = re.compile(_WS + rb"(?:(\])|," + _WS + rb"(?!\])" + array_run + rb")")
    object_after = re.compile(_WS + rb"(?:(\})|," + _WS + rb'(?=")' + object_run + rb")")

    return _Patterns(
        scalar=re.compile(scalar),
        member=re.compile(_WS + rb"(" + _STRING + rb")" + _WS + rb":" + _WS),
        member_end=re.compile(_WS + rb"(?:(,)|\})"),
        opened=(array_opened, object_opened),
        after=(array_after, object_after),
    )


_SPACE = re.compile(_WS)


def _skip_space(data: Buffer, p: int) -> int:
    """The index of the first non-whitespace byte at or after ``p``."""
    m = _SPACE.match(data, p)
    assert m is not None  # the pattern matches the empty string
    return m.end()


def scan(data: Buffer, *, max_depth: int | None = None) -> Envelope | None:
    """Return the envelope of ``data`` if it is exactly one JSON document, else None.

    The envelope equals ``envelope(json.loads(data))``: only the top-level ``method`` and
    ``id`` values are decoded, and ``result``/``error`` only noted (the last duplicate wins).
    ``max_depth`` (if given) rejects documents whose containers nest deeper than that.
    """
    pats = _patterns(sys.get_int_max_str_digits())
    n = len(data)
    p = _skip_space(data, 0)
    members: dict[str, tuple[int, int]] | None = None
    if p < n and data[p] == _BRACE:
        members, p = _top_object(data, p, pats, max_depth)
    elif p < n and data[p] == _BRACKET:
        p = _container(data, p, pats, 1, max_depth)
    elif m := pats.scalar.match(data, p):
        p = m.end()
    else:
        return None
    if p < 0 or _skip_space(data, p) != n or not is_utf8(data):
        return None
    if members is None:
        return INVALID
    return envelope(
        {key: _value(data, *span) if key in _DECODED else _OTHER for key, span in members.items()}
    )


def _top_object(
    data: Buffer, p: int, pats: _Patterns, max_depth: int | None
) -> tuple[dict[str, tuple[int, int]], int]:
    """Walk the top-level object at ``p``; note where the envelope members' values are."""
    members: dict[str, tuple[int, int]] = {}
    if max_depth is not None and max_depth < 1:
        return members, -1
    p = _skip_space(data, p + 1)
    if p < len(data) and data[p] == _CLOSE_BRACE:
        return members, p + 1
    while m := pats.member.match(data, p):
        start = m.end()
        if start == len(data):
            break
        if data[start] in (_BRACKET, _BRACE):
            end = _container(data, start, pats, 2, max_depth)
        else:
            end = v.end() if (v := pats.scalar.match(data, start)) else -1
        if end < 0:
            break
        if (key := _key(data, *m.span(1))) is not None:
            members[key] = (start, end)
        if not (sep := pats.member_end.match(data, end)):
            break
        if sep.group(1) is None:
            return members, sep.end()
        p = sep.end()
    return members, -1


def _container(data: Buffer, p: int, pats: _Patterns, depth: int, max_depth: int | None) -> int:
    """Skip the array or object opened at ``p``; return the index after it, or -1."""
    limit = sys.maxsize if max_depth is None else max_depth - depth + 1
    stack = [data[p] == _BRACE]
    pattern = pats.opened[stack[-1]]
    p += 1
    while True:
        if len(stack) > limit or not (m := pattern.match(data, p)):
            return -1
        p = m.end()
        if m.lastindex == _OPENED:
            stack.append(data[p - 1] == _BRACE)
            pattern = pats.opened[stack[-1]]
        else:
            stack.pop()
            if not stack:
                return p
            pattern = pats.after[stack[-1]]


def is_utf8(data: Buffer) -> bool:
    """Whether ``data`` is valid UTF-8, decoded a bounded slice at a time (never whole)."""
    if not isinstance(data, memoryview) and data.isascii():
        return True
    view, pos, n = memoryview(data), 0, len(data)
    try:
        while pos < n:
            end = min(pos + _UTF8_SLICE, n)
            pos += codecs.utf_8_decode(view[pos:end], "strict", end == n)[1]
    except UnicodeDecodeError:
        return False
    return True


def _key(data: Buffer, start: int, end: int) -> str | None:
    """The decoded key at data[start:end] if it may be an envelope member, else None."""
    if end - start > _LONGEST_KEY:
        return None
    raw = bytes(data[start:end])
    if not raw.isascii():
        return None
    key: str = json.loads(raw.decode("ascii"))
    return key if key in _ENVELOPE_KEYS else None


def _value(data: Buffer, start: int, end: int) -> Any:
    """Decode a member value as far as ``envelope`` looks at it: str, int, None or other."""
    first = data[start]
    if first in (_BRACKET, _BRACE):
        return _OTHER
    token = bytes(data[start:end])
    if first == _QUOTE:
        return json.loads(token.decode("utf-8"))
    if token == b"null":
        return None
    if token.lstrip(b"-").isdigit():
        return int(token)
    return _OTHER
