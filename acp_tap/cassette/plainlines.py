"""Frame a run of plain JSON lines in one call: the recorder's hot path. Pure; no I/O.

Most of a session is notifications nobody redacts (``session/update`` chunks). Such a
line is stored verbatim: ``{"seq":N`` + the chunk's shared head + the line + ``}\\n``.
:func:`frame_plain_lines` takes as many of them as it can from a chunk at once and stops
at the first line it is not certain about (not JSON, a request or response, a method
not known to be plain, a line longer than ``limit``); the recorder handles that one line
the general way and calls again.

Lines that might hold a secret for the default redaction rules are not plain either: the
prefilter (:mod:`acp_tap.secrets.prefilter`) runs on each line's raw bytes.

The native version (``acp_tap._plainlines``, built from C when the package is
installed) validates UTF-8 and JSON without decoding anything and is what lets the proxy
keep up with socat on small lines. :func:`frame_plain_lines_py` is its reference, used
when the extension is not built or ``ACP_TAP_PURE_PYTHON=1`` is set; the native version
may stop earlier than the reference (when in doubt, it stops), never later, and frames
what it takes byte for byte the same.
"""

from __future__ import annotations

from collections.abc import Callable, Set
from typing import Any, Final

from acp_tap.cassette.codec import scan_json
from acp_tap.native import native
from acp_tap.secrets.prefilter import might_hold_secret_py

PlainMethods = Set[bytes | None]
"""UTF-8 names of the methods whose lines are stored verbatim; None for "no method"."""

FramePlainLines = Callable[
    [bytes, int, int, int, bytes, PlainMethods, int, bool], tuple[bytes, int, int]
]

_NL, _CR = b"\n", b"\r"


def frame_plain_lines_py(  # noqa: PLR0917 (the C function's signature)
    chunk: bytes,
    pos: int,
    end: int,
    seq: int,
    head: bytes,
    plain: PlainMethods,
    limit: int,
    secrets: bool,
    /,
) -> tuple[bytes, int, int]:
    """Frame the plain lines of ``chunk[pos:end]`` from ``pos`` on: (framed, next pos, count).

    ``seq`` is the sequence number before the first line; ``head`` goes between
    ``{"seq":N`` and the line (``,"t":T,"dir":"D","msg":``). With ``secrets``, a line that
    might hold a secret (:func:`~acp_tap.secrets.prefilter.might_hold_secret_py`) is not plain.
    """
    parts: list[bytes] = []
    while pos < end:
        newline = chunk.find(_NL, pos, end)
        if newline < 0 or newline - pos > limit:
            break
        line = chunk[pos:newline]
        if _CR in line or not _is_plain(line, plain):
            break
        if secrets and might_hold_secret_py(line):
            break
        seq += 1
        parts += (b'{"seq":%d' % seq, head, line, b"}\n")
        pos = newline + 1
    return b"".join(parts), pos, len(parts) // 4


def _is_plain(line: bytes, plain: PlainMethods) -> bool:
    try:
        value = scan_json(line.decode("utf-8"))
    except (ValueError, RecursionError):  # UnicodeDecodeError is a ValueError
        return False
    untracked, method = filed_under(value)
    return untracked and method_key(method) in plain


def filed_under(value: Any) -> tuple[bool, str | None]:
    """How a decoded line is filed for storing verbatim: (no ``id``, so no request or
    response to track; its ``method`` if a string, else None).
    """
    if type(value) is not dict:
        return True, None
    if "id" in value:
        return False, None
    method = value.get("method")
    return True, method if type(method) is str else None


def method_key(method: str | None) -> bytes | None:
    """How a method is named in a :data:`PlainMethods` set."""
    return None if method is None else method.encode("utf-8", "surrogatepass")


NATIVE: Final[FramePlainLines | None] = native("acp_tap._plainlines", "frame_plain_lines")
"""The C version, or None when it is not built (or ``ACP_TAP_PURE_PYTHON`` is set)."""

frame_plain_lines: FramePlainLines = NATIVE or frame_plain_lines_py
