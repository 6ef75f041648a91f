"""The agent-regression entry points: ``acp_golden`` (through ``pytester``) and the helpers."""

from __future__ import annotations

import shutil
import sys
from pathlib import Path

import pytest

from acp_tap.testing import AgentChangedError, assert_agent_matches, run_agent_against

FIXTURES = Path(__file__).parent.parent / "fixtures"
DEMO = [sys.executable, "-m", "acp_tap.demo.agent"]
LOOP_SCOPE = "asyncio_default_fixture_loop_scope = function\n"  # pytest-asyncio is installed too

SAMPLE_AGENT = """
import sys
import acp_tap.demo.agent as demo
import acp_tap.demo.scenarios as scenarios
original = scenarios.chunks
scenarios.chunks = lambda text, words=3: original(text.replace("demo agent", "sample agent"), words)
sys.exit(demo.main(sys.argv[1:]))
"""


@pytest.fixture
def project(pytester: pytest.Pytester) -> pytest.Pytester:
    """A test project with a golden conversation and the demo agent as its agent."""
    pytester.makeini(
        f"[pytest]\ntrio_mode = true\n{LOOP_SCOPE}"
        f'acp_agent = "{sys.executable}" -m acp_tap.demo.agent\n'
    )
    shutil.copy(FIXTURES / "prompt-turn.ndjson", pytester.path / "golden.ndjson")
    (pytester.path / "sample_agent.py").write_text(SAMPLE_AGENT)
    return pytester


def test_golden_conversation_passes_sync_and_async(project: pytest.Pytester) -> None:
    """The agent from the ini file matches the golden cassette in a sync and a trio test;
    the sync call inside a trio test says to await ``check``."""
    project.makepyfile(
        test_agent="""
        def test_sync(acp_golden):
            result = acp_golden("golden.ndjson")
            assert result.exit_status == 0

        async def test_async(acp_golden):
            result = await acp_golden.check("golden.ndjson", timeout=10)
            assert result.same

        async def test_sync_call_in_async_test(acp_golden):
            acp_golden("golden.ndjson")
        """
    )
    result = project.runpytest_inprocess("-p", "no:cacheprovider")
    result.assert_outcomes(passed=2, failed=1)
    result.stdout.fnmatch_lines(["*UsageError: run_agent_against() starts its own trio run*"])


def test_changed_agent_fails_with_the_report(project: pytest.Pytester) -> None:
    """An agent whose text changed fails the test with the word diff of the agent text."""
    project.makepyfile(
        test_agent=f"""
        def test_changed(acp_golden):
            acp_golden("golden.ndjson", agent=[{sys.executable!r}, "sample_agent.py"])
        """
    )
    result = project.runpytest_inprocess("-p", "no:cacheprovider")
    result.assert_outcomes(failed=1)
    result.stdout.fnmatch_lines(
        [
            "*1 difference(s) between *golden.ndjson and the live agent",
            "session 1 turn 1: agent text",
        ]
    )
    assert "    This is the acp-tap [-demo-] {+sample+} agent." in result.stdout.str()
    result.stdout.fnmatch_lines(["*Captured agent stderr call*", "*<- session/prompt (id 2)"])


def test_missing_agent_fails_with_advice(pytester: pytest.Pytester) -> None:
    """Without any agent configured, the test fails saying how to name one."""
    pytester.makeini(f"[pytest]\ntrio_mode = true\n{LOOP_SCOPE}")
    pytester.makepyfile(
        test_agent="""
        def test_no_agent(acp_golden):
            acp_golden("golden.ndjson")
        """
    )
    result = pytester.runpytest_inprocess("-p", "no:cacheprovider")
    result.assert_outcomes(failed=1)
    result.stdout.fnmatch_lines(["*acp_golden needs the agent*--acp-agent*"])


def test_assert_agent_matches_raises_with_the_report(tmp_path: Path) -> None:
    """The plain helper: returns the result when the same, raises AgentChangedError if not."""
    fixture = FIXTURES / "handshake.ndjson"
    assert assert_agent_matches(fixture, [*DEMO, "--seed", "7"], timeout=10).same
    sample = tmp_path / "sample_agent.py"
    sample.write_text(SAMPLE_AGENT)
    changed = run_agent_against(FIXTURES / "prompt-turn.ndjson", [sys.executable, str(sample)])
    assert changed.status == 1
    with pytest.raises(AgentChangedError, match="agent text"):
        changed.assert_same()
