"""The pytest plugin, exercised through ``pytester`` on example test files."""

from __future__ import annotations

import shutil
import sys
from pathlib import Path

import pytest

from acp_tap.cassette.reader import load

FIXTURES = Path(__file__).parent.parent / "fixtures"


def seq_of(method: str) -> int:
    """The frame number of the client's ``method`` request in the prompt-turn fixture."""
    cassette = load(FIXTURES / "prompt-turn.ndjson")
    return next(f.seq for f in cassette.frames if f.is_json and f.message().get("method") == method)


SESSION = "e00931f9-b555-49fc-abec-ca568b0d0998"  # the demo agent's first session id (seed 1)

INI = """
[pytest]
trio_mode = true
"""

CLIENT = f'''
import json
import trio
import pytest
from acp_tap.demo.client import ScriptedClient, handshake, text_prompt


async def converse(acp_agent, prompt="Explain what acp-tap does"):
    async with acp_agent.connect() as stream:
        client = ScriptedClient(stream, stream)
        async with trio.open_nursery() as nursery:
            nursery.start_soon(client.run_reader)
            session = await handshake(client, "/home/user/project")
            assert session == "{SESSION}"
            await client.request("session/prompt", text_prompt(session, prompt))
            await stream.send_eof()


LINES = [
    {{"jsonrpc": "2.0", "id": 0, "method": "initialize", "params": {{"protocolVersion": 1,
      "clientCapabilities": {{"fs": {{"readTextFile": True, "writeTextFile": True}}, "terminal": True}},
      "clientInfo": {{"name": "acp-tap-scripted-client", "version": "1"}}}}}},
    {{"jsonrpc": "2.0", "id": 1, "method": "session/new", "params": {{"cwd": "/home/user/project", "mcpServers": []}}}},
    {{"jsonrpc": "2.0", "id": 2, "method": "session/prompt", "params": {{"sessionId": "{SESSION}",
      "prompt": [{{"type": "text", "text": "Explain what acp-tap does"}}]}}}},
]
'''


@pytest.fixture
def project(pytester: pytest.Pytester) -> pytest.Pytester:
    """A test project with the prompt-turn fixture as its cassette and a tiny client."""
    pytester.makeini(INI)
    pytester.makepyfile(client_support=CLIENT)
    cassettes = pytester.path / "cassettes" / "test_client"
    cassettes.mkdir(parents=True)
    shutil.copy(FIXTURES / "prompt-turn.ndjson", cassettes / "prompt-turn.ndjson")
    return pytester


def test_in_process_client_passes_and_sees_the_transcript(project: pytest.Pytester) -> None:
    """A trio client on the in-process stream passes and can assert on the joined agent text."""
    project.makepyfile(
        test_client="""
        import pytest
        from client_support import converse

        @pytest.mark.acp_cassette("prompt-turn.ndjson")
        async def test_answer(acp_agent):
            await converse(acp_agent)
            turn = acp_agent.transcript.turns[-1]
            assert turn.prompt == "Explain what acp-tap does"
            assert turn.stop_reason == "end_turn"
            assert "Explain what acp-tap does" in turn.agent_text
            assert [m.get("method") for m in acp_agent.transcript.client_messages] == [
                "initialize", "session/new", "session/prompt"]
        """
    )
    result = project.runpytest_subprocess("-p", "no:cacheprovider")
    result.assert_outcomes(passed=1)


def test_subprocess_client_spawns_the_argv(project: pytest.Pytester) -> None:
    """A plain sync test spawns the fake agent's argv like any client in any language would."""
    project.makepyfile(
        test_client="""
        import json, subprocess
        import pytest
        from client_support import LINES

        @pytest.mark.acp_cassette("prompt-turn.ndjson")
        def test_spawned(acp_agent):
            data = "".join(json.dumps(m) + "\\n" for m in LINES).encode()
            done = subprocess.run(acp_agent.argv, input=data, capture_output=True, timeout=30)
            replies = [json.loads(line) for line in done.stdout.splitlines()]
            assert replies[-1] == {"jsonrpc": "2.0", "id": 2, "result": {"stopReason": "end_turn"}}
            assert acp_agent.transcript.turns[-1].stop_reason == "end_turn"
        """
    )
    result = project.runpytest_subprocess("-p", "no:cacheprovider")
    result.assert_outcomes(passed=1)


