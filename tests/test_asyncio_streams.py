"""In-memory asyncio connections (acp_tap.asyncio_streams) behave like a socket pair."""

from __future__ import annotations

import asyncio
import sys

import pytest

from acp_tap.asyncio_streams import memory_connection, spawned
from tests.asyncio_support import run


def test_bytes_flow_both_ways_and_a_half_close_keeps_the_other_direction() -> None:
    """What one end writes the other reads; after write_eof the writer still reads."""

    async def main() -> None:
        (a_reader, a_writer), (b_reader, b_writer) = memory_connection()
        a_writer.write(b"hello\nwor")
        a_writer.writelines([b"ld\n"])
        await a_writer.drain()
        a_writer.write_eof()
        assert await b_reader.read() == b"hello\nworld\n"  # then EOF
        b_writer.write(b"answer\n")
        await b_writer.drain()
        assert await a_reader.readline() == b"answer\n"
        with pytest.raises(RuntimeError, match="write_eof"):
            a_writer.write(b"late")
        b_writer.close()
        await b_writer.wait_closed()
        assert await a_reader.read() == b""
        a_writer.close()
        await a_writer.wait_closed()
        assert a_writer.is_closing()
        assert a_writer.get_extra_info("peername") is None

    run(main)


def test_close_ends_both_directions_of_an_end_and_drops_later_writes() -> None:
    """Closing an end: the peer reads EOF, the end itself reads EOF, writes to it vanish."""

    async def main() -> None:
        (a_reader, a_writer), (b_reader, b_writer) = memory_connection()
        b_writer.write(b"kept\n")
        a_writer.close()
        await a_writer.wait_closed()
        assert await b_reader.read() == b""
        assert await a_reader.read() == b"kept\n"  # what arrived before the close
        b_writer.write(b"dropped\n")
        await b_writer.drain()
        b_writer.close()

    run(main)


def test_a_full_reader_pauses_the_writer_until_it_is_read() -> None:
    """Past twice the limit, drain() waits; reading down to the limit lets it go on."""

    async def main() -> None:
        (_, a_writer), (b_reader, b_writer) = memory_connection(limit=16)
        a_writer.write(b"x" * 40)
        drained = asyncio.ensure_future(a_writer.drain())
        await asyncio.sleep(0.01)
        assert not drained.done()
        assert await b_reader.readexactly(30) == b"x" * 30
        await asyncio.wait_for(drained, 1)
        for writer in (a_writer, b_writer):
            writer.close()

    run(main)


def test_closing_a_paused_readers_end_releases_the_writer() -> None:
    """A writer waiting for a reader that is closed instead is let go, not left hanging."""

    async def main() -> None:
        (_, a_writer), (_, b_writer) = memory_connection(limit=4)
        a_writer.write(b"y" * 20)
        drained = asyncio.ensure_future(a_writer.drain())
        await asyncio.sleep(0.01)
        assert not drained.done()
        b_writer.close()
        await asyncio.wait_for(drained, 1)
        a_writer.close()

    run(main)


def test_observers_see_each_ends_writes_and_its_end() -> None:
    """observe gets every chunk an end writes, then b"" when it half-closes."""

    async def main() -> tuple[list[bytes], list[bytes]]:
        seen_a: list[bytes] = []
        seen_b: list[bytes] = []
        (_, a_writer), (_, b_writer) = memory_connection(observe=(seen_a.append, seen_b.append))
        a_writer.write(b"one\n")
        a_writer.write(b"")
        b_writer.write(b"two")
        a_writer.close()
        b_writer.close()
        return seen_a, seen_b

    assert run(main) == ([b"one\n", b""], [b"two", b""])


def test_long_lines_are_read_whole() -> None:
    """readline() takes a line of megabytes (the limit is the SDK's stdio default)."""

    async def main() -> int:
        (a_reader, a_writer), (_, b_writer) = memory_connection()
        line = b"z" * (3 << 20) + b"\n"
        b_writer.write(line)
        size = len(await a_reader.readline())
        a_writer.close()
        b_writer.close()
        return size

    assert run(main) == (3 << 20) + 1


def test_spawned_process_streams_and_status() -> None:
    """A child's stdin/stdout as asyncio streams; closing stdin ends it, its status is kept."""
    code = "import sys; sys.stdout.write(sys.stdin.read().upper()); sys.exit(4)"

    async def main() -> tuple[bytes, int | None]:
        async with spawned([sys.executable, "-c", code]) as child:
            child.writer.write(b"echo\n")
            child.writer.write_eof()
            out = await child.reader.read()
        return out, child.status

    assert run(main) == (b"ECHO\n", 4)


def test_a_spawned_process_that_ignores_its_stdin_is_killed_after_the_timeout() -> None:
    """A child that does not end when its stdin closes is killed after ``timeout``."""
    code = "import time; time.sleep(30)"

    async def main() -> int | None:
        async with spawned([sys.executable, "-c", code], timeout=0.2) as child:
            pass
        return child.status

    assert run(main) == -9
