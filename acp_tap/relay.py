"""The recording proxy's relay: one thread moves every stream's bytes, with ``poll(2)``.

Each :class:`Route` carries one stream from a source descriptor to a sink descriptor.
Bytes are written to the sink as soon as they are read (forward first) and only then
handed to the ``recorded`` callback (record second). A full sink holds only its own
route: that route stops reading until the sink drains while the others go on, so the
relay adds no deadlock that direct pipes would not have. A sink whose reader is gone is
dropped, and its source is still read (and recorded) to the end.

Why a thread and not trio tasks: a ping-pong through trio costs each hop two passes of
its run loop and an ``epoll_ctl``, which doubled the proxy's CPU time per round trip and
the latency it adds (``tools/bench_record.py``). One thread that polls all streams and
calls ``read``/``write`` itself (each releases the GIL) costs about what socat does. trio
still runs everything else around it: the agent process, signals, timeouts, and stopping
this thread (:meth:`Relay.stop`).

Pipes and sockets are made non-blocking (see :func:`prepare`); terminals, regular files
and ``/dev/null`` stay as they are (acp-tap never changes a shared terminal's mode), and
are read or written only when ``poll`` says they are ready.
"""

from __future__ import annotations

import collections
import contextlib
import errno
import fcntl
import math
import os
import select
import stat
import time
from collections.abc import Callable, Sequence

import attrs

from acp_tap.cassette.model import Direction

CHUNK = 1 << 20
"""Bytes read at most per ``read`` (while a stream keeps filling its reads)."""

SMALL_READ = 1 << 16
"""Bytes read per ``read`` while a stream's reads come back small.

Below malloc's mmap threshold (128 KiB), so a small read costs no ``mmap``/``munmap``
pair; a read that fills its buffer makes the next one 4 times larger, up to :data:`CHUNK`.
"""

PIPE_SIZE = 1 << 20
"""A pipe's buffer is widened to this where Linux allows: fewer, larger reads and writes."""

HEAP_BUFFER = 4 << 20
"""Allocations up to this size come from malloc's heap (see keep_freed_buffers)."""

HEAP_RETAIN = 16 << 20
"""Free heap memory malloc keeps for reuse before trimming (see keep_freed_buffers)."""

_M_TRIM_THRESHOLD, _M_MMAP_THRESHOLD, _M_ARENA_MAX = -1, -3, -8  # glibc's mallopt parameters
_IN = select.POLLIN
_OUT = select.POLLOUT
_GONE = frozenset({errno.EPIPE, errno.ECONNRESET, errno.EIO, errno.EBADF})
"""Read errors that mean the other end is gone (not a bug of ours): the stream ends there."""
_CLOSED = frozenset({errno.EPIPE, errno.ECONNRESET})
"""Write errors that only mean the reader has gone (any other is reported: ENOSPC, EFBIG...)."""
_HANGUP = select.POLLERR | select.POLLHUP


def keep_freed_buffers() -> None:
    """Ask glibc's malloc to reuse the relay's freed buffers instead of returning them at once.

    By default a freed buffer of 1 MiB or so goes back to the kernel, and the next one
    costs a zeroed page fault per 4 KiB: with the relay in its own thread, that was about
    one fault per 4 KiB relayed on small lines, and a fifth of their throughput
    (``tools/bench_record.py``). Buffers up to :data:`HEAP_BUFFER` bytes now come from
    the heap, which keeps up to :data:`HEAP_RETAIN` bytes free (RSS stays near its peak,
    never above it). Process-wide, so only ``acp-tap record`` calls it; a no-op on other
    C libraries.
    """
    import ctypes  # here: replay, which shares this module's helpers, starts faster without it
    import platform

    if platform.libc_ver()[0] != "glibc":
        return
    with contextlib.suppress(OSError, AttributeError):
        libc = ctypes.CDLL(None)
        libc.mallopt(_M_MMAP_THRESHOLD, HEAP_BUFFER)
        libc.mallopt(_M_TRIM_THRESHOLD, HEAP_RETAIN)
        libc.mallopt(_M_ARENA_MAX, 1)  # one heap: threads reuse what the others freed


def prepare(fd: int) -> bool:
    """Make a pipe or socket non-blocking (and widen a pipe), and say so; leave anything else."""
    mode = os.fstat(fd).st_mode
    if stat.S_ISFIFO(mode) and hasattr(fcntl, "F_SETPIPE_SZ"):
        with contextlib.suppress(OSError):
            fcntl.fcntl(fd, fcntl.F_SETPIPE_SZ, PIPE_SIZE)
    if stat.S_ISFIFO(mode) or stat.S_ISSOCK(mode):
        os.set_blocking(fd, False)
        return True
    return False


