"""Split the cassette's frame lines in the writer's own layout. Pure; no I/O.

``{"seq":N,"t":T,"dir":"D"[,"eol":"E"],"msg":RAW}`` is split without being parsed: RAW is
the message's bytes, verbatim, so nothing else is needed to replay it, and the start of
RAW is read for its routing (:data:`FAST_ENVELOPE`). Every other line is left to the
general decoder (:func:`acp_tap.cassette.codec.decode_line`, which uses this too).

The native version (``acp_tap._framelines``, built from C when the package is installed)
does this several times faster; :func:`scan_frames_py`, with one regular expression,
is its reference, used when the extension is not built or ``ACP_TAP_PURE_PYTHON=1`` is
set. Both give the same tuples.
"""

from __future__ import annotations

import re
from collections.abc import Callable
from typing import Final

from acp_tap.cassette.model import Direction, Eol
from acp_tap.native import native

FAST_ENVELOPE: Final = re.compile(
    rb'\{"jsonrpc":"2\.0",(?:"id":(-?\d+|"[^"\\]*"),)?'
    rb'(?:"method":"([^"\\]*)","params":\{"sessionId":"([^"\\]*)"|"(result|error)":)'
)
"""The usual start of a message, from which its routing is read without parsing it."""

FrameParts = tuple[int, float, bytes, bytes | None, bytes, bytes | None, bytes | None, bytes | None]
"""seq, t, dir, eol (None for LF), the message, and its id, method and sessionId (or None)."""

DIRECTIONS: Final = {d.value.encode(): d for d in Direction}
"""A split frame's ``dir`` bytes, as the direction."""
EOLS: Final = {None: Eol.LF, b"crlf": Eol.CRLF, b"none": Eol.NONE}
"""A split frame's ``eol`` bytes (None: absent), as the terminator."""

ScanFrames = Callable[[bytes, int, int], tuple[list[FrameParts], int]]

FRAME: Final = re.compile(
    rb'\{"seq":(\d{1,18}),"t":(\d+(?:\.\d+)?(?:[eE][-+]?\d+)?),"dir":"(c2a|a2c|err)"'
    rb'(?:,"eol":"(crlf|none)")?,"msg":((?:' + FAST_ENVELOPE.pattern + rb")?.*)\}\r?\n"
)
"""A whole frame line in the usual layout, terminator included (``.`` stops at LF)."""


def scan_frames_py(data: bytes, pos: int, max_frames: int, /) -> tuple[list[FrameParts], int]:
    """The frame lines in the usual layout from ``pos`` on (at most ``max_frames``), and
    the position of the first line that is not one.
    """
    frames: list[FrameParts] = []
    match = FRAME.match
    while len(frames) < max_frames and (m := match(data, pos)) is not None:
        seq, t, direction, eol, raw, id_text, method, sid, _ = m.groups()
        frames.append((int(seq), float(t), direction, eol, raw, id_text, method, sid))
        pos = m.end()
    return frames, pos


NATIVE: Final[ScanFrames | None] = native("acp_tap._framelines", "scan_frames")
"""The C version, or None when it is not built (or ``ACP_TAP_PURE_PYTHON`` is set)."""

scan_frames: ScanFrames = NATIVE or scan_frames_py
