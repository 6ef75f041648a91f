"""The client-side replay engine, driven by hand: no process, no trio."""

from __future__ import annotations

import json
import subprocess
import sys
from typing import Any

import attrs
import pytest

from acp_tap.cassette.codec import dumps_compact
from acp_tap.cassette.reader import Cassette
from acp_tap.matching.mismatch import MISMATCH_CODE
from acp_tap.rerun.engine import ClientReplayEngine
from acp_tap.rerun.result import (
    ClientAction,
    ClientReplayOptions,
    ClientReplayResult,
    CloseInput,
    Finished,
    Kill,
    ReadFile,
    ToAgent,
    WriteFile,
)
from tests.replay_support import (
    CWD,
    Recording,
    notification,
    prompt,
    request,
    result,
    update,
)

REC = "rec-session"
LIVE = "live-session"
INIT = {"protocolVersion": 1, "clientCapabilities": {"fs": {"readTextFile": True}}}
AGENT_INIT = {"protocolVersion": 1, "agentInfo": {"name": "agent", "version": "1"}}
OPTIONS = [
    {"optionId": "yes", "name": "Yes", "kind": "allow_once"},
    {"optionId": "no", "name": "No", "kind": "reject_once"},
]


def handshake(rec: Recording, new_id: Any = 1) -> None:
    """initialize (id 0) and session/new (``new_id``) answered with the recorded session."""
    rec.c2a(request(0, "initialize", INIT))
    rec.a2c(result(0, AGENT_INIT))
    rec.c2a(request(new_id, "session/new", {"cwd": CWD, "mcpServers": []}))
    rec.a2c(result(new_id, {"sessionId": REC}))


def stop(id_: Any, reason: str = "end_turn") -> dict[str, Any]:
    """A prompt's answer."""
    return result(id_, {"stopReason": reason})


def ask(id_: Any, method: str, params: dict[str, Any], session: str = REC) -> dict[str, Any]:
    """An agent request in a session."""
    return request(id_, method, {"sessionId": session, **params})


def permission(id_: Any, title: str, options: list[dict[str, str]], session: str = REC) -> Any:
    """A session/request_permission for an edit tool call."""
    tool = {"toolCallId": "tool-" + title, "title": title, "kind": "edit"}
    return ask(id_, "session/request_permission", {"toolCall": tool, "options": options}, session)


def chosen(id_: Any, option: str) -> dict[str, Any]:
    """A permission answer selecting ``option``."""
    return result(id_, {"outcome": {"outcome": "selected", "optionId": option}})


@attrs.define
class Live:
    """A live agent played by hand: feed it lines, see what the engine sends."""

    engine: ClientReplayEngine
    now: float = 0.0
    actions: list[ClientAction] = attrs.field(factory=list)
    seen: int = 0

    @classmethod
    def of(cls, cassette: Cassette, **options: Any) -> Live:
        """Start replaying ``cassette`` with these options."""
        live = cls(ClientReplayEngine.from_cassette(cassette, ClientReplayOptions(**options)))
        live.actions += live.engine.start(live.now)
        return live

    def say(self, *messages: Any) -> None:
        """The live agent writes these lines."""
        for message in messages:
            self.now += 0.001
            raw = message if isinstance(message, bytes) else dumps_compact(message)
            self.actions += self.engine.receive(raw, self.now)

    def sent(self) -> list[Any]:
        """Messages sent to the agent since the last call."""
        lines = [
            json.loads(line)
            for action in self.actions
            if isinstance(action, ToAgent)
            for line in action.data.splitlines()
        ]
        new, self.seen = lines[self.seen :], len(lines)
        return new

    def finish(self, status: int = 0) -> ClientReplayResult:
        """The agent's output ends and it exits with ``status``: the verdict."""
        self.now += 0.001
        self.actions += self.engine.output_closed(self.now)
        self.actions += self.engine.exited(status, self.now)
        final = self.actions[-1]
        assert isinstance(final, Finished)
        return final.result


