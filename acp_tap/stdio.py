"""The process's own stdin/stdout/stderr as trio streams (``acp-tap replay`` and friends).

Pipes and sockets get a non-blocking :class:`trio.lowlevel.FdStream`, their buffers
widened as :func:`acp_tap.relay.prepare` does for the recorder. Terminals, regular files
and ``/dev/null`` are read and written from a worker thread instead, so acp-tap never
leaves a shared terminal non-blocking. (``acp-tap record`` relays the raw descriptors in
its own thread: see :mod:`acp_tap.relay`.)
"""

from __future__ import annotations

import os

import trio

from acp_tap.relay import prepare, write_all

CHUNK = 1 << 16


class ThreadFdStream(trio.abc.Stream):
    """A blocking file descriptor driven from worker threads."""

    def __init__(self, fd: int) -> None:
        self._fd = fd
        self._closed = False

    async def receive_some(self, max_bytes: int | None = None) -> bytes:
        """Read what is available (``b""`` at end of file)."""
        if self._closed:
            raise trio.ClosedResourceError
        return await trio.to_thread.run_sync(
            os.read, self._fd, max_bytes or CHUNK, abandon_on_cancel=True
        )

    async def send_all(self, data: bytes | bytearray | memoryview) -> None:
        """Write all of ``data``."""
        if self._closed:
            raise trio.ClosedResourceError
        try:
            await trio.to_thread.run_sync(write_all, self._fd, bytes(data), abandon_on_cancel=True)
        except BrokenPipeError as exc:
            raise trio.BrokenResourceError from exc

    async def wait_send_all_might_not_block(self) -> None:
        """Writes happen in a thread; there is nothing to wait for."""

    async def aclose(self) -> None:
        """Close the descriptor."""
        if not self._closed:
            self._closed = True
            os.close(self._fd)
        await trio.lowlevel.checkpoint()


def fd_stream(fd: int) -> trio.lowlevel.FdStream | ThreadFdStream:
    """A stream that takes ownership of ``fd``."""
    return trio.lowlevel.FdStream(fd) if prepare(fd) else ThreadFdStream(fd)


def open_stdio() -> tuple[trio.abc.ReceiveStream, trio.abc.SendStream, trio.abc.SendStream]:
    """stdin, stdout and stderr as streams (stdin and stdout are owned: closing them is EOF)."""
    return fd_stream(0), fd_stream(1), fd_stream(os.dup(2))
