"""``acp-tap demo``: record a scripted session with the bundled demo agent, then show it.

Needs nothing but acp-tap: the client is :mod:`acp_tap.demo.client`, the agent
``acp-tap demo-agent``, and the recording goes through the real ``acp-tap record``.
"""

from __future__ import annotations

import argparse
import os
import sys
from pathlib import Path

DESCRIPTION = """\
Record a short scripted session (handshake, a tool call with a permission request, a file
read) between a built-in client and the bundled demo agent, through the real recording
proxy, then print the cassette's timeline. No network, no real agent needed. The cassette
is written whole or not at all, and never replaces a file without --force.
"""

EPILOG = """\
exit status: 0; 73 the cassette cannot be created (exists without --force, a symlink, no
permission); or the recorded agent's status if the demo session failed (nothing is written)

examples:
  acp-tap demo
  acp-tap demo -o session.ndjson && acp-tap check session.ndjson
"""


def add_parser(subparsers: argparse._SubParsersAction[argparse.ArgumentParser]) -> None:
    """Register ``demo``."""
    parser = subparsers.add_parser(
        "demo",
        help="record a scripted session with the bundled demo agent and show it",
        description=DESCRIPTION,
        epilog=EPILOG,
        formatter_class=argparse.RawDescriptionHelpFormatter,
    )
    parser.add_argument(
        "-o",
        "--output",
        type=Path,
        metavar="FILE",
        help="cassette to write (default: ./cassettes/...)",
    )
    parser.add_argument("--force", action="store_true", help="replace an existing -o FILE")
    parser.set_defaults(func=run)


def run(args: argparse.Namespace) -> int:
    """Record the demo session and print it."""
    import trio

    from acp_tap.record import default_cassette_name
    from acp_tap.wholefile import whole_file_path

    path: Path = args.output or Path("cassettes") / default_cassette_name("acp-tap-demo")
    with whole_file_path(path, force=args.force) as scratch:
        status = trio.run(record_demo, scratch)
        if status != 0:
            scratch.unlink(missing_ok=True)  # nothing is published
    if status != 0:
        print(f"acp-tap demo: the recording ended with status {status}", file=sys.stderr)
        return status
    print_timeline(path)
    print(
        f"\nrecorded to {path}\nnext: acp-tap check {path}    (schema and protocol rules)\n"
        f"      acp-tap replay {path}   (be this agent for a client, offline)",
        file=sys.stderr,
    )
    return 0


async def record_demo(path: Path) -> int:
    """Run the scripted client against ``acp-tap record -- acp-tap demo-agent``."""
    from acp_tap.demo.client import demo_script, record_argv, run_script

    script, policy = demo_script(os.getcwd())
    agent = record_argv(path, [sys.executable, "-m", "acp_tap", "demo-agent"])
    status, _ = await run_script(agent, script, policy)
    return status


def print_timeline(path: Path) -> None:
    """Print the cassette as ``acp-tap show`` does (coloured on a terminal)."""
    from acp_tap.cli import main

    main(["show", str(path)])
