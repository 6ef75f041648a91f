"""``acp-tap check``: validate cassettes against the ACP v1 schema and protocol rules."""

from __future__ import annotations

import argparse
import collections
import json
import os
import sys
from collections.abc import Iterator
from typing import TextIO

import attrs

from acp_tap.cassette.model import Record
from acp_tap.cassette.reader import iter_records
from acp_tap.errors import CassetteFormatError
from acp_tap.inspect.check import RULES, Checker, Finding, Severity

DESCRIPTION = """\
Check every frame of each CASSETTE against the official ACP v1 JSON Schema (vendored in
acp_tap/schemas/v1) and the protocol rules that span frames: each request answered exactly
once, ids unique while pending, updates only for open sessions and announced tool calls,
nothing after a turn's response, cancelled turns ending "cancelled", fs/* and terminal/*
only when the client advertised them, nothing but JSON on the agent's stdout.
Findings read `path:line: frame N (method): severity[rule]: message`; --list-rules
lists the rules. Reads the cassette as a stream, in constant memory.
"""

EPILOG = """\
exit status:
  0  no errors (warnings and notes may have been printed)
  1  at least one error
  2  usage error, or a cassette could not be opened
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
    parser.add_argument("cassettes", nargs="*", metavar="CASSETTE", help="cassette files")
    parser.add_argument("--json", action="store_true", help="one JSON object per finding")
    parser.add_argument(
        "-q", "--quiet", action="store_true", help="print errors only (and the summary)"
    )
    parser.add_argument("--list-rules", action="store_true", help="list the rules and exit")
    parser.set_defaults(func=run, parser=parser)


@attrs.define(eq=False)
class Reading:
    """How reading a cassette ended: cleanly, at a cut-short last line, or at a bad line."""

    cut: CassetteFormatError | None = None
    bad: CassetteFormatError | None = None


def read_records(path: str, reading: Reading) -> Iterator[tuple[int, Record]]:
    """``iter_records``, stopping at the first unreadable line and noting why in ``reading``.

    A last line without newline that cannot be decoded is a write cut short (the proxy was
    killed); anything else unreadable is a real format error.
    """
    try:
        yield from iter_records(path)
    except CassetteFormatError as exc:
        if _is_cut_last_line(path, exc.line):
            reading.cut = exc
        else:
            reading.bad = exc


def _is_cut_last_line(path: str, line: int) -> bool:
    with open(path, "rb") as f:
        f.seek(0, os.SEEK_END)
        if f.tell() == 0:
            return False
        f.seek(-1, os.SEEK_END)
        if f.read(1) == b"\n":
            return False
        f.seek(0)
        newlines = sum(chunk.count(b"\n") for chunk in iter(lambda: f.read(1 << 20), b""))
    return line == newlines + 1


def check_file(path: str) -> Iterator[Finding]:
    """All findings for one cassette, streaming."""
    checker = Checker()
    reading = Reading()
    for line, record in read_records(path, reading):
        yield from checker.feed(line, record)
    if reading.bad is not None:
        yield Finding(Severity.ERROR, None, reading.bad.line, None, "cassette", reading.bad.reason)
    if reading.cut is not None:
        why = f"last line cut short, ignored ({reading.cut.reason})"
        yield Finding(Severity.WARNING, None, reading.cut.line, None, "cut-short", why)
    yield from checker.finish()


def discard_output(stream: TextIO) -> None:
    """The reader of ``stream`` went away (``| head``): drop the rest and the exit-time flush."""
    devnull = os.open(os.devnull, os.O_WRONLY)
    os.dup2(devnull, stream.fileno())
    os.close(devnull)


@attrs.define
class _Output:
    """stdout that keeps going, silently, once its reader is gone: the exit status still counts."""

    stream: TextIO

    def write(self, text: str) -> None:
        try:
            self.stream.write(text)
        except BrokenPipeError:
            discard_output(self.stream)


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
    out = _Output(sys.stdout)
    totals: collections.Counter[str] = collections.Counter()
    unreadable = False
    summary = sys.stderr if args.json else out
    for path in args.cassettes:
        counts: collections.Counter[str] = collections.Counter()
        try:
            for finding in check_file(path):
                counts[finding.severity] += 1
                if args.quiet and finding.severity is not Severity.ERROR:
                    continue
                if args.json:
                    out.write(json.dumps({"path": path, **finding.to_json()}) + "\n")
                else:
                    out.write(finding.format(path) + "\n")
        except OSError as exc:
            print(f"acp-tap check: cannot read {path}: {exc.strerror or exc}", file=sys.stderr)
            unreadable = True
            continue
        totals.update(counts)
        summary.write(f"{path}: {_tally(counts)}\n")
    if len(args.cassettes) > 1:
        summary.write(f"total: {_tally(totals)}\n")
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
