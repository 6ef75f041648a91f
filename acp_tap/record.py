"""The recording proxy: relay client <-> agent byte for byte, tee every line into a cassette.

Forward first, record second: the relay thread (:mod:`acp_tap.relay`) writes each chunk
to the other side, then hands it to the framing thread (:mod:`acp_tap.record_framing`),
and the cassette is written by a third (:mod:`acp_tap.cassette.writer`). If either falls
more than its budget behind, the relay waits (memory stays bounded, no frame is lost);
only a disk making no progress at all for ``writer.STALL`` seconds makes the writer drop
frames. trio runs the agent, forwards signals, and bounds how long its output is awaited.
"""

from __future__ import annotations

import contextlib
import datetime
import os
import platform
import signal
import time
from collections.abc import AsyncIterator, Callable, Sequence
from pathlib import Path
from typing import TYPE_CHECKING, Any

import attrs
import trio

from acp_tap import __version__
from acp_tap.agentgroup import AgentGroup
from acp_tap.cassette.model import FAULTS_FORMAT, FORMAT_VERSION, Direction, Footer, Header
from acp_tap.cassette.recorder import Recorder
from acp_tap.cassette.writer import CassetteWriter
from acp_tap.errors import AgentStartError
from acp_tap.record_framing import Framing
from acp_tap.record_report import ending
from acp_tap.redaction import RedactionRules, Redactor
from acp_tap.relay import Relay, Route, prepare, write_all

if TYPE_CHECKING:
    from acp_tap.faults.spec import Fault
    from acp_tap.record_faults import RecordFaults

FORWARDED_SIGNALS = (signal.SIGINT, signal.SIGTERM, signal.SIGHUP)
_OUTPUTS = (Direction.AGENT_TO_CLIENT, Direction.AGENT_STDERR)


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
    faults: tuple[Fault, ...] = ()  # --fault: change what the other side is sent (live.py)
    fault_seed: int = 0


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
    """The cassette header for a recording starting now (its argv redacted by the rules)."""
    return Header(
        acp_tap=__version__,
        argv=Redactor(config.rules).argv(config.argv),
        cwd=os.getcwd(),
        started=utc_now(),
        python=platform.python_version(),
        platform=platform.platform(),
        pid=os.getpid(),
        redaction=config.rules.describe(),
        faults=tuple(fault.spec for fault in config.faults),
        format=FAULTS_FORMAT if config.faults else FORMAT_VERSION,
    )


