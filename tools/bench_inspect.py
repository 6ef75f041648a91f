"""Benchmark ``acp-tap check`` and ``acp-tap show`` on a large generated cassette.

Usage: python tools/bench_inspect.py [--mb 200] [--profile mixed|chunks] [--keep DIR]

Generates a cassette of about MB megabytes in a temporary directory, then runs the real
CLI (``python -m acp_tap check FILE`` and ``show FILE > /dev/null``, plus ``show --json``)
as child processes and prints, for each, MB/s of cassette and the child's peak RSS.

Profiles:
  mixed   a coding-agent session: prompts (some with an embedded file, a few with an
          image), streamed thoughts and text, tool calls with status updates and output,
          file reads, permission requests, plans, usage, stderr logs, kiro metadata
  chunks  nothing but small agent_message_chunk notifications (the worst case per byte)
"""

from __future__ import annotations

import argparse
import base64
import os
import random
import subprocess
import sys
import tempfile
import time
from collections.abc import Iterator
from pathlib import Path
from typing import Any

from acp_tap.cassette.codec import dumps_compact, encode_frame_bytes, encode_record
from acp_tap.cassette.model import Direction, Footer, Frame, Header, Payload

WORDS: tuple[str, ...] = (
    "the",
    "agent",
    "reads",
    "a",
    "file",
    "then",
    "writes",
    "summary",
    "of",
    "change",
)
WORDS += ("with", "tests", "and", "plan", "for", "refactoring", "module", "cassette", "replay")
WORDS += ("record", "proxy", "session", "prompt", "tool", "call", "update")
C2A, A2C, ERR = Direction.CLIENT_TO_AGENT, Direction.AGENT_TO_CLIENT, Direction.AGENT_STDERR


