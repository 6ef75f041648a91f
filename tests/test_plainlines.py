"""The recorder's fast path: the native scanner agrees with its pure-Python reference.

The C version may stop earlier than the reference (when in doubt), never later, and
frames what it takes byte for byte the same; on ordinary ACP notifications it must take
every line, or the proxy loses its speed without any test noticing.
"""

from __future__ import annotations

import json
import os
import threading
import time
from typing import Any

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from acp_tap.cassette.classify import LONG_LINE
from acp_tap.cassette.codec import too_deep
from acp_tap.cassette.framelines import MAX_DEPTH
from acp_tap.cassette.longline import has_control_py
from acp_tap.cassette.model import Direction
from acp_tap.cassette.plainlines import (
    NATIVE,
    FramePlainLines,
    PlainMethods,
    frame_plain_lines_py,
    method_key,
)
from acp_tap.cassette.recorder import Recorder
from acp_tap.native import native
from acp_tap.redaction import RedactionRules, Redactor

HEAD = b',"t":1.250000,"dir":"a2c","msg":'
UPDATE = b"session/update"

needs_native = pytest.mark.skipif(NATIVE is None, reason="acp_tap._plainlines is not built")


def test_native_is_built_in_ci() -> None:
    """CI must exercise the native path: a failed compile would otherwise pass silently."""
    if not os.environ.get("CI") or os.environ.get("ACP_TAP_PURE_PYTHON"):
        pytest.skip("only enforced in CI")
    assert NATIVE is not None, "the C extension acp_tap._plainlines was not built"


def frames(
    function: FramePlainLines,
    chunk: bytes,
    plain: PlainMethods,
    *,
    seq: int = 0,
    limit: int = 64,
    secrets: bool = False,
) -> tuple[bytes, int, int]:
    return function(chunk, 0, chunk.rfind(b"\n") + 1, seq, HEAD, plain, limit, secrets)


def notification(method: object, params: object = None, **extra: object) -> bytes:
    message: dict[str, object] = {"jsonrpc": "2.0", "method": method, **extra}
    if params is not None:
        message["params"] = params
    return json.dumps(message, ensure_ascii=False, separators=(",", ":")).encode()


# -- what a line alone gives -----------------------------------------------------------

TAKEN = [
    notification("session/update", {"text": "Résumé “quoted” \t tab\\n 😀 \u007f"}),
    notification("session/update", {"n": [0, -0, 1.5, -2e10, 3e2, 4e-3, True, False, None]}),
    b'  {"method" : "session/update" , "params" : { } }\t',
    b'{"method":"x","method":"session/update"}',  # the last duplicate wins, as in Python
    b'{"params":{"id":1,"method":"other"},"method":"session/update"}',  # nested id is fine
    b'{"method":"session/update","params":"\\ud800 lone surrogate escape"}',
    b'{"method":"session/update","big":' + b"9" * 640 + b"}",
    b'{"method":"session/update","x":' + b"[" * 150 + b"]" * 150 + b"}",
    b"{}",  # no method: None, which this plain set has
    b"[1,2]",
    b'"just a string"',
    b"17",
]

STOPPED = [
    b"",
    b"not json",
    b'{"id":1,"method":"session/update"}',  # requests and responses are tracked in Python
    b'{"\\u0069d":1,"method":"session/update"}',  # an escaped key may spell "id"
    b'{"method":"session/\\u0075pdate"}',  # an escaped method is left to Python
    b'{"method":"session/update","method":1}',  # then no method: None, but see plain below
    b'{"method":"other"}',
    b'{"method":"session/update","x":NaN}',
    b'{"method":"session/update","x":01}',
    b'{"method":"session/update","x":1.}',
    b'{"method":"session/update","x":"\t"}',  # raw control character
    b'{"method":"session/update","x":"\\x"}',
    b'{"method":"session/update","x":"\\u12"}',
    b'{"method":"session/update","x":"\xc3\x28"}',  # invalid continuation byte
    b'{"method":"session/update","x":"\xc0\xaf"}',  # overlong
    b'{"method":"session/update","x":"\xed\xa0\x80"}',  # UTF-8-encoded surrogate
    b'{"method":"session/update","x":"\xf4\x90\x80\x80"}',  # above U+10FFFF
    b'{"method":"session/update","x":"\xf0\x9f\x98"}',  # truncated
    b'{"method":"session/update","x":1}\r',
    b'\xef\xbb\xbf{"method":"session/update"}',  # BOM
    b'{"method":"session/update"} {}',
    b'{"method":"session/update",}',
    b'{"method":"session/update","big":' + b"9" * 641 + b"}",  # CPython's int limit
    b'{"method":"session/update","x":' + b"[" * 250 + b"]" * 250 + b"}",  # left to Python
]


