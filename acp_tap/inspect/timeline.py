"""Turn cassette records into timeline events: one per record, with context attached. Pure.

A :class:`Timeline` remembers pending requests (to name what a response answers and how
long it took), the options of pending permission requests, and each tool call's last
status, so every event reads on its own. Rendering and filtering live in
:mod:`acp_tap.inspect.show`.
"""

from __future__ import annotations

from collections.abc import Mapping
from typing import Any

import attrs

from acp_tap.cassette.model import Direction, Footer, Frame, Header, Injection, Record
from acp_tap.inspect import acp
from acp_tap.inspect.summary import (
    CALLS,
    PREVIEW,
    RESULTS,
    UPDATES,
    Summary,
    error_text,
    footer_text,
    header_text,
    injection_text,
    preview,
    shorten,
)
from acp_tap.wire.jsonrpc import Kind, RequestId, envelope

_STATUS_MEMORY = 65536  # tool call statuses remembered (oldest forgotten first)


@attrs.frozen
class Event:
    """One line of the timeline."""

    line: int  # cassette line
    kind: str  # header request notification result error update stderr invalid footer
    seq: int | None = None
    t: float | None = None
    dir: str | None = None  # c2a, a2c, err; None for header and footer
    method: str | None = None  # for results and errors: the method of the request answered
    id: RequestId | None = None
    session: str | None = None
    update: str | None = None  # the sessionUpdate kind of a session/update
    latency: float | None = None  # seconds between a request and its response
    text: str = ""
    data: Mapping[str, Any] = attrs.field(factory=dict)  # structured details for --json
    problem: bool = False  # worth highlighting: an error response, a line that is not JSON

    def to_json(self) -> dict[str, Any]:
        """One JSON object: the set fields and the details."""
        out = {k: v for k, v in attrs.asdict(self, recurse=False).items() if v is not None}
        out.pop("data")
        if not self.problem:
            out.pop("problem")
        return {**out, **self.data}


@attrs.frozen
class _Asked:
    method: str
    t: float
    session: str | None
    options: Mapping[str, str] = attrs.field(factory=dict)  # permission optionId -> name


