"""Whether raw bytes might hold a secret the default rules redact: the recorder's prefilter.

Decoding a JSON line and matching every string against every rule costs far more than
relaying it, so the recorder first asks :func:`might_hold_secret` of the line's raw bytes
and stores the line verbatim when the answer is no. The answer must never be a wrong no:

- each rule of :mod:`acp_tap.secrets.rules` needs an ASCII anchor (``sk-ant-``, ``AKIA``
  and 16 more key characters, ``ghp_``, ``.ey``, ``-----BEGIN``, ``Bearer``, a credential
  name before ``=``, ...) that a JSON string can only spell with the same raw bytes,
  unless it uses a ``\\u00XX`` escape for an ASCII character: such a line is always
  suspect;
- a credential-named key (or the ``name`` of a ``{name, value}`` pair) is a JSON string of
  letters, ``-`` and ``_`` only, so it stands in the raw line between two quotes.

It may say yes when no rule matches (a prose "Basic" or "AWS"): the line then takes the
slow path, which redacts nothing. The native version (``acp_tap._plainlines``) answers the
same question; it may say yes more often than :func:`might_hold_secret_py`, never less
(``tests/test_prefilter.py`` checks both against the rules and against each other).
"""

from __future__ import annotations

import re
from collections.abc import Callable, Sequence
from typing import Final

from acp_tap.native import native
from acp_tap.secrets.blobs import Buffer, outside
from acp_tap.secrets.rules import CREDENTIAL_NAMES

WINDOW: Final = 320
"""Raw bytes after an ``aws`` within which its keyword and delimiter must stand."""

_ANCHORS = re.compile(
    rb"""
    sk-ant- | T3BlbkFJ | AIza | GR1348941 | gh[pousr]_ | github_pat_ | _gitlab_session=
    | gl(?:pat|ptt|dt|rt|soat|cbt|ffct|ft|imt|agent|oas)- | \.ey | hooks\.slack\.com
    | Bearer | Basic | (?i:xox.-|xapp-|-----begin|authorization)
    | (?:A3T[A-Z0-9]|AKIA|ASIA|ABIA|ACCA)[A-Z2-7]{16}
    | (?i:aws)(?=[\s\S]{0,%d}?(?i:key|pw|pass|token))(?=[\s\S]{0,%d}?["'=:])
    | \\u00[0-7][0-9A-Fa-f]
    """
    % (WINDOW, WINDOW),
    re.VERBOSE,
)
_QUOTED_NAME = re.compile(rb'"([A-Za-z_-]+)"')
_PARAMETER = re.compile(rb"(?<![A-Za-z_-])([A-Za-z_-]+)=")


def _normal(name: bytes) -> str:
    return name.replace(b"-", b"").replace(b"_", b"").lower().decode("ascii")


def might_hold_secret_py(data: Buffer, start: int = 0, end: int | None = None, /) -> bool:
    """Whether ``data[start:end]`` might hold something the default rules redact."""
    chunk = bytes(memoryview(data)[start:end])
    if _ANCHORS.search(chunk):
        return True
    for pattern in (_QUOTED_NAME, _PARAMETER):
        if any(_normal(m.group(1)) in CREDENTIAL_NAMES for m in pattern.finditer(chunk)):
            return True
    return False


NATIVE: Final[Callable[[Buffer, int, int], bool] | None] = native(
    "acp_tap._plainlines", "might_hold_secret"
)


def might_hold_secret(data: Buffer, start: int = 0, end: int | None = None) -> bool:
    """:func:`might_hold_secret_py`, natively when the extension is built."""
    if NATIVE is None:
        return might_hold_secret_py(data, start, end)
    return NATIVE(data, start, len(data) if end is None else end)


def pieces_might_hold_secret(
    pieces: Sequence[Buffer], blobs: Sequence[tuple[int, int]] = ()
) -> bool:
    """The same question for a line held in pieces, without joining them, and without
    looking into ``blobs`` (``[start, end)`` offsets in the line of binary data in base64,
    see :mod:`acp_tap.secrets.blobs`).

    Each piece is asked alone, and so is each seam (the last and first ``2 * WINDOW``
    bytes around it), which holds any anchor and window that straddles it.
    """
    span = 2 * WINDOW
    if blobs:
        pieces = list(outside(pieces, blobs))
    for index, piece in enumerate(pieces):
        if might_hold_secret(piece):
            return True
        if index and might_hold_secret(bytes(pieces[index - 1][-span:]) + bytes(piece[:span])):
            return True
    return False
