"""The recording proxy: relay client <-> agent byte for byte, tee every line into a cassette.

Forward first, record second: each chunk is written to the other side before a copy is
framed, and the cassette is written by a background thread (see ``cassette.writer``).
Pipes are read up to 1 MiB at a time, directly when data is waiting (see
``stdio.Receiver``). If the cassette falls more than its budget behind, the stream that
produced the backlog waits for the disk (memory stays bounded, no frame is lost); only a
disk making no progress at all for ``STALL`` seconds makes the writer drop frames.
"""

from __future__ import annotations

import contextlib
import datetime
import os
import platform
import signal
import subprocess
import time
from collections.abc import AsyncIterator
from pathlib import Path

import attrs
import trio

from acp_tap import __version__
from acp_tap.cassette.model import Direction, Footer, Header
from acp_tap.cassette.recorder import Batch, Recorder
from acp_tap.cassette.writer import CassetteWriter
from acp_tap.errors import AgentStartError
from acp_tap.redaction import RedactionRules, Redactor
from acp_tap.stdio import Receiver, send_all, widen_pipe

CHUNK = 1 << 20
STALL = 2.0  # seconds without disk progress before frames are dropped instead of waited for
FORWARDED_SIGNALS = (signal.SIGINT, signal.SIGTERM, signal.SIGHUP)
_CLOSED = (trio.BrokenResourceError, trio.ClosedResourceError)


@attrs.frozen
class RecordConfig:
    """What to run and where to record it."""

    argv: tuple[str, ...]
    cassette: Path
    force: bool = False
    quiet: bool = False
    rules: RedactionRules = RedactionRules()
    grace: float = 3.0  # seconds from a forwarded signal to SIGKILL
    drain: float = 2.0  # seconds to wait for the agent's output to end after it exits
    handle_signals: bool = True


@attrs.frozen
class RecordResult:
    """How the recorded session ended."""

    status: int
    footer: Footer
    write_error: str | None


def iso(moment: datetime.datetime) -> str:
    """ISO 8601 in UTC with a ``Z``."""
    return moment.strftime("%Y-%m-%dT%H:%M:%S.%fZ")


def utc_now() -> str:
    """The current UTC time, ISO 8601."""
    return iso(datetime.datetime.now(datetime.UTC))


def exit_status(returncode: int) -> int:
    """A shell-style status: the exit code, or 128+N for signal N."""
    return 128 - returncode if returncode < 0 else returncode


def spawn_error(argv0: str, exc: OSError) -> AgentStartError:
    """A one-line error for an agent that cannot be started (127 not found, 126 otherwise)."""
    if isinstance(exc, FileNotFoundError):
        return AgentStartError(
            f"agent command not found: {argv0!r}; check PATH or give a full path", 127
        )
    return AgentStartError(f"agent command {argv0!r} cannot be executed: {exc.strerror}", 126)


def make_header(config: RecordConfig) -> Header:
    """The cassette header for a recording starting now."""
    return Header(
        acp_tap=__version__,
        argv=config.argv,
        cwd=os.getcwd(),
        started=utc_now(),
        python=platform.python_version(),
        platform=platform.platform(),
        pid=os.getpid(),
        redaction=config.rules.describe(),
    )


async def record(
    config: RecordConfig,
    client_in: trio.abc.ReceiveStream,
    client_out: trio.abc.SendStream,
    log: trio.abc.SendStream,
) -> RecordResult:
    """Run the agent, relay and record until it exits; return its status.

    Raises :class:`~acp_tap.errors.CassetteCreateError` or
    :class:`~acp_tap.errors.AgentStartError` before any byte is relayed.
    """
    with contextlib.ExitStack() as stack:
        signals = (
            stack.enter_context(trio.open_signal_receiver(*FORWARDED_SIGNALS))
            if config.handle_signals
            else None
        )
        return await _record(config, signals, client_in, client_out, log)


async def _record(
    config: RecordConfig,
    signals: AsyncIterator[int] | None,
    client_in: trio.abc.ReceiveStream,
    client_out: trio.abc.SendStream,
    log: trio.abc.SendStream,
) -> RecordResult:
    writer = CassetteWriter.create(config.cassette, make_header(config), force=config.force)
    try:
        process = await trio.lowlevel.open_process(
            list(config.argv),
            stdin=subprocess.PIPE,
            stdout=subprocess.PIPE,
            stderr=subprocess.PIPE,
            process_group=0,  # a terminal's ^C reaches acp-tap alone, which forwards it once
        )
    except OSError as exc:
        writer.discard()
        raise spawn_error(config.argv[0], exc) from None
    for stream in (process.stdin, process.stdout, process.stderr):
        if isinstance(stream, trio.lowlevel.FdStream):
            widen_pipe(stream.fileno())
    session = _Session(config, process, writer, Recorder(Redactor(config.rules)), log)
    try:
        await session.run(client_in, client_out, signals)
    finally:
        if process.returncode is None:
            process.kill()
        with trio.CancelScope(shield=True):
            await process.wait()
    return await session.finish()


