"""Run a client once per scenario against ``acp-tap replay --fault``: the trio shell.

The client runs in a session of its own, with its stdin and stdout on ``/dev/null`` and
its stderr kept (the last line is reported). It gets ``--timeout`` seconds; then it is
hung, and its process group is killed. Each replay it starts appends events to a report
file (``acp-tap replay --report``): they say whether the client closed the agent's stdin.
Replays still running when the client is gone are stopped (SIGTERM, so they report, then
SIGKILL), so nothing outlives its scenario.
"""

from __future__ import annotations

import contextlib
import json
import os
import shlex
import signal
import subprocess
import sys
from collections.abc import Callable, Sequence
from pathlib import Path
from typing import Any

import trio

from acp_tap.agentgroup import running
from acp_tap.errors import AcpTapError
from acp_tap.record import spawn_error
from acp_tap.torture.scenarios import Scenario
from acp_tap.torture.table import Outcome

STDERR_KEPT = 1 << 16
"""Bytes of the client's stderr kept (its end)."""
SETTLE_WAIT = 0.5
"""Seconds a replay has to end by itself once its client is gone (it sees end of input)."""
STOP_WAIT = 2.0
"""Seconds a replay left running after its client has, to write its report after SIGTERM."""
DRAIN_WAIT = 1.0
"""Seconds the client's stderr is read after it exited (a leftover child may hold it)."""


def agent_words(
    cassette: Path, scenario: Scenario, report: Path, options: Sequence[str] = ()
) -> list[str]:
    """The replay command for one scenario (``options``: more ``acp-tap replay`` options)."""
    words = [sys.executable, "-m", "acp_tap", "replay", *options, "--report", str(report)]
    if scenario.fault is not None:
        words += ["--fault", scenario.fault]
    return [*words, str(cassette)]


def substitute(argv: Sequence[str], words: Sequence[str]) -> list[str]:
    """``{agent}`` alone becomes the words; inside a longer element, the shell-quoted line."""
    out: list[str] = []
    for arg in argv:
        if arg == "{agent}":
            out.extend(words)
        else:
            out.append(arg.replace("{agent}", shlex.join(words)))
    return out


def _events(report: Path) -> list[dict[str, Any]]:
    try:
        text = report.read_text()
    except FileNotFoundError:
        return []
    events = []
    for line in text.splitlines():
        with contextlib.suppress(ValueError):
            events.append(json.loads(line))
    return events


def _pids(events: list[dict[str, Any]], kind: str) -> set[int]:
    return {e["pid"] for e in events if e.get("event") == kind}


def closed_stdin(events: list[dict[str, Any]]) -> bool | None:
    """Whether the client closed the stdin of every replay that ran until it could
    (None: no replay ran, or each exited first, as after a crash)."""
    ends = {e["pid"]: e for e in events if e.get("event") == "end"}
    hung = _pids(events, "hung")
    closed: list[bool] = []
    for pid in _pids(events, "start"):
        end = ends.get(pid)
        if pid in hung or (end is not None and end.get("input_closed")):
            closed.append(True)
        elif end is None or end.get("status") == 128 + signal.SIGTERM:
            closed.append(False)  # still running when the client had gone
    return all(closed) if closed else None


def _signal(pid: int, signum: int, *, group: bool = False) -> None:
    with contextlib.suppress(ProcessLookupError, PermissionError):
        (os.killpg if group else os.kill)(pid, signum)


async def _stop_replays(report: Path) -> list[dict[str, Any]]:
    """Stop the replays still running, once they had a moment to end or hang on their own
    (they report on SIGTERM); their events."""
    events = _events(report)

    def left(*done: str) -> set[int]:
        finished = set().union(*(_pids(events, kind) for kind in done))
        return {pid for pid in _pids(events, "start") - finished if running(pid)}

    with trio.move_on_after(SETTLE_WAIT):
        while left("end", "hung"):
            await trio.sleep(0.02)
            events = _events(report)
    for pid in left("end"):
        _signal(pid, signal.SIGTERM)
    with trio.move_on_after(STOP_WAIT):
        while left("end"):
            await trio.sleep(0.02)
            events = _events(report)
    for pid in left("end"):
        _signal(pid, signal.SIGKILL)
    return events