def write_all(fd: int, data: bytes) -> None:
    """Write all of ``data`` to ``fd``, blocking or not, waiting for room as needed."""
    view = memoryview(data)
    while view:
        try:
            view = view[os.write(fd, view) :]
        except BlockingIOError:
            select.select([], [fd], [])


@attrs.define(eq=False)
class Route:
    """One stream, read from ``source`` and written to ``sink``.

    The route owns ``source`` and closes it at its end. If ``owns_sink``, it also closes
    ``sink`` once everything read has been written, so the reader sees end of file.
    ``source`` and ``sink`` are ``-1`` once closed (or gone).
    """

    direction: Direction
    source: int
    sink: int
    owns_sink: bool = True
    backlog: collections.deque[memoryview] = attrs.field(factory=collections.deque)
    read_size: int = SMALL_READ
    error: str | None = None
    """Why writing the sink failed, unless its reader had simply gone (EPIPE)."""
    watch_sink: bool = False
    """Whether to notice the sink's reader going away even while nothing is written."""
    lost: bool = False
    """Whether the sink was lost (its reader gone, or a write failed)."""

    def interest(self) -> tuple[int, int] | None:
        """What to poll: the sink while it has a backlog, else the source, else nothing."""
        if self.backlog:
            return self.sink, _OUT
        if self.source >= 0:
            return self.source, _IN
        return None

    def read(self) -> bytes | None:
        """What the source has: ``None`` if nothing yet, ``b""`` at its end (then closed)."""
        size = self.read_size
        try:
            chunk = os.read(self.source, size)
        except BlockingIOError:
            return None
        except OSError as exc:
            if exc.errno not in _GONE:
                raise
            chunk = b""
        if len(chunk) == size:
            self.read_size = min(size * 4, CHUNK)
        elif len(chunk) < SMALL_READ:
            self.read_size = SMALL_READ
        if not chunk:
            os.close(self.source)
            self.source = -1
            if not self.backlog:
                self._close_sink()
        return chunk

    def send(self, data: bytes) -> None:
        """Write ``data`` to the sink now; what it cannot take yet waits, in order."""
        if self.sink >= 0:
            self.backlog.append(memoryview(data))
            self.flush()

    def flush(self) -> None:
        """Write as much of the backlog as the sink takes now."""
        backlog = self.backlog
        try:
            while backlog:
                view = backlog[0]
                written = os.write(self.sink, view)
                if written < len(view):
                    backlog[0] = view[written:]
                    return
                backlog.popleft()
        except BlockingIOError:
            return
        except OSError as exc:
            self._sink_failed(exc)
            return
        if self.source < 0:
            self._close_sink()

    def next_due(self) -> float | None:
        """When the route has output to release by itself, on ``time.monotonic()``'s clock
        (None: none). Only :class:`acp_tap.faults.live.FaultRoute` holds output (``--fault``)."""
        return None

    def release(self, now: float) -> None:
        """Send the output held until ``now`` (see :meth:`next_due`)."""

    def close(self) -> None:
        """Close what the route still owns; what was not written yet is dropped."""
        if self.source >= 0:
            os.close(self.source)
            self.source = -1
        self.backlog.clear()
        self._close_sink()

    def _close_sink(self) -> None:
        if self.owns_sink and self.sink >= 0:
            with contextlib.suppress(OSError):
                os.close(self.sink)
            self.sink = -1

    def _sink_failed(self, exc: OSError) -> None:
        """The sink cannot be written (its reader is gone, the disk is full...): drop the
        backlog, and read the source to its end anyway. The stream ends there, cleanly."""
        if exc.errno not in _CLOSED and self.error is None:
            self.error = exc.strerror or str(exc)
        self.hang_up()

    def hang_up(self) -> None:
        """The sink is lost: nothing more is written to it."""
        self.backlog.clear()
        self._close_sink()
        self.sink = -1
        self.lost = True


