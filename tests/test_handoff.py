"""Handing work to a background thread: order, wake-ups, bounded waits."""

from __future__ import annotations

import threading
import time

from acp_tap.cassette.handoff import IDLE, Budget, StepThread


def test_steps_run_in_order_and_close_waits_for_them() -> None:
    thread = StepThread.start("test-steps", 1 << 20)
    done: list[int] = []
    for n in range(500):
        thread.put(lambda n=n: done.append(n), 10)  # type: ignore[misc]
    assert thread.close(10.0)
    assert done == list(range(500))
    assert thread.budget.backlog == 0 and thread.budget.dealt == 5000


def test_a_sleeping_thread_is_woken_by_the_next_step() -> None:
    """Past IDLE seconds without steps the thread sleeps; a step then runs at once anyway."""
    thread = StepThread.start("test-wake", 1 << 20)
    ran = threading.Event()
    time.sleep(IDLE * 3)
    began = time.monotonic()
    thread.put(ran.set, 1)
    assert ran.wait(5.0)
    assert time.monotonic() - began < 1.0
    assert thread.close(5.0)


def test_the_giver_waits_for_room_until_the_taker_progresses() -> None:
    budget = Budget(limit=100)
    budget.add(250)
    assert not budget.has_room()
    timer = threading.Timer(0.2, budget.done, args=(200,))
    timer.start()
    began = time.monotonic()
    assert budget.wait_for_room(stall=5.0)
    assert 0.15 < time.monotonic() - began < 4.0
    assert budget.has_room()


def test_a_taker_that_makes_no_progress_ends_the_wait() -> None:
    """Every wait has a bound: with no progress for ``stall`` seconds, the wait gives up."""
    budget = Budget(limit=100)
    budget.add(250)
    began = time.monotonic()
    assert not budget.wait_for_room(stall=0.3)
    assert 0.25 < time.monotonic() - began < 3.0


def test_progress_keeps_the_wait_going_and_stop_ends_it() -> None:
    budget = Budget(limit=100)
    budget.add(10_000)
    stop = threading.Event()

    def trickle() -> None:  # some progress every 0.1 s, never enough room
        for _ in range(6):
            time.sleep(0.1)
            budget.done(10)
        stop.set()

    threading.Thread(target=trickle, daemon=True).start()
    began = time.monotonic()
    assert budget.wait_for_room(stall=0.3, stop=stop.is_set)
    assert 0.5 < time.monotonic() - began < 5.0
