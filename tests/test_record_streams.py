"""Hostile byte streams through the real proxy: relayed and recorded byte for byte."""

from __future__ import annotations

import json
import subprocess
from pathlib import Path

from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from acp_tap.cassette.model import Direction, Payload
from acp_tap.cassette.reader import load
from tests.helpers import ACP_TAP, ECHO, TIMEOUT, python_agent

json_lines = st.recursive(
    st.none() | st.booleans() | st.integers() | st.text(max_size=20),
    lambda inner: (
        st.lists(inner, max_size=4) | st.dictionaries(st.text(max_size=8), inner, max_size=4)
    ),
    max_leaves=10,
).map(lambda v: json.dumps({"jsonrpc": "2.0", "method": "x", "params": v}).encode())

hostile_lines = st.one_of(
    json_lines,
    st.binary(max_size=200).map(lambda b: b.replace(b"\n", b"")),
    st.text(max_size=50).map(lambda t: t.encode("utf-8", "surrogatepass").replace(b"\n", b"")),
    st.sampled_from([b"", b"\r", b"\xef\xbb\xbf{}", b"NaN", b'{"a":1}\r', b"\x00\x01"]),
)

streams = st.tuples(
    st.lists(hostile_lines, max_size=12),
    st.sampled_from([b"\n", b"\r\n"]),
    st.booleans(),
).map(lambda t: t[1].join(t[0]) + (t[1] if t[2] else b""))


@settings(
    max_examples=12, deadline=None, suppress_health_check=[HealthCheck.function_scoped_fixture]
)
@given(data=streams)
def test_any_stream_is_relayed_and_recorded_exactly(tmp_path: Path, data: bytes) -> None:
    """Whatever bytes the client sends come back through an echo agent unchanged and are recorded exactly."""
    cassette = tmp_path / "c.ndjson"
    done = subprocess.run(
        [*ACP_TAP, "record", "-q", "--force", "--no-redact", "-o", str(cassette), "--", *ECHO],
        input=data,
        capture_output=True,
        timeout=TIMEOUT,
        check=False,
    )
    assert done.returncode == 0, done.stderr
    assert done.stdout == data
    frames = load(cassette).frames
    for direction in (Direction.CLIENT_TO_AGENT, Direction.AGENT_TO_CLIENT):
        assert b"".join(f.wire_bytes for f in frames if f.dir is direction) == data


SINK_REPORTING_PROXY_MEMORY = python_agent(
    """
    import os, json
    total = 0
    while chunk := os.read(0, 1 << 20):
        total += len(chunk)
    status = open(f"/proc/{os.getppid()}/status").read().splitlines()
    hwm = next(int(line.split()[1]) for line in status if line.startswith("VmHWM"))
    print(json.dumps({"received": total, "proxy_hwm_kib": hwm}), flush=True)
    """
)


def test_a_64_mib_line_is_streamed_with_one_copy_of_memory(tmp_path: Path) -> None:
    """A 64 MiB JSON line is relayed and recorded as JSON while the proxy holds one copy of it."""
    size = 64 << 20
    line = (
        b'{"jsonrpc":"2.0","id":1,"method":"session/prompt","params":{"sessionId":"s",'
        b'"prompt":[{"type":"image","mimeType":"image/png","data":"' + b"A" * size + b'"}]}}\n'
    )
    cassette = tmp_path / "big.ndjson"
    done = subprocess.run(
        [*ACP_TAP, "record", "-q", "-o", str(cassette), "--", *SINK_REPORTING_PROXY_MEMORY],
        input=line,
        capture_output=True,
        timeout=120,
        check=True,
    )
    report = json.loads(done.stdout)
    assert report["received"] == len(line)
    # One copy of the line plus the interpreter and trio (about 35 MiB here).
    assert report["proxy_hwm_kib"] * 1024 < size + (56 << 20), report
    frames = load(cassette).frames
    assert (frames[0].dir, frames[0].payload) == (Direction.CLIENT_TO_AGENT, Payload.JSON)
    assert frames[0].wire_bytes == line