def test_wrong_prompt_fails_with_a_readable_diff(project: pytest.Pytester) -> None:
    """A client that sends another prompt fails the test, naming the frame and the field."""
    project.makepyfile(
        test_client="""
        import pytest
        from client_support import converse

        @pytest.mark.acp_cassette("prompt-turn.ndjson")
        async def test_answer(acp_agent):
            try:
                await converse(acp_agent, prompt="Explain something else")
            except Exception:
                pass  # the client sees a JSON-RPC error; the plugin reports the mismatch
        """
    )
    result = project.runpytest_subprocess("-p", "no:cacheprovider")
    result.assert_outcomes(failed=1)
    result.stdout.fnmatch_lines(
        [
            "*replay 1 of *prompt-turn.ndjson: exit status 1, expected 0*",
            f"*closest recorded: frame #{seq_of('session/prompt')} session/prompt*",
            "*params.prompt?0?.text:*",
            "*Explain what acp-tap does*",
            "*Explain something else*",
        ]
    )


def test_unused_recorded_messages_fail_the_test(project: pytest.Pytester) -> None:
    """A client that stops early leaves recorded messages unused: the test fails and lists them."""
    project.makepyfile(
        test_client="""
        import pytest
        from acp_tap.demo.client import ScriptedClient
        import trio

        @pytest.mark.acp_cassette("prompt-turn.ndjson")
        async def test_only_initialize(acp_agent):
            async with acp_agent.connect() as stream:
                client = ScriptedClient(stream, stream)
                async with trio.open_nursery() as nursery:
                    nursery.start_soon(client.run_reader)
                    await client.request("initialize", {"protocolVersion": 1, "clientCapabilities": {"fs": {"readTextFile": True, "writeTextFile": True}, "terminal": True}, "clientInfo": {"name": "acp-tap-scripted-client", "version": "1"}})
                    await stream.send_eof()
        """
    )
    result = project.runpytest_subprocess("-p", "no:cacheprovider")
    result.assert_outcomes(failed=1)
    new, prompt = (seq_of(method) for method in ("session/new", "session/prompt"))
    result.stdout.fnmatch_lines(
        ["*unused*", f"*#{new} session/new*", f"*#{prompt} session/prompt*"]
    )


def test_missing_cassette_fails_without_starting_an_agent(project: pytest.Pytester) -> None:
    """In record mode none a missing cassette fails and says how to record it."""
    project.makepyfile(
        test_client="""
        def test_new(acp_agent):
            raise AssertionError("not reached")
        """
    )
    result = project.runpytest_subprocess("-p", "no:cacheprovider")
    result.assert_outcomes(errors=1)
    result.stdout.fnmatch_lines(
        ["*cassettes/test_client/test_new.ndjson does not exist*--acp-record-mode=once*"]
    )


def test_record_mode_once_writes_the_cassette_then_replays_it(project: pytest.Pytester) -> None:
    """--acp-record-mode=once records a missing cassette from the real agent; the next run replays it."""
    project.makepyfile(
        test_client="""
        from client_support import converse

        async def test_recorded(acp_agent):
            await converse(acp_agent)
            assert acp_agent.transcript.turns[-1].stop_reason == "end_turn"
        """
    )
    agent = f"{sys.executable} -m acp_tap demo-agent"
    recorded = project.runpytest_subprocess(
        "-p", "no:cacheprovider", "--acp-record-mode=once", f"--acp-agent={agent}"
    )
    recorded.assert_outcomes(passed=1)
    recorded.stdout.fnmatch_lines(
        ["*acp-tap*", "*recorded *cassettes/test_client/test_recorded.ndjson*"]
    )
    assert (project.path / "cassettes" / "test_client" / "test_recorded.ndjson").exists()
    replayed = project.runpytest_subprocess("-p", "no:cacheprovider")
    replayed.assert_outcomes(passed=1)


def test_parallel_runs_under_xdist(project: pytest.Pytester) -> None:
    """Many replaying tests run under pytest-xdist without sharing files or names."""
    project.makepyfile(
        test_client="""
        import pytest
        from client_support import converse

        @pytest.mark.acp_cassette("prompt-turn.ndjson")
        @pytest.mark.parametrize("n", range(6))
        async def test_answer(acp_agent, n):
            await converse(acp_agent)
        """
    )
    result = project.runpytest_subprocess("-p", "no:cacheprovider", "-n", "2")
    result.assert_outcomes(passed=6)


