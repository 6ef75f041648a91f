"""The pytest plugin's traces: --acp-trace writes the page of what each replay saw."""

from __future__ import annotations

import json
import shutil

import pytest

from tests.browser_support import assert_offline, open_page
from tests.chromium import Chromium
from tests.test_pytest_plugin import CLIENT, FIXTURES, INI

TESTS = """
import pytest
from client_support import converse

@pytest.mark.acp_cassette("prompt-turn.ndjson")
async def test_right(acp_agent):
    await converse(acp_agent)

@pytest.mark.acp_cassette("prompt-turn.ndjson")
async def test_wrong(acp_agent):
    try:
        await converse(acp_agent, prompt="Explain something else")
    except Exception:
        pass
"""


@pytest.fixture
def project(pytester: pytest.Pytester) -> pytest.Pytester:
    """A project with two tests: one matches the cassette, one sends another prompt."""
    pytester.makeini(INI)
    pytester.makepyfile(client_support=CLIENT, test_client=TESTS)
    cassettes = pytester.path / "cassettes" / "test_client"
    cassettes.mkdir(parents=True)
    shutil.copy(FIXTURES / "prompt-turn.ndjson", cassettes / "prompt-turn.ndjson")
    return pytester


def traces(project: pytest.Pytester) -> list[str]:
    """The trace files written, by name."""
    folder = project.path / "acp-traces"
    return sorted(p.name for p in folder.iterdir()) if folder.exists() else []


def test_retain_on_failure_keeps_the_failing_tests_trace(project: pytest.Pytester) -> None:
    """Only the failing test keeps a trace, named after it; its failure report says where."""
    result = project.runpytest_subprocess("-p", "no:cacheprovider", "--acp-trace=retain-on-failure")
    result.assert_outcomes(passed=1, failed=1)
    assert traces(project) == ["test_client.py_test_wrong.html"]
    result.stdout.fnmatch_lines(["*trace: *acp-traces/test_client.py_test_wrong.html*"])
    page = (project.path / "acp-traces" / "test_client.py_test_wrong.html").read_text()
    model = json.loads(page.split('id="acp-model">', 1)[1].split("</script>", 1)[0])
    assert [t["label"] for t in model["tracks"]] == ["recorded", "live"]
    marks = [(m["track"], m["seq"], m["kind"]) for m in model["marks"]]
    assert marks == [(0, 8, "no-match"), (0, 8, "unused")]
    assert "closest is frame #8 session/prompt" in model["marks"][0]["text"]


def test_on_writes_every_tests_trace_and_a_later_pass_removes_a_stale_one(
    project: pytest.Pytester,
) -> None:
    """``on`` writes a trace per test (ini or command line); under retain-on-failure a
    passing test removes the trace a failing run left, so none misleads."""
    project.makeini(INI + "acp_trace = on\n")
    project.runpytest_subprocess("-p", "no:cacheprovider").assert_outcomes(passed=1, failed=1)
    assert traces(project) == ["test_client.py_test_right.html", "test_client.py_test_wrong.html"]
    project.makepyfile(
        test_client=TESTS.replace("Explain something else", "Explain what acp-tap does")
    )
    again = project.runpytest_subprocess("-p", "no:cacheprovider", "--acp-trace=retain-on-failure")
    again.assert_outcomes(passed=2)
    assert traces(project) == []


def test_off_writes_nothing(project: pytest.Pytester) -> None:
    """By default no trace is written."""
    project.runpytest_subprocess("-p", "no:cacheprovider").assert_outcomes(passed=1, failed=1)
    assert traces(project) == []


def test_a_trace_shows_the_live_run_beside_the_recording(
    browser: Chromium, project: pytest.Pytester
) -> None:
    """The page opens offline, both tracks drawn, the mismatch marked at the recorded frame."""
    project.runpytest_subprocess("-p", "no:cacheprovider", "--acp-trace=on", "-k", "wrong")
    page = open_page(browser, project.path / "acp-traces" / "test_client.py_test_wrong.html")
    heads = page.evaluate("[...document.querySelectorAll('.track-head')].map((n) => n.textContent)")
    assert len(heads) == 2 and heads[1].startswith("live")
    notice = page.evaluate("document.querySelector('.notice.mark').textContent")
    assert "no-match" in notice and "frame 8" in notice
    assert_offline(page)
    page.close()
