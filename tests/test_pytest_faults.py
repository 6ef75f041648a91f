"""The pytest plugin with faults: the marker, ``acp_agent.faults``, spawned clients that end a
hung agent, and the README's virtual-time example."""

from __future__ import annotations

import shutil
from pathlib import Path

import pytest

from tests.test_pytest_plugin import FIXTURES, INI, project

__all__ = ["project"]  # the fixture, shared with test_pytest_plugin


def test_a_marker_fault_is_reported_and_its_exit_status_accepted(project: pytest.Pytester) -> None:
    """faults= in the marker: the client sees the crash, the test passes, the report names it."""
    project.makepyfile(
        test_client="""
        import pytest
        from client_support import converse
        from acp_tap.demo.client import AgentGone

        @pytest.mark.acp_cassette("prompt-turn.ndjson", faults=["crash:status=9,method=session/prompt"])
        async def test_crash(acp_agent):
            gone = False
            try:
                await converse(acp_agent)
            except* AgentGone:
                gone = True
            assert gone
            assert [run.status for run in acp_agent.runs()] == [9]
            assert "the agent exits with status 9" in acp_agent.fired[0]
            assert False, "show the report"
        """
    )
    result = project.runpytest_subprocess("-p", "no:cacheprovider")
    result.assert_outcomes(failed=1)
    result.stdout.fnmatch_lines(
        [
            "*Captured acp-tap faults call*",
            "fault 1 (crash:status=9,method=session/prompt) at frame #19 the answer to "
            "session/prompt: the agent exits with status 9 instead of sending it",
        ]
    )
    assert "replay 1 of" not in result.stdout.str()  # no mismatch: the exit status is the fault's


def test_faults_set_on_the_fixture_reach_a_spawned_replay(project: pytest.Pytester) -> None:
    """acp_agent.faults before spawning: the argv carries them; the client kills the hung
    agent at its own timeout, and the plugin accepts that."""
    project.makepyfile(
        test_client="""
        import json, subprocess, time
        from client_support import LINES

        import pytest

        @pytest.mark.acp_cassette("prompt-turn.ndjson")
        def test_hang(acp_agent):
            acp_agent.faults = ["hang:method=session/prompt"]
            assert acp_agent.argv[-4:-2] == ["--fault", "hang:method=session/prompt"]
            proc = subprocess.Popen(acp_agent.argv, stdin=subprocess.PIPE, stdout=subprocess.PIPE)
            proc.stdin.write("".join(json.dumps(m) + "\\n" for m in LINES).encode())
            proc.stdin.flush()
            seen = [json.loads(proc.stdout.readline())["id"] for _ in range(2)]
            assert seen == [0, 1]
            time.sleep(0.5)  # the client's own timeout: no answer to the prompt
            proc.kill()
            proc.wait(timeout=10)
        """
    )
    result = project.runpytest_subprocess("-p", "no:cacheprovider")
    result.assert_outcomes(passed=1)


def test_a_hung_replay_left_open_is_stopped_without_complaint(project: pytest.Pytester) -> None:
    """A client that closes stdin and leaves: the hung replay lingers, and the plugin stops
    it at once without calling the client careless."""
    project.makepyfile(
        test_client="""
        import json, subprocess
        from client_support import LINES

        import pytest

        @pytest.mark.acp_cassette("prompt-turn.ndjson")
        def test_hang(acp_agent):
            acp_agent.faults = ["hang:method=session/prompt"]
            proc = subprocess.Popen(acp_agent.argv, stdin=subprocess.PIPE, stdout=subprocess.PIPE)
            proc.stdin.write("".join(json.dumps(m) + "\\n" for m in LINES).encode())
            proc.stdin.flush()
            assert json.loads(proc.stdout.readline())["id"] == 0
            proc.stdin.close()  # and leave, the agent still running
        """
    )
    result = project.runpytest_subprocess("-p", "no:cacheprovider", "--durations=1")
    result.assert_outcomes(passed=1)
    assert "never closed" not in result.stdout.str()


def test_a_bad_fault_in_the_marker_fails_the_test_in_one_line(project: pytest.Pytester) -> None:
    """A misspelt kind fails the test with the usual one-line message, not a traceback."""
    project.makepyfile(
        test_client="""
        import pytest

        @pytest.mark.acp_cassette("prompt-turn.ndjson", faults=["dleay:ms=5"])
        def test_it(acp_agent):
            pass
        """
    )
    result = project.runpytest_subprocess("-p", "no:cacheprovider")
    result.assert_outcomes(errors=1)
    result.stdout.fnmatch_lines(
        ["*acp-tap: acp_cassette(faults=...): --fault 'dleay:ms=5': unknown kind 'dleay'*"]
    )


def test_the_readme_virtual_time_example_passes(pytester: pytest.Pytester) -> None:
    """The faults and virtual time example in README.md runs as documented, in well under
    the 60 s its client waits."""
    readme = (Path(__file__).parent.parent / "README.md").read_text()
    example = readme.split("```python\n# test_timeouts.py\n", 1)[1].split("```", 1)[0]
    pytester.makepyfile(test_timeouts=example)
    cassettes = pytester.path / "cassettes" / "test_timeouts"
    cassettes.mkdir(parents=True)
    shutil.copy(FIXTURES / "prompt-turn.ndjson", cassettes / "prompt-turn.ndjson")
    result = pytester.runpytest_subprocess("-p", "no:cacheprovider", "--durations=1")
    result.assert_outcomes(passed=1)
    assert INI  # the example needs no ini file: it marks itself for pytest-trio


def test_pacing_options_in_the_marker(project: pytest.Pytester) -> None:
    """realtime=True is speed 1; speed=X is taken as given; a bad speed is a usage error."""
    project.makepyfile(
        test_client="""
        import pytest

        @pytest.mark.acp_cassette("prompt-turn.ndjson", realtime=True, fault_seed=3)
        def test_realtime(acp_agent):
            assert (acp_agent.options.speed, acp_agent.options.fault_seed) == (1.0, 3)
            assert "--speed" in acp_agent.argv and "--fault-seed" in acp_agent.argv
            acp_agent.faults = ["drop:p=0.5"]
            assert acp_agent.argv[acp_agent.argv.index("--fault") + 1] == "drop:p=0.5"
            pytest.skip("nothing to replay")

        @pytest.mark.acp_cassette("prompt-turn.ndjson", speed=0)
        def test_bad_speed(acp_agent):
            pass
        """
    )
    result = project.runpytest_subprocess("-p", "no:cacheprovider")
    result.assert_outcomes(skipped=1, errors=1)
    result.stdout.fnmatch_lines(["*acp_cassette: speed must be a positive number, not 0*"])
