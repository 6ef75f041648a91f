"""Client-driven replay against ``acp-tap record`` on the same traffic, in one run.

    python tools/bench_replay_client.py [--lines N] [--pings N] [--repeat N]

Every client line is a message the replay must match, and the agent answers each: the
agent is ``cat`` (an echo), the client sends ACP-like ``session/update`` notifications of
about 320 bytes. Two scenarios, each run alternately through both setups so that load
elsewhere on the machine hits both alike:

- ``throughput``: one thread writes N lines in 1 MiB writes while another reads the
  echoes back (checked byte for byte); the time to the last echoed byte (start-up
  excluded) gives lines/s.
  ``record`` is ``acp-tap record -q -- cat``; ``replay`` is ``acp-tap replay`` of the
  cassette that the same round's record run wrote.
- ``latency``: ping-pong of one line, one at a time: round-trip p50 and p99 through a
  recorder in front of ``cat`` and through a replay of a recorded ping-pong session.

Targets (issue 11): replay >= 0.5x record's throughput, p50 <= 2x and p99 <= 3x record's.
"""

from __future__ import annotations

import argparse
import json
import os
import random
import statistics
import subprocess
import sys
import tempfile
import threading
import time
import zlib
from pathlib import Path

ACP_TAP = (sys.executable, "-m", "acp_tap")
READ = 1 << 20
TIMEOUT = 300.0
READY = b'{"jsonrpc":"2.0","method":"bench/ready"}\n'
SESSION = "sess_5c2f0e6a-3b1d-4d8e-9a47-0f6b2c1d7e93"
WORDS = [
    "the",
    "agent",
    "reads",
    "src/parser.py",
    "and",
    "finds",
    "that",
    "tokenize()",
    "drops",
    "the",
    "last",
    "line",
    "when",
    "the",
    "file",
    "has",
    "no",
    "trailing",
    "newline;",
    "I",
    "will",
    "add",
    "a",
    "test,",
    "fix",
    "the",
    "loop",
    "and",
    "run",
    "pytest",
    "again",
]


def update_line(rng: random.Random) -> bytes:
    """A session/update notification of about 320 bytes (200-440)."""
    words = " ".join(rng.choice(WORDS) for _ in range(rng.randint(8, 42)))
    update = {"sessionUpdate": "agent_message_chunk", "content": {"type": "text", "text": words}}
    msg = {
        "jsonrpc": "2.0",
        "method": "session/update",
        "params": {"sessionId": SESSION, "update": update},
    }
    return json.dumps(msg, separators=(",", ":")).encode() + b"\n"


def start(argv: list[str]) -> subprocess.Popen[bytes]:
    """Start a setup and wait for the echo of the ready line (start-up is not timed)."""
    proc = subprocess.Popen(argv, stdin=subprocess.PIPE, stdout=subprocess.PIPE)
    assert proc.stdin is not None and proc.stdout is not None
    os.write(proc.stdin.fileno(), READY)
    got = b""
    while len(got) < len(READY):
        chunk = os.read(proc.stdout.fileno(), READ)
        if not chunk:
            raise RuntimeError(f"{argv}: ended before echoing the ready line")
        got += chunk
    return proc


def finish(proc: subprocess.Popen[bytes], name: str) -> None:
    """Close the client's side; the setup must exit 0 with nothing more to say."""
    assert proc.stdin is not None and proc.stdout is not None
    proc.stdin.close()
    rest = proc.stdout.read()
    code = proc.wait(TIMEOUT)
    if rest or code != 0:
        raise RuntimeError(f"{name}: exit status {code}, {len(rest)} unexpected bytes")


def throughput(argv: list[str], data: bytes, name: str) -> float:
    """Seconds from the first byte written to the last echoed byte read."""
    proc = start(argv)
    assert proc.stdin is not None and proc.stdout is not None
    watchdog = threading.Timer(TIMEOUT, proc.kill)
    watchdog.start()
    fd = proc.stdin.fileno()

    def send() -> None:
        view = memoryview(data)
        while view:
            view = view[os.write(fd, view[:READ]) :]

    began = time.perf_counter()
    writer = threading.Thread(target=send, daemon=True)
    writer.start()
    received, out, crc = 0, proc.stdout.fileno(), 0
    while received < len(data):
        chunk = os.read(out, READ)
        if not chunk:
            raise RuntimeError(f"{name}: output ended after {received} of {len(data)} bytes")
        received += len(chunk)
        crc = zlib.crc32(chunk, crc)
    seconds = time.perf_counter() - began
    if crc != zlib.crc32(data):
        raise RuntimeError(f"{name}: the client received other bytes than the echo of what it sent")
    writer.join()
    finish(proc, name)
    watchdog.cancel()
    return seconds


