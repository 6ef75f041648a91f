"""The pytest plugin for asyncio tests: ``acp_agent.asyncio_streams()`` and in-process SDK
agents in ``acp_golden``, under pytest-asyncio (strict and auto mode) and anyio's plugin.

This suite runs in trio mode, and pytest-trio would claim asyncio tests: each project runs
in a subprocess with ``-p no:trio``, its cases grouped so that few runs are needed. The
SDK peers come from tests/peers (the repository is put on ``PYTHONPATH``).
"""

from __future__ import annotations

import shutil
import sys
import xml.etree.ElementTree as ET
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parent.parent
FIXTURES = ROOT / "fixtures"
DRIVEN = ["prompt-turn", "permission-rejected", "fs-read", "terminal", "session-load"]
"""Shipped fixtures the SDK client drives in-process and through ``acp_agent.argv``."""

INI = "[pytest]\nasyncio_default_fixture_loop_scope = function\n"

COMMON = f"""
import sys

import acp
import pytest

from tests.peers import sdk_agent
from tests.peers import sdk_fixture_client as fc

FIXTURES = {str(FIXTURES)!r}
DEMO = [sys.executable, "-m", "acp_tap.demo.agent"]


def cassette(name, **options):
    return pytest.mark.acp_cassette(f"{{FIXTURES}}/{{name}}.ndjson", ignore=fc.IGNORE, **options)
"""


@pytest.fixture
def project(pytester: pytest.Pytester, monkeypatch: pytest.MonkeyPatch) -> pytest.Pytester:
    """A test project that can import the SDK peers of tests/peers."""
    monkeypatch.setenv("PYTHONPATH", str(ROOT))
    return pytester


def run(
    project: pytest.Pytester, *args: str, trio: bool = False
) -> tuple[pytest.RunResult, dict[str, str]]:
    """Run the project (without pytest-trio unless ``trio``); the outcome and each
    failure's report."""
    junit = project.path / "junit.xml"
    plugins = () if trio else ("-p", "no:trio")
    result = project.runpytest_subprocess(
        *plugins, "-p", "no:cacheprovider", f"--junitxml={junit}", *args, timeout=120
    )
    failures = {
        case.get("name", ""): failure.text or ""
        for case in ET.parse(junit).getroot().iter("testcase")
        for failure in case.iter("failure")
    }
    return result, failures


def readme_block(marker: str) -> str:
    """The README code block after the line ``marker`` (its first line, or the
    readme-test comment that names its file)."""
    readme = (ROOT / "README.md").read_text()
    block = readme.split(f"\n{marker}\n", 1)[1]
    if block.startswith("```"):
        block = block.split("\n", 1)[1]
    return block.split("```", 1)[0]