def live_handshake(live: Live, new_id: Any = 1) -> None:
    """The live agent answers the handshake with its own session id."""
    live.say(result(0, AGENT_INIT))
    live.say(result(new_id, {"sessionId": LIVE}))


def test_session_ids_are_remapped_and_client_ids_keep_their_type() -> None:
    """A recorded prompt reaches the agent with the live session id and its own id, typed."""
    rec = Recording()
    handshake(rec, new_id="new-1")
    rec.c2a(prompt(2, REC, "hi"))
    rec.a2c(update(REC, "hello"))
    rec.a2c(stop(2))
    live = Live.of(rec.cassette())
    assert [m["method"] for m in live.sent()] == ["initialize"]
    live_handshake(live, new_id="new-1")
    assert live.sent()[-1] == prompt(2, LIVE, "hi")


def test_session_new_is_sent_with_its_string_id_and_waits_for_initialize() -> None:
    """session/new waits for the initialize response and keeps its recorded string id."""
    rec = Recording()
    handshake(rec, new_id="new-1")
    live = Live.of(rec.cassette())
    assert live.sent() == [request(0, "initialize", INIT)]
    live.say(result(0, AGENT_INIT))
    assert live.sent() == [request("new-1", "session/new", {"cwd": CWD, "mcpServers": []})]


def test_next_prompt_waits_for_the_previous_turns_response() -> None:
    """The second prompt is sent only once the first turn's response arrived live."""
    rec = Recording()
    handshake(rec)
    rec.c2a(prompt(2, REC, "one"))
    rec.a2c(stop(2))
    rec.c2a(prompt(3, REC, "two"))
    rec.a2c(stop(3))
    live = Live.of(rec.cassette())
    live_handshake(live)
    assert [m["id"] for m in live.sent()] == [0, 1, 2]
    live.say(update(LIVE, "streaming"))
    assert live.sent() == []
    live.say(stop(2))
    assert live.sent() == [prompt(3, LIVE, "two")]


def cancelled_turn() -> Recording:
    """A prompt cancelled after two updates."""
    rec = Recording()
    handshake(rec)
    rec.c2a(prompt(2, REC, "slow"))
    rec.a2c(update(REC, "a"))
    rec.a2c(update(REC, "b"))
    rec.c2a(notification("session/cancel", {"sessionId": REC}))
    rec.a2c(stop(2, "cancelled"))
    return rec


def test_cancel_is_sent_after_as_many_updates_as_recorded() -> None:
    """session/cancel goes out after the second live update of the turn, with the live id."""
    live = Live.of(cancelled_turn().cassette())
    live_handshake(live)
    live.sent()
    live.say(update(LIVE, "a"))
    assert live.sent() == []
    live.say(update(LIVE, "b"))
    assert live.sent() == [notification("session/cancel", {"sessionId": LIVE})]
    live.say(stop(2, "cancelled"))
    assert live.finish().same


def test_cancel_waits_no_longer_than_the_turn() -> None:
    """An agent streaming fewer updates than recorded: the cancel goes out when the turn ends."""
    live = Live.of(cancelled_turn().cassette())
    live_handshake(live)
    live.sent()
    live.say(update(LIVE, "ab"))
    assert live.sent() == []
    live.say(stop(2))
    assert live.sent() == [notification("session/cancel", {"sessionId": LIVE})]
    changes = {c.field: (c.a, c.b) for c in live.finish().changes}
    assert changes["stop reason"] == ("cancelled", "end_turn")


def two_permissions() -> Recording:
    """One turn asking two permissions: 'Write a' allowed, 'Write b' rejected."""
    rec = Recording()
    handshake(rec)
    rec.c2a(prompt(2, REC, "edit"))
    rec.a2c(permission("p1", "Write a", OPTIONS))
    rec.c2a(chosen("p1", "yes"))
    rec.a2c(permission("p2", "Write b", OPTIONS))
    rec.c2a(chosen("p2", "no"))
    rec.a2c(stop(2))
    return rec


