"""acp-tap check: each rule with a failing and a passing cassette, the schema, the CLI."""

from __future__ import annotations

import hashlib
import json
import re
import subprocess
import sys
from collections.abc import Iterable
from importlib import resources
from pathlib import Path
from typing import Any

import pytest

from acp_tap.cassette.codec import encode_record
from acp_tap.cassette.model import Eol
from acp_tap.commands.check import check_file
from acp_tap.inspect.check import RULES, Finding, Severity, check_records
from tests.helpers import PYTHON, run_cli
from tests.inspect_support import (
    ALL_CAPS,
    HEADER,
    PERMISSION,
    TOOL_CALL,
    TURN,
    Item,
    a2c,
    answer_permission,
    c2a,
    cancel,
    cassette_lines,
    chunk,
    decode,
    done,
    frame_line,
    note,
    prelude,
    prompt,
    records,
    req,
    res,
    update,
)

PEERS = Path(__file__).parent / "peers"
TOOLS = Path(__file__).parent.parent / "tools"


def findings(items: Iterable[Item], **kwargs: Any) -> list[Finding]:
    """Everything ``check`` reports on a cassette of ``items``."""
    return list(check_records(records(items, **kwargs)))


def rules(found: list[Finding]) -> set[str]:
    """The rules named by ``found``."""
    return {f.rule for f in found}


