"""Load a cassette quickly, for either replay. Pure apart from reading the file.

The common frame line, ``{"seq":N,"t":T,"dir":"D"[,"eol":"E"],"msg":RAW}``, is split
instead of being parsed (:mod:`acp_tap.cassette.framelines`, native when built, which
checks RAW is a message the general decoder would accept): RAW is the message's bytes,
verbatim, so nothing else is needed to replay it. Every other line (header, footer, text,
base64, redacted frames, anything unusual or wrong) goes through
:func:`acp_tap.cassette.codec.decode_line`, and the order of lines is checked by the
:class:`~acp_tap.cassette.reader.CassetteBuilder` of :func:`acp_tap.cassette.reader.load`,
whose result this is: the same rules, the same errors.
"""

from __future__ import annotations

import os
from collections.abc import Iterator

from acp_tap.cassette.framelines import DIRECTIONS, EOLS, FrameParts, scan_frames
from acp_tap.cassette.inputs import DEFAULT_MAX_LINE, open_cassette, too_long
from acp_tap.cassette.model import Frame, Payload
from acp_tap.cassette.reader import Cassette, CassetteBuilder
from acp_tap.errors import CassetteFormatError

BATCH = 4096
"""Frames split per call of :func:`~acp_tap.cassette.framelines.scan_frames`."""


def load_for_replay(path: str | os.PathLike[str], *, max_line: int = DEFAULT_MAX_LINE) -> Cassette:
    """Load a cassette, as :func:`acp_tap.cassette.reader.load` does, only faster."""
    frames: list[Frame] = []
    directions, eols, json_payload = DIRECTIONS, EOLS, Payload.JSON
    builder = CassetteBuilder(os.fspath(path), frames.append)
    for seq, t, direction, eol, raw, *_ in fast_frames(builder, max_line):
        frames.append(Frame(seq, t, directions[direction], raw, json_payload, eols[eol]))
    return builder.cassette(frames)


def fast_frames(builder: CassetteBuilder, max_line: int = DEFAULT_MAX_LINE) -> Iterator[FrameParts]:
    """Read the file; yield each frame line in the usual layout, split (see
    :data:`~acp_tap.cassette.framelines.FrameParts`); hand every other line to ``builder``.

    The whole file is read at once (a replay keeps every frame anyway); a line longer
    than ``max_line`` bytes is an error, as for every reader.
    """
    name = builder.name
    with open_cassette(name, stdin=False) as stream:
        data = stream.read()
    pos, size, lineno = 0, len(data), 1  # lineno: that of the line at pos
    while pos < size:
        if builder.in_frames:
            frames, after = scan_frames(data, pos, BATCH, builder.last_seq)
            if frames:
                if after - pos > max_line:  # only then can one of them be too long
                    _check_lengths(data[pos:after], builder, lineno, max_line)
                builder.last_seq = frames[-1][0]
                yield from frames
                pos, lineno = after, lineno + len(frames)
                continue
        end = data.find(b"\n", pos)
        cut = end < 0  # a last line without newline: maybe a write cut short by a kill
        if (size if cut else end) - pos > max_line:
            raise CassetteFormatError(name, lineno, too_long(max_line))
        line = data[pos:] if cut else data[pos:end]
        if line.strip():
            builder.add(line, lineno, cut=cut)
        pos, lineno = (size if cut else end + 1), lineno + 1


def _check_lengths(lines: bytes, builder: CassetteBuilder, lineno: int, max_line: int) -> None:
    """Raise for the first of ``lines`` (whole lines, the first numbered ``lineno``) that is
    longer than ``max_line``."""
    for length in map(len, lines.split(b"\n")):
        if length > max_line:
            raise CassetteFormatError(builder.name, lineno, too_long(max_line))
        lineno += 1
