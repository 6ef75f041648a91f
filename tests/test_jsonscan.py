"""Tests for acp_tap.wire.jsonscan: in-place JSON validation agrees with strict json.loads."""

from __future__ import annotations

import base64
import json
import sys
import tracemalloc
from collections.abc import Iterator
from contextlib import contextmanager
from typing import Any

import pytest
from hypothesis import assume, given
from hypothesis import strategies as st

from acp_tap.wire.jsonrpc import INVALID, Envelope, Kind, envelope
from acp_tap.wire.jsonscan import scan


def _reject_constant(name: str) -> Any:
    raise ValueError(f"{name} is not JSON")


def reference(data: bytes) -> Envelope | None:
    """Our definition: strict UTF-8, strict json.loads, and no raw CR anywhere."""
    if b"\r" in data:
        return None
    try:
        return envelope(json.loads(data.decode("utf-8"), parse_constant=_reject_constant))
    except ValueError:  # JSONDecodeError, UnicodeDecodeError, too many integer digits
        return None


def assert_agrees(data: bytes) -> Envelope | None:
    """scan gives the reference answer on bytes, bytearray and memoryview alike."""
    try:
        expected = reference(data)
    except RecursionError:
        assume(False)  # deeper than json.loads can go: no reference answer
        raise
    for buffer in (data, bytearray(data), memoryview(data)):
        got = scan(buffer)
        assert got == expected, data
        if got is not None and expected is not None:
            assert type(got.id) is type(expected.id)
    return expected


# --- hypothesis strategies ----------------------------------------------------------

ENVELOPE_KEYS = ["jsonrpc", "method", "id", "result", "error", "params"]
scalars = (
    st.none()
    | st.booleans()
    | st.integers()
    | st.integers(min_value=-(10**30), max_value=10**30)
    | st.floats(allow_nan=False, allow_infinity=False)
    | st.text()
    | st.sampled_from(["2.0", "session/prompt", "_kiro.dev/metadata", "\ud800", "é"])
)
keys = st.sampled_from(ENVELOPE_KEYS) | st.text(max_size=8)
json_values = st.recursive(
    scalars,
    lambda children: st.lists(children, max_size=4) | st.dictionaries(keys, children, max_size=5),
    max_leaves=12,
)
messages = st.dictionaries(st.sampled_from(ENVELOPE_KEYS), json_values, max_size=5)
space = st.text(alphabet=" \t\n", max_size=3)


@st.composite
def serialised(draw: st.DrawFn) -> bytes:
    """A JSON value (often message-shaped) written in one of many styles."""
    value = draw(messages | json_values)
    text = json.dumps(
        value,
        ensure_ascii=draw(st.booleans()),
        indent=draw(st.sampled_from([None, 0, 2, "\t"])),
        separators=draw(st.sampled_from([None, (",", ":"), (", ", ": "), (" ,\n", " :\t")])),
        sort_keys=draw(st.booleans()),
    )
    # ensure_ascii=False writes lone surrogates raw: that is invalid UTF-8, as it should be.
    return (draw(space) + text + draw(space)).encode("utf-8", "surrogatepass")


@st.composite
def duplicate_keys(draw: st.DrawFn) -> bytes:
    """An object written by hand so that keys may repeat (the last one wins)."""
    pairs = draw(st.lists(st.tuples(st.sampled_from(ENVELOPE_KEYS), json_values), max_size=6))
    body = ",".join(f"{json.dumps(k)}:{json.dumps(v)}" for k, v in pairs)
    return ("{" + body + "}").encode()


INTERESTING = (
    b'{}[],:"\\ \t\n\r0123456789-+.eEtrufalsnNI\x00\x1f\x7f\x80\xa0\xbf\xc0\xc3\xed\xf4\xf5\xff'
)


@st.composite
def mutated(draw: st.DrawFn) -> bytes:
    """A serialised value with a few bytes replaced, deleted, inserted, or cut off."""
    data = bytearray(draw(serialised() | duplicate_keys()))
    byte = st.sampled_from(INTERESTING) | st.integers(0, 255)
    for _ in range(draw(st.integers(1, 3))):
        op = draw(st.sampled_from(["replace", "delete", "insert", "truncate"]))
        at = draw(st.integers(0, len(data)))
        if op == "insert":
            data.insert(at, draw(byte))
        elif op == "truncate":
            del data[at:]
        elif at < len(data):
            if op == "replace":
                data[at] = draw(byte)
            else:
                del data[at]
    return bytes(data)