def test_permission_is_answered_by_tool_call_and_option_kinds_not_position() -> None:
    """Asked in the other order and with other option ids, each permission gets its choice."""
    live = Live.of(two_permissions().cassette())
    live_handshake(live)
    live.sent()
    renamed = [
        {"optionId": "opt-allow", "name": "Allow", "kind": "allow_once"},
        {"optionId": "opt-reject", "name": "Reject", "kind": "reject_once"},
    ]
    live.say(permission(7, "Write b", renamed, LIVE))
    assert live.sent() == [chosen(7, "opt-reject")]
    live.say(permission(8, "Write a", renamed, LIVE))
    assert live.sent() == [chosen(8, "opt-allow")]


def test_permission_for_a_renamed_tool_call_is_answered_and_reported() -> None:
    """A permission whose tool call title changed gets the choice of the same option kinds,
    and the change is reported."""
    live = Live.of(two_permissions().cassette())
    live_handshake(live)
    live.sent()
    live.say(permission(7, "Write a!", OPTIONS, LIVE), permission(8, "Write b", OPTIONS, LIVE))
    assert live.sent() == [chosen(7, "yes"), chosen(8, "no")]
    live.say(stop(2))
    [change] = live.finish().changes
    assert (change.where, change.field) == ("session 1 turn 1", "agent request")
    assert (
        change.a
        == "session/request_permission 'Write a' (edit): allow_once, reject_once (frame #6)"
    )
    assert change.b == "session/request_permission 'Write a!' (edit): allow_once, reject_once"


def test_agent_request_ids_of_the_live_agent_answered_with_their_type() -> None:
    """A permission asked with a number id is answered with that number, not the recorded string."""
    live = Live.of(two_permissions().cassette())
    live_handshake(live)
    live.sent()
    live.say(permission(0, "Write a", OPTIONS, LIVE), permission("x-1", "Write b", OPTIONS, LIVE))
    assert live.sent() == [chosen(0, "yes"), chosen("x-1", "no")]
    live.say(stop(2))
    assert live.finish().same


def fs_read_turn() -> Recording:
    """A turn reading notes.md in the session directory."""
    rec = Recording()
    handshake(rec)
    rec.c2a(prompt(2, REC, "read"))
    rec.a2c(ask("r1", "fs/read_text_file", {"path": f"{CWD}/notes.md"}))
    rec.c2a(result("r1", {"content": "recorded notes\n"}))
    rec.a2c(update(REC, "read it"))
    rec.a2c(stop(2))
    return rec


def test_fs_read_is_served_from_the_recording_in_a_relocated_checkout() -> None:
    """With cwd=/live/dir, a read of /live/dir/notes.md gets the recorded content."""
    live = Live.of(fs_read_turn().cassette(), cwd="/live/dir")
    assert live.sent()[0]["method"] == "initialize"
    live.say(result(0, AGENT_INIT))
    assert live.sent()[0]["params"]["cwd"] == "/live/dir"
    live.say(result(1, {"sessionId": LIVE}))
    live.sent()
    live.say(ask(5, "fs/read_text_file", {"path": "/live/dir/notes.md"}, LIVE))
    assert live.sent() == [result(5, {"content": "recorded notes\n"})]


def test_fs_read_from_a_root_directory_falls_back_to_the_recording() -> None:
    """With fs_root, a read becomes a ReadFile of the relative path; a missing file is recorded."""
    live = Live.of(fs_read_turn().cassette(), fs_root=True)
    live_handshake(live)
    live.sent()
    params = {"path": f"{CWD}/notes.md", "line": 2, "limit": 1}
    live.say(ask(5, "fs/read_text_file", params, LIVE))
    read = live.actions[-1]
    assert read == ReadFile(1, "notes.md")
    live.actions += live.engine.file_read(read.token, "one\ntwo\nthree\n", live.now)
    assert live.sent() == [result(5, {"content": "two\n"})]
    live.say(ask(6, "fs/read_text_file", {"path": f"{CWD}/notes.md"}, LIVE))
    read = live.actions[-1]
    assert isinstance(read, ReadFile)
    live.actions += live.engine.file_read(read.token, None, live.now)
    assert live.sent() == [result(6, {"content": "recorded notes\n"})]


