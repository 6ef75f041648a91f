"""The relay thread on real pipes: forwarding before recording, backpressure, ends, stop."""

from __future__ import annotations

import os
import select
import threading
import time
from collections.abc import Iterator

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from acp_tap.cassette.model import Direction
from acp_tap.relay import SMALL_READ, Relay, Route, prepare

C2A, A2C, ERR = Direction.CLIENT_TO_AGENT, Direction.AGENT_TO_CLIENT, Direction.AGENT_STDERR
TIMEOUT = 10.0


class Rig:
    """Routes between fresh pipes, a relay running in a thread, and what it reported."""

    def __init__(self, directions: tuple[Direction, ...], owns_sink: bool = True) -> None:
        self.inputs: dict[Direction, int] = {}  # write here: the route's source
        self.outputs: dict[Direction, int] = {}  # read here: the route's sink
        routes = []
        for direction in directions:
            source_r, source_w = os.pipe()
            sink_r, sink_w = os.pipe()
            for fd in (source_r, sink_w):
                prepare(fd)
            self.inputs[direction], self.outputs[direction] = source_w, sink_r
            routes.append(Route(direction, source_r, sink_w, owns_sink=owns_sink))
        self.routes = routes
        self.events: list[tuple[str, Direction, bytes]] = []
        self.relay = Relay(routes, self.recorded, self.ended)
        self.thread = threading.Thread(target=self.relay.run, daemon=True)

    def end(self, direction: Direction) -> None:
        """Close a route's source from the writing side (the relay sees end of file)."""
        os.close(self.inputs.pop(direction))

    def leave(self, direction: Direction) -> None:
        """Close a route's sink from the reading side (the reader is gone)."""
        os.close(self.outputs.pop(direction))

    def recorded(self, direction: Direction, chunk: bytes) -> None:
        self.events.append(("chunk", direction, chunk))

    def ended(self, direction: Direction) -> None:
        self.events.append(("end", direction, b""))

    def recorded_bytes(self, direction: Direction) -> bytes:
        return b"".join(c for kind, d, c in self.events if kind == "chunk" and d is direction)

    def join(self) -> None:
        self.thread.join(TIMEOUT)
        assert not self.thread.is_alive(), "the relay did not finish"
        self.relay.close()


@pytest.fixture
def rig() -> Iterator[Rig]:
    made = Rig((C2A, A2C))
    made.thread.start()
    yield made
    if made.thread.is_alive():
        made.relay.stop()
        made.join()
    for fd in [*made.inputs.values(), *made.outputs.values()]:
        os.close(fd)


def read_exactly(fd: int, size: int) -> bytes:
    """``size`` bytes from a pipe, within TIMEOUT."""
    got = b""
    deadline = time.monotonic() + TIMEOUT
    while len(got) < size:
        ready, _, _ = select.select([fd], [], [], max(0.0, deadline - time.monotonic()))
        assert ready, f"only {len(got)} of {size} bytes arrived"
        chunk = os.read(fd, size - len(got))
        assert chunk, f"end of file after {len(got)} of {size} bytes"
        got += chunk
    return got


def read_to_end(fd: int) -> bytes:
    """Everything until end of file, within TIMEOUT."""
    got = b""
    deadline = time.monotonic() + TIMEOUT
    while True:
        ready, _, _ = select.select([fd], [], [], max(0.0, deadline - time.monotonic()))
        assert ready, f"no end of file after {len(got)} bytes"
        chunk = os.read(fd, 1 << 20)
        if not chunk:
            return got
        got += chunk


def test_bytes_are_forwarded_then_recorded_and_ends_are_passed_on(rig: Rig) -> None:
    """Each stream arrives unchanged; the end of a source closes its sink, then is reported."""
    os.write(rig.inputs[C2A], b'{"a":1}\n')
    assert read_exactly(rig.outputs[C2A], 8) == b'{"a":1}\n'
    os.write(rig.inputs[A2C], b"partial")
    rig.end(A2C)
    rig.end(C2A)
    assert read_to_end(rig.outputs[A2C]) == b"partial"
    assert read_to_end(rig.outputs[C2A]) == b""
    rig.join()
    assert rig.recorded_bytes(C2A) == b'{"a":1}\n'
    assert rig.recorded_bytes(A2C) == b"partial"
    assert {(kind, d) for kind, d, _ in rig.events if kind == "end"} == {("end", C2A), ("end", A2C)}


def test_a_chunk_is_in_the_sink_before_it_is_recorded() -> None:
    """Forward first, record second: when ``recorded`` runs, the reader can already read it."""
    seen: list[bytes] = []
    source_r, source_w = os.pipe()
    sink_r, sink_w = os.pipe()
    prepare(sink_r)

    def recorded(direction: Direction, chunk: bytes) -> None:
        seen.append(os.read(sink_r, 100))

    relay = Relay([Route(C2A, source_r, sink_w)], recorded, lambda d: None)
    thread = threading.Thread(target=relay.run, daemon=True)
    thread.start()
    os.write(source_w, b"hello\n")
    os.close(source_w)
    thread.join(TIMEOUT)
    relay.close()
    os.close(sink_r)
    assert seen == [b"hello\n"]