def test_record_mode_new_rerecords_a_cassette_that_no_longer_matches(
    project: pytest.Pytester,
) -> None:
    """--acp-record-mode=new re-records a cassette whose replay failed, and the test passes."""
    project.makepyfile(
        test_client="""
        import pytest
        from client_support import converse

        @pytest.mark.acp_cassette("prompt-turn.ndjson")
        async def test_changed(acp_agent):
            await converse(acp_agent, prompt="A brand new question")
            if acp_agent.recording:
                assert acp_agent.transcript.turns[-1].prompt == "A brand new question"
        """
    )
    agent = f"{sys.executable} -m acp_tap demo-agent"
    result = project.runpytest_subprocess(
        "-p", "no:cacheprovider", "--acp-record-mode=new", f"--acp-agent={agent}"
    )
    result.assert_outcomes(passed=1)
    cassette = project.path / "cassettes" / "test_client" / "prompt-turn.ndjson"
    assert "A brand new question" in cassette.read_text()
    project.runpytest_subprocess("-p", "no:cacheprovider").assert_outcomes(passed=1)


def test_record_mode_all_always_records(project: pytest.Pytester) -> None:
    """--acp-record-mode=all records even when the cassette exists (the agent from the ini file)."""
    project.makeini(INI + f"acp_agent = {sys.executable} -m acp_tap demo-agent\n")
    project.makepyfile(
        test_client="""
        import pytest
        from client_support import converse

        @pytest.mark.acp_cassette("prompt-turn.ndjson")
        async def test_again(acp_agent):
            assert acp_agent.recording
            await converse(acp_agent)
        """
    )
    cassette = project.path / "cassettes" / "test_client" / "prompt-turn.ndjson"
    before = cassette.read_text().splitlines()[0]
    result = project.runpytest_subprocess("-p", "no:cacheprovider", "--acp-record-mode=all")
    result.assert_outcomes(passed=1)
    assert cassette.read_text().splitlines()[0] != before  # a new header: recorded again


def test_the_readme_example_passes(pytester: pytest.Pytester) -> None:
    """The plugin example in README.md runs as documented and passes."""
    readme = (Path(__file__).parent.parent / "README.md").read_text()
    example = readme.split("```python\n# test_example.py\n", 1)[1].split("```", 1)[0]
    pytester.makeini(INI)
    pytester.makepyfile(test_example=example)
    cassettes = pytester.path / "cassettes" / "test_example"
    cassettes.mkdir(parents=True)
    shutil.copy(FIXTURES / "prompt-turn.ndjson", cassettes / "prompt-turn.ndjson")
    pytester.runpytest_subprocess("-p", "no:cacheprovider").assert_outcomes(passed=2)


def test_a_stalled_in_process_client_fails_within_the_stall_timeout(
    project: pytest.Pytester,
) -> None:
    """A client waiting for the turn without prompting gets end of file once the replay
    stalls; the test fails fast with what was held and why, never by pytest-timeout."""
    project.makepyfile(
        test_client="""
        import json
        import pytest, trio
        from client_support import LINES

        @pytest.mark.acp_cassette("prompt-turn.ndjson", stall_timeout=0.5)
        async def test_waits_for_the_turn(acp_agent):
            async with acp_agent.connect() as stream:
                for line in LINES[:2]:  # initialize and session/new, never the prompt
                    await stream.send_all(json.dumps(line).encode() + b"\\n")
                with trio.fail_after(10):
                    while await stream.receive_some():  # until the replay ends: EOF
                        pass
        """
    )
    result = project.runpytest_subprocess("-p", "no:cacheprovider", "--durations=1")
    result.assert_outcomes(failed=1)
    result.stdout.fnmatch_lines(
        [
            "*stall: the client sent nothing for 0.5 s*recorded after session/prompt "
            "(frame #8), which has not arrived*the replay ends*"
        ]
    )
    durations = [line for line in result.stdout.lines if "call" in line and "test_waits" in line]
    assert durations and float(durations[0].split("s")[0]) < 2.5


