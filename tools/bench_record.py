"""Benchmark ``acp-tap record`` against a direct pipe and socat relaying the same echo agent.

Usage: python tools/bench_record.py [--quick] [--agent cat|python] [--repeat N]
                                   [--only small,big,latency,rss] [--cassette-dir DIR]

Three setups relay one echo agent (the client's bytes come straight back):

- ``direct``: the client talks to the agent's own pipes (the ceiling);
- ``socat``: ``socat -b 8192 - EXEC:AGENT`` (8192 is socat's default block size; its EXEC
  talks to the agent over a socketpair); ``socat-64k`` is the same with ``-b 65536``;
- ``acp-tap``: ``python -m acp_tap record -q -o CASSETTE -- AGENT``.

The agent is ``cat`` by default (coreutils: one read/write loop with a 128 KiB buffer, so
the echo costs the least CPU and every setup pays it alike); ``--agent python`` uses a
six-line ``os.read``/``os.write`` loop instead. Scenarios, each in a fresh process:

- ``small``: realistic ACP lines (session/update chunks and tool calls, 150-400 bytes),
  written by one thread in 1 MiB ``os.write`` calls while another reads them back;
- ``big``: session/prompt lines of 4 MiB (a base64 image), the same way;
- ``latency``: ping-pong of one small line; the added time is the setup's minus direct's;
- ``rss``: acp-tap records a 1 GiB session (each way) of mixed lines while its VmRSS and
  VmHWM are sampled from /proc.

Every run checks the echoed bytes against what was sent, and every acp-tap cassette is
read back: frame counts, the CRC-32 of each direction's bytes, no text/b64 frames, no
drops. Runs of a scenario are interleaved across setups and the median is reported, so
ratios compare figures measured in the same run under the same load.

The setups are run by ``tools/bench_record_runs.py`` and the traffic comes from
``tools/bench_record_traffic.py``.
"""

from __future__ import annotations

import argparse
import os
import shutil
import statistics
import sys
import tempfile
import time
from collections.abc import Callable, Iterator
from pathlib import Path

from bench_record_runs import READ, Setup, latency, throughput
from bench_record_traffic import (
    Stream,
    big_stream,
    check_cassette,
    ping_line,
    session_stream,
    small_stream,
)

from acp_tap.demo.client import record_argv

MB = 1e6
PYTHON_ECHO = "import os\nwhile chunk := os.read(0, 65536):\n    os.write(1, chunk)\n"


# -- the benchmark -------------------------------------------------------------------


def filesystem(path: Path) -> str:
    """The mount point and type of the file system holding ``path``."""
    best = ("?", "?")
    with open("/proc/mounts") as f:
        for line in f:
            _, mount, kind, *_ = line.split()
            if str(path.resolve()).startswith(mount) and len(mount) >= len(best[0].rstrip("/")):
                best = (mount, kind)
    return f"{best[0]} ({best[1]})"


def setups(agent: tuple[str, ...], cassette: Path) -> list[Setup]:
    """direct, socat (default and 64 KiB blocks) and acp-tap around ``agent``."""
    if shutil.which("socat") is None:
        raise SystemExit("socat is not installed: the baseline needs it (apt-get install socat)")
    if any(c in word for word in agent for c in " \t\"'\\:,!()[]{}"):
        raise SystemExit(f"agent {agent} has characters socat's EXEC address would interpret")
    exec_address = "EXEC:" + " ".join(agent)
    return [
        Setup("direct", agent),
        Setup("socat", ("socat", "-b", "8192", "-", exec_address)),
        Setup("socat-64k", ("socat", "-b", "65536", "-", exec_address)),
        Setup("acp-tap", tuple(record_argv(cassette, agent)), records=True),
    ]


def measured(runs: list[Setup], repeat: int, fn: Callable[[Setup], float]) -> dict[str, float]:
    """Median of ``fn`` per setup over ``repeat`` rounds, each round in a rotated order."""
    results: dict[str, list[float]] = {s.name: [] for s in runs}
    for turn in range(repeat):
        for k in range(len(runs)):
            setup = runs[(turn + k) % len(runs)]
            results[setup.name].append(fn(setup))
    return {s.name: statistics.median(results[s.name]) for s in runs}


