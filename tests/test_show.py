"""acp-tap show: timeline content, chunk joining, filters, JSON events, colour, the CLI."""

from __future__ import annotations

import io
import json
import re
import subprocess
from pathlib import Path

import pytest

from acp_tap.commands.show import use_colour
from acp_tap.inspect.show import EVERYTHING, Filter, render, timeline, to_json_line
from acp_tap.inspect.timeline import Event
from tests.helpers import ACP_TAP, TIMEOUT, run_cli
from tests.inspect_support import (
    PERMISSION,
    TOOL_CALL,
    Item,
    a2c,
    answer_permission,
    c2a,
    cassette_lines,
    chunk,
    done,
    note,
    prelude,
    prompt,
    records,
    req,
    res,
    update,
)

ANSI = re.compile(r"\x1b\[[0-9;]*m")

SESSION: list[Item] = [
    *prelude(),
    prompt(),
    update("agent_thought_chunk", content={"type": "text", "text": "Thinking"}),
    chunk("Hel"),
    ("err", "INFO streaming"),
    chunk("lo "),
    chunk("world"),
    TOOL_CALL,
    PERMISSION,
    answer_permission({"outcome": "selected", "optionId": "ok"}),
    update("tool_call_update", toolCallId="t1", status="in_progress"),
    a2c(req("r1", "fs/read_text_file", {"sessionId": "s1", "path": "/a.txt"})),
    c2a(res("r1", {"content": "one\ntwo\n"})),
    update(
        "tool_call_update",
        toolCallId="t1",
        status="completed",
        content=[{"type": "content", "content": {"type": "text", "text": "read 2 lines"}}],
    ),
    a2c("Traceback: oops"),
    done(),
]


def events(items: list[Item], keep: Filter = EVERYTHING) -> list[Event]:
    """The timeline events of a cassette of ``items``."""
    return list(timeline(records(items), keep))


def text(items: list[Item], keep: Filter = EVERYTHING) -> str:
    """The plain rendered timeline."""
    return "\n".join(render(e) for e in events(items, keep))


def test_timeline_shows_each_step_of_a_turn_readably() -> None:
    """Offsets, arrows, methods, ids, latency, joined text, tool status, outcome, stderr, exit."""
    lines = text(SESSION).splitlines()
    assert lines[0].startswith("                 ■ recording  agent  (cwd /tmp")
    assert (
        lines[1] == "    #1     0.010 → initialize id=0  protocol v1, fs.read, fs.write, terminal"
    )
    assert lines[2] == "    #2     0.020 ← initialize id=0 result +10.0ms  protocol v1"
    assert "    #4     0.040 ← session/new id=1 result [s1] +10.0ms  session s1" in lines
    assert "    #5     0.050 → session/prompt id=2 [s1]  hi" in lines
    assert "    #6     0.060 ← thought [s1]  Thinking" in lines
    assert "    #7     0.070 ← agent (3 chunks, to #10) [s1]  Hello world" in lines
    assert (
        "    #8     0.080 ! stderr  INFO streaming" in lines
    )  # held back until the text was joined
    assert "   #11     0.110 ← tool_call [s1]  t1 Read (read) pending" in lines
    assert "   #12     0.120 ← session/request_permission id=p1 [s1]  t1: Yes [ok]" in lines
    assert (
        "   #13     0.130 → session/request_permission id=p1 result [s1] +10.0ms  selected Yes [ok]"
        in lines
    )
    assert "   #14     0.140 ← tool_call_update [s1]  t1 pending → in_progress" in lines
    assert "   #16     0.160 → fs/read_text_file id=r1 result [s1] +10.0ms  3 lines, 8 B" in lines
    assert "   #17     0.170 ← tool_call_update [s1]  t1 in_progress → completed" in lines
    assert "                     read 2 lines" in lines  # further lines indented under the label
    assert "   #18     0.180 ← invalid  not JSON: 'Traceback: oops'" in lines
    assert (
        "   #19     0.190 ← session/prompt id=2 result [s1] +140.0ms  stopReason end_turn" in lines
    )
    assert lines[-1].startswith(
        "           9.000 ■ exit  status 0 (exit code 0), client closed first"
    )


def test_error_responses_name_the_request_and_code() -> None:
    """An error response shows the method it answers, its latency and the error."""
    error = a2c({"jsonrpc": "2.0", "id": 2, "error": {"code": -32603, "message": "boom"}})
    lines = text([*prelude(), prompt(), error]).splitlines()
    assert "    #6     0.060 ← session/prompt id=2 error [s1] +10.0ms  error -32603: boom" in lines