@attrs.define(eq=False)
class _Session:
    config: RecordConfig
    process: trio.Process
    writer: CassetteWriter
    recorder: Recorder
    log: trio.abc.SendStream
    started: float = attrs.field(factory=time.monotonic)
    log_lock: trio.Lock = attrs.field(factory=trio.Lock)
    closed_first: str | None = None
    reported: bool = False

    def now(self) -> float:
        return time.monotonic() - self.started

    async def run(
        self,
        client_in: trio.abc.ReceiveStream,
        client_out: trio.abc.SendStream,
        signals: AsyncIterator[int] | None,
    ) -> None:
        proc = self.process
        assert proc.stdin is not None and proc.stdout is not None and proc.stderr is not None
        outputs_done = (trio.Event(), trio.Event())
        async with trio.open_nursery() as nursery:
            if signals is not None:
                nursery.start_soon(self._forward_signals, signals, nursery)
            nursery.start_soon(self._pump, client_in, proc.stdin, Direction.CLIENT_TO_AGENT, None)
            nursery.start_soon(
                self._pump, proc.stdout, client_out, Direction.AGENT_TO_CLIENT, outputs_done[0]
            )
            nursery.start_soon(
                self._pump, proc.stderr, self.log, Direction.AGENT_STDERR, outputs_done[1]
            )
            await proc.wait()
            with trio.move_on_after(self.config.drain):
                for event in outputs_done:
                    await event.wait()
            nursery.cancel_scope.cancel()

    async def finish(self) -> RecordResult:
        returncode = self.process.returncode
        assert returncode is not None
        status = exit_status(returncode)
        footer = Footer(
            t=round(self.now(), 6),
            ended=utc_now(),
            status=status,
            exit_code=returncode if returncode >= 0 else None,
            signal=-returncode if returncode < 0 else None,
            closed_first=self.closed_first or "agent",
            frames={d.value: n for d, n in self.recorder.counts.items()},
            dropped=self.writer.dropped,
        )
        if not await trio.to_thread.run_sync(self.writer.close, footer, 10.0):
            await self.say(f"cassette {self.writer.path} is still being written; giving up")
        if self.writer.error and not self.reported:
            await self.say(self.writer.error)
        elif self.writer.dropped:
            await self.say(f"{self.writer.dropped} frames were not recorded (the disk stalled)")
        if not self.config.quiet:
            counts = ", ".join(f"{n} {d}" for d, n in footer.frames.items())
            await self.say(f"recorded {counts} frames to {self.writer.path}; agent status {status}")
        return RecordResult(status, footer, self.writer.error)

    async def say(self, message: str) -> None:
        async with self.log_lock:
            with contextlib.suppress(*_CLOSED):
                await self.log.send_all(f"acp-tap: {message}\n".encode())

    async def _pump(
        self,
        source: trio.abc.ReceiveStream,
        sink: trio.abc.SendStream,
        direction: Direction,
        done: trio.Event | None,
    ) -> None:
        """Relay ``source`` to ``sink`` until EOF, recording each line; then close ``sink``."""
        sink_open = True
        lock = self.log_lock if direction is Direction.AGENT_STDERR else None
        receiver = Receiver(source)
        while True:
            try:
                chunk = await receiver.receive_some(CHUNK)
            except _CLOSED:
                chunk = b""
            if not chunk:
                break
            if type(chunk) is not bytes:
                chunk = bytes(chunk)
            if sink_open:
                sink_open = await _forward(sink, chunk, lock)
            self._record(self.recorder.feed(direction, chunk, self.now()))
            if not self.writer.has_room():
                await self._wait_for_disk()
        self._record(self.recorder.close(direction, self.now()))
        if self.closed_first is None and direction is not Direction.AGENT_STDERR:
            self.closed_first = "client" if direction is Direction.CLIENT_TO_AGENT else "agent"
        if direction is not Direction.AGENT_STDERR:
            with trio.CancelScope(shield=True):
                await sink.aclose()
        if done is not None:
            done.set()

    def _record(self, batch: Batch) -> None:
        writer = self.writer
        writer.put(batch)
        if writer.error and not self.reported:
            self.reported = True
            trio.lowlevel.spawn_system_task(self.say, writer.error)

    async def _wait_for_disk(self) -> None:
        """Hold this stream while the cassette lags more than its budget (memory stays bounded).

        If the disk makes no progress for ``STALL`` seconds, give up waiting: the writer
        drops frames beyond its budget until it catches up, and the session goes on.
        """
        writer = self.writer
        progress, since = writer.written, trio.current_time()
        while not writer.has_room() and not writer.error:
            await trio.sleep(0.001)
            if writer.written != progress:
                progress, since = writer.written, trio.current_time()
            elif trio.current_time() - since > STALL:
                writer.stall()
                return

    async def _forward_signals(self, signals: AsyncIterator[int], nursery: trio.Nursery) -> None:
        kill_scheduled = False
        async for signum in signals:
            if self.closed_first is None:
                self.closed_first = "signal"
            if self.process.returncode is None:
                self.process.send_signal(signum)
            if not kill_scheduled:
                kill_scheduled = True
                nursery.start_soon(self._kill_after_grace)

    async def _kill_after_grace(self) -> None:
        await trio.sleep(self.config.grace)
        if self.process.returncode is None:
            self.process.kill()


async def _forward(
    sink: trio.abc.SendStream, chunk: bytes | bytearray, lock: trio.Lock | None
) -> bool:
    """Send ``chunk``; False once the sink is gone (its reader closed)."""
    try:
        if lock is None:
            await send_all(sink, chunk)
        else:
            async with lock:
                await send_all(sink, chunk)
    except _CLOSED:
        return False
    return True


def default_cassette_name(argv0: str, *, pid: int | None = None) -> str:
    """``20261122T103105Z-kiro-cli-<pid>.ndjson``: sortable by time, unique per process."""
    stamp = datetime.datetime.now(datetime.UTC).strftime("%Y%m%dT%H%M%SZ")
    base = (
        "".join(c if c.isalnum() or c in "._-" else "_" for c in os.path.basename(argv0)) or "agent"
    )
    return f"{stamp}-{base}-{pid if pid is not None else os.getpid()}.ndjson"
