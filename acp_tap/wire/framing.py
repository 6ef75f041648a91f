"""NDJSON framing: split a byte stream into lines. Pure; no I/O.

Each byte is searched once; a line's bytes are held in one buffer, however long.
"""

from __future__ import annotations

import attrs

from acp_tap.cassette.model import Eol


@attrs.frozen
class Line:
    """A complete line: its content without terminator, and how it ended."""

    content: bytearray = attrs.field(eq=False)
    eol: Eol

    @property
    def data(self) -> bytes:
        """The content as bytes (a copy)."""
        return bytes(self.content)


@attrs.define(eq=False)
class LineSplitter:
    """Feed chunks, get complete lines; ``close()`` yields a last unterminated line."""

    _buf: bytearray = attrs.field(factory=bytearray)

    @property
    def pending(self) -> int:
        """Bytes held for a line not yet terminated."""
        return len(self._buf)

    def feed(self, chunk: bytes | bytearray) -> list[Line]:
        """Add a chunk; return the lines it completed, in order."""
        lines: list[Line] = []
        start = 0
        view = memoryview(chunk)
        while (nl := chunk.find(b"\n", start)) >= 0:
            buf = self._buf
            buf += view[start:nl]
            self._buf = bytearray()
            if buf.endswith(b"\r"):
                del buf[-1]
                lines.append(Line(buf, Eol.CRLF))
            else:
                lines.append(Line(buf, Eol.LF))
            start = nl + 1
        if start < len(chunk):
            self._buf += view[start:]
        return lines

    def feed_contents(self, chunk: bytes | bytearray) -> list[bytes]:
        """As :meth:`feed`, giving each completed line's content (without ``\n`` or
        ``\r\n``) as bytes: the fast form, for a reader that needs no terminators."""
        if isinstance(chunk, bytearray):
            chunk = bytes(chunk)
        if b"\n" not in chunk:
            if chunk:
                self._buf += chunk
            return []
        lines = chunk.split(b"\n")
        rest = lines.pop()
        if self._buf:
            self._buf += lines[0]
            lines[0] = bytes(self._buf)
            self._buf = bytearray()
        if rest:
            self._buf += rest
        if b"\r" in chunk or lines[0].endswith(b"\r"):
            lines = [line[:-1] if line.endswith(b"\r") else line for line in lines]
        return lines

    def close(self) -> Line | None:
        """End of stream: the unterminated last line, if any bytes are left."""
        if not self._buf:
            return None
        buf, self._buf = self._buf, bytearray()
        return Line(buf, Eol.NONE)
