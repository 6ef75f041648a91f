"""``show --html`` and ``diff --html``: write a cassette (or two) as a self-contained page."""

from __future__ import annotations

import argparse
import sys
from collections.abc import Iterator
from pathlib import Path
from typing import TYPE_CHECKING

from acp_tap.cassette.model import Record
from acp_tap.cassette.reader import CassetteBuilder, iter_records
from acp_tap.commands.output import warn
from acp_tap.errors import CassetteFormatError
from acp_tap.inspect.html.page import PageWriter
from acp_tap.wholefile import whole_file_writer

if TYPE_CHECKING:
    from acp_tap.inspect.diff import Change


def write_show_page(args: argparse.Namespace) -> int:
    """Write CASSETTE as a page; 0, or 2 when the cassette cannot be (wholly) read (the page
    then shows what precedes the line that cannot be read)."""
    cassette, output = args.cassette, Path(args.html)
    builder = CassetteBuilder(cassette)
    records = iter_records(cassette, builder, max_line=args.max_line)
    first = next(records, None)  # a missing or unreadable cassette: no page at all
    bad: list[CassetteFormatError] = []

    def read() -> Iterator[tuple[int, Record]]:
        if first is not None:
            yield first
        try:
            yield from records
        except CassetteFormatError as exc:
            bad.append(exc)

    name = "standard input" if cassette == "-" else Path(cassette).name
    inputs = [] if cassette == "-" else [Path(cassette)]
    filters = {"dirs": args.dirs, "methods": args.method, "session": args.session}
    with whole_file_writer(output, force=args.force, inputs=inputs) as write:
        page = PageWriter(write, "show", f"acp-tap trace · {name}")
        track = page.add_track(name, read())
        track.warnings.extend(builder.warnings)
        for exc in bad:
            track.warnings.append(f"line {exc.line}: {exc.reason}; later frames are not shown")
        if track.header is None and not bad:
            track.warnings.append("no header: this is not a complete acp-tap cassette")
        page.finish(filters=filters)
    warn("show", builder.warnings)
    if bad:
        print(f"acp-tap show: {bad[0]} (the page shows what precedes it)", file=sys.stderr)
        return 2
    print(f"acp-tap show: wrote {output} ({track.frames} frames)", file=sys.stderr)
    return 0


def write_diff_page(a: Path, b: Path, output: Path, *, force: bool) -> list[Change]:
    """Write cassettes A and B side by side, aligned by turn; return their differences.

    Each cassette is read once, folded for the page and summarised for the diff together.
    """
    from acp_tap.cassette.reader import iter_records
    from acp_tap.inspect.diff import diff, summarize
    from acp_tap.inspect.html.alignment import aligned_rows, change_records

    with whole_file_writer(output, force=force, inputs=[a, b]) as write:
        page = PageWriter(write, "diff", f"acp-tap diff · {a.name} vs {b.name}")
        summaries = []
        for path, label in ((a, "A"), (b, "B")):
            track = page.track(str(path), label)
            summaries.append(summarize(r for _, r in track.feed_all(iter_records(path))))
            track.close()
        changes = diff(summaries[0], summaries[1])
        rows = aligned_rows(summaries[0], summaries[1], changes)
        page.finish(changes=change_records(changes), rows=rows)
    return changes