CASES = [
    # rule, failing items, passing items
    ("non-json", [*prelude(), a2c("Starting agent v1.2")], [*prelude(), ("err", "Starting agent")]),
    ("blank-line", [*prelude(), a2c("")], prelude()),
    ("jsonrpc", [*prelude(), a2c({"jsonrpc": "2.0", "hello": 1})], prelude()),
    ("jsonrpc", [*prelude(), a2c({"id": 7, "method": "x/y"})], prelude()),
    (
        "schema",
        [*prelude(), prompt(), update("agent_message_chunk", content={"type": "text"}), done()],
        [*prelude(), *TURN],
    ),
    ("schema", [*prelude(), prompt(), done(reason="finished")], [*prelude(), *TURN]),
    (
        "schema",
        [*prelude(), c2a(req(5, "session/set_mode", {})), a2c(res(5, {}))],
        [
            *prelude(),
            c2a(req(5, "session/set_mode", {"sessionId": "s1", "modeId": "m"})),
            a2c(res(5, None)),
        ],
    ),
    (
        "schema",
        [*prelude(), prompt(), a2c({"jsonrpc": "2.0", "id": 2, "error": {"code": "bad"}})],
        [
            *prelude(),
            prompt(),
            a2c({"jsonrpc": "2.0", "id": 2, "error": {"code": -32603, "message": "boom"}}),
        ],
    ),
    (
        "kind",
        [*prelude(), c2a(note("session/prompt", {"sessionId": "s1", "prompt": []}))],
        [*prelude(), *TURN],
    ),
    ("wrong-direction", [*prelude(), c2a(note("session/update", {"sessionId": "s1"}))], prelude()),
    (
        "unknown-method",
        [*prelude(), c2a(req(5, "session/frobnicate", {})), a2c(res(5, {}))],
        prelude(),
    ),
    ("extension", [*prelude(), a2c(note("_kiro.dev/metadata", {"sessionId": "s1"}))], prelude()),
    (
        "legacy",
        [
            *prelude(),
            c2a(req(5, "session/set_model", {"sessionId": "s1", "modelId": "m"})),
            a2c(res(5, None)),
        ],
        prelude(),
    ),
    (
        "unstable",
        [
            *prelude(),
            c2a(req(5, "session/fork", {"sessionId": "s1", "cwd": "/tmp"})),
            a2c(res(5, {"sessionId": "s2"})),
        ],
        prelude(),
    ),
    (
        "duplicate-id",
        [*prelude(), prompt(2), prompt(2), done(2)],
        [*prelude(), *TURN, prompt(2), chunk("again"), done(2)],
    ),
    ("unexpected-response", [*prelude(), a2c(res(42, {}))], prelude()),
    ("unexpected-response", [*prelude(), *TURN, done()], [*prelude(), *TURN]),
    ("unanswered", [*prelude(), prompt()], [*prelude(), *TURN]),
    (
        "null-id",
        [
            *prelude(),
            a2c(
                {"jsonrpc": "2.0", "id": None, "error": {"code": -32700, "message": "Parse error"}}
            ),
        ],
        prelude(),
    ),
    (
        "unknown-session",
        [*prelude(), prompt(), chunk("x", session="s2"), done()],
        [*prelude(), *TURN],
    ),
    ("unknown-session", [*prelude(), prompt(session="nope")], [*prelude(), *TURN]),
    (
        "unknown-tool-call",
        [
            *prelude(),
            prompt(),
            update("tool_call_update", toolCallId="t1", status="completed"),
            done(),
        ],
        [
            *prelude(),
            prompt(),
            TOOL_CALL,
            update("tool_call_update", toolCallId="t1", status="completed"),
            done(),
        ],
    ),
    ("update-after-turn", [*prelude(), *TURN, chunk("late")], [*prelude(), *TURN]),
    (
        "update-outside-turn",
        [*prelude(), chunk("unprompted")],
        [*prelude(), update("available_commands_update", availableCommands=[])],
    ),
    (
        "cancel-stop-reason",
        [*prelude(), prompt(), chunk("Hel"), cancel(), chunk("lo"), done()],
        [*prelude(), prompt(), chunk("Hel"), cancel(), chunk("lo"), done(reason="cancelled")],
    ),
    (
        "cancel-stop-reason",
        [
            *prelude(),
            prompt(),
            cancel(),
            a2c({"jsonrpc": "2.0", "id": 2, "error": {"code": -32603, "message": "aborted"}}),
        ],
        [*prelude(), prompt(), cancel(), done(reason="cancelled")],
    ),
    (
        "cancel-permission",
        [
            *prelude(),
            prompt(),
            TOOL_CALL,
            PERMISSION,
            cancel(),
            answer_permission({"outcome": "selected", "optionId": "ok"}),
            done(reason="cancelled"),
        ],
        [
            *prelude(),
            prompt(),
            TOOL_CALL,
            PERMISSION,
            cancel(),
            answer_permission({"outcome": "cancelled"}),
            done(reason="cancelled"),
        ],
    ),
    (
        "capability",
        [
            *prelude(caps={}),
            prompt(),
            a2c(req("r1", "fs/read_text_file", {"sessionId": "s1", "path": "/a"})),
            c2a(res("r1", {"content": ""})),
            done(),
        ],
        [
            *prelude(),
            prompt(),
            a2c(req("r1", "fs/read_text_file", {"sessionId": "s1", "path": "/a"})),
            c2a(res("r1", {"content": ""})),
            done(),
        ],
    ),
    (
        "capability",
        [
            *prelude(caps={"terminal": False}),
            prompt(),
            a2c(req("r1", "terminal/create", {"sessionId": "s1", "command": "ls"})),
            c2a(res("r1", {"terminalId": "x"})),
            done(),
        ],
        [
            *prelude(),
            prompt(),
            a2c(req("r1", "terminal/create", {"sessionId": "s1", "command": "ls"})),
            c2a(res("r1", {"terminalId": "x"})),
            done(),
        ],
    ),
]


@pytest.mark.parametrize(
    ("rule", "failing", "passing"),
    [pytest.param(*case, id=f"{case[0]}-{n}") for n, case in enumerate(CASES)],
)
def test_each_rule_flags_the_failing_cassette_and_not_the_passing_one(
    rule: str, failing: list[Item], passing: list[Item]
) -> None:
    """A rule fires on the cassette breaking it; the passing cassette has no finding at all."""
    failed = findings(failing)
    assert rule in rules(failed), failed
    assert all(f.severity is RULES[f.rule].severity for f in failed)
    passed = findings(passing)
    assert passed == []


