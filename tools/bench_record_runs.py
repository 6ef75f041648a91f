"""Running one setup of ``tools/bench_record.py``, checking every byte it echoes.

A :class:`Setup` (direct pipes, socat or acp-tap around the echo agent) is started and
streamed through (:func:`throughput`, CPU and memory sampled from /proc) or ping-ponged
(:func:`latency`). A helper module of the benchmark, not a tool of its own.
"""

from __future__ import annotations

import os
import subprocess
import threading
import time

import attrs
from bench_record_traffic import READY, Stream, ping_line

READ = 1 << 20
WRITE = 1 << 20
TIMEOUT = 600.0


@attrs.frozen
class Setup:
    """One way of putting the agent behind the client."""

    name: str
    argv: tuple[str, ...]
    records: bool = False


@attrs.frozen
class Run:
    """One throughput run: seconds to the last echoed byte, and to the process's exit."""

    relay: float
    exited: float
    cpu: float  # CPU seconds the relay process (not its agent) used while relaying
    rss: tuple[tuple[float, int], ...] = ()  # (fraction echoed, VmRSS bytes)
    hwm: int = 0
    idle: int = 0  # VmRSS before the first byte


def start(setup: Setup) -> subprocess.Popen[bytes]:
    """Start the setup and wait until it echoes a first line (so start-up is not timed)."""
    proc = subprocess.Popen(setup.argv, stdin=subprocess.PIPE, stdout=subprocess.PIPE)
    assert proc.stdin is not None and proc.stdout is not None
    os.write(proc.stdin.fileno(), READY)
    got = b""
    while len(got) < len(READY):
        chunk = os.read(proc.stdout.fileno(), READ)
        if not chunk:
            raise RuntimeError(f"{setup.name}: ended before echoing its first line")
        got += chunk
    if got != READY:
        raise RuntimeError(f"{setup.name}: echoed {got[:80]!r} instead of the first line")
    return proc


def finish(setup: Setup, proc: subprocess.Popen[bytes]) -> None:
    """Close the client's ends and wait for a clean exit."""
    assert proc.stdin is not None and proc.stdout is not None
    proc.stdin.close()
    rest = proc.stdout.read()
    proc.stdout.close()
    code = proc.wait(TIMEOUT)
    if rest or code != 0:
        raise RuntimeError(f"{setup.name}: exit status {code}, {len(rest)} unexpected bytes")


def _send(fd: int, stream: Stream) -> None:
    view = memoryview(stream.block)
    for _ in range(stream.reps):
        at = 0
        while at < len(view):
            at += os.write(fd, view[at : at + WRITE])
    os.close(fd)


def _status(pid: int) -> dict[str, int]:
    """VmRSS and VmHWM of ``pid`` in bytes (empty once it has exited)."""
    try:
        with open(f"/proc/{pid}/status", "rb") as f:
            fields = dict(line.split(b":", 1) for line in f.read().splitlines())
    except (OSError, ValueError):
        return {}
    return {
        key: int(fields[key.encode()].split()[0]) * 1024
        for key in ("VmRSS", "VmHWM")
        if key.encode() in fields
    }


def _cpu(pid: int) -> float:
    """User + system CPU seconds of ``pid`` so far."""
    with open(f"/proc/{pid}/stat", "rb") as f:
        fields = f.read().rsplit(b")", 1)[1].split()
    return (int(fields[11]) + int(fields[12])) / os.sysconf("SC_CLK_TCK")


def throughput(setup: Setup, stream: Stream, *, sample_rss: bool = False) -> Run:
    """Send ``stream`` from one thread, read it back in this one, checking every byte."""
    proc = start(setup)
    assert proc.stdin is not None and proc.stdout is not None
    watchdog = threading.Timer(TIMEOUT, proc.kill)
    watchdog.start()
    progress = [0]
    samples: list[tuple[float, int]] = []
    hwm = [0]
    done = threading.Event()

    def sample() -> None:
        while not done.wait(0.02):
            status = _status(proc.pid)
            if "VmRSS" in status:
                samples.append((progress[0] / stream.size, status["VmRSS"]))
                hwm[0] = max(hwm[0], status["VmHWM"])

    sampler = threading.Thread(target=sample, daemon=True)
    if sample_rss:
        sampler.start()
    in_fd, out_fd = os.dup(proc.stdin.fileno()), proc.stdout.fileno()
    proc.stdin.close()
    idle = _status(proc.pid).get("VmRSS", 0)
    cpu = _cpu(proc.pid)
    began = time.perf_counter()
    sender = threading.Thread(target=_send, args=(in_fd, stream), daemon=True)
    sender.start()
    block, pos, received = stream.block, 0, 0
    while received < stream.size:
        chunk = os.read(out_fd, READ)
        if not chunk:
            raise RuntimeError(
                f"{setup.name}: output ended after {received} of {stream.size} bytes"
            )
        n = len(chunk)
        end = min(pos + n, len(block))
        if block[pos:end] != chunk[: end - pos] or (
            pos + n > len(block) and block[: pos + n - len(block)] != chunk[end - pos :]
        ):
            raise RuntimeError(f"{setup.name}: echoed bytes differ near byte {received}")
        pos = (pos + n) % len(block)
        received += n
        progress[0] = received
    relay = time.perf_counter() - began
    cpu = _cpu(proc.pid) - cpu
    sender.join()
    status = _status(proc.pid) if sample_rss else {}
    hwm[0] = max(hwm[0], status.get("VmHWM", 0))
    finish(setup, proc)
    exited = time.perf_counter() - began
    done.set()
    watchdog.cancel()
    return Run(relay, exited, cpu, tuple(samples), hwm[0], idle)


def ping_pong(proc: subprocess.Popen[bytes], line: bytes, count: int) -> list[float]:
    """Round-trip seconds of ``line``, ``count`` times in a row."""
    assert proc.stdin is not None and proc.stdout is not None
    in_fd, out_fd, times = proc.stdin.fileno(), proc.stdout.fileno(), []
    for _ in range(count):
        began = time.perf_counter()
        os.write(in_fd, line)
        got = 0
        while got < len(line):
            got += len(os.read(out_fd, READ))
        times.append(time.perf_counter() - began)
    return times


def latency(runs: list[Setup], iterations: int, rounds: int) -> dict[str, list[float]]:
    """Round-trip seconds per setup: all started at once, measured in interleaved rounds.

    Each round gives every setup ``iterations // rounds`` round trips, in a rotating
    order, so a burst of load elsewhere on the machine hits all setups alike. A first
    round warms up and is not counted.
    """
    line, per = ping_line(), max(1, iterations // rounds)
    procs = [start(setup) for setup in runs]
    times: dict[str, list[float]] = {setup.name: [] for setup in runs}
    for turn in range(rounds + 1):
        for k in range(len(runs)):
            at = (turn + k) % len(runs)
            measured = ping_pong(procs[at], line, per)
            if turn:
                times[runs[at].name] += measured
    for setup, proc in zip(runs, procs, strict=True):
        finish(setup, proc)
    return times
