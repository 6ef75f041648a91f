"""Semantic diff of two conversations, aligned by session and prompt turn. Pure.

Ids, timestamps, session ids, tool call ids and how text was split into chunks do not
count; capabilities, agent text, thoughts, tool calls, permission outcomes, stop reasons,
errors and the agent's exit status do. ``acp-tap diff`` and the client-side replay report
both use it.
"""

from __future__ import annotations

import difflib
from collections.abc import Iterable, Iterator
from typing import Any

import attrs

from acp_tap.cassette.model import Direction, Footer, Frame, Record
from acp_tap.inspect.conversation import Conversation, Turn
from acp_tap.wire.jsonrpc import envelope
from acp_tap.wire.pending import PendingRequests

IGNORED_FIELDS = frozenset({"sessionId"})
"""Fields of session results that differ between any two runs."""


@attrs.frozen
class Summary:
    """What a conversation amounts to, without ids and timing."""

    handshake: dict[str, Any]  # flattened: "client.fs.readTextFile" -> True, "agent...." -> ...
    sessions: tuple[dict[str, Any], ...]  # flattened session/new (or load/resume) results, in order
    turns: tuple[tuple[int, Turn], ...]  # (session ordinal, turn), in the order turns started
    exit_status: int | None  # None when the recording has no footer


@attrs.frozen
class Change:
    """One difference: where, what, and the two values (None when absent)."""

    where: str  # "handshake", "session 1", "session 1 turn 2", "exit"
    field: str
    a: Any
    b: Any

    def render(self) -> str:
        """Readable lines; long texts as a word diff (``[-removed-]{+added+}``)."""
        head = f"{self.where}: {self.field}"
        if (
            isinstance(self.a, str)
            and isinstance(self.b, str)
            and max(len(self.a), len(self.b)) > 60
        ):
            return f"{head}\n    {word_diff(self.a, self.b)}"
        return f"{head}\n    - {_show(self.a)}\n    + {_show(self.b)}"


def word_diff(a: str, b: str, context: int = 6) -> str:
    """A one-line word diff in the style of ``git diff --word-diff``, with trimmed context."""
    left, right = a.split(" "), b.split(" ")
    parts: list[str] = []
    opcodes = difflib.SequenceMatcher(None, left, right, autojunk=False).get_opcodes()
    for n, (op, i1, i2, j1, j2) in enumerate(opcodes):
        if op == "equal":
            words = left[i1:i2]
            if n > 0 and n < len(opcodes) - 1 and len(words) > 2 * context:
                words = [*words[:context], "...", *words[-context:]]
            elif n == 0 and len(words) > context:
                words = ["...", *words[-context:]]
            elif n == len(opcodes) - 1 and len(words) > context:
                words = [*words[:context], "..."]
            parts.append(" ".join(words))
            continue
        if i2 > i1:
            parts.append("[-" + " ".join(left[i1:i2]) + "-]")
        if j2 > j1:
            parts.append("{+" + " ".join(right[j1:j2]) + "+}")
    return " ".join(p for p in parts if p)


def _show(value: Any) -> str:
    if value is None:
        return "(absent)"
    text = repr(value)
    return text if len(text) <= 200 else text[:197] + "..."


def flatten(value: Any, prefix: str = "") -> dict[str, Any]:
    """``{"a": {"b": [1]}}`` -> ``{"a.b[0]": 1}`` (leaves only; empty containers kept)."""
    out: dict[str, Any] = {}
    stack: list[tuple[str, Any]] = [(prefix, value)]
    while stack:
        path, item = stack.pop()
        if isinstance(item, dict) and item:
            children = [(f"{path}.{k}" if path else str(k), v) for k, v in item.items()]
            stack.extend(reversed(children))
        elif isinstance(item, list) and item:
            stack.extend(reversed([(f"{path}[{i}]", v) for i, v in enumerate(item)]))
        else:
            out[path] = item
    return out


_SESSION_METHODS = frozenset({"session/new", "session/load", "session/resume"})