def test_every_rule_has_a_test_case_or_a_dedicated_test() -> None:
    """Every rule in the table is exercised by this file."""
    dedicated = {
        "cassette",
        "cut-short",
        "footer",
        "no-newline",
        "unanswered-cut",
        "unanswered-exit",
        "early-session",
    }
    assert {case[0] for case in CASES} | dedicated == set(RULES)


def test_a_finding_names_the_frame_line_and_method() -> None:
    """Findings carry frame number, cassette line and method, and format as path:line."""
    (found,) = findings([*prelude(), *TURN, chunk("late")])
    assert (found.seq, found.line, found.method) == (8, 9, "session/update")
    assert found.format("c.ndjson") == (
        "c.ndjson:9: frame 8 (session/update): error[update-after-turn]: agent_message_chunk "
        "for session s1 after its turn ended (session/prompt response at frame 7, line 8)"
    )


def test_responses_are_named_by_the_method_they_answer() -> None:
    """A bad result is reported under the request's method, with the field path."""
    (found,) = findings([*prelude(), prompt(), done(reason="finished")])
    assert found.method == "session/prompt"
    assert found.message.startswith("result.stopReason: 'finished' is not one of 'end_turn'")


def test_a_tagged_union_error_points_inside_the_selected_branch() -> None:
    """A chunk missing its text says which field is missing, not 'not valid under any'."""
    items = [*prelude(), prompt(), update("agent_message_chunk", content={"type": "text"}), done()]
    (found,) = findings(items)
    assert found.message == "params.update.content: 'text' is a required property"


def test_cut_short_cassette_reports_pending_requests_as_warnings() -> None:
    """Without a footer, pending requests are warnings and the cassette is flagged cut short."""
    found = findings([*prelude(), prompt(), chunk("Hel")], footer=False)
    assert [(f.rule, f.severity) for f in found] == [
        ("cut-short", Severity.WARNING),
        ("unanswered-cut", Severity.WARNING),
    ]


def test_footer_counts_are_compared_with_the_frames_read() -> None:
    """A footer claiming other frame counts than the cassette holds is a warning."""
    found = findings(prelude(), counts={"c2a": 2, "a2c": 3, "err": 0})
    assert rules(found) == {"footer"}


@pytest.mark.parametrize(
    ("order", "line", "reason"),
    [
        pytest.param([1, 0, 2], 1, "the first record must be the header", id="frame-first"),
        pytest.param([0, 1, 5, 0], 4, "a header after the footer", id="header-after-footer"),
        pytest.param([0, 1, 1], 3, "frame 1 comes after frame 1", id="same-seq"),
        pytest.param([0, 1, 3, 2], 4, "frame 2 comes after frame 3", id="backwards-seq"),
        pytest.param([0, 0], 2, "a second header", id="two-headers"),
        pytest.param([], 1, "empty cassette", id="nothing"),
    ],
)
def test_structure_errors_are_the_readers(order: list[int], line: int, reason: str) -> None:
    """Records out of order are one cassette error at the first bad line, as every reader
    says, and nothing after it is checked."""
    lines = cassette_lines(prelude())
    found = list(check_records(decode([lines[i] for i in order])))
    assert [(f.rule, f.severity, f.line) for f in found] == [("cassette", Severity.ERROR, line)]
    assert reason in found[0].message


KIRO_EARLY = [
    c2a(req(0, "initialize", {"protocolVersion": 1, "clientCapabilities": ALL_CAPS})),
    a2c(res(0, {"protocolVersion": 1})),
    c2a(req(1, "session/new", {"cwd": "/tmp", "mcpServers": []})),
    a2c(note("_kiro.dev/mcp/server_initialized", {"sessionId": "s1", "serverName": "gh"})),
    a2c(note("_kiro.dev/commands/available", {"sessionId": "s1", "commands": []})),
    a2c(note("_kiro.dev/metadata", {"sessionId": "s1", "contextUsagePercentage": 1.5})),
    a2c(res(1, {"sessionId": "s1"})),
    *TURN,
]
"""kiro-cli 2.x: three notifications for the new session before the session/new result."""


