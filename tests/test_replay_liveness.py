"""Replay never leaves a client hanging: each case recorded, then replayed to a real client.

Every cassette here is recorded by ``acp-tap record`` between the scripted raw client
(tests/peers/script_client.py) and a purpose-built agent (tests/peers/liveness_agent.py);
the replay is then driven by the same client, running another script, as a subprocess
that spawns ``acp-tap replay``. A client wait that gives up (10 s) fails the test.
"""

from __future__ import annotations

import json
import subprocess
import time
from pathlib import Path
from typing import Any

import pytest

from acp_tap.cassette.reader import load
from tests.helpers import ACP_TAP, PYTHON

PEERS = Path(__file__).parent / "peers"
AGENT = [PYTHON, str(PEERS / "liveness_agent.py")]
CLIENT = [PYTHON, str(PEERS / "script_client.py")]
MISMATCH = -32099

Json = dict[str, Any]


def request(id_: Any, method: str, params: Json) -> Json:
    """A JSON-RPC request."""
    return {"jsonrpc": "2.0", "id": id_, "method": method, "params": params}


def initialize(id_: Any = 0) -> Json:
    """initialize."""
    return request(id_, "initialize", {"protocolVersion": 1})


def new_session(id_: Any) -> Json:
    """session/new in /w."""
    return request(id_, "session/new", {"cwd": "/w", "mcpServers": []})


def prompt(id_: Any, session: str, text: str) -> Json:
    """session/prompt with one text block."""
    return request(
        id_, "session/prompt", {"sessionId": session, "prompt": [{"type": "text", "text": text}]}
    )


def set_mode(id_: Any, session: str, mode: str = "plan") -> Json:
    """session/set_mode."""
    return request(id_, "session/set_mode", {"sessionId": session, "modeId": mode})


def send(msg: Json) -> Json:
    """Script step: send."""
    return {"send": msg}


def wait(id_: Any) -> Json:
    """Script step: wait for the response to ``id_``."""
    return {"await": id_}


def start(session_id: int = 1) -> list[Json]:
    """initialize and session/new, each awaited."""
    return [send(initialize()), wait(0), send(new_session(session_id)), wait(session_id)]


ALLOW = {"outcome": {"outcome": "selected", "optionId": "allow"}}
REJECT = {"outcome": {"outcome": "selected", "optionId": "reject"}}
NOTES = {"content": "buy milk"}


def run_client(
    tmp_path: Path, steps: list[Json], agent: list[str], timeout: float = 60
) -> tuple[Json, subprocess.CompletedProcess[bytes], float]:
    """Run the scripted client against ``agent``: its report, the process, the seconds."""
    script = tmp_path / f"script-{time.monotonic_ns()}.json"
    script.write_text(json.dumps(steps))
    began = time.monotonic()
    done = subprocess.run(
        [*CLIENT, str(script), "--", *agent], capture_output=True, timeout=timeout, check=False
    )
    seconds = time.monotonic() - began
    assert done.stdout, done.stderr.decode()
    return json.loads(done.stdout), done, seconds


def record(tmp_path: Path, steps: list[Json], *, kiro: bool = False) -> Path:
    """Record the agent with the client running ``steps``; the cassette."""
    cassette = tmp_path / f"recorded-{time.monotonic_ns()}.ndjson"
    agent = [*AGENT, "--kiro"] if kiro else AGENT
    report, done, _ = run_client(
        tmp_path, steps, [*ACP_TAP, "record", "-q", "-o", str(cassette), "--", *agent]
    )
    assert report["timeout"] is None and done.returncode == 0, report
    return cassette


def replay(
    tmp_path: Path, cassette: Path, steps: list[Json], *options: str
) -> tuple[Json, str, float]:
    """Replay ``cassette`` to the client running ``steps``: its report (every wait must
    succeed), the replay's stderr and the seconds it took."""
    report, done, seconds = run_client(
        tmp_path, steps, [*ACP_TAP, "replay", *options, str(cassette)]
    )
    assert report["timeout"] is None, (report, done.stderr.decode())
    return report, done.stderr.decode(), seconds


def responses(report: Json) -> dict[Any, Json]:
    """The responses the client received, by id."""
    return {m["id"]: m for m in report["received"] if isinstance(m, dict) and "method" not in m}


def texts(report: Json) -> list[str]:
    """The agent message chunks the client received."""
    return [
        m["params"]["update"]["content"]["text"]
        for m in report["received"]
        if isinstance(m, dict)
        and m.get("method") == "session/update"
        and m["params"]["update"]["sessionUpdate"] == "agent_message_chunk"
    ]


