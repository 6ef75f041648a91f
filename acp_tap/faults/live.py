"""Faults on a live recording (``acp-tap record --fault``): a line-aware relay route.

An explicit exception to "never alter traffic", taken only when ``--fault`` is given: then
the agent's stdout and the client's stdin are relayed by :class:`FaultRoute` instead of a
plain :class:`~acp_tap.relay.Route`. It runs in the relay's thread, like the route it
replaces: it splits what it reads into lines, asks the :class:`FaultLayer` which faults
fire on each (counted in arrival order; ``p`` and ``jitter`` drawn from each line's
number in its stream, since its seq is only known once recorded), and forwards each
line as :func:`acp_tap.faults.effect.effect` says, holding output for delays and slice
gaps (the relay wakes up for it: :meth:`FaultRoute.next_due`). A direction without faults
of its own is forwarded chunk by chunk as usual and only watched (for request methods).

What the layer did is kept as :class:`Fired` values for the recorder, which writes them as
fault records after the frames they hit; ``crash``, ``hang`` and ``close`` are also told to
``on_end`` (the recording session ends the real agent, or keeps the client's output open).
"""

from __future__ import annotations

import collections
import time
from collections.abc import Callable
from typing import Any

import attrs

from acp_tap.cassette.codec import loads_strict
from acp_tap.cassette.model import Direction
from acp_tap.faults.effect import (
    End,
    Hold,
    Noise,
    Step,
    Write,
    effect,
    effective,
    error_response,
    hold_seconds,
)
from acp_tap.faults.select import Selector, Target
from acp_tap.faults.spec import Fault, FaultKind
from acp_tap.relay import Route
from acp_tap.wire.framing import LineSplitter
from acp_tap.wire.jsonrpc import envelope
from acp_tap.wire.pending import PendingRequests


@attrs.frozen
class Fired:
    """A fault that acted on line ``line`` of ``direction``, and what it sent instead."""

    direction: Direction
    line: int  # 1-based line number in its stream
    t: float  # time.monotonic() when it fired
    fault: Fault
    detail: dict[str, Any]


