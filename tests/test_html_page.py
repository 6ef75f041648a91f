"""The HTML page's pure core: the track model, JSON made safe for a page, the page itself."""

from __future__ import annotations

import base64
import hashlib
import json
import re
from html.parser import HTMLParser
from pathlib import Path
from typing import Any

import pytest
from hypothesis import given
from hypothesis import strategies as st

from acp_tap.cassette.model import Direction, Frame, Payload
from acp_tap.inspect.diff import diff, summarize
from acp_tap.inspect.html import embed
from acp_tap.inspect.html.alignment import aligned_rows
from acp_tap.inspect.html.embed import FrameChunks, script_safe
from acp_tap.inspect.html.page import PageWriter
from acp_tap.inspect.html.track import KINDS, TrackBuilder
from tests.inspect_support import (
    PERMISSION,
    TOOL_CALL,
    a2c,
    answer_permission,
    c2a,
    cancel,
    chunk,
    done,
    prelude,
    prompt,
    records,
    req,
    update,
)

SESSION = [
    *prelude(),
    prompt(),
    chunk("Hel"),
    ("err", "INFO working"),
    TOOL_CALL,
    PERMISSION,
    answer_permission({"outcome": "selected", "optionId": "ok"}),
    update("tool_call_update", toolCallId="t1", status="in_progress"),
    a2c(req("r1", "fs/read_text_file", {"sessionId": "s1", "path": "/a"})),
    c2a({"jsonrpc": "2.0", "id": "r1", "error": {"code": -32002, "message": "no such file"}}),
    update("tool_call_update", toolCallId="t1", status="failed"),
    done(),
    prompt(3),
    cancel(),
    done(3, "cancelled"),
    prompt(4),
    a2c("a log line on stdout"),
]


def track(items: list[Any]) -> dict[str, Any]:
    """The page model of a cassette holding ``items``."""
    builder = TrackBuilder("test.ndjson")
    for line, record in records(items):
        builder.feed(line, record)
    return builder.model()


def decoded(column: list[int]) -> list[int]:
    """A delta-coded column as absolute values."""
    total, out = 0, []
    for delta in column:
        total += delta
        out.append(total)
    return out


def test_frames_are_columns_of_small_numbers() -> None:
    """Each frame's seq, time (µs), direction, kind, name and session, delta-coded where it pays."""
    model = track(SESSION)
    frames = model["frames"]
    assert decoded(frames["seq"]) == list(range(1, len(SESSION) + 1))
    assert decoded(frames["t"]) == [seq * 10_000 for seq in range(1, len(SESSION) + 1)]
    kinds = [KINDS[k] for k in frames["kind"]]
    assert kinds[:4] == ["request", "result", "request", "result"]
    assert kinds[6] == "stderr"
    assert kinds[-1] == "invalid"
    names = [model["names"][n] if n >= 0 else None for n in frames["name"]]
    assert names[1] == ("initialize", None)  # a result is named by the method it answers
    assert names[5] == ("session/update", "agent_message_chunk")
    assert model["sessions"] == ["s1"]
    assert [model["dirs"][d] for d in frames["dir"][5:7]] == ["a2c", "err"]
    assert model["problems"] == [12, len(SESSION) - 1]  # the error response, the log line


def test_requests_are_paired_with_their_responses() -> None:
    """Every request knows its response frame (latency), its session and any error."""
    requests = track(SESSION)["requests"]
    by_method = {r["method"]: r for r in requests}
    assert by_method["initialize"] == {
        "dir": "c2a",
        "method": "initialize",
        "session": -1,
        "req": 0,
        "res": 1,
    }
    assert by_method["fs/read_text_file"]["res"] == 12
    assert by_method["fs/read_text_file"]["error"] == "error -32002: no such file"
    assert by_method["session/request_permission"]["dir"] == "a2c"
    assert "res" not in requests[-1]  # the last prompt was never answered


