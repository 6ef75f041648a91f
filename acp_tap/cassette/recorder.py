"""Turn the bytes relayed on each stream into cassette lines. Pure; no I/O.

The relay forwards a chunk first and then feeds a copy here. Lines are classified
(JSON, text, binary), requests are tracked so a response knows which method it
answers, and redaction rules are applied to the cassette copy only. What comes out is a
:class:`Batch` per chunk: the encoded cassette lines of the frames that chunk completed,
ready for one ``writev``.

This is the proxy's hot loop, so the common case (runs of notifications no redaction
rule touches) is framed many lines per call by :mod:`acp_tap.cassette.plainlines`
(native when built), with a frame head prefix computed once per chunk; every other line
is decoded and decided here, one at a time. A line longer than :data:`LONG_LINE` is
checked in place as its pieces arrive and written from those pieces, never joined or
decoded whole (see :mod:`acp_tap.cassette.longline`); only if that check is unsure (or
the line must be redacted) is it joined and decided the slow way.
"""

from __future__ import annotations

import re
from typing import Any, Final

import attrs

from acp_tap.cassette.classify import LONG_LINE, classify, classify_text
from acp_tap.cassette.codec import dumps_compact, encode_parts, loads_strict, scan_json
from acp_tap.cassette.longline import LongLine
from acp_tap.cassette.model import Direction, Eol, Frame, Payload
from acp_tap.cassette.plainlines import (
    FramePlainLines,
    filed_under,
    frame_plain_lines,
    method_key,
)
from acp_tap.redaction import PLACEHOLDER, Redactor, long_line_might_hold_secret, redact_frame
from acp_tap.secrets.prefilter import might_hold_secret
from acp_tap.wire.jsonrpc import INVALID, Envelope, Kind, envelope
from acp_tap.wire.jsonscan import Buffer
from acp_tap.wire.pending import PendingRequests

OWN_BUFFER = 1 << 16
"""A line at least this long is written from its own buffer (never copied into a batch)."""

MAX_METHODS = 256
"""Methods whose redaction decision is remembered (per direction)."""

_DIR_BYTES = {d: d.value.encode() for d in Direction}
_CR, _NL = b"\r", b"\n"
_TAIL: Final = b"}\n"
_MSG: Final = b',"msg":'
_WHOLLY_REDACTED: Final = dumps_compact(PLACEHOLDER)
_OBJECT = re.compile(rb"[ \t\n]*+\{")


@attrs.frozen
class Batch:
    """Cassette lines for ``frames`` frames: ``buffers`` concatenated, ``size`` bytes in all."""

    frames: int
    buffers: tuple[Buffer, ...]
    size: int


EMPTY = Batch(0, (), 0)


def _mid(now: float, direction: Direction) -> bytes:
    """The part of a frame's head shared by the lines of one chunk: ``,"t":T,"dir":"D"``."""
    return b',"t":%.6f,"dir":"%s"' % (round(now, 6), _DIR_BYTES[direction])


def _concat(first: Batch, second: Batch) -> Batch:
    if not second.frames:
        return first
    return Batch(
        first.frames + second.frames, first.buffers + second.buffers, first.size + second.size
    )