def test_kiro_announcing_a_new_session_before_its_result_is_a_note() -> None:
    """Notifications naming the session the pending session/new result then opens are notes."""
    found = findings(KIRO_EARLY)
    assert [f.severity for f in found if f.severity is not Severity.NOTE] == []
    early = [(f.rule, f.seq, f.method) for f in found if f.rule == "early-session"]
    assert early == [
        ("early-session", 4, "_kiro.dev/mcp/server_initialized"),
        ("early-session", 5, "_kiro.dev/commands/available"),
        ("early-session", 6, "_kiro.dev/metadata"),
    ]
    assert "before the session/new result that names it (frame 7)" in found[-1].message


@pytest.mark.parametrize(
    ("items", "seq"),
    [
        pytest.param(
            [*KIRO_EARLY[:3], a2c(note("_kiro.dev/metadata", {"sessionId": "s2"})), KIRO_EARLY[6]],
            4,
            id="another-session",
        ),
        pytest.param(
            [
                *KIRO_EARLY[:2],
                a2c(note("_kiro.dev/metadata", {"sessionId": "s1"})),
                *KIRO_EARLY[2:3],
                KIRO_EARLY[6],
            ],
            3,
            id="no-session-new-pending",
        ),
        pytest.param(
            [
                *KIRO_EARLY[:3],
                a2c(req("r", "fs/read_text_file", {"sessionId": "s1", "path": "/a"})),
            ],
            4,
            id="a-request-not-a-notification",
        ),
        pytest.param(
            [*KIRO_EARLY[:3], a2c(note("_kiro.dev/metadata", {"sessionId": "s1"}))],
            4,
            id="session-new-never-answered",
        ),
        pytest.param(
            [
                *KIRO_EARLY[:3],
                KIRO_EARLY[5],
                a2c({"jsonrpc": "2.0", "id": 1, "error": {"code": 1, "message": "no"}}),
            ],
            4,
            id="session-new-failed",
        ),
    ],
)
def test_other_early_messages_name_an_unknown_session(items: list[Item], seq: int) -> None:
    """A message for a session no pending session/new result names is still an error."""
    found = findings(items)
    unknown = [(f.rule, f.seq) for f in found if f.severity is Severity.ERROR]
    assert ("unknown-session", seq) in unknown
    assert "early-session" not in rules(found)


@pytest.mark.parametrize(
    ("closed_first", "why"),
    [
        pytest.param("agent", "the agent exited first, status 3", id="agent-exited"),
        pytest.param("signal", "the recording was stopped by a signal", id="stopped"),
    ],
)
def test_a_request_left_pending_by_the_agent_exiting_is_a_warning(
    closed_first: str, why: str
) -> None:
    """A request unanswered because the agent exited (or was stopped) is a warning saying so;
    unanswered while the agent lived on, it is an error."""
    items = [*prelude(), prompt(), chunk("Hel")]
    found = list(check_records(decode(cassette_lines(items, closed_first=closed_first, status=3))))
    assert [(f.rule, f.severity, f.seq) for f in found] == [
        ("unanswered-exit", Severity.WARNING, 5)
    ]
    assert why in found[0].message
    lived_on = list(check_records(decode(cassette_lines(items, closed_first="client"))))
    assert [(f.rule, f.severity) for f in lived_on] == [("unanswered", Severity.ERROR)]


def test_a_last_line_without_newline_is_a_warning() -> None:
    """A message whose line never ended may not have been read by the peer."""
    lines = [encode_record(HEADER), *cassette_lines(prelude(), footer=False)[1:]]
    lines.append(frame_line(5, chunk("x"), eol=Eol.NONE))
    assert "no-newline" in rules(list(check_records(decode(lines))))