def test_set_mode_recorded_after_a_turn_is_answered_before_the_prompt(tmp_path: Path) -> None:
    """Case 1: set_mode first gets its answer (and its mode update) at once; the turn follows."""
    cassette = record(
        tmp_path,
        [
            *start(),
            send(prompt(2, "sess-1", "hello")),
            wait(2),
            send(set_mode(3, "sess-1")),
            wait(3),
        ],
    )
    report, stderr, _ = replay(
        tmp_path,
        cassette,
        [
            *start(),
            send(set_mode(3, "sess-1")),
            wait(3),
            send(prompt(2, "sess-1", "hello")),
            wait(2),
        ],
    )
    methods = [m.get("method") or m["id"] for m in report["received"]]
    assert methods.index("session/update") < methods.index(3)  # the mode update, then the answer
    assert responses(report)[2]["result"] == {"stopReason": "end_turn"}
    assert texts(report) == ["Hello ", "there."]
    assert report["status"] == 0, stderr


def test_prompt_recorded_after_set_mode_is_served_first(tmp_path: Path) -> None:
    """Case 1, reversed: a prompt sent before the recorded set_mode gets its whole turn."""
    cassette = record(
        tmp_path,
        [
            *start(),
            send(set_mode(2, "sess-1")),
            wait(2),
            send(prompt(3, "sess-1", "hello")),
            wait(3),
        ],
    )
    report, stderr, _ = replay(
        tmp_path,
        cassette,
        [
            *start(),
            send(prompt(3, "sess-1", "hello")),
            wait(3),
            send(set_mode(2, "sess-1")),
            wait(2),
        ],
    )
    assert responses(report)[3]["result"] == {"stopReason": "end_turn"}
    assert responses(report)[2]["result"] == {}
    assert report["status"] == 0, stderr


def test_set_mode_while_a_permission_is_unanswered(tmp_path: Path) -> None:
    """Case 1, during a turn: set_mode is answered while the agent's own request waits."""
    cassette = record(
        tmp_path,
        [
            *start(),
            send(prompt(2, "sess-1", "permission")),
            {"answer": "session/request_permission", "result": ALLOW},
            wait(2),
            send(set_mode(3, "sess-1")),
            wait(3),
        ],
    )
    report, stderr, _ = replay(
        tmp_path,
        cassette,
        [
            *start(),
            send(prompt(2, "sess-1", "permission")),
            {"await_method": "session/request_permission"},
            send(set_mode(3, "sess-1")),
            wait(3),
            {"answer": "session/request_permission", "result": ALLOW},
            wait(2),
        ],
    )
    assert texts(report) == ["you chose allow"]
    assert report["status"] == 0, stderr


def test_a_recorded_race_is_not_a_rule(tmp_path: Path) -> None:
    """Case 2: kiro's command list comes right after session/new, though a prompt beat it
    while recording; a client that waits for it before prompting is served."""
    cassette = record(
        tmp_path, [*start(), send(prompt(2, "sess-1", "late hello")), wait(2)], kiro=True
    )
    frames = load(cassette).frames
    order = [f.message().get("method") for f in frames if f.is_json]
    assert order.index("session/prompt") < order.index("_kiro.dev/commands/available")
    report, stderr, seconds = replay(
        tmp_path,
        cassette,
        [
            *start(),
            {"await_method": "_kiro.dev/commands/available"},
            send(prompt(2, "sess-1", "late hello")),
            wait(2),
        ],
    )
    assert texts(report) == ["Hello ", "there."]
    assert report["status"] == 0, stderr
    assert seconds < 8


def test_after_a_mismatch_a_later_request_is_answered(tmp_path: Path) -> None:
    """Case 3: the changed prompt gets -32099, then set_mode (recorded after that turn) its answer."""
    cassette = record(
        tmp_path,
        [
            *start(),
            send(prompt(2, "sess-1", "hello")),
            wait(2),
            send(set_mode(3, "sess-1")),
            wait(3),
        ],
    )
    report, stderr, _ = replay(
        tmp_path,
        cassette,
        [
            *start(),
            send(prompt(2, "sess-1", "something else")),
            wait(2),
            send(set_mode(3, "sess-1")),
            wait(3),
        ],
    )
    got = responses(report)
    assert got[2]["error"]["code"] == MISMATCH
    assert "session/prompt" in got[2]["error"]["message"]
    assert got[3]["result"] == {}
    assert report["status"] == 1
    assert "mismatch (no-match)" in stderr