def stream_scenario(
    title: str, runs: list[Setup], stream: Stream, repeat: int, cassette: Path
) -> None:
    """Throughput of each setup on ``stream``, checked, with ratios against socat."""

    def one(setup: Setup) -> float:
        run = throughput(setup, stream)
        cpu[setup.name].append(run.cpu / run.relay)
        if setup.records:
            BROKEN.setdefault(title, []).extend(check_cassette(cassette, stream))
            cassette.unlink()
            exits[setup.name].append(run.exited)
        return run.relay

    exits: dict[str, list[float]] = {s.name: [] for s in runs}
    cpu: dict[str, list[float]] = {s.name: [] for s in runs}
    seconds = measured(runs, repeat, one)
    print(
        f"\n{title}: {stream.count} lines, {stream.size / MB:.1f} MB each way, median of {repeat}"
    )
    print(
        f"  {'setup':<10} {'MB/s':>9} {'lines/s':>11} {'vs socat':>9} {'vs socat-64k':>13}"
        f" {'relay CPU':>10}"
    )
    for name, secs in seconds.items():
        ratio = seconds["socat"] / secs
        ratio64 = seconds["socat-64k"] / secs
        print(
            f"  {name:<10} {stream.size / MB / secs:9.1f} {stream.count / secs:11.0f}"
            f" {ratio:8.2f}x {ratio64:12.2f}x {statistics.median(cpu[name]):9.0%}"
        )
    for name, values in exits.items():
        if values:
            tail = statistics.median(values) - seconds[name]
            print(f"  ({name} exited {tail * 1000:.0f} ms after the last echoed byte)")
    print("  (relay CPU: CPU time of socat / acp-tap / cat per second of the run)")
    report_cassette(title)
    if title == "small":
        ceiling(stream, seconds["socat"])
    RATIOS[title] = seconds["socat"] / seconds["acp-tap"]


def ceiling(stream: Stream, socat_seconds: float) -> None:
    """What Python can do on these lines with no I/O at all, against what socat relays.

    The proxy records each line twice (client->agent, then the echo agent->client), so
    its line rate is at most half the recorder's; deciding that a line is JSON (a UTF-8
    decode and the C scanner, nothing else) bounds the recorder.
    """
    from acp_tap.cassette.codec import scan_json
    from acp_tap.cassette.model import Direction
    from acp_tap.cassette.recorder import Recorder
    from acp_tap.redaction import RedactionRules, Redactor

    data = stream.block
    chunks = [data[at : at + READ] for at in range(0, len(data), READ)]
    lines = data.split(b"\n")[:-1]
    began = time.perf_counter()
    for line in lines:
        scan_json(line.decode("utf-8"))
    decode = time.perf_counter() - began
    recorder = Recorder(Redactor(RedactionRules()))
    began = time.perf_counter()
    for chunk in chunks:
        recorder.feed(Direction.CLIENT_TO_AGENT, chunk, 0.0)
    record = time.perf_counter() - began
    socat = stream.count / socat_seconds
    print("  ceiling without I/O, in this process, lines/s (and vs socat's lines/s):")
    for label, secs in (("decode only", decode), ("Recorder.feed", record)):
        rate = len(lines) / secs
        print(
            f"    {label:<14} {rate:10.0f} per direction, {rate / 2:10.0f} both ways"
            f" ({rate / 2 / socat:.2f}x socat)"
        )