@attrs.define(eq=False)
class Recorder:
    """Frames the three streams and numbers their lines with one shared sequence."""

    redactor: Redactor | None = None
    seq: int = 0
    counts: dict[Direction, int] = attrs.field(factory=lambda: dict.fromkeys(Direction, 0))
    _partial: dict[Direction, list[bytes]] = attrs.field(
        factory=lambda: {d: [] for d in Direction}
    )  # the pieces of each stream's unterminated line, joined once it ends
    _partial_size: dict[Direction, int] = attrs.field(factory=lambda: dict.fromkeys(Direction, 0))
    _long: dict[Direction, LongLine | None] = attrs.field(
        factory=lambda: dict.fromkeys(Direction)
    )  # an unterminated line past LONG_LINE: checked as it comes, never joined
    _pending: PendingRequests = attrs.field(factory=PendingRequests)
    _plain: dict[Direction, dict[str | None, bool]] = attrs.field(
        factory=lambda: {d: {} for d in Direction}
    )  # per method: whether its notifications are stored verbatim (see _verbatim)
    _plain_keys: dict[Direction, set[bytes | None]] = attrs.field(
        factory=lambda: {d: set() for d in Direction}
    )  # the methods cached as plain, as frame_plain_lines takes them
    frame_plain: FramePlainLines = attrs.field(default=frame_plain_lines, kw_only=True)
    """The fast path (native when built); tests pass the pure-Python reference."""
    _secrets: bool = attrs.field(init=False)
    """Whether lines are checked for secrets of the default rules (by the prefilter)."""

    @_secrets.default
    def _secrets_default(self) -> bool:
        return self.redactor is not None and self.redactor.rules.defaults

    def feed(self, direction: Direction, chunk: bytes, now: float) -> Batch:
        """The cassette lines for the lines ``chunk`` completes on ``direction``."""
        long = self._long[direction]
        if long is not None:
            end = chunk.find(_NL)
            long.add(chunk, 0, len(chunk) if end < 0 else end, ascii_chunk=chunk.isascii())
            if end < 0:
                return EMPTY
            self._long[direction] = None
            return _concat(
                self._encode_long(direction, long, now), self.feed(direction, chunk[end + 1 :], now)
            )
        partial = self._partial[direction]
        last = chunk.rfind(_NL)
        if last < 0:
            if chunk:
                partial.append(chunk)
                self._partial_size[direction] += len(chunk)
                self._check_long(direction)
            return EMPTY
        first, start = None, 0
        if partial:
            start = chunk.find(_NL) + 1
            partial.append(chunk[: start - 1])
            first = b"".join(partial)
            partial.clear()
        rest = chunk[last + 1 :]
        self._partial_size[direction] = len(rest)
        if rest:
            partial.append(rest)
            self._check_long(direction)
        return self._encode(direction, now, Eol.LF, first, chunk=chunk, start=start, end=last + 1)

    def close(self, direction: Direction, now: float) -> Batch:
        """End of ``direction``: the cassette line for its unterminated last line, if any."""
        long, partial = self._long[direction], self._partial[direction]
        self._long[direction] = None
        pieces = long.pieces if long is not None else partial
        if not pieces:
            return EMPTY
        line = b"".join(pieces)
        partial.clear()
        self._partial_size[direction] = 0
        return self._encode(direction, now, Eol.NONE, line)

    def _check_long(self, direction: Direction) -> None:
        """Once an unterminated line passes LONG_LINE, check it piece by piece from now on."""
        if self._partial_size[direction] <= LONG_LINE or direction is Direction.AGENT_STDERR:
            return
        long = LongLine()
        for piece in self._partial[direction]:
            long.add(piece, 0, len(piece), ascii_chunk=piece.isascii())
        self._partial[direction].clear()
        self._partial_size[direction] = 0
        self._long[direction] = long

    def _encode_long(self, direction: Direction, long: LongLine, now: float) -> Batch:
        """The frame of a long line: its pieces written as they are, when certainly JSON."""
        found = long.finish()
        if found is None:  # unsure: decide on the joined line, as for any line
            return self._encode(direction, now, Eol.LF, b"".join(long.pieces))
        seq = self.seq = self.seq + 1
        self.counts[direction] += 1
        mid = _mid(now, direction)
        method, answers = self._route(direction, None, found)
        if self._long_may_hold_secret(direction, long, method, answers):
            line = b"".join(long.pieces)
            raw, redacted = self._redact(direction, line, None, method, answers)
            head, rest, payload, tail = encode_parts(seq, mid, raw, Payload.JSON, redacted=redacted)
            buffers: tuple[Buffer, ...] = (head + rest, payload, tail)
        else:
            buffers = (b'{"seq":%d%s,"msg":' % (seq, mid), *long.pieces, _TAIL)
        return Batch(1, buffers, sum(map(len, buffers)))

    def _long_may_hold_secret(
        self, direction: Direction, long: LongLine, method: str | None, answers: str | None
    ) -> bool:
        """Whether a long line checked in place must be joined and redacted."""
        redactor = self.redactor
        if redactor is None:
            return False
        if redactor.user_rules or redactor.places_may_apply(direction, method, answers):
            return True
        return self._secrets and long_line_might_hold_secret(long)

    def _encode(
        self,
        direction: Direction,
        now: float,
        eol: Eol,
        first: bytes | None,
        *,
        chunk: bytes = b"",
        start: int = 0,
        end: int = 0,
    ) -> Batch:
        """Encode ``first`` (if any), then the lines of ``chunk[start:end]``, as frames
        sharing one timestamp. Lines are given without their terminators (``eol``).
        """
        seq = self.seq
        mid = _mid(now, direction)
        head = mid + _MSG
        parts: list[bytes | bytearray] = []  # small pieces, joined into one buffer
        buffers: list[Buffer] = []
        fast = direction is not Direction.AGENT_STDERR and eol is Eol.LF
        plain = self._plain_keys[direction]
        pos, line = start, first
        while line is not None or pos < end:
            if line is None:
                if fast:  # the hot path: runs of lines stored as they are
                    framed, pos, count = self.frame_plain(
                        chunk, pos, end, seq, head, plain, LONG_LINE, self._secrets
                    )
                    if count:
                        seq += count
                        if len(framed) >= OWN_BUFFER:  # a buffer of its own: never copied
                            buffers += (b"".join(parts), framed) if parts else (framed,)
                            parts = []
                        else:
                            parts.append(framed)
                    if pos >= end:
                        break
                newline = chunk.index(_NL, pos, end)
                line, pos = chunk[pos:newline], newline + 1
            seq += 1
            pieces = self._line(direction, seq, mid, head, line, eol=eol, fast=fast)
            line = None
            if len(pieces[2]) >= OWN_BUFFER:  # written from where it is, not copied
                buffers += (b"".join([*parts, pieces[0], pieces[1]]), pieces[2])
                parts = [pieces[3]]
            else:
                parts += pieces
        if parts:
            buffers.append(b"".join(parts))
        count = seq - self.seq
        self.seq = seq
        self.counts[direction] += count
        return Batch(count, tuple(buffers), sum(map(len, buffers)))

    def _line(
        self,
        direction: Direction,
        seq: int,
        mid: bytes,
        head: bytes,
        line: bytes,
        *,
        eol: Eol,
        fast: bool,
    ) -> tuple[bytes, bytes, bytes | bytearray, bytes]:
        """One line's frame in four pieces (see :func:`encode_parts`)."""
        if fast and len(line) <= LONG_LINE and _CR not in line:
            try:
                value = scan_json(line.decode("utf-8"))
            except (UnicodeDecodeError, ValueError, RecursionError):
                return self._frame(direction, seq, mid, line, eol)
            if self._verbatim(direction, value, line):
                return (b'{"seq":%d' % seq, head, line, _TAIL)
            raw, redacted = self._json(direction, line, value, None)
            return encode_parts(seq, mid, raw, Payload.JSON, redacted=redacted)
        if eol is Eol.LF and line[-1:] == _CR:
            return self._frame(direction, seq, mid, line[:-1], Eol.CRLF)
        return self._frame(direction, seq, mid, line, eol)

    def _verbatim(self, direction: Direction, value: Any, line: bytes) -> bool:
        """Whether a decoded line is stored as it is: a notification (or not an object) no
        redaction rule can touch. Requests and responses (with an ``id``) say no: they are
        tracked by :meth:`_json`. Whether the method may be redacted is remembered per
        method; whether the line may hold a secret is asked of each line.
        """
        untracked, method = filed_under(value)
        if not untracked:
            return False
        cache = self._plain[direction]
        plain = cache.get(method)
        if plain is None:
            redactor = self.redactor
            plain = redactor is None or not (
                redactor.user_rules or redactor.places_may_apply(direction, method, None)
            )
            if len(cache) < MAX_METHODS:
                cache[method] = plain
                if plain:
                    self._plain_keys[direction].add(method_key(method))
        return plain and not (self._secrets and might_hold_secret(line))

    def _json(
        self,
        direction: Direction,
        line: bytes | bytearray,
        value: Any,
        env: Envelope | None,
    ) -> tuple[bytes | bytearray, tuple[str, ...]]:
        """Track a JSON line's request id and redact it: (bytes to store, redacted paths).

        ``value`` is the decoded line (None if it was too long to decode); ``env`` its
        envelope, or None to work it out from ``value``.
        """
        if value is None and env is not None and env.kind is Kind.INVALID and env.method is None:
            value = self._decode_if_needed(line)
        method, answers = self._route(direction, value, env)
        return self._redact(direction, line, value, method, answers)

    def _decode_if_needed(self, line: bytes | bytearray) -> Any:
        """Decode a line checked in place whose ``method`` is unknown, if redaction needs it.

        Only an object that is not a valid JSON-RPC message and was too big to leave a
        small skeleton gets here; its method (say ``session/new`` with ``"id": false``)
        decides what is redacted.
        """
        if self.redactor is None or not self.redactor.rules.active or not _OBJECT.match(line):
            return None
        try:
            return loads_strict(bytes(line))
        except (ValueError, RecursionError):
            return None

    def _route(
        self, direction: Direction, value: Any, env: Envelope | None
    ) -> tuple[str | None, str | None]:
        """Track a request or response: (its method, the method a response answers)."""
        method: str | None = None
        answers: str | None = None
        if type(value) is dict:
            found = value.get("method")  # also that of a request with an invalid id
            method = found if type(found) is str else None
            if env is None and "id" in value:
                env = envelope(value)
        if env is not None and env is not INVALID:
            answers = self._pending.track(direction, env)
            method = method or env.method
        return method, answers

    def _redact(
        self,
        direction: Direction,
        line: bytes | bytearray,
        value: Any,
        method: str | None,
        answers: str | None,
    ) -> tuple[bytes | bytearray, tuple[str, ...]]:
        """(bytes to store, redacted paths) for a JSON line, by :func:`redact_frame`."""
        redactor = self.redactor
        if redactor is None or not redactor.may_apply(direction, method, answers, line):
            return line, ()
        frame = Frame(0, 0.0, direction, line, Payload.JSON, parsed=value)
        try:
            redacted = redact_frame(redactor, frame, answers)
        except RecursionError:  # too deep to decode and redact: keep none of it
            return _WHOLLY_REDACTED, ("$",)
        return redacted.raw, redacted.redacted

    def _frame(
        self, direction: Direction, seq: int, mid: bytes, line: bytes, eol: Eol
    ) -> tuple[bytes, bytes, bytes | bytearray, bytes]:
        """Any line: classify, track, redact and encode it in four pieces (see encode_parts)."""
        stderr = direction is Direction.AGENT_STDERR
        kind = classify_text(line) if stderr else classify(line)
        raw: bytes | bytearray = line
        redacted: tuple[str, ...] = ()
        if kind.payload is Payload.JSON:
            raw, redacted = self._json(direction, line, kind.value, kind.envelope)
        elif self.redactor is not None:  # text and b64 lines get the patterns
            frame = redact_frame(self.redactor, Frame(0, 0.0, direction, line, kind.payload), None)
            raw, redacted = frame.raw, frame.redacted
        return encode_parts(seq, mid, raw, kind.payload, eol=eol, redacted=redacted)
