"""The asyncio half of :class:`acp_tap.testing.FakeAgent`: the cassette's agent for asyncio
clients, as an ``(asyncio.StreamReader, asyncio.StreamWriter)`` pair.

:meth:`FakeAgent.asyncio_streams <acp_tap.testing.FakeAgent.asyncio_streams>` runs the
replay shell of :mod:`acp_tap.replay.asyncio_agent` on an in-memory connection, or, in a
recording mode, spawns ``acp-tap record`` with its stdio as asyncio streams; either way
the run joins the fake agent's runs, as :meth:`~acp_tap.testing.FakeAgent.connect`'s do.
"""

from __future__ import annotations

import asyncio
from collections.abc import AsyncIterator, Sequence
from contextlib import asynccontextmanager
from functools import partial
from pathlib import Path
from typing import TYPE_CHECKING

from acp_tap.cassette.model import Direction
from acp_tap.errors import UsageError
from acp_tap.replay.actions import ReplayOptions, Report
from acp_tap.replay.tap import Transcript, note
from acp_tap.wire.framing import LineSplitter

if TYPE_CHECKING:
    from acp_tap.testing import Run

StreamPair = tuple[asyncio.StreamReader, asyncio.StreamWriter]


@asynccontextmanager
async def replay_streams(
    cassette: Path, options: ReplayOptions, timeout: float, runs: list[Run]
) -> AsyncIterator[StreamPair]:
    """The cassette's agent replayed in-process; its run is added to ``runs`` at the end."""
    require_asyncio()
    from acp_tap.replay.asyncio_agent import InMemoryReplay, in_memory
    from acp_tap.replay.engine import ReplayEngine
    from acp_tap.testing import Run

    engine = ReplayEngine.from_path(cassette, options)
    transcript, reports = Transcript(), []
    marks: list[tuple[int, str, str]] = []
    fired: list[str] = []

    def on_report(report: Report) -> None:
        reports.append(report.render().rstrip("\n"))
        if (mark := report.mark) is not None:
            marks.append(mark)

    client, agent = (
        partial(note, transcript, direction, LineSplitter())
        for direction in (Direction.CLIENT_TO_AGENT, Direction.AGENT_TO_CLIENT)
    )
    replay: InMemoryReplay | None = None
    try:
        async with in_memory(
            engine,
            timeout=timeout,
            observe=(client, agent),
            on_report=on_report,
            on_fault=fired.append,
        ) as replay:
            yield replay.reader, replay.writer
    finally:
        status = None if replay is None else replay.status
        if replay is not None and replay.problem is not None:
            reports.append(replay.problem)
        runs.append(Run(status, tuple(reports), transcript, tuple(marks), tuple(fired)))


@asynccontextmanager
async def record_streams(
    argv: Sequence[str], timeout: float, runs: list[Run]
) -> AsyncIterator[StreamPair]:
    """The real agent behind ``acp-tap record`` (``argv``); its run is added to ``runs``."""
    require_asyncio()
    from acp_tap.asyncio_streams import Spawned, spawned
    from acp_tap.testing import Run

    child: Spawned | None = None
    try:
        async with spawned(argv, timeout=timeout) as child:
            yield child.reader, child.writer
    finally:
        runs.append(Run(None if child is None else child.status, (), Transcript()))


def running_loop() -> str | None:
    """The event loop running in this thread: ``"trio"``, ``"asyncio"`` or ``None``."""
    import trio

    try:
        trio.lowlevel.current_task()
    except RuntimeError:
        pass
    else:
        return "trio"
    try:
        asyncio.get_running_loop()
    except RuntimeError:
        return None
    return "asyncio"


def require_asyncio() -> None:
    """Raise :class:`~acp_tap.errors.UsageError` unless an asyncio event loop runs here."""
    loop = running_loop()
    if loop != "asyncio":
        where = "under trio" if loop == "trio" else "outside an event loop"
        raise UsageError(
            f"acp_agent.asyncio_streams() needs a running asyncio event loop, and was used "
            f"{where}; in a trio test use `async with acp_agent.connect()`"
        )