def latency_scenario(runs: list[Setup], iterations: int, cassette: Path) -> None:
    """Round-trip time of each setup, and what it adds over direct pipes."""
    rounds = 20
    times = {name: sorted(values) for name, values in latency(runs, iterations, rounds).items()}
    sent = Stream(ping_line(), (rounds + 1) * max(1, iterations // rounds), 1)
    BROKEN.setdefault("latency", []).extend(check_cassette(cassette, sent))
    cassette.unlink()

    def pct(values: list[float], q: float) -> float:
        return values[min(len(values) - 1, int(q * len(values)))] * 1e6

    base50, base99 = pct(times["direct"], 0.5), pct(times["direct"], 0.99)
    added_socat = pct(times["socat"], 0.5) - base50
    print(
        f"\nlatency: ping-pong of one {len(ping_line())}-byte line, {iterations} round trips "
        f"per setup in {rounds} interleaved rounds"
    )
    print(
        f"  {'setup':<10} {'p50 us':>8} {'p99 us':>8} {'+p50 us':>8} {'+p99 us':>8}"
        f" {'+p50 vs socat':>14}"
    )
    for name, values in times.items():
        p50, p99 = pct(values, 0.5), pct(values, 0.99)
        ratio = (p50 - base50) / added_socat if added_socat > 0 else float("nan")
        print(
            f"  {name:<10} {p50:8.1f} {p99:8.1f} {p50 - base50:8.1f} {p99 - base99:8.1f}"
            f" {ratio:13.2f}x"
        )
    report_cassette("latency")
    RATIOS["latency"] = (pct(times["acp-tap"], 0.5) - base50) / added_socat


def rss_scenario(setup: Setup, stream: Stream, cassette: Path) -> None:
    """acp-tap's memory while recording ``stream``."""
    run = throughput(setup, stream, sample_rss=True)
    BROKEN.setdefault("rss", []).extend(check_cassette(cassette, stream))
    size = cassette.stat().st_size
    cassette.unlink()
    print(
        f"\nrss: acp-tap recording {stream.size / 2**30:.2f} GiB each way ({stream.count} lines, "
        f"cassette {size / 2**30:.2f} GiB) at {stream.size / MB / run.relay:.0f} MB/s"
    )
    marks = []
    for tenth in range(1, 11):
        after = [rss for frac, rss in run.rss if frac >= tenth / 10 - 1e-9]
        before = [rss for frac, rss in run.rss if frac < tenth / 10]
        rss = after[0] if after else before[-1] if before else 0
        marks.append(f"{tenth * 10}%:{rss / 2**20:.1f}")
    peak = max((rss for _, rss in run.rss), default=0)
    print(f"  VmRSS MiB before the first byte: {run.idle / 2**20:.1f}")
    print("  VmRSS MiB at " + " ".join(marks))
    print(
        f"  max VmRSS {peak / 2**20:.1f} MiB, VmHWM {run.hwm / 2**20:.1f} MiB"
        f" ({len(run.rss)} samples, every 20 ms)"
    )
    report_cassette("rss")
    RATIOS["rss"] = max(peak, run.hwm) / 2**20


RATIOS: dict[str, float] = {}
BROKEN: dict[str, list[str]] = {}


def report_cassette(scenario: str) -> None:
    """Say whether the cassettes of ``scenario`` were complete and byte-exact."""
    problems = BROKEN.get(scenario)
    if problems:
        print("  acp-tap cassette BROKEN: " + "; ".join(problems[:4]))
    else:
        print("  acp-tap cassettes checked: every line both ways, byte-exact, none dropped")


def verdicts() -> Iterator[str]:
    """One line per target of issue 2."""
    targets = (
        ("small", ">=", 1.0, "small-line throughput vs socat"),
        ("big", ">=", 0.8, "4 MiB-line throughput vs socat"),
        ("latency", "<=", 3.0, "added p50 latency vs socat's"),
        ("rss", "<", 64.0, "peak RSS MiB recording the session"),
    )
    for key, op, goal, label in targets:
        if key in RATIOS:
            value = RATIOS[key]
            ok = value >= goal if op == ">=" else value <= goal if op == "<=" else value < goal
            broken = " but the cassette was BROKEN" if BROKEN.get(key) else ""
            verdict = "PASS" if ok and not broken else "FAIL"
            yield f"  {verdict}  {label}: {value:.2f} (target {op} {goal}){broken}"


def main() -> None:
    """Parse options, run the scenarios, print the tables and the verdicts."""
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument(
        "--quick", action="store_true", help="a ~1 min run (smaller session, 3 rounds)"
    )
    parser.add_argument("--agent", choices=("cat", "python"), default="cat")
    parser.add_argument(
        "--repeat", type=int, help="rounds per throughput scenario (default 5, quick 3)"
    )
    parser.add_argument("--only", default="small,big,latency,rss", help="comma-separated scenarios")
    parser.add_argument(
        "--cassette-dir",
        type=Path,
        help="where acp-tap writes its cassettes (default: the system's temporary directory)",
    )
    args = parser.parse_args()
    repeat = args.repeat or (3 if args.quick else 5)
    only = set(args.only.split(","))
    with tempfile.TemporaryDirectory(prefix="bench-record-") as tmp:
        agent: tuple[str, ...] = ("cat",)
        if args.agent == "python":
            script = Path(tmp, "echo.py")
            script.write_text(PYTHON_ECHO)
            agent = (sys.executable, str(script))
        cassette = Path(args.cassette_dir or tmp, f"bench-record-{os.getpid()}.ndjson")
        runs = setups(agent, cassette)
        print(
            f"agent: {' '.join(agent)}; python {sys.version.split()[0]}; {os.cpu_count()} CPUs; "
            f"load average {os.getloadavg()[0]:.2f}; cassettes on {filesystem(cassette.parent)}"
        )
        for setup in runs:
            print(f"  {setup.name:<10} {' '.join(setup.argv)}")
        if "small" in only:
            stream_scenario("small", runs, small_stream(200_000), repeat, cassette)
        if "big" in only:
            stream_scenario("big", runs, big_stream(100, 4 << 20), repeat, cassette)
        if "latency" in only:
            latency_scenario(runs, 2000 if args.quick else 5000, cassette)
        if "rss" in only:
            rss_scenario(runs[-1], session_stream((256 if args.quick else 1024) << 20), cassette)
    print("\ntargets (issue 2):")
    for line in verdicts():
        print(line)


if __name__ == "__main__":
    main()
