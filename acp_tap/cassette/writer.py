"""Write a cassette from a background thread, so disk I/O never delays the relay.

Each record is one ``writev`` on an ``O_APPEND`` file descriptor: nothing is buffered in
user space, so after a crash (even SIGKILL) the file holds every record written so far,
each complete. If the disk fails, the error is reported once and later records are
dropped and counted; the caller's session goes on.
"""

from __future__ import annotations

import collections
import os
import stat
import threading
from collections.abc import Sequence
from pathlib import Path

import attrs

from acp_tap.cassette.codec import encode_frame, encode_record
from acp_tap.cassette.model import Footer, Frame, Header
from acp_tap.errors import CassetteCreateError

QUEUE_BUDGET = 16 << 20
"""Bytes of frames allowed to wait for the disk before frames are dropped (one frame always fits)."""

_Item = Frame | Footer | None


def create_cassette_file(path: Path, *, force: bool) -> int:
    """Create ``path`` with mode 0600 (never replacing a file unless ``force``); return its fd."""
    flags = os.O_WRONLY | os.O_CREAT | os.O_APPEND | os.O_CLOEXEC
    flags |= os.O_TRUNC if force else os.O_EXCL
    try:
        path.parent.mkdir(parents=True, exist_ok=True)
        fd = os.open(path, flags, 0o600)
    except FileExistsError:
        raise CassetteCreateError(
            f"cassette {path} already exists; choose another name or pass --force to replace it"
        ) from None
    except OSError as exc:
        raise CassetteCreateError(
            f"cannot create cassette {path}: {exc.strerror}; check the directory and its permissions"
        ) from None
    if force and stat.S_ISREG(os.fstat(fd).st_mode):
        os.fchmod(fd, 0o600)
    return fd


def write_all(fd: int, buffers: Sequence[bytes | bytearray | memoryview]) -> None:
    """Write every byte of ``buffers`` with as few ``writev`` calls as the kernel allows."""
    views = [memoryview(b).cast("B") for b in buffers if len(b)]
    while views:
        written = os.writev(fd, views)
        while views and written >= len(views[0]):
            written -= len(views[0])
            views.pop(0)
        if views and written:
            views[0] = views[0][written:]


@attrs.define(eq=False)
class CassetteWriter:
    """Owns the cassette file and the thread that writes it."""

    path: Path
    _fd: int
    _queue: collections.deque[_Item] = attrs.field(factory=collections.deque)
    _queued_bytes: int = 0
    _cond: threading.Condition = attrs.field(factory=threading.Condition)
    _thread: threading.Thread | None = None
    error: str | None = None  # set once, when a write fails
    dropped: int = 0

    @classmethod
    def create(cls, path: Path, header: Header, *, force: bool) -> CassetteWriter:
        """Create the file and write the header synchronously (so failures surface at once)."""
        fd = create_cassette_file(path, force=force)
        try:
            write_all(fd, [encode_record(header)])
        except OSError as exc:
            os.close(fd)
            raise CassetteCreateError(f"cannot write cassette {path}: {exc.strerror}") from None
        writer = cls(path, fd)
        writer._thread = threading.Thread(target=writer._run, name="acp-tap-writer", daemon=True)
        writer._thread.start()
        return writer

    def discard(self) -> None:
        """Close and delete a cassette that recorded nothing (the agent did not start)."""
        self.close(None)
        self.path.unlink(missing_ok=True)

    def put(self, frame: Frame) -> None:
        """Queue a frame; never blocks. Drops (and counts) it if the disk failed or lags too far."""
        size = len(frame.raw) + 64
        with self._cond:
            if self.error or (self._queued_bytes and self._queued_bytes + size > QUEUE_BUDGET):
                self.dropped += 1
                return
            self._queued_bytes += size
            self._queue.append(frame)
            self._cond.notify()

    def close(self, footer: Footer | None, timeout: float | None = None) -> bool:
        """Queue the footer, wait for the thread to write everything, close the file.

        Returns False if the thread did not finish within ``timeout`` (a hung disk).
        """
        with self._cond:
            if footer is not None:
                self._queue.append(footer)
            self._queue.append(None)
            self._cond.notify()
        assert self._thread is not None
        self._thread.join(timeout)
        return not self._thread.is_alive()

    def _run(self) -> None:
        try:
            while True:
                with self._cond:
                    while not self._queue:
                        self._cond.wait()
                    item = self._queue.popleft()
                    if isinstance(item, Frame):
                        self._queued_bytes -= len(item.raw) + 64
                if item is None:
                    return
                if self.error is None:
                    self._write(item)
        finally:
            os.close(self._fd)

    def _write(self, item: Frame | Footer) -> None:
        try:
            if isinstance(item, Frame):
                write_all(self._fd, encode_frame(item))
            else:
                write_all(self._fd, [encode_record(item)])
        except OSError as exc:
            with self._cond:
                self.dropped += 1 + sum(isinstance(i, Frame) for i in self._queue)
                self.error = (
                    f"cannot write cassette {self.path}: {exc.strerror}; "
                    "the session goes on, but is no longer recorded"
                )