@given(serialised())
def test_agrees_on_serialised_values(data: bytes) -> None:
    """Values serialised with any indent, separators and escaping get the reference answer."""
    assert_agrees(data)


@given(duplicate_keys())
def test_agrees_on_duplicate_keys(data: bytes) -> None:
    """With repeated keys the last one decides the envelope, as in json.loads."""
    assert assert_agrees(data) is not None


@given(mutated())
def test_agrees_on_mutated_documents(data: bytes) -> None:
    """Documents with random byte edits and truncations get the reference answer."""
    assert_agrees(data)


@given(st.binary(max_size=40) | st.text(alphabet=INTERESTING.decode("latin-1")).map(str.encode))
def test_agrees_on_arbitrary_bytes(data: bytes) -> None:
    """Arbitrary bytes, and text made of JSON's own characters, get the reference answer."""
    assert_agrees(data)


TOKENS = [b"[", b"]", b"{", b"}", b",", b":", b" ", b'"id"', b'"method"', b'"m"', b"1", b"-0.5e3"]
TOKENS += [b"true", b"null", b'"result"', b'"error"', b"01", b"\n"]


@given(st.lists(st.sampled_from(TOKENS), max_size=24).map(b"".join))
def test_agrees_on_token_soup(data: bytes) -> None:
    """Random sequences of JSON tokens (mostly structurally wrong) get the reference answer."""
    assert_agrees(data)


# --- explicit cases -----------------------------------------------------------------

DEPTH = 100_000


@pytest.mark.parametrize(
    ("data", "valid"),
    [
        pytest.param(b"1", True, id="integer"),
        pytest.param(b"-0", True, id="minus-zero"),
        pytest.param(b"01", False, id="leading-zero"),
        pytest.param(b"-01", False, id="minus-leading-zero"),
        pytest.param(b"1e", False, id="exponent-without-digits"),
        pytest.param(b"1.5E+3", True, id="exponent-with-sign"),
        pytest.param(b"0e0", True, id="zero-exponent"),
        pytest.param(b"1.e3", False, id="dot-without-digits"),
        pytest.param(b".5", False, id="no-integer-part"),
        pytest.param(b"+1", False, id="plus-sign"),
        pytest.param(b"-", False, id="lone-minus"),
        pytest.param(b"1e400", True, id="float-overflow-is-inf"),
        pytest.param(b"123456789012345678901234567890", True, id="big-int"),
        pytest.param(b"NaN", False, id="nan"),
        pytest.param(b"[Infinity]", False, id="infinity"),
        pytest.param(b"-Infinity", False, id="minus-infinity"),
        pytest.param(b"[1,]", False, id="trailing-comma-array"),
        pytest.param(b'{"a":1,}', False, id="trailing-comma-object"),
        pytest.param(b"[,1]", False, id="leading-comma"),
        pytest.param(b"[1 2]", False, id="missing-comma"),
        pytest.param(b'{"a" 1}', False, id="missing-colon"),
        pytest.param(b"{1:2}", False, id="non-string-key"),
        pytest.param(b"[1}", False, id="mismatched-closer"),
        pytest.param(b"[]]", False, id="extra-closer"),
        pytest.param(b"1 2", False, id="two-documents"),
        pytest.param(b"{}x", False, id="trailing-garbage"),
        pytest.param(b"", False, id="empty"),
        pytest.param(b" \t\n", False, id="only-whitespace"),
        pytest.param(b' \t\n{"a" : [ 1 , 2 ] }\n\t ', True, id="surrounding-whitespace"),
        pytest.param(b"\x0c1", False, id="form-feed-is-not-whitespace"),
        pytest.param(b"\xef\xbb\xbf{}", False, id="leading-bom"),
        pytest.param(b'"\\u0000"', True, id="nul-escape"),
        pytest.param(b'"\x00"', False, id="raw-nul-in-string"),
        pytest.param(b'"\x1f"', False, id="raw-control-in-string"),
        pytest.param(b'"\x7f"', True, id="raw-del-in-string"),
        pytest.param(b'"\\ud800"', True, id="lone-surrogate-escape"),
        pytest.param(b'"\\uDFFF\\ud800"', True, id="reversed-surrogate-escapes"),
        pytest.param(b'"\\u12G4"', False, id="bad-hex-escape"),
        pytest.param(b'"\\x41"', False, id="unknown-escape"),
        pytest.param(b'"\\/"', True, id="solidus-escape"),
        pytest.param(b'"abc', False, id="unterminated-string"),
        pytest.param(b'"\xc3\xa9\xf0\x9f\x98\x80\xef\xbf\xbf"', True, id="utf8-in-string"),
        pytest.param(b'"\xff"', False, id="byte-ff"),
        pytest.param(b'"\x80"', False, id="lone-continuation"),
        pytest.param(b'"\xc3"', False, id="truncated-sequence"),
        pytest.param(b'"\xe2\x82"', False, id="truncated-three-byte"),
        pytest.param(b'"\xc0\xaf"', False, id="overlong-two-byte"),
        pytest.param(b'"\xe0\x80\xaf"', False, id="overlong-three-byte"),
        pytest.param(b'"\xed\xa0\x80"', False, id="encoded-surrogate"),
        pytest.param(b'"\xf4\x90\x80\x80"', False, id="above-u10ffff"),
        pytest.param(b'"\xf5\x80\x80\x80"', False, id="byte-f5"),
        pytest.param(b"\xc3\xa9", False, id="utf8-outside-string"),
        pytest.param(b"[tru]", False, id="truncated-literal"),
        pytest.param(b"[true,false,null]", True, id="literals"),
    ],
)
def test_explicit_validity(data: bytes, valid: bool) -> None:
    """Edge cases of the grammar and of UTF-8 are judged as json.loads judges them."""
    assert valid == (assert_agrees(data) is not None)