@attrs.define(eq=False)
class Relay:
    """Moves the bytes of every route in one thread (:meth:`run`) until all have ended.

    ``recorded(direction, chunk)`` is called after each chunk has been forwarded, and
    ``ended(direction)`` after a source's end; both run in the relay's thread, as does
    :meth:`send`. :meth:`stop` may be called from any thread; :meth:`close` after
    :meth:`run` has returned.
    """

    routes: Sequence[Route]
    recorded: Callable[[Direction, bytes], None]
    ended: Callable[[Direction], None]
    lost: Callable[[Direction], None] = lambda _: None
    """Called (in the relay's thread) once a route's sink is lost."""
    _wake: tuple[int, int] = attrs.field(factory=lambda: os.pipe2(os.O_CLOEXEC | os.O_NONBLOCK))

    @property
    def errors(self) -> dict[str, str]:
        """Why writing a stream failed, by direction (``a2c``: the client's stdout)."""
        return {r.direction.value: r.error for r in self.routes if r.error is not None}

    def run(self) -> None:
        """Relay until every route has finished or :meth:`stop` is called; close what they own."""
        try:
            self._loop()
        finally:
            for route in self.routes:
                route.close()

    def stop(self) -> None:
        """Make :meth:`run` return soon (from any thread)."""
        with contextlib.suppress(BlockingIOError):
            os.write(self._wake[1], b"!")

    def close(self) -> None:
        """Release the stop pipe (once :meth:`run` has returned)."""
        for fd in self._wake:
            os.close(fd)

    def send(self, direction: Direction, data: bytes) -> None:
        """Write acp-tap's own ``data`` into ``direction``'s sink, in order with the stream's."""
        for route in self.routes:
            if route.direction is direction:
                route.send(data)

    def _loop(self) -> None:
        stop = self._wake[0]
        poller = select.poll()
        poller.register(stop, _IN)
        polled: dict[int, int] = {}
        wanted: dict[int, tuple[Route, int]] = {}
        recorded, ended = self.recorded, self.ended
        timed = [r for r in self.routes if type(r).next_due is not Route.next_due]  # faults
        while True:
            active = self._interests(wanted)
            due = _next_due(timed) if timed else None
            if not active and due is None:
                return
            _sync(poller, polled, wanted)
            chunks: list[tuple[Route, bytes]] = []
            ends: list[Route] = []
            stopping = False
            wait = None if due is None else max(0, math.ceil((due - time.monotonic()) * 1000))
            for fd, events in poller.poll(wait):
                if fd == stop:
                    stopping = True
                else:
                    _serve(*wanted[fd], events, chunks, ends)
            for route, chunk in chunks:  # forward everything ready first, then record it
                recorded(route.direction, chunk)
            for route in ends:
                ended(route.direction)
            for route in timed:
                route.release(time.monotonic())
            if stopping:
                return

    def _interests(self, wanted: dict[int, tuple[Route, int]]) -> bool:
        """Fill ``wanted`` with what to poll; False once every route has finished.

        A watched sink with nothing to write is polled for no event: POLLERR or POLLHUP
        then say its reader left. A route whose sink was lost is reported once.
        """
        wanted.clear()
        watched: list[Route] = []
        for route in self.routes:
            if route.lost and route.watch_sink:
                route.watch_sink = False
                self.lost(route.direction)
            interest = route.interest()
            if interest is not None:
                wanted[interest[0]] = (route, interest[1])
            if route.watch_sink and route.sink >= 0:
                watched.append(route)
        if not wanted:
            return False
        for route in watched:
            wanted.setdefault(route.sink, (route, 0))
        return True


def _serve(
    route: Route,
    what: int,
    events: int,
    chunks: list[tuple[Route, bytes]],
    ends: list[Route],
) -> None:
    """One ready descriptor of ``route``: read and forward (noting the chunk, or the end),
    write what is pending, or note that the sink's reader left."""
    if what == _IN:
        chunk = route.read()
        if chunk:
            route.send(chunk)
            chunks.append((route, chunk))
        elif chunk is not None:
            ends.append(route)
    elif what == _OUT:
        route.flush()
    elif events & _HANGUP:
        route.hang_up()


def _next_due(routes: list[Route]) -> float | None:
    """When the first of ``routes`` has held output to release (None: none holds any)."""
    dues = [due for route in routes if (due := route.next_due()) is not None]
    return min(dues) if dues else None


def _sync(
    poller: select.poll, polled: dict[int, int], wanted: dict[int, tuple[Route, int]]
) -> None:
    """Make the poller watch what ``wanted`` says (changes only)."""
    for fd in [fd for fd in polled if fd not in wanted]:
        poller.unregister(fd)
        del polled[fd]
    for fd, (_, events) in wanted.items():
        if polled.get(fd) != events:
            poller.register(fd, events)
            polled[fd] = events
