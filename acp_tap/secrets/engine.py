"""Run redaction patterns in linear time (RE2, via ``google-re2``) over UTF-8 bytes. Pure.

Strings are matched as bytes (a JSON string may hold a lone surrogate, which is encoded
with ``surrogatepass``), so one engine serves JSON strings, text lines and stderr. The
default rules run in Latin-1 mode (ASCII-only case folding, ``.`` is one byte); user
``--redact`` patterns in UTF-8 mode, so ``é`` or ``.`` mean characters as a user expects.
"""

from __future__ import annotations

from collections.abc import Callable, Iterable, Iterator
from typing import Any, Final

import re2

from acp_tap.errors import UsageError

PLACEHOLDER: Final = "[REDACTED]"
PLACEHOLDER_BYTES: Final = PLACEHOLDER.encode()

Matcher = tuple[Any, Callable[[bytes], bool] | None, bool]
"""(compiled pattern, check of a found secret or None, whether groups are the secret)."""


def _options(*, latin1: bool) -> Any:
    options = re2.Options()
    options.log_errors = False
    if latin1:
        options.encoding = re2.Options.Encoding.LATIN1
    return options


def compile_bytes(regex: str) -> Any:
    """A vendored rule's pattern, for UTF-8 bytes in Latin-1 mode."""
    return re2.compile(regex.encode("latin-1"), _options(latin1=True))


def compile_any(patterns: Iterable[Any]) -> Any:
    """One pattern that matches wherever any of ``patterns`` (from :func:`compile_bytes`) does:
    a single search tells that none of them can change a string."""
    options = _options(latin1=True)
    options.never_capture = True
    options.max_mem = 64 << 20
    return re2.compile(b"|".join(b"(?:%s)" % p.pattern for p in patterns), options)


_UNSUPPORTED = (
    ("(?=", "look-ahead (?=...)"),
    ("(?!", "negative look-ahead (?!...)"),
    ("(?<=", "look-behind (?<=...)"),
    ("(?<!", "negative look-behind (?<!...)"),
    ("(?>", "atomic group (?>...)"),
    ("(?P=", "named back-reference (?P=name)"),
    ("(?(", "conditional group (?(...)"),
)


def _construct(pattern: str, reason: str) -> str:
    """Name what RE2 cannot run in a pattern, from RE2's reason."""
    for text, name in _UNSUPPORTED:
        if text in reason:
            return name
    if "invalid escape sequence: \\" in reason and reason[-1:].isdigit():
        return f"back-reference {reason.rsplit(': ', 1)[-1]}"
    if "repetition operator: " in reason and reason.endswith(("++", "*+", "?+", "}+")):
        return f"possessive quantifier {reason.rsplit(': ', 1)[-1]}"
    return reason


def compile_user(pattern: str) -> Any:
    """A ``--redact`` pattern, compiled for linear time, or a :class:`UsageError` naming why not."""
    if not pattern:
        raise UsageError("--redact needs a non-empty REGEX (an empty one matches nothing to hide)")
    try:
        return re2.compile(pattern.encode("utf-8", "surrogatepass"), _options(latin1=False))
    except re2.error as exc:
        reason = exc.args[0].decode("utf-8", "replace") if exc.args else str(exc)
        raise UsageError(
            f"--redact {pattern!r} cannot be used: {_construct(pattern, reason)}; patterns run "
            "in linear time (RE2 syntax: no back-references, look-around or possessive "
            "quantifiers)"
        ) from None


def _secrets(
    pattern: Any, piece: bytes, check: Callable[[bytes], bool] | None, groups: bool
) -> Iterator[tuple[int, int]]:
    """The spans of ``piece`` to hide: each match's groups that took part, else the match."""
    for match in pattern.finditer(piece):
        spans = [match.span(g) for g in range(1, pattern.groups + 1)] if groups else []
        spans = [span for span in spans if span[0] >= 0] or [match.span()]
        for start, end in spans:
            if end > start and (check is None or check(piece[start:end])):
                yield start, end


def _hide(matcher: Matcher, piece: bytes) -> bytes:
    pattern, check, groups = matcher
    out: list[bytes] = []
    last = 0
    for start, end in _secrets(pattern, piece, check, groups):
        if start >= last:
            out += (piece[last:start], PLACEHOLDER_BYTES)
            last = end
    if not out:
        return piece
    out.append(piece[last:])
    return b"".join(out)


def scrub(data: bytes, matchers: Iterable[Matcher], any_match: Any = None) -> bytes:
    """Replace every secret outside placeholders, until none is left; ``data`` if none was.

    ``any_match`` (from :func:`compile_any`), if given, is searched first: no match, no work.

    Placeholders are never matched (so ``[A-Z]{5,}`` does not eat ``REDACTED``), and the
    loop makes the result a fixed point: scrubbing it again changes nothing. Each round
    hides at least one more byte, so the loop ends.
    """
    if any_match is not None and not any_match.search(data):
        return data
    matchers = tuple(matchers)
    while True:
        before = data
        for matcher in matchers:
            pieces = data.split(PLACEHOLDER_BYTES)
            data = PLACEHOLDER_BYTES.join(_hide(matcher, piece) for piece in pieces)
        if data == before:
            return data