@pytest.mark.parametrize(
    ("data", "expected"),
    [
        pytest.param(
            b'{"jsonrpc":"2.0","id":1,"method":"session/new","params":{}}',
            Envelope(Kind.REQUEST, "session/new", 1),
            id="request",
        ),
        pytest.param(
            b'{"jsonrpc":"2.0","id":"a1","method":"_kiro.dev/x"}',
            Envelope(Kind.REQUEST, "_kiro.dev/x", "a1"),
            id="string-id",
        ),
        pytest.param(
            b'{"method":"session/update","params":{"id":3}}',
            Envelope(Kind.NOTIFICATION, "session/update"),
            id="notification-nested-id-ignored",
        ),
        pytest.param(b'{"id":2,"result":null}', Envelope(Kind.RESPONSE, None, 2), id="response"),
        pytest.param(b'{"id":null,"error":{}}', Envelope(Kind.ERROR), id="error-null-id"),
        pytest.param(b'{"id":1.0,"result":1}', INVALID, id="float-id"),
        pytest.param(b'{"id":true,"result":1}', INVALID, id="bool-id"),
        pytest.param(b'{"id":[1],"result":1}', INVALID, id="array-id"),
        pytest.param(b'{"method":1,"id":1}', INVALID, id="non-string-method"),
        pytest.param(b'{"method":"m","id":null}', INVALID, id="request-null-id"),
        pytest.param(
            b'{"id":1,"id":"x","result":0}', Envelope(Kind.RESPONSE, None, "x"), id="last-id-wins"
        ),
        pytest.param(b'{"method":"a","method":{}}', INVALID, id="last-method-wins"),
        pytest.param(
            b'{"\\u006dethod":"m\\u00e9\\ud800"}',
            Envelope(Kind.NOTIFICATION, "m\u00e9\ud800"),
            id="escaped-key-and-value",
        ),
        pytest.param(
            b'{"id":-12345678901234567890,"error":1}',
            Envelope(Kind.ERROR, None, -12345678901234567890),
            id="big-negative-id",
        ),
        pytest.param(b"[1]", INVALID, id="array"),
        pytest.param(b'"method"', INVALID, id="string"),
    ],
)
def test_explicit_envelopes(data: bytes, expected: Envelope) -> None:
    """The envelope comes from the top-level members only, with their JSON types."""
    assert expected == assert_agrees(data)


