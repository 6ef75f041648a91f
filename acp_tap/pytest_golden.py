"""The ``acp_golden`` fixture's object: plays a cassette's recorded client into an agent (a
command, or an in-process agent of the official SDK) and fails the test with the
``acp-tap rerun`` report if the agent's behaviour differs. The pytest plugin
(:mod:`acp_tap.pytest_plugin`) builds one per test."""

from __future__ import annotations

import contextlib
import os
from collections.abc import Iterator, Sequence
from pathlib import Path
from typing import TYPE_CHECKING, Any, cast

import pytest

if TYPE_CHECKING:
    from acp_tap.rerun.result import ClientReplayResult


class GoldenCheck:
    """``acp_golden(cassette, agent=None, **options)``: the agent behaves as recorded, or
    the test fails with the report. ``await acp_golden.check(...)`` in async tests."""

    def __init__(self, agent: tuple[str, ...] | None, base: Path, node: pytest.Item) -> None:
        self._agent = agent  # the configured agent command, if any
        self._base = base  # cassettes are relative to the test file's folder
        self._node = node

    def _resolve(self, cassette: str | Path, agent: object) -> tuple[Path, object]:
        from acp_tap.sdk import is_agent_object

        if agent is not None and is_agent_object(agent):
            return self._base / cassette, agent  # an in-process SDK agent
        from acp_tap.golden import agent_command

        argv = agent_command(
            cast("str | os.PathLike[str] | Sequence[str]", agent or self._agent or ())
        )
        if not argv:
            pytest.fail(
                'acp-tap: acp_golden needs the agent: pass agent=, --acp-agent "CMD", '
                "acp_agent in the ini file, or acp_cassette(agent=...)",
                pytrace=False,
            )
        return self._base / cassette, argv

    def _judge(self, cassette: Path, result: ClientReplayResult) -> ClientReplayResult:
        if result.stderr:
            self._node.add_report_section("call", "agent stderr", "\n".join(result.stderr))
        if not result.same:
            pytest.fail(f"{result.verdict(str(cassette))}\n{result.render()}", pytrace=False)
        return result

    def __call__(
        self, cassette: str | Path, agent: object = None, **options: Any
    ) -> ClientReplayResult:
        """Play ``cassette``'s client (relative to the test file) into the agent; judge."""
        from acp_tap.golden import run_agent_against

        path, target = self._resolve(cassette, agent)
        with _sdk_required():
            result = run_agent_against(path, target, **options)
        return self._judge(path, result)

    async def check(
        self, cassette: str | Path, agent: object = None, **options: Any
    ) -> ClientReplayResult:
        """As calling it, from inside an async test (trio, pytest-asyncio, or anyio)."""
        from acp_tap.golden import run_agent_against_async

        path, target = self._resolve(cassette, agent)
        with _sdk_required():
            result = await run_agent_against_async(path, target, **options)
        return self._judge(path, result)


@contextlib.contextmanager
def _sdk_required() -> Iterator[None]:
    """An in-process agent without the SDK fails the test with one line: what to install."""
    from acp_tap.errors import SdkMissingError

    try:
        yield
    except SdkMissingError as missing:
        raise pytest.fail.Exception(str(missing), pytrace=False) from None
