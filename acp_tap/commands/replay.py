"""``acp-tap replay``: act as the recorded agent on stdin/stdout."""

from __future__ import annotations

import argparse
import json
import os
import shlex
import sys
from pathlib import Path
from typing import TYPE_CHECKING, Any

from acp_tap.commands.options import (
    add_fault_options,
    add_max_line_option,
    positive_number,
    seconds_or_zero,
)
from acp_tap.errors import UsageError

if TYPE_CHECKING:
    from acp_tap.replay.engine import ReplayEngine

DESCRIPTION = """\
Speak ACP on stdin/stdout exactly like the agent recorded in CASSETTE, so a client can be
tested offline and deterministically. Every client message is checked against the
recording (JSON-RPC ids, trace context in _meta and --ignore paths are not compared);
each recorded agent frame is sent as soon as the client messages it depends on have
arrived: its request, the prompt of its turn, the answer to an agent request, a cancel.
A request that matches nothing is answered with a JSON-RPC error (code -32099) naming the
closest recorded message and the fields that differ; a readable diff goes to stderr.

A client is never left waiting in silence: when everything the replay could still send
waits for a client message that has not arrived, no agent request waits for the client,
and the client has sent nothing for --stall-timeout seconds, each request still waiting
gets the -32099 error naming the held frame and the message it waits for, and if none was
waiting the replay ends (the client sees end of file). Either way it exits 1.

Faults (--fault KIND[:key=value,...], repeatable) change what the client is sent, to test
how it survives a misbehaving agent; each one that fires is named on stderr with the frame
it hit. KIND is delay:ms=N[,jitter=N], slice:bytes=N[,gap_ms=N], hang, crash[:status=N],
close, drop, duplicate, garbage[:text=...], corrupt, error[:code=N,message=...],
stderr[:text=...,count=N] or flood[:count=N]. Selectors: method=GLOB (a response: the
method it answers), update=GLOB (a session/update kind), nth=N (the N-th selected frame,
in recorded order), p=P (a probability drawn from --fault-seed, the fault's position and
the frame's seq: a run repeats exactly). Without nth or p, hang, crash, close and error
hit the first frame they select, the others every one. A value holds a comma as \\,.
What a fault holds or withholds is never a stall, and recorded client messages it made
impossible are not counted as unused. After hang, stdout stays open until the replay is
killed, or 60 seconds after the client closed stdin.

examples:
  acp-tap replay session.ndjson
  acp-tap replay --ignore params.clientInfo.version --realtime session.ndjson
  acp-tap replay --allow-repeats --stall-timeout 5 fixtures/prompt-turn.ndjson
  acp-tap replay --fault 'crash:update=agent_message_chunk,nth=3' session.ndjson
  acp-tap replay --fault 'delay:ms=500,jitter=200,p=0.3' --fault-seed 7 session.ndjson
"""


EPILOG = """\
exit status:
  0    every client message matched and every recorded client message was used
  1    a mismatch, a stall, a client line longer than --max-line, or recorded client
       messages never arrived (see --allow-unused)
  2    usage error (bad option, bad --fault, unreadable or malformed cassette)
  N    the recording ended with the agent exiting on its own with status N (and all matched),
       or a crash fault fired (crash:status=N, default 1)
"""


def add_parser(subparsers: argparse._SubParsersAction[argparse.ArgumentParser]) -> None:
    """Register ``replay``."""
    parser = subparsers.add_parser(
        "replay",
        help="act as the recorded agent: a deterministic, protocol-aware fake agent",
        description=DESCRIPTION,
        epilog=EPILOG,
        formatter_class=argparse.RawDescriptionHelpFormatter,
    )
    parser.add_argument("cassette", metavar="CASSETTE", help="the cassette to replay")
    parser.add_argument(
        "--ignore",
        action="append",
        default=[],
        metavar="PATH",
        help="do not compare this path of client messages, e.g. params.clientInfo.version "
        '(dotted names, [N], [*], ["a.b"]; repeatable)',
    )
    parser.add_argument(
        "--allow-repeats",
        action="store_true",
        help="answer a repeated request again: the n-th repeat as the n-th recorded one "
        "(cycling), with the notifications that request alone released",
    )
    parser.add_argument(
        "--allow-unused",
        action="store_true",
        help="exit 0 even if some recorded client messages never arrived",
    )
    parser.add_argument(
        "--on-mismatch",
        choices=("error", "exit"),
        default="error",
        help="after a mismatch: answer an error and keep serving (default), or exit 1",
    )
    timing = parser.add_mutually_exclusive_group()
    timing.add_argument(
        "--realtime", action="store_true", help="reproduce the recorded gaps between frames"
    )
    timing.add_argument(
        "--speed",
        type=positive_number,
        metavar="X",
        help="like --realtime, X times faster (0.5: slower)",
    )
    parser.add_argument(
        "--stall-timeout",
        type=seconds_or_zero,
        default=1.0,
        metavar="SECONDS",
        help="seconds of client silence, while everything left waits for the client, that "
        "make a stall (default 1; with --realtime/--speed counted from when the held frame "
        "would be due; 0: never)",
    )
    parser.add_argument(
        "--stderr", action="store_true", help="replay the agent's recorded stderr lines too"
    )
    add_fault_options(parser, "see above")
    parser.add_argument(
        "--report",
        type=Path,
        metavar="FILE",
        help="append JSON lines to FILE: a start event, a hung event if a hang fault keeps "
        "it running after its client closed stdin, then an end event with the exit status, "
        "the mismatch reports, the faults that fired, whether the client closed stdin and "
        "the transcript (used by the pytest plugin and acp-tap torture)",
    )
    add_max_line_option(parser)
    parser.set_defaults(func=run)


