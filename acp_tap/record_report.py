"""What ``acp-tap record`` says when a session ends: what truly reached the disk.

A cassette can end up gone (its directory removed), cut short (a full disk: it then holds
whole records up to its last one, and the counts say how many frames), without a footer,
or whole; a stream the client stopped taking is named with its error. Lines are still
counted after the recording stopped (:class:`LineCount`), so the numbers are the truth.
"""

from __future__ import annotations

import attrs

from acp_tap.cassette.model import Direction, Footer
from acp_tap.cassette.writer import CassetteWriter


@attrs.define
class LineCount:
    """Lines seen per stream once the recording has stopped (disk full, a recorder bug)."""

    lines: dict[Direction, int] = attrs.field(factory=lambda: dict.fromkeys(Direction, 0))
    _open: set[Direction] = attrs.field(factory=set)  # streams whose last line is unfinished

    def count(self, direction: Direction, chunk: bytes | None = None) -> None:
        """Count the lines ``chunk`` ends (or, with no chunk, the stream's last line)."""
        if chunk is None:
            self.lines[direction] += direction in self._open
            self._open.discard(direction)
            return
        self.lines[direction] += chunk.count(b"\n")
        if chunk.endswith(b"\n"):
            self._open.discard(direction)
        elif chunk:
            self._open.add(direction)


def ending(writer: CassetteWriter, footer: Footer, *, quiet: bool, said: bool) -> list[str]:
    """The lines to say about ``writer``'s cassette (``said``: its error was said already)."""
    lines = []
    total = sum(footer.frames.values())
    missing = total - writer.frames_written
    if writer.unlinked:
        return [
            f"cassette {writer.path} was deleted during the session (was its directory "
            f"removed?): none of the {total} frames was kept"
        ]
    if writer.error and not said:
        lines.append(writer.error)
    if writer.error or missing:
        why = "the disk stalled" if writer.error is None else "see above"
        lines.append(
            f"{missing} of {total} frames were not recorded ({why}); {writer.path} holds "
            f"the first {writer.frames_written}, each whole"
            + ("" if writer.footer else ", and no footer")
        )
    for direction, error in footer.stream_errors.items():
        lines.append(f"writing {direction} failed: {error}; that stream ended there")
    if not quiet:
        counts = ", ".join(f"{n} {d}" for d, n in footer.frames.items())
        lines.append(f"recorded {counts} frames to {writer.path}; agent status {footer.status}")
    return lines