@pytest.mark.parametrize("line", TAKEN)
def test_lines_taken(line: bytes) -> None:
    plain = {UPDATE, None}
    chunk = line + b"\n"
    want = b'{"seq":8' + HEAD + line + b"}\n"
    assert frames(frame_plain_lines_py, chunk, plain, seq=7, limit=1 << 16) == (want, len(chunk), 1)
    if NATIVE is not None:
        assert frames(NATIVE, chunk, plain, seq=7, limit=1 << 16) == (want, len(chunk), 1)


@needs_native
@pytest.mark.parametrize("line", STOPPED)
def test_lines_the_native_scanner_leaves_to_python(line: bytes) -> None:
    assert NATIVE is not None
    assert frames(NATIVE, line + b"\n", {UPDATE}, limit=1 << 16) == (b"", 0, 0)


def test_limit_is_inclusive() -> None:
    line = notification("session/update", {"pad": "x" * 30})
    chunk = line + b"\n" + line + b"\n"
    for function in filter(None, (NATIVE, frame_plain_lines_py)):
        assert frames(function, chunk, {UPDATE}, limit=len(line))[1:] == (len(chunk), 2)
        assert frames(function, chunk, {UPDATE}, limit=len(line) - 1) == (b"", 0, 0)


def test_stops_at_the_first_line_it_cannot_take_and_counts_on_from_seq() -> None:
    good = notification("session/update")
    chunk = good + b"\n" + good + b"\n" + b'{"id":1}\n' + good + b"\n"
    for function in filter(None, (NATIVE, frame_plain_lines_py)):
        framed, pos, count = function(chunk, 0, len(chunk), 41, HEAD, {UPDATE}, 1 << 16, True)
        assert (pos, count) == (2 * (len(good) + 1), 2)
        assert framed.splitlines() == [
            b'{"seq":42' + HEAD + good + b"}",
            b'{"seq":43' + HEAD + good + b"}",
        ]
        # from a later position; an unterminated last line is never taken
        assert function(chunk + good, pos + 9, len(chunk), 0, HEAD, {UPDATE}, 1 << 16, True)[2] == 1


@needs_native
def test_native_checks_its_arguments() -> None:
    assert NATIVE is not None
    with pytest.raises(ValueError, match="pos <= end"):
        NATIVE(b"{}\n", 2, 1, 0, HEAD, set(), 10, False)
    with pytest.raises(TypeError):
        NATIVE(bytearray(b"{}\n"), 0, 3, 0, HEAD, set(), 10, False)  # type: ignore[arg-type]


def test_depth_rule() -> None:
    assert not too_deep("[" * MAX_DEPTH + "]" * MAX_DEPTH)
    assert too_deep("[" * (MAX_DEPTH + 1) + "]" * (MAX_DEPTH + 1))
    assert not too_deep('"' + "[" * 600 + '"')  # brackets in strings do not nest
    assert not too_deep("[" * 300 + '"\\"[[["' + "]" * 300 + "{" * 300)  # escaped quote


# -- differential: arbitrary chunks ---------------------------------------------------

METHODS = ["session/update", "_kiro.dev/metadata", "session/cancel", "ü/ñ", ""]

scalars = (
    st.none()
    | st.booleans()
    | st.integers(min_value=-(10**30), max_value=10**30)
    | st.floats(allow_nan=False, allow_infinity=False)
    | st.text(max_size=40)
)
json_values = st.recursive(
    scalars,
    lambda inner: (
        st.lists(inner, max_size=4) | st.dictionaries(st.text(max_size=8), inner, max_size=4)
    ),
    max_leaves=20,
)


