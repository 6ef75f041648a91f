"""The page of what a replay saw: the recorded conversation beside the live one.

Used for the pytest plugin's ``--acp-trace`` files: the cassette is the first track, each
replay of it in the test a track of its own (the live client's lines, numbered from 1 in
the order they passed), aligned by turn with the last one as ``acp-tap diff`` aligns two
cassettes, and every mismatch or stall the replay reported marked at the recorded frame
it is about. Written atomically, replacing the previous run's page.
"""

from __future__ import annotations

from collections.abc import Iterator, Sequence
from pathlib import Path

import attrs

from acp_tap.cassette.model import Frame, Record
from acp_tap.cassette.reader import iter_records
from acp_tap.inspect.diff import diff, summarize
from acp_tap.inspect.html.alignment import aligned_rows, change_records
from acp_tap.inspect.html.page import Mark, PageWriter
from acp_tap.wholefile import whole_file_writer


@attrs.frozen
class LiveRun:
    """One replay in a test: what passed, live, and what it reported."""

    frames: tuple[Frame, ...]  # the live lines, seq from 1
    marks: tuple[tuple[int, str, str], ...]  # (recorded seq, kind, what it says)
    status: int | None  # the replay's exit status (None: it never finished)


def _numbered(frames: Sequence[Frame]) -> Iterator[tuple[int, Record]]:
    return ((frame.seq, frame) for frame in frames)


def write_replay_trace(path: Path, cassette: Path, runs: Sequence[LiveRun], title: str) -> None:
    """Write the page of ``runs`` of ``cassette`` to ``path`` (replacing it)."""
    with whole_file_writer(path, force=True, inputs=[cassette]) as write:
        page = PageWriter(write, "diff", title)
        recorded = page.track(str(cassette), "recorded")
        summary = summarize(r for _, r in recorded.feed_all(iter_records(cassette)))
        recorded.close()
        live_summary = None
        for number, run in enumerate(runs, start=1):
            label = "live" if len(runs) == 1 else f"live {number}"
            track = page.track(f"{label} (exit status {run.status})", label)
            live_summary = summarize(r for _, r in track.feed_all(_numbered(run.frames)))
            track.close()
        changes = diff(summary, live_summary) if live_summary is not None else []
        rows = aligned_rows(summary, live_summary, changes) if live_summary is not None else []
        marks = [Mark(0, seq, kind, text) for run in runs for seq, kind, text in run.marks]
        page.finish(changes=change_records(changes), rows=rows, marks=marks)
