"""The recorded client played into an in-process SDK agent (acp_tap.rerun.asyncio_client),
through ``run_agent_against``: the same verdict as a spawned agent, crashes, hangs, files."""

from __future__ import annotations

import asyncio
import subprocess
import sys
from pathlib import Path
from typing import Any

import acp
import pytest
from acp.schema import PromptResponse

from acp_tap.errors import UsageError
from acp_tap.rerun import asyncio_client
from acp_tap.rerun.result import ClientReplayResult
from acp_tap.testing import run_agent_against, run_agent_against_async
from tests.asyncio_support import run
from tests.peers.sdk_agent import SdkAgent

ROOT = Path(__file__).resolve().parent.parent
FIXTURES = ROOT / "fixtures"
SDK_FIXTURE = FIXTURES / "sdk-agent.ndjson"
SDK_AGENT = [sys.executable, str(ROOT / "tests" / "peers" / "sdk_agent.py")]


def test_in_process_agent_gets_the_verdict_a_spawned_one_gets() -> None:
    """The same agent in-process and as a subprocess: the same live conversation (ids
    mapped the same way), the same answers, no differences, status 0."""
    spawned = run_agent_against(SDK_FIXTURE, SDK_AGENT, timeout=10)
    in_process = run_agent_against(SDK_FIXTURE, SdkAgent(), timeout=10)
    assert (in_process.same, in_process.exit_status, in_process.problems) == (True, 0, ())
    assert [f.message() for f in in_process.live] == [f.message() for f in spawned.live]
    assert spawned.same


class Changed(SdkAgent):
    """The SDK agent with other text and no permission request."""

    async def prompt(self, session_id: str, prompt: list[Any], **kwargs: Any) -> PromptResponse:
        """One chunk, then done."""
        assert self._client is not None
        text = acp.update_agent_message_text("Something else entirely.")
        await self._client.session_update(session_id=session_id, update=text)
        return PromptResponse(stop_reason="end_turn")


def test_a_changed_agent_is_reported_with_the_differences() -> None:
    """A factory is called with the connection; what changed is reported as rerun does."""
    result = run_agent_against(SDK_FIXTURE, lambda conn: Changed(), timeout=10)
    rendered = result.render()
    assert not result.same
    assert "session 1 turn 1: agent text" in rendered
    assert "session/request_permission" in rendered  # recorded, never made live


def test_a_crashing_agent_is_reported_with_its_traceback() -> None:
    """An agent whose construction raises: status 1, the traceback as its stderr."""

    def broken(conn: object) -> SdkAgent:
        raise RuntimeError("cannot start the agent")

    result = run_agent_against(SDK_FIXTURE, broken, timeout=10)
    assert result.exit_status == 1
    assert result.problems == (
        "the agent exited with status 1 while frame #1 initialize was waiting for an answer",
    )
    assert result.stderr[-1] == "RuntimeError: cannot start the agent"
    assert "agent stderr" in result.render()


class Hung(SdkAgent):
    """Never answers a prompt."""

    async def prompt(self, session_id: str, prompt: list[Any], **kwargs: Any) -> PromptResponse:
        """Wait forever."""
        await asyncio.Event().wait()
        raise AssertionError("unreachable")


def test_a_hung_agent_is_stopped_after_the_timeout() -> None:
    """The agent is cancelled when the step timeout passes, and the report says why."""
    result = run_agent_against(SDK_FIXTURE, Hung(), timeout=0.3)
    assert result.problems == (
        "the agent did not answer frame #5 session/prompt within 0.3 s; the agent was stopped",
    )
    assert result.exit_status == 1


class Stubborn(SdkAgent):
    """Ignores being cancelled."""

    async def prompt(self, session_id: str, prompt: list[Any], **kwargs: Any) -> PromptResponse:
        """Sleep on, whatever happens."""
        for _ in range(100):
            try:
                await asyncio.sleep(0.05)
            except asyncio.CancelledError:
                continue
        return PromptResponse(stop_reason="end_turn")


