"""The asyncio half of :mod:`acp_tap.testing`: fake agents for asyncio clients, and
in-process agents of the official SDK played the recorded client.

:meth:`FakeAgent.asyncio_streams <acp_tap.testing.FakeAgent.asyncio_streams>` runs the
replay shell of :mod:`acp_tap.replay.asyncio_agent` on an in-memory connection (or
spawns ``acp-tap record`` in a recording mode). :func:`run_agent_against_async` plays a
recorded client into an agent from inside a running event loop, whichever it is: an
in-process SDK agent through :mod:`acp_tap.rerun.asyncio_client`, an agent command
through the trio shell (in a worker thread when the loop is asyncio's).
"""

from __future__ import annotations

import asyncio
import os
from collections.abc import AsyncIterator, Sequence
from contextlib import asynccontextmanager
from functools import partial
from pathlib import Path
from typing import TYPE_CHECKING, Any

from acp_tap.cassette.model import Direction
from acp_tap.errors import UsageError
from acp_tap.replay.actions import ReplayOptions, Report
from acp_tap.replay.tap import Transcript, note
from acp_tap.rerun.result import ClientReplayResult
from acp_tap.sdk import is_agent_object
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
    transcript, reports, marks = Transcript(), [], []

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
        ) as replay:
            yield replay.reader, replay.writer
    finally:
        status = None if replay is None else replay.status
        if replay is not None and replay.problem is not None:
            reports.append(replay.problem)
        runs.append(Run(status, tuple(reports), transcript, tuple(marks)))


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


def run_in_process(
    cassette: str | os.PathLike[str], agent: object, options: dict[str, Any]
) -> ClientReplayResult:
    """Play the client recorded in ``cassette`` into the in-process SDK ``agent`` on an
    event loop of its own (not from inside a running one).

    Unlike ``asyncio.run``, the loop is closed even if tasks of an agent that ignored its
    cancellation are still running after :data:`~acp_tap.rerun.asyncio_client.GRACE`
    seconds: the replay already reported it; the test must not hang on it.
    """
    from acp_tap.rerun.asyncio_client import (
        GRACE,
        check_in_process_options,
        rerun_cassette_in_process,
    )

    check_in_process_options(options)
    loop = asyncio.new_event_loop()
    try:
        return loop.run_until_complete(rerun_cassette_in_process(cassette, agent, **options))
    finally:
        left = asyncio.all_tasks(loop)
        for task in left:
            task.cancel()
        if left:
            loop.run_until_complete(asyncio.wait(left, timeout=GRACE))
        loop.run_until_complete(loop.shutdown_asyncgens())
        loop.run_until_complete(loop.shutdown_default_executor())
        loop.close()


async def run_agent_against_async(
    cassette: str | os.PathLike[str], agent: Sequence[str] | object, **options: Any
) -> ClientReplayResult:
    """:func:`~acp_tap.testing.run_agent_against` from inside a running event loop: trio,
    or asyncio (pytest-asyncio, anyio). An in-process SDK agent runs on asyncio (in a
    worker thread with a loop of its own under trio); an agent command runs under trio
    (in a worker thread under asyncio)."""
    from acp_tap.testing import run_agent_against

    in_process = is_agent_object(agent)
    loop = running_loop()
    if loop is None:
        raise UsageError(
            "run_agent_against_async() runs inside an event loop; outside one, call "
            "run_agent_against()"
        )
    if loop == "trio":
        import trio

        if not in_process:
            from acp_tap.rerun.client import rerun_cassette

            assert isinstance(agent, Sequence)
            return await rerun_cassette(cassette, agent, **options)
        run = partial(run_agent_against, cassette, agent, **options)
        result: ClientReplayResult = await trio.to_thread.run_sync(run)
        return result
    if in_process:
        from acp_tap.rerun.asyncio_client import check_in_process_options, rerun_cassette_in_process

        check_in_process_options(options)
        return await rerun_cassette_in_process(cassette, agent, **options)
    return await asyncio.to_thread(partial(run_agent_against, cassette, agent, **options))