def test_session_load_replay_is_not_outside_a_turn() -> None:
    """Updates replayed during session/load are in order; a failed load closes the session."""
    load = c2a(req(2, "session/load", {"sessionId": "old", "cwd": "/tmp", "mcpServers": []}))
    replay = [
        update("user_message_chunk", "old", content={"type": "text", "text": "hi"}),
        chunk("yo", "old"),
    ]
    assert findings([*prelude(), load, *replay, a2c(res(2, None)), prompt(3, "old"), done(3)]) == []
    failed = a2c({"jsonrpc": "2.0", "id": 2, "error": {"code": -32002, "message": "not found"}})
    assert rules(findings([*prelude(), load, failed, prompt(3, "old"), done(3)])) == {
        "unknown-session"
    }


def test_extension_notes_are_reported_once_per_method() -> None:
    """Repeated extension notifications give one note, not one per frame."""
    meta = a2c(note("_kiro.dev/metadata", {"sessionId": "s1"}))
    found = findings([*prelude(), meta, meta, meta])
    assert [f.rule for f in found] == ["extension"]
    assert found[0].severity is Severity.NOTE


def test_string_and_number_ids_are_distinct() -> None:
    """Request id 1 is not answered by a response with id "1"."""
    found = findings([*prelude(), c2a(req(7, "session/list", {})), a2c(res("7", {"sessions": []}))])
    assert rules(found) == {"unexpected-response", "unanswered"}


# -- the schema pre-check agrees with jsonschema -----------------------------------------


def _mutations(value: Any) -> Iterable[Any]:
    """``value`` with one leaf replaced, or one key removed, in every possible way."""
    replacements: list[Any] = [None, True, 0, -1, 1.5, "", "x", "cancelled", [], {}, [{}]]
    yield from replacements
    if isinstance(value, dict):
        for key in value:
            yield {k: v for k, v in value.items() if k != key}
            for variant in _mutations(value[key]):
                yield {**value, key: variant}
    elif isinstance(value, list):
        for i, item in enumerate(value):
            for variant in _mutations(item):
                yield [*value[:i], variant, *value[i + 1 :]]


SAMPLES = [
    (
        "SessionNotification",
        {
            "sessionId": "s",
            "update": {
                "sessionUpdate": "agent_message_chunk",
                "content": {"type": "text", "text": "hi"},
            },
        },
    ),
    (
        "SessionNotification",
        {
            "sessionId": "s",
            "update": {
                "sessionUpdate": "tool_call_update",
                "toolCallId": "t",
                "status": "completed",
                "content": [
                    {"type": "content", "content": {"type": "text", "text": "x"}},
                    {"type": "diff", "path": "/a", "newText": "b"},
                ],
            },
        },
    ),
    (
        "SessionNotification",
        {
            "sessionId": "s",
            "update": {
                "sessionUpdate": "plan",
                "entries": [{"content": "c", "priority": "high", "status": "pending"}],
            },
        },
    ),
    (
        "InitializeRequest",
        {
            "protocolVersion": 1,
            "clientCapabilities": ALL_CAPS,
            "clientInfo": {"name": "n", "version": "1"},
        },
    ),
    (
        "InitializeResponse",
        {"protocolVersion": 1, "agentCapabilities": {"loadSession": True}, "authMethods": []},
    ),
    (
        "PromptRequest",
        {
            "sessionId": "s",
            "prompt": [
                {"type": "image", "mimeType": "image/png", "data": "AA=="},
                {"type": "resource", "resource": {"uri": "file:///a", "text": "x"}},
            ],
        },
    ),
    ("RequestPermissionResponse", {"outcome": {"outcome": "selected", "optionId": "o"}}),
    (
        "NewSessionRequest",
        {
            "cwd": "/",
            "mcpServers": [
                {"name": "m", "command": "c", "args": [], "env": [{"name": "K", "value": "V"}]}
            ],
        },
    ),
    ("Error", {"code": -32603, "message": "m", "data": {"x": 1}}),
]