def summarize(records: Iterable[Record]) -> Summary:
    """Fold a cassette's records into a :class:`Summary` (streaming)."""
    conversation = Conversation()
    pending = PendingRequests()
    handshake: dict[str, Any] = {}
    sessions: list[dict[str, Any]] = []
    ordinals: dict[str, int] = {}
    started: dict[int, int] = {}  # turn seq -> order it started
    turns: list[Turn] = []
    exit_status: int | None = None
    for record in records:
        if isinstance(record, Footer):
            exit_status = record.status
            continue
        if (
            not isinstance(record, Frame)
            or not record.is_json
            or record.dir is Direction.AGENT_STDERR
        ):
            continue
        message = record.message()
        env = envelope(message)
        if (
            env.method in ("session/prompt", "session/load")
            and record.dir is Direction.CLIENT_TO_AGENT
        ):
            started[record.seq] = len(started)
        if env.method == "initialize" and record.dir is Direction.CLIENT_TO_AGENT:
            params = message.get("params") or {}
            handshake.update(flatten(params.get("clientCapabilities"), "client"))
            handshake["client.protocolVersion"] = params.get("protocolVersion")
        answered = pending.track(record.dir, env)
        if answered == "initialize" and isinstance(message.get("result"), dict):
            handshake.update(flatten(message["result"], "agent"))
        elif answered in _SESSION_METHODS and isinstance(message.get("result"), dict):
            result = {k: v for k, v in message["result"].items() if k not in IGNORED_FIELDS}
            session_id = message["result"].get("sessionId")
            if isinstance(session_id, str):
                ordinals.setdefault(session_id, len(ordinals) + 1)
            if answered == "session/new":
                sessions.append(flatten(result))
        turns.extend(conversation.feed(0, record))
    turns.extend(conversation.finish())
    for turn in turns:
        ordinals.setdefault(turn.session, len(ordinals) + 1)
    ordered = sorted(turns, key=lambda t: started.get(t.seq, len(started) + t.seq))
    return Summary(
        handshake, tuple(sessions), tuple((ordinals[t.session], t) for t in ordered), exit_status
    )


def _compare_flat(where: str, a: dict[str, Any], b: dict[str, Any]) -> Iterator[Change]:
    for key in dict.fromkeys([*a, *b]):
        if a.get(key, _MISSING) != b.get(key, _MISSING):
            yield Change(where, key, a.get(key), b.get(key))


_MISSING = object()


def _turn_fields(turn: Turn) -> dict[str, Any]:
    fields: dict[str, Any] = {
        "kind": turn.origin,
        "prompt": turn.prompt,
        "agent text": turn.agent_text,
        "thought text": turn.thought_text,
        "stop reason": turn.stop_reason,
        "errors": list(turn.errors),
        "cancelled": turn.cancelled,
        "complete": turn.complete,
    }
    for i, tool in enumerate(turn.tool_calls, start=1):
        fields[f"tool call {i}"] = f"{tool.title} ({tool.kind})"
        fields[f"tool call {i} statuses"] = " -> ".join(tool.statuses)
        fields[f"tool call {i} content"] = tool.content
    for i, permission in enumerate(turn.permissions, start=1):
        fields[f"permission {i} options"] = [f"{o[0]}:{o[2]}" for o in permission.options]
        fields[f"permission {i} outcome"] = permission.outcome
    return fields


def diff(a: Summary, b: Summary) -> list[Change]:
    """Every semantic difference between two summaries, in conversation order."""
    changes = list(_compare_flat("handshake", a.handshake, b.handshake))
    for i in range(max(len(a.sessions), len(b.sessions))):
        left = a.sessions[i] if i < len(a.sessions) else {}
        right = b.sessions[i] if i < len(b.sessions) else {}
        if i >= len(a.sessions) or i >= len(b.sessions):
            changes.append(
                Change(f"session {i + 1}", "exists", i < len(a.sessions), i < len(b.sessions))
            )
        else:
            changes.extend(_compare_flat(f"session {i + 1}", left, right))
    by_session_a = _by_session(a.turns)
    by_session_b = _by_session(b.turns)
    for ordinal in sorted(by_session_a.keys() | by_session_b.keys()):
        left_turns, right_turns = by_session_a.get(ordinal, []), by_session_b.get(ordinal, [])
        for index in range(max(len(left_turns), len(right_turns))):
            where = f"session {ordinal} turn {index + 1}"
            left = _turn_fields(left_turns[index]) if index < len(left_turns) else {}
            right = _turn_fields(right_turns[index]) if index < len(right_turns) else {}
            if not left or not right:
                changes.append(Change(where, "exists", bool(left), bool(right)))
                continue
            changes.extend(_compare_flat(where, left, right))
    if a.exit_status != b.exit_status:
        changes.append(Change("exit", "status", a.exit_status, b.exit_status))
    return changes


def _by_session(turns: tuple[tuple[int, Turn], ...]) -> dict[int, list[Turn]]:
    grouped: dict[int, list[Turn]] = {}
    for ordinal, turn in turns:
        grouped.setdefault(ordinal, []).append(turn)
    return grouped