def test_unrecorded_agent_request_gets_an_error_and_is_reported() -> None:
    """A read the recording never made is answered with a JSON-RPC error and listed."""
    live = Live.of(fs_read_turn().cassette())
    live_handshake(live)
    live.sent()
    live.say(ask("q", "fs/read_text_file", {"path": "/etc/passwd"}, LIVE))
    [answer] = live.sent()
    assert answer["id"] == "q"
    assert answer["error"]["code"] == MISMATCH_CODE
    assert "fs/read_text_file /etc/passwd" in answer["error"]["message"]
    live.say(ask(5, "fs/read_text_file", {"path": f"{CWD}/notes.md"}, LIVE))
    live.say(update(LIVE, "read it"), stop(2))
    changes = [(c.where, c.field, c.a, c.b) for c in live.finish().changes]
    error = "fs/read_text_file: -32099 acp-tap replay: the recording has no fs/read_text_file /etc/passwd"
    note = "fs/read_text_file /etc/passwd (not in the recording; answered with an error)"
    assert changes == [
        ("session 1 turn 1", "errors", [], [error]),
        ("session 1 turn 1", "agent request", None, note),
    ]


def test_recorded_agent_request_never_made_is_reported() -> None:
    """An agent that no longer reads the file: the recorded request is listed as missing."""
    live = Live.of(fs_read_turn().cassette())
    live_handshake(live)
    live.sent()
    live.say(update(LIVE, "read it"), stop(2))
    [change] = live.finish().changes
    assert (change.where, change.a, change.b) == (
        "session 1 turn 1",
        f"fs/read_text_file {CWD}/notes.md (frame #6)",
        None,
    )


def test_fs_write_is_captured_compared_and_handed_to_the_shell() -> None:
    """A write answers as recorded; its content is compared and given to the shell to write."""
    rec = Recording()
    handshake(rec)
    rec.c2a(prompt(2, REC, "write"))
    write = {"path": f"{CWD}/out/a.txt", "content": "old\n"}
    rec.a2c(ask("w1", "fs/write_text_file", write))
    rec.c2a(result("w1", {}))
    rec.a2c(stop(2))
    live = Live.of(rec.cassette(), write_files=True)
    live_handshake(live)
    live.sent()
    live.say(ask(9, "fs/write_text_file", {**write, "content": "new\n"}, LIVE))
    assert WriteFile("out/a.txt", "new\n") in live.actions
    assert live.sent() == [result(9, {})]
    live.say(stop(2))
    [change] = live.finish().changes
    assert (change.field, change.a, change.b) == (
        f"fs/write_text_file {CWD}/out/a.txt",
        "old\n",
        "new\n",
    )


def test_tool_call_ids_in_client_messages_are_remapped() -> None:
    """A client message naming a recorded tool call id carries the live agent's id."""
    rec = Recording()
    handshake(rec)
    rec.c2a(prompt(2, REC, "go"))
    tool = {
        "sessionUpdate": "tool_call",
        "toolCallId": "rec-tool",
        "title": "Run",
        "kind": "execute",
    }
    rec.a2c(notification("session/update", {"sessionId": REC, "update": tool}))
    rec.a2c(stop(2))
    rec.c2a(request(3, "_x/inspect", {"sessionId": REC, "toolCallId": "rec-tool"}))
    rec.a2c(result(3, {}))
    live = Live.of(rec.cassette())
    live_handshake(live)
    live.sent()
    live_tool = {**tool, "toolCallId": "live-tool"}
    live.say(notification("session/update", {"sessionId": LIVE, "update": live_tool}), stop(2))
    assert live.sent() == [request(3, "_x/inspect", {"sessionId": LIVE, "toolCallId": "live-tool"})]


