"""The traffic of ``tools/bench_record.py``: what its client sends, and the cassette check.

Realistic ACP lines (session/update chunks and tool calls, session/prompt requests with a
base64 image), the :class:`Stream` of each scenario, and :func:`check_cassette`, which
reads an acp-tap cassette back and checks that it holds every line both ways, byte-exact.
A helper module of the benchmark, not a tool of its own.
"""

from __future__ import annotations

import base64
import json
import random
import zlib
from pathlib import Path

import attrs

READY = b'{"jsonrpc":"2.0","method":"bench/ready"}\n'
"""The line a setup must echo before anything is timed."""
SESSION = "sess_5c2f0e6a-3b1d-4d8e-9a47-0f6b2c1d7e93"
PROSE = (
    "the agent reads src/parser.py and finds that tokenize() drops the last line when "
    "the file has no trailing newline; I will add a test, fix the loop and run pytest "
    "again. Done: 42 passed in 0.8s. Résumé of changes: “quoted” text, tabs\tand\nnewlines"
)
WORDS = PROSE.split(" ")


@attrs.frozen
class Stream:
    """What the client sends: ``block`` repeated ``reps`` times, ``lines`` lines per block."""

    block: bytes
    reps: int
    lines: int

    @property
    def size(self) -> int:
        """Bytes sent (and so echoed back)."""
        return len(self.block) * self.reps

    @property
    def count(self) -> int:
        """Lines sent."""
        return self.lines * self.reps


def dumps(value: object) -> bytes:
    """Compact JSON as agents write it."""
    return json.dumps(value, ensure_ascii=False, separators=(",", ":")).encode()


def text(rng: random.Random, low: int, high: int) -> str:
    """Prose of ``low``..``high`` characters."""
    target, words, size = rng.randint(low, high), [], 0
    while size < target:
        words.append(rng.choice(WORDS))
        size += len(words[-1]) + 1
    return " ".join(words)[:target]


def update_line(rng: random.Random, index: int) -> bytes:
    """A session/update notification like those an agent streams during a prompt."""
    roll = rng.random()
    if roll < 0.85:
        kind = "agent_message_chunk" if roll < 0.7 else "agent_thought_chunk"
        update: dict[str, object] = {
            "sessionUpdate": kind,
            "content": {"type": "text", "text": text(rng, 4, 240)},
        }
    else:
        update = {
            "sessionUpdate": "tool_call_update",
            "toolCallId": f"call_{index:08d}",
            "status": "in_progress",
            "content": [
                {"type": "content", "content": {"type": "text", "text": text(rng, 0, 120)}}
            ],
        }
    params = {"sessionId": SESSION, "update": update}
    return dumps({"jsonrpc": "2.0", "method": "session/update", "params": params}) + b"\n"


def prompt_line(rng: random.Random, request_id: int, size: int) -> bytes:
    """A session/prompt request of about ``size`` bytes, mostly one base64 image."""
    head = dumps(
        {
            "jsonrpc": "2.0",
            "id": request_id,
            "method": "session/prompt",
            "params": {
                "sessionId": SESSION,
                "prompt": [
                    {"type": "text", "text": "What is in this picture?"},
                    {"type": "image", "mimeType": "image/png", "data": ""},
                ],
            },
        }
    )
    cut = head.index(b'"data":""') + len(b'"data":"')
    image = base64.b64encode(rng.randbytes(max(0, size - len(head) - 1) * 3 // 4))
    return head[:cut] + image + head[cut:] + b"\n"


def small_stream(count: int) -> Stream:
    """``count`` session/update lines."""
    rng = random.Random(1)
    return Stream(b"".join(update_line(rng, i) for i in range(count)), 1, count)


def big_stream(count: int, size: int) -> Stream:
    """``count`` session/prompt lines of ``size`` bytes (distinct ids and images)."""
    rng = random.Random(2)
    image = prompt_line(rng, 0, size)
    lines = [image.replace(b'"id":0,', b'"id":%d,' % (i + 1), 1) for i in range(count)]
    return Stream(b"".join(lines), 1, count)


def session_stream(total: int) -> Stream:
    """About ``total`` bytes of a session: mostly updates, a prompt of 1-4 MiB every ~3 MiB."""
    rng = random.Random(3)
    lines: list[bytes] = []
    size, request_id = 0, 0
    block = 64 << 20
    while size < block:
        if rng.random() < 1 / 12000:
            request_id += 1
            line = prompt_line(rng, request_id, rng.choice((1, 2, 4)) << 20)
            answer = {"jsonrpc": "2.0", "id": request_id, "result": {"stopReason": "end_turn"}}
            line += dumps(answer) + b"\n"
        else:
            line = update_line(rng, len(lines))
        lines.append(line)
        size += len(line)
    data = b"".join(lines)
    return Stream(data, max(1, round(total / len(data))), data.count(b"\n"))


def ping_line() -> bytes:
    """The one small line of the latency test."""
    return update_line(random.Random(4), 0)


def expected_crc(stream: Stream) -> int:
    """CRC-32 of the ready line and then everything ``stream`` sends."""
    crc = zlib.crc32(READY)
    for _ in range(stream.reps):
        crc = zlib.crc32(stream.block, crc)
    return crc


def check_cassette(path: Path, stream: Stream) -> list[str]:
    """What is wrong with the cassette: it must hold every line both ways as JSON, byte-exact."""
    crc = {b"c2a": 0, b"a2c": 0, b"err": 0}
    count = {b"c2a": 0, b"a2c": 0, b"err": 0}
    footer: dict[str, object] = {}
    problems: list[str] = []
    seq = 0
    with path.open("rb") as f:
        if not f.readline().startswith(b'{"type":"header"'):
            return [f"{path}: no header"]
        for line in f:
            if line.startswith(b'{"type":"footer"'):
                footer = json.loads(line)
                continue
            seq += 1
            at = line.find(b',"msg":')
            head = line[:at]
            if at < 0 or not line.endswith(b"}\n") or not head.startswith(b'{"seq":'):
                problems.append(f"line {seq + 1} is not a JSON frame: {line[:100]!r}")
                continue
            if not head.startswith(b'{"seq":%d,' % seq) and len(problems) < 3:
                problems.append(f"line {seq + 1} is not frame {seq}: {head!r}")
            direction = head[head.index(b'"dir":"') + 7 :][:3]
            eol = b"\n" if b'"eol"' not in head else b"\r\n" if b'"crlf"' in head else b""
            crc[direction] = zlib.crc32(
                eol, zlib.crc32(memoryview(line)[at + 7 : -2], crc[direction])
            )
            count[direction] += 1
    want = expected_crc(stream)
    frames = {"c2a": stream.count + 1, "a2c": stream.count + 1, "err": 0}
    if footer.get("frames") != frames or footer.get("dropped") != 0:
        problems.insert(0, f"footer frames={footer.get('frames')} dropped={footer.get('dropped')}")
    if [count[d.encode()] for d in frames] != list(frames.values()):
        problems.append(f"frame lines {count} (want {frames})")
    if crc[b"c2a"] != want or crc[b"a2c"] != want:
        problems.append("recorded bytes differ from the relayed bytes (CRC-32)")
    return problems[:4]