def test_an_agent_that_ignores_cancellation_is_given_up_on(
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    """After the grace period, the replay ends without the agent and says so."""
    monkeypatch.setattr(asyncio_client, "GRACE", 0.2)
    result = run_agent_against(SDK_FIXTURE, Stubborn(), timeout=0.3)
    assert "the agent did not answer frame #5 session/prompt within 0.3 s" in result.problems[0]
    assert "(the agent did not end within 0.2 s of being cancelled)" in result.stderr


class Files(SdkAgent):
    """Reads notes.md and writes the greeting of permission-allowed, in its session's cwd."""

    read: str | None = None

    async def new_session(self, cwd: str, *args: Any, **kwargs: Any) -> Any:
        """Keep the session's directory."""
        self.cwd = cwd
        return await super().new_session(cwd, *args, **kwargs)

    async def prompt(self, session_id: str, prompt: list[Any], **kwargs: Any) -> PromptResponse:
        """Read, write, done."""
        client = self._client
        assert client is not None
        notes = await client.read_text_file(session_id=session_id, path=f"{self.cwd}/notes.md")
        self.read = notes.content
        greeting = "Hello from the acp-tap demo agent.\n"
        path = f"{self.cwd}/acp-tap-demo.txt"
        await client.write_text_file(session_id=session_id, path=path, content=greeting)
        return PromptResponse(stop_reason="end_turn")


def run_files(tmp_path: Path, notes: str | Path) -> tuple[Files, ClientReplayResult]:
    """Run :class:`Files` with fs_root holding ``notes`` (text, or a link to this path)
    and a write_dir that does not exist yet, its session standing in tmp_path/project."""
    (tmp_path / "root").mkdir()
    if isinstance(notes, Path):
        (tmp_path / "root" / "notes.md").symlink_to(notes)
    else:
        (tmp_path / "root" / "notes.md").write_text(notes)
    agent = Files()
    result = run_agent_against(
        FIXTURES / "permission-allowed.ndjson",
        agent,
        cwd=tmp_path / "project",
        fs_root=tmp_path / "root",
        write_dir=tmp_path / "out",
        timeout=10,
    )
    return agent, result


def test_files_are_read_from_fs_root_and_written_to_write_dir(tmp_path: Path) -> None:
    """fs/read_text_file is served from fs_root, fs/write_text_file lands in write_dir
    (created), both relative to the live cwd that stands for the recorded one."""
    agent, result = run_files(tmp_path, "live notes\n")
    assert agent.read == "live notes\n"
    assert not [problem for problem in result.problems if "--" in problem]  # nothing refused
    assert agent.cwd == str(tmp_path / "project")
    assert (tmp_path / "out" / "acp-tap-demo.txt").read_text() == (
        "Hello from the acp-tap demo agent.\n"
    )


def test_a_file_that_leads_out_of_fs_root_is_refused_and_reported(tmp_path: Path) -> None:
    """A symbolic link in fs_root is not followed; the report says so, as rerun's does."""
    (tmp_path / "secret.md").write_text("outside\n")
    agent, result = run_files(tmp_path, tmp_path / "secret.md")
    assert agent.read is None
    assert any(p.startswith("--fs-root: notes.md was not read") for p in result.problems)


@pytest.mark.parametrize("option", ["env", "output"])
def test_options_of_a_spawned_agent_are_refused(option: str) -> None:
    """env and output need a process; asked for an in-process agent, a usage error."""
    with pytest.raises(UsageError, match=f"{option} only apply to an agent command"):
        run_agent_against(SDK_FIXTURE, SdkAgent(), **{option: {}})


def test_the_async_form_and_the_sync_one_inside_a_loop() -> None:
    """Inside a running asyncio loop: the async form works, the sync one says to use it."""

    async def main() -> bool:
        with pytest.raises(UsageError, match="run_agent_against_async"):
            run_agent_against(SDK_FIXTURE, SdkAgent())
        return (await run_agent_against_async(SDK_FIXTURE, SdkAgent(), timeout=10)).same

    assert run(main)
    outside = run_agent_against_async(SDK_FIXTURE, SdkAgent())  # driven with no loop at all
    with pytest.raises(UsageError, match="runs inside an event loop"):
        outside.send(None)


async def test_the_async_form_under_trio_runs_the_agent_on_a_loop_of_its_own() -> None:
    """Awaited inside trio, an in-process SDK agent runs in a worker thread's asyncio loop."""
    result = await run_agent_against_async(SDK_FIXTURE, SdkAgent(), timeout=10)
    assert result.same


def test_without_the_sdk_one_line_says_what_to_install() -> None:
    """With ``acp`` unimportable, an in-process agent is refused before anything runs."""
    code = (
        "import sys; sys.modules['acp'] = None\n"
        "from acp_tap.testing import run_agent_against\n"
        f"run_agent_against({str(SDK_FIXTURE)!r}, object())\n"
    )
    done = subprocess.run(
        [sys.executable, "-c", code], capture_output=True, text=True, timeout=60, check=False
    )
    assert done.returncode == 1
    assert done.stderr.splitlines()[-1] == (
        "acp_tap.errors.SdkMissingError: acp-tap: an in-process agent needs the official ACP "
        "Python SDK, which is not installed: pip install agent-client-protocol"
    )
