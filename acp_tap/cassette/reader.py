"""Read cassettes: stream records from a file, or load one whole.

One reader, one set of rules, for every command: each line is decoded by
:func:`~acp_tap.cassette.codec.decode_line` (what one line may hold) and placed by a
:class:`CassetteBuilder` (the order of lines: the header first, in a known format version,
once; frames numbered upwards; nothing after the footer). A last line without newline
that cannot be decoded is what a killed recorder leaves: it is ignored with a warning, so
a cassette cut short is readable by every command. docs/cassette-format.md states the
rules; the replays' fast loader (:mod:`acp_tap.matching.loader`) follows the same builder.
"""

from __future__ import annotations

import os
from collections.abc import Callable, Iterator
from typing import BinaryIO

import attrs

from acp_tap.cassette.codec import decode_line
from acp_tap.cassette.inputs import DEFAULT_MAX_LINE, open_cassette, read_lines
from acp_tap.cassette.model import READABLE_FORMATS, Footer, Frame, Header, Injection, Record
from acp_tap.errors import CassetteFormatError

CUT_SHORT = "last line cut short (the recording was interrupted); ignored"


@attrs.frozen
class Cassette:
    """A whole cassette in memory."""

    path: str
    header: Header
    frames: tuple[Frame, ...]
    footer: Footer | None  # None when the recording was cut short (e.g. SIGKILL)
    warnings: tuple[str, ...] = ()
    injections: tuple[Injection, ...] = ()  # faults injected while recording (format 2)


def iter_records(
    path: str | os.PathLike[str],
    builder: CassetteBuilder | None = None,
    *,
    max_line: int = DEFAULT_MAX_LINE,
) -> Iterator[tuple[int, Record]]:
    """Yield ``(line number, record)`` for each line, streaming (memory: the longest line).

    ``path`` may be ``-`` (standard input). Raises :class:`CassetteFormatError` at the first
    line that breaks a rule (the records before it have been yielded) and
    :class:`~acp_tap.errors.CassetteInputError` if the file cannot be opened. Pass a
    ``builder`` to see its warnings afterwards (a cut last line, no footer).
    """
    name = os.fspath(path)
    with open_cassette(name) as stream:
        yield from read_records(stream, builder or CassetteBuilder(name), max_line=max_line)


def read_records(
    stream: BinaryIO, builder: CassetteBuilder, *, max_line: int = DEFAULT_MAX_LINE
) -> Iterator[tuple[int, Record]]:
    """:func:`iter_records` on an open stream (``builder.name`` names it in errors)."""
    for lineno, line in read_lines(stream, builder.name, max_line):
        if not line.strip():
            continue
        record = builder.add(line, lineno, cut=not line.endswith(b"\n"))
        if record is not None:
            yield lineno, record
    builder.finish()


def load(path: str | os.PathLike[str], *, max_line: int = DEFAULT_MAX_LINE) -> Cassette:
    """Load and check a whole cassette (a regular file)."""
    name = os.fspath(path)
    frames: list[Frame] = []
    builder = CassetteBuilder(name, frames.append)
    with open_cassette(name, stdin=False) as stream:
        for lineno, line in read_lines(stream, name, max_line):
            if line.strip():
                builder.add(line, lineno, cut=not line.endswith(b"\n"))
    return builder.cassette(frames)


@attrs.define(eq=False)
class CassetteBuilder:
    """The rules for the order of a cassette's lines, applied as they come."""

    name: str
    on_frame: Callable[[Frame], None] | None = None
    header: Header | None = None
    footer: Footer | None = None
    last_seq: int = 0  # the last frame's sequence number
    cut_line: int | None = None  # a cut-short last line, ignored
    cut_reason: str = ""  # why it could not be read
    warnings: list[str] = attrs.field(factory=list)
    injections: list[Injection] = attrs.field(factory=list)  # kept apart from the frames

    @property
    def in_frames(self) -> bool:
        """Whether a frame may come now."""
        return self.header is not None and self.footer is None

    def add(self, line: bytes, lineno: int, *, cut: bool) -> Record | None:
        """Decode and place one line; None for a cut last line (ignored, with a warning).

        ``cut``: the line has no newline, so it is the last one.
        """
        try:
            record = decode_line(line, self.name, lineno)
        except CassetteFormatError as exc:
            if not cut:
                raise
            self.cut_line, self.cut_reason = lineno, exc.reason  # a write cut short by a kill
            self.warnings.append(f"{self.name}:{lineno}: {CUT_SHORT}")
            return None
        self.place(record, lineno)
        return record

    def place(self, record: Record, lineno: int) -> None:
        """Check that ``record`` may come at ``lineno``, and take it."""
        if self.footer is not None:
            raise self._error(
                lineno, f"{_kind(record)} after the footer; the footer ends a cassette"
            )
        if isinstance(record, Header):
            if self.header is not None:
                raise self._error(lineno, "a second header; cassettes cannot be concatenated")
            if record.format not in READABLE_FORMATS:
                known = " and ".join(map(str, sorted(READABLE_FORMATS)))
                raise self._error(
                    lineno,
                    f"cassette format {record.format} is not supported (this acp-tap reads "
                    f"formats {known}); upgrade acp-tap or re-record the cassette",
                )
            self.header = record
        elif self.header is None:
            raise self._error(lineno, "the first record must be the header")
        elif isinstance(record, Frame):
            if record.seq <= self.last_seq:
                raise self._error(
                    lineno,
                    f"frame {record.seq} comes after frame {self.last_seq}; "
                    "sequence numbers must increase",
                )
            self.last_seq = record.seq
            if self.on_frame is not None:
                self.on_frame(record)
        elif isinstance(record, Injection):
            self.injections.append(record)
        else:
            self.footer = record

    def finish(self) -> Header:
        """The end of the file: the header read (an error if there was none)."""
        if self.cut_line is not None and self.header is None:
            raise self._error(
                self.cut_line, f"no header: the only line cannot be read ({self.cut_reason})"
            )
        if self.header is None:
            raise self._error(
                1,
                "empty cassette (no header); record one with 'acp-tap record -o FILE -- AGENT...'",
            )
        if self.footer is None:
            self.warnings.append(f"{self.name}: no footer; the recording was cut short")
        return self.header

    def cassette(self, frames: list[Frame]) -> Cassette:
        """The cassette read, with these frames."""
        header = self.finish()
        return Cassette(
            self.name,
            header,
            tuple(frames),
            self.footer,
            tuple(self.warnings),
            tuple(self.injections),
        )

    def _error(self, lineno: int, reason: str) -> CassetteFormatError:
        return CassetteFormatError(self.name, lineno, reason)


def _kind(record: Record) -> str:
    if isinstance(record, Header):
        return "a header"
    if isinstance(record, Injection):
        return "a fault record"
    return "a footer" if isinstance(record, Footer) else f"frame {record.seq}"
