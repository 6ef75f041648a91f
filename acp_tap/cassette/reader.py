"""Read cassettes: stream records from a file, or load one whole."""

from __future__ import annotations

import os
from collections.abc import Callable, Iterator

import attrs

from acp_tap.cassette.codec import decode_line
from acp_tap.cassette.model import (
    READABLE_FORMATS,
    Footer,
    Frame,
    Header,
    Injection,
    Record,
)
from acp_tap.errors import CassetteFormatError


@attrs.frozen
class Cassette:
    """A whole cassette in memory."""

    path: str
    header: Header
    frames: tuple[Frame, ...]
    footer: Footer | None  # None when the recording was cut short (e.g. SIGKILL)
    warnings: tuple[str, ...] = ()
    injections: tuple[Injection, ...] = ()  # faults injected while recording (format 2)


def iter_records(path: str | os.PathLike[str]) -> Iterator[tuple[int, Record]]:
    """Yield ``(line number, record)`` for each line, streaming (constant memory).

    A last line without a newline (a write cut short) is reported as a
    :class:`CassetteFormatError` only if it cannot be decoded.
    """
    name = os.fspath(path)
    with open(name, "rb") as f:
        for lineno, line in enumerate(f, start=1):
            if line.strip():
                yield lineno, decode_line(line, name, lineno)


def load(path: str | os.PathLike[str]) -> Cassette:
    """Load and check the structure of a cassette: header first, footer last."""
    name = os.fspath(path)
    frames: list[Frame] = []
    builder = CassetteBuilder(name, frames.append)
    with open(name, "rb") as f:
        for lineno, line in enumerate(f, start=1):
            cut = not line.endswith(b"\n")
            if line.strip() and not builder.add(line, lineno, cut=cut):
                break
    return builder.cassette(frames)


@attrs.define(eq=False)
class CassetteBuilder:
    """The structure rules of a cassette: header first, footer last."""

    name: str
    on_frame: Callable[[Frame], None]
    header: Header | None = None
    footer: Footer | None = None
    warnings: list[str] = attrs.field(factory=list)
    injections: list[Injection] = attrs.field(factory=list)  # kept apart from the frames

    @property
    def in_frames(self) -> bool:
        """Whether a frame may come now."""
        return self.header is not None and self.footer is None

    def add(self, line: bytes, lineno: int, *, cut: bool) -> bool:
        """Decode and place one line; ``False`` for a cut last line (ignored, with a warning)."""
        name = self.name
        try:
            record = decode_line(line, name, lineno)
        except CassetteFormatError:
            if cut:  # a write cut short by a kill
                self.warnings.append(f"{name}:{lineno}: last line is cut short; ignored")
                return False
            raise
        if self.footer is not None:
            raise CassetteFormatError(name, lineno, "record after the footer")
        if isinstance(record, Header):
            if self.header is not None:
                raise CassetteFormatError(name, lineno, "a second header")
            check_format(record, name, lineno)
            self.header = record
        elif self.header is None:
            raise CassetteFormatError(name, lineno, "the first record must be the header")
        elif isinstance(record, Frame):
            self.on_frame(record)
        elif isinstance(record, Injection):
            self.injections.append(record)
        else:
            self.footer = record
        return True

    def cassette(self, frames: list[Frame]) -> Cassette:
        """The cassette read, with these frames."""
        if self.header is None:
            raise CassetteFormatError(
                self.name, 1, "empty file: no header; record one with 'acp-tap record'"
            )
        if self.footer is None:
            self.warnings.append(f"{self.name}: no footer; the recording was cut short")
        return Cassette(
            self.name,
            self.header,
            tuple(frames),
            self.footer,
            tuple(self.warnings),
            tuple(self.injections),
        )


def check_format(header: Header, path: str, lineno: int) -> None:
    """Refuse a cassette written in a format version this acp-tap does not know."""
    if header.format not in READABLE_FORMATS:
        known = " and ".join(map(str, sorted(READABLE_FORMATS)))
        raise CassetteFormatError(
            path,
            lineno,
            f"cassette format {header.format} is not supported (this acp-tap reads formats "
            f"{known}); upgrade acp-tap or re-record the cassette",
        )
