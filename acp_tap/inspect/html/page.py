"""Assemble the self-contained HTML page: template, style, script and data. Pure.

The page is one file: the template (``assets/page.html``), its style sheet and script
inlined, the frame chunks of each track, and the model (one JSON element). Nothing in it
loads anything: its Content-Security-Policy allows no source at all except the inline
style and script it was built with, named by their SHA-256 hashes, so even markup that
found its way in could neither run nor fetch.

The model (``acp-model``) is ``{"format", "kind", "title", "tracks": [...], "changes",
"rows", "marks", "filters"}``: ``tracks`` as :mod:`acp_tap.inspect.html.track` builds them
(plus where their frame contents are), ``changes`` and ``rows`` the turn-aligned
differences of ``diff`` (:mod:`acp_tap.inspect.html.alignment`), ``marks`` frames to
point out (:class:`Mark`: a mismatch, a stall), ``filters`` the filters the page opens with.

A page of what a replay saw (recorded against live) is two tracks, the recorded cassette
and the live traffic as records, with the turn-aligned rows of ``diff`` and a mark on
the frame where the replay stopped matching or stalled.
"""

from __future__ import annotations

import base64
import hashlib
import html
from collections.abc import Callable, Iterable, Iterator, Sequence
from importlib import resources
from typing import Any

import attrs

from acp_tap import __version__
from acp_tap.cassette.model import Frame, Record
from acp_tap.inspect.html.embed import FrameChunks, json_script
from acp_tap.inspect.html.track import TrackBuilder

MODEL_FORMAT = 1
"""Version of the model the page's script reads."""

SCRIPTS = ("text.js", "data.js", "axis.js", "describe.js", "lanes.js", "panels.js", "main.js")
"""The page's script, in order: one strict-mode function scope over these files."""

_DATA_MARK = "<!-- data -->"


@attrs.frozen
class Mark:
    """A frame the page points out, at the top and wherever the frame is drawn."""

    track: int  # the track's number, in the order tracks were added (0, 1, ...)
    seq: int  # the frame's seq in that track
    kind: str  # what it is, shown first: "mismatch", "stall", ...
    text: str  # what to say about it


@attrs.frozen
class Assets:
    """The template split around the data, with style and script inlined."""

    head: bytes
    tail: bytes

    @classmethod
    def load(cls, title: str) -> Assets:
        """Read the packaged template, style sheet and script."""
        folder = resources.files("acp_tap.inspect.html") / "assets"
        style = (folder / "page.css").read_text("utf-8")
        parts = [(folder / name).read_text("utf-8") for name in SCRIPTS]
        script = '(() => {\n"use strict";\n' + "\n".join(parts) + "\n})();\n"
        for name, text, end in (("style", style, "</style"), ("script", script, "</script")):
            if end in text.lower() or "<!--" in text:
                raise ValueError(f"the page's {name} may not contain {end} or <!--")
        policy = "; ".join(
            [
                "default-src 'none'",
                f"script-src '{_sha256(script)}'",
                f"style-src '{_sha256(style)}'",
                "img-src 'none'",
                "connect-src 'none'",
                "font-src 'none'",
                "media-src 'none'",
                "object-src 'none'",
                "frame-src 'none'",
                "worker-src 'none'",
                "manifest-src 'none'",
                "form-action 'none'",
                "base-uri 'none'",
            ]
        )
        template = (folder / "page.html").read_text("utf-8")
        filled = (
            template.replace("@CSP@", policy)
            .replace("@TITLE@", html.escape(title))
            .replace("@STYLE@", style)
            .replace("@SCRIPT@", script)
        )
        head, tail = filled.split(_DATA_MARK)
        return cls(head.encode("utf-8"), tail.encode("utf-8"))


def _sha256(text: str) -> str:
    digest = hashlib.sha256(text.encode("utf-8")).digest()
    return "sha256-" + base64.b64encode(digest).decode("ascii")


@attrs.define(eq=False)
class TrackSink:
    """One track being written: its model is folded, its frame contents embedded."""

    builder: TrackBuilder
    chunks: FrameChunks

    def feed(self, line: int, record: Record) -> None:
        """Fold in and embed one record."""
        self.builder.feed(line, record)
        if isinstance(record, Frame):
            self.chunks.add(record)

    def feed_all(self, records: Iterable[tuple[int, Record]]) -> Iterator[tuple[int, Record]]:
        """Feed each record, then pass it on (to fold a cassette with others in one pass)."""
        for line, record in records:
            self.feed(line, record)
            yield line, record

    def close(self) -> None:
        """Write the last chunk."""
        self.chunks.close()


@attrs.define(eq=False)
class PageWriter:
    """Writes one page through ``write``: ``add_track`` for each cassette, then ``finish``."""

    write: Callable[[bytes], object]
    kind: str  # "show" or "diff"
    title: str
    _assets: Assets = attrs.field(init=False)
    _tracks: list[TrackSink] = attrs.field(init=False, factory=list)

    def __attrs_post_init__(self) -> None:
        self._assets = Assets.load(self.title)
        self.write(self._assets.head)

    def track(self, name: str, label: str = "") -> TrackSink:
        """Start the next track; feed it its cassette's records in order, then close it."""
        sink = TrackSink(TrackBuilder(name, label), FrameChunks(self.write, len(self._tracks)))
        self._tracks.append(sink)
        return sink

    def add_track(
        self, name: str, records: Iterable[tuple[int, Record]], label: str = ""
    ) -> TrackBuilder:
        """Fold and embed a whole cassette as the next track, streaming."""
        sink = self.track(name, label)
        for line, record in records:
            sink.feed(line, record)
        sink.close()
        return sink.builder

    def finish(
        self,
        *,
        changes: list[dict[str, Any]] | None = None,
        rows: list[dict[str, Any]] | None = None,
        marks: Sequence[Mark] = (),
        filters: dict[str, Any] | None = None,
    ) -> None:
        """Write the model and the end of the page."""
        tracks = [{**t.builder.model(), "content": t.chunks.model()} for t in self._tracks]
        model = {
            "format": MODEL_FORMAT,
            "generator": f"acp-tap {__version__}",
            "kind": self.kind,
            "title": self.title,
            "tracks": tracks,
            "changes": changes or [],
            "rows": rows or [],
            "marks": [attrs.asdict(m) for m in marks],
            "filters": filters or {},
        }
        self.write(json_script(model, "acp-model"))
        self.write(self._assets.tail)