def test_strict_mode_client_and_agent_tests(project: pytest.Pytester) -> None:
    """pytest-asyncio, strict mode: the README example passes as documented; the SDK
    client in-process observes what it observes through ``acp_agent.argv``, for several
    shipped fixtures; a changed prompt fails both ways with the same report; a stalled
    client fails with the stall report; an SDK agent in ``acp_golden`` (instance or
    factory, sync or awaited) passes, and a changed one fails with the differences."""
    assert readme_block("<!-- readme-test: file sdk-project/pytest.ini -->") == INI
    project.makeini(INI)
    project.makepyfile(test_sdk_client=readme_block("# test_sdk_client.py"))
    cassettes = project.path / "cassettes" / "test_sdk_client"
    cassettes.mkdir(parents=True)
    shutil.copy(FIXTURES / "permission-allowed.ndjson", cassettes)
    project.makepyfile(
        test_client=COMMON
        + f"""
DRIVEN = {DRIVEN!r}


@pytest.mark.asyncio
@pytest.mark.parametrize("name", [pytest.param(n, marks=cassette(n)) for n in DRIVEN])
async def test_in_process_sees_what_spawned_sees(acp_agent, name):
    async with acp_agent.asyncio_streams() as (reader, writer):
        in_process = await fc.observe(name, reader, writer)
    spawned = await fc.observe_spawned(name, acp_agent.argv)
    assert in_process == spawned
    assert in_process["notifications"] and in_process["sent"][-1].get("result") is not None
    first, second = acp_agent.runs()
    assert first.transcript.lines == second.transcript.lines
    assert first.status == second.status == 0


CHANGED = ["Explain what acp-tap is"]


@pytest.mark.asyncio
@cassette("prompt-turn")
async def test_changed_prompt_in_process(acp_agent):
    async with acp_agent.asyncio_streams() as (reader, writer):
        with pytest.raises(acp.RequestError, match="no recorded message matches"):
            await fc.observe("prompt-turn", reader, writer, CHANGED)


@pytest.mark.asyncio
@cassette("prompt-turn")
async def test_changed_prompt_spawned(acp_agent):
    with pytest.raises(acp.RequestError, match="no recorded message matches"):
        await fc.observe_spawned("prompt-turn", acp_agent.argv, CHANGED)


@pytest.mark.asyncio
@cassette("cancelled-turn", stall_timeout=0.3)
async def test_stalled_client(acp_agent):
    async with acp_agent.asyncio_streams() as (reader, writer):
        conn = acp.connect_to_agent(fc.client_for("cancelled-turn"), writer, reader)
        session_id = await fc.start(conn)
        with pytest.raises(acp.RequestError, match="session/cancel"):
            await conn.prompt(session_id=session_id, prompt=[acp.text_block(fc.CANCEL)])
        await conn.close()


SDK_AGENT = f"{{FIXTURES}}/sdk-agent.ndjson"


def test_golden_sdk_agent(acp_golden):
    result = acp_golden(SDK_AGENT, agent=sdk_agent.SdkAgent())
    assert (result.same, result.exit_status) == (True, 0)
    assert result.live[0].message()["method"] == "initialize"


@pytest.mark.asyncio
async def test_golden_sdk_agent_factory_awaited(acp_golden):
    result = await acp_golden.check(SDK_AGENT, agent=lambda conn: sdk_agent.SdkAgent())
    assert result.same


def test_golden_changed_sdk_agent(acp_golden, monkeypatch):
    chunks = ("Hello from ", "a changed agent. ", "Let me edit a file.")
    monkeypatch.setattr(sdk_agent, "CHUNKS", chunks)
    acp_golden(SDK_AGENT, agent=sdk_agent.SdkAgent())


@pytest.mark.asyncio
async def test_sync_golden_call_in_async_test(acp_golden):
    acp_golden(SDK_AGENT, agent=sdk_agent.SdkAgent())
"""
    )
    result, failures = run(project)
    result.assert_outcomes(passed=len(DRIVEN) + 3, failed=5)
    in_process = failures["test_changed_prompt_in_process"]
    assert in_process == failures["test_changed_prompt_spawned"]
    assert in_process.startswith("replay 1 of ")
    assert "exit status 1, expected 0" in in_process
    for line in (
        "params.prompt[0].text:",
        '- expected "Explain what acp-tap does"',
        '+ got      "Explain what acp-tap is"',
        "acp-tap replay: mismatch (unused): 1 recorded client message never arrived",
    ):
        assert line in in_process
    assert "acp-tap replay: mismatch (stall)" in failures["test_stalled_client"]
    assert "session/cancel" in failures["test_stalled_client"]
    changed = failures["test_golden_changed_sdk_agent"]
    assert "1 difference(s) between" in changed
    assert "session 1 turn 1: agent text" in changed
    assert "    - 'Hello from the SDK agent. Let me edit a file.Done.'" in changed
    assert "    + 'Hello from a changed agent. Let me edit a file.Done.'" in changed
    assert (
        "run_agent_against() starts its own asyncio event loop"
        in (failures["test_sync_golden_call_in_async_test"])
    )


def test_auto_mode_and_an_agent_command_from_asyncio(project: pytest.Pytester) -> None:
    """pytest-asyncio, auto mode (no markers): an in-process client test (with its HTML
    trace), an SDK agent awaited in ``acp_golden.check``, and an agent command awaited
    there too (run by the trio shell in a worker thread)."""
    project.makeini(INI + "asyncio_mode = auto\n")
    project.makepyfile(
        test_auto=COMMON
        + """
@cassette("fs-read")
async def test_client(acp_agent):
    async with acp_agent.asyncio_streams() as (reader, writer):
        seen = await fc.observe("fs-read", reader, writer)
    assert seen["agent_requests"][0]["method"] == "fs/read_text_file"
    assert acp_agent.transcript.turns[-1].stop_reason == "end_turn"


async def test_golden_in_process(acp_golden):
    assert (await acp_golden.check(f"{FIXTURES}/sdk-agent.ndjson", agent=sdk_agent.SdkAgent())).same


async def test_golden_command(acp_golden):
    result = await acp_golden.check(f"{FIXTURES}/handshake.ndjson", agent=[*DEMO, "--seed", "7"])
    assert result.exit_status == 0
"""
    )
    result, failures = run(project, "--acp-trace=on")
    assert failures == {}
    result.assert_outcomes(passed=3)
    (trace,) = (project.path / "acp-traces").rglob("*.html")  # the client test's replay
    assert "fs/read_text_file" in trace.read_text()


