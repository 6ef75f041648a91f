"""The ``acp-tap`` command line: one subcommand per module, each with ``add_parser`` and ``run``."""

from __future__ import annotations

import argparse
import importlib
import sys
from collections.abc import Sequence
from typing import Any, Protocol

from acp_tap import __version__
from acp_tap.errors import AcpTapError

EXIT_CODES = """\
exit status:
  0        success (record: the agent exited 0)
  1        check/diff/replay/rerun found a difference or an error in the traffic
  2        usage error, or a cassette that cannot be read
  73       an output file (cassette, --html page) cannot be created: it exists without
           --force, no permission, a symbolic link or not a regular file
  126      the agent command is not executable
  127      the agent command was not found
  128+N    record: the agent was killed by signal N
  other    record: the agent's own exit status

Errors are one line on stderr: `acp-tap COMMAND: what happened, where, what to do`.

examples:
  acp-tap demo                                 # record and show a session, no agent needed
  acp-tap record -o session.ndjson -- kiro-cli acp
  acp-tap replay session.ndjson                # be that agent for a client, offline
  acp-tap COMMAND --help                       # each command's options and examples
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


class _Version(argparse.Action):
    """``--version``: the version, and whether the native fast path is active (looked up
    only when asked)."""

    def __init__(self, option_strings: Sequence[str], dest: str, **kwargs: Any) -> None:
        kwargs.update(nargs=0, default=argparse.SUPPRESS)
        super().__init__(option_strings, dest, **kwargs)

    def __call__(self, parser: argparse.ArgumentParser, *_: Any) -> None:
        from acp_tap.native import describe

        print(f"acp-tap {__version__} ({describe()})")
        parser.exit()


def build_parser() -> argparse.ArgumentParser:
    """The full argument parser; each subcommand's parser is its namespace's ``parser``."""
    parser = argparse.ArgumentParser(
        prog="acp-tap",
        description="Record and replay Agent Client Protocol (ACP) sessions.",
        epilog=EXIT_CODES,
        formatter_class=argparse.RawDescriptionHelpFormatter,
    )
    parser.add_argument(
        "--version", action=_Version, help="show the version and whether the native path is used"
    )
    subparsers = parser.add_subparsers(dest="subcommand", metavar="COMMAND", required=True)
    for name in SUBCOMMANDS:
        module: Subcommand = importlib.import_module(name)
        module.add_parser(subparsers)
    for sub in subparsers.choices.values():
        sub.set_defaults(parser=sub)
        sub.allow_abbrev = False  # an option means what it spells: show --dir is no --direction
    return parser


def main(argv: Sequence[str] | None = None) -> int:
    """Run ``acp-tap`` with ``argv`` (default: ``sys.argv[1:]``); return the exit status."""
    args, unknown = build_parser().parse_known_args(argv)
    if unknown:  # reported with the subcommand's own usage, not the top-level one
        args.parser.error(f"unrecognized arguments: {' '.join(unknown)}")
    try:
        status: int = args.func(args)
    except AcpTapError as exc:
        print(f"acp-tap {args.subcommand}: {exc}", file=sys.stderr)
        return exc.exit_code
    except BrokenPipeError:  # the reader of stdout went away (`| head`): nothing more to say
        from acp_tap.commands.output import discard_output

        discard_output(sys.stdout)
        return 0
    except KeyboardInterrupt:
        return 130
    return status
