"""Asyncio stream pairs for tests: in-memory connections, and a child process's stdio.

An in-memory connection joins two ends of one process without sockets or pipes: the
asyncio counterpart of ``trio.testing.memory_stream_pair``. Each end is an
``(asyncio.StreamReader, asyncio.StreamWriter)`` pair, the very types
``asyncio.open_connection`` returns, so code written for real streams runs on it unchanged
(the ACP SDK's ``connect_to_agent`` and ``run_agent`` accept nothing else). Built from
asyncio's public stream classes and a small transport that hands each write to the other
end's protocol. Like a socket: ``write_eof()`` half-closes (the other end reads EOF, this
end still reads), ``close()`` ends both directions of this end, writes to an end that is
closed are dropped, and a reader holding more than twice its ``limit`` pauses the writer
(``drain()`` waits) until it has been read down to ``limit``. Never imports trio.
"""

from __future__ import annotations

import asyncio
import subprocess
from collections.abc import AsyncIterator, Callable, Sequence
from contextlib import asynccontextmanager
from typing import Any

import attrs

LIMIT = 50 * 1024 * 1024
"""Each reader's ``limit`` (the longest line ``readline()`` accepts, and the flow-control
mark): the ACP SDK's own default for agent stdio, as cassettes hold lines of megabytes."""

Observer = Callable[[bytes], object]
"""Called with each chunk an end writes, in order, and with ``b""`` when it ends."""

End = tuple[asyncio.StreamReader, asyncio.StreamWriter]


class _MemoryTransport(asyncio.Transport):
    """One end's transport: its writes go to the peer's protocol."""

    def __init__(self, protocol: asyncio.StreamReaderProtocol, observe: Observer | None) -> None:
        super().__init__()
        self._protocol = protocol
        self._observe = observe
        self.peer: _MemoryTransport | None = None
        self._eof = False  # this end wrote its EOF
        self._closing = False
        self._writing_paused = False  # the peer's reader is full

    # -- writing (to the peer) ------------------------------------------------------

    def write(self, data: bytes | bytearray | memoryview) -> None:
        """Hand ``data`` to the peer (dropped once either end is closed)."""
        if self._eof:
            raise RuntimeError("cannot write() after write_eof()")
        peer = self.peer
        if not data or self._closing or peer is None or peer._closing:
            return
        chunk = bytes(data)
        if self._observe is not None:
            self._observe(chunk)
        peer._protocol.data_received(chunk)

    def writelines(self, list_of_data: Any) -> None:
        """Write each chunk."""
        for data in list_of_data:
            self.write(data)

    def write_eof(self) -> None:
        """Half-close: the peer reads EOF; this end may still read."""
        if self._eof:
            return
        self._eof = True
        if self._observe is not None:
            self._observe(b"")
        peer = self.peer
        if peer is not None and not peer._closing:
            peer._protocol.eof_received()

    def can_write_eof(self) -> bool:
        """Always: half-closing is what ends an ACP conversation."""
        return True

    def get_write_buffer_size(self) -> int:
        """Nothing is buffered here: a write reaches the peer at once."""
        return 0

    def set_write_buffer_limits(self, high: int | None = None, low: int | None = None) -> None:
        """Flow control is the peer reader's ``limit``."""

    # -- reading (flow control asked for by this end's reader) -------------------------

    def pause_reading(self) -> None:
        """This end's reader is full: pause the peer's writer."""
        peer = self.peer
        if peer is not None and not peer._writing_paused and not peer._closing:
            peer._writing_paused = True
            peer._protocol.pause_writing()

    def resume_reading(self) -> None:
        """This end's reader has room again: resume the peer's writer."""
        peer = self.peer
        if peer is not None and peer._writing_paused:
            peer._writing_paused = False
            peer._protocol.resume_writing()

    def is_reading(self) -> bool:
        """Whether this end still reads."""
        return not self._closing

    # -- closing --------------------------------------------------------------------

    def close(self) -> None:
        """End both directions of this end: the peer reads EOF, later writes are dropped."""
        if self._closing:
            return
        self.write_eof()
        self._closing = True
        self.resume_reading()  # a writer waiting for this end's reader would wait forever
        asyncio.get_running_loop().call_soon(self._protocol.connection_lost, None)

    def abort(self) -> None:
        """As :meth:`close` (nothing is buffered to throw away)."""
        self.close()

    def is_closing(self) -> bool:
        """Whether :meth:`close` was called."""
        return self._closing

    def get_extra_info(self, name: str, default: Any = None) -> Any:
        """No socket, no peer address: always ``default``."""
        return default

    def get_protocol(self) -> asyncio.BaseProtocol:
        """This end's protocol."""
        return self._protocol


def _end(
    loop: asyncio.AbstractEventLoop, limit: int, observe: Observer | None
) -> tuple[End, _MemoryTransport]:
    reader = asyncio.StreamReader(limit=limit, loop=loop)
    protocol = asyncio.StreamReaderProtocol(reader, loop=loop)
    transport = _MemoryTransport(protocol, observe)
    protocol.connection_made(transport)
    return (reader, asyncio.StreamWriter(transport, protocol, reader, loop)), transport


def memory_connection(
    *,
    limit: int = LIMIT,
    observe: tuple[Observer | None, Observer | None] = (None, None),
) -> tuple[End, End]:
    """Two connected ends; what one end's writer writes, the other end's reader reads.

    ``observe`` sees what each end writes (the first end's writes, the second's). Call it
    from inside the running event loop the ends are used in.
    """
    loop = asyncio.get_running_loop()
    first, first_transport = _end(loop, limit, observe[0])
    second, second_transport = _end(loop, limit, observe[1])
    first_transport.peer, second_transport.peer = second_transport, first_transport
    return first, second


@attrs.define(eq=False)
class Spawned:
    """A child process's stdio as an asyncio stream pair and, once it ended, its status."""

    reader: asyncio.StreamReader  # its stdout
    writer: asyncio.StreamWriter  # its stdin
    status: int | None = None


@asynccontextmanager
async def spawned(
    argv: Sequence[str], *, timeout: float = 30.0, limit: int = LIMIT
) -> AsyncIterator[Spawned]:
    """Run ``argv`` with its stdin and stdout as asyncio streams (stderr is inherited).

    On exit its stdin is closed and it is awaited for at most ``timeout`` seconds, then
    killed.
    """
    proc = await asyncio.create_subprocess_exec(
        *argv, stdin=subprocess.PIPE, stdout=subprocess.PIPE, limit=limit
    )
    assert proc.stdin is not None
    assert proc.stdout is not None
    child = Spawned(proc.stdout, proc.stdin)
    try:
        yield child
    finally:
        proc.stdin.close()
        try:
            async with asyncio.timeout(timeout):
                await proc.wait()
        except TimeoutError:
            proc.kill()
            await proc.wait()
        child.status = proc.returncode
