"""Play a recorded client into a live agent: the trio shell of the client-side replay.

The shell spawns the agent (in a process group of its own, so a hung agent is stopped
with everything it started), splits its stdout into lines for the
:class:`~acp_tap.rerun.engine.ClientReplayEngine`, keeps the tail of its stderr,
and carries out the engine's actions. With ``output``, the agent runs behind
``acp-tap record``, so the live run becomes a cassette like any other.
"""

from __future__ import annotations

import collections
import contextlib
import errno
import math
import os
import shutil
import signal
import subprocess
import sys
from collections.abc import Callable, Iterable, Mapping, Sequence
from pathlib import Path

import attrs
import trio

from acp_tap.cassette.inputs import DEFAULT_MAX_LINE
from acp_tap.record import exit_status, spawn_error
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
from acp_tap.wire.framing import LineSplitter

CHUNK = 1 << 16
DRAIN = 2.0
"""Seconds to wait for the agent's output to end after it exits (a child may hold it open)."""
GRACE = 2.0
"""Seconds between SIGTERM and SIGKILL when a hung agent is stopped."""
RECORD_GRACE = 1.0
"""The recorder's own grace (``acp-tap record --grace``) when the live run is recorded."""
_CLOSED = (trio.BrokenResourceError, trio.ClosedResourceError)


def record_command(argv: Sequence[str], output: str | os.PathLike[str]) -> list[str]:
    """``argv`` run behind ``acp-tap record``, recording to ``output``."""
    cassette = os.path.abspath(output)
    record = [sys.executable, "-m", "acp_tap", "record", "-q", "--force"]
    return [*record, "--grace", str(RECORD_GRACE), "-o", cassette, "--", *argv]


def check_command(argv0: str, cwd: str | os.PathLike[str] | None) -> None:
    """Raise :class:`~acp_tap.errors.AgentStartError` if ``argv0`` cannot be run.

    Used when the agent runs behind the recorder, which would otherwise turn a missing
    agent into an exit status.
    """
    path = os.path.join(cwd or ".", argv0) if os.sep in argv0 else argv0
    if shutil.which(path) is not None:
        return
    if os.path.exists(path):
        raise spawn_error(argv0, PermissionError(errno.EACCES, os.strerror(errno.EACCES)))
    raise spawn_error(argv0, FileNotFoundError(errno.ENOENT, os.strerror(errno.ENOENT)))


async def rerun_cassette(
    cassette: str | os.PathLike[str],
    argv: Sequence[str],
    *,
    cwd: str | os.PathLike[str] | None = None,
    env: Mapping[str, str] | None = None,
    fs_root: str | os.PathLike[str] | None = None,
    write_dir: str | os.PathLike[str] | None = None,
    output: str | os.PathLike[str] | None = None,
    ignore: Sequence[str] = (),
    timeout: float = 30.0,
    max_time: float | None = 600.0,
    max_line: int = DEFAULT_MAX_LINE,
) -> ClientReplayResult:
    """Play the client recorded in ``cassette`` into the agent ``argv``: what changed.

    Raises :class:`~acp_tap.errors.CassetteError` for a cassette that cannot be read,
    :class:`~acp_tap.errors.UsageError` for a bad ``ignore`` path or a missing cassette,
    :class:`~acp_tap.errors.AgentStartError` if the agent cannot be started.
    """
    options = ClientReplayOptions.of(
        cwd=cwd,
        fs_root=fs_root,
        write_dir=write_dir,
        ignore=ignore,
        timeout=timeout,
        max_time=max_time,
    )
    engine = ClientReplayEngine.from_path(cassette, options, max_line=max_line)
    return await rerun(
        engine, argv, cwd=cwd, env=env, fs_root=fs_root, write_dir=write_dir, output=output
    )


async def rerun(
    engine: ClientReplayEngine,
    argv: Sequence[str],
    *,
    cwd: str | os.PathLike[str] | None = None,
    env: Mapping[str, str] | None = None,
    fs_root: str | os.PathLike[str] | None = None,
    write_dir: str | os.PathLike[str] | None = None,
    output: str | os.PathLike[str] | None = None,
    clock: Callable[[], float] = trio.current_time,
) -> ClientReplayResult:
    """Run the agent ``argv`` and play the engine's recorded client into it; the verdict.

    Raises :class:`~acp_tap.errors.AgentStartError` if the agent cannot be started.
    """
    command = list(argv)
    grace = GRACE
    if output is not None:
        check_command(command[0], cwd)
        command, grace = record_command(command, output), GRACE + RECORD_GRACE
    try:
        proc = await trio.lowlevel.open_process(
            command,
            stdin=subprocess.PIPE,
            stdout=subprocess.PIPE,
            stderr=subprocess.PIPE,
            cwd=cwd,
            env=env,
            process_group=0,  # stopped as a whole, with whatever it started
        )
    except OSError as exc:
        raise spawn_error(command[0], exc) from None
    roots = (Path(fs_root) if fs_root else None, Path(write_dir) if write_dir else None)
    shell = _Shell(engine, proc, clock, *roots, grace=grace)
    try:
        result = await shell.run()
    finally:
        if proc.returncode is None:
            _signal(proc, signal.SIGKILL)
            with trio.CancelScope(shield=True):
                await proc.wait()
    return attrs.evolve(result, stderr=tuple(shell.stderr))


