"""Load a cassette quickly, for either replay. Pure apart from reading the file.

The common frame line, ``{"seq":N,"t":T,"dir":"D"[,"eol":"E"],"msg":RAW}``, is split
instead of being parsed (:mod:`acp_tap.cassette.framelines`, native when built): RAW is the
message's bytes, verbatim, so nothing else is needed to replay it. Every other line
(header, footer, text, base64, redacted frames, anything unusual) goes through
:func:`acp_tap.cassette.codec.decode_line`, and the structure rules are those of
:func:`acp_tap.cassette.reader.load`, whose result this is. A RAW that is not valid JSON
is only noticed when (if) it is parsed.
"""

from __future__ import annotations

import os
from collections.abc import Iterator

from acp_tap.cassette.framelines import DIRECTIONS, EOLS, FrameParts, scan_frames
from acp_tap.cassette.model import Frame, Payload
from acp_tap.cassette.reader import Cassette, CassetteBuilder
from acp_tap.errors import UsageError

BATCH = 4096
"""Frames split per call of :func:`~acp_tap.cassette.framelines.scan_frames`."""


def load_for_replay(path: str | os.PathLike[str]) -> Cassette:
    """Load a cassette, as :func:`acp_tap.cassette.reader.load` does, only faster."""
    frames: list[Frame] = []
    directions, eols, json_payload = DIRECTIONS, EOLS, Payload.JSON
    builder = CassetteBuilder(os.fspath(path), frames.append)
    for seq, t, direction, eol, raw, *_ in fast_frames(builder):
        frames.append(Frame(seq, t, directions[direction], raw, json_payload, eols[eol]))
    return builder.cassette(frames)


def fast_frames(builder: CassetteBuilder) -> Iterator[FrameParts]:
    """Read the file; yield each frame line in the usual layout, split (see
    :data:`~acp_tap.cassette.framelines.FrameParts`); hand every other line to ``builder``.
    """
    name = builder.name
    try:
        with open(name, "rb") as f:
            data = f.read()
    except OSError as exc:
        raise UsageError(
            f"cannot read cassette {name}: {exc.strerror or exc}; "
            "record one with 'acp-tap record -o FILE -- AGENT...'"
        ) from None
    pos, size, lineno = 0, len(data), 1  # lineno: that of the line at pos
    while pos < size:
        if builder.in_frames:
            frames, after = scan_frames(data, pos, BATCH)
            if frames:
                yield from frames
                pos, lineno = after, lineno + len(frames)
                continue
        end = data.find(b"\n", pos)
        cut = end < 0  # a last line without newline: maybe a write cut short by a kill
        line = data[pos:] if cut else data[pos:end]
        if line.strip() and not builder.add(line, lineno, cut=cut):
            return
        pos, lineno = (size if cut else end + 1), lineno + 1