def test_turns_tool_calls_and_permissions() -> None:
    """Turns with stop reason and cancel, tool calls with every status and frame, and the
    option the client chose."""
    model = track(SESSION)
    turns = model["turns"]
    assert [(t["n"], t["origin"], t["start"], t["end"], t["stop"]) for t in turns] == [
        (0, "prompt", 4, 14, "end_turn"),
        (1, "prompt", 15, 17, "cancelled"),
        (2, "prompt", 18, None, None),
    ]
    assert turns[1]["cancel"] == 16
    [tool] = model["tools"]
    assert tool["statuses"] == ["pending", "in_progress", "failed"]
    assert tool["frames"] == [7, 10, 13]
    assert (tool["title"], tool["kind"], tool["turn"]) == ("Read", "read", 0)
    [permission] = model["permissions"]
    assert permission["options"] == [["ok", "Yes", "allow_once"]]
    assert (permission["outcome"], permission["chosen"], permission["tool"]) == (
        "selected",
        "ok",
        "t1",
    )


@given(
    st.recursive(
        st.text() | st.integers() | st.booleans() | st.none(),
        lambda inner: st.lists(inner) | st.dictionaries(st.text(), inner),
        max_leaves=20,
    )
)
def test_script_safe_json_means_the_same_and_holds_no_markup(value: Any) -> None:
    """Escaped JSON decodes to the same value and has no <, >, & or U+2028/9 left."""
    text = json.dumps(value, ensure_ascii=False).encode("utf-8", "surrogatepass")
    safe = script_safe(text)
    assert json.loads(safe.decode("utf-8", "surrogatepass")) == value
    assert not re.search(rb"[<>&]|\xe2\x80[\xa8\xa9]", safe)


