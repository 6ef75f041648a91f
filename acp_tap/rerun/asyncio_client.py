"""Play a recorded client into an in-process agent over asyncio streams: the asyncio shell of
the client-side replay, beside the trio one (:mod:`acp_tap.rerun.client`), with no subprocess.

The agent is a coroutine function serving its end of an in-memory connection
(:mod:`acp_tap.asyncio_streams`); for an agent of the official SDK, that is
:func:`acp_tap.sdk.serve_agent`. The same :class:`~acp_tap.rerun.engine.ClientReplayEngine`
decides what is sent when, with which ids, how the agent's requests are answered and
what the verdict is. An in-process agent "exits" when its coroutine ends: status 0 when it
returns (an SDK agent does once its input is closed), 1 when it raises (its traceback
stands in for stderr in the report) or had to be stopped (cancelled, after a hang). An
agent that blocks the event loop itself cannot be stopped from the same loop. Never
imports trio.
"""

from __future__ import annotations

import asyncio
import collections
import contextlib
import os
import traceback
from collections.abc import Awaitable, Callable, Iterable, Sequence
from functools import partial
from pathlib import Path

import attrs

from acp_tap.asyncio_streams import memory_connection
from acp_tap.errors import UsageError
from acp_tap.rerun.engine import ClientReplayEngine
from acp_tap.rerun.files import read_text, write_text
from acp_tap.rerun.result import (
    STDERR_SHOWN,
    ClientAction,
    ClientReplayOptions,
    ClientReplayResult,
    CloseInput,
    Finished,
    Kill,
    ReadFile,
    ToAgent,
    WriteFile,
)
from acp_tap.sdk import require_sdk, serve_agent
from acp_tap.wire.framing import LineSplitter

CHUNK = 1 << 16
DRAIN = 2.0
"""Seconds to wait for the agent's output to end after its coroutine ended."""
GRACE = 2.0
"""Seconds a cancelled agent has to end before the replay gives up on it."""

ServeAgent = Callable[[asyncio.StreamReader, asyncio.StreamWriter], Awaitable[object]]
"""Serves an agent on its end of a connection: what the client sends, what it receives."""


async def rerun_cassette_in_process(
    cassette: str | os.PathLike[str],
    agent: object,
    *,
    cwd: str | os.PathLike[str] | None = None,
    fs_root: str | os.PathLike[str] | None = None,
    write_dir: str | os.PathLike[str] | None = None,
    ignore: Sequence[str] = (),
    timeout: float = 30.0,
    max_time: float | None = 600.0,
) -> ClientReplayResult:
    """Play the client recorded in ``cassette`` into the in-process SDK ``agent`` (an
    ``acp.Agent``, or a callable taking the client connection and returning one): what
    changed. ``cwd`` is the directory the live session stands in (the recorded one is
    rewritten to it). Raises :class:`~acp_tap.errors.SdkMissingError` without the SDK.
    """
    require_sdk("an in-process agent")  # before anything runs: one line, what to install
    options = ClientReplayOptions.of(
        cwd=cwd,
        fs_root=fs_root,
        write_dir=write_dir,
        ignore=ignore,
        timeout=timeout,
        max_time=max_time,
    )
    engine = ClientReplayEngine.from_path(cassette, options)
    return await rerun_in_process(
        engine, partial(serve_agent, agent), fs_root=fs_root, write_dir=write_dir
    )


def check_in_process_options(options: dict[str, object]) -> None:
    """Raise :class:`~acp_tap.errors.UsageError` for options only a spawned agent has."""
    spawned_only = sorted(options.keys() & {"env", "output"})
    if spawned_only:
        raise UsageError(
            f"acp-tap: {', '.join(spawned_only)} only apply to an agent command (a spawned "
            "agent); an in-process agent shares the test's environment and records nothing"
        )


async def rerun_in_process(
    engine: ClientReplayEngine,
    serve: ServeAgent,
    *,
    fs_root: str | os.PathLike[str] | None = None,
    write_dir: str | os.PathLike[str] | None = None,
    clock: Callable[[], float] | None = None,
) -> ClientReplayResult:
    """Serve an agent with ``serve`` on an in-memory connection and play the engine's
    recorded client into it; the verdict."""
    (reader, writer), (agent_reader, agent_writer) = memory_connection()
    roots = (Path(fs_root) if fs_root else None, Path(write_dir) if write_dir else None)
    shell = _Shell(engine, clock or asyncio.get_running_loop().time, reader, writer, *roots)
    agent = asyncio.create_task(shell.serve(serve, agent_reader, agent_writer))
    try:
        result = await shell.run(agent)
    finally:
        agent.cancel()
        writer.close()
        agent_writer.close()
    return attrs.evolve(result, stderr=tuple(shell.stderr))


