"""Fold a cassette into conversation turns: what was asked and what the agent did. Pure.

A :class:`Turn` is one ``session/prompt`` (or the history replayed by one
``session/load``) with everything the agent streamed for it: text with chunks joined,
thoughts, tool calls with their status history, permission requests with their outcome,
the stop reason and error responses. Turns are yielded as they end, so folding streams;
``diff`` compares two cassettes turn by turn.
"""

from __future__ import annotations

from collections.abc import Iterable, Iterator
from typing import Any

import attrs

from acp_tap.cassette.model import Direction, Frame, Record
from acp_tap.inspect import acp
from acp_tap.wire.jsonrpc import Kind, RequestId, envelope


@attrs.frozen
class ToolCall:
    """A tool call announced during a turn."""

    id: str
    title: str
    kind: str | None
    statuses: tuple[str, ...]  # every status reported, in order, repeats collapsed
    content: str  # the last content reported, as text


@attrs.frozen
class Permission:
    """A ``session/request_permission`` asked during a turn."""

    seq: int
    tool_call_id: str | None
    options: tuple[tuple[str, str, str], ...]  # (optionId, name, kind)
    outcome: str | None  # "selected:<optionId>", "cancelled", "error", None if unanswered


@attrs.frozen
class Turn:
    """One prompt turn (or one ``session/load`` replay) of one session."""

    session: str
    index: int  # 0, 1, ... per session, loads included
    origin: str  # "prompt" or "load"
    seq: int  # the frame of the session/prompt (or session/load) request
    prompt: str  # the prompt's text (for a load: the replayed user messages)
    agent_text: str
    thought_text: str
    tool_calls: tuple[ToolCall, ...]
    permissions: tuple[Permission, ...]
    stop_reason: str | None
    errors: tuple[str, ...]  # error responses: to the prompt itself, or to agent requests
    cancelled: bool  # the client sent session/cancel during the turn
    complete: bool  # the response to the prompt (or load) was seen


@attrs.define(eq=False)
class _Building:
    session: str
    index: int
    origin: str
    seq: int
    prompt: list[str]
    agent: list[str] = attrs.field(factory=list)
    thought: list[str] = attrs.field(factory=list)
    tools: dict[str, dict[str, Any]] = attrs.field(factory=dict)
    permissions: dict[RequestId, Permission] = attrs.field(factory=dict)
    errors: list[str] = attrs.field(factory=list)
    cancelled: bool = False

    def turn(self, stop_reason: str | None, complete: bool) -> Turn:
        tools = tuple(
            ToolCall(tid, t["title"], t["kind"], tuple(t["statuses"]), t["content"])
            for tid, t in self.tools.items()
        )
        return Turn(
            self.session,
            self.index,
            self.origin,
            self.seq,
            "\n".join(p for p in self.prompt if p),
            "".join(self.agent),
            "".join(self.thought),
            tools,
            tuple(self.permissions.values()),
            stop_reason,
            tuple(self.errors),
            self.cancelled,
            complete,
        )


