"""The fast cassette loader gives what the reference reader gives, and the same errors."""

from __future__ import annotations

import json
from pathlib import Path
from typing import Any

import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from acp_tap.cassette.codec import encode_frame_bytes, encode_record
from acp_tap.cassette.model import Direction, Eol, Frame, Payload
from acp_tap.cassette.reader import Cassette, load
from acp_tap.errors import CassetteFormatError
from acp_tap.matching.loader import load_for_replay
from acp_tap.replay.compiler import compile_plan
from acp_tap.replay.source import compile_path
from tests.replay_support import Recording, header

raw_lines = st.one_of(
    st.dictionaries(st.text(max_size=4), st.integers() | st.text(max_size=6), max_size=3).map(
        lambda d: json.dumps(d, ensure_ascii=False).encode()
    ),
    st.just(b'{"jsonrpc":"2.0","id":1,"result":{"a":[1,2,{"b":"}"}]}}'),
    st.text(max_size=10).map(str.encode),
    st.binary(max_size=10),
).map(lambda raw: raw.replace(b"\n", b""))  # a recorded line never holds its terminator
frames = st.lists(
    st.tuples(st.sampled_from(list(Direction)), raw_lines, st.sampled_from(list(Eol))),
    max_size=12,
)


def same(a: Cassette, b: Cassette) -> None:
    """Two loaded cassettes hold the same records (frame bytes compared exactly)."""
    assert (a.header, a.footer, a.warnings) == (b.header, b.footer, b.warnings)
    assert [(f.seq, f.t, f.dir, bytes(f.raw), f.payload, f.eol, f.redacted) for f in a.frames] == [
        (f.seq, f.t, f.dir, bytes(f.raw), f.payload, f.eol, f.redacted) for f in b.frames
    ]


@settings(max_examples=60, suppress_health_check=[HealthCheck.function_scoped_fixture])
@given(frames=frames, footer=st.booleans(), redact=st.booleans())
def test_fast_loader_matches_the_reader(
    tmp_path: Path, frames: list[tuple[Direction, bytes, Eol]], footer: bool, redact: bool
) -> None:
    """Any mix of JSON, text and binary frames, with or without footer, loads identically."""
    rec = Recording()
    for direction, raw, eol in frames:
        frame = rec.add(direction, raw, eol)
        if redact and frame.payload is Payload.JSON:
            rec.frames[-1] = Frame(
                frame.seq, frame.t, frame.dir, frame.raw, frame.payload, eol, ("params.x",)
            )
    path = tmp_path / "c.ndjson"
    rec.write(path)
    if not footer:
        path.write_bytes(b"".join(path.read_bytes().splitlines(keepends=True)[:-1]))
    same(load(path), load_for_replay(path))


def write(path: Path, *lines: bytes) -> None:
    """A cassette file from raw lines."""
    path.write_bytes(b"".join(lines))


def frame_line(seq: int, msg: Any) -> bytes:
    """One frame line."""
    raw = json.dumps(msg).encode()
    return encode_frame_bytes(Frame(seq, 0.5, Direction.AGENT_TO_CLIENT, raw, Payload.JSON))


def test_cut_last_line_is_ignored_with_a_warning(tmp_path: Path) -> None:
    """A last line without newline that cannot be decoded is dropped, as the reader does."""
    path = tmp_path / "c.ndjson"
    cut = frame_line(2, {"a": {"b": 1}})[:-3]  # ends in "}" but is cut
    write(path, encode_record(header()), frame_line(1, {"x": 1}), cut)
    fast = load_for_replay(path)
    same(load(path), fast)
    assert len(fast.frames) == 1
    assert "last line cut short" in fast.warnings[0]


def test_crlf_cassette_lines(tmp_path: Path) -> None:
    """A cassette whose lines end in CRLF (edited on Windows) still loads."""
    path = tmp_path / "c.ndjson"
    write(
        path,
        encode_record(header()).replace(b"\n", b"\r\n"),
        frame_line(1, {"x": 1}).replace(b"}\n", b"}\r\n"),
    )
    same(load(path), load_for_replay(path))


@pytest.mark.parametrize(
    ("lines", "message"),
    [
        pytest.param((), "empty cassette", id="empty"),
        pytest.param((b"frame",), "first record must be the header", id="frame-first"),
        pytest.param((b"header", b"header"), "a second header", id="two-headers"),
        pytest.param(
            (b"header", b"footer", b"frame"), "frame 1 after the footer", id="after-footer"
        ),
        pytest.param((b"header", b"garbage", b"frame"), "not a JSON line", id="garbage"),
    ],
)
def test_structure_errors_are_the_readers(
    tmp_path: Path, lines: tuple[bytes, ...], message: str
) -> None:
    """Header first, footer last, one header: the same CassetteFormatError as the reader."""
    rec = Recording()
    rec.a2c({"jsonrpc": "2.0", "method": "x"})
    parts = {
        b"header": encode_record(header()),
        b"footer": encode_record(rec.footer()),
        b"frame": frame_line(1, {"jsonrpc": "2.0", "method": "x"}),
        b"garbage": b"{not json\n",
    }
    path = tmp_path / "c.ndjson"
    write(path, *(parts[line] for line in lines))
    with pytest.raises(CassetteFormatError, match=message) as fast:
        load_for_replay(path)
    with pytest.raises(CassetteFormatError) as reference:
        load(path)
    assert str(fast.value) == str(reference.value)


@settings(max_examples=60, suppress_health_check=[HealthCheck.function_scoped_fixture])
@given(frames=frames, footer=st.sampled_from(["client", "agent"]), stderr=st.booleans())
def test_one_pass_compile_matches_load_then_compile(
    tmp_path: Path, frames: list[tuple[Direction, bytes, Eol]], footer: str, stderr: bool
) -> None:
    """compile_path gives the plan compile_plan gives for the loaded cassette."""
    rec = Recording()
    rec.c2a({"jsonrpc": "2.0", "id": 1, "method": "session/new", "params": {"cwd": "/w"}})
    rec.a2c({"jsonrpc": "2.0", "id": 1, "result": {"sessionId": "s"}})
    rec.a2c({"jsonrpc": "2.0", "method": "session/update", "params": {"sessionId": "s"}})
    rec.a2c(
        {"jsonrpc": "2.0", "id": 0, "method": "fs/read_text_file", "params": {"sessionId": "s"}}
    )
    rec.c2a({"jsonrpc": "2.0", "id": 0, "result": {"content": "x"}})
    for direction, raw, eol in frames:
        rec.add(direction, raw, eol)
    path = tmp_path / "c.ndjson"
    rec.write(path, closed_first=footer, status=3)
    plan, cassette = compile_path(path, ["params.x"], stderr=stderr)
    loaded = load(path)
    expected = compile_plan(loaded.frames, loaded.footer, ["params.x"], stderr=stderr)
    assert (cassette.header, cassette.footer, cassette.warnings) == (
        loaded.header,
        loaded.footer,
        loaded.warnings,
    )
    assert plan.agent == expected.agent
    assert plan.client == expected.client
    assert (plan.lanes, plan.exit_status, plan.exit_t) == (
        expected.lanes,
        expected.exit_status,
        expected.exit_t,
    )
