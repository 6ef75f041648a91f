"""``acp-tap check``: validate cassettes against the ACP v1 schema and protocol rules."""

from __future__ import annotations

import argparse
import collections
import json
import sys
from collections.abc import Iterator
from typing import TextIO

from acp_tap.cassette.inputs import DEFAULT_MAX_LINE
from acp_tap.cassette.reader import CUT_SHORT, CassetteBuilder, iter_records
from acp_tap.commands.options import add_max_line_option
from acp_tap.commands.output import PipeOutput
from acp_tap.errors import CassetteFormatError, CassetteInputError
from acp_tap.inspect.check import RULES, Checker, Finding, Severity, malformed

DESCRIPTION = """\
Check every frame of each CASSETTE against the official ACP v1 JSON Schema (vendored in
acp_tap/schemas/v1) and the protocol rules that span frames: each request answered exactly
once, ids unique while pending, updates only for open sessions and announced tool calls,
nothing after a turn's response, cancelled turns ending "cancelled", fs/* and terminal/*
only when the client advertised them, nothing but JSON on the agent's stdout.
Findings read `path:line: frame N (method): severity[rule]: message`; --list-rules
lists the rules. A cassette that breaks the format (docs/cassette-format.md) is an error
at its first bad line. Reads each cassette as a stream, in constant memory.
"""

EPILOG = """\
exit status:
  0  no errors (warnings and notes may have been printed)
  1  at least one error (a malformed cassette included)
  2  usage error, or a cassette could not be opened (missing, not a regular file)

examples:
  acp-tap check fixtures/*.ndjson
  acp-tap check -q --json session.ndjson | jq -r .message
  acp-tap redact session.ndjson | acp-tap check -
  acp-tap check --list-rules
"""


def add_parser(subparsers: argparse._SubParsersAction[argparse.ArgumentParser]) -> None:
    """Register ``check``."""
    parser = subparsers.add_parser(
        "check",
        help="validate cassettes against the ACP v1 schema and protocol rules",
        description=DESCRIPTION,
        epilog=EPILOG,
        formatter_class=argparse.RawDescriptionHelpFormatter,
    )
    parser.add_argument(
        "cassettes", nargs="*", metavar="CASSETTE", help="cassette files (- for standard input)"
    )
    parser.add_argument("--json", action="store_true", help="one JSON object per finding")
    parser.add_argument(
        "-q", "--quiet", action="store_true", help="print errors only (and the summary)"
    )
    parser.add_argument("--list-rules", action="store_true", help="list the rules and exit")
    add_max_line_option(parser)
    parser.set_defaults(func=run)


def check_file(path: str, max_line: int = DEFAULT_MAX_LINE) -> Iterator[Finding]:
    """All findings for one cassette, streaming. A malformed line is an error finding and
    ends the check (what follows it cannot be trusted); a cut-short last line a warning.

    Raises :class:`~acp_tap.errors.CassetteInputError` if the file cannot be opened.
    """
    checker = Checker()
    builder = CassetteBuilder(path)
    try:
        for line, record in iter_records(path, builder, max_line=max_line):
            yield from checker.feed(line, record)
    except CassetteFormatError as exc:
        yield malformed(exc)
        return
    if builder.cut_line is not None:
        yield Finding(Severity.WARNING, None, builder.cut_line, None, "cut-short", CUT_SHORT)
    yield from checker.finish()


def _list_rules(out: TextIO) -> None:
    width = max(map(len, RULES))
    for rule in RULES.values():
        out.write(f"{rule.name:<{width}}  {rule.severity:<7}  {rule.summary}\n")


def run(args: argparse.Namespace) -> int:
    """Check each cassette; 1 if any error was found."""
    if args.list_rules:
        _list_rules(sys.stdout)
        return 0
    if not args.cassettes:
        args.parser.error("give at least one CASSETTE (or --list-rules)")
    if args.cassettes.count("-") > 1:
        args.parser.error("standard input ('-') can be read only once")
    out = PipeOutput(sys.stdout)
    totals: collections.Counter[str] = collections.Counter()
    unreadable = False
    summary = sys.stderr if args.json else out
    for path in args.cassettes:
        counts: collections.Counter[str] = collections.Counter()
        try:
            for finding in check_file(path, args.max_line):
                counts[finding.severity] += 1
                if args.quiet and finding.severity is not Severity.ERROR:
                    continue
                if args.json:
                    out.write(json.dumps({"path": path, **finding.to_json()}) + "\n")
                else:
                    out.write(finding.format(path) + "\n")
        except CassetteInputError as exc:
            print(f"acp-tap check: {exc}", file=sys.stderr)
            unreadable = True
            continue
        totals.update(counts)
        summary.write(f"{path}: {_tally(counts)}\n")
    if len(args.cassettes) > 1:
        summary.write(f"total: {_tally(totals)}\n")
    out.flush()
    if unreadable:
        return 2
    return 1 if totals[Severity.ERROR] else 0


def _tally(counts: collections.Counter[str]) -> str:
    def n(count: int, word: str) -> str:
        return f"{count} {word}{'' if count == 1 else 's'}"

    verdict = "FAIL" if counts[Severity.ERROR] else "ok"
    return (
        f"{verdict}: {n(counts[Severity.ERROR], 'error')}, "
        f"{n(counts[Severity.WARNING], 'warning')}, {n(counts[Severity.NOTE], 'note')}"
    )
