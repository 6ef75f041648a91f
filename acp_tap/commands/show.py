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
--html OUT.html writes one self-contained page instead (opens from disk, loads nothing):
a swimlane per session on a zoomable time axis, turns, tool calls, permissions, request
latencies, the conversation beside it and every frame by its seq; --dir, --method and
--session set the page's filters. --follow prints a cassette still being recorded as
frames arrive (DIR or default: the newest cassette in $ACP_TAP_DIR or ./cassettes) and
ends at its footer, on ^C, or 2 s after the recorder named in its header is gone.

exit status:
  0    shown (--follow: the recording ended with its footer)
  1    --follow: the recorder is gone and the cassette has no footer (cut short)
  2    usage error, or the cassette cannot be read (what precedes a malformed line is shown)
  73   the --html page cannot be created (exists without --force, a symlink, no permission)
  130  --follow: interrupted (^C)

examples:
  acp-tap show session.ndjson
  acp-tap show --html trace.html session.ndjson
  acp-tap show --follow
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
        "cassette",
        metavar="CASSETTE",
        nargs="?",
        help="the cassette file, or - for standard input (with --follow: a cassette or a "
        "directory of cassettes)",
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
    output = parser.add_mutually_exclusive_group()
    output.add_argument(
        "--html", metavar="OUT.html", help="write a self-contained HTML page instead of printing"
    )
    output.add_argument(
        "--follow",
        action="store_true",
        help="print a cassette being recorded as frames arrive, until its footer",
    )
    parser.add_argument("--force", action="store_true", help="replace an existing --html file")
    add_max_line_option(parser)
    parser.set_defaults(func=run, parser=parser)


def use_colour(choice: str, stream: TextIO) -> bool:
    """Whether to colour: ``always``, ``never``, or on a terminal that wants it."""
    if choice != "auto":
        return choice == "always"
    if os.environ.get("NO_COLOR") or os.environ.get("TERM") == "dumb":
        return False
    return stream.isatty()


def run(args: argparse.Namespace) -> int:
    """Print the timeline; 0 unless the cassette cannot be read."""
    if args.html is not None or args.follow:
        if args.json and args.html is not None:
            args.parser.error("--json and --html write different things; choose one")
        if args.follow:
            from acp_tap.commands.follow import follow

            return follow(args)
        from acp_tap.commands.html_pages import write_show_page

        if args.cassette is None:
            args.parser.error("give the CASSETTE to write as a page")
        return write_show_page(args)
    if args.cassette is None:
        args.parser.error("give a CASSETTE (or --follow)")
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
