"""The ``acp-tap`` command line: one subcommand per module, each with ``add_parser`` and ``run``."""

from __future__ import annotations

import argparse
import importlib
import sys
from collections.abc import Sequence
from typing import Protocol

from acp_tap import __version__
from acp_tap.errors import AcpTapError

EXIT_CODES = """\
exit status:
  0        success (record: the agent exited 0)
  1        check/diff/replay found a difference or an error in the traffic
  2        usage error, or a cassette that cannot be read
  73       the cassette file cannot be created (exists without --force, no permission, ...)
  126      the agent command is not executable
  127      the agent command was not found
  128+N    record: the agent was killed by signal N
  other    record: the agent's own exit status
"""

SUBCOMMANDS = (
    "acp_tap.commands.record",
    "acp_tap.commands.replay",
    "acp_tap.commands.demo",
    "acp_tap.commands.demo_session",
    "acp_tap.commands.demo_client",
    "acp_tap.commands.show",
    "acp_tap.commands.check",
    "acp_tap.commands.redact",
    "acp_tap.commands.diff",
    "acp_tap.commands.rerun",
    "acp_tap.commands.torture",
)


class Subcommand(Protocol):
    """What a subcommand module provides."""

    def add_parser(self, subparsers: argparse._SubParsersAction[argparse.ArgumentParser]) -> None:
        """Register the subcommand's parser, setting ``func=run`` as its default."""


def build_parser() -> argparse.ArgumentParser:
    """The full argument parser."""
    parser = argparse.ArgumentParser(
        prog="acp-tap",
        description="Record and replay Agent Client Protocol (ACP) sessions.",
        epilog=EXIT_CODES,
        formatter_class=argparse.RawDescriptionHelpFormatter,
    )
    parser.add_argument("--version", action="version", version=f"acp-tap {__version__}")
    subparsers = parser.add_subparsers(dest="command", metavar="COMMAND", required=True)
    for name in SUBCOMMANDS:
        module: Subcommand = importlib.import_module(name)
        module.add_parser(subparsers)
    return parser


def main(argv: Sequence[str] | None = None) -> int:
    """Run ``acp-tap`` with ``argv`` (default: ``sys.argv[1:]``); return the exit status."""
    parser = build_parser()
    args = parser.parse_args(argv)
    try:
        status: int = args.func(args)
    except AcpTapError as exc:
        print(f"acp-tap: {exc}", file=sys.stderr)
        return exc.exit_code
    except KeyboardInterrupt:
        return 130
    return status
