"""``acp-tap torture``: scenarios, the table, and real runs over the demo client and
deliberately fragile clients."""

from __future__ import annotations

import json
import shlex
import subprocess
import sys
from pathlib import Path
from typing import Any

import pytest

from acp_tap.replay.compiler import compile_plan
from acp_tap.replay.source import compile_path
from acp_tap.torture.run import closed_stdin, substitute
from acp_tap.torture.scenarios import Scenario, scenarios
from acp_tap.torture.table import Outcome, Table, summary, to_json
from tests.helpers import ACP_TAP, PYTHON, run_cli
from tests.replay_support import Recording, request, result

FIXTURES = Path(__file__).parent.parent / "fixtures"
PROMPT_TURN = FIXTURES / "prompt-turn.ndjson"
FRAGILE = Path(__file__).parent / "peers" / "fragile_client.py"
AT_UPDATE = "method=session/update,nth=1"


def test_scenarios_aim_at_the_first_update_of_the_first_turn() -> None:
    """The clean replay, then every kind; error at the prompt, hang and crash also at start."""
    plan, _ = compile_path(PROMPT_TURN)
    assert scenarios(plan) == [
        Scenario("clean"),
        Scenario("delay", f"delay:{AT_UPDATE}"),
        Scenario("slice", f"slice:{AT_UPDATE}"),
        Scenario("hang", f"hang:{AT_UPDATE}"),
        Scenario("hang@start", "hang:method=session/new"),
        Scenario("crash", f"crash:{AT_UPDATE}"),
        Scenario("crash@start", "crash:method=session/new"),
        Scenario("close", f"close:{AT_UPDATE}"),
        Scenario("drop", f"drop:{AT_UPDATE}"),
        Scenario("duplicate", f"duplicate:{AT_UPDATE}"),
        Scenario("garbage", f"garbage:{AT_UPDATE}"),
        Scenario("corrupt", f"corrupt:{AT_UPDATE}"),
        Scenario("error", "error:method=session/prompt"),
        Scenario("stderr", f"stderr:count=25000,{AT_UPDATE}"),
        Scenario("flood", f"flood:{AT_UPDATE}"),
    ]


def test_scenarios_without_a_prompt_aim_at_the_first_frame() -> None:
    """No prompt turn: the first frame; no session start; nothing to flood."""
    rec = Recording()
    rec.c2a(request(0, "initialize", {"protocolVersion": 1}))
    rec.a2c(result(0, {"protocolVersion": 1}))
    plan = compile_plan(rec.frames, rec.footer())
    chosen = {s.name: s.fault for s in scenarios(plan)}
    assert chosen["drop"] == "drop:nth=1"
    assert chosen["error"] == "error"
    assert "flood" not in chosen
    assert "hang@start" not in chosen


def test_agent_is_substituted_as_words_or_as_a_shell_line() -> None:
    """``{agent}`` alone becomes the words; inside an argument, the shell-quoted command."""
    words = ["python", "-m", "acp_tap", "replay", "/tmp/my cassette.ndjson"]
    assert substitute(["client", "{agent}", "-v"], words) == ["client", *words, "-v"]
    assert substitute(["acpx", "--agent", "{agent}"], words)[:2] == ["acpx", "--agent"]
    line = substitute(["acpx", "--agent={agent} --flag"], words)
    assert line == [
        "acpx",
        "--agent=python -m acp_tap replay '/tmp/my cassette.ndjson' --flag",
    ]
    assert shlex.split(line[1].removeprefix("--agent="))[:-1] == words


