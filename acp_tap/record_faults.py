"""``acp-tap record --fault``: the faults' layer on a recording session (trio shell).

Only built when ``--fault`` is given, so a plain recording pays nothing. It replaces the
agent's stdout and the client's stdin routes by :class:`~acp_tap.faults.live.FaultRoute`
(line-aware), writes a fault record after each frame a fault hit (in the framing
thread, like the frames), and does what the client must see: after ``crash``, the
client's stdout is closed (by the route), the agent's stdin too, and the agent is ended
by the usual ladder (SIGTERM, then SIGKILL after the grace period); acp-tap then exits with
the crash's status. After ``hang``, the client's stdout stays open when the agent has
exited, for :data:`HANG_LINGER` seconds, or until acp-tap is signalled.
"""

from __future__ import annotations

import contextlib
import os
from collections.abc import AsyncIterator, Callable, Iterator, Sequence

import attrs
import trio

from acp_tap.cassette.codec import encode_injection
from acp_tap.cassette.model import Direction, Injection
from acp_tap.cassette.recorder import Batch
from acp_tap.faults.live import FaultLayer, FaultRoute, Fired
from acp_tap.faults.spec import HANG_LINGER, Fault, FaultKind

Hook = Callable[..., None]


@attrs.define(eq=False)
class RecordFaults:
    """The faults of one recording: its fault routes, records, and ending."""

    faults: tuple[Fault, ...]
    layer: FaultLayer
    started: float
    """The ``time.monotonic()`` the cassette's times count from."""
    routes: dict[Direction, FaultRoute] = attrs.field(factory=dict)
    token: trio.lowlevel.TrioToken = attrs.field(factory=trio.lowlevel.current_trio_token)
    crash_status: int | None = None
    hung: bool = False
    closed: bool = False  # crash or close: the client's stdout ended at a fault
    _crashed: trio.Event = attrs.field(factory=trio.Event)

    @classmethod
    def of(
        cls, faults: tuple[Fault, ...], seed: int, noise: Callable[[bytes], None], started: float
    ) -> RecordFaults:
        """The layer for ``faults``; ``noise`` writes to the client's stderr (relay thread)."""
        layer = FaultLayer.of(faults, seed, noise, on_end=lambda kind, status: None)
        made = cls(faults, layer, started)
        layer.on_end = made.ended
        return made

    def route(
        self, direction: Direction, source: int, sink: int, *, watch_sink: bool = False
    ) -> FaultRoute:
        """The route of the agent's stdout (``a2c``) or the client's stdin (``c2a``)."""
        route = FaultRoute(
            direction,
            source,
            sink,
            watch_sink=watch_sink,
            layer=self.layer,
            faulty=self.layer.has_faults(direction),
        )
        self.routes[direction] = route
        return route

    def recording(self, recorded: Hook) -> Hook:
        """``recorded`` (or ``ended``) told which faults the chunk fired (relay thread); the
        end of a stream waits for the output held for faults."""

        def hook(direction: Direction, *chunk: bytes) -> None:
            route = self.routes.get(direction)
            if not chunk and route is not None and route.holding:  # the end, after the held
                route.when_drained = lambda: hook(direction)
                return
            recorded(direction, *chunk, fired=self.layer.take(direction))

        return hook

    def records(
        self, fired: Sequence[Fired], direction: Direction, seq: int, count: int, last: int
    ) -> Iterator[Batch]:
        """The fault records of the faults a chunk fired, each after the frame it hit (the
        framing thread's): ``seq`` and ``count`` were the sequence number and the direction's
        frame count before the chunk, ``last`` the sequence number after it."""
        for one in fired:
            record = Injection(
                t=one.t - self.started,
                on=seq + max(1, min(one.line - count, last - seq)),
                dir=direction,
                fault=one.fault.position,
                kind=str(one.fault.kind),
                detail=one.detail,
            )
            line = encode_injection(record)
            yield Batch(0, (line,), len(line))  # a record, but not a frame

    def holding(self) -> float:
        """Seconds until the output held for faults is all out (the session waits for it)."""
        return max((route.holding for route in self.routes.values()), default=0.0)

    def ended(self, kind: FaultKind, status: int) -> None:
        """A crash, hang or close went out (relay thread): end what the client must see end."""
        if kind is FaultKind.CRASH:
            if (stdin := self.routes.get(Direction.CLIENT_TO_AGENT)) is not None:
                stdin.cut()  # the first rung: the agent's stdin closes
            self.token.run_sync_soon(self._crash, status)
        elif kind is FaultKind.HANG:
            self.hung = True
        self.closed = self.closed or kind is not FaultKind.HANG

    def _crash(self, status: int) -> None:
        self.crash_status = status
        self._crashed.set()

    async def end_agent_after_crash(self, process: trio.Process, grace: float) -> None:
        """Once a crash fired: SIGTERM the agent now, SIGKILL it after ``grace`` seconds."""
        await self._crashed.wait()
        if process.returncode is None:
            process.terminate()
        with trio.move_on_after(grace):
            await process.wait()
        if process.returncode is None:
            process.kill()

    def seen(self, status: int, closed_first: str) -> tuple[int, str]:
        """The exit status and which side closed first, as the client saw them: the crash's
        status; the agent first, after a crash or close."""
        if self.crash_status is not None:
            status = self.crash_status
        return status, "agent" if self.closed and closed_first == "client" else closed_first

    async def linger(self, signals: AsyncIterator[int] | None, signalled: bool) -> None:
        """After a hang: keep the client's stdout open a while, until acp-tap is signalled
        (at once if it was already); then close it."""
        route = self.routes.get(Direction.AGENT_TO_CLIENT)
        if route is None or not self.hung or route.sink < 0:
            return
        if not signalled:
            with trio.move_on_after(HANG_LINGER):
                if signals is None:
                    await trio.sleep_forever()
                async for _ in signals:
                    break
        with contextlib.suppress(OSError):
            os.close(route.sink)
        route.sink = -1
