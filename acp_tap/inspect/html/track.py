"""Fold one cassette into what the HTML page draws: frames as columns, and spans. Pure.

Frames become parallel columns of small integers (one entry per frame, in cassette
order), so 100k frames cost a few bytes each; their content is not here but in the
page's frame chunks (:mod:`acp_tap.inspect.html.embed`), read by the page on demand.
Spans refer to frames by their index in the columns (0-based), never by copying them:

- ``requests``: every request with its response (latency, error) — the page draws the
  agent's requests and the client's setup calls as spans, prompts as turns;
- ``turns``: each ``session/prompt`` (or ``session/load`` replay) from request to
  response, with its stop reason, error and cancel;
- ``tools``: each tool call from ``tool_call`` to its last ``tool_call_update``, with every
  status and every frame that mentioned it;
- ``permissions``: each ``session/request_permission``, its options and the one chosen.

Per-frame classification comes from :class:`acp_tap.inspect.timeline.Timeline`, so the
page and ``acp-tap show`` name every frame alike.
"""

from __future__ import annotations

from typing import Any

import attrs

from acp_tap.cassette.model import Direction, Footer, Frame, Header, Record, converter
from acp_tap.inspect import acp
from acp_tap.inspect.summary import shorten
from acp_tap.inspect.timeline import Event, Timeline
from acp_tap.wire.jsonrpc import RequestId

KINDS = ("request", "notification", "result", "error", "update", "stderr", "invalid")
"""Frame kinds, as :class:`~acp_tap.inspect.timeline.Event` names them; the ``kind``
column holds indices into this tuple."""

DIRS = tuple(d.value for d in Direction)
"""Directions; the ``dir`` column holds indices into this tuple."""

TEXT_LIMIT = 400
"""Characters kept of a title, an option name or an error message."""

_KIND_CODES = {k: i for i, k in enumerate(KINDS)}
_DIR_CODES = {d: i for i, d in enumerate(DIRS)}
_RequestKey = tuple[str, bool, RequestId]  # direction of the request, id is a string, id