def test_input_is_closed_once_everything_recorded_has_arrived() -> None:
    """After the last recorded answer and as many lines as recorded, the input is closed."""
    rec = Recording()
    handshake(rec)
    rec.a2c(notification("_kiro.dev/metadata", {"sessionId": REC}))
    live = Live.of(rec.cassette())
    live_handshake(live)
    assert CloseInput() not in live.actions
    live.say(notification("_kiro.dev/metadata", {"sessionId": LIVE}))
    assert live.actions[-1] == CloseInput()


def test_input_is_closed_after_a_quiet_spell_when_fewer_lines_came() -> None:
    """An agent sending fewer lines than recorded gets its input closed after ``settle``."""
    rec = Recording()
    handshake(rec)
    rec.a2c(notification("_kiro.dev/metadata", {"sessionId": REC}))
    live = Live.of(rec.cassette(), settle=0.5)
    live_handshake(live)
    assert live.engine.next_deadline() == pytest.approx(live.now + 0.5)
    assert live.engine.poll(live.now + 0.4) == []
    assert live.engine.poll(live.now + 0.5) == [CloseInput()]


def test_a_silent_agent_is_stopped_with_a_clear_problem() -> None:
    """No answer to the prompt within the timeout: Kill, and the problem names the frame."""
    rec = Recording()
    handshake(rec)
    rec.c2a(prompt(2, REC, "hi"))
    rec.a2c(stop(2))
    live = Live.of(rec.cassette(), timeout=5.0)
    live_handshake(live)
    deadline = live.engine.next_deadline()
    assert deadline is not None
    assert deadline == pytest.approx(live.now + 5.0)
    assert live.engine.poll(deadline - 0.01) == []
    [kill] = live.engine.poll(deadline)
    assert isinstance(kill, Kill)
    verdict = live.engine.exited(143, deadline + 1)[-1]
    assert isinstance(verdict, Finished)
    assert verdict.result.problems == (
        "the agent did not answer frame #5 session/prompt within 5 s; the agent was stopped",
    )
    assert verdict.result.status == 1


def test_an_agent_exiting_mid_turn_is_reported_with_its_status() -> None:
    """The agent exits while a prompt waits for its answer: a problem with the exit status."""
    rec = Recording()
    handshake(rec)
    rec.c2a(prompt(2, REC, "hi"))
    rec.a2c(stop(2))
    live = Live.of(rec.cassette())
    live_handshake(live)
    outcome = live.finish(status=3)
    assert outcome.problems == (
        "the agent exited with status 3 while frame #5 session/prompt was waiting for an answer",
    )
    assert ("exit", "status", 0, 3) in [(c.where, c.field, c.a, c.b) for c in outcome.changes]


def test_a_recorded_crash_reproduced_is_no_difference() -> None:
    """A recording ending with the agent exiting mid-turn, reproduced live: the same."""
    rec = Recording()
    handshake(rec)
    rec.c2a(prompt(2, REC, "crash"))
    rec.a2c(update(REC, "Working"))
    live = Live.of(rec.cassette(closed_first="agent", status=3))
    live_handshake(live)
    live.say(update(LIVE, "Working"))
    assert CloseInput() not in live.actions
    assert live.finish(status=3).same


def test_ignored_paths_are_not_compared() -> None:
    """A changed agent version is a difference, unless its path is ignored."""
    rec = Recording()
    handshake(rec)
    for ignore, expected in [((), 1), (("result.agentInfo.version",), 0)]:
        live = Live.of(rec.cassette(), ignore=ignore)
        live.say(result(0, {**AGENT_INIT, "agentInfo": {"name": "agent", "version": "2"}}))
        live.say(result(1, {"sessionId": LIVE}))
        assert live.finish().status == expected


def test_core_modules_never_import_trio() -> None:
    """The client-side replay core imports without trio."""
    code = (
        "import sys; sys.modules['trio'] = None\nimport acp_tap.rerun.engine, acp_tap.rerun.plan\n"
    )
    done = subprocess.run(
        [sys.executable, "-c", code], capture_output=True, timeout=30, check=False
    )
    assert done.returncode == 0, done.stderr.decode()