def test_anyio_plugin_on_asyncio(project: pytest.Pytester) -> None:
    """anyio's pytest plugin on the asyncio backend (pytest-asyncio not even loaded)."""
    project.makeini("[pytest]\n")
    project.makepyfile(
        test_anyio=COMMON
        + """
@pytest.fixture
def anyio_backend():
    return "asyncio"


@pytest.mark.anyio
@cassette("permission-allowed")
async def test_client(acp_agent):
    async with acp_agent.asyncio_streams() as (reader, writer):
        seen = await fc.observe("permission-allowed", reader, writer)
    outcome = seen["agent_requests"][0]["answer"]["result"]["outcome"]
    assert outcome == {"outcome": "selected", "optionId": "allow_once"}


@pytest.mark.anyio
async def test_golden_in_process(acp_golden):
    assert (await acp_golden.check(f"{FIXTURES}/sdk-agent.ndjson", agent=sdk_agent.SdkAgent())).same
"""
    )
    result, failures = run(project, "-p", "no:asyncio")
    assert failures == {}
    result.assert_outcomes(passed=2)


def test_the_plugin_and_trio_fixtures_never_import_the_sdk(project: pytest.Pytester) -> None:
    """With pytest-trio, ``acp_agent.connect()``, ``asyncio_streams()`` with a raw client
    and ``acp_golden`` with a command leave ``acp`` unimported; an in-process agent
    without the SDK fails with one line saying what to install."""
    project.makeini(INI + "trio_mode = true\n")
    project.makepyfile(
        test_trio=f"""
import asyncio
import sys

import pytest

from acp_tap.demo.client import ScriptedClient, handshake

FIXTURES = {str(FIXTURES)!r}
INIT = b'{{"jsonrpc":"2.0","id":0,"method":"initialize","params":{{"protocolVersion":1}}}}\\n'
NEW = b'{{"jsonrpc":"2.0","id":1,"method":"session/new","params":{{"cwd":"/home/user/project","mcpServers":[]}}}}\\n'


@pytest.mark.acp_cassette(f"{{FIXTURES}}/handshake.ndjson")
async def test_trio_client(acp_agent):
    import trio

    async with acp_agent.connect() as stream:
        client = ScriptedClient(stream, stream)
        async with trio.open_nursery() as nursery:
            nursery.start_soon(client.run_reader)
            assert await handshake(client, "/home/user/project")
            await stream.send_eof()


@pytest.mark.acp_cassette(f"{{FIXTURES}}/handshake.ndjson", ignore=["params.clientCapabilities", "params.clientInfo"])
def test_raw_asyncio_client(acp_agent):
    async def main():
        async with acp_agent.asyncio_streams() as (reader, writer):
            writer.write(INIT)
            await reader.readline()
            writer.write(NEW)
            return await reader.readline()

    assert b'"sessionId"' in asyncio.run(main())


def test_golden_command(acp_golden):
    agent = [sys.executable, "-m", "acp_tap.demo.agent", "--seed", "7"]
    assert acp_golden(f"{{FIXTURES}}/handshake.ndjson", agent=agent).same


def test_in_process_agent_without_the_sdk(acp_golden, monkeypatch):
    monkeypatch.setitem(sys.modules, "acp", None)  # as if it were not installed
    acp_golden(f"{{FIXTURES}}/sdk-agent.ndjson", agent=object())


def test_last_the_sdk_was_never_imported():
    assert "acp" not in sys.modules
"""
    )
    result, failures = run(project, trio=True)
    assert list(failures) == ["test_in_process_agent_without_the_sdk"]
    assert failures["test_in_process_agent_without_the_sdk"] == (
        "acp-tap: an in-process agent needs the official ACP Python SDK, which is not "
        "installed: pip install agent-client-protocol"
    )
    result.assert_outcomes(passed=4, failed=1)
    assert sys.executable  # (the projects run with this interpreter)
