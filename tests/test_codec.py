"""Tests for acp_tap.cassette.codec and reader: lossless round trips and readable errors."""

from __future__ import annotations

import json
from pathlib import Path
from typing import Any

import pytest
from hypothesis import given
from hypothesis import strategies as st

from acp_tap.cassette.codec import decode_line, encode_frame, encode_frame_bytes, encode_record
from acp_tap.cassette.model import Direction, Eol, Footer, Frame, Header, Payload
from acp_tap.cassette.reader import load
from acp_tap.errors import CassetteFormatError

PATH = "cassettes/session.ndjson"


def _reject_constant(name: str) -> Any:
    raise ValueError(f"{name} is not JSON")


def classify(raw: bytes) -> tuple[Payload, Any]:
    """Classify a line as the recorder does: strict JSON, else UTF-8 text, else binary."""
    try:
        text = raw.decode("utf-8")
    except UnicodeDecodeError:
        return Payload.BINARY, None
    if b"\r" not in raw:
        try:
            return Payload.JSON, json.loads(text, parse_constant=_reject_constant)
        except ValueError:
            pass
    return Payload.TEXT, None


json_values = st.recursive(
    st.none()
    | st.booleans()
    | st.integers()
    | st.floats(allow_nan=False, allow_infinity=False)
    | st.text(),
    lambda children: st.lists(children, max_size=3) | st.dictionaries(st.text(), children),
    max_leaves=10,
)


@st.composite
def json_lines(draw: st.DrawFn) -> bytes:
    """A JSON value written compactly or loosely, maybe with spaces or a CR around it."""
    text = json.dumps(
        draw(json_values),
        ensure_ascii=draw(st.booleans()),
        separators=draw(st.sampled_from([(",", ":"), (", ", ": ")])),
    )
    around = st.sampled_from(["", " ", "\t", "\r"])
    return (draw(around) + text + draw(around)).encode("utf-8", "surrogatepass")


lines = (
    json_lines()
    | st.binary().map(lambda b: b.replace(b"\n", b""))
    | st.text().map(lambda s: s.replace("\n", "").encode("utf-8", "surrogatepass"))
    | st.sampled_from([b"", b"\xef\xbb\xbf{}", b'{"a":1}}', b"NaN", b"[1,]", b'"\\ud800"', b"\r"])
)
times = st.integers(min_value=0, max_value=10**10).map(lambda k: k / 10**6)


@st.composite
def frames(draw: st.DrawFn) -> Frame:
    """A frame as the recorder would make it from an arbitrary line."""
    raw = draw(lines)
    payload, parsed = classify(raw)
    return Frame(
        seq=draw(st.integers(min_value=1, max_value=2**63)),
        t=draw(times),
        dir=draw(st.sampled_from(Direction)),
        raw=raw,
        payload=payload,
        eol=draw(st.sampled_from(Eol)),
        redacted=tuple(draw(st.lists(st.text(), max_size=3))),
        parsed=parsed,
    )


@given(frames())
def test_frame_round_trip(frame: Frame) -> None:
    """encode then decode gives an equal frame carrying identical wire bytes."""
    line = encode_frame_bytes(frame)
    assert line.endswith(b"\n")
    assert line.count(b"\n") == 1
    decoded = decode_line(line, PATH, 1)
    assert frame == decoded
    assert isinstance(decoded, Frame)
    assert frame.wire_bytes == decoded.wire_bytes
    if frame.payload is Payload.JSON:
        assert json.dumps(frame.parsed) == json.dumps(decoded.parsed)
        assert decoded.message() == decoded.parsed


@given(frames())
def test_frame_decodes_without_newline_or_with_crlf(frame: Frame) -> None:
    """A cassette line decodes the same without its newline or with a CRLF."""
    line = encode_frame_bytes(frame)
    assert frame == decode_line(line[:-1], PATH, 1)
    assert frame == decode_line(line[:-1] + b"\r\n", PATH, 1)


@given(frames())
def test_encode_frame_pieces(frame: Frame) -> None:
    """The pieces join into the line, and a JSON message is passed through uncopied."""
    pieces = encode_frame(frame)
    assert encode_frame_bytes(frame) == b"".join(pieces)
    if frame.payload is Payload.JSON:
        assert any(piece is frame.raw for piece in pieces)