@st.composite
def plain_lines(draw: st.DrawFn) -> bytes:
    """A notification as agents write it: certain to be taken when its method is plain."""
    params = draw(json_values)
    message: dict[str, Any] = {"jsonrpc": "2.0", "method": draw(st.sampled_from(METHODS))}
    message["params"] = params
    ascii_only = draw(st.booleans())
    separators = draw(st.sampled_from([(",", ":"), (", ", ": ")]))
    return json.dumps(message, ensure_ascii=ascii_only, separators=separators).encode()


def mutate(line: bytes, data: st.DataObject) -> bytes:
    at = data.draw(st.integers(0, len(line)))
    junk = data.draw(st.binary(max_size=3).filter(lambda b: b"\n" not in b))
    cut = data.draw(st.integers(0, 2))
    return line[:at] + junk + line[at + cut :]


lines = (
    plain_lines()
    | st.builds(lambda v: json.dumps(v).encode(), json_values)
    | st.sampled_from(STOPPED + TAKEN)
    | st.binary(max_size=20).map(lambda b: b.replace(b"\n", b""))
)


@settings(max_examples=300)
@given(st.data())
def test_native_agrees_with_reference(data: st.DataObject) -> None:
    drawn = data.draw(st.lists(lines, max_size=12))
    chosen = [mutate(line, data) if data.draw(st.booleans()) else line for line in drawn]
    chunk = b"".join(line + b"\n" for line in chosen) + data.draw(st.binary(max_size=8))
    plain: set[bytes | None] = {method_key(m) for m in data.draw(st.sets(st.sampled_from(METHODS)))}
    if data.draw(st.booleans()):
        plain.add(None)
    seq = data.draw(st.integers(0, 2**40))
    limit = data.draw(st.sampled_from([40, 200, LONG_LINE]))
    end = chunk.rfind(b"\n") + 1
    secrets = data.draw(st.booleans())
    args = (chunk, 0, end, seq, HEAD, plain, limit, secrets)
    want, want_pos, want_count = frame_plain_lines_py(*args)
    assert want_count == want.count(b"\n") and want_pos <= end
    if NATIVE is None:
        return
    got, got_pos, got_count = NATIVE(*args)
    assert got_count <= want_count
    assert want.startswith(got) and got.count(b"\n") == got_count
    assert got_pos == sum(len(line) + 1 for line in chosen[:got_count])


@needs_native
@settings(max_examples=200)
@given(st.lists(plain_lines(), min_size=1, max_size=20))
def test_native_takes_every_ordinary_notification(drawn: list[bytes]) -> None:
    chunk = b"".join(line + b"\n" for line in drawn)
    assert NATIVE is not None
    plain = {method_key(m) for m in METHODS}
    got = NATIVE(chunk, 0, len(chunk), 0, HEAD, plain, LONG_LINE, False)
    unusual = [  # nested past the native depth, or a method spelled with escapes
        line
        for line in drawn
        if line.count(b"[") + line.count(b"{") > 150
        or b'"method": "\\u' in line.replace(b'":"', b'": "')
    ]
    if not unusual:
        assert got == frame_plain_lines_py(chunk, 0, len(chunk), 0, HEAD, plain, LONG_LINE, False)


@needs_native
@settings(max_examples=150)
@given(
    st.lists(
        lines | plain_lines() | st.just(b'{"jsonrpc":"2.0","id":3,"result":{"x":1}}'), max_size=30
    ),
    st.lists(st.integers(1, 400), max_size=20),
    st.sampled_from([Direction.CLIENT_TO_AGENT, Direction.AGENT_TO_CLIENT]),
)
def test_recorder_cassette_is_the_same_either_way(
    drawn: list[bytes], cuts: list[int], direction: Direction
) -> None:
    assert NATIVE is not None
    stream = b"".join(line + b"\n" for line in drawn)
    pieces, at = [], 0
    for cut in cuts:
        pieces.append(stream[at : at + cut])
        at += cut
    pieces.append(stream[at:])
    recorded = []
    for function in (NATIVE, frame_plain_lines_py):
        recorder = Recorder(Redactor(RedactionRules()), frame_plain=function)
        out = b"".join(
            b"".join(recorder.feed(direction, piece, 0.5).buffers) for piece in pieces if piece
        )
        out += b"".join(recorder.close(direction, 1.0).buffers)
        recorded.append((out, recorder.seq))
    assert recorded[0] == recorded[1]


# -- has_control: the long-line check's one-pass scan ------------------------------------

HAS_CONTROL = native("acp_tap._plainlines", "has_control")