def nested(depth: int) -> bytes:
    """Arrays and objects alternately nested ``depth`` deep."""
    opening = b"".join(b'[{"k":' if i % 2 == 0 else b"" for i in range(depth))
    closing = b"".join(b"}]" if i % 2 == 0 else b"" for i in range(depth))
    return opening + b"1" + closing


@pytest.mark.parametrize(
    ("data", "expected"),
    [
        pytest.param(b"[" * DEPTH + b"]" * DEPTH, INVALID, id="arrays"),
        pytest.param(b'{"a":' * DEPTH + b"{}" + b"}" * DEPTH, INVALID, id="objects"),
        pytest.param(
            b'{"jsonrpc":"2.0","id":7,"method":"m","params":' + nested(DEPTH) + b"}",
            Envelope(Kind.REQUEST, "m", 7),
            id="in-a-request",
        ),
        pytest.param(b"[" * DEPTH + b"]" * (DEPTH - 1), None, id="one-closer-short"),
        pytest.param(b"[" * DEPTH + b"]" * DEPTH + b"]", None, id="one-closer-too-many"),
    ],
)
def test_deep_nesting(data: bytes, expected: Envelope | None) -> None:
    """Nesting 100k deep is validated with an explicit stack (json.loads would recurse)."""
    assert expected == scan(data)


def test_max_depth() -> None:
    """max_depth rejects documents nested deeper than it, counting the top level as 1."""
    doc = b'{"a":[[1]],"id":1,"result":2}'
    assert Envelope(Kind.RESPONSE, None, 1) == scan(doc, max_depth=3)
    assert scan(doc, max_depth=2) is None
    assert scan(b"[]", max_depth=0) is None
    assert scan(b"1", max_depth=0) == INVALID


def test_raw_cr_is_rejected() -> None:
    """A raw CR makes the line invalid even where json.loads would accept it as whitespace."""
    assert json.loads('{"a":\r1}\r') == {"a": 1}
    assert scan(b'{"a":\r1}') is None
    assert scan(b'{"a":1}\r') is None
    assert scan(b'{"a":"\\r"}') == INVALID  # the escape is fine


@contextmanager
def int_max_str_digits(limit: int) -> Iterator[None]:
    """Temporarily change Python's limit on integer digits."""
    old = sys.get_int_max_str_digits()
    sys.set_int_max_str_digits(limit)
    try:
        yield
    finally:
        sys.set_int_max_str_digits(old)


@pytest.mark.parametrize("limit", [pytest.param(4300, id="default"), 1000, 0])
def test_integer_digit_limit(limit: int) -> None:
    """Integers longer than sys.get_int_max_str_digits() are rejected, as json.loads does."""
    with int_max_str_digits(limit):
        size = limit or 6000
        for digits in (size, size + 1):
            for text in (
                b"1" * digits,
                b"-" + b"1" * digits,
                b"[0," + b"2" * digits + b"]",
                b'{"id":' + b"3" * digits + b',"result":0}',
                b"4" * digits + b".5",
                b"5" * digits + b"e1",
            ):
                assert_agrees(text)


def test_scan_does_not_copy_a_huge_line() -> None:
    """A 32 MiB base64 prompt is validated with well under one copy of extra memory."""
    image = base64.b64encode(bytes(range(256)) * (3 * 2**15))
    line = bytearray(
        b'{"jsonrpc":"2.0","id":3,"method":"session/prompt","params":{"prompt":'
        b'[{"type":"image","data":"' + image + b'"}]}}'
    )
    tracemalloc.start()
    try:
        result = scan(line)
        _, peak = tracemalloc.get_traced_memory()
    finally:
        tracemalloc.stop()
    assert Envelope(Kind.REQUEST, "session/prompt", 3) == result
    assert peak < 2**21, f"scan allocated {peak} bytes for a {len(line)}-byte line"