@pytest.mark.parametrize(
    ("keep", "expected"),
    [
        pytest.param(Filter(dirs=frozenset({"err"})), ["stderr"], id="dir-err"),
        pytest.param(
            Filter(methods=("session/prompt",)),
            ["session/prompt id=2", "session/prompt id=2 result"],
            id="method",
        ),
        pytest.param(
            Filter(methods=("tool_call*",)),
            ["tool_call", "tool_call_update", "tool_call_update"],
            id="update-kind-glob",
        ),
        pytest.param(
            Filter(dirs=frozenset({"c2a"}), methods=("fs/*", "session/request_permission")),
            ["session/request_permission id=p1 result", "fs/read_text_file id=r1 result"],
            id="dir-and-method",
        ),
    ],
)
def test_filters_select_by_direction_method_and_update_kind(
    keep: Filter, expected: list[str]
) -> None:
    """Only events matching every given filter are shown (header and footer too are hidden)."""
    labels = [render(e)[19:].split("  ")[0].split(" [")[0] for e in events(SESSION, keep)]
    assert labels == expected


def test_session_filter_matches_a_prefix_and_joins_only_that_sessions_chunks() -> None:
    """--session keeps one session's events; chunks of another session are not joined in."""
    second = [
        c2a(req(3, "session/new", {"cwd": "/", "mcpServers": []})),
        a2c(res(3, {"sessionId": "other-session"})),
        prompt(4, "other-session"),
        prompt(5),
        chunk("A"),
        chunk("x", "other-session"),
        chunk("B"),
        done(4),
        done(5),
    ]
    shown = events([*prelude(), *second], Filter(session="s1"))
    assert [(e.kind, e.text) for e in shown if e.kind == "update"] == [("update", "AB")]
    assert {e.session for e in shown} == {"s1"}
    everything = events([*prelude(), *second])
    assert [e.text for e in everything if e.kind == "update"] == ["A", "x", "B"]


def test_json_events_carry_structured_fields() -> None:
    """--json gives one object per event with kind, method, id, latency and details."""
    objects = [json.loads(to_json_line(e)) for e in events(SESSION)]
    joined = next(o for o in objects if o.get("update") == "agent_message_chunk")
    assert joined == {
        "line": 8,
        "kind": "update",
        "seq": 7,
        "t": 0.07,
        "dir": "a2c",
        "method": "session/update",
        "session": "s1",
        "update": "agent_message_chunk",
        "text": "Hello world",
        "chunks": 3,
        "lastSeq": 10,
    }
    answered = next(o for o in objects if o.get("outcome"))
    assert answered["outcome"] == "selected"
    assert answered["optionId"] == "ok"
    assert answered["latency"] == pytest.approx(0.01)
    bad = next(o for o in objects if o["kind"] == "invalid")
    assert bad["problem"] is True
    status = [o["status"] for o in objects if o.get("toolCallId") == "t1" and "status" in o]
    assert status == ["pending", "in_progress", "completed"]


def test_colour_is_ansi_only_when_asked() -> None:
    """render(colour=True) paints with ANSI codes; plain rendering has none."""
    event = events(SESSION)[1]
    assert ANSI.search(render(event, colour=True))
    assert ANSI.sub("", render(event, colour=True)) == render(event)
    assert not ANSI.search(render(event))


def test_cli_is_plain_when_piped_and_coloured_when_forced(tmp_path: Path) -> None:
    """`acp-tap show` writes no colour to a pipe, colour with --color always, JSON with --json."""
    path = tmp_path / "c.ndjson"
    path.write_bytes(b"".join(cassette_lines(SESSION)))
    plain = run_cli(["show", path])
    assert plain.returncode == 0, plain.stderr
    out = plain.stdout.decode()
    assert not ANSI.search(out)
    assert "← agent (3 chunks, to #10) [s1]  Hello world" in out
    forced = run_cli(["show", "--color", "always", path])
    assert ANSI.search(forced.stdout.decode())
    filtered = run_cli(["show", "--json", "--direction", "c2a", "--method", "session/*", path])
    kinds = [(o["kind"], o["method"]) for o in map(json.loads, filtered.stdout.splitlines())]
    assert kinds == [
        ("request", "session/new"),
        ("request", "session/prompt"),
        ("result", "session/request_permission"),
    ]


def test_cli_reports_a_cut_short_last_line_and_a_bad_file(tmp_path: Path) -> None:
    """A half-written last line is ignored with a note; a line that is not a record fails."""
    path = tmp_path / "cut.ndjson"
    path.write_bytes(b"".join(cassette_lines(prelude(), footer=False)) + b'{"seq":5,"t":1,"di')
    cut = run_cli(["show", path])
    assert cut.returncode == 0
    assert b"session/new id=1 result" in cut.stdout
    assert (
        b"cut.ndjson:6: last line cut short (the recording was interrupted); ignored" in cut.stderr
    )
    bad = tmp_path / "bad.ndjson"
    bad.write_bytes(b"".join(cassette_lines(prelude())[:3]) + b"garbage\n")
    failed = run_cli(["show", bad])
    assert failed.returncode == 2
    assert b"bad.ndjson:4: not a JSON line" in failed.stderr