def test_a_full_sink_holds_only_its_own_route(rig: Rig) -> None:
    """A reader that stops reading stalls its own stream; the other stream keeps flowing."""
    big = os.urandom(8 << 20)  # far more than the pipes and the kernel can hold
    writer = threading.Thread(target=write_blocking, args=(rig.inputs[A2C], big), daemon=True)
    writer.start()
    time.sleep(0.2)  # the relay now has a backlog for A2C's sink, which nobody reads
    for n in range(20):
        line = f'{{"n":{n}}}\n'.encode()
        os.write(rig.inputs[C2A], line)
        assert read_exactly(rig.outputs[C2A], len(line)) == line
    assert read_exactly(rig.outputs[A2C], len(big)) == big  # then the stalled stream drains
    writer.join(TIMEOUT)
    rig.end(A2C)
    rig.end(C2A)
    rig.join()  # a chunk is recorded after it was forwarded: wait for the last one
    assert rig.recorded_bytes(A2C) == big


def write_blocking(fd: int, data: bytes) -> None:
    os.set_blocking(fd, True)
    view = memoryview(data)
    while view:
        view = view[os.write(fd, view) :]


def test_a_sink_whose_reader_left_is_dropped_and_the_source_still_recorded(rig: Rig) -> None:
    """The client closed its stdout: the agent's output is still read and recorded to the end."""
    rig.leave(A2C)
    payload = os.urandom(3 << 20)
    write_blocking(rig.inputs[A2C], payload)
    rig.end(A2C)
    os.write(rig.inputs[C2A], b"still\n")
    assert read_exactly(rig.outputs[C2A], 6) == b"still\n"
    rig.end(C2A)
    rig.join()
    assert rig.recorded_bytes(A2C) == payload


def test_stop_ends_the_relay_and_closes_what_the_routes_own(rig: Rig) -> None:
    """``stop`` from another thread returns ``run`` promptly; owned sinks read end of file."""
    os.write(rig.inputs[C2A], b"x")
    assert read_exactly(rig.outputs[C2A], 1) == b"x"
    rig.relay.stop()
    rig.join()
    assert read_to_end(rig.outputs[C2A]) == b""
    assert read_to_end(rig.outputs[A2C]) == b""


def test_own_messages_keep_their_place_in_a_stream_and_a_borrowed_sink_stays_open() -> None:
    """``send`` interleaves acp-tap's words with the stream's; a sink not owned is not closed."""
    made = Rig((ERR,), owns_sink=False)
    made.relay.recorded = lambda direction, chunk: made.relay.send(direction, b"[seen]")
    made.thread.start()
    os.write(made.inputs[ERR], b"log line\n")
    assert read_exactly(made.outputs[ERR], 15) == b"log line\n[seen]"
    made.end(ERR)
    made.join()
    sink = made.routes[0].sink
    os.write(sink, b"open")  # the borrowed sink is still usable
    assert read_exactly(made.outputs[ERR], 4) == b"open"
    os.close(sink)
    made.leave(ERR)


@settings(max_examples=25, deadline=None)
@given(
    pieces=st.lists(
        st.tuples(st.sampled_from([C2A, A2C]), st.binary(min_size=1, max_size=3 * SMALL_READ)),
        max_size=12,
    )
)
def test_interleaved_writes_arrive_and_are_recorded_exactly(
    pieces: list[tuple[Direction, bytes]],
) -> None:
    """Whatever is written on either stream, in any sizes, arrives and is recorded unchanged."""
    made = Rig((C2A, A2C))
    made.thread.start()
    readers = {d: _Collector(made.outputs.pop(d)) for d in (C2A, A2C)}  # read as it comes
    for direction, data in pieces:
        write_blocking(made.inputs[direction], data)
    for direction in (C2A, A2C):
        made.end(direction)
    made.join()
    for direction in (C2A, A2C):
        sent = b"".join(data for d, data in pieces if d is direction)
        assert readers[direction].result() == sent
        assert made.recorded_bytes(direction) == sent


class _Collector:
    """Reads a pipe to its end in a thread."""

    def __init__(self, fd: int) -> None:
        self.fd, self.data = fd, b""
        self.thread = threading.Thread(target=self._run, daemon=True)
        self.thread.start()

    def _run(self) -> None:
        self.data = read_to_end(self.fd)

    def result(self) -> bytes:
        self.thread.join(TIMEOUT)
        os.close(self.fd)
        return self.data
