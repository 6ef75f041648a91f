"""Throughput of ``acp-tap replay`` on a long recording, against ``acp-tap record``.

    python tools/bench_replay.py [--prompts N] [--updates K] [--big MIB] [--no-record]

The traffic: initialize, session/new, then N prompt turns of K session/update
notifications and a response each; one prompt carries a BIG MiB text and one update a
BIG MiB text. The same traffic is (1) recorded: a fast scripted agent behind
``acp-tap record``, fed by a client that writes every line at once; (2) replayed from that
cassette (or from a generated one with --no-record) by ``acp-tap replay``, fed the same way.
Prints frames/s and MiB/s of both and their ratio (goal: replay >= 0.5 x record).
"""

from __future__ import annotations

import argparse
import json
import os
import subprocess
import sys
import tempfile
import textwrap
import threading
import time
from pathlib import Path
from typing import Any

PYTHON = sys.executable
ACP_TAP = [PYTHON, "-m", "acp_tap"]


def traffic(prompts: int, updates: int, big_mib: int) -> list[tuple[str, Any]]:
    """The conversation, as (direction, message) in recorded order."""
    big = "x" * (big_mib << 20)
    out: list[tuple[str, Any]] = [
        (
            "c2a",
            {"jsonrpc": "2.0", "id": 0, "method": "initialize", "params": {"protocolVersion": 1}},
        ),
        ("a2c", {"jsonrpc": "2.0", "id": 0, "result": {"protocolVersion": 1}}),
        (
            "c2a",
            {
                "jsonrpc": "2.0",
                "id": 1,
                "method": "session/new",
                "params": {"cwd": "/w", "mcpServers": []},
            },
        ),
        ("a2c", {"jsonrpc": "2.0", "id": 1, "result": {"sessionId": "s"}}),
    ]
    for n in range(prompts):
        text = big if n == prompts // 2 else f"prompt number {n}"
        params = {"sessionId": "s", "prompt": [{"type": "text", "text": text}]}
        out.append(
            ("c2a", {"jsonrpc": "2.0", "id": n + 2, "method": "session/prompt", "params": params})
        )
        for k in range(updates):
            chunk = big if (n, k) == (prompts // 3, 0) else f"chunk {k} of turn {n}, some words"
            update = {
                "sessionUpdate": "agent_message_chunk",
                "content": {"type": "text", "text": chunk},
            }
            out.append(
                (
                    "a2c",
                    {
                        "jsonrpc": "2.0",
                        "method": "session/update",
                        "params": {"sessionId": "s", "update": update},
                    },
                )
            )
        out.append(("a2c", {"jsonrpc": "2.0", "id": n + 2, "result": {"stopReason": "end_turn"}}))
    return out


def lines(conversation: list[tuple[str, Any]], direction: str) -> list[bytes]:
    """The NDJSON lines of one direction."""
    return [
        json.dumps(msg, separators=(",", ":")).encode() + b"\n"
        for d, msg in conversation
        if d == direction
    ]


AGENT = textwrap.dedent(
    """\
    import sys
    script = open(sys.argv[1], "rb").read().split(b"\\0")
    out = sys.stdout.buffer
    for i, _ in enumerate(sys.stdin.buffer):
        out.write(script[i])
        out.flush()
    """
)


def write_agent_script(conversation: list[tuple[str, Any]], path: Path) -> None:
    """What the scripted agent writes after each client line (NUL-separated blocks)."""
    blocks: list[bytes] = []
    current = b""
    for direction, msg in conversation:
        if direction == "c2a":
            if blocks or current:
                blocks.append(current)
            current = b""
        else:
            current += json.dumps(msg, separators=(",", ":")).encode() + b"\n"
    blocks.append(current)
    path.write_bytes(b"\0".join(blocks))


def drive(argv: list[str], client_lines: list[bytes]) -> tuple[float, int]:
    """Run ``argv``, write every client line at once, read everything; (seconds, bytes out)."""
    start = time.perf_counter()
    with subprocess.Popen(
        argv, stdin=subprocess.PIPE, stdout=subprocess.PIPE, stderr=subprocess.DEVNULL
    ) as proc:
        assert proc.stdin is not None
        assert proc.stdout is not None

        def write() -> None:
            assert proc.stdin is not None
            for line in client_lines:
                proc.stdin.write(line)
            proc.stdin.close()

        writer = threading.Thread(target=write)
        writer.start()
        total = 0
        while chunk := os.read(proc.stdout.fileno(), 1 << 20):
            total += len(chunk)
        writer.join()
        proc.wait(timeout=600)
    return time.perf_counter() - start, total


def main() -> int:
    """Run the benchmark and print the comparison."""
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--prompts", type=int, default=1000)
    parser.add_argument("--updates", type=int, default=100)
    parser.add_argument("--big", type=int, default=4, metavar="MIB")
    args = parser.parse_args()
    conversation = traffic(args.prompts, args.updates, args.big)
    client = lines(conversation, "c2a")
    frames = len(conversation)
    with tempfile.TemporaryDirectory() as tmp:
        script, agent, cassette = Path(tmp, "script"), Path(tmp, "agent.py"), Path(tmp, "c.ndjson")
        write_agent_script(conversation, script)
        agent.write_text(AGENT)
        rec_s, rec_bytes = drive(
            [*ACP_TAP, "record", "-q", "-o", str(cassette), "--", PYTHON, str(agent), str(script)],
            client,
        )
        size = os.path.getsize(cassette)
        rep_s, rep_bytes = drive([*ACP_TAP, "replay", str(cassette)], client)
    mib = rep_bytes / (1 << 20)
    print(f"{frames} frames, {mib:.1f} MiB to the client, cassette {size / (1 << 20):.1f} MiB")
    print(
        f"record: {rec_s:.2f} s  {frames / rec_s:,.0f} frames/s  "
        f"{rec_bytes / (1 << 20) / rec_s:.1f} MiB/s"
    )
    print(f"replay: {rep_s:.2f} s  {frames / rep_s:,.0f} frames/s  {mib / rep_s:.1f} MiB/s")
    ratio = rec_s / rep_s
    print(f"replay throughput = {ratio:.2f} x record (goal >= 0.50)")
    if rep_bytes != rec_bytes:
        print(f"output differs: record {rec_bytes} bytes, replay {rep_bytes} bytes")
        return 1
    return 0 if ratio >= 0.5 else 1


if __name__ == "__main__":
    raise SystemExit(main())
