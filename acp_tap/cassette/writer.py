"""Write a cassette from a background thread, so disk I/O never delays the relay.

Records are written with ``writev`` on an ``O_APPEND`` file descriptor, whole records
only (all those waiting, in one call): nothing is buffered in user space, so after a
crash (even SIGKILL) the file holds every record written so far, each complete.

Memory is bounded: when more than :data:`QUEUE_BUDGET` bytes wait for the disk, whoever
frames them (the framing thread, or the relay for a small chunk) waits
(:meth:`CassetteWriter.wait_for_room`); only if the disk makes no progress at all for
:data:`STALL` seconds, or fails, are later records dropped and counted.
A failure is reported once; the caller's session goes on.
"""

from __future__ import annotations

import os
import stat
import threading
from collections.abc import Sequence
from pathlib import Path

import attrs

from acp_tap.cassette.codec import encode_record
from acp_tap.cassette.handoff import Budget, Handoff
from acp_tap.cassette.model import Footer, Header
from acp_tap.cassette.recorder import Batch
from acp_tap.errors import CassetteCreateError

IOV_MAX = 1024
"""Buffers per ``writev`` (the Linux limit)."""

_GREEDY = 256
"""Batches taken off the queue at once, to be written together..."""

_GREEDY_BYTES = 2 << 20
"""...up to about this many bytes, so progress shows (see has_room) while more is written."""

QUEUE_BUDGET = 8 << 20
"""Bytes of frames waiting for the disk beyond which the framer should wait (see has_room)."""

STALL = 2.0
"""Seconds without disk progress after which frames are dropped instead of waited for."""

_Item = Batch | Footer | None


def _refusal(path: Path) -> str | None:
    """Why ``path`` must not be written through, if it exists and is not a regular file."""
    try:
        mode = os.lstat(path).st_mode
    except OSError:
        return None
    if stat.S_ISLNK(mode):
        return "is a symbolic link (acp-tap never writes through one; give the real path)"
    if not stat.S_ISREG(mode):
        kind = (
            "a FIFO"
            if stat.S_ISFIFO(mode)
            else "a directory"
            if stat.S_ISDIR(mode)
            else ("a device or socket")
        )
        return f"is {kind}, not a regular file"
    return None


def create_cassette_file(path: Path, *, force: bool) -> int:
    """Create ``path`` with mode 0600 (never replacing a file unless ``force``); return its fd.

    A path that is a symbolic link, a FIFO, a device or anything but a regular file is
    refused, with or without ``force``: it is opened without following a link and without
    blocking, and checked again once open.
    """
    why = _refusal(path)
    if why is not None:
        raise CassetteCreateError(f"cannot write cassette {path}: it {why}")
    flags = os.O_WRONLY | os.O_CREAT | os.O_APPEND | os.O_CLOEXEC | os.O_NOFOLLOW | os.O_NONBLOCK
    if not force:
        flags |= os.O_EXCL
    try:
        path.parent.mkdir(parents=True, exist_ok=True)
        fd = os.open(path, flags, 0o600)
    except FileExistsError:
        raise CassetteCreateError(
            f"cassette {path} already exists; choose another name or pass --force to replace it"
        ) from None
    except OSError as exc:
        why = _refusal(path)
        raise CassetteCreateError(
            f"cannot write cassette {path}: it {why}"
            if why is not None
            else f"cannot create cassette {path}: {exc.strerror}; "
            "check the directory and its permissions"
        ) from None
    if not stat.S_ISREG(os.fstat(fd).st_mode):  # swapped in since the first look
        os.close(fd)
        raise CassetteCreateError(f"cannot write cassette {path}: it is not a regular file")
    os.set_blocking(fd, True)
    if force:
        os.ftruncate(fd, 0)
        os.fchmod(fd, 0o600)
    return fd


def write_all(fd: int, buffers: Sequence[bytes | bytearray | memoryview]) -> None:
    """Write every byte of ``buffers`` with as few ``writev`` calls as the kernel allows."""
    _, error = write_prefix(fd, buffers)
    if error is not None:
        raise error


