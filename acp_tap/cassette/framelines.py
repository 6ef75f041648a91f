"""Split the cassette's frame lines in the writer's own layout. Pure; no I/O.

``{"seq":N,"t":T,"dir":"D"[,"eol":"E"],"msg":RAW}`` is split without being decoded: RAW
is the message's bytes, verbatim, so nothing else is needed to replay it, and the start of
RAW is read for its routing (:data:`FAST_ENVELOPE`). RAW is only checked to be what the
general decoder accepts as a message (one JSON document in strict UTF-8, nested at most
:data:`~acp_tap.cassette.codec.MAX_DEPTH` deep), the sequence number to be above the
previous one and the time to be finite. Every other line is left to the general decoder
(:func:`acp_tap.cassette.codec.decode_line`, which uses this too), which words the errors:
so every reader, fast or not, gives the same answer for the same line.

The native version (``acp_tap._framelines``, built from C when the package is installed)
does this several times faster; :func:`scan_frames_py`, with one regular expression,
is its reference, used when the extension is not built or ``ACP_TAP_PURE_PYTHON=1`` is
set. Both give the same tuples.
"""

from __future__ import annotations

import json
import math
import re
from collections.abc import Callable
from typing import Any, Final

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

ScanFrames = Callable[[bytes, int, int, int], tuple[list[FrameParts], int]]

FRAME: Final = re.compile(
    rb'\{"seq":([1-9]\d{0,17}),"t":((?:0|[1-9]\d*)(?:\.\d+)?(?:[eE][-+]?\d+)?),'
    rb'"dir":"(c2a|a2c|err)"(?:,"eol":"(crlf|none)")?,"msg":((?:'
    + FAST_ENVELOPE.pattern
    + rb")?.*)\}\r?\n"
)
"""A whole frame line in the usual layout, terminator included (``.`` stops at LF)."""

MAX_DEPTH = 500
"""The deepest nesting of arrays and objects the recorder embeds as JSON; a line nested
deeper is stored as text, and a ``msg`` nested deeper is not read. Fixed, so a line is
classified the same wherever it is met, and well within what ``json.loads`` reads back (it
fails near depth 1000)."""

_NESTING = re.compile(rb'"(?:[^"\\]|\\.)*+"|[\[\]{}]')


def _reject_constant(name: str) -> Any:
    raise ValueError(f"{name} is not JSON")


DECODER: Final = json.JSONDecoder(parse_constant=_reject_constant)
"""JSON as RFC 8259 has it: NaN, Infinity and -Infinity are refused."""


def nested_deeper(data: bytes, limit: int = MAX_DEPTH) -> bool:
    """Whether ``data`` nests arrays and objects deeper than ``limit`` (strings skipped)."""
    if data.count(b"[") + data.count(b"{") <= limit:
        return False
    depth = 0
    for token in _NESTING.finditer(data):
        bracket = token.group()
        if bracket in (b"[", b"{"):
            depth += 1
            if depth > limit:
                return True
        elif bracket in (b"]", b"}"):
            depth -= 1
    return False


def is_message(raw: bytes) -> bool:
    """Whether ``raw`` is one JSON document (no NaN or Infinity) in strict UTF-8, nested at
    most :data:`MAX_DEPTH` deep: what a frame's ``msg`` must be."""
    if nested_deeper(raw):
        return False
    try:
        DECODER.decode(raw.decode("utf-8"))
    except (ValueError, RecursionError):
        return False
    return True


def scan_frames_py(
    data: bytes, pos: int, max_frames: int, last_seq: int, /
) -> tuple[list[FrameParts], int]:
    """The frame lines in the usual layout from ``pos`` on (at most ``max_frames``), each
    numbered above the one before (``last_seq`` for the first), and the position of the
    first line that is not one.
    """
    frames: list[FrameParts] = []
    match = FRAME.match
    while len(frames) < max_frames and (m := match(data, pos)) is not None:
        seq_text, t_text, direction, eol, raw, id_text, method, sid, _ = m.groups()
        seq, t = int(seq_text), float(t_text)
        if seq <= last_seq or math.isinf(t) or not is_message(raw):
            break
        frames.append((seq, t, direction, eol, raw, id_text, method, sid))
        pos, last_seq = m.end(), seq
    return frames, pos


NATIVE: Final[ScanFrames | None] = native("acp_tap._framelines", "scan_frames")
"""The C version, or None when it is not built (or ``ACP_TAP_PURE_PYTHON`` is set)."""

scan_frames: ScanFrames = NATIVE or scan_frames_py
