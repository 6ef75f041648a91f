"""``acp-tap demo-client -- AGENT...``: the scripted client of ``acp-tap demo``, on any agent.

A small client that behaves well: every request waits at most ``--timeout`` seconds, an
agent that errs, goes away or falls silent is reported in one line (exit 1), stdin is
closed at the end and an agent that does not exit within 2 s then is killed. ``acp-tap
torture`` shows what that looks like against every fault.
"""

from __future__ import annotations

import argparse
import os
import subprocess
import sys

from acp_tap.commands.options import after_dashes, positive_number

EXIT_GRACE = 2.0
"""Seconds the agent has to exit once its stdin is closed, before it is killed."""

DESCRIPTION = """\
Play the conversation of `acp-tap demo` (the handshake in the current directory, a prompt
whose tool asks for permission, a prompt that reads ./notes.txt) with the agent AGENT,
print the agent's text, close its stdin and wait for it to exit. A cassette recorded by
`acp-tap demo` replays to it exactly, so `acp-tap torture` can show how a careful client
survives every fault.
"""

EPILOG = """\
exit status:
  0    the conversation went as scripted
  1    the agent answered an error, closed its output, exited, was silent for --timeout
       seconds, or did not exit within 2 s of its stdin closing (it is then killed)
  2    usage error
  127  AGENT not found

examples:
  acp-tap demo-client -- acp-tap demo-agent
  acp-tap demo -o demo.ndjson && acp-tap demo-client -- acp-tap replay demo.ndjson
  acp-tap torture demo.ndjson -- acp-tap demo-client -- {agent}
"""


def add_parser(subparsers: argparse._SubParsersAction[argparse.ArgumentParser]) -> None:
    """Register ``demo-client``."""
    parser = subparsers.add_parser(
        "demo-client",
        help="play the demo's scripted client against an agent (a well-behaved client)",
        description=DESCRIPTION,
        epilog=EPILOG,
        formatter_class=argparse.RawDescriptionHelpFormatter,
    )
    parser.add_argument(
        "--timeout",
        type=positive_number,
        default=5.0,
        metavar="SECONDS",
        help="how long a request waits for its answer (default 5)",
    )
    parser.add_argument("agent", nargs=argparse.REMAINDER, metavar="-- AGENT ...")
    parser.set_defaults(func=run)


def run(args: argparse.Namespace) -> int:
    """Drive the agent through the demo conversation."""
    import trio

    from acp_tap.errors import UsageError

    agent = after_dashes(args.agent)
    if not agent:
        raise UsageError("demo-client needs the agent command after --")
    status: int = trio.run(drive, agent, args.timeout)
    return status


async def drive(agent: list[str], timeout: float) -> int:
    """Run the conversation; 0 when it went as scripted, 1 (said on stderr) otherwise."""
    import trio

    from acp_tap.demo.client import ScriptedClient, agent_text, demo_script
    from acp_tap.errors import AcpTapError
    from acp_tap.record import spawn_error

    script, policy = demo_script(os.getcwd())
    try:
        proc = await trio.lowlevel.open_process(
            agent, stdin=subprocess.PIPE, stdout=subprocess.PIPE, stderr=subprocess.DEVNULL
        )
    except OSError as exc:
        raise spawn_error(agent[0], exc) from None
    assert proc.stdin is not None
    assert proc.stdout is not None
    client = ScriptedClient(proc.stdin, proc.stdout, policy, timeout=timeout)
    problem = None
    try:
        async with trio.open_nursery() as nursery:
            nursery.start_soon(client.run_reader)
            try:
                await script(client)
            except (AcpTapError, trio.BrokenResourceError) as exc:
                problem = str(exc) or "the agent's stdin is closed"
            nursery.cancel_scope.cancel()
        await proc.stdin.aclose()
        with trio.move_on_after(EXIT_GRACE):
            await proc.wait()
        if proc.returncode is None:
            late = f"the agent did not exit within {EXIT_GRACE:g} s of its stdin closing"
            problem = problem or late
    finally:
        if proc.returncode is None:
            proc.kill()
            with trio.CancelScope(shield=True):
                await proc.wait()
    print(agent_text(client.received))
    if problem is not None:
        status = proc.returncode
        print(f"acp-tap demo-client: {problem} (agent status {status})", file=sys.stderr)
        return 1
    return 0