class _Terminal(io.StringIO):
    """A stream that says it is a terminal."""

    def isatty(self) -> bool:
        return True


def test_auto_colour_follows_the_terminal_and_no_color(monkeypatch: pytest.MonkeyPatch) -> None:
    """--color auto colours a terminal only, and never when NO_COLOR is set."""
    monkeypatch.delenv("NO_COLOR", raising=False)
    monkeypatch.setenv("TERM", "xterm-256color")
    assert use_colour("auto", _Terminal())
    assert not use_colour("auto", io.StringIO())
    assert use_colour("always", io.StringIO())
    monkeypatch.setenv("NO_COLOR", "1")
    assert not use_colour("auto", _Terminal())
    assert not use_colour("never", _Terminal())


def test_cli_stops_quietly_when_the_reader_goes_away(tmp_path: Path) -> None:
    """`acp-tap show ... | head -1` ends with status 0 and no traceback when the pipe closes."""
    path = tmp_path / "long.ndjson"
    logs: list[Item] = [("err", f"log line {n} " + "x" * 60) for n in range(3000)]
    path.write_bytes(b"".join(cassette_lines([*prelude(), *logs])))
    proc = subprocess.Popen(
        [*ACP_TAP, "show", str(path)], stdout=subprocess.PIPE, stderr=subprocess.PIPE
    )
    assert proc.stdout is not None
    assert proc.stdout.readline().strip()
    proc.stdout.close()
    _, err = proc.communicate(timeout=TIMEOUT)
    assert proc.returncode == 0
    assert b"Traceback" not in err


HOSTILE = "\x1b]0;pwned\x07\x1b[2J\x1b[1A\rfake line\x08\x9b31m\u202egnp.exe\ttab"


def test_recorded_control_characters_are_shown_as_escapes() -> None:
    """Text from the cassette (agent text, stderr, non-JSON lines, methods, ids) cannot
    retitle, clear or rewrite the terminal: control characters are written as escapes;
    newlines still break lines and tabs stay tabs. --json keeps the text as it was."""
    items: list[Item] = [
        *prelude(),
        prompt(),
        chunk(HOSTILE),
        ("err", HOSTILE),
        a2c(HOSTILE),
        a2c(note("x/\x1b[2Jmethod", {})),
        done(),
    ]
    rendered = text(items) + "".join(render(e, colour=True) for e in events(items))
    assert not re.search(r"[\x00-\x08\x0b-\x1a\x1c-\x1f\x7f-\x9f\u202e]", rendered)
    assert not re.search(r"\x1b(?!\[[0-9;]*m)", rendered)  # only acp-tap's own colours
    visible = "\\x1b]0;pwned\\x07\\x1b[2J\\x1b[1A\\rfake line\\x08\\x9b31m\\u202egnp.exe\ttab"
    assert rendered.count(visible) >= 4  # chunk, stderr, invalid line, each way
    assert "x/\\x1b[2Jmethod" in rendered
    as_json = [json.loads(to_json_line(e)) for e in events(items)]
    assert HOSTILE in [e.get("text") for e in as_json]


def test_frame_numbers_lead_each_line_as_check_and_replay_cite_them() -> None:
    """Each frame's line starts with #seq; joined chunks say where they end."""
    items = [*prelude(), prompt(), chunk("a"), chunk("b"), done()]
    lines = text(items).splitlines()
    assert [line[:6].strip() for line in lines] == [
        "",
        "#1",
        "#2",
        "#3",
        "#4",
        "#5",
        "#6",
        "#8",
        "",
    ]
    assert "agent (2 chunks, to #7)" in lines[6]


def test_cli_filters_by_direction_and_reads_standard_input(tmp_path: Path) -> None:
    """--direction (not --dir, which is record's output directory) filters; '-' is stdin."""
    content = b"".join(cassette_lines(SESSION))
    done_ = run_cli(["show", "--direction", "err", "-"], content)
    assert done_.returncode == 0, done_.stderr
    assert done_.stdout.decode().splitlines() == ["    #8     0.080 ! stderr  INFO streaming"]
    old = run_cli(["show", "--dir", "err", "-"], content)
    assert old.returncode == 2
    assert b"usage: acp-tap show" in old.stderr


@pytest.mark.parametrize("content", [b"", b"\0" * 1000], ids=["empty", "nul-bytes"])
def test_cli_refuses_what_is_not_a_cassette(tmp_path: Path, content: bytes) -> None:
    """An empty file or NUL bytes is not a cassette: show exits 2, check finds an error."""
    path = tmp_path / "c.ndjson"
    path.write_bytes(content)
    shown = run_cli(["show", path])
    assert shown.returncode == 2
    assert shown.stderr.startswith(f"acp-tap show: {path}:1: ".encode())
    checked = run_cli(["check", path])
    assert checked.returncode == 1
    assert f"{path}:1: error[cassette]: ".encode() in checked.stdout