def test_frame_chunks_are_json_arrays_with_one_frame_per_line(
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    """Chunks hold JSON frames verbatim (escaped), text as strings, bytes as base64; past the
    limits a frame's content is left out and counted."""
    monkeypatch.setattr(embed, "CHUNK_BYTES", 40)
    monkeypatch.setattr(embed, "FRAME_LIMIT", 100)
    written: list[bytes] = []
    chunks = FrameChunks(written.append, 0)
    frames = [
        Frame(1, 0.1, Direction.AGENT_TO_CLIENT, b'{"a":"</script>"}', Payload.JSON),
        Frame(2, 0.2, Direction.AGENT_STDERR, "log \u2028 <b>".encode(), Payload.TEXT),
        Frame(3, 0.3, Direction.AGENT_TO_CLIENT, b"\xff\xfe", Payload.BINARY),
        Frame(4, 0.4, Direction.AGENT_TO_CLIENT, b'"' + b"x" * 200 + b'"', Payload.JSON),
    ]
    for frame in frames:
        chunks.add(frame)
    chunks.close()
    bodies = [
        re.fullmatch(
            rb'<script type="application/json" class="acp-frames" data-track="0">(.*)</script>\n',
            w,
            re.S,
        )
        for w in written
    ]
    assert all(bodies)
    values = [v for body in bodies if body for v in json.loads(body.group(1))]
    assert values == [
        {"a": "</script>"},
        "log \u2028 <b>",
        base64.b64encode(b"\xff\xfe").decode(),
        None,
    ]
    assert b"</script>" not in b"".join(b.group(1) for b in bodies if b)
    assert chunks.model() == {
        "chunks": [2, 2],
        "text": [1],
        "b64": [2],
        "omitted": [3],
        "omittedBytes": 202,
    }


class Tags(HTMLParser):
    """Every tag and attribute of a page, and the text of its script and style elements."""

    def __init__(self) -> None:
        super().__init__()
        self.tags: list[tuple[str, dict[str, str | None]]] = []
        self.texts: list[tuple[str, dict[str, str | None], str]] = []
        self._open: tuple[str, dict[str, str | None], list[str]] | None = None

    def handle_starttag(self, tag: str, attrs: list[tuple[str, str | None]]) -> None:
        self.tags.append((tag, dict(attrs)))
        if tag in ("script", "style"):
            self._open = (tag, dict(attrs), [])

    def handle_endtag(self, tag: str) -> None:
        if self._open is not None and tag == self._open[0]:
            self.texts.append((tag, self._open[1], "".join(self._open[2])))
            self._open = None

    def handle_data(self, data: str) -> None:
        if self._open is not None:
            self._open[2].append(data)


def page_of(items: list[Any], title: str = "t") -> bytes:
    """A whole page for a cassette of ``items``."""
    out: list[bytes] = []
    writer = PageWriter(out.append, "show", title)
    writer.add_track("test.ndjson", records(items))
    writer.finish()
    return b"".join(out)


def test_the_page_loads_nothing_and_its_policy_names_its_own_code() -> None:
    """No tag of the page points anywhere; the CSP allows only its inline style and script,
    by hash; the title is escaped; every data element is JSON."""
    hostile = [
        *prelude(),
        prompt(),
        chunk("</script><img src=x onerror=alert(1)> <!-- &amp;"),
        done(),
    ]
    page = page_of(hostile, title="<b>x</b>").decode()
    parser = Tags()
    parser.feed(page)
    linking = {"src", "href", "action", "formaction", "srcset", "poster", "background", "style"}
    assert [(tag, a) for tag, attrs in parser.tags for a in attrs if a in linking] == []
    assert {tag for tag, _ in parser.tags} <= {
        "html",
        "head",
        "meta",
        "title",
        "style",
        "body",
        "noscript",
        "p",
        "div",
        "header",
        "h1",
        "span",
        "i",
        "label",
        "select",
        "input",
        "datalist",
        "button",
        "main",
        "section",
        "aside",
        "script",
    }
    assert "<title>&lt;b&gt;x&lt;/b&gt;</title>" in page
    policy = next(
        a["content"] for tag, a in parser.tags if a.get("http-equiv") == "Content-Security-Policy"
    )
    assert policy is not None
    assert policy.startswith("default-src 'none'")
    code = [(kind, text) for kind, attrs, text in parser.texts if "type" not in attrs]
    assert [kind for kind, _ in code] == ["style", "script"]
    for kind, text in code:
        digest = base64.b64encode(hashlib.sha256(text.encode()).digest()).decode()
        assert f"{kind}-src 'sha256-{digest}'" in policy
    data = [
        json.loads(text)
        for _, attrs, text in parser.texts
        if attrs.get("type") == "application/json"
    ]
    assert data[-1]["tracks"][0]["name"] == "test.ndjson"
    assert "</script><img src=x onerror=alert(1)> <!-- &amp;" in json.dumps(
        data, ensure_ascii=False
    )
    for _, text in code:
        assert re.search(r"url\(|@import|https?://", text) is None
    assert all("://" not in (value or "") for _, attrs in parser.tags for value in attrs.values())


FIXTURES = Path(__file__).parent.parent / "fixtures"


def test_diff_rows_pair_turns_by_session_and_index() -> None:
    """Rows follow acp-tap diff: one per turn position, naming each side's prompt frame and
    the differences found there."""
    from acp_tap.cassette.reader import iter_records

    a = summarize(r for _, r in iter_records(FIXTURES / "session-load.ndjson"))
    b = summarize(r for _, r in iter_records(FIXTURES / "prompt-turn.ndjson"))
    changes = diff(a, b)
    rows = aligned_rows(a, b, changes)
    assert [(r["session"], r["turn"]) for r in rows] == [(1, 1), (1, 2), (1, 3)]
    assert [r["a"] is not None for r in rows] == [True, True, True]
    assert [r["b"] is not None for r in rows] == [True, False, False]
    for row in rows:
        assert [changes[k].where for k in row["changes"]] == [
            f"session 1 turn {row['turn']}"
        ] * len(row["changes"])
    assert rows[1]["changes"] and rows[2]["changes"]


def test_the_page_script_has_no_way_to_turn_text_into_markup_or_code() -> None:
    """The script never parses strings as HTML or code, nor sets attributes by name: cassette
    text can only ever become text nodes and properties."""
    assets = Path(__file__).parent.parent / "acp_tap" / "inspect" / "html" / "assets"
    sinks = re.compile(
        r"innerHTML|outerHTML|insertAdjacentHTML|document\.write|\beval\(|new Function|"
        r"setAttribute|\.src\b|\.href\b|srcdoc|createContextualFragment|DOMParser"
    )
    found = [
        f"{path.name}: {line.strip()}"
        for path in sorted(assets.glob("*.js"))
        for line in path.read_text().splitlines()
        if sinks.search(line)
    ]
    assert found == []
