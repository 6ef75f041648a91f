"""Reading a recorded message's routing: envelope, session, cancelled request, kind. Pure.

Agent messages that start the usual way (:data:`~acp_tap.cassette.framelines.FAST_ENVELOPE`)
are routed without being parsed, so a multi-MiB frame costs nothing to compile.
"""

from __future__ import annotations

import json
import re
from typing import Any

from acp_tap.matching.ids import IdKey, id_key
from acp_tap.replay.plan import SESSION_LEVEL_METHODS, SESSION_LEVEL_UPDATES
from acp_tap.wire.jsonrpc import Envelope, Kind, envelope


def session_of(msg: Any) -> str | None:
    """``params.sessionId``, if it is a string."""
    params = msg.get("params") if isinstance(msg, dict) else None
    sid = params.get("sessionId") if isinstance(params, dict) else None
    return sid if isinstance(sid, str) else None


def cwd_of(msg: dict[str, Any]) -> str | None:
    """``params.cwd``, if it is a string."""
    params = msg.get("params")
    cwd = params.get("cwd") if isinstance(params, dict) else None
    return cwd if isinstance(cwd, str) else None


def cancelled_id(msg: Any) -> IdKey | None:
    """The id that a ``$/cancel_request`` names."""
    params = msg.get("params") if isinstance(msg, dict) else None
    rid = params.get("requestId") if isinstance(params, dict) else None
    return id_key(rid) if isinstance(rid, int | str) and not isinstance(rid, bool) else None


def agent_envelope(raw: bytes, m: re.Match[bytes] | None) -> tuple[Envelope, str | None, Any]:
    """An agent message's envelope and session id, and the message if it had to be parsed.

    ``m`` is the match of :data:`FAST_ENVELOPE` on ``raw``: a message starting the usual
    way is not parsed, so a multi-MiB response costs nothing.
    """
    if m is not None:
        id_text, method, sid, outcome = m.groups()
        msg_id = json.loads(id_text) if id_text is not None else None
        if outcome is not None:
            kind = Kind.RESPONSE if outcome == b"result" else Kind.ERROR
            if msg_id is not None or kind is Kind.ERROR:
                return Envelope(kind, None, msg_id), None, None
        elif method is not None and method != b"$/cancel_request":
            kind = Kind.NOTIFICATION if id_text is None else Kind.REQUEST
            return Envelope(kind, method.decode(), msg_id), sid.decode(), None
    msg = json.loads(raw)
    return envelope(msg), session_of(msg), msg


LEVEL_METHODS = frozenset(m.encode() for m in SESSION_LEVEL_METHODS)
"""Session-level methods, as bytes (the compiler's fast path reads raw methods)."""
_LEVEL_KINDS = tuple(kind.encode() + b'"' for kind in SESSION_LEVEL_UPDATES)
_KIND = b'"sessionUpdate":"'


def maybe_level(raw: bytes) -> bool:
    """Whether a ``session/update`` may be session-level (then it is parsed to be sure):
    its compact ``"sessionUpdate":"KIND"`` names such a kind, or is not the only one."""
    at = raw.find(_KIND)
    if at < 0:
        return b'"sessionUpdate"' in raw  # spelt with spaces: parse it
    at += len(_KIND)
    return raw.startswith(_LEVEL_KINDS, at) or raw.find(b'"sessionUpdate"', at) >= 0


def is_level(method: str | None, raw: bytes, msg: Any) -> bool:
    """Whether an agent notification is about its session, not about a turn."""
    if method in SESSION_LEVEL_METHODS:
        return True
    if method != "session/update" or not maybe_level(raw):
        return False
    params = (json.loads(raw) if msg is None else msg).get("params")
    update = params.get("update") if isinstance(params, dict) else None
    return isinstance(update, dict) and update.get("sessionUpdate") in SESSION_LEVEL_UPDATES
