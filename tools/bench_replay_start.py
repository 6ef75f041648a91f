"""How fast ``acp-tap replay`` answers ``initialize``, against ``python -c "import trio"``.

    python tools/bench_replay_start.py [--runs N] [--cassette FILE]

Without --cassette, a small recording (initialize, session/new, one prompt turn) is written
to a temporary file. Each run spawns ``python -m acp_tap replay``, writes ``initialize`` at
once and times until the answer's line arrives; the baseline is the wall time of
``python -c "import trio"``. The medians are printed with their ratio (the goal: <= 2).
"""

from __future__ import annotations

import argparse
import json
import os
import statistics
import subprocess
import sys
import tempfile
import time
from pathlib import Path

PYTHON = sys.executable
INIT = {"jsonrpc": "2.0", "id": 0, "method": "initialize", "params": {"protocolVersion": 1}}


def write_small_cassette(path: Path) -> None:
    """A short recording: initialize, session/new and one prompt turn."""
    lines = [
        {
            "type": "header",
            "format": 1,
            "acp_tap": "0.1.0",
            "argv": ["agent"],
            "cwd": "/tmp",
            "started": "2026-11-25T08:25:30.123456Z",
            "python": "3.11.7",
            "platform": "Linux",
            "pid": 1,
            "redaction": ["default"],
        }
    ]
    messages = [
        ("c2a", INIT),
        ("a2c", {"jsonrpc": "2.0", "id": 0, "result": {"protocolVersion": 1}}),
        ("c2a", {"jsonrpc": "2.0", "id": 1, "method": "session/new", "params": {"cwd": "/tmp"}}),
        ("a2c", {"jsonrpc": "2.0", "id": 1, "result": {"sessionId": "s"}}),
    ]
    for seq, (direction, msg) in enumerate(messages, start=1):
        lines.append({"seq": seq, "t": seq / 100, "dir": direction, "msg": msg})
    footer = {
        "type": "footer",
        "t": 1.0,
        "ended": "2026-11-25T08:25:31.123456Z",
        "status": 0,
        "exit_code": 0,
        "signal": None,
        "closed_first": "client",
        "frames": {"c2a": 2, "a2c": 2, "err": 0},
        "dropped": 0,
    }
    lines.append(footer)
    path.write_text("".join(json.dumps(line) + "\n" for line in lines))


def time_to_initialize(cassette: Path) -> float:
    """Seconds from spawning the replay to reading its initialize answer."""
    start = time.perf_counter()
    with subprocess.Popen(
        [PYTHON, "-m", "acp_tap", "replay", "--allow-unused", str(cassette)],
        stdin=subprocess.PIPE,
        stdout=subprocess.PIPE,
        stderr=subprocess.DEVNULL,
    ) as proc:
        assert proc.stdin is not None
        assert proc.stdout is not None
        proc.stdin.write(json.dumps(INIT).encode() + b"\n")
        proc.stdin.flush()
        line = proc.stdout.readline()
        elapsed = time.perf_counter() - start
        proc.stdin.close()
        proc.wait(timeout=30)
    if not line.startswith(b"{"):
        raise SystemExit(f"no initialize answer: {line!r}")
    return elapsed


def time_import_trio() -> float:
    """Seconds for ``python -c "import trio"``."""
    start = time.perf_counter()
    subprocess.run([PYTHON, "-c", "import trio"], check=True, timeout=30)
    return time.perf_counter() - start


def main() -> int:
    """Run the comparison and print it."""
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--runs", type=int, default=15)
    parser.add_argument("--cassette", type=Path)
    args = parser.parse_args()
    with tempfile.TemporaryDirectory() as tmp:
        cassette = args.cassette or Path(tmp) / "small.ndjson"
        if args.cassette is None:
            write_small_cassette(cassette)
        time_to_initialize(cassette)  # warm the file cache and .pyc files
        time_import_trio()
        replay, trio_ = [], []
        for _ in range(args.runs):  # interleaved, so load changes hit both alike
            replay.append(time_to_initialize(cassette))
            trio_.append(time_import_trio())
    r, t = statistics.median(replay), statistics.median(trio_)
    print(f"replay answers initialize: median {r * 1000:.0f} ms over {args.runs} runs")
    print(f'python -c "import trio":   median {t * 1000:.0f} ms')
    print(f"ratio {r / t:.2f} (goal <= 2.00) on {os.cpu_count()} CPUs")
    return 0 if r / t <= 2 else 1


if __name__ == "__main__":
    raise SystemExit(main())
