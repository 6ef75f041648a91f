"""The fake agent on asyncio: runs a :class:`~acp_tap.replay.engine.ReplayEngine` over
asyncio streams, as :mod:`acp_tap.replay.agent` does over trio streams.

A second shell over the same engine, shaped like the first: a reader task feeds the
client's lines to the engine with the current time (the event loop's clock), a ticker task
polls the engine at its deadlines (realtime pacing, stalls), and a writer task carries out
the actions in order through an unbounded queue, so reading the client never waits on
writing to it. :func:`in_memory` wires it to an in-memory connection
(:mod:`acp_tap.asyncio_streams`) for in-process client tests. Never imports trio.
"""

from __future__ import annotations

import asyncio
import contextlib
import math
from collections.abc import AsyncIterator, Callable, Iterable
from contextlib import asynccontextmanager

import attrs

from acp_tap.asyncio_streams import Observer, memory_connection
from acp_tap.replay.actions import (
    Action,
    CloseOutput,
    Exit,
    Injected,
    Mismatch,
    Pause,
    Report,
    Send,
    Stderr,
)
from acp_tap.replay.engine import ReplayEngine
from acp_tap.wire.framing import LineSplitter

CHUNK = 1 << 20
"""Bytes read from the client at most at a time (as the trio shell)."""


@attrs.define(eq=False)
class _Shell:
    engine: ReplayEngine
    clock: Callable[[], float]
    queue: asyncio.Queue[Action]
    input_ended: asyncio.Event = attrs.field(factory=asyncio.Event)
    wake: asyncio.Event = attrs.field(factory=asyncio.Event)
    asleep_until: float = math.inf  # when the ticker wakes up by itself

    def deliver(self, actions: Iterable[Action]) -> None:
        """Queue actions for the writer; wake the ticker if the engine says so
        (:meth:`~acp_tap.replay.engine.ReplayEngine.wakes`)."""
        for action in actions:
            self.queue.put_nowait(action)
        if self.engine.wakes(self.asleep_until):
            self.wake.set()

    async def read(self, reader: asyncio.StreamReader) -> None:
        """Feed the client's lines to the engine until its input ends or the engine exits."""
        engine, splitter = self.engine, LineSplitter()
        while not engine.done:
            try:
                chunk = await reader.read(CHUNK)
            except ConnectionError:
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

    async def tick(self) -> None:
        """Release frames whose time has come, and declare stalls (the engine's deadlines)."""
        engine = self.engine
        while not engine.done:
            deadline = engine.next_deadline()
            self.asleep_until = math.inf if deadline is None else deadline
            self.wake.clear()
            delay = None if deadline is None else max(0.0, deadline - self.clock())
            with contextlib.suppress(TimeoutError):
                async with asyncio.timeout(delay):
                    await self.wake.wait()
            self.asleep_until = -math.inf  # awake: no need to be woken
            self.deliver(engine.poll(self.clock()))


@attrs.frozen
class _Hooks:
    """What the writer tells the caller about (as the trio shell's ``_Hooks``)."""

    on_report: Callable[[Report], object] | None = None
    on_fault: Callable[[str], object] | None = None
    input_ended: asyncio.Event | None = None  # set: pauses end when the client's input does


async def _write(
    queue: asyncio.Queue[Action],
    writer: asyncio.StreamWriter,
    stderr: asyncio.StreamWriter | None,
    hooks: _Hooks,
) -> int:
    """Carry out the actions in order; return the exit status. An in-process replay never
    lingers after a ``hang`` fault: its output closes when the client's input ends."""
    broken = False
    while True:
        action = await queue.get()
        if isinstance(action, Send):
            if not broken:
                try:
                    writer.write(action.data)
                    await writer.drain()
                except (ConnectionError, RuntimeError):
                    broken = True  # the client stopped reading; keep judging its input
        elif isinstance(action, Pause):
            ended = hooks.input_ended
            with contextlib.suppress(TimeoutError):
                async with asyncio.timeout(action.seconds):
                    await (ended.wait() if ended is not None else asyncio.Event().wait())
        elif isinstance(action, CloseOutput):
            broken = True
            _end_output(writer)
        elif isinstance(action, Stderr):
            await _to_stderr(stderr, action.data)
        elif isinstance(action, Mismatch | Injected):
            await _to_stderr(stderr, _tell(action, hooks).encode("utf-8", "replace"))
        else:
            assert isinstance(action, Exit)
            _end_output(writer)
            writer.close()
            return action.status