@attrs.define(eq=False)
class TrackBuilder:
    """Feed ``(line, record)`` pairs in cassette order; ``model()`` is the page's track."""

    name: str
    label: str = ""
    header: dict[str, Any] | None = None
    footer: dict[str, Any] | None = None
    warnings: list[str] = attrs.field(factory=list)
    _timeline: Timeline = attrs.field(factory=Timeline)
    _columns: dict[str, list[int]] = attrs.field(
        factory=lambda: {c: [] for c in ("seq", "t", "dir", "kind", "name", "session")}
    )
    _last: tuple[int, int] = (0, 0)  # seq and microseconds of the previous frame
    _names: dict[tuple[str | None, str | None], int] = attrs.field(factory=dict)
    _sessions: dict[str, int] = attrs.field(factory=dict)
    _problems: list[int] = attrs.field(factory=list)
    _requests: list[dict[str, Any]] = attrs.field(factory=list)
    _turns: list[dict[str, Any]] = attrs.field(factory=list)
    _tools: list[dict[str, Any]] = attrs.field(factory=list)
    _permissions: list[dict[str, Any]] = attrs.field(factory=list)
    _pending: dict[_RequestKey, int] = attrs.field(factory=dict)  # -> request index
    _open_turns: dict[int, int] = attrs.field(factory=dict)  # session -> turn index
    _turn_of_request: dict[int, int] = attrs.field(factory=dict)
    _tool_of: dict[tuple[int, str], int] = attrs.field(factory=dict)
    _permission_of: dict[int, int] = attrs.field(factory=dict)  # request -> permission
    _turn_counts: dict[int, int] = attrs.field(factory=dict)

    @property
    def frames(self) -> int:
        """Frames fed so far."""
        return len(self._columns["seq"])

    def feed(self, line: int, record: Record) -> None:
        """Fold in one record."""
        if isinstance(record, Header):
            self.header = converter.unstructure(record)
        elif isinstance(record, Footer):
            self.footer = converter.unstructure(record)
        elif isinstance(record, Frame):
            self._frame(record, self._timeline.feed(line, record))
        else:  # a fault injected while recording: `acp-tap show` lists it
            self.warnings.append(
                f"line {line}: fault {record.fault} ({record.kind}) injected at frame #{record.on}"
            )

    def _frame(self, frame: Frame, event: Event) -> None:
        index = self.frames
        micros = round(frame.t * 1_000_000)
        last_seq, last_micros = self._last
        self._last = (frame.seq, micros)
        session = self._session(event.session)
        columns = self._columns
        columns["seq"].append(frame.seq - last_seq)
        columns["t"].append(micros - last_micros)
        columns["dir"].append(_DIR_CODES[frame.dir.value])
        columns["kind"].append(_KIND_CODES[event.kind])
        columns["name"].append(self._name(event.method, event.update))
        columns["session"].append(session)
        if event.problem:
            self._problems.append(index)
        if event.kind == "request" and event.method is not None and event.id is not None:
            self._request(index, frame, event, session)
        elif event.kind in ("result", "error") and event.id is not None:
            self._response(index, frame, event)
        elif event.kind == "notification" and event.method == "session/cancel":
            turn = self._open_turns.get(session)
            if turn is not None and self._turns[turn]["cancel"] is None:
                self._turns[turn]["cancel"] = index
        elif event.update in ("tool_call", "tool_call_update"):
            self._tool(index, event, session)

    def _session(self, session: str | None) -> int:
        if session is None:
            return -1
        return self._sessions.setdefault(session, len(self._sessions))

    def _name(self, method: str | None, update: str | None) -> int:
        if method is None and update is None:
            return -1
        return self._names.setdefault((method, update), len(self._names))

    def _request(self, index: int, frame: Frame, event: Event, session: int) -> None:
        assert event.method is not None and event.id is not None
        number = len(self._requests)
        self._requests.append(
            {"dir": frame.dir.value, "method": event.method, "session": session, "req": index}
        )
        self._pending[(frame.dir.value, isinstance(event.id, str), event.id)] = number
        c2a = frame.dir is Direction.CLIENT_TO_AGENT
        if c2a and event.method in ("session/prompt", "session/load") and session >= 0:
            self._start_turn(index, number, event.method, session)
        elif event.method == "session/request_permission":
            self._permission_of[number] = len(self._permissions)
            self._permissions.append(_permission(frame, number))

    def _start_turn(self, index: int, request: int, method: str, session: int) -> None:
        count = self._turn_counts.get(session, 0)
        self._turn_counts[session] = count + 1
        turn = len(self._turns)
        origin = "prompt" if method == "session/prompt" else "load"
        self._turns.append(
            {
                "session": session,
                "n": count,
                "origin": origin,
                "start": index,
                "end": None,
                "stop": None,
                "error": None,
                "cancel": None,
            }
        )
        self._open_turns[session] = self._turn_of_request[request] = turn

    def _response(self, index: int, frame: Frame, event: Event) -> None:
        assert event.id is not None
        asker = "a2c" if frame.dir is Direction.CLIENT_TO_AGENT else "c2a"
        number = self._pending.pop((asker, isinstance(event.id, str), event.id), None)
        if number is None:
            return
        request = self._requests[number]
        request["res"] = index
        error = shorten(event.text, TEXT_LIMIT) if event.kind == "error" else None
        if error is not None:
            request["error"] = error
        turn = self._turn_of_request.pop(number, None)
        if turn is not None:
            self._end_turn(turn, index, event, error)
        permission = self._permission_of.pop(number, None)
        if permission is not None:
            outcome = self._permissions[permission]
            outcome["outcome"] = "error" if error else event.data.get("outcome")
            chosen = event.data.get("optionId")
            if isinstance(chosen, str):
                outcome["chosen"] = chosen

    def _end_turn(self, turn: int, index: int, event: Event, error: str | None) -> None:
        building = self._turns[turn]
        building["end"] = index
        building["error"] = error
        stop = event.data.get("stopReason")
        building["stop"] = stop if isinstance(stop, str) else None
        if self._open_turns.get(building["session"]) == turn:
            del self._open_turns[building["session"]]

    def _tool(self, index: int, event: Event, session: int) -> None:
        tool_id = str(event.data.get("toolCallId"))
        key = (session, tool_id)
        number = self._tool_of.get(key)
        if number is None:
            number = self._tool_of[key] = len(self._tools)
            self._tools.append(
                {
                    "session": session,
                    "turn": self._open_turns.get(session),
                    "id": tool_id,
                    "title": "",
                    "kind": None,
                    "statuses": [],
                    "frames": [],
                }
            )
        tool = self._tools[number]
        tool["frames"].append(index)
        title, kind, status = (event.data.get(k) for k in ("title", "toolKind", "status"))
        if isinstance(title, str):
            tool["title"] = shorten(title, TEXT_LIMIT)
        if isinstance(kind, str):
            tool["kind"] = kind
        statuses = tool["statuses"]
        if isinstance(status, str) and (not statuses or statuses[-1] != status):
            statuses.append(status)

    def model(self) -> dict[str, Any]:
        """The track as the page reads it (see the module docstring)."""
        return {
            "name": self.name,
            "label": self.label,
            "header": self.header,
            "footer": self.footer,
            "warnings": self.warnings,
            "kinds": KINDS,
            "dirs": DIRS,
            "names": list(self._names),
            "sessions": list(self._sessions),
            "frames": self._columns,
            "problems": self._problems,
            "requests": self._requests,
            "turns": self._turns,
            "tools": self._tools,
            "permissions": self._permissions,
        }


def _permission(frame: Frame, request: int) -> dict[str, Any]:
    params = acp.params_of(frame.message())
    tool = params.get("toolCall")
    tool_id = tool.get("toolCallId") if isinstance(tool, dict) else None
    listed = params.get("options")
    options = [
        [shorten(str(o.get(k)), TEXT_LIMIT) for k in ("optionId", "name", "kind")]
        for o in (listed if isinstance(listed, list) else ())
        if isinstance(o, dict)
    ]
    return {
        "request": request,
        "tool": tool_id if isinstance(tool_id, str) else None,
        "options": options,
        "outcome": None,
        "chosen": None,
    }