def test_a_stalled_spawned_client_fails_within_the_stall_timeout(project: pytest.Pytester) -> None:
    """The same with a client in another process: the spawned replay exits, the client sees EOF."""
    project.makepyfile(
        test_client="""
        import json, subprocess
        import pytest
        from client_support import LINES

        @pytest.mark.acp_cassette("prompt-turn.ndjson")
        def test_waits_for_the_turn(acp_agent):
            proc = subprocess.Popen(acp_agent.argv, stdin=subprocess.PIPE, stdout=subprocess.PIPE)
            for line in LINES[:2]:
                proc.stdin.write(json.dumps(line).encode() + b"\\n")
            proc.stdin.flush()
            out = proc.stdout.read()  # until the replay ends
            proc.wait(timeout=10)
            assert out.count(b"\\n") >= 2
        """
    )
    result = project.runpytest_subprocess(
        "-p", "no:cacheprovider", "--acp-stall-timeout=0.5", "--durations=1"
    )
    result.assert_outcomes(failed=1)
    result.stdout.fnmatch_lines(["*exit status 1, expected 0*", "*stall: *which has not arrived*"])


def test_a_client_that_never_closes_stdin_is_reported_quickly(project: pytest.Pytester) -> None:
    """A spawned replay still running when the test ends is waited for once (2 s), stopped,
    and reported as a client that never closed the agent's stdin."""
    project.makepyfile(
        test_client="""
        import json, subprocess
        import pytest
        from client_support import LINES

        LEFT = []

        @pytest.mark.acp_cassette("prompt-turn.ndjson", stall_timeout=0)
        def test_leaves_it_open(acp_agent):
            proc = subprocess.Popen(acp_agent.argv, stdin=subprocess.PIPE, stdout=subprocess.PIPE)
            proc.stdin.write(json.dumps(LINES[0]).encode() + b"\\n")
            proc.stdin.flush()
            proc.stdout.readline()
            LEFT.append(proc)
        """
    )
    result = project.runpytest_subprocess("-p", "no:cacheprovider", "--durations=1")
    result.assert_outcomes(failed=1)
    result.stdout.fnmatch_lines(
        [
            "*the client never closed the agent's stdin: replay process * was still running "
            "2 s after the test ended*",
            "*stopped by SIGTERM*",
        ]
    )
    assert "never finished" not in result.stdout.str()


@pytest.mark.parametrize(
    ("ini", "marker", "option", "expected"),
    [
        ("3", None, None, 3.0),
        ("3", 2.0, None, 2.0),
        ("3", 2.0, "1.5", 1.5),
        (None, None, None, 1.0),
    ],
)
def test_stall_timeout_precedence(
    pytester: pytest.Pytester,
    ini: str | None,
    marker: float | None,
    option: str | None,
    expected: float,
) -> None:
    """Command line > marker > ini > the default of 1 s."""
    pytester.makeini(INI + (f"acp_stall_timeout = {ini}\n" if ini else ""))
    mark = f"@pytest.mark.acp_cassette(stall_timeout={marker})" if marker is not None else ""
    pytester.makepyfile(
        test_it=f"""
        import pytest
        from acp_tap.pytest_plugin import _options

        {mark}
        def test_it(request):
            marker = request.node.get_closest_marker("acp_cassette")
            assert _options(request.config, marker).stall_timeout == {expected}
        """
    )
    args = ["-p", "no:cacheprovider"] + ([f"--acp-stall-timeout={option}"] if option else [])
    pytester.runpytest_subprocess(*args).assert_outcomes(passed=1)


def test_allow_unused_passes_a_client_that_stops_early(project: pytest.Pytester) -> None:
    """With allow_unused, messages the client never sent are reported, not a failure."""
    project.makepyfile(
        test_client="""
        import json, subprocess
        import pytest
        from client_support import LINES

        @pytest.mark.acp_cassette("prompt-turn.ndjson", allow_unused=True)
        def test_only_initialize(acp_agent):
            data = json.dumps(LINES[0]).encode() + b"\\n"
            subprocess.run(acp_agent.argv, input=data, capture_output=True, timeout=30)
        """
    )
    project.runpytest_subprocess("-p", "no:cacheprovider").assert_outcomes(passed=1)
