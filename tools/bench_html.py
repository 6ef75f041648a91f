"""Benchmark ``acp-tap show --html`` on a large cassette, in headless Chromium.

Usage: python tools/bench_html.py [--frames 100000] [--mb 200] [--keep DIR] [--runs 2]

Generates a cassette of about FRAMES frames and MB megabytes (a coding-agent session, as
``tools/bench_inspect.py`` makes, with bigger file contents), writes its page with the
real CLI, then opens the page in headless Chromium (Debian's ``chromium``, driven over
the DevTools protocol by ``tests/chromium.py``) and prints:

- the page's size against the cassette's (the target: at most the cassette + 2 MiB);
- the time from navigation until the page is usable (drawn, every control wired; the
  target: at most 10 s), and the same for a baseline page holding the same frame bytes in
  one inert JSON element and doing nothing else: what any page of that size costs;
- the time of a click on a group of frames (details drawn) and of a zoom step.

The machine may be shared: compare the ratios against the baseline, measured in the same
run, rather than the absolute figures.
"""

from __future__ import annotations

import argparse
import os
import subprocess
import sys
import tempfile
import time
from collections.abc import Iterator
from pathlib import Path
from typing import Any

sys.path.insert(0, str(Path(__file__).resolve().parents[1]))

from bench_inspect import A2C, C2A, ERR, HEADER, Session, footer

from acp_tap.cassette.codec import dumps_compact, encode_frame_bytes, encode_record
from acp_tap.cassette.model import Direction, Frame, Payload
from acp_tap.inspect.html.embed import CHUNK_BYTES, script_safe
from tests.chromium import Chromium, Page, find_chromium

SIZE_MARGIN = 2 << 20
USABLE_SECONDS = 10.0


class BigSession(Session):
    """bench_inspect's session, with file contents and tool output scaled by ``scale``."""

    scale = 1.0

    def text(self, lo: int, hi: int) -> str:
        return super().text(int(lo * self.scale), int(hi * self.scale))


def messages(session: BigSession) -> Iterator[tuple[Direction, Any]]:
    """The setup, then turns forever."""
    yield from session.setup()
    while True:
        yield from session.turn()


def generate(path: Path, frames: int, megabytes: float) -> tuple[int, int]:
    """Write a cassette of ``frames`` frames and about ``megabytes`` MB; (bytes, frames)."""
    import random

    rng = random.Random(7)
    session = BigSession(rng, "mixed")
    wanted = megabytes * 1e6 / frames
    counts = {d.value: 0 for d in (C2A, A2C, ERR)}
    t, written = 0.0, 0
    with open(path, "wb") as f:
        written += f.write(encode_record(HEADER))
        for seq, (direction, message) in enumerate(messages(session), start=1):
            if isinstance(message, str):
                raw, payload = message.encode(), Payload.TEXT
            else:
                raw, payload = dumps_compact(message), Payload.JSON
            t += rng.random() * 0.002
            counts[direction.value] += 1
            written += f.write(encode_frame_bytes(Frame(seq, t, direction, raw, payload)))
            if seq % 500 == 0:  # steer the size of file contents toward the wanted mean
                session.scale *= 1.05 if written / seq < wanted else 1 / 1.05
            if seq >= frames:
                break
        written += f.write(encode_record(footer(t + 0.5, counts)))
    return written, frames


def baseline_page(cassette: Path, page: Path) -> None:
    """The cassette's lines in inert JSON elements chunked as the page's, and a script that
    only says it is ready: what the browser spends on a file of that size and shape."""
    with open(cassette, "rb") as source, open(page, "wb") as out:
        out.write(b'<!DOCTYPE html><meta charset="utf-8"><title>baseline</title>')
        lines: list[bytes] = []
        size = 0
        for line in source:
            lines.append(script_safe(line.rstrip(b"\n")))
            size += len(line)
            if size >= CHUNK_BYTES:
                out.write(b'<script type="application/json">[\n%s\n]</script>' % b",\n".join(lines))
                lines, size = [], 0
        out.write(b'<script type="application/json">[\n%s\n]</script>' % b",\n".join(lines))
        out.write(b"<script>window.acpTapReadyAt = performance.now();</script>")