@attrs.define(eq=False)
class Conversation:
    """Feed records in order; get each turn once it ends (``finish`` gives unfinished ones)."""

    _open: dict[str, _Building] = attrs.field(init=False, factory=dict)  # by session
    _by_request: dict[RequestId, _Building] = attrs.field(init=False, factory=dict)
    _asked: dict[RequestId, tuple[str, str | None]] = attrs.field(init=False, factory=dict)
    _counts: dict[str, int] = attrs.field(init=False, factory=dict)

    def feed(self, line: int, record: Record) -> list[Turn]:
        """Fold one record in; return the turns it completed."""
        if not isinstance(record, Frame) or not record.is_json:
            return []
        if record.dir is Direction.AGENT_STDERR:
            return []
        message = record.message()
        env = envelope(message)
        params = acp.params_of(message)
        if env.method is not None:
            self._call(record, env.method, env.id, params)
            return []
        if env.id is None or env.kind is Kind.INVALID:
            return []
        if record.dir is Direction.AGENT_TO_CLIENT:
            return self._answered(env.id, env.kind is Kind.RESPONSE, message)
        self._client_answered(env.id, env.kind is Kind.RESPONSE, message)
        return []

    def finish(self) -> list[Turn]:
        """The turns still open at the end of the cassette, marked incomplete."""
        turns = [b.turn(None, complete=False) for b in self._by_request.values()]
        self._by_request.clear()
        self._open.clear()
        return turns

    def _call(self, frame: Frame, method: str, msg_id: RequestId | None, params: Any) -> None:
        session = acp.session_of(params)
        if frame.dir is Direction.CLIENT_TO_AGENT:
            if method in ("session/prompt", "session/load") and msg_id is not None and session:
                index = self._counts.get(session, 0)
                self._counts[session] = index + 1
                origin = "prompt" if method == "session/prompt" else "load"
                prompt = [acp.blocks_text(params.get("prompt"))] if origin == "prompt" else []
                started = _Building(session, index, origin, frame.seq, prompt)
                self._open[session] = self._by_request[msg_id] = started
            elif method == "session/cancel" and session in self._open:
                self._open[session].cancelled = True
            return
        building = self._open.get(session or "")
        if building is None:
            return
        if method == "session/update":
            _fold_update(building, params.get("update"))
        elif method == "session/request_permission" and msg_id is not None:
            building.permissions[msg_id] = _permission(frame.seq, params)
        if msg_id is not None:
            self._asked[msg_id] = (method, session)

    def _answered(self, msg_id: RequestId, ok: bool, message: dict[str, Any]) -> list[Turn]:
        """An agent's response: it may end a turn."""
        building = self._by_request.pop(msg_id, None)
        if building is None:
            return []
        if self._open.get(building.session) is building:
            del self._open[building.session]
        result = message.get("result")
        reason = result.get("stopReason") if ok and isinstance(result, dict) else None
        if not ok:
            building.errors.append(acp.error_brief(message))
        return [building.turn(reason if isinstance(reason, str) else None, complete=True)]

    def _client_answered(self, msg_id: RequestId, ok: bool, message: dict[str, Any]) -> None:
        method, session = self._asked.pop(msg_id, ("", None))
        building = self._open.get(session or "")
        if building is None:
            return
        if not ok:
            building.errors.append(f"{method}: {acp.error_brief(message)}")
        permission = building.permissions.get(msg_id)
        if permission is not None:
            outcome = _outcome(message.get("result")) if ok else "error"
            building.permissions[msg_id] = attrs.evolve(permission, outcome=outcome)


def fold(records: Iterable[tuple[int, Record]]) -> Iterator[Turn]:
    """The turns of a cassette, in the order they ended (unfinished ones last)."""
    conversation = Conversation()
    for line, record in records:
        yield from conversation.feed(line, record)
    yield from conversation.finish()


def _fold_update(building: _Building, update: Any) -> None:
    if not isinstance(update, dict):
        return
    kind = update.get("sessionUpdate")
    if kind == "agent_message_chunk":
        building.agent.append(acp.block_text(update.get("content")))
    elif kind == "agent_thought_chunk":
        building.thought.append(acp.block_text(update.get("content")))
    elif kind == "user_message_chunk":
        building.prompt.append(acp.block_text(update.get("content")))
    elif kind in ("tool_call", "tool_call_update"):
        tool_id = str(update.get("toolCallId"))
        tool = building.tools.setdefault(
            tool_id, {"title": "", "kind": None, "statuses": [], "content": ""}
        )
        if isinstance(update.get("title"), str):
            tool["title"] = update["title"]
        if isinstance(update.get("kind"), str):
            tool["kind"] = update["kind"]
        status = update.get("status") or ("pending" if kind == "tool_call" else None)
        if isinstance(status, str) and (not tool["statuses"] or tool["statuses"][-1] != status):
            tool["statuses"].append(status)
        if update.get("content"):
            tool["content"] = acp.tool_content_text(update["content"])


def _permission(seq: int, params: Any) -> Permission:
    tool = params.get("toolCall")
    tool_id = tool.get("toolCallId") if isinstance(tool, dict) else None
    options = tuple(
        (str(o.get("optionId")), str(o.get("name")), str(o.get("kind")))
        for o in params.get("options", ())
        if isinstance(o, dict)
    )
    return Permission(seq, tool_id if isinstance(tool_id, str) else None, options, None)


def _outcome(result: Any) -> str | None:
    outcome = result.get("outcome") if isinstance(result, dict) else None
    if not isinstance(outcome, dict):
        return None
    if outcome.get("outcome") == "selected":
        return f"selected:{outcome.get('optionId')}"
    kind = outcome.get("outcome")
    return kind if isinstance(kind, str) else None
