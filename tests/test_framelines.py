"""The frame-line splitter: native and reference agree, and the reader's fast path built on it
decodes exactly what the general decoder does."""

from __future__ import annotations

import json
import os

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from acp_tap.cassette.codec import _decode_general, _usual_frame, decode_line, encode_frame_bytes
from acp_tap.cassette.framelines import NATIVE, scan_frames_py
from acp_tap.cassette.model import Direction, Eol, Frame, Payload
from acp_tap.errors import CassetteFormatError

needs_native = pytest.mark.skipif(NATIVE is None, reason="acp_tap._framelines is not built")


def test_native_is_built_in_ci() -> None:
    """CI must exercise the native path: a failed compile would otherwise pass silently."""
    if not os.environ.get("CI") or os.environ.get("ACP_TAP_PURE_PYTHON"):
        pytest.skip("only enforced in CI")
    assert NATIVE is not None, "the C extension acp_tap._framelines was not built"


NOTE = b'{"jsonrpc":"2.0","method":"session/update","params":{"sessionId":"s1","x":"}"}}'
LINES = [
    b'{"seq":1,"t":0.5,"dir":"a2c","msg":' + NOTE + b"}\n",
    b'{"seq":2,"t":1e-3,"dir":"c2a","eol":"crlf","msg":{"jsonrpc":"2.0","id":"a-1","method":"x"}}\n',  # no sessionId
    b'{"seq":3,"t":7,"dir":"a2c","eol":"none","msg":{"jsonrpc":"2.0","id":-3,"result":{}}}\r\n',
    b'{"seq":4,"t":2.25E+2,"dir":"err","msg":"log"}\n',
    b'{"seq":5,"t":0,"dir":"a2c","msg":{"jsonrpc":"2.0","id":5,"error":{"code":1}}}\n',
    b'{"seq":6,"t":0,"dir":"a2c","msg":{"jsonrpc":"2.0","id":true,"result":1}}\n',  # no envelope
    b'{"seq":7,"t":0,"dir":"a2c","msg":{"jsonrpc":"2.0","method":"m","params":{"x":1}}}\n',
    b'{"seq":8,"t":0,"dir":"a2c","msg":{"jsonrpc":"2.0","method":"m\\u0041","params":{}}}\n',
    b'{"seq":9,"t":0,"dir":"a2c","msg":{"x":"}"} }\r\n',  # the message runs to the last brace
    b'{"seq":10,"t":0.50,"dir":"c2a","msg":1}\n',
    b'{"seq":11,"t":0,"dir":"a2c","msg":' + b"[" * 500 + b"]" * 500 + b"}\n",
    b'{"seq":12,"t":0,"dir":"a2c","msg":[1e999,-0,-0.5E-3,"\xc3\xa9\xf0\x9f\x98\x80",'
    + b"9" * 700
    + b"]}\n",
    b'{"seq":13,"t":0,"dir":"a2c","msg":{"a":[true,false,null,{}],"\\u00e9\\ud800\\/":[]}}\n',
]
NOT_FRAMES = [
    b'{"type":"footer"}\n',
    b'{"seq":1,"t":0.5,"dir":"a2c","text":"log"}\n',
    b'{"seq":1,"t":0.5,"dir":"x2y","msg":1}\n',
    b'{"seq":1,"t":.5,"dir":"a2c","msg":1}\n',
    b'{"seq":1,"t":1.,"dir":"a2c","msg":1}\n',
    b'{"seq":1,"t":1e,"dir":"a2c","msg":1}\n',
    b'{"seq":-1,"t":1,"dir":"a2c","msg":1}\n',
    b'{"seq":1,"t":1,"dir":"a2c","msg":1} \n',
    b'{"seq":1,"t":1,"dir":"a2c","eol":"lf","msg":1}\n',
    b'{"seq":1234567890123456789,"t":1,"dir":"a2c","msg":1}\n',  # left to the slow path
    b'{"seq":1,"t":1,"dir":"a2c","msg":1}',  # no newline: maybe cut short by a kill
    b"\n",
    b'{"seq":000010,"t":0.5,"dir":"c2a","msg":1}\n',  # leading zeros: not JSON
    b'{"seq":10,"t":00.50,"dir":"c2a","msg":1}\n',
    b'{"seq":0,"t":1,"dir":"a2c","msg":1}\n',  # numbered from 1
    b'{"seq":1,"t":1e400,"dir":"a2c","msg":1}\n',  # not a finite time
    b'{"seq":1,"t":1,"dir":"a2c","msg":}\r}\n',  # the message must be JSON
    b'{"seq":1,"t":1,"dir":"a2c","msg":{"a":NaN}}\n',
    b'{"seq":1,"t":1,"dir":"a2c","msg":"\xff"}\n',  # not UTF-8
    b'{"seq":1,"t":1,"dir":"a2c","msg":"\xed\xa0\x80"}\n',  # an encoded surrogate
    b'{"seq":1,"t":1,"dir":"a2c","msg":"\xc0\x80"}\n',  # an overlong form
    b'{"seq":1,"t":1,"dir":"a2c","msg":"\xf4\x90\x80\x80"}\n',  # beyond U+10FFFF
    b'{"seq":1,"t":1,"dir":"a2c","msg":"a\tb"}\n',  # a control character in a string
    b'{"seq":1,"t":1,"dir":"a2c","msg":"\\x"}\n',  # a bad escape
    b'{"seq":1,"t":1,"dir":"a2c","msg":"\\u12"}\n',
    b'{"seq":1,"t":1,"dir":"a2c","msg":"open}\n',  # an unterminated string
    b'{"seq":1,"t":1,"dir":"a2c","msg":[1,]}\n',
    b'{"seq":1,"t":1,"dir":"a2c","msg":{"a":1,}}\n',
    b'{"seq":1,"t":1,"dir":"a2c","msg":{"a" 1}}\n',
    b'{"seq":1,"t":1,"dir":"a2c","msg":01}\n',
    b'{"seq":1,"t":1,"dir":"a2c","msg":1 2}\n',
    b'{"seq":1,"t":1,"dir":"a2c","msg":' + b"9" * 5000 + b"}\n",  # over int()'s digit limit
    b'{"seq":1,"t":1,"dir":"a2c","msg":' + b"[" * 501 + b"]" * 501 + b"}\n",  # too deep
]