@pytest.mark.parametrize(
    ("events", "closed"),
    [
        pytest.param([], None, id="no agent ran"),
        pytest.param([("start", 1), ("end", 1, True, 0)], True, id="closed"),
        pytest.param([("start", 1), ("hung", 1)], True, id="closed, agent hung"),
        pytest.param([("start", 1)], False, id="still running"),
        pytest.param([("start", 1), ("end", 1, False, 143)], False, id="stopped"),
        pytest.param([("start", 1), ("end", 1, False, 3)], None, id="agent exited first"),
        pytest.param(
            [("start", 1), ("end", 1, False, 3), ("start", 2), ("end", 2, True, 0)],
            True,
            id="restarted after a crash",
        ),
    ],
)
def test_closed_stdin_from_the_replay_reports(
    events: list[tuple[Any, ...]], closed: object
) -> None:
    """Whether the client closed the agent's stdin, from the replays' events."""
    decoded = [
        {"event": e[0], "pid": e[1]}
        | ({"input_closed": e[2], "status": e[3]} if e[0] == "end" else {})
        for e in events
    ]
    assert closed_stdin(decoded) is closed


def test_the_table_json_and_summary() -> None:
    """Rows line up under the header; JSON has every field; the summary names failures."""
    chosen = [Scenario("clean"), Scenario("hang", "hang:nth=1"), Scenario("garbage", "garbage")]
    outcomes = [
        Outcome(chosen[0], 0, None, 0.5, False, True, ""),
        Outcome(chosen[1], None, None, 3.0, True, False, "x" * 80),
        Outcome(chosen[2], None, 6, 0.2, False, None, "boom"),
    ]
    table = Table.of(chosen)
    lines = [table.header(), *(table.row(o) for o in outcomes)]
    assert lines == [
        "scenario  fault        status     time  hung  closed stdin  last stderr line",
        "clean     -                 0    0.50s  no    yes",
        "hang      hang:nth=1   killed    3.00s  yes   no            " + "x" * 59 + "…",
        "garbage   garbage     SIGABRT    0.20s  no    -             boom",
    ]
    assert json.loads(to_json(outcomes))[2] == {
        "scenario": "garbage",
        "fault": "garbage",
        "exit_status": None,
        "signal": 6,
        "seconds": 0.2,
        "hung": False,
        "closed_stdin": None,
        "stderr": "boom",
    }
    assert summary(outcomes) == "2 of 3 runs hung or died of a signal: hang, garbage"
    assert summary(outcomes[:1]) == "1 runs: the client neither hung nor died of a signal"


def torture(
    cassette: Path, client: list[str], timeout: float, jobs: int
) -> tuple[int, dict[str, Any]]:
    """``acp-tap torture --json --jobs JOBS``: its status and the runs by scenario, in the
    order printed."""
    argv = ["torture", "--json", "--timeout", str(timeout), "--jobs", str(jobs), str(cassette)]
    done = run_cli([*argv, "--", *client], timeout=120)
    assert done.returncode in (0, 1), done.stderr
    return done.returncode, {run["scenario"]: run for run in json.loads(done.stdout)}


def outcome(run: dict[str, Any]) -> tuple[object, ...]:
    """Status (or signal, or killed), hung, closed stdin."""
    if run["hung"]:
        status: object = "killed"
    elif run["signal"] is not None:
        status = -run["signal"]
    else:
        status = run["exit_status"]
    return status, run["hung"], run["closed_stdin"]


OK, GONE = (0, False, True), (3, False, None)
FRAGILE_EXPECTED = {
    "patient": {
        **dict.fromkeys(["clean", "delay", "slice", "drop", "duplicate", "garbage"], OK),
        **dict.fromkeys(["corrupt", "error", "stderr", "flood"], OK),
        "hang": ("killed", True, False),
        "hang@start": ("killed", True, False),
        "crash": GONE,
        "crash@start": GONE,
        "close": (3, False, True),
    },
    "strict": {
        **dict.fromkeys(["clean", "delay", "slice", "drop", "duplicate", "error", "flood"], OK),
        "hang": (2, False, True),
        "hang@start": (2, False, True),
        "crash": GONE,
        "crash@start": GONE,
        "close": (3, False, True),
        "garbage": (-6, False, True),
        "corrupt": (-6, False, True),
        "stderr": (2, False, True),  # it never reads the agent's stderr: the agent stalls
    },
}