@attrs.define(eq=False)
class _Shell:
    engine: ClientReplayEngine
    clock: Callable[[], float]
    reader: asyncio.StreamReader  # the agent's output
    writer: asyncio.StreamWriter  # the agent's input
    fs_root: Path | None
    write_dir: Path | None
    stderr: collections.deque[str] = attrs.field(
        factory=lambda: collections.deque(maxlen=STDERR_SHOWN)
    )
    result: ClientReplayResult | None = None
    stopped: bool = False
    notes: list[str] = attrs.field(factory=list)  # files refused: reported as problems
    _queue: asyncio.Queue[ClientAction] = attrs.field(factory=asyncio.Queue)
    _wake: asyncio.Event = attrs.field(factory=asyncio.Event)
    _output_done: asyncio.Event = attrs.field(factory=asyncio.Event)
    _group: asyncio.TaskGroup | None = None
    _agent: asyncio.Task[int] | None = None

    async def serve(
        self, serve: ServeAgent, reader: asyncio.StreamReader, writer: asyncio.StreamWriter
    ) -> int:
        """Run the agent; its exit status."""
        try:
            await serve(reader, writer)
        except asyncio.CancelledError:
            if not self.stopped:
                raise
        except Exception as exc:  # noqa: BLE001 - the agent crashed: that is the finding
            lines = "".join(traceback.format_exception(exc)).splitlines()
            self.stderr.extend(lines)
            return 1
        finally:
            writer.close()  # its output ends with it
        return 1 if self.stopped else 0

    async def run(self, agent: asyncio.Task[int]) -> ClientReplayResult:
        self._agent = agent
        async with asyncio.TaskGroup() as group:
            self._group = group
            helpers = [
                group.create_task(self._read_output()),
                group.create_task(self._tick()),
                group.create_task(self._watch_exit(agent)),
            ]
            group.create_task(self._carry_out(helpers))
            self.deliver(self.engine.start(self.clock()))
        assert self.result is not None
        return self.result

    def deliver(self, actions: Iterable[ClientAction]) -> None:
        """Queue actions for the writer; a Kill is carried out at once."""
        assert self._group is not None
        for action in actions:
            if isinstance(action, Kill):
                self._group.create_task(self._terminate())
            else:
                self._queue.put_nowait(action)
        self._wake.set()

    async def _carry_out(self, helpers: list[asyncio.Task[None]]) -> None:
        broken = False
        while True:
            action = await self._queue.get()
            if isinstance(action, ToAgent):
                if not broken:
                    try:
                        self.writer.write(action.data)
                        await self.writer.drain()
                    except (ConnectionError, RuntimeError):
                        broken = True  # the agent is gone; its end will be reported
            elif isinstance(action, CloseInput):
                if not self.writer.is_closing():
                    self.writer.write_eof()
            elif isinstance(action, ReadFile):
                assert self.fs_root is not None
                read = partial(read_text, self.fs_root, action.path, self.notes)
                content = await asyncio.to_thread(read)
                self.deliver(self.engine.file_read(action.token, content, self.clock()))
            elif isinstance(action, WriteFile):
                assert self.write_dir is not None
                write = partial(write_text, self.write_dir, action.path, action.content, self.notes)
                await asyncio.to_thread(write)
            else:
                assert isinstance(action, Finished)
                result = action.result
                self.result = attrs.evolve(result, problems=(*result.problems, *self.notes))
                for task in helpers:
                    task.cancel()
                return

    async def _read_output(self) -> None:
        splitter = LineSplitter()
        with contextlib.suppress(ConnectionError):
            while chunk := await self.reader.read(CHUNK):
                for line in splitter.feed(chunk):
                    self.deliver(self.engine.receive(line.content, self.clock()))
        last = splitter.close()
        if last is not None:
            self.deliver(self.engine.receive(last.content, self.clock()))
        self.deliver(self.engine.output_closed(self.clock()))
        self._output_done.set()

    async def _watch_exit(self, agent: asyncio.Task[int]) -> None:
        await asyncio.wait({agent})  # (its crash is its status, not the replay's)
        status = agent.result() if not agent.cancelled() else 1
        with contextlib.suppress(TimeoutError):
            async with asyncio.timeout(DRAIN):
                await self._output_done.wait()
        self.deliver(self.engine.exited(status, self.clock()))

    async def _tick(self) -> None:
        engine = self.engine
        while not engine.done:
            deadline = engine.next_deadline()
            self._wake.clear()
            delay = None if deadline is None else max(0.0, deadline - self.clock())
            with contextlib.suppress(TimeoutError):
                async with asyncio.timeout(delay):
                    await self._wake.wait()
            self.deliver(engine.poll(self.clock()))

    async def _terminate(self) -> None:
        """Stop a hung agent: cancel it; give up on it if it has not ended after the grace."""
        self.stopped = True
        assert self._agent is not None
        self._agent.cancel()
        done, _ = await asyncio.wait({self._agent}, timeout=GRACE)
        if not done:
            self.stderr.append(f"(the agent did not end within {GRACE:g} s of being cancelled)")
            self.deliver(self.engine.exited(1, self.clock()))