async def record(config: RecordConfig, client_in: int, client_out: int, log: int) -> RecordResult:
    """Run the agent, relay and record until it exits; return its status.

    Takes ``client_in`` and ``client_out`` (the client's ends, closed when done); writes
    the agent's stderr and acp-tap's own messages to ``log``. Raises
    :class:`~acp_tap.errors.CassetteCreateError` or :class:`~acp_tap.errors.AgentStartError`
    before any byte is relayed.
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
    client_in: int,
    client_out: int,
    log: int,
) -> RecordResult:
    writer = CassetteWriter.create(config.cassette, make_header(config), force=config.force)
    pipes = [os.pipe2(os.O_CLOEXEC) for _ in range(3)]  # the agent's stdin, stdout, stderr
    (stdin, to_agent), (from_agent, stdout), (from_stderr, stderr) = pipes
    try:
        process = await trio.lowlevel.open_process(
            list(config.argv),
            stdin=stdin,
            stdout=stdout,
            stderr=stderr,
            process_group=0,  # a terminal's ^C reaches acp-tap alone, which forwards it once
        )
    except OSError as exc:
        writer.discard()
        for fd in (to_agent, from_agent, from_stderr):
            os.close(fd)
        raise spawn_error(config.argv[0], exc) from None
    finally:
        for fd in (stdin, stdout, stderr):  # the agent's ends: the child has its own copies
            os.close(fd)
    group = AgentGroup.watch(process.pid)
    for fd in (client_in, client_out, log, to_agent, from_agent, from_stderr):
        prepare(fd)
    framing = Framing(Recorder(Redactor(config.rules)), writer, time.monotonic())
    session = _Session(config, process, writer, framing, log)
    route: Callable[..., Route] = Route
    recorded, ended = session.recorded, session.ended
    if config.faults:  # an explicit exception to "never alter traffic": only when asked
        from acp_tap.record_faults import RecordFaults

        noise = lambda data: session.relay.send(Direction.AGENT_STDERR, data)  # noqa: E731
        session.faults = faults = RecordFaults.of(
            config.faults, config.fault_seed, noise, framing.started
        )
        framing.fault_records = faults.records
        route = faults.route
        recorded, ended = faults.recording(recorded), faults.recording(ended)
    routes = (
        route(Direction.CLIENT_TO_AGENT, client_in, to_agent),
        route(Direction.AGENT_TO_CLIENT, from_agent, client_out, watch_sink=True),
        Route(Direction.AGENT_STDERR, from_stderr, log, owns_sink=False),
    )
    session.relay = Relay(routes, recorded, ended, session.lost)
    try:
        await session.run(signals)
    finally:
        if process.returncode is None:
            process.kill()
        with trio.CancelScope(shield=True):
            await process.wait()
        group.end(config.grace)
    result = session.finish()
    if session.faults is not None:
        await session.faults.linger(signals, signalled=session.closed_first == "signal")
    return result


@attrs.define(eq=False)
class _Session:
    config: RecordConfig
    process: trio.Process
    writer: CassetteWriter
    framing: Framing
    log: int
    relay: Relay = attrs.field(init=False)
    token: trio.lowlevel.TrioToken = attrs.field(factory=trio.lowlevel.current_trio_token)
    outputs_done: trio.Event = attrs.field(factory=trio.Event)
    outputs_open: int = len(_OUTPUTS)
    client_gone: trio.Event = attrs.field(factory=trio.Event)
    client_left: set[str] = attrs.field(factory=set)  # "stdin" ended, "stdout" lost
    closed_first: str | None = None
    reported: bool = False
    faults: RecordFaults | None = None  # with --fault

    async def run(self, signals: AsyncIterator[int] | None) -> None:
        """Relay until the agent has exited and its output has ended (or ``drain`` passed),
        and the output held for faults is out."""
        async with trio.open_nursery() as nursery:
            if signals is not None:
                nursery.start_soon(self._forward_signals, signals, nursery)
            if self.faults is not None:
                nursery.start_soon(
                    self.faults.end_agent_after_crash, self.process, self.config.grace
                )
            nursery.start_soon(_run_relay, self.relay)
            nursery.start_soon(self._end_agent_when_client_gone)
            await self.process.wait()
            with trio.move_on_after(self.config.drain):
                await self.outputs_done.wait()
            if self.faults is not None:  # by now the relay has read what the agent wrote
                with trio.move_on_after(self.faults.holding()):
                    await self.outputs_done.wait()
            nursery.cancel_scope.cancel()

    def recorded(self, direction: Direction, chunk: bytes, fired: Sequence[Any] = ()) -> None:
        """A chunk was forwarded (in the relay's thread): record it (``fired``: the faults
        it fired)."""
        self.framing.chunk(direction, chunk, fired)
        self._say_failure()

    def ended(self, direction: Direction, fired: Sequence[Any] = ()) -> None:
        """A stream ended (in the relay's thread)."""
        self.framing.end(direction, fired)
        self._say_failure()
        if direction is Direction.CLIENT_TO_AGENT:
            self._client_left("stdin")
        if self.closed_first is None and direction is not Direction.AGENT_STDERR:
            self.closed_first = "client" if direction is Direction.CLIENT_TO_AGENT else "agent"
        if direction in _OUTPUTS:
            self.outputs_open -= 1
            if not self.outputs_open:
                self.token.run_sync_soon(self.outputs_done.set)

    def lost(self, direction: Direction) -> None:
        """A stream's reader is gone, or writing it failed (in the relay's thread)."""
        if direction is Direction.AGENT_TO_CLIENT:
            self._client_left("stdout")

    def _client_left(self, end: str) -> None:
        self.client_left.add(end)
        if len(self.client_left) == 2:
            self.token.run_sync_soon(self.client_gone.set)

    async def _end_agent_when_client_gone(self) -> None:
        """The client closed stdin and stdout (or writing to it failed): the agent, whose
        stdin is closed, gets ``grace`` seconds to exit, then SIGTERM, then SIGKILL."""
        await self.client_gone.wait()
        for signum in (signal.SIGTERM, signal.SIGKILL):
            with trio.move_on_after(self.config.grace):
                await self.process.wait()
            if self.process.returncode is not None:
                return
            self.process.send_signal(signum)

    def finish(self) -> RecordResult:
        """Write the footer (after the relay has stopped) and say how the session ended."""
        if not self.framing.close(10.0):
            self.say("framing the cassette's last lines took too long; giving up")
        returncode = self.process.returncode
        assert returncode is not None
        status = exit_status(returncode)
        closed_first = self.closed_first or "agent"
        if self.faults is not None:  # what the client saw: a crash's status, an early end
            status, closed_first = self.faults.seen(status, closed_first)
        footer = Footer(
            t=round(self.framing.now(), 6),
            ended=utc_now(),
            status=status,
            exit_code=returncode if returncode >= 0 else None,
            signal=-returncode if returncode < 0 else None,
            closed_first=closed_first,
            frames={
                d.value: n + self.framing.lines_not_framed(d)
                for d, n in self.framing.recorder.counts.items()
            },
            stream_errors=dict(self.relay.errors),
        )
        if not self.writer.close(footer, 10.0):
            self.say(f"cassette {self.writer.path} is still being written; giving up")
        footer = self.writer.footer or footer
        self._report(footer)
        return RecordResult(status, footer, self.writer.error)

    def _report(self, footer: Footer) -> None:
        """Say what is in the cassette, truthfully (:func:`acp_tap.record_report.ending`)."""
        for line in ending(self.writer, footer, quiet=self.config.quiet, said=self.reported):
            self.say(line)

    def say(self, message: str) -> None:
        """Write a message to the log (once the relay has stopped; it owns the log until then)."""
        with contextlib.suppress(OSError):
            write_all(self.log, message_line(message))

    def _say_failure(self) -> None:
        """Say once, in order with the agent's stderr, what stopped the recording."""
        error = self.writer.error
        if error is not None and not self.reported:
            self.reported = True
            self.relay.send(Direction.AGENT_STDERR, message_line(error))

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


def message_line(message: str) -> bytes:
    """One line of acp-tap's own on stderr."""
    return f"acp-tap record: {message}\n".encode()


async def _run_relay(relay: Relay) -> None:
    """Run ``relay`` in a worker thread; cancelling this stops it, and waits until it has."""
    try:
        async with trio.open_nursery() as nursery:
            nursery.start_soon(_stop_when_cancelled, relay)
            await trio.to_thread.run_sync(relay.run)
            nursery.cancel_scope.cancel()
    finally:
        relay.close()


async def _stop_when_cancelled(relay: Relay) -> None:
    try:
        await trio.sleep_forever()
    finally:
        relay.stop()


def default_cassette_name(argv0: str, *, pid: int | None = None) -> str:
    """``20261122T103105Z-kiro-cli-<pid>.ndjson``: sortable by time, unique per process."""
    stamp = datetime.datetime.now(datetime.UTC).strftime("%Y%m%dT%H%M%SZ")
    base = (
        "".join(c if c.isalnum() or c in "._-" else "_" for c in os.path.basename(argv0)) or "agent"
    )
    return f"{stamp}-{base}-{pid if pid is not None else os.getpid()}.ndjson"
