"""The fake agent: runs a :class:`~acp_tap.replay.engine.ReplayEngine` over trio streams.

The shell only moves bytes and time: it splits the client's input into lines, feeds them
to the engine with the current time, and carries out the actions it returns. Output goes
through an unbounded queue to a writer task, so reading the client never waits on writing
to it (a client that writes a lot before reading cannot deadlock the replay). When the
client's output is a pipe or socket and the writer has nothing to do, an answer is written
at once, without blocking (:class:`_Direct`): one task switch less per round trip; what
the pipe cannot take goes to the writer. A client
line is held whole until its newline, up to ``max_line`` bytes (never less than the longest
recorded client line): a longer one is reported as a mismatch and ends the replay (exit 1).
"""

from __future__ import annotations

import contextlib
import math
import os
from collections.abc import Awaitable, Callable, Iterable

import attrs
import trio

from acp_tap.cassette.inputs import DEFAULT_MAX_LINE
from acp_tap.replay.actions import (
    Action,
    CloseOutput,
    Exit,
    Injected,
    Mismatch,
    Pause,
    Report,
    ReportKind,
    Send,
    Stderr,
)
from acp_tap.replay.engine import ReplayEngine
from acp_tap.wire.framing import LineSplitter

CHUNK = 1 << 20
"""Bytes read from the client at most at a time."""


@attrs.define(eq=False)
class _Direct:
    """Writing answers to the client's output at once, while the writer task is idle."""

    fd: int | None  # a non-blocking pipe or socket; None: always through the writer
    idle: bool = False  # the writer waits for its next action, with none queued

    def take(self, action: Action) -> Action | None:
        """Carry out ``action`` now if it is a Send and the writer is idle; what is left for
        the writer (None: nothing)."""
        if not (isinstance(action, Send) and self.idle and self.fd is not None):
            return action
        try:
            written = os.write(self.fd, action.data)
        except BlockingIOError:  # full: the writer waits for room
            return action
        except OSError:  # the client's end is gone: from now on the writer handles it all
            self.fd = None
            return action
        return Send(action.data[written:]) if written < len(action.data) else None

    async def next(self, queue: trio.MemoryReceiveChannel[Action]) -> Action | None:
        """The writer's next action (None: the queue has ended), idle while it waits."""
        self.idle = queue.statistics().current_buffer_used == 0
        try:
            action = await queue.receive()
        except trio.EndOfChannel:
            return None
        self.idle = False
        if isinstance(action, CloseOutput | Exit):
            self.fd = None  # the output closes: never written directly again
        return action


@attrs.define(eq=False)
class _Shell:
    engine: ReplayEngine
    clock: Callable[[], float]
    queue: trio.MemorySendChannel[Action]
    direct: _Direct = attrs.field(factory=lambda: _Direct(None))
    max_line: int = DEFAULT_MAX_LINE
    overflowed: bool = False  # the client sent a line longer than the limit
    input_ended: trio.Event = attrs.field(factory=trio.Event)
    wake: trio.Event = attrs.field(factory=trio.Event)
    asleep_until: float = math.inf  # when the ticker wakes up by itself

    def deliver(self, actions: Iterable[Action]) -> None:
        """Queue actions for the writer (the engine already joins consecutive lines); wake
        the ticker if the engine says so (:meth:`~acp_tap.replay.engine.ReplayEngine.wakes`)."""
        direct = self.direct
        for action in actions:
            queued = direct.take(action)
            if queued is not None:
                self.queue.send_nowait(queued)
                direct.idle = False  # the writer has work now: what follows queues behind it
        if self.engine.wakes(self.asleep_until):
            self.wake.set()

    async def read(self, stream: trio.abc.ReceiveStream) -> None:
        """Feed the client's lines to the engine until its input ends or the engine exits."""
        engine, splitter = self.engine, LineSplitter()
        recorded = max((len(step.frame.raw) for step in engine.plan.client), default=0)
        limit = max(self.max_line, recorded)
        while not engine.done:
            try:
                chunk = await stream.receive_some(CHUNK)
            except (trio.BrokenResourceError, trio.ClosedResourceError):
                chunk = b""
            if not chunk:
                self.input_ended.set()
                last = splitter.close()
                if last is not None:
                    self.deliver(engine.receive(last.content, self.clock()))
                self.deliver(engine.close(self.clock()))
                return
            # bytes without a newline count too: the client is not silent
            self.deliver(engine.receive_lines(splitter.feed_contents(chunk), self.clock()))
            if splitter.pending > limit:
                self._overflow(limit)
                return

    def _overflow(self, limit: int) -> None:
        """The client's line outgrew ``limit``: report it, stop reading, end the replay."""
        self.overflowed = True
        summary = (
            f"the client sent a line longer than {limit} bytes (--max-line) without ending it; "
            "no recorded message is that long, so the replay stops"
        )
        self.queue.send_nowait(Mismatch(Report(ReportKind.NO_MATCH, summary)))
        self.deliver(self.engine.close(self.clock()))

    async def tick(self) -> None:
        """Release frames whose time has come, and declare stalls (the engine's deadlines)."""
        engine = self.engine
        while not engine.done:
            deadline = engine.next_deadline()
            self.asleep_until = math.inf if deadline is None else deadline
            self.wake = trio.Event()
            with trio.move_on_at(self.asleep_until):
                await self.wake.wait()
            self.asleep_until = -math.inf  # awake: no need to be woken
            self.deliver(engine.poll(self.clock()))


