"""``acp-tap diff``: semantic, turn-aligned comparison of two cassettes."""

from __future__ import annotations

import json
import subprocess
from pathlib import Path

from acp_tap.inspect.diff import Change, Summary, diff, flatten, summarize, word_diff
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
    prelude,
    prompt,
    records,
    res,
)

FIXTURES = Path(__file__).parent.parent / "fixtures"


def summary(items: list[Item]) -> Summary:
    """The summary of a cassette holding ``items``."""
    return summarize(record for _, record in records(items))


def test_chunking_ids_and_session_ids_are_ignored() -> None:
    """The same conversation with other chunk boundaries, ids and session id has no difference."""
    first = [*prelude(), prompt(2), chunk("Hello "), chunk("world"), done(2)]
    renamed = [
        c2a(m) if d == "c2a" else a2c(m)
        for d, m in (
            (d, json.loads(json.dumps(m).replace('"s1"', '"other-session"'))) for d, m in first[:4]
        )
    ]
    second = [*renamed, prompt(7, "other-session"), chunk("Hel", "other-session")]
    second += [chunk("lo world", "other-session"), done(7)]
    assert diff(summary(first), summary(second)) == []


def test_changed_text_stop_reason_and_permission_outcome() -> None:
    """Agent text, permission outcome, tool statuses and stop reason differences are reported."""
    allowed = [
        *prelude(),
        prompt(2),
        TOOL_CALL,
        PERMISSION,
        answer_permission({"outcome": "selected", "optionId": "ok"}),
        chunk("done it"),
        done(2),
    ]
    refused = [
        *prelude(),
        prompt(2),
        TOOL_CALL,
        PERMISSION,
        answer_permission({"outcome": "cancelled"}),
        chunk("gave up"),
        done(2, "cancelled"),
    ]
    changes = diff(summary(allowed), summary(refused))
    assert changes == [
        Change("session 1 turn 1", "agent text", "done it", "gave up"),
        Change("session 1 turn 1", "stop reason", "end_turn", "cancelled"),
        Change("session 1 turn 1", "permission 1 outcome", "selected:ok", "cancelled"),
    ]


def test_capabilities_and_missing_turns() -> None:
    """A changed capability and a turn present in one cassette only are differences."""
    base = [*prelude(), prompt(2), chunk("a"), done(2)]
    more = [*prelude(caps={"fs": {"readTextFile": False}}), prompt(2), chunk("a"), done(2)]
    more += [prompt(3), chunk("b"), done(3)]
    changes = diff(summary(base), summary(more))
    assert Change("handshake", "client.fs.readTextFile", True, False) in changes
    assert Change("session 1 turn 2", "exists", False, True) in changes


def test_session_setup_results_are_compared_without_ids() -> None:
    """Modes and models offered by session/new are compared; the session id is not."""
    a = [*prelude()[:3], a2c(res(1, {"sessionId": "x", "modes": {"currentModeId": "ask"}}))]
    b = [*prelude()[:3], a2c(res(1, {"sessionId": "y", "modes": {"currentModeId": "code"}}))]
    assert diff(summary(a), summary(b)) == [
        Change("session 1", "modes.currentModeId", "ask", "code")
    ]


def test_flatten_and_word_diff() -> None:
    """Flattened paths keep document order; word diffs mark removals and additions."""
    assert list(flatten({"b": {"c": [1, {}]}, "a": 2})) == ["b.c[0]", "b.c[1]", "a"]
    assert word_diff("one two three", "one 2 three") == "one [-two-] {+2+} three"


def test_cli_identical_and_different_fixtures() -> None:
    """The CLI exits 0 for identical conversations, 1 with readable changes otherwise."""
    same = run_cli(["diff", FIXTURES / "fs-read.ndjson", FIXTURES / "fs-read.ndjson"])
    assert same.returncode == 0
    assert same.stdout == b""
    changed = run_cli(
        ["diff", FIXTURES / "permission-allowed.ndjson", FIXTURES / "permission-rejected.ndjson"]
    )
    assert changed.returncode == 1
    text = changed.stdout.decode()
    assert (
        "session 1 turn 1: permission 1 outcome\n    - 'selected:allow_once'\n    + 'selected:reject_once'"
        in text
    )
    assert "pending -> in_progress -> completed" in text
    as_json = run_cli(
        [
            "diff",
            "--json",
            FIXTURES / "permission-allowed.ndjson",
            FIXTURES / "permission-rejected.ndjson",
        ]
    )
    rows = [json.loads(line) for line in as_json.stdout.splitlines()]
    assert {
        "where": "session 1 turn 1",
        "field": "permission 1 outcome",
        "a": "selected:allow_once",
        "b": "selected:reject_once",
    } in rows


def test_cli_unreadable_cassette_exits_2(tmp_path: Path) -> None:
    """A missing cassette is one line naming it (no raw errno), status 2, not a difference."""
    missing = tmp_path / "nope.ndjson"
    done_ = run_cli(["diff", missing, FIXTURES / "handshake.ndjson"])
    assert done_.returncode == 2
    assert done_.stderr.decode() == (
        f"acp-tap diff: cannot read cassette {missing}: No such file or directory; "
        "record one with 'acp-tap record -o FILE -- AGENT...'\n"
    )


def test_cli_reads_one_side_from_standard_input() -> None:
    """'-' is standard input, for one side only."""
    allowed = FIXTURES / "permission-allowed.ndjson"
    same = run_cli(["diff", "-", allowed], allowed.read_bytes())
    assert (same.returncode, same.stdout) == (0, b"")
    both = run_cli(["diff", "-", "-"])
    assert both.returncode == 2
    assert b"acp-tap diff: error: standard input ('-') can be only one side" in both.stderr


def test_cli_keeps_its_verdict_when_the_reader_goes_away() -> None:
    """`acp-tap diff A B | head -1`: no traceback, and the status still says they differ."""
    proc = subprocess.Popen(
        [
            *ACP_TAP,
            "diff",
            str(FIXTURES / "permission-allowed.ndjson"),
            str(FIXTURES / "permission-rejected.ndjson"),
        ],
        stdout=subprocess.PIPE,
        stderr=subprocess.PIPE,
    )
    assert proc.stdout is not None
    assert proc.stdout.readline()
    proc.stdout.close()
    _, err = proc.communicate(timeout=TIMEOUT)
    assert proc.returncode == 1
    assert b"Traceback" not in err and b"BrokenPipe" not in err


def test_cli_shows_recorded_control_characters_as_escapes(tmp_path: Path) -> None:
    """Agent text in a difference never reaches the terminal raw."""
    before, after = tmp_path / "a.ndjson", tmp_path / "b.ndjson"
    before.write_bytes(b"".join(cassette_lines([*prelude(), prompt(), chunk("calm"), done()])))
    after.write_bytes(
        b"".join(cassette_lines([*prelude(), prompt(), chunk("\x1b]0;pwned\x07\r"), done()]))
    )
    done_ = run_cli(["diff", before, after])
    assert done_.returncode == 1
    assert b"\x1b" not in done_.stdout and b"\r" not in done_.stdout
    assert b"\\x1b]0;pwned\\x07\\r" in done_.stdout