def write_prefix(
    fd: int, buffers: Sequence[bytes | bytearray | memoryview]
) -> tuple[int, OSError | None]:
    """As :func:`write_all`, but say how many bytes were written before an error, if any."""
    pending = [buf for buf in buffers if len(buf)]
    first = total = 0
    while first < len(pending):
        try:
            written = os.writev(fd, pending[first : first + IOV_MAX])
        except OSError as exc:
            return total, exc
        total += written
        while first < len(pending) and written >= memoryview(pending[first]).nbytes:
            written -= memoryview(pending[first]).nbytes
            first += 1
        if written:
            pending[first] = memoryview(pending[first]).cast("B")[written:]
    return total, None


def _complete_records(
    buffers: Sequence[bytes | bytearray | memoryview], size: int
) -> tuple[int, int]:
    """Of the first ``size`` bytes of ``buffers``: (bytes up to the last whole line, lines)."""
    data = b"".join(bytes(buf) for buf in buffers)[:size]
    end = data.rfind(b"\n") + 1
    return end, data.count(b"\n", 0, end)


@attrs.define(eq=False)
class CassetteWriter:
    """Owns the cassette file and the thread that writes it.

    The framing thread hands over one :class:`~acp_tap.cassette.recorder.Batch` per chunk
    (:meth:`put`: a deque append, no encoding, usually no system call; see
    :class:`~acp_tap.cassette.handoff.Handoff`). The thread writes all the batches waiting
    with one ``writev`` (whole cassette lines only, so the file is valid whenever the
    process dies).
    """

    path: Path
    _fd: int
    _queue: Handoff[_Item] = attrs.field(factory=Handoff)
    _budget: Budget = attrs.field(factory=lambda: Budget(QUEUE_BUDGET))
    _thread: threading.Thread | None = None
    error: str | None = None  # set once, when a write fails (or see fail())
    _broken: bool = False  # a write failed: nothing more is written
    _stalled: bool = False  # the disk stopped keeping up: drop frames beyond the budget
    _dropped_here: int = 0  # frames put() did not queue
    _dropped_there: int = 0  # frames the writer thread could not write
    _size: int = 0  # bytes of whole records in the file, by the writer thread
    frames_written: int = 0
    """Frames whose records are wholly in the file (by the writer thread)."""
    unlinked: bool = False
    """Whether the file had been deleted (its directory removed) when it was closed."""
    footer: Footer | None = None
    """The footer as written (with the true count of frames not recorded), if it was."""

    @classmethod
    def create(cls, path: Path, header: Header, *, force: bool) -> CassetteWriter:
        """Create the file and write the header synchronously (so failures surface at once)."""
        return cls.start(path, create_cassette_file(path, force=force), header)

    @classmethod
    def start(cls, path: Path, fd: int, header: Header) -> CassetteWriter:
        """Write the header to ``fd`` (open on ``path``, owned from now on) and start writing."""
        line = encode_record(header)
        try:
            write_all(fd, [line])
        except OSError as exc:
            os.close(fd)
            raise CassetteCreateError(f"cannot write cassette {path}: {exc.strerror}") from None
        writer = cls(path, fd, size=len(line))
        writer._thread = threading.Thread(target=writer._run, name="acp-tap-writer", daemon=True)
        writer._thread.start()
        return writer

    @property
    def dropped(self) -> int:
        """Frames not recorded: the disk failed or stalled."""
        return self._dropped_here + self._dropped_there

    @property
    def written(self) -> int:
        """Bytes of frames written so far (it grows while the disk makes progress)."""
        return self._budget.dealt

    def has_room(self) -> bool:
        """Whether the frames waiting for the disk fit the budget (else the caller should wait)."""
        return self._budget.has_room()

    def wait_for_room(self, stall: float = STALL) -> None:
        """Block while more than the budget waits for the disk (so memory stays bounded).

        If the disk makes no progress for ``stall`` seconds, stop waiting: frames past the
        budget are dropped until the disk catches up, and the session goes on.
        """
        if not self._budget.wait_for_room(stall, lambda: self.error is not None):
            self._stalled = True

    def fail(self, message: str) -> None:
        """Stop recording (a bug upstream): frames queued so far are written, later ones are
        dropped, and no footer is written."""
        if self.error is None:
            self.error = message

    def discard(self) -> None:
        """Close and delete a cassette that recorded nothing (the agent did not start)."""
        self.close(None)
        self.path.unlink(missing_ok=True)

    def put(self, batch: Batch) -> None:
        """Queue a batch; never blocks. Drops (and counts) it if the disk failed or has stalled."""
        if not batch.buffers:
            return
        backlog = self._budget.backlog
        if self._stalled and not backlog:
            self._stalled = False
        if self.error or (self._stalled and backlog + batch.size > QUEUE_BUDGET):
            self._dropped_here += batch.frames
            return
        self._budget.add(batch.size)
        self._queue.put(batch)

    def close(self, footer: Footer | None, timeout: float | None = None) -> bool:
        """Queue the footer, wait for the thread to write everything, close the file.

        Returns False if the thread did not finish within ``timeout`` (a hung disk).
        """
        if footer is not None:
            self._queue.put(footer)
        self._queue.put_last(None)
        assert self._thread is not None
        self._thread.join(timeout)
        return not self._thread.is_alive()

    def _run(self) -> None:
        try:
            while self._write_waiting():
                pass
        finally:
            try:
                self.unlinked = os.fstat(self._fd).st_nlink == 0
            finally:
                os.close(self._fd)

    def _write_waiting(self) -> bool:
        """Wait for items and write them; False once the end was reached."""
        self._queue.wait()
        pending = self._queue.items
        items: list[_Item] = []
        size = 0
        while pending and len(items) < _GREEDY and size < _GREEDY_BYTES:
            item = pending.popleft()
            items.append(item)
            if isinstance(item, Batch):
                size += item.size
        batches = [item for item in items if isinstance(item, Batch)]
        if batches:
            self._write(batches)
        for item in items:  # the footer and the end come last (see close)
            if isinstance(item, Footer) and not self._broken and self.error is None:
                self._write_footer(item)
            elif item is None:
                return False
        return True

    def _write(self, batches: list[Batch]) -> None:
        size = sum(batch.size for batch in batches)
        frames = sum(batch.frames for batch in batches)
        try:
            if self._broken:
                self._dropped_there += frames
                return
            buffers = [buf for batch in batches for buf in batch.buffers]
            written, error = write_prefix(self._fd, buffers)
            if error is None:
                self._size += size
                self.frames_written += frames
                return
            whole, lines = _complete_records(buffers, written)
            self._cut(self._size + whole)
            self.frames_written += lines
            self._dropped_there += frames - lines
            self._broken = True
            self.error = (
                f"cannot write cassette {self.path}: {error.strerror}; the session goes on, "
                f"but the cassette ends after frame {self.frames_written}"
            )
        finally:
            self._budget.done(size)

    def _cut(self, size: int) -> None:
        """Drop a part of a record a failed write left at the end (the file stays whole)."""
        self._size = size
        try:
            os.ftruncate(self._fd, size)
        except OSError as exc:
            self.error = f"cannot write cassette {self.path}: {exc.strerror}; its last line is cut"

    def _write_footer(self, footer: Footer) -> None:
        """Write the footer, saying how many frames are truly not in the file."""
        footer = attrs.evolve(footer, dropped=sum(footer.frames.values()) - self.frames_written)
        line = encode_record(footer)
        written, error = write_prefix(self._fd, [line])
        if error is None:
            self.footer = footer
            return
        if written:
            self._cut(self._size)
        self.error = f"cannot write the footer of cassette {self.path}: {error.strerror}"
