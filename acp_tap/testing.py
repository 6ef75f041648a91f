"""Fake ACP agents for client tests: replay a cassette in-process or as a subprocess.

:class:`FakeAgent` gives a client the agent in the two ways clients need it: an argv to
spawn (any language), or in-process (no subprocess): a trio stream, or an asyncio
``(StreamReader, StreamWriter)`` pair for asyncio clients. In recording mode the
same two ways reach the real agent behind ``acp-tap record``. :meth:`FakeAgent.verify`
then says whether the client said exactly what the cassette expected. The pytest plugin
(:mod:`acp_tap.pytest_plugin`) builds one per test; this module works without pytest.
"""

from __future__ import annotations

import asyncio
import contextlib
import json
import os
import signal
import subprocess
import sys
import time
from collections.abc import AsyncIterator, Sequence
from contextlib import asynccontextmanager
from pathlib import Path
from typing import Any

import attrs
import trio
import trio.testing

from acp_tap.agentgroup import running
from acp_tap.cassette.model import Direction
from acp_tap.errors import AcpTapError
from acp_tap.golden import assert_agent_matches, run_agent_against, run_agent_against_async
from acp_tap.replay.actions import OnMismatch, ReplayOptions, Report, ReportKind
from acp_tap.replay.tap import TapReceive, TapSend, Transcript
from acp_tap.rerun.result import AgentChangedError

REPORT_WAIT = 2.0
"""Seconds a test's end waits for its spawned replay processes to finish (the client
closing their stdin), once; then they are stopped and reported."""
STOP_WAIT = 2.0
"""Seconds a stopped replay process has to write its report."""


class ReplayMismatchError(AcpTapError, AssertionError):
    """The client did not say what the cassette expected (a test failure)."""


@attrs.frozen
class Run:
    """The outcome of one replay: its exit status, mismatch reports and transcript."""

    status: int | None  # None: the process never finished
    reports: tuple[str, ...]
    transcript: Transcript
    marks: tuple[tuple[int, str, str], ...] = ()  # (recorded seq, kind, summary) to point at
    faults: tuple[str, ...] = ()  # the faults that fired, and where


def replay_options_args(options: ReplayOptions) -> list[str]:
    """``acp-tap replay`` options equivalent to ``options``."""
    args = [arg for path in options.ignore for arg in ("--ignore", path)]
    if options.allow_repeats:
        args.append("--allow-repeats")
    if options.allow_unused:
        args.append("--allow-unused")
    if options.on_mismatch is OnMismatch.EXIT:
        args += ["--on-mismatch", "exit"]
    if options.speed is not None:
        args += ["--speed", repr(options.speed)]
    if options.stderr:
        args.append("--stderr")
    if options.stall_timeout != ReplayOptions().stall_timeout:
        args += ["--stall-timeout", repr(options.stall_timeout)]
    args += [arg for fault in options.faults for arg in ("--fault", fault.spec)]
    if options.fault_seed:
        args += ["--fault-seed", str(options.fault_seed)]
    return args