@pytest.mark.parametrize(("def_name", "sample"), [pytest.param(d, s, id=d) for d, s in SAMPLES])
def test_precheck_agrees_with_jsonschema_on_mutated_messages(def_name: str, sample: Any) -> None:
    """The compiled pre-check accepts what jsonschema accepts, on every one-step mutation."""
    import jsonschema

    from acp_tap.inspect.schema import load_schema

    document = load_schema().stable
    precheck = document._precheck(def_name)
    assert precheck is not None
    validator = document.validator(def_name)
    assert validator.is_valid(sample)
    assert precheck(sample)
    disagreements = [
        m for m in _mutations(sample) if precheck(m) != validator.is_valid(m)
    ]  # accepted by one and not the other
    assert disagreements == []
    assert isinstance(validator, jsonschema.Draft202012Validator)


def test_every_schema_definition_compiles_to_a_precheck() -> None:
    """No definition of the stable or unstable schema falls back to jsonschema alone."""
    from acp_tap.inspect.schema import load_schema

    schema = load_schema()
    for document in (schema.stable, schema.unstable):
        assert document is not None
        assert [d for d in document.defs if document._precheck(d) is None] == []


def test_vendored_schema_matches_its_provenance() -> None:
    """Each vendored schema file (package data) has the sha256 that PROVENANCE.md records."""
    folder = resources.files("acp_tap").joinpath("schemas", "v1")
    text = folder.joinpath("PROVENANCE.md").read_text(encoding="utf-8")
    rows = re.findall(r"^\| `([^`]+)` \| .* \| `([0-9a-f]{64})` \|$", text, re.MULTILINE)
    names = {"schema.json", "schema.unstable.json", "meta.json", "meta.unstable.json"}
    assert {name for name, _ in rows} == names
    for name, sha in rows:
        assert hashlib.sha256(folder.joinpath(name).read_bytes()).hexdigest() == sha


def test_update_schema_tool_copies_a_directory_and_records_provenance(tmp_path: Path) -> None:
    """update_schema.py --from DIR vendors files with their hashes, and refuses non-ACP ones."""
    source = tmp_path / "src"
    source.mkdir()
    schema = resources.files("acp_tap").joinpath("schemas", "v1", "schema.json").read_bytes()
    (source / "schema.json").write_bytes(schema)
    dest = tmp_path / "dest"
    tool = [PYTHON, str(TOOLS / "update_schema.py"), "--from", str(source), "--dest", str(dest)]
    done_ = subprocess.run(
        [*tool, "--source", "a test"], capture_output=True, timeout=60, check=False
    )
    assert done_.returncode == 0, done_.stderr
    assert (dest / "schema.json").read_bytes() == schema
    provenance = (dest / "PROVENANCE.md").read_text(encoding="utf-8")
    assert "| `schema.json` | a test, copied " in provenance
    assert hashlib.sha256(schema).hexdigest() in provenance
    (source / "schema.json").write_text('{"$defs": {}}')
    refused = subprocess.run(tool, capture_output=True, timeout=60, check=False)
    assert refused.returncode != 0
    assert b"not a draft 2020-12 ACP schema" in refused.stderr


# -- the command line --------------------------------------------------------------------


def write(path: Path, lines: list[bytes]) -> Path:
    """Write cassette lines to ``path``."""
    path.write_bytes(b"".join(lines))
    return path


def test_cli_prints_findings_and_exits_1_on_errors(tmp_path: Path) -> None:
    """`acp-tap check` prints path:line findings and a summary, and exits 1 on an error."""
    bad = write(tmp_path / "bad.ndjson", cassette_lines([*prelude(), *TURN, chunk("late")]))
    good = write(tmp_path / "good.ndjson", cassette_lines([*prelude(), *TURN]))
    done_ = run_cli(["check", bad, good])
    out = done_.stdout.decode()
    assert done_.returncode == 1, done_.stderr
    assert f"{bad}:9: frame 8 (session/update): error[update-after-turn]: " in out
    assert f"{bad}: FAIL: 1 error, 0 warnings, 0 notes" in out
    assert f"{good}: ok: 0 errors, 0 warnings, 0 notes" in out
    assert "total: FAIL: 1 error" in out


