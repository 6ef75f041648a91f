"""Client-driven replay against ``acp-tap record`` on the same traffic, in one run.

    python tools/bench_replay_client.py [--lines N] [--pings N] [--repeat N]

Every client line is a message the replay must match, and the agent answers each: the
agent is ``cat`` (an echo) and the client sends the small-line traffic of
``tools/bench_record.py`` (ACP ``session/update`` lines of 150-400 bytes, about 320 on
average). Two scenarios, each run alternately through both setups so that load
elsewhere on the machine hits both alike:

- ``throughput``: one thread writes N lines in 1 MiB writes while another reads the
  echoes back, checking every byte; the time to the last echoed byte (start-up excluded)
  gives lines/s. ``record`` is ``acp-tap record -q -- cat``; ``replay`` is ``acp-tap
  replay`` of the cassette that the same round's record run wrote.
- ``latency``: ping-pong of one line, one at a time: round-trip p50 and p99 through a
  recorder in front of ``cat`` and through a replay of a recorded ping-pong session.

Targets (issue 11): replay >= 0.5x record's throughput, p50 <= 2x and p99 <= 3x record's.
"""

from __future__ import annotations

import argparse
import os
import statistics
import sys
import tempfile
from pathlib import Path

from bench_record_runs import Setup, finish, ping_pong, start, throughput
from bench_record_traffic import ping_line, small_stream

ACP_TAP = (sys.executable, "-m", "acp_tap")


def recorder(cassette: Path) -> Setup:
    """``acp-tap record`` of the echo agent into ``cassette``."""
    return Setup("record", (*ACP_TAP, "record", "-q", "--force", "-o", str(cassette), "--", "cat"))


def replayer(cassette: Path) -> Setup:
    """``acp-tap replay`` of ``cassette``."""
    return Setup("replay", (*ACP_TAP, "replay", str(cassette)))


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
    stream = small_stream(args.lines)
    print(
        f"python {sys.version.split()[0]}; {os.cpu_count()} CPUs; load average "
        f"{os.getloadavg()[0]:.2f}; {stream.count} lines of {stream.size / stream.count:.0f} B"
    )
    with tempfile.TemporaryDirectory(prefix="bench-replay-client-") as tmp:
        cassette = Path(tmp, "stream.ndjson")
        seconds: dict[str, list[float]] = {"record": [], "replay": []}
        for _ in range(args.repeat):
            seconds["record"].append(throughput(recorder(cassette), stream).relay)
            seconds["replay"].append(throughput(replayer(cassette), stream).relay)
        median = {name: statistics.median(values) for name, values in seconds.items()}
        print(f"\nthroughput, median of {args.repeat} (every echoed byte checked):")
        for name, secs in median.items():
            print(f"  {name:<7} {stream.count / secs:11,.0f} lines/s each way  ({secs:.3f} s)")
        ratio = median["record"] / median["replay"]

        pings, rounds = Path(tmp, "pings.ndjson"), 20
        per, line = max(1, args.pings // rounds), ping_line()
        first = recorder(pings)
        proc = start(first)
        ping_pong(proc, line, per * rounds)
        finish(first, proc)
        setups = [recorder(Path(tmp, "again.ndjson")), replayer(pings)]
        procs = [start(setup) for setup in setups]
        times: dict[str, list[float]] = {"record": [], "replay": []}
        for turn in range(rounds):
            for k in (turn % 2, 1 - turn % 2):
                times[setups[k].name] += ping_pong(procs[k], line, per)
        for setup, proc in zip(setups, procs, strict=True):
            finish(setup, proc)
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
