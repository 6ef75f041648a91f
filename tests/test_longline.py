"""The huge-line validators' error paths: a long line checked whole (classify_large, scan) or
piece by piece as it arrives (LongLine) answers what decoding it would, or (LongLine only)
"unsure", never a wrong answer; UTF-8 split across chunks or slices is still UTF-8."""

from __future__ import annotations

import itertools
import json

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from acp_tap.cassette.codec import scan_json
from acp_tap.cassette.framelines import MAX_DEPTH
from acp_tap.cassette.longline import (
    LARGE_LINE,
    LONG_STRING,
    SKELETON,
    LongLine,
    classify_large,
    has_control_py,
)
from acp_tap.native import native
from acp_tap.wire.jsonrpc import Envelope, Kind, envelope
from acp_tap.wire.jsonscan import _UTF8_SLICE, is_utf8, scan

BIG = "é" * (LONG_STRING // 2 + 50) + "x" * LONG_STRING  # a long string, two-byte characters first


def message(text: str, *, method: str = "session/prompt") -> bytes:
    """A request whose long string is ``text`` (already JSON-escaped, quotes excluded)."""
    head = b'{"jsonrpc":"2.0","id":7,"method":"' + method.encode() + b'","params":{"t":"'
    return head + text.encode("utf-8", "surrogatepass") + b'"}}'


def reference(line: bytes, *, keep_method: bool = True) -> Envelope | None:
    """What decoding the whole line says: its envelope, or None if it is not JSON. For the
    long-line checks, an object that is no JSON-RPC message keeps its string ``method``
    (redaction needs it); the in-place scan gives the plain envelope."""
    try:
        value = scan_json(line.decode("utf-8"))
    except (ValueError, RecursionError):
        return None
    found = envelope(value)
    method = value.get("method") if isinstance(value, dict) else None
    if keep_method and found.kind is Kind.INVALID and isinstance(method, str):
        return Envelope(Kind.INVALID, method)
    return found


GOOD = message(BIG)
BAD = {
    "unterminated-string": GOOD[:-3],
    "unterminated-escape": message(BIG + "\\")[:-2],
    "bad-escape": message(BIG + "\\x41"),
    "short-unicode-escape": message(BIG + "\\u12"),
    "control-character": message(BIG + "\x01"),
    "raw-tab": message("x" * LONG_STRING + "\t"),
    "newline-in-string": message(BIG + "\n" + BIG),
    "invalid-utf8": message(BIG).replace("é".encode(), b"\xc3(", 1),
    "truncated-utf8-at-end": message(BIG)[:-2] + b"\xc3",
    "encoded-surrogate": message(BIG).replace("é".encode(), b"\xed\xa0\x80", 1),
    "nan": message(BIG)[:-1] + b',"n":NaN}',
    "trailing-garbage": message(BIG) + b" x",
    "two-documents": message(BIG) + message(BIG),
    "too-deep": b"[" * (MAX_DEPTH + 1) + json.dumps(BIG).encode() + b"]" * (MAX_DEPTH + 1),
}
VALID = {
    "two-byte-characters": GOOD,
    "escapes": message(BIG + '\\n\\t\\\\\\"\\u00e9\\ud83d\\ude00'),
    "four-byte-characters": message("😀" * LONG_STRING),
    "deep-but-allowed": b"[" * MAX_DEPTH + json.dumps(BIG).encode() + b"]" * MAX_DEPTH,
    "long-method": message("x", method="m" * (LONG_STRING + 1)),
    "escaped-backslash-before-x": message(BIG + "\\\\x"),  # looks like a bad escape
    "not-json-rpc": message(BIG).replace(b'"id":7', b'"id":false'),  # its method is kept
    "many-numbers": b'{"jsonrpc":"2.0","method":"m","t":'
    + json.dumps(BIG).encode()
    + b',"params":'
    + json.dumps([1] * SKELETON).encode()
    + b"}",
    "many-short-strings": b'{"jsonrpc":"2.0","method":"m","params":'
    + json.dumps(["ab"] * (SKELETON // 4)).encode()
    + b',"t":'
    + json.dumps(BIG).encode()
    + b"}",
}


@pytest.mark.parametrize("line", [*BAD.values(), *VALID.values()], ids=[*BAD, *VALID])
def test_a_long_line_checked_whole_answers_as_decoding_it_would(line: bytes) -> None:
    """classify_large (and, for a huge line, the in-place scan) agree with decoding."""
    expected = reference(line)
    assert (expected is None) == (line in BAD.values())
    assert classify_large(line) == expected
    huge = line.replace(b"x" * LONG_STRING, b"x" * (LARGE_LINE + 1), 1)
    assert classify_large(huge) == reference(huge)
    assert scan(huge, max_depth=MAX_DEPTH) == reference(huge, keep_method=False)


def feed(line: bytes, cuts: list[int]) -> Envelope | None:
    """LongLine's answer for ``line`` arriving in pieces cut at ``cuts``."""
    long = LongLine()
    bounds = [0, *sorted({c % (len(line) + 1) for c in cuts}), len(line)]
    for start, end in itertools.pairwise(bounds):
        chunk = line[start:end]
        long.add(chunk, 0, len(chunk), ascii_chunk=chunk.isascii())
    assert long.size == len(line)
    return long.finish()


@settings(max_examples=200, deadline=None)  # lines of hundreds of KiB, fed in pieces
@given(
    name=st.sampled_from([*BAD, *VALID]),
    cuts=st.lists(st.integers(min_value=0), max_size=12),
)
def test_a_long_line_checked_in_pieces_is_never_wrong(name: str, cuts: list[int]) -> None:
    """However the line is cut, LongLine gives the decoded answer or None (unsure); never
    a wrong envelope."""
    line = {**BAD, **VALID}[name]
    found = feed(line, cuts)
    assert found is None or found == reference(line)


def test_a_character_split_across_pieces_is_still_utf8() -> None:
    """A two-, three- or four-byte character cut between pieces does not make the line
    unsure: LongLine joins the halves."""
    for char in ("é", "€", "😀"):
        line = message((char * LONG_STRING)[: LONG_STRING * 2])
        at = line.index(char.encode()) + 1  # inside the first character
        assert feed(line, [at, at + 1]) == reference(line) is not None


@pytest.mark.parametrize("name", ["unterminated-string", "control-character", "bad-escape"])
def test_in_pieces_an_invalid_line_is_never_called_json(name: str) -> None:
    """The error paths: an unterminated string, a control character or a bad escape in a
    long string leave LongLine unsure (the caller then decodes the slow way)."""
    line = BAD[name]
    assert feed(line, [len(line) // 3, len(line) // 2]) is None


@pytest.mark.parametrize("char", ["é", "€", "😀"])
@pytest.mark.parametrize("shift", [0, 1, 2, 3])
def test_utf8_is_checked_across_slice_boundaries(char: str, shift: int) -> None:
    """is_utf8 reads a buffer in slices: a character across a slice boundary is valid, a
    broken one there is not."""
    encoded = char.encode()
    data = b"a" * (_UTF8_SLICE - shift) + encoded * 4
    assert is_utf8(data) and is_utf8(memoryview(data))
    broken = b"a" * (_UTF8_SLICE - shift) + encoded[:-1] + b"a" + encoded
    assert not is_utf8(broken)
    assert not is_utf8(data[:-1])  # cut inside the last character


@pytest.mark.parametrize(
    "short",
    [
        pytest.param(b"a\\\\", id="escaped-backslash-then-quote"),
        pytest.param(b'a\\"b', id="escaped-quote"),
        pytest.param(b"a\\\\\\\\", id="two-escaped-backslashes"),
        pytest.param(b"\\\\", id="only-an-escaped-backslash"),
    ],
)
def test_a_run_of_backslashes_cut_between_pieces_is_counted_whole(short: bytes) -> None:
    """Whether a quote closes a (short) string depends on the backslashes before it, even
    when they came in the previous piece: cut anywhere in the run, the answer is the same."""
    line = b'{"jsonrpc":"2.0","id":7,"method":"m","params":{"k":"' + short + b'","t":'
    line += json.dumps(BIG, ensure_ascii=False).encode() + b"}}"
    expected = reference(line)
    assert expected is not None
    start = line.index(b'"k":"') + 5
    for cut in range(start, start + len(short) + 2):
        assert feed(line, [cut]) == expected, cut


@pytest.mark.parametrize("size", [10, (1 << 18) + 10])
def test_the_control_byte_reference_agrees_with_the_native_check(size: int) -> None:
    """has_control_py (the pure-Python path) finds a control byte anywhere in the range, also
    past a slice boundary, and only inside the range."""
    native_check = native("acp_tap._plainlines", "has_control")
    clean = b"a" * size
    for at in (0, size // 2, size - 1):
        dirty = clean[:at] + b"\x1f" + clean[at + 1 :]
        assert has_control_py(dirty, 0, size)
        assert not has_control_py(dirty, at + 1, size)
        if native_check is not None:
            assert native_check(dirty, 0, size) and not native_check(dirty, at + 1, size)
    assert not has_control_py(clean, 0, size)