def ping(proc: subprocess.Popen[bytes], line: bytes, count: int) -> list[float]:
    """Round-trip seconds of ``line``, ``count`` times."""
    assert proc.stdin is not None and proc.stdout is not None
    in_fd, out_fd, times = proc.stdin.fileno(), proc.stdout.fileno(), []
    for _ in range(count):
        began = time.perf_counter()
        os.write(in_fd, line)
        got = 0
        while got < len(line):
            chunk = os.read(out_fd, READ)
            if not chunk:
                raise RuntimeError("the setup ended during the ping-pong")
            got += len(chunk)
        times.append(time.perf_counter() - began)
    return times


def record_argv(cassette: Path) -> list[str]:
    """``acp-tap record`` of the echo agent into ``cassette``."""
    return [*ACP_TAP, "record", "-q", "--force", "-o", str(cassette), "--", "cat"]


def pct(values: list[float], q: float) -> float:
    """The ``q`` quantile of ``values``, in microseconds."""
    ordered = sorted(values)
    return ordered[min(len(ordered) - 1, int(q * len(ordered)))] * 1e6


def main() -> int:
    """Run both scenarios; print the figures, the ratios and the verdicts."""
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--lines", type=int, default=200_000, help="lines per throughput run")
    parser.add_argument("--pings", type=int, default=5000, help="round trips per setup")
    parser.add_argument("--repeat", type=int, default=5, help="throughput rounds (median)")
    args = parser.parse_args()
    rng = random.Random(1)
    data = b"".join(update_line(rng) for _ in range(args.lines))
    line = update_line(random.Random(4))
    print(
        f"python {sys.version.split()[0]}; {os.cpu_count()} CPUs; load average "
        f"{os.getloadavg()[0]:.2f}; {args.lines} lines of {len(data) / args.lines:.0f} B average"
    )
    with tempfile.TemporaryDirectory(prefix="bench-replay-client-") as tmp:
        cassette = Path(tmp, "stream.ndjson")
        rec: list[float] = []
        rep: list[float] = []
        for _ in range(args.repeat):
            rec.append(throughput(record_argv(cassette), data, "record"))
            rep.append(throughput([*ACP_TAP, "replay", str(cassette)], data, "replay"))
        rec_s, rep_s = statistics.median(rec), statistics.median(rep)
        print(f"\nthroughput, median of {args.repeat}:")
        print(f"  record  {args.lines / rec_s:11,.0f} lines/s each way  ({rec_s:.3f} s)")
        print(f"  replay  {args.lines / rep_s:11,.0f} lines/s each way  ({rep_s:.3f} s)")
        ratio = rec_s / rep_s

        pings = Path(tmp, "pings.ndjson")
        rounds, per = 20, max(1, args.pings // 20)
        first = start(record_argv(pings))
        ping(first, line, per * rounds)
        finish(first, "record")
        recorder = start(record_argv(Path(tmp, "again.ndjson")))
        replayer = start([*ACP_TAP, "replay", str(pings)])
        times: dict[str, list[float]] = {"record": [], "replay": []}
        for turn in range(rounds):
            order = [("record", recorder), ("replay", replayer)]
            for name, proc in order[turn % 2 :] + order[: turn % 2]:
                times[name] += ping(proc, line, per)
        finish(recorder, "record")
        finish(replayer, "replay")
    print(f"\nlatency: {per * rounds} round trips of one {len(line)}-byte line per setup")
    print(f"  {'setup':<8} {'p50 us':>8} {'p99 us':>8}")
    for name, values in times.items():
        print(f"  {name:<8} {pct(values, 0.5):8.1f} {pct(values, 0.99):8.1f}")
    p50 = pct(times["replay"], 0.5) / pct(times["record"], 0.5)
    p99 = pct(times["replay"], 0.99) / pct(times["record"], 0.99)
    verdicts = [
        (ratio >= 0.5, f"replay throughput {ratio:.2f}x record's (target >= 0.5)"),
        (p50 <= 2.0, f"replay round-trip p50 {p50:.2f}x record's (target <= 2)"),
        (p99 <= 3.0, f"replay round-trip p99 {p99:.2f}x record's (target <= 3)"),
    ]
    print("\ntargets (issue 11):")
    for ok, text in verdicts:
        print(f"  {'PASS' if ok else 'FAIL'}  {text}")
    return 0 if all(ok for ok, _ in verdicts) else 1


if __name__ == "__main__":
    raise SystemExit(main())