@needs_native
@settings(max_examples=300)
@given(
    data=st.binary(max_size=300).map(lambda b: b.replace(b"\x00", b"")) | st.binary(max_size=300),
    control=st.integers(0, 0x1F) | st.none(),
    where=st.integers(0, 300),
    start=st.integers(-5, 310),
    length=st.integers(0, 320),
)
def test_has_control_agrees_with_its_reference(
    data: bytes, control: int | None, where: int, start: int, length: int
) -> None:
    """Any bytes, any range (also out of bounds, bytes or bytearray): the same answer."""
    if control is not None:
        where = min(where, len(data))
        data = data[:where] + bytes([control]) + data[where:]
    assert HAS_CONTROL is not None
    for buf in (data, bytearray(data)):
        expected = has_control_py(buf, max(start, 0), min(start + length, len(buf)))
        assert HAS_CONTROL(buf, start, start + length) is expected


# -- long chunks: scanned without the GIL ------------------------------------------------


@needs_native
@settings(max_examples=40, deadline=None)
@given(
    st.lists(lines | plain_lines(), min_size=1, max_size=12),
    st.integers(200, 600),
    st.booleans(),
)
def test_native_agrees_with_reference_on_long_chunks(
    drawn: list[bytes], repeat: int, secrets: bool
) -> None:
    """Chunks past the size scanned without the GIL (16 KiB), with methods changing from
    line to line (each change looked up in the set with the GIL held again)."""
    assert NATIVE is not None
    ordinary = [notification(m.decode(), {"n": n}) for n, m in enumerate((UPDATE, b"_x/y", UPDATE))]
    chunk = b"".join(line + b"\n" for line in ordinary * repeat + drawn)
    assert len(chunk) >= 1 << 14
    plain = {UPDATE, b"_x/y"}
    args = (chunk, 0, len(chunk), 7, HEAD, plain, LONG_LINE, secrets)
    want, want_pos, want_count = frame_plain_lines_py(*args)
    got, got_pos, got_count = NATIVE(*args)
    assert got_count >= 3 * repeat
    assert want.startswith(got) and got_count <= want_count and got_pos <= want_pos


@needs_native
def test_a_long_chunk_is_framed_while_other_threads_run() -> None:
    """The GIL is released while a long chunk is scanned: another thread's Python code
    keeps running meanwhile (it could not if the scan held the GIL)."""
    assert NATIVE is not None
    line = notification("session/update", {"text": "plain words " * 20})
    chunk = line + b"\n"
    chunk *= (64 << 20) // len(chunk)
    ticks: list[float] = []
    stop = threading.Event()

    def tick() -> None:
        while not stop.is_set():
            ticks.append(time.perf_counter())

    thread = threading.Thread(target=tick)
    thread.start()
    try:
        time.sleep(0.02)
        began = time.perf_counter()
        framed, _, taken = NATIVE(chunk, 0, len(chunk), 0, HEAD, {UPDATE}, LONG_LINE, True)
        ended = time.perf_counter()
    finally:
        stop.set()
        thread.join(10)
    assert taken == chunk.count(b"\n") and len(framed) > len(chunk)
    middle = (began + 0.25 * (ended - began), ended - 0.25 * (ended - began))
    assert sum(middle[0] < t < middle[1] for t in ticks) > 100, ended - began


# -- lines of one shape: only their last string is checked -------------------------------

SHAPED = [  # (head up to the last string value's opening quote, closing bytes after it)
    (b'{"jsonrpc":"2.0","method":"session/update","params":{"update":{"text":"', b"}}}"),
    (b'{"jsonrpc":"2.0","method":"session/update","params":["a",1,"', b"] }"),
    (b'{"method": "session/update", "params": {"content": [{"text": "', b"}]}}"),
    (b'{"jsonrpc":"2.0","method":"_kiro.dev/metadata","params":{"x":"', b"}}"),
    (b'{"params":{"token":"', b'}, "method":"session/update"}'),  # not a shape: the tail
    (b'{"jsonrpc":"2.0","method":"', b"}"),  # the method itself varies
    (b'["', b"]"),
]
string_bodies = (
    st.text(max_size=30).map(lambda t: json.dumps(t, ensure_ascii=False).encode()[1:-1])
    | st.sampled_from([b"password", b"Api-Key", b"\\u0041KIA", b'tok\\"en', b"a\\qb", b"\x01"])
    | st.binary(max_size=12).map(lambda b: b.replace(b"\n", b""))
)