def open_page(browser: Chromium, page_path: Path) -> tuple[Page, float]:
    """Open a page and wait until it says it is usable: (tab, seconds since navigation)."""
    page = browser.new_page(1400, 900)
    page.open(page_path.resolve().as_uri(), timeout=120)
    page.wait_until("window.acpTapReadyAt !== undefined", "the page to be usable", 120)
    state = page.evaluate(
        "document.getElementById('app') && document.getElementById('app').dataset.state"
    )
    if state not in (None, "ready"):
        raise SystemExit(f"{page_path}: the page failed to draw (state {state})")
    return page, float(page.evaluate("window.acpTapReadyAt")) / 1000


INTERACT = """
(() => {
  const groups = [...document.querySelectorAll('.lane[data-lane=session] .tick.group')];
  const target = groups[Math.floor(groups.length / 2)];
  let start = performance.now();
  target.click();
  const click = performance.now() - start;
  const cards = document.querySelectorAll('#details .card').length;
  start = performance.now();
  document.getElementById('z-in').click();
  return new Promise((resolve) => requestAnimationFrame(() => requestAnimationFrame(() =>
    resolve({click, cards, frames: Number(target.dataset.count), zoom: performance.now() - start}))));
})()
"""


def main() -> int:
    """Generate, write, load, print."""
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--frames", type=int, default=100_000)
    parser.add_argument("--mb", type=float, default=200.0)
    parser.add_argument("--runs", type=int, default=2, help="page loads to measure (best kept)")
    parser.add_argument("--keep", type=Path, help="write the cassette and pages here and keep them")
    args = parser.parse_args()
    executable = find_chromium()
    if executable is None:
        print("bench_html: needs Chromium: apt-get install chromium", file=sys.stderr)
        return 2
    with tempfile.TemporaryDirectory() as tmp:
        directory = args.keep or Path(tmp)
        directory.mkdir(parents=True, exist_ok=True)
        cassette, page, baseline = (
            directory / n for n in ("bench.ndjson", "bench.html", "baseline.html")
        )
        size, frames = generate(cassette, args.frames, args.mb)
        print(f"cassette: {size / 1e6:.1f} MB, {frames} frames ({size / frames:.0f} B/frame)")
        print(
            f"load average {os.getloadavg()[0]:.1f} on {os.cpu_count()} CPUs (shared machines skew absolute times)"
        )
        start = time.perf_counter()
        cli = [sys.executable, "-m", "acp_tap"]
        subprocess.run(
            [*cli, "show", "--html", str(page), "--force", str(cassette)], check=True, timeout=600
        )
        written = time.perf_counter() - start
        start = time.perf_counter()
        subprocess.run(
            [*cli, "show", str(cassette)], check=True, stdout=subprocess.DEVNULL, timeout=600
        )
        shown = time.perf_counter() - start
        print(
            f"write the page: {written:.1f} s ({written / shown:.2f}x `acp-tap show` to /dev/null: {shown:.1f} s)"
        )
        baseline_page(cassette, baseline)
        page_size, base_size = page.stat().st_size, baseline.stat().st_size
        extra = page_size - size
        verdict = "ok" if extra <= SIZE_MARGIN else "OVER"
        print(
            f"page: {page_size / 1e6:.1f} MB = cassette {extra / (1 << 20):+.2f} MiB (target <= +2 MiB: {verdict}); baseline page {base_size / 1e6:.1f} MB"
        )
        browser = Chromium.start(executable)
        try:
            ours, theirs = [], []
            for _ in range(args.runs):
                tab, seconds = open_page(browser, baseline)
                tab.close()
                theirs.append(seconds)
                tab, seconds = open_page(browser, page)
                ours.append(seconds)
                timing = tab.evaluate(INTERACT, timeout=60)
                requests = tab.requests()
                tab.close()
            best, base = min(ours), min(theirs)
            verdict = "ok" if best <= USABLE_SECONDS else "OVER"
            print(
                f"usable after {best:.2f} s (target <= {USABLE_SECONDS:.0f} s: {verdict}); baseline page {base:.2f} s; ratio {best / base:.2f}x"
            )
            print(
                f"click on a group of {timing['frames']} frames: {timing['click']:.0f} ms ({timing['cards']} shown); zoom step: {timing['zoom']:.0f} ms"
            )
            print(
                f"requests made by the page: {len(requests) - 1} (beyond loading the file itself)"
            )
        finally:
            browser.close()
    return 0 if extra <= SIZE_MARGIN and best <= USABLE_SECONDS else 1


if __name__ == "__main__":
    sys.exit(main())
