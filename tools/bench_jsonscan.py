"""Benchmark jsonscan.scan against json.loads on a huge session/prompt line.

Usage: python tools/bench_jsonscan.py [MiB]   (default 64)

Prints throughput (MB/s, best of 3) and peak extra memory (tracemalloc) of each on the same input:
a session/prompt request whose image block holds one long base64 string.
"""

from __future__ import annotations

import base64
import json
import os
import sys
import time
import tracemalloc
from collections.abc import Callable
from typing import Any

from acp_tap.wire.jsonscan import scan


def make_line(mib: int) -> bytearray:
    """A session/prompt line of about ``mib`` MiB, mostly one base64 image."""
    image = base64.b64encode(os.urandom(mib * 3 * 1024 * 1024 // 4))
    head = (
        b'{"jsonrpc":"2.0","id":7,"method":"session/prompt","params":{"sessionId":"s-1",'
        b'"prompt":[{"type":"text","text":"What is in this picture? \\u00e9\xc3\xa9"},'
        b'{"type":"image","mimeType":"image/png","data":"'
    )
    return bytearray(head + image + b'"}]}}')


def measure(name: str, fn: Callable[[], Any], size: int, runs: int = 3) -> None:
    """Time ``fn`` (best of ``runs``), run it once under tracemalloc for peak memory; print both."""
    elapsed = float("inf")
    for _ in range(runs):
        start = time.perf_counter()
        fn()
        elapsed = min(elapsed, time.perf_counter() - start)
    tracemalloc.start()
    fn()
    _, peak = tracemalloc.get_traced_memory()
    tracemalloc.stop()
    print(
        f"{name:>28}: {size / elapsed / 1e6:8.0f} MB/s  "
        f"peak extra {peak / 2**20:8.2f} MiB ({peak / size:.2f}x the line)"
    )


def main() -> None:
    """Build the line and measure both validators on it."""
    mib = int(sys.argv[1]) if len(sys.argv) > 1 else 64
    line = make_line(mib)
    size = len(line)
    print(f"line: {size} bytes; scan -> {scan(line)}")
    measure("jsonscan.scan", lambda: scan(line), size)
    measure("json.loads(data.decode())", lambda: json.loads(line.decode("utf-8")), size)


if __name__ == "__main__":
    main()