def test_bytearray_raw_encodes_like_bytes() -> None:
    """A frame holding the splitter's bytearray encodes exactly as one holding bytes."""
    for raw, payload in [
        (b'{"a":1}', Payload.JSON),
        (b"log", Payload.TEXT),
        (b"\xff", Payload.BINARY),
    ]:
        as_bytes = Frame(1, 0.5, Direction.AGENT_TO_CLIENT, raw, payload)
        as_bytearray = Frame(1, 0.5, Direction.AGENT_TO_CLIENT, bytearray(raw), payload)
        assert encode_frame_bytes(as_bytes) == encode_frame_bytes(as_bytearray)


headers = st.builds(
    Header,
    acp_tap=st.text(),
    argv=st.lists(st.text()).map(tuple),
    cwd=st.text(),
    started=st.text(),
    python=st.text(),
    platform=st.text(),
    pid=st.integers(min_value=0),
    redaction=st.lists(st.text()).map(tuple),
)
footers = st.builds(
    Footer,
    t=st.floats(min_value=0, allow_infinity=False),
    ended=st.text(),
    status=st.integers(),
    exit_code=st.none() | st.integers(),
    signal=st.none() | st.integers(min_value=1, max_value=64),
    closed_first=st.sampled_from(["client", "agent", "signal"]),
    frames=st.dictionaries(st.sampled_from([d.value for d in Direction]), st.integers(0)),
    dropped=st.integers(min_value=0),
)


@given(headers | footers)
def test_header_and_footer_round_trip(record: Header | Footer) -> None:
    """Headers and footers (even with undecodable argv, as surrogates) survive a round trip."""
    line = encode_record(record)
    assert line.endswith(b"\n")
    assert line.count(b"\n") == 1
    line.decode("utf-8")  # the cassette stays valid UTF-8
    assert record == decode_line(line, PATH, 1)


def test_msg_not_last_is_reserialised() -> None:
    """A hand-edited frame whose msg is not the last member still decodes, re-serialised."""
    line = b'{"seq":4, "msg": {"b": 2, "a": "\\ud800"}, "t": 0.5, "dir": "a2c"}\n'
    frame = decode_line(line, PATH, 1)
    assert isinstance(frame, Frame)
    assert (
        frame.seq,
        frame.t,
        frame.dir,
        frame.payload,
    ) == (4, 0.5, Direction.AGENT_TO_CLIENT, Payload.JSON)
    assert frame.raw == b'{"b":2,"a":"\\ud800"}'
    assert frame.message() == {"b": 2, "a": "\ud800"}


def test_spaces_after_the_closing_brace_are_not_part_of_msg() -> None:
    """Trailing spaces left by a hand edit do not leak into the message's bytes."""
    frame = decode_line(b'{"seq":1,"t":0,"dir":"c2a","msg":{"a":1} } \t\n', PATH, 1)
    assert isinstance(frame, Frame)
    assert frame.raw == b'{"a":1} '


