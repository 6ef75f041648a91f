"""``acp-tap rerun``: recorded clients played into real agent processes."""

from __future__ import annotations

import os
import textwrap
import time
from pathlib import Path

import pytest
import trio

from acp_tap.demo.client import handshake, record_argv, run_script, text_prompt
from acp_tap.rerun.client import rerun
from acp_tap.rerun.engine import ClientReplayEngine
from acp_tap.rerun.result import ClientReplayResult
from tests.helpers import PYTHON, python_agent, run_cli

ROOT = Path(__file__).parent.parent
FIXTURES = ROOT / "fixtures"
DEMO = [PYTHON, "-m", "acp_tap.demo.agent"]
SDK_AGENT = [PYTHON, str(ROOT / "tests" / "peers" / "sdk_agent.py")]
CWD = "/home/user/project"

RUNS: list[tuple[str, int | None]] = [
    (f.stem, 1)
    for f in sorted(FIXTURES.glob("*.ndjson"))
    if f.stem not in ("sdk-agent", "hostile-text")  # not recorded from the demo agent
]
RUNS += [(name, 7) for name, _ in RUNS] + [("sdk-agent", None)]
"""Each demo fixture against the demo agent as recorded (seed 1) and with other ids (seed 7)."""


def agent_for(name: str, seed: int | None) -> list[str]:
    """The agent a fixture was recorded from (the demo agent with ``seed``)."""
    return SDK_AGENT if seed is None else [*DEMO, "--seed", str(seed)]


Runs = dict[tuple[str, int | None], ClientReplayResult]


@pytest.fixture(scope="module")
def fixture_runs() -> Runs:
    """Every fixture replayed against a fresh agent process (the API behind the command),
    a few at a time."""
    results: Runs = {}
    limiter = trio.CapacityLimiter(4)

    async def run(name: str, seed: int | None) -> None:
        async with limiter:
            engine = ClientReplayEngine.from_path(FIXTURES / f"{name}.ndjson")
            results[(name, seed)] = await rerun(engine, agent_for(name, seed))

    async def run_all() -> None:
        with trio.fail_after(60):
            async with trio.open_nursery() as nursery:
                for name, seed in RUNS:
                    nursery.start_soon(run, name, seed)

    trio.run(run_all)
    return results


@pytest.mark.parametrize(("name", "seed"), RUNS, ids=[f"{n}-seed{s}" if s else n for n, s in RUNS])
def test_fixture_replayed_against_a_fresh_agent_shows_no_difference(
    fixture_runs: Runs, name: str, seed: int | None
) -> None:
    """The recorded client against a new process of its agent: no differences."""
    outcome = fixture_runs[(name, seed)]
    assert (outcome.status, outcome.render()) == (0, "")
    assert outcome.exit_status == (3 if name == "agent-crash" else 0)


def test_command_reports_no_differences_for_a_fixture() -> None:
    """The command itself: exit 0, nothing on stdout, the verdict on stderr."""
    fixture = FIXTURES / "session-load.ndjson"
    done = run_cli(["rerun", fixture, "--timeout", "10", "--", *DEMO, "--seed", "7"])
    assert (done.returncode, done.stdout) == (0, b""), done.stdout.decode()
    assert (
        done.stderr.decode()
        == f"acp-tap rerun: no differences between {fixture} and the live agent\n"
    )


def write_agent(path: Path, code: str) -> list[str]:
    """A small agent script wrapping the demo agent; its argv."""
    path.write_text(textwrap.dedent(code))
    return [PYTHON, str(path)]


SAMPLE_AGENT = """
    import sys
    import acp_tap.demo.agent as demo
    import acp_tap.demo.scenarios as scenarios
    original = scenarios.chunks
    scenarios.chunks = lambda text, words=3: original(
        text.replace("demo agent", "sample agent"), words
    )
    demo.AGENT_INFO["version"] = "9.9"
    sys.exit(demo.main(sys.argv[1:]))
"""

HANGING_AGENT = """
    import sys
    import trio
    import acp_tap.demo.agent as demo

    async def hang(self, session, turn, text):
        await trio.sleep_forever()

    demo.DemoAgent._play = hang
    sys.exit(demo.main(sys.argv[1:]))
"""