async def _keep_tail(stream: trio.abc.ReceiveStream, tail: bytearray) -> None:
    while chunk := await stream.receive_some():
        tail.extend(chunk)
        del tail[:-STDERR_KEPT]


def last_line(data: bytes) -> str:
    """The last line with something on it."""
    lines = [line for line in data.decode("utf-8", "replace").splitlines() if line.strip()]
    return lines[-1].strip() if lines else ""


async def run_scenario(
    argv: Sequence[str],
    cassette: Path,
    scenario: Scenario,
    timeout: float,
    report: Path,
    *,
    options: Sequence[str] = (),
) -> Outcome:
    """Run the client once against the scenario's replay."""
    command = substitute(argv, agent_words(cassette, scenario, report, options))
    began = trio.current_time()
    try:
        proc = await trio.lowlevel.open_process(
            command,
            stdin=subprocess.DEVNULL,
            stdout=subprocess.DEVNULL,
            stderr=subprocess.PIPE,
            start_new_session=True,
        )
    except OSError as exc:
        raise spawn_error(command[0], exc) from None
    assert proc.stderr is not None
    tail = bytearray()
    hung = False
    try:
        async with trio.open_nursery() as nursery:
            nursery.start_soon(_keep_tail, proc.stderr, tail)
            with trio.move_on_after(timeout):
                await proc.wait()
            seconds = trio.current_time() - began
            hung = proc.returncode is None
            at_the_end = _events(report)  # whether the agent's stdin was closed by then
            if hung:
                _signal(proc.pid, signal.SIGKILL, group=True)  # with whatever it started
                await proc.wait()
            events = await _stop_replays(report)
            _signal(proc.pid, signal.SIGKILL, group=True)  # whatever else it left behind
            with trio.move_on_after(DRAIN_WAIT):
                await _drained(nursery)
            nursery.cancel_scope.cancel()
    finally:
        if proc.returncode is None:
            _signal(proc.pid, signal.SIGKILL, group=True)
            with trio.CancelScope(shield=True):
                await proc.wait()
    code = proc.returncode
    assert code is not None
    killed_by = -code if code < 0 and not hung else None
    return Outcome(
        scenario,
        None if hung or code < 0 else code,
        killed_by,
        round(seconds, 3),
        hung,
        closed_stdin(at_the_end if hung else events),
        last_line(bytes(tail)),
    )


async def _drained(nursery: trio.Nursery) -> None:
    """Until the nursery's tasks (the stderr reader) have ended."""
    while nursery.child_tasks:
        await trio.sleep(0.01)


async def torture(
    cassette: Path,
    argv: Sequence[str],
    scenarios: Sequence[Scenario],
    timeout: float,
    *,
    workdir: Path,
    options: Sequence[str] = (),
    on_outcome: Callable[[Outcome], object] | None = None,
    jobs: int = 1,
) -> list[Outcome]:
    """Every scenario, ``jobs`` at a time (by default one at a time, so timings are the
    client's own); ``on_outcome`` is called in scenario order, as soon as it can be."""
    outcomes: list[Outcome | None] = [None] * len(scenarios)
    told = 0
    limiter = trio.CapacityLimiter(jobs)
    failed: list[Exception] = []  # the first error that ends the run, raised as it is

    async def one(n: int, scenario: Scenario, nursery: trio.Nursery) -> None:
        nonlocal told
        report = workdir / f"{n + 1:02d}-{scenario.name.replace('@', '-')}.ndjson"
        try:
            async with limiter:
                outcomes[n] = await run_scenario(
                    argv, cassette, scenario, timeout, report, options=options
                )
            while told < len(outcomes) and (ready := outcomes[told]) is not None:
                told += 1
                if on_outcome is not None:
                    on_outcome(ready)
        except (AcpTapError, OSError) as exc:  # the client cannot start; our stdout is gone
            failed.append(exc)
            nursery.cancel_scope.cancel()

    async with trio.open_nursery() as nursery:
        for n, scenario in enumerate(scenarios):
            nursery.start_soon(one, n, scenario, nursery)
    if failed:
        raise failed[0]
    return [outcome for outcome in outcomes if outcome is not None]