MALFORMED = [
    pytest.param(b'{"seq":1,"t":0.1,"dir":"c2a","msg":{"a"', "not a JSON line", id="truncated"),
    pytest.param(b"", "not a JSON line", id="empty"),
    pytest.param(b'{"seq":1,"t":NaN,"dir":"c2a","text":""}', "not a JSON line", id="nan"),
    pytest.param(
        b'{"seq":1,"t":0,"dir":"c2a","text":"\xff"}', "not UTF-8 (byte 36)", id="bad-utf8"
    ),
    pytest.param(b'{"seq":1,"t":0,"dir":"c2a","msg":"\xff"}', "not UTF-8", id="msg-bad-utf8"),
    pytest.param(b'{"seq":1,"t":0,"dir":"c2a","msg":{"a":NaN}}', "NaN is not JSON", id="msg-nan"),
    pytest.param(b'{"seq":0,"t":0,"dir":"c2a","text":""}', "'seq' must be", id="seq-zero"),
    pytest.param(b'{"seq":-4,"t":0,"dir":"c2a","text":""}', "'seq' must be", id="seq-negative"),
    pytest.param(b'{"seq":1,"t":-0.5,"dir":"c2a","text":""}', "'t' must be", id="t-negative"),
    pytest.param(b'{"seq":1,"t":1e999,"dir":"c2a","text":""}', "'t' must be", id="t-inf"),
    pytest.param(
        b'{"seq":1,"t":0,"dir":"c2a","msg":{},"text":""}', "has 'msg' and 'text'", id="msg-text"
    ),
    pytest.param(
        b'{"seq":1,"t":0,"dir":"c2a","text":"","b64":""}', "has 'text' and 'b64'", id="text-b64"
    ),
    pytest.param(
        b'{"seq":1,"t":0,"dir":"c2a","msg":' + b"[" * 501 + b"]" * 501 + b"}",
        "more than 500 deep",
        id="msg-501-deep",
    ),
    pytest.param(b"[1,2]", "expected a JSON object", id="array"),
    pytest.param(b'{"type":"tape"}', "unknown record", id="unknown-type"),
    pytest.param(b"{}", "unknown record", id="empty-object"),
    pytest.param(b'{"seq":"1","t":0,"dir":"c2a","text":""}', "'seq'", id="seq-string"),
    pytest.param(b'{"seq":true,"t":0,"dir":"c2a","text":""}', "'seq'", id="seq-bool"),
    pytest.param(b'{"seq":1,"t":"0","dir":"c2a","text":""}', "'t'", id="t-string"),
    pytest.param(
        b'{"seq":1,"t":1' + b"0" * 400 + b',"dir":"c2a","text":""}', "frame 1", id="t-huge"
    ),
    pytest.param(b'{"seq":1,"t":0,"dir":"sideways","text":""}', "'dir' must be", id="bad-dir"),
    pytest.param(
        b'{"seq":1,"t":0,"dir":"c2a","eol":"cr","text":""}', "'eol' must be", id="bad-eol"
    ),
    pytest.param(
        b'{"seq":1,"t":0,"dir":"c2a","redacted":"a","text":""}', "'redacted'", id="redacted"
    ),
    pytest.param(
        b'{"seq":1,"t":0,"dir":"c2a","redacted":[1],"text":""}', "'redacted'", id="redacted-1"
    ),
    pytest.param(b'{"seq":1,"t":0,"dir":"c2a"}', "needs exactly one of", id="no-payload"),
    pytest.param(
        b'{"seq":1,"t":0,"dir":"c2a","text":5}', "'text' must be a string", id="text-number"
    ),
    pytest.param(b'{"seq":1,"t":0,"dir":"c2a","b64":"abc"}', "'b64' is not base64", id="b64-pad"),
    pytest.param(
        b'{"seq":1,"t":0,"dir":"c2a","b64":"!!!!"}', "'b64' is not base64", id="b64-chars"
    ),
    pytest.param(
        b'{"seq":1,"t":0,"dir":"c2a","b64":"\\u00e9"}', "'b64' is not base64", id="b64-e9"
    ),
    pytest.param(
        b'{"seq":1,"t":0,"dir":"c2a","msg":' + b"[" * 5000 + b"]" * 5000 + b"}",
        "nested more than 500 deep",
        id="msg-too-deep",
    ),
    pytest.param(
        b'{"type":"header","format":1,"acp_tap":"0.1.0","argv":["a"],"cwd":"/",'
        b'"started":"s","python":"3","platform":"p","pid":"abc"}',
        "header.pid",
        id="header-pid",
    ),
    pytest.param(
        b'{"type":"header","format":1,"acp_tap":"0.1.0","argv":["a"],"cwd":"/",'
        b'"started":"s","python":"3","platform":"p","pid":"1"}',
        "header.pid",
        id="header-pid-digits",
    ),
    pytest.param(
        b'{"type":"header","format":"1","acp_tap":"0.1.0","argv":["a"],"cwd":"/",'
        b'"started":"s","python":"3","platform":"p","pid":1}',
        "header.format",
        id="header-format-string",
    ),
    pytest.param(
        b'{"type":"header","format":1,"acp_tap":"0.1.0","argv":"kiro-cli","cwd":"/",'
        b'"started":"s","python":"3","platform":"p","pid":1}',
        "header.argv",
        id="header-argv-string",
    ),
    pytest.param(
        b'{"type":"footer","t":-1,"ended":"e","status":0,"exit_code":0,"signal":null,'
        b'"closed_first":"client","frames":{}}',
        "'t' is negative",
        id="footer-t-negative",
    ),
    pytest.param(
        b'{"type":"footer","t":1,"ended":"e","status":true,"exit_code":0,"signal":null,'
        b'"closed_first":"client","frames":{}}',
        "footer.status",
        id="footer-status-bool",
    ),
    pytest.param(
        b'{"type":"header","format":1,"acp_tap":"0.1.0","argv":5,"cwd":"/",'
        b'"started":"s","python":"3","platform":"p","pid":1}',
        "header.argv",
        id="header-argv",
    ),
    pytest.param(
        b'{"type":"header","acp_tap":"0.1.0","argv":[],"cwd":"/"}', "required", id="header-missing"
    ),
    pytest.param(
        b'{"type":"footer","t":1,"ended":"e","status":0,"exit_code":"no","signal":null,'
        b'"closed_first":"client","frames":{}}',
        "footer.exit_code",
        id="footer-exit-code",
    ),
    pytest.param(
        b'{"type":"footer","t":1,"ended":"e","status":0,"exit_code":0,"signal":null,'
        b'"closed_first":"client","frames":[1]}',
        "footer.frames",
        id="footer-frames",
    ),
]


