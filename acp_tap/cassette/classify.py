"""How a line is stored in a cassette: JSON, text or binary. Pure; no I/O."""

from __future__ import annotations

from typing import Any

import attrs

from acp_tap.cassette.codec import scan_json
from acp_tap.cassette.longline import classify_large
from acp_tap.cassette.model import Payload
from acp_tap.wire.jsonrpc import INVALID, Envelope, envelope

LONG_LINE = 1 << 16
"""Lines longer than this are checked in place first (fast for long strings, e.g. images)."""

_CR = b"\r"


@attrs.frozen
class Classified:
    """What a line is: how to store it, its decoded value (if cheap) and its envelope."""

    payload: Payload
    value: Any = None
    envelope: Envelope = INVALID


def classify(content: bytes | bytearray) -> Classified:
    """Decide how a line is stored. JSON lines with a raw CR are kept as text, byte-exact."""
    if _CR in content:
        return classify_text(content)
    if len(content) > LONG_LINE:
        found = classify_large(content)
        return classify_text(content) if found is None else Classified(Payload.JSON, None, found)
    try:
        text = content.decode("utf-8")
    except UnicodeDecodeError:
        return Classified(Payload.BINARY)
    try:
        value = scan_json(text)
    except ValueError:
        return Classified(Payload.TEXT)
    except RecursionError:  # deeper than JSON readers go: kept exactly, as text
        return Classified(Payload.TEXT)
    return Classified(Payload.JSON, value, envelope(value))


def classify_text(content: bytes | bytearray) -> Classified:
    """stderr lines are logs: text when UTF-8, else binary; never embedded as JSON."""
    try:
        content.decode("utf-8")
    except UnicodeDecodeError:
        return Classified(Payload.BINARY)
    return Classified(Payload.TEXT)
