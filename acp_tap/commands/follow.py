"""``acp-tap show --follow``: print a cassette as it is being recorded, like ``tail -f``.

The cassette is polled (every :data:`POLL` seconds while nothing new arrives), so it
works on any file system and needs no notification API. Streamed text is printed chunk
by chunk on one line, as it arrives. Following ends at the footer, on ^C, or when the
recorder named in the header is gone and nothing new arrived for :data:`GONE_AFTER`
seconds (a recording cut short: killed, or the machine went down).
"""

from __future__ import annotations

import argparse
import os
import sys
import time
from pathlib import Path
from typing import TextIO

import attrs

from acp_tap.agentgroup import running
from acp_tap.cassette.model import Footer, Header
from acp_tap.commands.output import discard_output
from acp_tap.commands.show import use_colour
from acp_tap.errors import CassetteFormatError
from acp_tap.inspect import acp
from acp_tap.inspect.follow import Tail
from acp_tap.inspect.show import Filter, render, render_more, to_json_line
from acp_tap.inspect.timeline import Event, Timeline

POLL = 0.1
"""Seconds between looks at a cassette that has not grown."""

GONE_AFTER = 2.0
"""Seconds without new bytes after which a cassette whose recorder is gone has ended."""


def follow(args: argparse.Namespace) -> int:
    """Follow the cassette (or the newest in a directory); see the module docstring."""
    path = _cassette(args.cassette)
    if isinstance(path, str):
        print(f"acp-tap show: {path}", file=sys.stderr)
        return 2
    keep = Filter(frozenset(args.dirs), tuple(args.method), args.session)
    printer = _LivePrinter(sys.stdout, use_colour(args.color, sys.stdout), args.json)
    try:
        with open(path, "rb") as f:
            return _follow(f.fileno(), Tail(str(path)), keep, printer)
    except OSError as exc:
        print(f"acp-tap show: cannot read {path}: {exc.strerror or exc}", file=sys.stderr)
        return 2
    except CassetteFormatError as exc:
        printer.end()
        print(f"acp-tap show: {exc}", file=sys.stderr)
        return 2
    except KeyboardInterrupt:
        printer.end()
        return 130
    except BrokenPipeError:  # `acp-tap show --follow | head`: the reader has seen enough
        discard_output(sys.stdout)
        return 0


def _cassette(given: str | None) -> Path | str:
    """The cassette to follow, or why there is none."""
    where = Path(given) if given is not None else Path(os.environ.get("ACP_TAP_DIR") or "cassettes")
    if not where.is_dir():
        if given is not None:
            return where
        return f"no directory {where}: give a cassette or a directory, or set $ACP_TAP_DIR"
    candidates = sorted(p for p in where.glob("*.ndjson") if p.is_file())
    if not candidates:
        return (
            f"no cassette (*.ndjson) in {where}; start 'acp-tap record' first, "
            "or give the cassette's path"
        )
    return candidates[-1]


def _follow(fd: int, tail: Tail, keep: Filter, printer: _LivePrinter) -> int:
    events = Timeline()
    recorder: int | None = None
    quiet_since = time.monotonic()
    while True:
        data = os.read(fd, 1 << 20)
        if not data:
            if time.monotonic() - quiet_since >= GONE_AFTER and not running(recorder):
                return _cut_short(tail, recorder, printer)
            time.sleep(POLL)
            continue
        quiet_since = time.monotonic()
        for line, record in tail.feed(data):
            if isinstance(record, Header):
                recorder = record.pid
            event = events.feed(line, record)
            if keep.keeps(event):
                printer.show(event)
            if isinstance(record, Footer):
                printer.end()
                return 0


def _cut_short(tail: Tail, recorder: int | None, printer: _LivePrinter) -> int:
    printer.end()
    who = f"the recorder (pid {recorder}) is gone" if recorder else "no header arrived"
    cut = f"; its last {tail.pending} bytes are an incomplete line" if tail.pending else ""
    print(
        f"acp-tap show: {tail.path}: {who} and the cassette has no footer: "
        f"the recording was cut short{cut}",
        file=sys.stderr,
    )
    return 1


@attrs.define(eq=False)
class _LivePrinter:
    """Prints events as they come; a run of streamed chunks grows on one line."""

    out: TextIO
    colour: bool
    as_json: bool
    _run: Event | None = None

    def show(self, event: Event) -> None:
        if self.as_json:
            self.out.write(to_json_line(event) + "\n")
        elif event.kind == "update" and event.update in acp.CHUNK_ROLES:
            if self._run is not None and _continues(self._run, event):
                self.out.write(render_more(event, self.colour))
            else:
                self.end()
                self.out.write(render(event, self.colour))
                self._run = event
        else:
            self.end()
            self.out.write(render(event, self.colour) + "\n")
        self.out.flush()

    def end(self) -> None:
        """Finish the line of a run of chunks, if one is open."""
        if self._run is not None:
            self.out.write("\n")
            self.out.flush()
            self._run = None


def _continues(run: Event, event: Event) -> bool:
    return (event.update, event.session, event.dir) == (run.update, run.session, run.dir)