@st.composite
def shaped_lines(draw: st.DrawFn) -> bytes:
    head, tail = draw(st.sampled_from(SHAPED))
    body = draw(string_bodies)
    tail = draw(
        st.sampled_from([tail, tail + b" ", tail[:-1], tail + b"}", tail.replace(b"}", b"]")])
    )
    return head + body + b'"' + tail


@settings(max_examples=400)
@given(
    st.lists(shaped_lines() | plain_lines(), min_size=1, max_size=16),
    st.booleans(),
    st.sampled_from([40, 90, LONG_LINE]),
)
def test_lines_of_one_shape_agree_with_reference(
    drawn: list[bytes], secrets: bool, limit: int
) -> None:
    """Runs of lines that differ only in their last string (and sometimes in what follows
    it): the native path, which checks such a line's new string only, takes no line the
    reference would not, frames the same bytes, and takes every ordinary one."""
    chunk = b"".join(line + b"\n" for line in drawn)
    plain = {UPDATE, b"_kiro.dev/metadata", None}
    args = (chunk, 0, len(chunk), 0, HEAD, plain, limit, secrets)
    want, _, want_count = frame_plain_lines_py(*args)
    if NATIVE is None:
        return
    got, got_pos, got_count = NATIVE(*args)
    assert want.startswith(got) and got_count <= want_count
    assert got_pos == sum(len(line) + 1 for line in drawn[:got_count])
    if all(b"\\" not in line and b"\\u" not in line for line in drawn):
        assert got_count == want_count, (got_count, want_count)


@needs_native
@pytest.mark.parametrize(("head", "tail"), SHAPED[:4])
@pytest.mark.parametrize(
    ("second", "taken"),
    [
        (lambda h, t: h + b'other text"' + t, True),
        (lambda h, t: h[:-1] + b'Zother"' + t, False),  # no opening quote
        (lambda h, t: h + b'x"' + t.replace(b"}", b"]"), False),  # closers of another kind
        (lambda h, t: h + b'x"' + t + b"x", False),  # more after the closers
        (lambda h, t: h + b'x"' + t[:-1], False),  # fewer closers
        (lambda h, t: h + b'x"' + t + b"}", False),  # more closers
        (lambda h, t: h + b'x\\q"' + t, False),  # a bad escape
        (lambda h, t: h + b'\xff"' + t, False),  # not UTF-8
        (lambda h, t: h + b'\xc3\xa9\\u00e9"' + t, True),
        (lambda h, t: h + b'x"' + t + b" ", True),  # a blank after: the reference takes it
    ],
)
def test_a_line_of_a_known_shape_is_still_checked(
    head: bytes, tail: bytes, second: Any, taken: bool
) -> None:
    """After a line with a shape, a line that starts alike is taken only if it is valid."""
    assert NATIVE is not None
    first = head + b'first text"' + tail
    line = second(head, tail)
    chunk = first + b"\n" + line + b"\n"
    plain = {UPDATE, b"_kiro.dev/metadata"}
    args = (chunk, 0, len(chunk), 0, HEAD, plain, LONG_LINE, True)
    want = frame_plain_lines_py(*args)
    got = NATIVE(*args)
    assert want[2] == 1 + taken
    assert got == want


@needs_native
@pytest.mark.parametrize(("head", "tail"), SHAPED[:4])
@pytest.mark.parametrize("name", [b"password", b"Api-Key", b"\\u0041KIA"])
def test_a_credential_name_in_the_new_string_is_not_taken(
    head: bytes, tail: bytes, name: bytes
) -> None:
    """The one string a shaped line has of its own is checked for a credential name (a
    {name, value} pair's name is a string value) and for an escaped ASCII letter."""
    assert NATIVE is not None
    chunk = head + b'x"' + tail + b"\n" + head + name + b'"' + tail + b"\n"
    plain = {UPDATE, b"_kiro.dev/metadata"}
    got = NATIVE(chunk, 0, len(chunk), 0, HEAD, plain, LONG_LINE, True)
    assert got[2] == 1
    assert got == frame_plain_lines_py(chunk, 0, len(chunk), 0, HEAD, plain, LONG_LINE, True)