@pytest.mark.parametrize("line", LINES)
def test_frame_lines(line: bytes) -> None:
    """Each frame line in the usual layout, with a message that is JSON, is split."""
    frames, pos = scan_frames_py(line, 0, 10, 0)
    assert len(frames) == 1 and pos == len(line)
    if NATIVE is not None:
        assert NATIVE(line, 0, 10, 0) == (frames, pos)


@pytest.mark.parametrize("line", NOT_FRAMES)
def test_other_lines(line: bytes) -> None:
    """Any other line, or a message that is not what the general decoder accepts, is not."""
    assert scan_frames_py(line, 0, 10, 0) == ([], 0)
    if NATIVE is not None:
        assert NATIVE(line, 0, 10, 0) == ([], 0)


def test_sequence_numbers_must_increase() -> None:
    """A frame numbered at or below the one before (or ``last_seq``) stops the split."""
    data = b"".join(LINES[:3]) + LINES[1] + LINES[3]
    assert [f[0] for f in scan_frames_py(data, 0, 100, 0)[0]] == [1, 2, 3]
    assert scan_frames_py(data, 0, 100, 1) == ([], 0)
    if NATIVE is not None:
        assert NATIVE(data, 0, 100, 0) == scan_frames_py(data, 0, 100, 0)
        assert NATIVE(data, 0, 100, 1) == ([], 0)


def test_groups() -> None:
    data = b"".join(LINES)
    frames, pos = scan_frames_py(data, 0, 100, 0)
    assert pos == len(data)
    assert frames[0] == (1, 0.5, b"a2c", None, NOTE, None, b"session/update", b"s1")
    assert frames[1][:4] == (2, 0.001, b"c2a", b"crlf") and frames[1][5:] == (None, None, None)
    assert frames[2][3:] == (b"none", b'{"jsonrpc":"2.0","id":-3,"result":{}}', b"-3", None, None)
    assert frames[4][5:] == (b"5", None, None)
    assert frames[5][5:] == frames[6][5:] == (None, None, None)
    assert frames[7][5:] == (None, None, None)  # an escaped method is not the usual start
    assert frames[8][4] == b'{"x":"}"} '
    assert frames[9][:2] == (10, 0.5)
    assert scan_frames_py(data, 0, 3, 0) == (frames[:3], sum(map(len, LINES[:3])))
    if NATIVE is not None:
        assert NATIVE(data, 0, 100, 0) == (frames, pos)
        assert NATIVE(data, len(LINES[0]), 2, 1) == (frames[1:3], sum(map(len, LINES[:3])))


@needs_native
def test_native_checks_its_arguments() -> None:
    assert NATIVE is not None
    with pytest.raises(ValueError, match="pos"):
        NATIVE(b"", 1, 1, 0)
    with pytest.raises(TypeError):
        NATIVE(bytearray(), 0, 1, 0)  # type: ignore[arg-type]
    with pytest.raises(TypeError):
        NATIVE(b"", 0, 1)  # type: ignore[call-arg]


