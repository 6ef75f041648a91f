"""``acp-tap show``: filter timeline events, join streamed chunks, render text or JSON. Pure.

The pipeline is ``records → Timeline → Filter → join_chunks → render``; every stage is a
generator holding at most one run of chunks, so memory stays flat however long the
cassette.
"""

from __future__ import annotations

import fnmatch
import json
import re
from collections.abc import Iterable, Iterator

import attrs

from acp_tap.cassette.model import Record
from acp_tap.inspect import acp
from acp_tap.inspect.timeline import Event, Timeline

JOIN_LIMIT = 1 << 20
"""Characters of streamed text joined into one event at most (the rest starts a new one)."""
_HELD_LIMIT = 1000  # stderr lines held back while a run of chunks is being joined

DIRECTIONS = ("c2a", "a2c", "err")
ARROWS = {"c2a": "→", "a2c": "←", "err": "!", None: "■"}

_RESET = "\x1b[0m"
_STYLES = {
    "c2a": "\x1b[36m",  # cyan
    "a2c": "\x1b[32m",  # green
    "err": "\x1b[2m",  # dim
    "frame": "\x1b[1m",  # bold: header and footer
    "method": "\x1b[1m",
    "latency": "\x1b[33m",  # yellow
    "problem": "\x1b[31;1m",  # bold red
    "thought": "\x1b[2;3m",  # dim italic
    "session": "\x1b[35m",  # magenta
}


@attrs.frozen
class Filter:
    """Which events to keep: by direction, method glob and session (all must match)."""

    dirs: frozenset[str] = frozenset()
    methods: tuple[str, ...] = ()  # globs on the method or the session/update kind
    session: str | None = None  # a session id or a prefix of one

    @property
    def active(self) -> bool:
        """Whether anything is filtered out."""
        return bool(self.dirs or self.methods or self.session)

    def keeps(self, event: Event) -> bool:
        """Whether ``event`` passes every filter given."""
        if event.dir is None:  # header and footer frame the whole recording
            return not self.active
        if self.dirs and event.dir not in self.dirs:
            return False
        if self.session is not None and not (event.session or "").startswith(self.session):
            return False
        if self.methods:
            names = [n for n in (event.method, event.update) if n]
            if event.kind in ("stderr", "fault"):
                names.append(event.kind)
            return any(fnmatch.fnmatchcase(n, g) for n in names for g in self.methods)
        return True


EVERYTHING = Filter()
"""The filter that keeps every event."""


def timeline(records: Iterable[tuple[int, Record]], keep: Filter = EVERYTHING) -> Iterator[Event]:
    """The events of a cassette, filtered, with streamed chunks joined."""
    events = Timeline()
    selected = (e for e in (events.feed(line, r) for line, r in records) if keep.keeps(e))
    return join_chunks(selected)


def join_chunks(events: Iterable[Event]) -> Iterator[Event]:
    """Join consecutive text chunks of one session and kind into one event.

    Stderr lines that arrive while an agent is streaming are held back and shown after the
    joined text (each keeps its own time), so logging does not cut a message into pieces.
    """
    first: Event | None = None
    parts: list[str] = []
    last_seq: int | None = None
    size = 0
    held: list[Event] = []
    for event in events:
        if first is not None:
            if _continues(first, event) and size < JOIN_LIMIT:
                parts.append(event.text)
                size += len(event.text)
                last_seq = event.seq
                continue
            if event.kind == "stderr" and len(held) < _HELD_LIMIT:
                held.append(event)
                continue
            yield _joined(first, parts, last_seq)
            yield from held
            first, parts, held = None, [], []
        if event.kind == "update" and event.update in acp.CHUNK_ROLES:
            first, parts, last_seq, size = event, [event.text], event.seq, len(event.text)
        else:
            yield event
    if first is not None:
        yield _joined(first, parts, last_seq)
        yield from held


def _continues(first: Event, event: Event) -> bool:
    return (
        event.kind == "update"
        and event.update == first.update
        and event.session == first.session
        and event.dir == first.dir
    )