@pytest.mark.parametrize("kiro", [False, True], ids=["numeric-ids", "kiro-uuids"])
def test_a_wrong_answer_stops_what_depends_on_it(tmp_path: Path, kiro: bool) -> None:
    """Case 4: a denied permission (allowed in the recording) with the file read answered as
    recorded: no recorded continuation, and the prompt's error names the answer that differed."""
    turn = [
        send(prompt(2, "sess-1", "both")),
        {"answer": "session/request_permission", "result": ALLOW},
        {"answer": "fs/read_text_file", "result": NOTES},
        wait(2),
    ]
    cassette = record(tmp_path, [*start(), *turn], kiro=kiro)
    turn[1] = {"answer": "session/request_permission", "result": REJECT}
    report, stderr, _ = replay(tmp_path, cassette, [*start(), *turn])
    error = responses(report)[2]["error"]
    assert error["code"] == MISMATCH
    assert "answer to session/request_permission" in error["message"]
    assert 'expected "allow", got "reject"' in error["message"]
    assert texts(report) == []
    assert report["status"] == 1
    assert "not sent: they depend on a failed message" in stderr


def test_repeats_cycle_through_the_recorded_answers(tmp_path: Path) -> None:
    """Case 5: a client that runs its whole conversation twice gets, the second time, the
    recorded session/new answers in recorded order, and its prompts work."""

    def conversation(base: int) -> list[Json]:
        return [
            send(initialize(base)),
            wait(base),
            send(new_session(base + 1)),
            wait(base + 1),
            send(new_session(base + 2)),
            wait(base + 2),
            send(prompt(base + 3, "sess-1", "hello")),
            wait(base + 3),
            send(prompt(base + 4, "sess-2", "hello")),
            wait(base + 4),
        ]

    cassette = record(tmp_path, conversation(0))
    report, stderr, _ = replay(
        tmp_path, cassette, conversation(0) + conversation(10), "--allow-repeats"
    )
    got = responses(report)
    assert [got[n]["result"]["sessionId"] for n in (1, 2, 11, 12)] == ["sess-1", "sess-2"] * 2
    assert [got[n]["result"] for n in (13, 14)] == [{"stopReason": "end_turn"}] * 2
    assert texts(report).count("Hello ") == 4  # a repeated prompt streams its turn again
    assert report["status"] == 0, stderr


def test_a_held_answer_stalls_and_the_request_gets_an_error(tmp_path: Path) -> None:
    """The client waits for an answer recorded after a message it never sends (the turn was
    cancelled while recording): within the stall timeout the prompt gets -32099 naming the
    held frame and what it waits for, and the replay keeps serving."""
    cancel = {"jsonrpc": "2.0", "method": "session/cancel", "params": {"sessionId": "sess-1"}}
    cassette = record(
        tmp_path,
        [
            *start(),
            send(prompt(2, "sess-1", "wait")),
            {"await_method": "session/update"},
            send(cancel),
            wait(2),
        ],
    )
    report, stderr, seconds = replay(
        tmp_path,
        cassette,
        [*start(), send(prompt(2, "sess-1", "wait")), wait(2), send(initialize(9)), wait(9)],
        "--stall-timeout",
        "0.5",
        "--allow-repeats",
    )
    error = responses(report)[2]["error"]
    assert error["code"] == MISMATCH
    assert error["message"] == (
        "acp-tap replay: stall: the answer to session/prompt (frame #8) is recorded after "
        "session/cancel (frame #7), which has not arrived"
    )
    assert error["data"] == {"acpTap": {"stall": {"held": 8, "waitsFor": 7}}}
    assert texts(report) == ["working"]
    assert "result" in responses(report)[9]  # still serving after the stall
    assert report["status"] == 1
    assert "mismatch (stall)" in stderr
    assert seconds < 8


def test_a_client_waiting_for_a_held_notification_gets_end_of_file(tmp_path: Path) -> None:
    """A client that waits for the turn's chunks without prompting: after the stall
    timeout the replay says what is held and why, and ends (no silence, no hang)."""
    cassette = record(tmp_path, [*start(), send(prompt(2, "sess-1", "hello")), wait(2)])
    script = [*start(), {"await_method": "session/update"}]
    report, done, seconds = run_client(
        tmp_path, script, [*ACP_TAP, "replay", "--stall-timeout", "0.5", str(cassette)]
    )
    stderr = done.stderr.decode()
    assert report["timeout"] == {"await_method": "session/update"}  # it ended: end of file
    assert seconds < 5
    assert report["status"] == 1
    assert "stall: the client sent nothing for 0.5 s" in stderr
    assert "session/update (frame #6) is recorded after session/prompt (frame #5)" in stderr
    assert "which has not arrived" in stderr
    assert "the replay ends" in stderr