@attrs.define(eq=False)
class Timeline:
    """Feed records in order; get the events they make."""

    _pending: dict[Direction, dict[RequestId, _Asked]] = attrs.field(
        init=False, factory=lambda: {d: {} for d in Direction}
    )
    _status: dict[tuple[str, str], str] = attrs.field(init=False, factory=dict)

    def feed(self, line: int, record: Record) -> Event:
        """The event for one record."""
        if isinstance(record, Header):
            return Event(line, "header", text=header_text(record))
        if isinstance(record, Footer):
            return Event(line, "footer", t=record.t, text=footer_text(record))
        if isinstance(record, Injection):
            data = {
                "fault": record.fault,
                "on": record.on,
                "injected": record.kind,
                **record.detail,
            }
            text = injection_text(record)
            return Event(line, "fault", t=record.t, dir=record.dir.value, text=text, data=data)
        return self._frame(line, record)

    def _frame(self, line: int, frame: Frame) -> Event:
        where = (line, frame.seq, frame.t, frame.dir.value)
        if frame.dir is Direction.AGENT_STDERR:
            return _event(where, "stderr", text=bytes(frame.raw).decode("utf-8", "replace"))
        if not frame.is_json:
            text = bytes(frame.raw[:PREVIEW]).decode("utf-8", "replace")
            return _event(where, "invalid", text=f"not JSON: {text!r}", problem=True)
        message = frame.message()
        env = envelope(message)
        if env.kind is Kind.INVALID:
            return _event(where, "invalid", text=f"not JSON-RPC: {preview(message)}", problem=True)
        if env.method is not None:
            return self._call(where, frame, env.method, env.id, message)
        asked = self._pending[_other(frame.dir)].pop(env.id, None) if env.id is not None else None
        if asked is None:
            method = session = latency = None
        else:
            method, session, latency = asked.method, asked.session, frame.t - asked.t
        if env.kind is Kind.ERROR:
            text = error_text(message)
            return _event(
                where,
                "error",
                method=method,
                msg_id=env.id,
                session=session,
                latency=latency,
                text=text,
                problem=True,
            )
        result = message.get("result")
        summarise = RESULTS.get(method or "")
        text, data = (
            summarise(result, asked.options) if summarise and asked else (preview(result), {})
        )
        session = session or acp.session_of(result)
        return _event(
            where,
            "result",
            method=method,
            msg_id=env.id,
            session=session,
            latency=latency,
            text=text,
            data=data,
        )

    def _call(
        self,
        where: _Where,
        frame: Frame,
        method: str,
        msg_id: RequestId | None,
        message: Any,
    ) -> Event:
        params = acp.params_of(message)
        session = acp.session_of(params)
        kind = "request" if msg_id is not None else "notification"
        if method == "session/update" and session is not None:
            update = params.get("update")
            name = update.get("sessionUpdate") if isinstance(update, dict) else None
            if not isinstance(name, str) or not isinstance(update, dict):
                text = preview(update)
                return _event(where, kind, method=method, session=session, text=text, problem=True)
            text, data = self._update(session, name, update)
            return _event(
                where, "update", method=method, session=session, update=name, text=text, data=data
            )
        summarise = CALLS.get(method)
        if summarise is not None:
            text, data = summarise(params)
        else:  # the session is shown in its own column
            shown = message.get("params")
            if session is not None:
                shown = {k: v for k, v in params.items() if k != "sessionId"}
            text, data = preview(shown), {}
        if msg_id is not None:
            options = data.get("options", {}) if method == "session/request_permission" else {}
            self._pending[frame.dir][msg_id] = _Asked(method, frame.t, session, options)
        return _event(
            where, kind, method=method, msg_id=msg_id, session=session, text=text, data=data
        )

    def _update(self, session: str, name: str, update: Mapping[str, Any]) -> Summary:
        if name in acp.CHUNK_ROLES:
            return acp.block_text(update.get("content")), {}
        if name in ("tool_call", "tool_call_update"):
            return self._tool_call(session, name, update)
        summarise = UPDATES.get(name)
        if summarise is None:
            return preview({k: v for k, v in update.items() if k != "sessionUpdate"}), {}
        return summarise(update)

    def _tool_call(self, session: str, name: str, update: Mapping[str, Any]) -> Summary:
        tool_id = str(update.get("toolCallId"))
        key = (session, tool_id)
        before = self._status.get(key)
        status = update.get("status")
        if status is None and name == "tool_call":
            status = "pending"  # the schema's default for a new tool call
        if isinstance(status, str):
            self._status.pop(key, None)
            self._status[key] = status
            if len(self._status) > _STATUS_MEMORY:
                del self._status[next(iter(self._status))]
        title, kind = update.get("title"), update.get("kind")
        change = f"{before} → {status}" if before and status and before != status else status
        content = acp.tool_content_text(update.get("content"))
        text = acp.join_nonempty(
            [
                tool_id,
                title if isinstance(title, str) else "",
                f"({kind})" if isinstance(kind, str) else "",
                change if isinstance(change, str) else "",
            ],
            " ",
        )
        if content:
            text += "\n" + shorten(content, 400)
        data = {"toolCallId": tool_id, "title": title, "toolKind": kind, "status": status}
        if before is not None:
            data["previousStatus"] = before
        return text, {k: v for k, v in data.items() if v is not None}


_Where = tuple[int, int, float, str]  # line, seq, t, dir


def _event(
    where: _Where,
    kind: str,
    *,
    method: str | None = None,
    msg_id: RequestId | None = None,
    session: str | None = None,
    update: str | None = None,
    latency: float | None = None,
    text: str = "",
    data: Mapping[str, Any] | None = None,
    problem: bool = False,
) -> Event:
    line, seq, t, direction = where
    return Event(
        line, kind, seq, t, direction, method, msg_id, session, update, latency, text,
        data or {}, problem,
    )  # fmt: skip


def _other(direction: Direction) -> Direction:
    if direction is Direction.CLIENT_TO_AGENT:
        return Direction.AGENT_TO_CLIENT
    return Direction.CLIENT_TO_AGENT