@attrs.frozen
class _Hooks:
    """What the writer tells the caller about, and how it lingers after a hang."""

    on_report: Callable[[Report], object] | None = None
    on_fault: Callable[[str], object] | None = None
    linger: Callable[[], Awaitable[object]] | None = None
    input_ended: trio.Event | None = None  # set: pauses end when the client's input does


async def _write(
    queue: trio.MemoryReceiveChannel[Action],
    send_stream: trio.abc.SendStream,
    stderr: trio.abc.SendStream | None,
    hooks: _Hooks,
    direct: _Direct,
) -> int:
    """Carry out the actions in order; return the exit status."""
    broken = False
    while (action := await direct.next(queue)) is not None:
        if isinstance(action, Send):
            if not broken:
                try:
                    await send_stream.send_all(action.data)
                except (trio.BrokenResourceError, trio.ClosedResourceError):
                    broken = True  # the client stopped reading; keep judging its input
        elif isinstance(action, Pause):
            with trio.move_on_after(action.seconds):
                if hooks.input_ended is None:
                    await trio.sleep_forever()
                await hooks.input_ended.wait()
        elif isinstance(action, CloseOutput):
            broken = True
            with trio.CancelScope(shield=True):
                await send_stream.aclose()
        elif isinstance(action, Stderr):
            await _to_stderr(stderr, action.data)
        elif isinstance(action, Mismatch | Injected):
            await _tell(action, stderr, hooks)
        else:
            assert isinstance(action, Exit)
            if action.hung and hooks.linger is not None:
                await hooks.linger()  # a hung agent does not close its output
            with trio.CancelScope(shield=True):
                await send_stream.aclose()
            return action.status
    raise AssertionError("the replay engine stopped without an Exit action")  # pragma: no cover


async def _tell(
    action: Mismatch | Injected, stderr: trio.abc.SendStream | None, hooks: _Hooks
) -> None:
    """A mismatch report, or a fault that fired: to its hook, and rendered to stderr."""
    if isinstance(action, Mismatch):
        if hooks.on_report is not None:
            hooks.on_report(action.report)
        text = action.report.render()
    else:
        if hooks.on_fault is not None:
            hooks.on_fault(action.text)
        text = action.render()
    await _to_stderr(stderr, text.encode("utf-8", "replace"))


async def _to_stderr(stderr: trio.abc.SendStream | None, data: bytes) -> None:
    """Write to stderr, if there is one and its reader has not gone."""
    if stderr is not None:
        with contextlib.suppress(trio.BrokenResourceError, trio.ClosedResourceError):
            await stderr.send_all(data)


async def serve(
    engine: ReplayEngine,
    receive_stream: trio.abc.ReceiveStream,
    send_stream: trio.abc.SendStream,
    stderr: trio.abc.SendStream | None = None,
    *,
    clock: Callable[[], float] = trio.current_time,
    on_report: Callable[[Report], object] | None = None,
    max_line: int = DEFAULT_MAX_LINE,
    on_fault: Callable[[str], object] | None = None,
    linger: Callable[[], Awaitable[object]] | None = None,
    hold_after_input: bool = True,
    task_status: trio.TaskStatus[None] = trio.TASK_STATUS_IGNORED,
) -> int:
    """Be the recorded agent on a pair of streams until the replay ends; return its exit status.

    ``receive_stream`` carries what the client sends, ``send_stream`` what it receives
    (closed at the end, so the client sees EOF). Mismatch reports are rendered to
    ``stderr`` (with the recorded agent stderr, if the engine replays it) and passed to
    ``on_report``; so are the faults that fired, to ``on_fault``. After a ``hang`` fault,
    ``linger()`` is awaited before ``send_stream`` is closed (a hung agent keeps its
    output open; without ``linger`` it is closed when the client's input ends). With
    ``hold_after_input=False``, frames held by pacing or faults are sent at once when the
    client's input ends (an in-process client that has left reads nothing more). A client
    line longer than ``max_line`` bytes ends the replay with status 1. Usable with
    ``nursery.start``: started once the replay is serving.
    """
    send_channel, receive_channel = trio.open_memory_channel[Action](math.inf)
    fd = send_stream.fileno() if isinstance(send_stream, trio.lowlevel.FdStream) else None
    shell = _Shell(engine, clock, send_channel, _Direct(fd), max_line)
    status = 1
    async with trio.open_nursery() as nursery:

        async def writer() -> None:
            nonlocal status
            ended = None if hold_after_input else shell.input_ended
            hooks = _Hooks(on_report, on_fault, linger, ended)
            status = await _write(receive_channel, send_stream, stderr, hooks, shell.direct)
            nursery.cancel_scope.cancel()

        nursery.start_soon(writer)
        shell.deliver(engine.start(clock()))
        nursery.start_soon(shell.read, receive_stream)
        nursery.start_soon(shell.tick)
        task_status.started()
    return 1 if shell.overflowed and status == 0 else status