def test_cli_exits_0_with_warnings_only_and_json_is_one_object_per_finding(tmp_path: Path) -> None:
    """Warnings do not fail the check; --json prints machine-readable findings."""
    path = write(tmp_path / "cut.ndjson", cassette_lines([*prelude(), prompt()], footer=False))
    done_ = run_cli(["check", "--json", path])
    assert done_.returncode == 0, done_.stderr
    objects = [json.loads(line) for line in done_.stdout.splitlines()]
    assert [(o["rule"], o["severity"], o["path"]) for o in objects] == [
        ("cut-short", "warning", str(path)),
        ("unanswered-cut", "warning", str(path)),
    ]
    assert b"ok: 0 errors, 2 warnings" in done_.stderr


def test_cli_reports_a_cut_short_last_line_and_a_missing_file(tmp_path: Path) -> None:
    """A half-written last line is a warning; a missing cassette exits 2."""
    lines = cassette_lines([*prelude(), *TURN], footer=False)
    path = write(tmp_path / "cut.ndjson", [*lines, b'{"seq":9,"t":0.5,"dir":"a2c","msg":{"json'])
    done_ = run_cli(["check", path])
    assert done_.returncode == 0, done_.stdout
    assert f"{path}:9: warning[cut-short]: last line cut short" in done_.stdout.decode()
    missing = run_cli(["check", tmp_path / "nope.ndjson"])
    assert missing.returncode == 2
    assert b"cannot read" in missing.stderr


def test_cli_lists_rules() -> None:
    """--list-rules prints every rule with its severity."""
    done_ = run_cli(["check", "--list-rules"])
    assert done_.returncode == 0
    listed = [line.split()[0] for line in done_.stdout.decode().splitlines()]
    assert listed == list(RULES)


@pytest.mark.parametrize(
    ("scenario", "agent"),
    [
        pytest.param("basic", [PYTHON, "-m", "acp_tap.demo.agent"], id="demo-basic"),
        pytest.param("cancel", [PYTHON, "-m", "acp_tap.demo.agent"], id="demo-cancel"),
        pytest.param("load", [PYTHON, "-m", "acp_tap.demo.agent"], id="demo-load"),
        pytest.param("reject", [PYTHON, str(PEERS / "sdk_agent.py")], id="sdk-agent-reject"),
    ],
)
def test_real_recordings_from_the_sdk_client_pass_check(
    tmp_path: Path, scenario: str, agent: list[str]
) -> None:
    """A session recorded between the official SDK client and a real agent has no error."""
    cassette = tmp_path / "real.ndjson"
    record = [PYTHON, "-m", "acp_tap", "record", "-q", "-o", str(cassette), "--", *agent]
    client = [sys.executable, str(PEERS / "sdk_client.py"), "--scenario", scenario, "--", *record]
    subprocess.run(client, capture_output=True, timeout=60, check=True)
    done_ = run_cli(["check", cassette])
    assert done_.returncode == 0, done_.stdout.decode()
    assert b": ok: 0 errors, 0 warnings" in done_.stdout


FIXTURES = sorted((Path(__file__).parent.parent / "fixtures").glob("*.ndjson"))


@pytest.mark.parametrize("cassette", FIXTURES, ids=lambda p: p.stem)
def test_shipped_fixtures_pass_check(cassette: Path) -> None:
    """Every shipped fixture passes check; the crash fixture warns of the unanswered prompt."""
    found = list(check_file(str(cassette)))
    assert [f for f in found if f.severity is Severity.ERROR] == []
    warnings = [(f.rule, f.method) for f in found if f.severity is Severity.WARNING]
    if cassette.stem == "agent-crash":
        assert warnings == [("unanswered-exit", "session/prompt")]
        assert "the agent exited first, status 3" in found[-1].message
    else:
        assert warnings == []
