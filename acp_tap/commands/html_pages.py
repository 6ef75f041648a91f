"""``show --html`` and ``diff --html``: write a cassette (or two) as a self-contained page."""

from __future__ import annotations

import argparse
import sys
from pathlib import Path
from typing import TYPE_CHECKING

from acp_tap.commands.check import Reading, read_records
from acp_tap.inspect.html.output import atomic_output
from acp_tap.inspect.html.page import PageWriter

if TYPE_CHECKING:
    from acp_tap.inspect.diff import Change


def write_show_page(args: argparse.Namespace) -> int:
    """Write CASSETTE as a page; 0, or 2 when the cassette cannot be (wholly) read."""
    cassette, output = Path(args.cassette), Path(args.html)
    try:
        cassette.open("rb").close()
    except OSError as exc:
        print(f"acp-tap show: cannot read {cassette}: {exc.strerror or exc}", file=sys.stderr)
        return 2
    reading = Reading()
    filters = {"dirs": args.dirs, "methods": args.method, "session": args.session}
    with atomic_output(output, force=args.force, inputs=[cassette]) as write:
        page = PageWriter(write, "show", f"acp-tap trace · {cassette.name}")
        track = page.add_track(cassette.name, read_records(str(cassette), reading))
        if reading.cut is not None:
            track.warnings.append(f"line {reading.cut.line}: last line cut short; ignored")
        if reading.bad is not None:
            reason = reading.bad.reason
            track.warnings.append(f"line {reading.bad.line}: {reason}; later frames are not shown")
        if track.header is None and reading.bad is None:
            track.warnings.append("no header: this is not a complete acp-tap cassette")
        page.finish(filters=filters)
    if reading.bad is not None:
        print(f"acp-tap show: {reading.bad} (the page shows what precedes it)", file=sys.stderr)
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

    with atomic_output(output, force=force, inputs=[a, b]) as write:
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
