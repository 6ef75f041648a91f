"""Follow a cassette as it is recorded: the records of lines appended so far. Pure.

Bytes read from the end of a growing cassette are fed in whatever pieces the reads
return; only complete lines become records (a record is written whole, but a read may
end inside one). Each byte is searched once (:class:`acp_tap.wire.framing.LineSplitter`).
"""

from __future__ import annotations

import attrs

from acp_tap.cassette.model import Record
from acp_tap.cassette.reader import CassetteBuilder
from acp_tap.wire.framing import LineSplitter


@attrs.define(eq=False)
class Tail:
    """Feed the bytes appended to a cassette; get ``(line number, record)`` of complete lines."""

    path: str
    _splitter: LineSplitter = attrs.field(factory=LineSplitter)
    _lines: int = 0
    _builder: CassetteBuilder = attrs.field(
        default=attrs.Factory(lambda self: CassetteBuilder(self.path), takes_self=True)
    )

    @property
    def pending(self) -> int:
        """Bytes of a line not complete yet."""
        return self._splitter.pending

    @property
    def lines(self) -> int:
        """Complete lines seen so far."""
        return self._lines

    def feed(self, data: bytes) -> list[tuple[int, Record]]:
        """The records completed by ``data``, placed by the rules every reader applies
        (:class:`~acp_tap.cassette.reader.CassetteBuilder`; a malformed or misplaced line
        raises CassetteFormatError)."""
        records = []
        for line in self._splitter.feed(data):
            self._lines += 1
            content = line.data
            if content.strip():
                record = self._builder.add(content, self._lines, cut=False)
                if record is not None:
                    records.append((self._lines, record))
        return records
