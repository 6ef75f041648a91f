"""The recording's framing thread: every chunk the relay forwarded becomes cassette records.

The relay thread moves bytes: it hands each chunk it forwarded (with the time it was
read) to :class:`Framing`, whose thread frames it (:class:`~acp_tap.cassette.recorder.
Recorder`: classify, track, redact) and passes the batches to the cassette writer's
thread. Framing costs more CPU than relaying, so on two cores this is what lets the proxy
keep up with socat (``tools/bench_record.py``); the native framing releases the GIL while
it scans a long chunk.

Memory stays bounded: past :data:`FRAMING_BUDGET` bytes not yet framed, the relay waits;
the framing thread in turn waits for the disk (:meth:`CassetteWriter.wait_for_room`), and
only a disk stalled for ``writer.STALL`` seconds makes the writer drop frames. If framing
itself makes no progress for :data:`FRAMING_STALL` seconds (a bug), the relay stops
waiting: the recording ends there and the session goes on.
"""

from __future__ import annotations

import time
import traceback
from collections.abc import Callable, Iterable, Sequence
from typing import Any

import attrs

from acp_tap.cassette.handoff import StepThread
from acp_tap.cassette.model import Direction
from acp_tap.cassette.recorder import Batch, Recorder
from acp_tap.cassette.writer import CassetteWriter
from acp_tap.record_report import LineCount

FRAMING_BUDGET = 4 << 20
"""Bytes relayed and not yet framed beyond which the relay waits for the framing thread."""

INLINE = 1 << 14
"""A chunk shorter than this is framed in the relay's thread while the framing thread is
idle: a ping-pong of small messages costs less that way than handing each over (the
thread's wake-ups, and the GIL changing hands, added tens of microseconds to the round
trip's tail)."""

FRAMING_STALL = 30.0
"""Seconds without framing progress after which the relay stops waiting and recording.
Longer than any one step should take (a huge line decoded and redacted takes seconds), and
than the framing thread's own wait for a stalled disk (``writer.STALL``)."""

_REPORT = "Please report this bug with the agent's name and this message."

FaultRecords = Callable[[Sequence[Any], Direction, int, int, int], Iterable[Batch]]
"""The fault records of the faults a chunk fired: (fired, direction, the sequence number
and the direction's frame count before the chunk, the sequence number after it)."""


@attrs.define(eq=False)
class Framing:
    """Frames what the relay forwarded, in the order it was read: in a thread of its own,
    or (a chunk under :data:`INLINE` bytes while that thread is idle) in the relay's."""

    recorder: Recorder
    writer: CassetteWriter
    started: float
    """The ``time.monotonic()`` the cassette's times count from."""
    fault_records: FaultRecords | None = None
    unframed: LineCount = attrs.field(factory=LineCount)
    """Lines not framed because the cassette could not be written (framing thread)."""
    unqueued: LineCount = attrs.field(factory=LineCount)
    """Lines not framed because the framing thread was stuck (relay thread)."""
    _thread: StepThread = attrs.field(
        factory=lambda: StepThread.start("acp-tap-framing", FRAMING_BUDGET)
    )
    _stuck: bool = False

    def now(self) -> float:
        return time.monotonic() - self.started

    def lines_not_framed(self, direction: Direction) -> int:
        """Lines of ``direction`` that are not in the cassette's frames (see the footer)."""
        return self.unframed.lines[direction] + self.unqueued.lines[direction]

    def chunk(self, direction: Direction, chunk: bytes, fired: Sequence[Any] = ()) -> None:
        """Frame ``chunk`` (relay thread; it may wait for room)."""
        self._put(self.recorder.feed, direction, (chunk,), fired, len(chunk))

    def end(self, direction: Direction, fired: Sequence[Any] = ()) -> None:
        """Frame the end of ``direction``: its unterminated last line, if any."""
        self._put(self.recorder.close, direction, (), fired, 0)

    def close(self, timeout: float) -> bool:
        """Frame what was handed over, and the end of every stream (once the relay has
        stopped); False if framing did not finish within ``timeout`` seconds."""
        for direction in Direction:
            self.end(direction)
        return self._thread.close(timeout)

    def _put(
        self,
        step: Callable[..., Batch],
        direction: Direction,
        chunk: tuple[bytes, ...],
        fired: Sequence[Any],
        size: int,
    ) -> None:
        if self._stuck:
            self.unqueued.count(direction, *chunk)
            return
        now = self.now()
        if size < INLINE and self._thread.idle():  # in order: nothing is queued or running
            self._frame(step, direction, chunk, now, fired)
            return
        self._thread.put(lambda: self._frame(step, direction, chunk, now, fired), size)
        budget = self._thread.budget
        if not budget.has_room() and not budget.wait_for_room(FRAMING_STALL):
            self._stuck = True
            self.writer.fail(
                f"recording stopped: framing made no progress for {FRAMING_STALL:g} s while "
                "the relay waited for it to make room; the session goes on, but the cassette "
                f"ends here, without a footer. {_REPORT}"
            )

    def _frame(
        self,
        step: Callable[..., Batch],
        direction: Direction,
        chunk: tuple[bytes, ...],
        now: float,
        fired: Sequence[Any],
    ) -> None:
        """``step(direction, *chunk, now)`` into the cassette, while it can still be
        written (framing thread). A failure of the recorder (a bug) costs the recording,
        never the session."""
        writer, recorder = self.writer, self.recorder
        if writer.error is not None:  # lines are still counted, cheaply, so the report is true
            self.unframed.count(direction, *chunk)
            return
        seq, count = recorder.seq, recorder.counts[direction]
        try:
            writer.put(step(direction, *chunk, now))
            if fired and self.fault_records is not None:
                for batch in self.fault_records(fired, direction, seq, count, recorder.seq):
                    writer.put(batch)
        except Exception as exc:  # noqa: BLE001 - see the docstring
            writer.fail(self._failure(exc, direction))
        if not writer.has_room():
            writer.wait_for_room()

    def _failure(self, exc: Exception, direction: Direction) -> str:
        """What to say when the recorder failed."""
        where = traceback.extract_tb(exc.__traceback__)[-1]
        return (
            f"recording stopped near frame {self.recorder.seq + 1} ({direction.value}): "
            f"{type(exc).__name__}: {exc} at {where.filename}:{where.lineno}; the session goes "
            f"on, but the cassette ends here, without a footer. {_REPORT}"
        )