def test_modified_agent_reports_exactly_what_changed(tmp_path: Path) -> None:
    """An agent whose text and version changed: exit 1 and the exact change lines."""
    agent = write_agent(tmp_path / "sample.py", SAMPLE_AGENT)
    done = run_cli(["rerun", FIXTURES / "prompt-turn.ndjson", "--", *agent])
    assert done.returncode == 1, done.stderr.decode()
    assert done.stdout.decode().splitlines() == [
        "handshake: agent.agentInfo.version",
        "    - '0.1.0'",
        "    + '9.9'",
        "session 1 turn 1: agent text",
        "    This is the acp-tap [-demo-] {+sample+} agent. You said: 'Explain what acp-tap ...",
    ]
    assert b"2 difference(s) between" in done.stderr


def test_ignored_paths_hide_a_change(tmp_path: Path) -> None:
    """--ignore result.agentInfo.version accepts the new version; the text still differs."""
    agent = write_agent(tmp_path / "sample.py", SAMPLE_AGENT)
    cassette = FIXTURES / "handshake.ndjson"
    done = run_cli(["rerun", cassette, "--ignore", "result.agentInfo.version", "--", *agent])
    assert (done.returncode, done.stdout) == (0, b""), done.stdout.decode()


def test_crashing_agent_is_reported_with_its_status_and_stderr() -> None:
    """An agent exiting after its first line: exit 1, the problem, and its last stderr line."""
    agent = python_agent(
        "import sys; sys.stdin.readline(); sys.stderr.write('panic: boom\\n'); sys.exit(5)"
    )
    done = run_cli(["rerun", FIXTURES / "prompt-turn.ndjson", "--", *agent])
    out = done.stdout.decode().splitlines()
    assert done.returncode == 1
    assert out[:3] == [
        "problem: the agent exited with status 5 while frame #1 initialize was waiting for an answer",
        "agent stderr (last 1 lines):",
        "    panic: boom",
    ]
    assert "exit: status" in out


def test_hanging_agent_is_stopped_within_the_timeout(tmp_path: Path) -> None:
    """An agent that never answers the prompt: a bounded run, exit 1 and a clear problem."""
    agent = write_agent(tmp_path / "hang.py", HANGING_AGENT)
    started = time.monotonic()
    done = run_cli(["rerun", FIXTURES / "prompt-turn.ndjson", "--timeout", "1", "--", *agent])
    assert time.monotonic() - started < 10
    assert done.returncode == 1
    assert done.stdout.decode().splitlines()[0] == (
        "problem: the agent did not answer frame #8 session/prompt within 1 s; "
        "the agent was stopped"
    )


@pytest.mark.parametrize("record", [False, True], ids=["direct", "recorded"])
def test_missing_agent_is_exit_2(tmp_path: Path, record: bool) -> None:
    """An agent command that does not exist: exit 2 and a one-line error."""
    output = ["-o", str(tmp_path / "live.ndjson")] if record else []
    done = run_cli(["rerun", FIXTURES / "handshake.ndjson", *output, "--", "no-such-agent-xyz"])
    assert done.returncode == 2
    assert b"agent command not found: 'no-such-agent-xyz'" in done.stderr
    assert not (tmp_path / "live.ndjson").exists()


def test_usage_errors_are_exit_2(tmp_path: Path) -> None:
    """No agent command, or an unreadable cassette: exit 2."""
    assert run_cli(["rerun", FIXTURES / "handshake.ndjson"]).returncode == 2
    done = run_cli(["rerun", tmp_path / "missing.ndjson", "--", *DEMO])
    assert done.returncode == 2
    assert b"cannot read" in done.stderr


def test_live_run_recorded_with_o_diffs_clean(tmp_path: Path) -> None:
    """-o records the live run; 'acp-tap diff' against the fixture finds nothing either."""
    live = tmp_path / "live.ndjson"
    fixture = FIXTURES / "permission-allowed.ndjson"
    done = run_cli(["rerun", fixture, "-o", live, "--", *DEMO, "--seed", "7"])
    assert done.returncode == 0, done.stdout.decode()
    assert b'"sessionId":"e00931f9' not in live.read_bytes()  # seed 7: other ids
    assert run_cli(["diff", fixture, live]).returncode == 0
    again = run_cli(["rerun", fixture, "-o", live, "--", *DEMO])
    assert again.returncode == 2
    assert b"pass --force" in again.stderr


def test_relocated_checkout_with_written_files(tmp_path: Path) -> None:
    """--cwd runs the agent in another directory; --write-dir receives what it wrote."""
    checkout, written = tmp_path / "checkout", tmp_path / "written"
    checkout.mkdir()
    fixture = FIXTURES / "permission-allowed.ndjson"
    options: list[str | os.PathLike[str]] = [
        "--cwd",
        checkout,
        "--write-dir",
        written,
        "-o",
        tmp_path / "l.ndjson",
    ]
    done = run_cli(["rerun", fixture, *options, "--", *DEMO])
    assert done.returncode == 0, done.stdout.decode()
    assert (written / "acp-tap-demo.txt").read_text() == "Hello from the acp-tap demo agent.\n"
    assert f'"cwd":"{checkout}"'.encode() in (tmp_path / "l.ndjson").read_bytes()


