"""Classify JSON-RPC 2.0 messages as ACP uses them. Pure; no I/O.

Only the envelope is modelled; params and results stay plain JSON values so unknown
fields, ``_meta`` and ``_``-extensions pass through untouched.
"""

from __future__ import annotations

import enum
from typing import Any

import attrs

RequestId = int | str
"""A JSON-RPC id. Its JSON type (number or string) is significant and kept."""


class Kind(enum.Enum):
    """What a JSON value is, as a JSON-RPC message."""

    REQUEST = "request"
    NOTIFICATION = "notification"
    RESPONSE = "response"  # has "result"
    ERROR = "error"  # has "error"
    INVALID = "invalid"  # JSON, but not a JSON-RPC message


@attrs.frozen
class Envelope:
    """The routing part of a message: kind, method and id."""

    kind: Kind
    method: str | None = None
    id: RequestId | None = None

    @property
    def is_request(self) -> bool:
        """A request expects exactly one response with the same id."""
        return self.kind is Kind.REQUEST

    @property
    def is_response(self) -> bool:
        """A result or an error answering a request."""
        return self.kind in (Kind.RESPONSE, Kind.ERROR)

    @property
    def is_extension(self) -> bool:
        """Methods starting with ``_`` are extensions (e.g. ``_kiro.dev/metadata``)."""
        return self.method is not None and self.method.startswith("_")


INVALID = Envelope(Kind.INVALID)


def valid_id(value: Any) -> bool:
    """JSON-RPC ids are strings or integers (``null`` only in some error responses)."""
    return isinstance(value, str) or (isinstance(value, int) and not isinstance(value, bool))


def envelope(message: Any) -> Envelope:
    """Classify a decoded JSON value."""
    if not isinstance(message, dict):
        return INVALID
    method = message.get("method")
    if isinstance(method, str):
        if "id" not in message:
            return Envelope(Kind.NOTIFICATION, method)
        msg_id = message["id"]
        return Envelope(Kind.REQUEST, method, msg_id) if valid_id(msg_id) else INVALID
    msg_id = message.get("id")
    if "result" in message and valid_id(msg_id):
        return Envelope(Kind.RESPONSE, None, msg_id)
    if "error" in message and (valid_id(msg_id) or msg_id is None):
        return Envelope(Kind.ERROR, None, msg_id)
    return INVALID
