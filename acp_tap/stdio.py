"""The process's own stdin/stdout/stderr as trio streams. The only module that touches them.

Pipes and sockets get a non-blocking :class:`trio.lowlevel.FdStream` (fast, and nobody
else shares that end); a pipe's buffer is widened to 1 MiB where Linux allows, so the
relay moves data in fewer, larger reads and writes. Terminals, regular files and
``/dev/null`` are read and written from a worker thread instead, so acp-tap never leaves
a shared terminal non-blocking. :class:`Receiver` and :func:`send_all` are the relay's
fast paths for pipes.
"""

from __future__ import annotations

import contextlib
import errno
import fcntl
import os
import stat

import trio

CHUNK = 1 << 16
PIPE_SIZE = 1 << 20


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
            await trio.to_thread.run_sync(_write_all, self._fd, bytes(data), abandon_on_cancel=True)
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


def _write_all(fd: int, data: bytes) -> None:
    view = memoryview(data)
    while view:
        view = view[os.write(fd, view) :]


def widen_pipe(fd: int) -> None:
    """Give a pipe a 1 MiB buffer where Linux allows: fewer, larger reads and writes."""
    if hasattr(fcntl, "F_SETPIPE_SZ"):
        with contextlib.suppress(OSError):
            fcntl.fcntl(fd, fcntl.F_SETPIPE_SZ, PIPE_SIZE)


def fd_stream(fd: int) -> trio.lowlevel.FdStream | ThreadFdStream:
    """A stream that takes ownership of ``fd``."""
    mode = os.fstat(fd).st_mode
    if stat.S_ISFIFO(mode):
        widen_pipe(fd)
    if stat.S_ISFIFO(mode) or stat.S_ISSOCK(mode):
        return trio.lowlevel.FdStream(fd)
    return ThreadFdStream(fd)


def open_stdio() -> tuple[trio.abc.ReceiveStream, trio.abc.SendStream, trio.abc.SendStream]:
    """stdin, stdout and stderr as streams (stdin and stdout are owned: closing them is EOF)."""
    return fd_stream(0), fd_stream(1), fd_stream(os.dup(2))


class Receiver:
    """``receive_some`` of a stream, reading a pipe with the fewest system calls and yields.

    A :class:`trio.lowlevel.FdStream` is read directly: ``os.read`` first, and only if
    the pipe is empty, wait for it (trio's own ``receive_some`` always yields to the
    scheduler first, then reads; on a ping-pong that is a scheduler round trip per hop).
    A call that found data at once makes the next call yield first, so a busy stream
    cannot starve the others and cancellation is still seen. Other streams (memory
    streams in tests, threads for terminals) use their own ``receive_some``.
    """

    def __init__(self, source: trio.abc.ReceiveStream) -> None:
        self.source = source
        self._pipe = source if type(source) is trio.lowlevel.FdStream else None
        self._owe_checkpoint = False

    async def receive_some(self, max_bytes: int) -> bytes | bytearray:
        """Read what is available (``b""`` at end of file)."""
        pipe = self._pipe
        if pipe is None:
            return await self.source.receive_some(max_bytes)
        yielded = self._owe_checkpoint
        if yielded:
            await trio.lowlevel.checkpoint()
        while True:
            fd = pipe.fileno()
            if fd < 0:
                raise trio.ClosedResourceError("file was already closed")
            try:
                data = os.read(fd, max_bytes)
            except BlockingIOError:
                await trio.lowlevel.wait_readable(fd)
                yielded = True
            except OSError as exc:
                if exc.errno == errno.EBADF:
                    raise trio.ClosedResourceError("file was already closed") from None
                raise trio.BrokenResourceError from exc
            else:
                self._owe_checkpoint = not yielded
                return data


async def send_all(sink: trio.abc.SendStream, data: bytes | bytearray) -> None:
    """``sink.send_all(data)``, but a pipe with room is written without yielding first."""
    if type(sink) is not trio.lowlevel.FdStream:
        await sink.send_all(data)
        return
    view = memoryview(data)
    while view:
        fd = sink.fileno()
        if fd < 0:
            raise trio.ClosedResourceError("file was already closed")
        try:
            view = view[os.write(fd, view) :]
        except BlockingIOError:
            await trio.lowlevel.wait_writable(fd)
        except OSError as exc:
            if exc.errno == errno.EBADF:
                raise trio.ClosedResourceError("file was already closed") from None
            raise trio.BrokenResourceError from exc