def test_fs_root_serves_the_checkouts_files(tmp_path: Path) -> None:
    """--fs-root serves reads from a directory: other content shows in the report."""
    (tmp_path / "notes.md").write_text("just one line\n")
    done = run_cli(["rerun", FIXTURES / "fs-read.ndjson", "--fs-root", tmp_path, "--", *DEMO])
    assert done.returncode == 1
    out = done.stdout.decode()
    assert "session 1 turn 1: tool call 1 content" in out
    assert f"+ '{CWD}/notes.md has 1 lines and 14 characters'" in out


async def record_sdk_cancel(cassette: Path) -> None:
    """Record the SDK agent: a slow prompt cancelled after its first chunk."""

    async def script(client: object) -> None:
        from acp_tap.demo.client import ScriptedClient

        assert isinstance(client, ScriptedClient)
        session = await handshake(client, CWD)
        async with trio.open_nursery() as nursery:

            async def cancel() -> None:
                await client.wait_updates(1)
                await client.notify("session/cancel", {"sessionId": session})

            nursery.start_soon(cancel)
            answer = await client.request("session/prompt", text_prompt(session, "slow please"))
            assert answer == {"stopReason": "cancelled"}

    with trio.fail_after(30):
        status, _ = await run_script(record_argv(cassette, SDK_AGENT), script)
    assert status == 0


def test_fresh_sdk_recording_with_a_cancel_replays_the_same(tmp_path: Path) -> None:
    """Record the SDK agent cancelled mid-turn, replay against a new process: the same."""
    cassette = tmp_path / "sdk-cancel.ndjson"
    trio.run(record_sdk_cancel, cassette)
    done = run_cli(["rerun", cassette, "--json", "--", *SDK_AGENT])
    assert (done.returncode, done.stdout) == (0, b""), done.stdout.decode()


def test_fs_root_never_reads_through_a_link_out_of_it(tmp_path: Path) -> None:
    """A symbolic link inside --fs-root does not serve a file from outside it."""
    root, secret = tmp_path / "root", tmp_path / "secret.txt"
    root.mkdir()
    secret.write_text("outside the root\n")
    (root / "notes.md").symlink_to(secret)
    done = run_cli(["rerun", FIXTURES / "fs-read.ndjson", "--fs-root", root, "--", *DEMO])
    out = done.stdout.decode()
    assert done.returncode == 1
    assert "outside the root" not in out
    assert "problem: --fs-root: notes.md was not read: notes.md is a symbolic link" in out


def test_write_dir_never_writes_through_a_link(tmp_path: Path) -> None:
    """A symbolic link inside --write-dir is not written through; the run says so."""
    written, outside = tmp_path / "written", tmp_path / "outside.txt"
    written.mkdir()
    outside.write_text("untouched\n")
    (written / "acp-tap-demo.txt").symlink_to(outside)
    fixture = FIXTURES / "permission-allowed.ndjson"
    done = run_cli(["rerun", fixture, "--write-dir", written, "--", *DEMO])
    assert outside.read_text() == "untouched\n"
    assert done.returncode == 1
    assert b"problem: --write-dir: acp-tap-demo.txt was not written" in done.stdout


def test_confined_files_refuse_every_linked_component(tmp_path: Path) -> None:
    """Each component below the root is opened without following links, both ways."""
    from acp_tap.rerun.confined import Outside, read_inside, write_inside

    root, outside = tmp_path / "root", tmp_path / "outside"
    root.mkdir()
    outside.mkdir()
    (outside / "hostname").write_text("elsewhere\n")
    (root / "rlink").symlink_to(outside)
    (root / "real").mkdir()
    (root / "real" / "ok.txt").write_text("inside\n")
    assert read_inside(root, "real/ok.txt") == "inside\n"
    with pytest.raises(Outside):
        read_inside(root, "rlink/hostname")
    with pytest.raises(Outside):
        write_inside(root, "rlink/new.txt", "x")
    assert not (outside / "new.txt").exists()
    write_inside(root, "made/deep/file.txt", "written\n")
    assert (root / "made" / "deep" / "file.txt").read_text() == "written\n"
