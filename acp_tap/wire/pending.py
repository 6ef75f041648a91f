"""Which requests are waiting for an answer, per direction. Pure; no I/O.

A response travels in the opposite direction to its request, and the two directions
have independent id spaces, so ids are keyed by the direction of the request and by
their JSON type (``1`` and ``"1"`` are different ids).
"""

from __future__ import annotations

import attrs

from acp_tap.cassette.model import Direction
from acp_tap.wire.jsonrpc import Envelope, RequestId

MAX_PENDING = 4096
"""Unanswered requests remembered; the oldest is forgotten beyond this (memory stays bounded)."""

_OTHER = {
    Direction.CLIENT_TO_AGENT: Direction.AGENT_TO_CLIENT,
    Direction.AGENT_TO_CLIENT: Direction.CLIENT_TO_AGENT,
}

_Key = tuple[Direction, bool, RequestId | None]


@attrs.define(eq=False)
class PendingRequests:
    """Remembers requests until answered; tells each response which method it answers."""

    limit: int = MAX_PENDING
    _methods: dict[_Key, str] = attrs.field(factory=dict)

    def track(self, direction: Direction, env: Envelope) -> str | None:
        """Note a request, or return the method a response answers (None if unknown)."""
        if direction is Direction.AGENT_STDERR:
            return None
        if env.is_request and env.method is not None:
            methods = self._methods
            methods[(direction, isinstance(env.id, str), env.id)] = env.method
            if len(methods) > self.limit:
                del methods[next(iter(methods))]
            return None
        if env.is_response and env.id is not None:
            return self._methods.pop((_OTHER[direction], isinstance(env.id, str), env.id), None)
        return None

    def __len__(self) -> int:
        return len(self._methods)
