"""``acp-tap diff``: compare two cassettes turn by turn."""

from __future__ import annotations

import argparse
import json
import sys
from pathlib import Path

from acp_tap.commands.options import add_max_line_option

DESCRIPTION = """\
Compare two cassettes semantically, aligned by session and prompt turn. Ids, timestamps,
session and tool call ids and how text was split into chunks are ignored; capabilities,
session setup (modes, models), agent and thought text, tool calls and their statuses,
permission requests and outcomes, stop reasons, errors and the exit status are compared.
"""

EPILOG = """\
exit status:
  0  the conversations are the same
  1  they differ
  2  usage error, or a cassette cannot be read (missing, not a regular file, malformed;
     no page is written)
  73 the --html page cannot be created (exists without --force, a symlink, no permission, ...)

examples:
  acp-tap diff before.ndjson after.ndjson
  acp-tap diff --json fixtures/permission-allowed.ndjson fixtures/permission-rejected.ndjson
  acp-tap redact live.ndjson | acp-tap diff golden.ndjson -
  acp-tap diff --html review.html golden.ndjson live.ndjson
"""


def add_parser(subparsers: argparse._SubParsersAction[argparse.ArgumentParser]) -> None:
    """Register ``diff``."""
    parser = subparsers.add_parser(
        "diff",
        help="compare two cassettes semantically, turn by turn",
        description=DESCRIPTION,
        epilog=EPILOG,
        formatter_class=argparse.RawDescriptionHelpFormatter,
    )
    parser.add_argument("a", metavar="A", help="the first cassette (- for standard input)")
    parser.add_argument("b", metavar="B", help="the second cassette (- for standard input)")
    parser.add_argument("--json", action="store_true", help="one JSON object per difference")
    parser.add_argument(
        "--html",
        type=Path,
        metavar="OUT.html",
        help="also write both conversations side by side, aligned by turn, as one "
        "self-contained page (opens from disk, loads nothing)",
    )
    parser.add_argument("--force", action="store_true", help="replace an existing --html file")
    add_max_line_option(parser)
    parser.set_defaults(func=run)


def run(args: argparse.Namespace) -> int:
    """Print the differences; 1 if there are any."""
    from acp_tap.cassette.reader import CassetteBuilder, iter_records
    from acp_tap.commands.output import PipeOutput, warn
    from acp_tap.errors import CassetteError
    from acp_tap.inspect.diff import diff, summarize
    from acp_tap.inspect.show import visible

    if args.a == args.b == "-":
        args.parser.error("standard input ('-') can be only one side of the comparison")
    builders = [CassetteBuilder(args.a), CassetteBuilder(args.b)]
    try:
        if args.html is not None:
            from acp_tap.commands.html_pages import write_diff_page

            if "-" in (args.a, args.b):
                args.parser.error("--html needs two cassette files, not standard input")
            changes = write_diff_page(Path(args.a), Path(args.b), args.html, force=args.force)
        else:
            a, b = (
                summarize(r for _, r in iter_records(builder.name, builder, max_line=args.max_line))
                for builder in builders
            )
            changes = diff(a, b)
    except CassetteError as exc:
        print(f"acp-tap diff: {exc}", file=sys.stderr)
        return 2
    warn("diff", [w for builder in builders for w in builder.warnings])
    out = PipeOutput(sys.stdout)
    for change in changes:
        if args.json:
            record = {"where": change.where, "field": change.field, "a": change.a, "b": change.b}
            out.write(json.dumps(record, ensure_ascii=False) + "\n")
        else:
            out.write(visible(change.render()) + "\n")  # recorded text never drives a terminal
    out.flush()
    if not args.json:
        verdict = f"{len(changes)} difference(s)" if changes else "no differences"
        page = f"; side by side in {args.html}" if args.html is not None else ""
        print(f"{verdict} between {args.a} and {args.b}{page}", file=sys.stderr)
    return 1 if changes else 0