@pytest.mark.parametrize(("line", "reason"), MALFORMED)
def test_malformed_lines_name_path_and_line(line: bytes, reason: str) -> None:
    """Every malformed line raises CassetteFormatError naming path:line and the problem."""
    with pytest.raises(CassetteFormatError) as info:
        decode_line(line + b"\n", PATH, 7)
    assert (info.value.path, info.value.line) == (PATH, 7)
    assert str(info.value).startswith(f"{PATH}:7: ")
    assert reason in str(info.value)


# --- reader.load ----------------------------------------------------------------------

HEADER = Header(
    acp_tap="0.1.0",
    argv=("agent", "--acp"),
    cwd="/work",
    started="2026-11-25T08:25:30.123456Z",
    python="3.11.7",
    platform="Linux",
    pid=42,
)
FOOTER = Footer(
    t=2.5,
    ended="2026-11-25T08:25:32.623456Z",
    status=0,
    exit_code=0,
    signal=None,
    closed_first="client",
    frames={"c2a": 1, "a2c": 1, "err": 1},
)
FRAMES = (
    Frame(1, 0.001, Direction.CLIENT_TO_AGENT, b'{"id":1,"method":"initialize"}', Payload.JSON),
    Frame(2, 0.002, Direction.AGENT_STDERR, b"starting\r", Payload.TEXT, Eol.NONE),
    Frame(3, 0.003, Direction.AGENT_TO_CLIENT, b'{"id":1,"result":{}}', Payload.JSON, Eol.CRLF),
)


def write(path: Path, *lines: bytes) -> str:
    """Write cassette lines to ``path``; return its name."""
    path.write_bytes(b"".join(lines))
    return str(path)


def cassette_lines() -> list[bytes]:
    """A complete cassette: header, frames, footer."""
    return [encode_record(HEADER), *map(encode_frame_bytes, FRAMES), encode_record(FOOTER)]


def test_load_complete_cassette(tmp_path: Path) -> None:
    """A complete cassette loads with its header, frames and footer, without warnings."""
    name = write(tmp_path / "c.ndjson", *cassette_lines())
    cassette = load(name)
    assert (name, HEADER, FRAMES, FOOTER, ()) == (
        cassette.path,
        cassette.header,
        cassette.frames,
        cassette.footer,
        cassette.warnings,
    )
    assert [f.wire_bytes for f in FRAMES] == [f.wire_bytes for f in cassette.frames]


def test_load_skips_blank_lines(tmp_path: Path) -> None:
    """Blank lines between records are ignored."""
    header, *rest = cassette_lines()
    cassette = load(write(tmp_path / "c.ndjson", header, b"\n  \n", *rest))
    assert cassette.frames == FRAMES


