"""JSON-RPC ids in a replay: as dictionary keys, and spliced into raw bytes. Pure; no I/O.

:func:`with_id` replaces the top-level ``id`` of a message in its raw bytes: everything but
the id's value keeps its recorded bytes, so the peer sees the recorded serialisation with
its own request id (number or string, as it sent it).
"""

from __future__ import annotations

import json
import re
from typing import Any

from acp_tap.cassette.codec import dumps_compact
from acp_tap.wire.jsonrpc import RequestId

IdKey = tuple[bool, RequestId]
"""A JSON-RPC id with its JSON type: ``1`` and ``"1"`` are different ids."""

_ID_VALUE = rb'\s*(-?\d+(?:\.\d+)?(?:[eE][-+]?\d+)?|"(?:[^"\\]|\\.)*"|null)'
_FAST = re.compile(
    rb'\A\s*\{\s*(?:"jsonrpc"\s*:\s*"2\.0"\s*,\s*)?"id"\s*:' + _ID_VALUE + rb"\s*[,}]"
)
_WS = " \t\r\n"
_DECODER = json.JSONDecoder()


def id_key(value: RequestId) -> IdKey:
    """The dictionary key of a JSON-RPC id, keeping its type."""
    return (isinstance(value, str), value)


def with_id(raw: bytes, new_id: Any) -> bytes:
    """``raw`` (one JSON object) with its top-level ``id`` value replaced by ``new_id``."""
    value = dumps_compact(new_id)
    m = _FAST.match(raw)
    if m is not None:
        return raw[: m.start(1)] + value + raw[m.end(1) :]
    span = _id_span(raw)
    if span is None:  # no id member: cannot happen for a response, but stay total
        return raw
    return raw[: span[0]] + value + raw[span[1] :]


def _id_span(raw: bytes) -> tuple[int, int] | None:
    """Byte span of the top-level ``id`` value, found by walking the object's members."""
    text = raw.decode("utf-8", "surrogatepass")
    at = _skip(text, 0)
    if not text.startswith("{", at):
        return None
    at = _skip(text, at + 1)
    while at < len(text) and text[at] == '"':
        key, at = json.decoder.scanstring(text, at + 1)  # type: ignore[attr-defined]
        at = _skip(text, at)
        if not text.startswith(":", at):
            return None
        at = _skip(text, at + 1)
        start = at
        _, at = _DECODER.raw_decode(text, at)
        if key == "id":
            prefix = len(text[:start].encode("utf-8", "surrogatepass"))
            return prefix, prefix + len(text[start:at].encode("utf-8", "surrogatepass"))
        at = _skip(text, at)
        if not text.startswith(",", at):
            return None
        at = _skip(text, at + 1)
    return None


def _skip(text: str, at: int) -> int:
    while at < len(text) and text[at] in _WS:
        at += 1
    return at