def run(args: argparse.Namespace) -> int:
    """Replay one cassette to the client on stdin/stdout; return the exit status."""
    import gc

    import trio

    from acp_tap.faults.spec import parse_faults
    from acp_tap.replay.actions import OnMismatch, ReplayOptions
    from acp_tap.replay.agent import serve
    from acp_tap.replay.engine import ReplayEngine
    from acp_tap.replay.source import compile_path
    from acp_tap.stdio import open_stdio

    options = ReplayOptions(
        faults=parse_faults(args.fault),
        fault_seed=args.fault_seed,
        ignore=tuple(args.ignore),
        allow_repeats=args.allow_repeats,
        allow_unused=args.allow_unused,
        on_mismatch=OnMismatch(args.on_mismatch),
        speed=1.0 if args.realtime else args.speed,
        stderr=args.stderr,
        stall_timeout=args.stall_timeout,
    )
    gc.disable()  # loading allocates one object per frame: no collection can free any
    try:
        plan, cassette = compile_path(
            args.cassette, options.ignore, stderr=options.stderr, max_line=args.max_line
        )
        gc.freeze()  # the cassette lives until the end: keep it out of every later collection
    finally:
        gc.enable()
    for warning in cassette.warnings:
        print(f"acp-tap replay: warning: {warning}", file=sys.stderr)
    if cassette.header.faults and not options.faults:
        _warn_recorded_faults(args.cassette, cassette.header.faults)
    engine = ReplayEngine.from_plan(plan, options)
    if args.report is not None:
        return _run_reporting(engine, args.report, args.max_line)

    async def main() -> int:
        client_in, client_out, log = open_stdio()
        return await serve(
            engine, client_in, client_out, log, max_line=args.max_line, linger=_linger
        )

    status: int = trio.run(main)
    return status


def _warn_recorded_faults(path: str, specs: tuple[str, ...]) -> None:
    """The cassette was recorded with faults: say that they are not replayed, and how to."""
    from acp_tap.cassette.model import Direction
    from acp_tap.faults.spec import parse_fault

    agent_side = []
    for position, spec in enumerate(specs, start=1):
        try:
            fault = parse_fault(spec, position, record=True)
        except ValueError:
            continue
        if fault.direction is Direction.AGENT_TO_CLIENT:
            agent_side.append(f"--fault {shlex.quote(spec)}")
    how = f" (to show the client those again: {' '.join(agent_side)})" if agent_side else ""
    print(
        f"acp-tap replay: warning: {path} was recorded with faults; the replay sends what "
        f"the agent sent{how}",
        file=sys.stderr,
    )


def _run_reporting(engine: ReplayEngine, path: Path, max_line: int) -> int:
    """Serve as :func:`run` does, appending start and end events (with a transcript) to
    ``path``. SIGTERM (the pytest plugin stopping a replay whose client never closed its
    input) ends the replay with its report written."""
    import signal

    import trio

    from acp_tap.cassette.model import Direction
    from acp_tap.replay.actions import Report
    from acp_tap.replay.agent import serve
    from acp_tap.replay.tap import TapReceive, TapSend, Transcript
    from acp_tap.stdio import open_stdio

    pid = os.getpid()
    _append(path, {"event": "start", "pid": pid})
    transcript = Transcript()
    reports: list[str] = []
    marks: list[tuple[int, str, str]] = []

    def on_report(report: Report) -> None:
        reports.append(report.render().rstrip("\n"))
        if (mark := report.mark) is not None:
            marks.append(mark)

    faults: list[str] = []
    tapped: TapReceive | None = None

    async def linger() -> None:
        _append(path, {"event": "hung", "pid": pid})  # the plugin stops it: no complaint
        await _linger()

    async def main() -> int:
        nonlocal tapped
        client_in, client_out, log = open_stdio()
        tapped = TapReceive(client_in, transcript, Direction.CLIENT_TO_AGENT)
        status = 128 + signal.SIGTERM
        with trio.open_signal_receiver(signal.SIGTERM) as signals:
            async with trio.open_nursery() as nursery:

                async def replay() -> None:
                    nonlocal status
                    status = await serve(
                        engine,
                        tapped,
                        TapSend(client_out, transcript, Direction.AGENT_TO_CLIENT),
                        log,
                        on_report=on_report,
                        max_line=max_line,
                        on_fault=faults.append,
                        linger=linger,
                    )
                    nursery.cancel_scope.cancel()

                nursery.start_soon(replay)
                async for _ in signals:
                    if not engine.done:
                        reports.append(
                            "the replay was stopped by SIGTERM before its client closed its input"
                        )
                    nursery.cancel_scope.cancel()
        return status

    status: int = trio.run(main)
    end = {"event": "end", "pid": pid, "status": status, "reports": reports, "marks": marks}
    end |= {"faults": faults, "input_closed": tapped is not None and tapped.ended}
    _append(path, {**end, "transcript": transcript.to_json()})
    return status


async def _linger() -> None:
    """What a replay hung by a fault does once its client closed stdin: keep stdout open."""
    import trio

    from acp_tap.faults.spec import HANG_LINGER

    await trio.sleep(HANG_LINGER)


def _append(path: Path, event: dict[str, Any]) -> None:
    """Append one JSON line with one write (several replays may share the file)."""
    line = (json.dumps(event, separators=(",", ":")) + "\n").encode()
    try:
        fd = os.open(path, os.O_WRONLY | os.O_APPEND | os.O_CREAT, 0o644)
    except OSError as exc:
        raise UsageError(f"--report {path}: cannot open ({exc.strerror or exc})") from None
    try:
        view = memoryview(line)
        while view:
            view = view[os.write(fd, view) :]
    finally:
        os.close(fd)
