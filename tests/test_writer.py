"""The cassette writer against a disk that stops: bounded memory, waiting, then dropping."""

from __future__ import annotations

import os
import threading
import time
from collections.abc import Iterator
from pathlib import Path

import pytest

from acp_tap.cassette.recorder import Batch
from acp_tap.cassette.writer import QUEUE_BUDGET, CassetteWriter
from tests.replay_support import header

MIB = 1 << 20
BATCH = Batch(1, (b"x" * (MIB - 1) + b"\n",), MIB)


@pytest.fixture
def stuck(tmp_path: Path) -> Iterator[tuple[CassetteWriter, int]]:
    """A writer whose "disk" is a FIFO nobody reads yet (so writes stop making progress)."""
    fifo = tmp_path / "cassette.ndjson"
    os.mkfifo(fifo)
    reader = os.open(fifo, os.O_RDONLY | os.O_NONBLOCK)
    writer = CassetteWriter.start(fifo, os.open(fifo, os.O_WRONLY | os.O_CLOEXEC), header())
    yield writer, reader
    os.close(reader)


def drain(reader: int, into: bytearray) -> threading.Thread:
    """Start reading the FIFO to its end (the disk comes back)."""

    def run() -> None:
        os.set_blocking(reader, True)
        while chunk := os.read(reader, MIB):
            into.extend(chunk)

    thread = threading.Thread(target=run, daemon=True)
    thread.start()
    return thread


def test_a_backlog_is_waited_for_until_the_disk_catches_up(
    stuck: tuple[CassetteWriter, int],
) -> None:
    """Past the budget the relay waits; once the disk moves again, nothing was dropped."""
    writer, reader = stuck
    for _ in range(QUEUE_BUDGET // MIB + 2):
        writer.put(BATCH)
    assert not writer.has_room()
    got, readers = bytearray(), []
    timer = threading.Timer(0.3, lambda: readers.append(drain(reader, got)))
    timer.start()
    began = time.monotonic()
    writer.wait_for_room(stall=10.0)
    assert 0.25 < time.monotonic() - began < 9.0
    assert writer.has_room()
    assert writer.close(None, 10.0)
    timer.join()
    readers[0].join(10.0)
    assert writer.dropped == 0
    assert got.count(b"\n") == 1 + QUEUE_BUDGET // MIB + 2  # the header, then every batch


def test_a_disk_that_makes_no_progress_makes_later_frames_drop(
    stuck: tuple[CassetteWriter, int],
) -> None:
    """No progress for ``stall`` seconds: stop waiting, drop (and count) frames past the
    budget, and take frames again once the disk has caught up."""
    writer, reader = stuck
    for _ in range(QUEUE_BUDGET // MIB + 2):
        writer.put(BATCH)
    began = time.monotonic()
    writer.wait_for_room(stall=0.3)
    assert 0.25 < time.monotonic() - began < 5.0
    assert not writer.has_room()
    writer.put(BATCH)
    assert writer.dropped == 1
    got = bytearray()
    reading = drain(reader, got)
    deadline = time.monotonic() + 10.0
    while writer.written < (QUEUE_BUDGET // MIB + 2) * MIB and time.monotonic() < deadline:
        time.sleep(0.01)
    writer.put(BATCH)  # caught up: taken again
    assert writer.close(None, 10.0)
    reading.join(10.0)
    assert writer.dropped == 1
    assert got.count(b"\n") == 1 + QUEUE_BUDGET // MIB + 3
