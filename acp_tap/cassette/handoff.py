"""Handing work from the relay's thread to a background thread, cheaply and with bounds.

The relay hands each chunk on (to the framing thread, which hands batches to the
cassette writer's thread). Waking a thread for every chunk costs the relay dearly (a futex
call, then a fight for the GIL just when the other direction's answer arrives), so a
:class:`Handoff`'s taker polls every :data:`POLL` seconds while items keep coming and
sleeps on an event (set by the next :meth:`Handoff.put`) once it has been quiet for
:data:`IDLE` seconds. A :class:`Budget` bounds the bytes handed on and not yet dealt with:
the giver waits for room, but never longer than a stall allows.
"""

from __future__ import annotations

import collections
import threading
import time
from collections.abc import Callable
from typing import Generic, TypeVar

import attrs

POLL = 0.001
"""Seconds between looks at the queue while items keep coming."""

IDLE = 0.05
"""Seconds without items after which the taker sleeps until the next one."""

ROOM_WAIT = 0.05
"""Seconds between looks at the taker's progress while the giver waits for room."""

T = TypeVar("T")


@attrs.define(eq=False)
class Handoff(Generic[T]):
    """A queue that one thread fills (:meth:`put`) and one thread empties (:meth:`wait`)."""

    items: collections.deque[T] = attrs.field(factory=collections.deque)
    _wake: threading.Event = attrs.field(factory=threading.Event)
    _sleeping: bool = False  # the taker waits on _wake (else it polls)

    def put(self, item: T) -> None:
        """Queue ``item``; never blocks, and makes no system call while the taker polls."""
        self.items.append(item)
        if self._sleeping:
            self._wake.set()

    def put_last(self, item: T) -> None:
        """Queue the last item, waking the taker at once."""
        self.items.append(item)
        self._wake.set()

    def wait(self) -> None:
        """Return once there is an item (in the taker's thread)."""
        items, idle = self.items, 0.0
        while not items:
            if idle < IDLE:
                time.sleep(POLL)
                idle += POLL
                continue
            self._wake.clear()
            self._sleeping = True  # put() sets _wake from now on
            if not items:
                self._wake.wait()
            self._sleeping = False


@attrs.define(eq=False)
class Budget:
    """Bytes handed on (:meth:`add`, by the giver) and not yet dealt with (:meth:`done`, by
    the taker); each count has one writer, so no lock is needed."""

    limit: int
    queued: int = 0
    dealt: int = 0
    _room: threading.Event = attrs.field(factory=threading.Event)
    _waiting: bool = False  # the giver waits on _room

    def add(self, size: int) -> None:
        self.queued += size

    def done(self, size: int) -> None:
        self.dealt += size
        if self._waiting:
            self._room.set()

    @property
    def backlog(self) -> int:
        return self.queued - self.dealt

    def has_room(self) -> bool:
        """Whether the backlog fits the limit (else the giver should wait)."""
        return self.queued - self.dealt <= self.limit

    def wait_for_room(self, stall: float, stop: Callable[[], bool] = lambda: False) -> bool:
        """Block while the backlog is over the limit, until ``stop()`` says so; False if the
        taker made no progress at all for ``stall`` seconds (it gave up waiting)."""
        progress, since = self.dealt, time.monotonic()
        try:
            while True:
                self._room.clear()
                self._waiting = True  # the taker sets _room as it makes progress
                if self.has_room() or stop():
                    return True
                self._room.wait(ROOM_WAIT)
                if self.dealt != progress:
                    progress, since = self.dealt, time.monotonic()
                elif time.monotonic() - since > stall:
                    return False
        finally:
            self._waiting = False


Step = Callable[[], None]


@attrs.define(eq=False)
class StepThread:
    """Runs steps (callables) in the order they were put, in a thread of its own.

    Each step stands for ``size`` bytes of the :class:`Budget`. Steps must not raise: each
    deals with its own failures (see ``acp_tap.record``), so that the steps after it run.
    """

    name: str
    budget: Budget
    _handoff: Handoff[tuple[Step, int] | None] = attrs.field(factory=Handoff)
    _thread: threading.Thread | None = None
    _put: int = 0  # steps put (by the giver)
    _done: int = 0  # steps run (by the thread)

    @classmethod
    def start(cls, name: str, limit: int) -> StepThread:
        made = cls(name, Budget(limit))
        made._thread = threading.Thread(target=made._run, name=name, daemon=True)
        made._thread.start()
        return made

    def put(self, step: Step, size: int) -> None:
        """Queue ``step``; never blocks (see :meth:`Budget.wait_for_room`)."""
        self.budget.add(size)
        self._put += 1
        self._handoff.put((step, size))

    def idle(self) -> bool:
        """Whether every step put has run (so the giver may run the next itself, in order)."""
        return self._done == self._put

    def close(self, timeout: float | None = None) -> bool:
        """Run the steps queued, then end the thread; False if it was still running after
        ``timeout`` seconds."""
        assert self._thread is not None
        self._handoff.put_last(None)
        self._thread.join(timeout)
        return not self._thread.is_alive()

    def _run(self) -> None:
        items, budget = self._handoff.items, self.budget
        while True:
            self._handoff.wait()
            while items:
                item = items.popleft()
                if item is None:
                    return
                step, size = item
                step()
                budget.done(size)
                self._done += 1