def detail(fault: Fault, line: bytes, seq: int, seed: int, error: bytes | None) -> dict[str, Any]:
    """The fault record's details: what the other side got (never the frame's own bytes)."""
    content = line.removesuffix(b"\n").removesuffix(b"\r")
    details: dict[FaultKind, Callable[[], dict[str, Any]]] = {
        FaultKind.DELAY: lambda: {"hold": round(hold_seconds(fault, seq, seed), 6)},
        FaultKind.SLICE: lambda: {"pieces": -(-len(line) // fault.size), "bytes": fault.size},
        FaultKind.CRASH: lambda: {"status": fault.status},
        FaultKind.DUPLICATE: lambda: {"copies": 2},
        FaultKind.FLOOD: lambda: {"copies": 1 + fault.count},
        FaultKind.GARBAGE: lambda: {"line": fault.text},
        FaultKind.CORRUPT: lambda: {"cut": len(content) // 2},
        FaultKind.ERROR: lambda: {"error": loads_strict(error)["error"]} if error else {},
        FaultKind.STDERR: lambda: {"lines": fault.count, "text": fault.text},
    }
    make = details.get(fault.kind)
    return make() if make is not None else {}


@attrs.define(eq=False)
class FaultLayer:
    """The faults of one recording, shared by its two fault routes (relay thread only)."""

    selector: Selector
    noise: Callable[[bytes], None]  # writes to the client's view of the agent's stderr
    on_end: Callable[[FaultKind, int], None]  # crash (status), hang, close
    clock: Callable[[], float] = time.monotonic
    fired: list[Fired] = attrs.field(factory=list)  # not yet written to the cassette
    _pending: PendingRequests = attrs.field(factory=PendingRequests)

    @classmethod
    def of(
        cls,
        faults: tuple[Fault, ...],
        seed: int,
        noise: Callable[[bytes], None],
        on_end: Callable[[FaultKind, int], None],
    ) -> FaultLayer:
        """The layer for ``faults``."""
        return cls(Selector.of(faults, seed), noise, on_end)

    def has_faults(self, direction: Direction) -> bool:
        """Whether any fault acts on ``direction``."""
        return any(fault.direction is direction for fault in self.selector.faults)

    def take(self, direction: Direction) -> list[Fired]:
        """The faults fired on ``direction`` since the last call."""
        taken = [f for f in self.fired if f.direction is direction]
        self.fired = [f for f in self.fired if f.direction is not direction]
        return taken

    def watch(self, direction: Direction, line: bytes | bytearray) -> tuple[Target, Any]:
        """Learn from a line (request ids and methods); its target, and its message."""
        try:
            message = loads_strict(bytes(line))
        except (ValueError, UnicodeDecodeError, RecursionError):
            return Target(0), None
        answered = self._pending.track(direction, envelope(message))
        return Target.of(0, message, answered), message

    def steps(
        self, direction: Direction, number: int, content: bytes, wire: bytes
    ) -> list[Step] | None:
        """What to send for line ``number`` of ``direction`` (None: the line as it is)."""
        where, message = self.watch(direction, content)
        where = attrs.evolve(where, seq=number)
        fired = self.selector.pick(where, direction)
        if not fired:
            return None
        seed = self.selector.seed
        request_id = message.get("id") if isinstance(message, dict) else None
        error = None
        if request_id is not None:
            error = lambda fault: error_response(request_id, fault)  # noqa: E731
        now = self.clock()
        for fault in effective(fired):
            sent = error(fault) if error is not None and fault.kind is FaultKind.ERROR else None
            if fault.kind is FaultKind.ERROR and sent is None:
                continue
            self.fired.append(
                Fired(direction, number, now, fault, detail(fault, wire, number, seed, sent))
            )
        return effect(fired, wire, seq=number, seed=seed, error=error)


@attrs.define(eq=False)
class FaultRoute(Route):
    """A relay route that forwards line by line, as the faults say (see the module)."""

    layer: FaultLayer = attrs.field(kw_only=True)
    faulty: bool = attrs.field(kw_only=True)  # this direction has faults of its own
    _splitter: LineSplitter = attrs.field(factory=LineSplitter)
    _held: collections.deque[tuple[float, Write | End]] = attrs.field(factory=collections.deque)
    _cursor: float = 0.0  # when the last held output goes out
    _lines: int = 0
    _stopped: bool = False  # after hang, close or crash: nothing more is forwarded
    _closing: bool = False  # the sink closes once the held output is out
    when_drained: Callable[[], None] | None = None  # called once no output is held

    @property
    def holding(self) -> float:
        """Seconds until the held output is all out (0: none is held)."""
        return max(0.0, self._cursor - self.layer.clock()) if self._held else 0.0

    def send(self, data: bytes) -> None:
        """A chunk read from the source: forward its lines as the faults say."""
        if not self.faulty:
            super().send(data)  # forwarded at once; the lines only teach request methods
            for line in self._splitter.feed(data):
                self._lines += 1
                self.layer.watch(self.direction, line.content)
            return
        for line in self._splitter.feed(data):
            self._line(bytes(line.content), line.eol.bytes)

    def read(self) -> bytes | None:
        """As :meth:`Route.read`; at the end, a last line without newline is forwarded too."""
        chunk = super().read()
        if chunk == b"":
            last = self._splitter.close()
            if last is not None and self.faulty:
                self._line(bytes(last.content), last.eol.bytes)
            self._close_when_done()
        return chunk

    def flush(self) -> None:
        """As :meth:`Route.flush`; after a crash or close, the sink closes once written."""
        super().flush()
        if self._closing:
            self._close_when_done()

    def cut(self) -> None:
        """Forward nothing more and close the sink now (the agent's stdin, after a crash);
        the source is still read, and recorded."""
        self._stopped = self._closing = True
        self._held.clear()
        self.backlog.clear()
        Route._close_sink(self)

    def next_due(self) -> float | None:
        """When the first held output goes out."""
        return self._held[0][0] if self._held else None

    def release(self, now: float) -> None:
        """Send the output whose time has come."""
        held = self._held
        while held and held[0][0] <= now:
            _, item = held.popleft()
            self._do(item)
        self._close_when_done()
        if not held and (drained := self.when_drained) is not None:
            self.when_drained = None
            drained()

    def _line(self, content: bytes, eol: bytes) -> None:
        self._lines += 1
        if self._stopped:
            return
        wire = content + eol
        steps = self.layer.steps(self.direction, self._lines, content, wire)
        if steps is None:
            steps = [Write(wire)]
        now = self.layer.clock()
        at = max(now, self._cursor)
        for step in steps:
            if isinstance(step, Hold):
                at += step.seconds
            elif isinstance(step, Noise):
                self.layer.noise(step.data)
            elif at <= now and not self._held:
                if self._do(step):
                    break
            else:
                self._held.append((at, step))
        self._cursor = at

    def _do(self, item: Write | End) -> bool:
        """Send or end now; whether the output ended."""
        if self._stopped:
            return True
        if isinstance(item, Write):
            Route.send(self, item.data)
            return False
        self._stopped = True
        self._held.clear()
        if item.kind is not FaultKind.HANG:  # crash, close: the client's end of file
            self._closing = True
            self._close_when_done()
        self.layer.on_end(item.kind, item.status)
        return True

    def _close_when_done(self) -> None:
        if (self._closing or self.source < 0) and not self._held and not self.backlog:
            self._close_sink()

    def _close_sink(self) -> None:
        if self._held or self._splitter.pending:
            return  # the held output first
        if self._stopped and not self._closing:
            return  # hung: the output stays open (the session closes it at the very end)
        super()._close_sink()

    def close(self) -> None:
        """At the end of the relay: what is still held is dropped; a hung sink stays open."""
        self._held.clear()
        super().close()