@pytest.mark.parametrize("mode", ["patient", "strict"])
def test_fragile_clients_get_the_expected_table(mode: str) -> None:
    """A client without timeouts hangs on hang; one that parses every line dies of garbage
    and corrupt lines; either way torture exits 1 and says which."""
    timeout = 8.0  # the strict client's 3 s waits (and their cleanup) fit well within it
    status, runs = torture(
        PROMPT_TURN, [PYTHON, str(FRAGILE), mode, str(PROMPT_TURN), "--", "{agent}"], timeout, 4
    )
    assert status == 1
    assert {name: outcome(run) for name, run in runs.items()} == FRAGILE_EXPECTED[mode]
    if mode == "patient":
        assert runs["hang"]["seconds"] == pytest.approx(timeout, abs=0.5)
    else:
        assert runs["garbage"]["stderr"].startswith("fragile client: cannot parse b'acp-tap:")


def test_the_demo_client_survives_every_fault(tmp_path: Path) -> None:
    """The README's run: the bundled demo client neither hangs nor dies, closes the agent's
    stdin, and says in one line what went wrong; {agent} inside a shell line works too."""
    cassette = tmp_path / "my demo.ndjson"
    recorded = subprocess.run(
        [*ACP_TAP, "demo", "-o", str(cassette)],
        cwd=tmp_path,
        capture_output=True,
        timeout=60,
        check=False,
    )
    assert recorded.returncode == 0, recorded.stderr
    client = ["sh", "-c", f"cd {shlex.quote(str(tmp_path))} && exec {shlex.join(ACP_TAP)} "
              "demo-client --timeout 2 -- {agent}"]  # fmt: skip
    status, runs = torture(cassette, client, 6.0, 3)
    assert status == 0
    assert list(runs) == [scenario.name for scenario in scenarios(compile_path(cassette, [])[0])]
    failed = {name: run["stderr"] for name, run in runs.items() if run["exit_status"] != 0}
    assert sorted(failed) == ["close", "crash", "crash@start", "error", "hang", "hang@start"]
    assert failed["hang"] == (
        "acp-tap demo-client: no answer to session/prompt within 2 s (agent status -9)"
    )
    assert failed["error"].startswith("acp-tap demo-client: session/prompt failed: -32603")
    assert all(run["closed_stdin"] is not False for run in runs.values())


def test_usage_errors_are_one_line() -> None:
    """No {agent} in the client command, or a client that does not exist."""
    done = run_cli(["torture", PROMPT_TURN, "--", "my-client"])
    assert (done.returncode, done.stderr.decode()) == (
        2,
        "acp-tap torture: the client command has no {agent}: put {agent} where the agent command goes "
        '(e.g. `-- my-client --agent "{agent}"`)\n',
    )
    done = run_cli(["torture", PROMPT_TURN, "--", "/no/such/client", "{agent}"])
    assert done.returncode == 127
    assert (
        done.stderr.decode().splitlines()[-1].startswith("acp-tap torture: agent command not found")
    )
    assert sys.executable


def test_a_closed_stdout_ends_a_parallel_run_without_a_traceback() -> None:
    """`acp-tap torture --jobs 3 ... | head -c 10`: the table's reader leaves; no traceback,
    and the bad --jobs values are usage errors."""
    client = f"{shlex.join(ACP_TAP)} demo-client --timeout 2 -- {{agent}}"
    argv = [*ACP_TAP, "torture", "--jobs", "3", str(PROMPT_TURN), "--", "sh", "-c", client]
    done = subprocess.run(
        ["sh", "-c", f"{shlex.join(argv)} | head -c 10"],
        capture_output=True,
        timeout=120,
        check=False,
    )
    assert done.stdout == b"scenario  "
    assert b"Traceback" not in done.stderr, done.stderr
    for jobs, why in (("0", "must be 1 or more, not 0"), ("x", "not a whole number: 'x'")):
        bad = run_cli(["torture", "--jobs", jobs, PROMPT_TURN, "--", "c", "{agent}"])
        assert bad.returncode == 2
        assert bad.stderr.decode().splitlines()[-1].endswith(f"argument --jobs: {why}")