class Session:
    """Emits the messages of one simulated agent session."""

    def __init__(self, rng: random.Random, profile: str) -> None:
        self.rng = rng
        self.profile = profile
        self.sid = "0b1f3c9e-5d2a-4c7b-9e1f-3a8d6c2b7e41"
        self.next_id = 0
        self.agent_ids = 0
        self.tools = 0

    def words(self, lo: int, hi: int) -> str:
        return " ".join(self.rng.choices(WORDS, k=self.rng.randint(lo, hi)))

    def text(self, lo: int, hi: int) -> str:
        """About ``lo``..``hi`` characters of code-like text over several lines."""
        size = self.rng.randint(lo, hi)
        line = "    def handle(self, frame):  # " + self.words(3, 8) + "\n"
        return (line * (size // len(line) + 1))[:size]

    def update(self, update: dict[str, Any]) -> tuple[Direction, Any]:
        params = {"sessionId": self.sid, "update": update}
        return A2C, {"jsonrpc": "2.0", "method": "session/update", "params": params}

    def request(self, direction: Direction, method: str, params: Any) -> tuple[Direction, Any]:
        if direction is C2A:
            self.next_id += 1
            msg_id: Any = self.next_id
        else:
            self.agent_ids += 1
            msg_id = f"req-{self.agent_ids:08d}"
        self.last_id = msg_id
        message = {"jsonrpc": "2.0", "id": msg_id, "method": method, "params": params}
        return direction, message

    def answer(self, direction: Direction, result: Any) -> tuple[Direction, Any]:
        return direction, {"jsonrpc": "2.0", "id": self.last_id, "result": result}

    def setup(self) -> Iterator[tuple[Direction, Any]]:
        fs = {"readTextFile": True, "writeTextFile": True}
        params = {"protocolVersion": 1, "clientCapabilities": {"fs": fs, "terminal": True}}
        yield self.request(C2A, "initialize", params)
        yield self.answer(A2C, {"protocolVersion": 1, "agentCapabilities": {"loadSession": True}})
        yield self.request(C2A, "session/new", {"cwd": "/home/dev/project", "mcpServers": []})
        yield self.answer(A2C, {"sessionId": self.sid})

    def turn(self) -> Iterator[tuple[Direction, Any]]:
        rng = self.rng
        prompt: list[Any] = [{"type": "text", "text": self.words(10, 70)}]
        if self.profile == "chunks":
            yield self.request(C2A, "session/prompt", {"sessionId": self.sid, "prompt": prompt})
            prompt_id = self.last_id
            yield from self.chunks("agent_message_chunk", 1000, 1000)
            yield A2C, {"jsonrpc": "2.0", "id": prompt_id, "result": {"stopReason": "end_turn"}}
            return
        if rng.random() < 0.3:
            resource = {"uri": "file:///home/dev/project/app.py", "text": self.text(1000, 30000)}
            prompt.append({"type": "resource", "resource": resource})
        if rng.random() < 0.03:
            data = base64.b64encode(rng.randbytes(rng.randint(40_000, 220_000))).decode()
            prompt.append({"type": "image", "mimeType": "image/png", "data": data})
        yield self.request(C2A, "session/prompt", {"sessionId": self.sid, "prompt": prompt})
        prompt_id = self.last_id
        yield from self.chunks("agent_thought_chunk", 0, 30)
        if rng.random() < 0.2:
            entries = [
                {"content": self.words(3, 9), "priority": "medium", "status": "pending"}
                for _ in range(rng.randint(3, 6))
            ]
            yield self.update({"sessionUpdate": "plan", "entries": entries})
        for _ in range(rng.randint(1, 6)):
            yield from self.tool_call()
            if rng.random() < 0.5:
                yield ERR, f"2026-11-25T08:00:00Z INFO agent: tool finished: {self.words(4, 12)}"
        yield from self.chunks("agent_message_chunk", 10, 80)
        yield self.update({"sessionUpdate": "usage_update", "used": 5300, "size": 200000})
        yield A2C, {"jsonrpc": "2.0", "method": "_kiro.dev/metadata", "params": {"pct": 4.2}}
        yield A2C, {"jsonrpc": "2.0", "id": prompt_id, "result": {"stopReason": "end_turn"}}

    def chunks(self, kind: str, lo: int, hi: int) -> Iterator[tuple[Direction, Any]]:
        for _ in range(self.rng.randint(lo, hi)):
            content = {"type": "text", "text": self.words(1, 10) + " "}
            yield self.update({"sessionUpdate": kind, "content": content})

    def tool_call(self) -> Iterator[tuple[Direction, Any]]:
        rng = self.rng
        self.tools += 1
        tid = f"tooluse_{self.tools:012d}"
        path = f"/home/dev/project/src/module_{rng.randint(1, 99)}.py"
        kind = rng.choice(["read", "edit", "execute", "search"])
        raw_input = {"path": path, "command": self.words(2, 6)}
        meta = {"kiro": {"toolName": kind, "turn": self.next_id}}
        title = f"{kind} {path}"
        yield self.update(
            {
                "sessionUpdate": "tool_call",
                "toolCallId": tid,
                "title": title,
                "kind": kind,
                "status": "pending",
                "rawInput": raw_input,
                "_meta": meta,
            }
        )
        if rng.random() < 0.3:
            options = [
                {"optionId": "allow_once", "name": "Yes", "kind": "allow_once"},
                {"optionId": "reject_once", "name": "No", "kind": "reject_once"},
            ]
            tool = {"toolCallId": tid, "title": title}
            permission = {"sessionId": self.sid, "toolCall": tool, "options": options}
            yield self.request(A2C, "session/request_permission", permission)
            outcome = {"outcome": "selected", "optionId": "allow_once"}
            yield self.answer(C2A, {"outcome": outcome})
        yield self.update(
            {"sessionUpdate": "tool_call_update", "toolCallId": tid, "status": "in_progress"}
        )
        if rng.random() < 0.4:
            yield self.request(A2C, "fs/read_text_file", {"sessionId": self.sid, "path": path})
            yield self.answer(C2A, {"content": self.text(1000, 40000)})
        output = self.text(100, 8000)
        content = [{"type": "content", "content": {"type": "text", "text": output}}]
        yield self.update(
            {
                "sessionUpdate": "tool_call_update",
                "toolCallId": tid,
                "status": "completed",
                "content": content,
                "rawOutput": {"exitCode": 0, "lines": output.count("\n")},
            }
        )


HEADER = Header(
    acp_tap="0.1.0",
    argv=("bench-agent",),
    cwd="/home/dev/project",
    started="2026-11-25T08:00:00.000000Z",
    python=sys.version.split()[0],
    platform=sys.platform,
    pid=1,
)
"""The header of every generated cassette."""


def footer(t: float, counts: dict[str, int]) -> Footer:
    """The footer of a generated cassette that ends at ``t`` after ``counts`` frames."""
    return Footer(
        t=t,
        ended="2026-11-25T09:00:00.000000Z",
        status=0,
        exit_code=0,
        signal=None,
        closed_first="client",
        frames=counts,
    )


def generate(path: Path, megabytes: float, profile: str, seed: int = 1) -> tuple[int, int]:
    """Write a cassette of about ``megabytes`` MB; return (bytes, frames)."""
    rng = random.Random(seed)
    session = Session(rng, profile)
    target = int(megabytes * 1e6)
    counts = dict.fromkeys(("c2a", "a2c", "err"), 0)
    seq, t, written = 0, 0.0, 0
    with open(path, "wb") as f:
        written += f.write(encode_record(HEADER))
        turns = session.setup()
        while written < target:
            for direction, message in turns:
                seq += 1
                t += rng.random() * 0.004
                counts[direction.value] += 1
                if isinstance(message, str):
                    raw, payload = message.encode(), Payload.TEXT
                else:
                    raw, payload = dumps_compact(message), Payload.JSON
                written += f.write(encode_frame_bytes(Frame(seq, t, direction, raw, payload)))
            turns = session.turn()
        for direction, message in turns:  # finish the turn in progress
            seq += 1
            counts[direction.value] += 1
            raw = dumps_compact(message) if not isinstance(message, str) else message.encode()
            kind = Payload.JSON if not isinstance(message, str) else Payload.TEXT
            written += f.write(encode_frame_bytes(Frame(seq, t, direction, raw, kind)))
        written += f.write(encode_record(footer(t, counts)))
    return written, seq


def run_child(argv: list[str]) -> tuple[float, float, int, int]:
    """Run ``argv``, stdout to /dev/null: (wall seconds, CPU seconds, exit status, peak RSS KiB).

    CPU time (user + system) is what the machine spent on the job; it matches wall time on
    an idle machine and stays meaningful on a busy one.
    """
    start = time.perf_counter()
    with open(os.devnull, "wb") as devnull:
        proc = subprocess.Popen(argv, stdout=devnull)
        _, status, usage = os.wait4(proc.pid, 0)
    elapsed = time.perf_counter() - start
    proc.returncode = os.waitstatus_to_exitcode(status)
    return elapsed, usage.ru_utime + usage.ru_stime, proc.returncode, usage.ru_maxrss


def main() -> int:
    """Generate, measure, print."""
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--mb", type=float, default=200.0, help="cassette size (default 200)")
    parser.add_argument("--profile", choices=("mixed", "chunks"), default="mixed")
    parser.add_argument("--keep", type=Path, help="write the cassette here and keep it")
    args = parser.parse_args()
    with tempfile.TemporaryDirectory() as tmp:
        directory = args.keep or Path(tmp)
        path = directory / f"bench-{args.profile}.ndjson"
        start = time.perf_counter()
        size, frames = generate(path, args.mb, args.profile)
        print(
            f"generated {path.name}: {size / 1e6:.1f} MB, {frames} frames "
            f"(mean {size / frames:.0f} B/frame) in {time.perf_counter() - start:.1f}s"
        )
        cli = [sys.executable, "-m", "acp_tap"]
        runs = {
            "check": [*cli, "check", "-q", str(path)],
            "show": [*cli, "show", "--color", "never", str(path)],
            "show --json": [*cli, "show", "--json", str(path)],
        }
        failed = False
        print(f"load average {os.getloadavg()[0]:.1f} on {os.cpu_count()} CPUs")
        for name, argv in runs.items():
            wall, cpu, status, rss = run_child(argv)
            failed |= status != 0
            print(
                f"{name:>12}: {size / wall / 1e6:6.1f} MB/s wall ({wall:5.2f}s), "
                f"{size / cpu / 1e6:6.1f} MB/s CPU ({cpu:5.2f}s), "
                f"{frames / cpu:7.0f} frames/s CPU, peak RSS {rss / 1024:5.1f} MiB, exit {status}"
            )
    return 1 if failed else 0


if __name__ == "__main__":
    sys.exit(main())