@attrs.define(eq=False)
class FakeAgent:
    """A cassette's agent for one test: replayed, or recorded from ``real_agent``."""

    cassette: Path
    workdir: Path  # private scratch space for replay reports (one per test)
    options: ReplayOptions = ReplayOptions()
    real_agent: tuple[str, ...] | None = None  # set: record this agent into the cassette
    _runs: list[Run] = attrs.field(factory=list)
    _spawned: list[Run] | None = None  # gathered once, after the test

    @property
    def faults(self) -> list[str]:
        """The fault specs in force (``--fault``); set it to change them for later runs."""
        return [fault.spec for fault in self.options.faults]

    @faults.setter
    def faults(self, specs: Sequence[str]) -> None:
        from acp_tap.faults.spec import parse_faults

        self.options = attrs.evolve(self.options, faults=parse_faults(list(specs)))

    @property
    def fired(self) -> list[str]:
        """The faults that fired in every replay so far, and where."""
        return [fault for run in self.runs() for fault in run.faults]

    @property
    def recording(self) -> bool:
        """Whether the real agent is being recorded (instead of the cassette replayed)."""
        return self.real_agent is not None

    @property
    def report_path(self) -> Path:
        """Where spawned replay processes append their reports."""
        return self.workdir / "replay-reports.ndjson"

    @property
    def argv(self) -> list[str]:
        """The command a client spawns as its agent."""
        acp_tap = [sys.executable, "-m", "acp_tap"]
        if self.real_agent is not None:
            return [
                *acp_tap,
                "record",
                "-q",
                "--force",
                "-o",
                str(self.cassette),
                "--",
                *self.real_agent,
            ]
        return [
            *acp_tap,
            "replay",
            str(self.cassette),
            *replay_options_args(self.options),
            "--report",
            str(self.report_path),
        ]

    @asynccontextmanager
    async def connect(
        self, *, timeout: float = 30.0
    ) -> AsyncIterator[trio.abc.HalfCloseableStream]:
        """An in-process connection to the agent, as a trio stream (send = client's writes).

        On exit the client's side is closed (the agent sees EOF) and the replay is awaited.
        """
        if self.real_agent is not None:
            async with self._connect_recorder(timeout) as stream:
                yield stream
            return
        from acp_tap.replay.agent import serve
        from acp_tap.replay.engine import ReplayEngine

        engine = ReplayEngine.from_path(self.cassette, self.options)
        client_end, agent_end = trio.testing.memory_stream_pair()
        transcript = Transcript()
        reports: list[str] = []
        marks: list[tuple[int, str, str]] = []
        fired: list[str] = []
        status: int | None = None

        done = trio.Event()

        def on_report(report: Report) -> None:
            reports.append(_render(report))
            if (mark := report.mark) is not None:
                marks.append(mark)

        async def run() -> None:
            nonlocal status
            try:
                status = await serve(
                    engine,
                    TapReceive(agent_end.receive_stream, transcript, Direction.CLIENT_TO_AGENT),
                    TapSend(agent_end.send_stream, transcript, Direction.AGENT_TO_CLIENT),
                    on_report=on_report,
                    on_fault=fired.append,
                    hold_after_input=False,
                )
            finally:
                done.set()

        async with trio.open_nursery() as nursery:
            nursery.start_soon(run)
            try:
                yield client_end
            finally:
                with trio.move_on_after(timeout):
                    with contextlib.suppress(trio.BrokenResourceError, trio.ClosedResourceError):
                        await client_end.send_eof()
                    await done.wait()
                nursery.cancel_scope.cancel()
                if status is None:
                    reports.append(
                        f"the replay did not end within {timeout} s after the client closed"
                    )
                self._runs.append(
                    Run(status, tuple(reports), transcript, tuple(marks), tuple(fired))
                )

    @asynccontextmanager
    async def _connect_recorder(
        self, timeout: float
    ) -> AsyncIterator[trio.abc.HalfCloseableStream]:
        proc = await trio.lowlevel.open_process(
            self.argv, stdin=subprocess.PIPE, stdout=subprocess.PIPE
        )
        assert proc.stdin is not None
        assert proc.stdout is not None
        stream = trio.StapledStream(proc.stdin, proc.stdout)
        try:
            yield stream
        finally:
            with trio.move_on_after(timeout):
                await proc.stdin.aclose()
                await proc.wait()
            if proc.returncode is None:
                proc.kill()
                with trio.CancelScope(shield=True):
                    await proc.wait()
            self._runs.append(Run(proc.returncode, (), Transcript()))

    @asynccontextmanager
    async def asyncio_streams(
        self, *, timeout: float = 30.0
    ) -> AsyncIterator[tuple[asyncio.StreamReader, asyncio.StreamWriter]]:
        """An in-process connection to the agent for asyncio clients: ``(reader, writer)``,
        what the agent sends and what the client sends (``acp.connect_to_agent(client,
        writer, reader)``). The same replay as :meth:`connect`, on the running event loop.

        On exit the writer is half-closed (the agent sees EOF), the replay is awaited for
        at most ``timeout`` seconds, and the streams are closed.
        """
        from acp_tap.testing_asyncio import record_streams, replay_streams

        if self.real_agent is not None:
            streams = record_streams(self.argv, timeout, self._runs)
        else:
            streams = replay_streams(self.cassette, self.options, timeout, self._runs)
        async with streams as pair:
            yield pair

    def runs(self) -> list[Run]:
        """Every replay so far: in-process ones, then spawned ones (waiting for those to end)."""
        return [*self._runs, *self._spawned_runs()]

    def _spawned_runs(self) -> list[Run]:
        """The spawned replays' reports: waited for once (at most :data:`REPORT_WAIT`); a
        replay still running then is stopped and reported as never closed by its client."""
        if self._spawned is not None:
            return self._spawned
        if self.real_agent is not None or not self.report_path.exists():
            return []
        started, ended, hung = self._wait_for_reports(REPORT_WAIT)
        lingering = {pid for pid in started - ended.keys() if running(pid)}
        for pid in lingering:
            with contextlib.suppress(OSError):
                os.kill(pid, signal.SIGTERM)  # it writes its report, then exits
        if lingering:
            started, ended, _ = self._wait_for_reports(STOP_WAIT)
        runs = []
        for pid in started:
            event = ended.get(pid)
            reports: tuple[str, ...] = ()
            if pid in lingering - hung:  # a replay hung by a fault lingers on purpose
                reports = (
                    f"the client never closed the agent's stdin: replay process {pid} was still "
                    f"running {REPORT_WAIT:g} s after the test ended, and was stopped (close "
                    "the agent's stdin, or end its process, when the client is done)",
                )
            if event is None:  # killed: with faults, that is how a client ends a hung agent
                gone = () if self.options.faults else (f"replay process {pid} wrote no report",)
                runs.append(Run(None, (*reports, *gone), Transcript()))
            else:
                transcript = Transcript.from_json(event["transcript"])
                marks = tuple((seq, kind, text) for seq, kind, text in event.get("marks", ()))
                faults = tuple(event.get("faults", ()))
                runs.append(
                    Run(event["status"], (*reports, *event["reports"]), transcript, marks, faults)
                )
        self._spawned = runs
        return runs

    def _wait_for_reports(self, seconds: float) -> tuple[set[int], dict[int, Any], set[int]]:
        """The replay processes that started, the end events written, and the replays hung
        by a fault after their client left, after waiting up to ``seconds`` for every
        started one to end (or hang)."""
        deadline = time.monotonic() + seconds
        while True:
            events = [
                json.loads(line) for line in self.report_path.read_text().splitlines() if line
            ]
            started = {e["pid"] for e in events if e["event"] == "start"}
            ended = {e["pid"]: e for e in events if e["event"] == "end"}
            hung = {e["pid"] for e in events if e["event"] == "hung"}
            if started <= ended.keys() | hung or time.monotonic() > deadline:
                return started, ended, hung
            time.sleep(0.02)

    @property
    def transcript(self) -> Transcript:
        """What the client and the agent said (the last run; the cassette when recording)."""
        if self.real_agent is not None:
            from acp_tap.cassette.reader import load

            return (
                Transcript.from_frames(load(self.cassette).frames)
                if self.cassette.exists()
                else Transcript()
            )
        runs = self.runs()
        return runs[-1].transcript if runs else Transcript()

    def write_trace(self, path: Path, title: str) -> bool:
        """Write the page of what each replay saw (:mod:`acp_tap.inspect.html.replay_trace`)
        to ``path``, replacing it; False when there is nothing to show (recording, no run)."""
        from acp_tap.inspect.html.replay_trace import LiveRun, write_replay_trace

        runs = [] if self.real_agent is not None else self.runs()
        if not runs:
            return False
        live = [LiveRun(tuple(r.transcript.frames()), r.marks, r.status) for r in runs]
        path.parent.mkdir(parents=True, exist_ok=True)
        write_replay_trace(path, self.cassette, live, title)
        return True

    def verify(self) -> None:
        """Raise :class:`ReplayMismatchError` unless every replay matched the cassette exactly."""
        if self.real_agent is not None:
            return
        runs = self.runs()
        if not runs:
            raise ReplayMismatchError(
                f"the fake agent for {self.cassette} was never started: spawn `acp_agent.argv` "
                "or use `async with acp_agent.connect()`"
            )
        expected = _expected_status(self.cassette)
        problems = []
        for n, run in enumerate(runs, start=1):  # with faults, they decide the status
            if self._failing(run.reports) or (run.status != expected and not self.options.faults):
                head = (
                    f"replay {n} of {self.cassette}: exit status {run.status}, expected {expected}"
                )
                problems.append("\n".join([head, *run.reports]))
        if problems:
            raise ReplayMismatchError("\n\n".join(problems))

    def _failing(self, reports: Sequence[str]) -> bool:
        """Whether reports fail the test: all do, but unused messages with allow_unused."""
        unused = f"acp-tap replay: mismatch ({ReportKind.UNUSED.value})"
        allowed = self.options.allow_unused
        return any(not (allowed and report.startswith(unused)) for report in reports)


def _expected_status(cassette: Path) -> int:
    """0, or the agent's own status when the recording ended with the agent exiting."""
    from acp_tap.cassette.reader import load

    footer = load(cassette).footer
    if footer is not None and footer.closed_first == "agent":
        return footer.status
    return 0


def _render(report: Report) -> str:
    return report.render().rstrip("\n")


def fake_agent_argv(
    cassette: str | os.PathLike[str], options: ReplayOptions | None = None
) -> list[str]:
    """The argv of ``acp-tap replay CASSETTE`` with ``options`` (for clients outside pytest)."""
    args = replay_options_args(options or ReplayOptions())
    return [sys.executable, "-m", "acp_tap", "replay", os.fspath(cassette), *args]


__all__: Sequence[str] = (
    "AgentChangedError",
    "FakeAgent",
    "ReplayMismatchError",
    "Run",
    "assert_agent_matches",
    "fake_agent_argv",
    "run_agent_against",
    "run_agent_against_async",
)
