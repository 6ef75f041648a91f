"""Read cassettes: stream records from a file, or load one whole."""

from __future__ import annotations

import os
from collections.abc import Iterator

import attrs

from acp_tap.cassette.codec import decode_line
from acp_tap.cassette.model import Footer, Frame, Header, Record
from acp_tap.errors import CassetteFormatError


@attrs.frozen
class Cassette:
    """A whole cassette in memory."""

    path: str
    header: Header
    frames: tuple[Frame, ...]
    footer: Footer | None  # None when the recording was cut short (e.g. SIGKILL)
    warnings: tuple[str, ...] = ()


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
    header: Header | None = None
    footer: Footer | None = None
    frames: list[Frame] = []
    warnings: list[str] = []
    try:
        for lineno, record in iter_records(name):
            if footer is not None:
                raise CassetteFormatError(name, lineno, "record after the footer")
            if isinstance(record, Header):
                if header is not None:
                    raise CassetteFormatError(name, lineno, "a second header")
                header = record
            elif header is None:
                raise CassetteFormatError(name, lineno, "the first record must be the header")
            elif isinstance(record, Frame):
                frames.append(record)
            else:
                footer = record
    except CassetteFormatError as exc:
        if not _is_cut_last_line(name, exc.line):
            raise
        warnings.append(f"{name}:{exc.line}: last line is cut short; ignored")
    if header is None:
        raise CassetteFormatError(
            name, 1, "empty file: no header; record one with 'acp-tap record'"
        )
    if footer is None:
        warnings.append(f"{name}: no footer; the recording was cut short")
    return Cassette(name, header, tuple(frames), footer, tuple(warnings))


def _is_cut_last_line(path: str, lineno: int) -> bool:
    with open(path, "rb") as f:
        lines = f.read().split(b"\n")
    return lineno == len(lines) and lines[-1] != b""