def _signal(proc: trio.Process, signum: int) -> None:
    """Signal the agent's process group (it leads one of its own)."""
    if proc.returncode is None:
        try:
            os.killpg(proc.pid, signum)
        except (ProcessLookupError, PermissionError):
            proc.send_signal(signum)


@attrs.define(eq=False)
class _Shell:
    engine: ClientReplayEngine
    proc: trio.Process
    clock: Callable[[], float]
    fs_root: Path | None
    write_dir: Path | None
    grace: float
    stderr: collections.deque[str] = attrs.field(
        factory=lambda: collections.deque(maxlen=STDERR_SHOWN)
    )
    result: ClientReplayResult | None = None
    notes: list[str] = attrs.field(factory=list)  # files refused: reported as problems
    _queue: trio.MemorySendChannel[ClientAction] | None = None
    _nursery: trio.Nursery | None = None
    _wake: trio.Event = attrs.field(factory=trio.Event)
    _output_done: trio.Event = attrs.field(factory=trio.Event)
    _stderr_done: trio.Event = attrs.field(factory=trio.Event)

    async def run(self) -> ClientReplayResult:
        send, receive = trio.open_memory_channel[ClientAction](math.inf)
        self._queue = send
        async with trio.open_nursery() as nursery:
            self._nursery = nursery
            nursery.start_soon(self._carry_out, receive)
            nursery.start_soon(self._read_stdout)
            nursery.start_soon(self._read_stderr)
            nursery.start_soon(self._tick)
            nursery.start_soon(self._watch_exit)
            self.deliver(self.engine.start(self.clock()))
        assert self.result is not None
        return self.result

    def deliver(self, actions: Iterable[ClientAction]) -> None:
        """Queue actions for the writer; a Kill is carried out at once (the writer may be
        blocked on a hung agent's full stdin)."""
        assert self._queue is not None and self._nursery is not None
        for action in actions:
            if isinstance(action, Kill):
                self._nursery.start_soon(self._terminate)
            else:
                self._queue.send_nowait(action)
        self._wake.set()

    async def _carry_out(self, queue: trio.MemoryReceiveChannel[ClientAction]) -> None:
        stdin = self.proc.stdin
        assert stdin is not None
        broken = False
        async for action in queue:
            if isinstance(action, ToAgent):
                if not broken:
                    try:
                        await stdin.send_all(action.data)
                    except _CLOSED:
                        broken = True  # the agent is gone; its exit will be reported
            elif isinstance(action, CloseInput):
                with contextlib.suppress(*_CLOSED):
                    await stdin.aclose()
            elif isinstance(action, ReadFile):
                assert self.fs_root is not None
                content = await trio.to_thread.run_sync(
                    read_text, self.fs_root, action.path, self.notes
                )
                self.deliver(self.engine.file_read(action.token, content, self.clock()))
            elif isinstance(action, WriteFile):
                assert self.write_dir is not None
                await trio.to_thread.run_sync(
                    write_text, self.write_dir, action.path, action.content, self.notes
                )
            else:
                assert isinstance(action, Finished)
                result = action.result
                self.result = attrs.evolve(result, problems=(*result.problems, *self.notes))
                assert self._nursery is not None
                self._nursery.cancel_scope.cancel()
                return

    async def _read_stdout(self) -> None:
        stream, splitter = self.proc.stdout, LineSplitter()
        assert stream is not None
        try:
            while chunk := await stream.receive_some(CHUNK):
                for line in splitter.feed(chunk):
                    self.deliver(self.engine.receive(line.content, self.clock()))
        except _CLOSED:
            pass
        last = splitter.close()
        if last is not None:
            self.deliver(self.engine.receive(last.content, self.clock()))
        self.deliver(self.engine.output_closed(self.clock()))
        self._output_done.set()

    async def _read_stderr(self) -> None:
        stream, splitter = self.proc.stderr, LineSplitter()
        assert stream is not None
        try:
            while chunk := await stream.receive_some(CHUNK):
                for line in splitter.feed(chunk):
                    self.stderr.append(line.data.decode("utf-8", "replace"))
        except _CLOSED:
            pass
        last = splitter.close()
        if last is not None:
            self.stderr.append(last.data.decode("utf-8", "replace"))
        self._stderr_done.set()

    async def _watch_exit(self) -> None:
        returncode = await self.proc.wait()
        with trio.move_on_after(DRAIN):
            await self._output_done.wait()
            await self._stderr_done.wait()
        self.deliver(self.engine.exited(exit_status(returncode), self.clock()))

    async def _tick(self) -> None:
        engine = self.engine
        while not engine.done:
            deadline = engine.next_deadline()
            self._wake = trio.Event()
            with trio.move_on_at(math.inf if deadline is None else deadline):
                await self._wake.wait()
            self.deliver(engine.poll(self.clock()))

    async def _terminate(self) -> None:
        """Stop a hung agent: SIGTERM, then SIGKILL after the grace period."""
        _signal(self.proc, signal.SIGTERM)
        with trio.move_on_after(self.grace):
            await self.proc.wait()
        _signal(self.proc, signal.SIGKILL)