def _tell(action: Mismatch | Injected, hooks: _Hooks) -> str:
    """A mismatch report, or a fault that fired, to its hook; the text for stderr."""
    if isinstance(action, Mismatch):
        if hooks.on_report is not None:
            hooks.on_report(action.report)
        return action.report.render()
    if hooks.on_fault is not None:
        hooks.on_fault(action.text)
    return action.render()


async def _to_stderr(stderr: asyncio.StreamWriter | None, data: bytes) -> None:
    if stderr is not None:
        stderr.write(data)
        await stderr.drain()


def _end_output(writer: asyncio.StreamWriter) -> None:
    """The client reads EOF; the agent's side may still read (a half-close)."""
    if writer.is_closing():
        return
    if writer.can_write_eof():
        writer.write_eof()
    else:
        writer.close()


async def serve(
    engine: ReplayEngine,
    reader: asyncio.StreamReader,
    writer: asyncio.StreamWriter,
    stderr: asyncio.StreamWriter | None = None,
    *,
    clock: Callable[[], float] | None = None,
    on_report: Callable[[Report], object] | None = None,
    on_fault: Callable[[str], object] | None = None,
    hold_after_input: bool = True,
) -> int:
    """Be the recorded agent on a pair of asyncio streams until the replay ends; return its
    exit status (faults that fired go to ``on_fault``; with ``hold_after_input=False``,
    frames held by pacing or faults are sent at once when the client's input ends).

    ``reader`` carries what the client sends, ``writer`` what it receives (closed at the
    end, so the client sees EOF). Mismatch reports are rendered to ``stderr`` (with the
    recorded agent stderr, if the engine replays it) and passed to ``on_report``. ``clock``
    defaults to the running loop's.
    """
    now = clock or asyncio.get_running_loop().time
    shell = _Shell(engine, now, asyncio.Queue())
    status = 1
    async with asyncio.TaskGroup() as group:
        helpers = [group.create_task(shell.read(reader)), group.create_task(shell.tick())]

        async def carry_out() -> None:
            nonlocal status
            ended = None if hold_after_input else shell.input_ended
            hooks = _Hooks(on_report, on_fault, ended)
            status = await _write(shell.queue, writer, stderr, hooks)
            for task in helpers:
                task.cancel()

        group.create_task(carry_out())
        shell.deliver(engine.start(now()))
    return status


@attrs.define(eq=False)
class InMemoryReplay:
    """The client's end of an in-memory replay and, once it is over, its exit status."""

    reader: asyncio.StreamReader  # what the agent sends
    writer: asyncio.StreamWriter  # what the client sends
    status: int | None = None  # None: the replay did not end in time
    problem: str | None = None


@asynccontextmanager
async def in_memory(
    engine: ReplayEngine,
    *,
    timeout: float = 30.0,
    observe: tuple[Observer | None, Observer | None] = (None, None),
    on_report: Callable[[Report], object] | None = None,
    on_fault: Callable[[str], object] | None = None,
) -> AsyncIterator[InMemoryReplay]:
    """Serve ``engine`` on an in-memory connection and yield the client's end.

    ``observe``: what the client writes, what the agent writes. On exit the client's
    output is half-closed (the agent sees EOF), the replay is awaited for at most
    ``timeout`` seconds (then stopped, and ``problem`` says so), and the client's end is
    closed.
    """
    (reader, writer), (agent_reader, agent_writer) = memory_connection(observe=observe)
    client = InMemoryReplay(reader, writer)
    task = asyncio.create_task(
        serve(
            engine,
            agent_reader,
            agent_writer,
            on_report=on_report,
            on_fault=on_fault,
            hold_after_input=False,
        )
    )

    def failed(task: asyncio.Task[int]) -> None:
        if not task.cancelled() and task.exception() is not None:
            agent_writer.close()  # the client reads EOF, not silence; the error is raised on exit

    task.add_done_callback(failed)
    try:
        yield client
    finally:
        try:
            _end_output(writer)
            done, _ = await asyncio.wait({task}, timeout=timeout)
        except BaseException:
            task.cancel()
            raise
        finally:
            writer.close()
        if done:
            client.status = task.result()
        else:
            task.cancel()
            with contextlib.suppress(asyncio.CancelledError):
                await task
            agent_writer.close()
            client.problem = f"the replay did not end within {timeout:g} s after the client closed"
