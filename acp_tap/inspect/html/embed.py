"""Put JSON inside an HTML page so that no byte of it can be read as markup. Pure.

The page carries its data in ``<script type="application/json">`` elements, which the
browser never runs. The HTML parser would still end such an element at ``</script`` and
change state at ``<!--``, so every ``<``, ``>`` and ``&`` becomes a JSON escape
(``\\u003c``...), and so do U+2028 and U+2029 (line terminators to older JavaScript).
Replacing them byte for byte is exact because, in JSON text, these characters can only
occur inside strings. The page reads the data with ``JSON.parse`` and shows every string
with ``textContent``: cassette text is never markup.

Frame contents go into chunks of about :data:`CHUNK_BYTES`, each a JSON array with one
frame per line, so the page can find a frame without parsing the rest. A JSON frame is
its recorded bytes (escaped as above), a text line a JSON string, a non-UTF-8 line its
base64 as a string; the track model lists which frames are text, base64 or left out.
"""

from __future__ import annotations

import base64
import json
from collections.abc import Callable
from typing import Any

import attrs

from acp_tap.cassette.model import Frame, Payload

CHUNK_BYTES = 4 << 20
"""Frame bytes per chunk. The parser appends an element's text as it arrives, so one huge
element costs more than many small ones (measured: 3.6 s against 2.0 s for 190 MB)."""

CONTENT_LIMIT = 320 << 20
"""Frame bytes a page carries at most: a browser's strings and memory have limits. Frames
beyond are listed and drawn but their content is left out (the page says how many)."""

FRAME_LIMIT = 64 << 20
"""A single frame larger than this is drawn but its content is left out."""

_ESCAPES = (
    (b"&", b"\\u0026"),
    (b"<", b"\\u003c"),
    (b">", b"\\u003e"),
    ("\u2028".encode(), b"\\u2028"),
    ("\u2029".encode(), b"\\u2029"),
)


def script_safe(json_text: bytes) -> bytes:
    """JSON text (UTF-8) with the characters that could end or confuse a script escaped."""
    for raw, escaped in _ESCAPES:
        if raw in json_text:
            json_text = json_text.replace(raw, escaped)
    return json_text


def to_json(value: Any) -> bytes:
    """Compact JSON for the page, as UTF-8; lone surrogates become ``\\udxxx`` escapes."""
    text = json.dumps(value, ensure_ascii=False, separators=(",", ":"))
    return text.encode("utf-8", "backslashreplace")


def json_script(value: Any, element_id: str) -> bytes:
    """A ``<script type="application/json">`` element holding ``value``."""
    body = script_safe(to_json(value))
    return b'<script type="application/json" id="%s">%s</script>\n' % (element_id.encode(), body)


@attrs.define(eq=False)
class FrameChunks:
    """Writes one track's frame contents, in order, as chunk elements through ``write``."""

    write: Callable[[bytes], object]
    track: int
    counts: list[int] = attrs.field(factory=list)  # frames per chunk, in order
    text: list[int] = attrs.field(factory=list)  # indices of frames stored as text
    b64: list[int] = attrs.field(factory=list)  # ... as base64 (not UTF-8)
    omitted: list[int] = attrs.field(factory=list)  # ... left out (limits)
    omitted_bytes: int = 0
    _lines: list[bytes] = attrs.field(factory=list)
    _size: int = 0
    _total: int = 0
    _index: int = 0

    def add(self, frame: Frame) -> None:
        """Append one frame's content."""
        size = len(frame.raw)
        if size > FRAME_LIMIT or self._total + size > CONTENT_LIMIT:
            self.omitted.append(self._index)
            self.omitted_bytes += size
            line = b"null"
        elif frame.payload is Payload.JSON:
            line = script_safe(bytes(frame.raw))
        elif frame.payload is Payload.TEXT:
            self.text.append(self._index)
            line = script_safe(to_json(bytes(frame.raw).decode("utf-8", "surrogatepass")))
        else:
            self.b64.append(self._index)
            line = b'"' + base64.b64encode(frame.raw) + b'"'
        self._index += 1
        self._total += len(line)
        self._lines.append(line)
        self._size += len(line)
        if self._size >= CHUNK_BYTES:
            self.close()

    def close(self) -> None:
        """Write the frames not written yet as one chunk."""
        if not self._lines:
            return
        head = b'<script type="application/json" class="acp-frames" data-track="%d">' % self.track
        self.write(head + b"[\n" + b",\n".join(self._lines) + b"\n]</script>\n")
        self.counts.append(len(self._lines))
        self._lines, self._size = [], 0

    def model(self) -> dict[str, Any]:
        """What the page needs to find and read each frame's content."""
        return {
            "chunks": self.counts,
            "text": self.text,
            "b64": self.b64,
            "omitted": self.omitted,
            "omittedBytes": self.omitted_bytes,
        }