def test_load_without_footer_warns(tmp_path: Path) -> None:
    """A cassette without a footer loads, with a warning that it was cut short."""
    name = write(tmp_path / "c.ndjson", *cassette_lines()[:-1])
    cassette = load(name)
    assert cassette.footer is None
    assert cassette.frames == FRAMES
    assert (f"{name}: no footer; the recording was cut short",) == cassette.warnings


def test_load_tolerates_a_cut_last_line(tmp_path: Path) -> None:
    """A last line cut short mid-write is ignored with a warning naming its line."""
    lines = cassette_lines()[:-1]
    lines[-1] = lines[-1][: len(lines[-1]) // 2]
    name = write(tmp_path / "c.ndjson", *lines)
    cassette = load(name)
    assert FRAMES[:-1] == cassette.frames
    assert (
        f"{name}:4: last line cut short (the recording was interrupted); ignored",
        f"{name}: no footer; the recording was cut short",
    ) == cassette.warnings


def test_load_accepts_a_complete_last_line_without_newline(tmp_path: Path) -> None:
    """A last frame that is whole but lacks its newline is kept."""
    lines = cassette_lines()[:-1]
    lines[-1] = lines[-1].rstrip(b"\n")
    cassette = load(write(tmp_path / "c.ndjson", *lines))
    assert cassette.frames == FRAMES
    assert len(cassette.warnings) == 1


@pytest.mark.parametrize(
    ("order", "line", "reason"),
    [
        pytest.param([1, 0, 4], 1, "the first record must be the header", id="frame-first"),
        pytest.param([0, 0, 4], 2, "a second header", id="two-headers"),
        pytest.param([0, 4, 1], 3, "frame 1 after the footer", id="after-footer"),
        pytest.param([0, 1, 4, 4], 4, "a footer after the footer", id="two-footers"),
        pytest.param([4], 1, "the first record must be the header", id="footer-only"),
    ],
)
def test_load_checks_record_order(tmp_path: Path, order: list[int], line: int, reason: str) -> None:
    """The header comes first and the footer last; otherwise the error names the line."""
    lines = cassette_lines()
    name = write(tmp_path / "c.ndjson", *(lines[i] for i in order))
    with pytest.raises(CassetteFormatError, match=reason) as info:
        load(name)
    assert (name, line) == (info.value.path, info.value.line)


def test_load_rejects_a_bad_line_in_the_middle(tmp_path: Path) -> None:
    """A malformed line that is not the last one is an error, not a warning."""
    header, first, *rest = cassette_lines()
    name = write(tmp_path / "c.ndjson", header, first[:10] + b"\n", *rest)
    with pytest.raises(CassetteFormatError, match="not a JSON line") as info:
        load(name)
    assert info.value.line == 2


def test_load_rejects_a_bad_last_line_with_newline(tmp_path: Path) -> None:
    """A malformed last line that does end with a newline was not cut short: an error."""
    name = write(tmp_path / "c.ndjson", *cassette_lines()[:-1], b'{"seq":9}\n')
    with pytest.raises(CassetteFormatError) as info:
        load(name)
    assert info.value.line == 5


@pytest.mark.parametrize(
    "content", [pytest.param(b"", id="empty"), pytest.param(b'{"type":"hea', id="cut-header")]
)
def test_load_without_header(tmp_path: Path, content: bytes) -> None:
    """A file with no complete header is not a cassette."""
    name = write(tmp_path / "c.ndjson", content)
    with pytest.raises(CassetteFormatError, match="no header") as info:
        load(name)
    assert (name, 1) == (info.value.path, info.value.line)


def test_load_refuses_an_unknown_format_version(tmp_path: Path) -> None:
    """A cassette from a newer format is refused with what to do, naming file and line."""
    header, *rest = cassette_lines()
    newer = header.replace(b'"format":1', b'"format":3')
    name = write(tmp_path / "c.ndjson", newer, *rest)
    with pytest.raises(
        CassetteFormatError,
        match=r"format 3 is not supported \(this acp-tap reads formats 1 and 2\).*upgrade",
    ) as info:
        load(name)
    assert (name, 1) == (info.value.path, info.value.line)
