"""``acp-tap show``: print a cassette as a readable timeline (or JSON events)."""

from __future__ import annotations

import argparse
import os
import sys
from typing import TextIO

from acp_tap.commands.options import add_max_line_option
from acp_tap.commands.output import PipeOutput, warn
from acp_tap.inspect.show import DIRECTIONS, Filter, render, timeline, to_json_line

DESCRIPTION = """\
Print CASSETTE as a timeline: frame number (the `seq` that check, replay and rerun cite),
time offset, direction (→ client to agent, ← agent to client, ! agent stderr), method (or
the method a response answers) and id, latency of each response, agent text with streamed
chunks joined, tool calls with status changes, permission outcomes, stderr lines and the
exit status. Coloured on a terminal, plain when piped; control characters in the recorded
text (terminal escapes, carriage returns) are shown as visible escapes such as \\x1b, so a
cassette cannot drive your terminal. Reads the cassette as a stream, in constant memory.
"""

EPILOG = """\
exit status: 0 shown; 2 the cassette cannot be read (what precedes a malformed line is shown)

examples:
  acp-tap show session.ndjson
  acp-tap show --direction c2a --method 'session/*' session.ndjson
  acp-tap show --method 'tool_call*' --session 1f3a session.ndjson
  acp-tap show --json session.ndjson | jq 'select(.kind == "error")'
  acp-tap redact session.ndjson | acp-tap show -
"""


def add_parser(subparsers: argparse._SubParsersAction[argparse.ArgumentParser]) -> None:
    """Register ``show``."""
    parser = subparsers.add_parser(
        "show",
        help="print a cassette as a readable timeline",
        description=DESCRIPTION,
        epilog=EPILOG,
        formatter_class=argparse.RawDescriptionHelpFormatter,
    )
    parser.add_argument(
        "cassette", metavar="CASSETTE", help="the cassette file, or - for standard input"
    )
    parser.add_argument(
        "--direction",
        action="append",
        choices=DIRECTIONS,
        default=[],
        dest="dirs",
        help="only this direction: c2a, a2c or err (repeatable)",
    )
    parser.add_argument(
        "--method",
        action="append",
        default=[],
        metavar="GLOB",
        help="only methods (or session/update kinds, or 'stderr') matching GLOB (repeatable)",
    )
    parser.add_argument("--session", metavar="ID", help="only this session (an id or its prefix)")
    parser.add_argument("--json", action="store_true", help="one JSON object per event")
    parser.add_argument(
        "--color",
        "--colour",
        choices=("auto", "always", "never"),
        default="auto",
        help="colour the output (default: auto, on a terminal unless NO_COLOR is set)",
    )
    add_max_line_option(parser)
    parser.set_defaults(func=run)


def use_colour(choice: str, stream: TextIO) -> bool:
    """Whether to colour: ``always``, ``never``, or on a terminal that wants it."""
    if choice != "auto":
        return choice == "always"
    if os.environ.get("NO_COLOR") or os.environ.get("TERM") == "dumb":
        return False
    return stream.isatty()


def run(args: argparse.Namespace) -> int:
    """Print the timeline; 0 unless the cassette cannot be read."""
    from acp_tap.cassette.reader import CassetteBuilder, iter_records
    from acp_tap.errors import CassetteFormatError

    out = PipeOutput(sys.stdout)
    keep = Filter(frozenset(args.dirs), tuple(args.method), args.session)
    colour = use_colour(args.color, sys.stdout)
    builder = CassetteBuilder(args.cassette)
    records = iter_records(args.cassette, builder, max_line=args.max_line)
    try:
        for event in timeline(records, keep):
            out.write((to_json_line(event) if args.json else render(event, colour)) + "\n")
            if out.gone:  # e.g. `acp-tap show x | head`: the reader has seen enough
                return 0
    except CassetteFormatError as exc:
        out.flush()
        print(f"acp-tap show: {exc}", file=sys.stderr)
        return 2
    out.flush()
    warn("show", builder.warnings)
    return 0
