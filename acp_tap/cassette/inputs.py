"""Open a cassette for reading, and split it into lines of bounded length.

Every command that reads a cassette opens it here: a regular file, or ``-`` for standard
input where the command allows it. Anything else (a directory, a FIFO, a device, a
socket) is refused at once, so no reader waits forever on a pipe nobody writes or reads
``/dev/zero`` until memory runs out. A line is held whole while it is decoded, so memory
is bounded by the longest line present; a line longer than ``max_line`` is an error.
"""

from __future__ import annotations

import os
import stat
from collections.abc import Iterator
from typing import BinaryIO

from acp_tap.errors import CassetteFormatError, CassetteInputError

STDIN = "-"
"""The cassette path that means standard input."""

DEFAULT_MAX_LINE = 256 << 20
"""The longest cassette line read by default (``--max-line``), in bytes."""

_KINDS = (
    (stat.S_ISDIR, "a directory"),
    (stat.S_ISFIFO, "a FIFO (named pipe)"),
    (stat.S_ISCHR, "a character device"),
    (stat.S_ISBLK, "a block device"),
    (stat.S_ISSOCK, "a socket"),
)


def open_cassette(path: str | os.PathLike[str], *, stdin: bool = True) -> BinaryIO:
    """Open ``path`` for reading: a regular file, or standard input for ``-`` (if ``stdin``).

    Raises :class:`CassetteInputError` (one line, exit status 2) for anything else. A FIFO
    is opened without waiting for a writer, then refused.
    """
    name = os.fspath(path)
    if name == STDIN:
        if not stdin:
            raise CassetteInputError(
                "this command cannot read the cassette from standard input ('-'); give a file"
            )
        return os.fdopen(os.dup(0), "rb")
    try:
        fd = os.open(name, os.O_RDONLY | os.O_NONBLOCK | os.O_CLOEXEC)
    except OSError as exc:
        hint = "; record one with 'acp-tap record -o FILE -- AGENT...'"
        missing = isinstance(exc, FileNotFoundError)
        raise CassetteInputError(
            f"cannot read cassette {name}: {exc.strerror or exc}{hint if missing else ''}"
        ) from None
    try:
        mode = os.fstat(fd).st_mode
        if not stat.S_ISREG(mode):
            kind = next((what for test, what in _KINDS if test(mode)), "not a regular file")
            raise CassetteInputError(
                f"cannot read cassette {name}: it is {kind}; give a regular file, "
                f"or '-' to read standard input"
            )
        os.set_blocking(fd, True)
        return os.fdopen(fd, "rb")
    except BaseException:
        os.close(fd)
        raise


CHUNK = 1 << 16
"""Bytes read at a time; a line longer than this is a long line (see :func:`read_lines`)."""


def read_lines(
    stream: BinaryIO, name: str, max_line: int = DEFAULT_MAX_LINE
) -> Iterator[tuple[int, bytes]]:
    """Yield ``(line number, line)``, each line with its newline (none for a last line that
    has none). A line longer than ``max_line`` bytes (newline excluded) raises
    :class:`CassetteFormatError` as soon as that many bytes of it have been read.

    A long line of a regular file is measured first, then read with one ``read``, so it is
    held once; from a pipe it is gathered in a growing buffer, then copied once.
    """
    lineno = 0
    while line := stream.readline(CHUNK):
        lineno += 1
        if len(line) == CHUNK and not line.endswith(b"\n"):
            line = _long_line(stream, line, name, lineno, max_line)
        elif len(line) - line.endswith(b"\n") > max_line:
            raise CassetteFormatError(name, lineno, too_long(max_line))
        yield lineno, line


def _long_line(stream: BinaryIO, start: bytes, name: str, lineno: int, max_line: int) -> bytes:
    """The rest of the line that begins with ``start`` (a whole chunk), read as a whole."""
    seekable = stream.seekable()
    offset = stream.tell() - len(start) if seekable else 0
    size, gathered = len(start), None if seekable else bytearray(start)
    while True:
        part = stream.readline(CHUNK)
        size += len(part)
        if gathered is not None:
            gathered += part
        ended = part.endswith(b"\n") or len(part) < CHUNK
        if size - part.endswith(b"\n") > max_line:
            raise CassetteFormatError(name, lineno, too_long(max_line))
        if ended:
            break
    if gathered is not None:
        return bytes(gathered)
    stream.seek(offset)
    return stream.read(size)


def too_long(max_line: int) -> str:
    """The error for a line longer than ``max_line`` bytes."""
    return (
        f"line longer than {max_line} bytes; not read (raise --max-line if the cassette "
        "really holds such a line)"
    )