pieces = st.sampled_from(
    [b'{"seq":', b"1", b"0", b"12", b',"t":', b"1.5", b"e", b"-", b".", b',"dir":"', b"a2c",
     b"c2a", b"err", b'"', b',"eol":"', b"crlf", b"none", b',"msg":', b'{"jsonrpc":"2.0",',
     b'"id":', b'"method":', b'"m"', b',"params":{"sessionId":', b'"s"', b'"result":',
     b'"error":', b"}", b"\r", b",", b"\\", b" ", b"\xff", b"{", b"[", b"]", b":",
     b"true", b"nul", b"\\u00e9", b"\\u12", b"\\n", b"\x00", b"\t", b"\xc3\xa9", b"\xc3",
     b"\xed\xa0\x80", b"NaN", b"1e5", b"-0", b"01", b'"x"', b"2"]
)  # fmt: skip
lines = st.one_of(
    st.sampled_from(LINES + NOT_FRAMES),
    st.lists(pieces, max_size=24).map(lambda parts: b"".join(parts) + b"\n"),
    st.binary(max_size=30),
)


@needs_native
@settings(max_examples=400)
@given(st.lists(lines, max_size=10), st.integers(1, 12), st.integers(0, 3))
def test_native_agrees_with_reference(chosen: list[bytes], max_frames: int, last: int) -> None:
    """The C splitter and its Python reference split the same lines the same way."""
    assert NATIVE is not None
    data = b"".join(chosen)
    for pos in {0, *(i + 1 for i, byte in enumerate(data) if byte == 0x0A)}:
        assert NATIVE(data, pos, max_frames, last) == scan_frames_py(data, pos, max_frames, last)


messages = st.lists(pieces, max_size=16).map(
    lambda parts: b'{"seq":1,"t":1,"dir":"a2c","msg":' + b"".join(parts) + b"}\n"
)


@needs_native
@settings(max_examples=600)
@given(
    st.one_of(
        messages,
        st.binary(max_size=20).map(lambda b: b'{"seq":1,"t":1,"dir":"a2c","msg":"' + b + b'"}\n'),
    )
)
def test_native_checks_messages_as_the_reference_does(line: bytes) -> None:
    """The C JSON check accepts exactly the messages Python's json module (strict UTF-8,
    no NaN, at most MAX_DEPTH deep) accepts."""
    assert NATIVE is not None
    assert NATIVE(line, 0, 1, 0) == scan_frames_py(line, 0, 1, 0)


# -- the reader's fast path: decode_line gives what the general decoder gives ---------

json_values = st.recursive(
    st.none() | st.booleans() | st.integers() | st.floats(allow_nan=False) | st.text(max_size=8),
    lambda inner: (
        st.lists(inner, max_size=3) | st.dictionaries(st.text(max_size=4), inner, max_size=3)
    ),
    max_leaves=8,
)
written_frames = st.builds(
    lambda seq, t, direction, value, eol: encode_frame_bytes(
        Frame(seq, t, direction, json.dumps(value).encode(), Payload.JSON, eol)
    ),
    st.integers(0, 10**20),
    st.floats(min_value=0, allow_nan=False, allow_infinity=False),
    st.sampled_from(list(Direction)),
    json_values,
    st.sampled_from(list(Eol)),
)
frame_lines = st.one_of(
    written_frames,
    st.builds(
        lambda seq, t, direction, raw, eol: (
            b'{"seq":%s,"t":%s,"dir":"%s"%s,"msg":%s}\n' % (seq, t, direction, eol, raw)
        ),
        st.sampled_from([b"1", b"0", b"00", b"01", b"123456789012345678"]),
        st.sampled_from([b"0", b"0.5", b"00.5", b"01", b"1e400", b"1" * 400, b"2E-3", b"7"]),
        st.sampled_from([b"c2a", b"a2c", b"err"]),
        st.sampled_from(
            [b"{}", b" [1, 2] ", b'"\\ud800"', b"\xef\xbb\xbf{}", b"\xff", b"{", b"1}", b"NaN"]
        ),
        st.sampled_from([b"", b',"eol":"crlf"', b',"eol":"none"', b',"eol":"lf"']),
    ),
    lines,
)


@settings(max_examples=400)
@given(frame_lines)
def test_reader_fast_path_agrees_with_the_general_decoder(line: bytes) -> None:
    fast = _usual_frame(line)
    try:
        general = _decode_general(line, "c.ndjson", 3)
    except CassetteFormatError:
        assert fast is None
        return
    if fast is not None:
        assert isinstance(general, Frame)
        fields = ("seq", "t", "dir", "raw", "payload", "eol", "redacted", "parsed")
        assert [getattr(fast, f) for f in fields] == [getattr(general, f) for f in fields]
        assert type(fast.t) is type(general.t) is float


def test_reader_fast_path_takes_the_usual_frames() -> None:
    line = b'{"seq":12,"t":0.25,"dir":"a2c","msg":{"jsonrpc":"2.0","id":1,"result":{}}}\n'
    frame = _usual_frame(line)
    assert frame is not None and frame.parsed == {"jsonrpc": "2.0", "id": 1, "result": {}}
    assert decode_line(line) == frame