def _joined(first: Event, parts: list[str], last_seq: int | None) -> Event:
    if len(parts) == 1:
        return attrs.evolve(first, data={"chunks": 1})
    data = {"chunks": len(parts), "lastSeq": last_seq}
    return attrs.evolve(first, text="".join(parts), data=data)


def to_json_line(event: Event) -> str:
    """One compact JSON object per event (for ``--json``)."""
    return json.dumps(event.to_json(), ensure_ascii=False, separators=(",", ":"))


_CONTROL = re.compile("[\x00-\x08\x0b-\x1f\x7f-\x9f\u200e\u200f\u202a-\u202e\u2066-\u2069]")
"""What a terminal would act on rather than show: C0 and C1 controls but tab and newline
(escape sequences, carriage return, backspace, bell) and the bidirectional overrides."""


def _escape(match: re.Match[str]) -> str:
    char = match.group()
    if char == "\r":
        return "\\r"
    return f"\\x{ord(char):02x}" if ord(char) < 0x100 else f"\\u{ord(char):04x}"


def visible(text: str) -> str:
    """``text`` with the characters a terminal would act on written as escapes (``\\x1b``)."""
    return _CONTROL.sub(_escape, text) if _CONTROL.search(text) else text


_SEQ_WIDTH = 6  # "#12345"


def render(event: Event, colour: bool = False) -> str:
    """A readable block for one event: frame number, time, arrow, label, then text (further
    lines indented). Recorded text never reaches the terminal raw (see :func:`visible`)."""

    def paint(style: str | None, text: str) -> str:
        return f"{_STYLES[style]}{text}{_RESET}" if colour and style and text else text

    number = f"#{event.seq}" if event.seq is not None else ""
    when = f"{event.t:9.3f}" if event.t is not None else " " * 9
    head = f"{number:>{_SEQ_WIDTH}} {when} {ARROWS.get(event.dir, '?')} "
    first = paint("problem" if event.problem else event.dir or "frame", head)
    first += paint("method", visible(_label(event)))
    if event.session:
        first += " " + paint("session", f"[{visible(_short(event.session))}]")
    if event.latency is not None:
        first += " " + paint("latency", f"+{event.latency * 1000:.1f}ms")
    if not event.text:
        return first
    style = "problem" if event.problem else None
    if event.update == "agent_thought_chunk":
        style = "thought"
    lines = [visible(line) for line in event.text.split("\n")]
    indent = " " * _TEXT_COLUMN
    rest = [indent + paint(style, line) for line in lines[1:]]
    return "\n".join([f"{first}  {paint(style, lines[0])}", *rest])


def render_more(event: Event, colour: bool = False) -> str:
    """More text of a streamed run whose first chunk :func:`render` began (for a live view)."""
    style = "thought" if event.update == "agent_thought_chunk" else None
    lines = [visible(line) for line in event.text.split("\n")]
    if colour and style:
        lines = [f"{_STYLES[style]}{line}{_RESET}" if line else line for line in lines]
    return ("\n" + " " * _TEXT_COLUMN).join(lines)


_TEXT_COLUMN = _SEQ_WIDTH + 1 + 9 + 1 + 1 + 1 + 2
"""Where render puts further lines of an event's text: under the label, past frame, time, arrow."""


_PLAIN_LABELS = {
    "header": "recording",
    "footer": "exit",
    "stderr": "stderr",
    "invalid": "invalid",
    "fault": "⚡ injected",
}


def _label(event: Event) -> str:
    plain = _PLAIN_LABELS.get(event.kind)
    if plain is not None:
        return plain
    if event.kind == "update":
        role = acp.CHUNK_ROLES.get(event.update or "")
        if role is None:
            return str(event.update)
        chunks = event.data.get("chunks", 1)
        last = event.data.get("lastSeq")
        return f"{role} ({chunks} chunks, to #{last})" if chunks > 1 else role
    ident = f" id={_short(str(event.id))}" if event.id is not None else ""
    if event.kind in ("result", "error"):
        return f"{event.method or '(unknown request)'}{ident} {event.kind}"
    return f"{event.method}{ident}"


def _short(session: str) -> str:
    return session if len(session) <= 12 else session[:8] + "…"
