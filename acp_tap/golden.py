"""Agent regression tests outside pytest: play the client recorded in a cassette into an
agent, a command (spawned, by the trio shell of :mod:`acp_tap.rerun.client`) or an
in-process agent of the official SDK (over in-memory asyncio streams, by
:mod:`acp_tap.rerun.asyncio_client`), and say what changed. The ``acp_golden`` fixture
(:mod:`acp_tap.pytest_golden`) judges with these; :mod:`acp_tap.testing` re-exports them.
"""

from __future__ import annotations

import asyncio
import os
import shlex
from collections.abc import Sequence
from functools import partial
from typing import Any, cast

import trio

from acp_tap.errors import UsageError
from acp_tap.rerun.result import ClientReplayResult
from acp_tap.sdk import is_agent_object
from acp_tap.testing_asyncio import running_loop


def agent_command(agent: str | os.PathLike[str] | Sequence[str]) -> list[str]:
    """An agent command as an argv: a string is split as a shell would, a path is the
    program alone, a sequence is taken as it is."""
    if isinstance(agent, str):
        return shlex.split(agent)
    if isinstance(agent, os.PathLike):
        return [os.fspath(agent)]
    return list(agent)


def run_agent_against(
    cassette: str | os.PathLike[str], argv: Sequence[str] | object, **options: Any
) -> ClientReplayResult:
    """Play the client recorded in ``cassette`` into an agent (agent regression tests);
    what changed. ``argv``: the agent command (see :func:`agent_command`), or an
    in-process agent of the official SDK
    (an ``acp.Agent``, or a callable taking the client connection and returning one),
    played over in-memory asyncio streams. ``options``: those of
    :func:`acp_tap.rerun.client.rerun_cassette` (cwd, env, fs_root, write_dir, output,
    ignore, timeout, max_time; not env and output for an in-process agent). Not from
    inside a running event loop: await :func:`run_agent_against_async` there."""
    from acp_tap.rerun.client import rerun_cassette

    in_process = is_agent_object(argv)
    if running_loop() is not None:
        runner = "asyncio event loop" if in_process else "trio run"
        raise UsageError(
            f"run_agent_against() starts its own {runner}; in an async test use "
            "`await acp_golden.check(...)` or `await acp_tap.testing.run_agent_against_async(...)`"
        )
    if in_process:
        return _run_in_process(cassette, argv, options)
    command = agent_command(cast("str | os.PathLike[str] | Sequence[str]", argv))
    result: ClientReplayResult = trio.run(partial(rerun_cassette, cassette, command, **options))
    return result


def assert_agent_matches(
    cassette: str | os.PathLike[str], argv: Sequence[str] | object, **options: Any
) -> ClientReplayResult:
    """:func:`run_agent_against`, raising :class:`AgentChangedError` with the report unless
    the agent behaved as recorded."""
    result = run_agent_against(cassette, argv, **options)
    result.assert_same(os.fspath(cassette))
    return result


def _run_in_process(
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
    """:func:`run_agent_against` from inside a running event loop: trio,
    or asyncio (pytest-asyncio, anyio). An in-process SDK agent runs on asyncio (in a
    worker thread with a loop of its own under trio); an agent command runs under trio
    (in a worker thread under asyncio)."""
    in_process = is_agent_object(agent)
    loop = running_loop()
    if loop is None:
        raise UsageError(
            "run_agent_against_async() runs inside an event loop; outside one, call "
            "run_agent_against()"
        )
    if loop == "trio":
        if not in_process:
            from acp_tap.rerun.client import rerun_cassette

            command = agent_command(cast("str | os.PathLike[str] | Sequence[str]", agent))
            return await rerun_cassette(cassette, command, **options)
        run = partial(run_agent_against, cassette, agent, **options)
        result: ClientReplayResult = await trio.to_thread.run_sync(run)
        return result
    if in_process:
        from acp_tap.rerun.asyncio_client import check_in_process_options, rerun_cassette_in_process

        check_in_process_options(options)
        return await rerun_cassette_in_process(cassette, agent, **options)
    return await asyncio.to_thread(partial(run_agent_against, cassette, agent, **options))
