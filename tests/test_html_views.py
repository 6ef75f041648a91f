"""The HTML pages' views in headless Chromium: diff side by side, marks, filters, zoom, scale."""

from __future__ import annotations

import re
from pathlib import Path
from typing import Any

import pytest

from acp_tap.cassette.reader import iter_records
from acp_tap.inspect.html import embed
from acp_tap.inspect.html.page import Mark, PageWriter
from tests.browser_support import NEXT_FRAME, ROOT, assert_offline, open_page, run, write_page
from tests.chromium import Chromium, Page
from tests.inspect_support import (
    Item,
    a2c,
    c2a,
    cassette_lines,
    chunk,
    done,
    prelude,
    prompt,
    req,
    res,
)

FIXTURES = ROOT / "fixtures"
TIMES = "\u00d7"  # the zoom factor's sign


def cassette(tmp_path: Path, items: list[Item], name: str = "made.ndjson") -> Path:
    """A cassette file holding ``items`` as frames."""
    path = tmp_path / name
    path.write_bytes(b"".join(cassette_lines(items)))
    return path


def text_of(page: Page, selector: str) -> Any:
    """The text of every element matching ``selector``."""
    return page.evaluate(f"[...document.querySelectorAll({selector!r})].map((n) => n.textContent)")


def test_diff_shows_both_conversations_side_by_side_by_turn(
    browser: Chromium, tmp_path: Path
) -> None:
    """Rows pair the turns of A and B as acp-tap diff does, a missing turn says so, the
    differences sit under their row, and clicking a side selects that cassette's frames."""
    a, b = FIXTURES / "session-load.ndjson", FIXTURES / "prompt-turn.ndjson"
    page = open_page(browser, write_page(tmp_path, "diff", a, b))
    rows = page.evaluate(
        "[...document.querySelectorAll('.diff-row')].map((r) => ({turn: r.dataset.turn, "
        "changed: r.classList.contains('changed'), absent: r.querySelectorAll('.absent').length, "
        "cards: r.querySelectorAll('.turn').length, changes: r.querySelectorAll('.change').length}))"
    )
    assert [(r["turn"], r["cards"], r["absent"]) for r in rows] == [
        ("1", 2, 0),
        ("2", 1, 1),
        ("3", 1, 1),
    ]
    assert all(r["changed"] and r["changes"] for r in rows)
    assert text_of(page, ".track-head") == [f"A: {a}", f"B: {b}"]
    assert "differences between A and B" in page.evaluate(
        "document.querySelector('.diffs-head').textContent"
    )
    seen = run(
        page,
        f"""
        document.querySelectorAll(".diff-row")[0].querySelectorAll(".turn")[1].querySelector(".turn-head").click();
        await {NEXT_FRAME};
        return {{ title: document.getElementById("details-title").textContent,
                 tab: document.querySelector("#frames-head .tabs .active").textContent }};
        """,
    )
    assert seen["title"].startswith("B: turn 1")
    assert seen["tab"] == "B"
    assert_offline(page)
    page.close()
    same = open_page(browser, write_page(tmp_path, "diff", a, a))
    assert same.evaluate("document.querySelector('.diffs-head').textContent").startswith(
        "No differences"
    )
    same.close()


def test_marks_point_at_their_frame(browser: Chromium, tmp_path: Path) -> None:
    """A mark (how a replay will flag a mismatch or a stall) is listed at the top, drawn on
    its own in the lanes and the list, and clicking it shows its frame and what it says."""
    recorded = FIXTURES / "permission-allowed.ndjson"
    path = tmp_path / "marked.html"
    with path.open("wb") as out:
        writer = PageWriter(out.write, "diff", "recorded vs live")
        writer.add_track("golden.ndjson", iter_records(recorded), label="recorded")
        writer.add_track(
            "live", iter_records(FIXTURES / "permission-rejected.ndjson"), label="live"
        )
        mark = Mark(1, 16, "mismatch", "chose reject_once, recorded allow_once")
        writer.finish(marks=[mark])
    page = open_page(browser, path)
    seen = run(
        page,
        f"""
        const notice = document.querySelector(".notice.mark");
        const text = notice.textContent;
        const ticks = [...document.querySelectorAll(".lane[data-track='1'] .tick.marked")].map((t) => t.dataset.seqs);
        notice.click();
        await {NEXT_FRAME};
        return {{ text, ticks, cards: [...document.querySelectorAll("#details .card")].map((c) => c.dataset.seq),
                 said: document.querySelector("#details .mark-text").textContent,
                 row: document.querySelector(".frow.marked").dataset.seq }};
        """,
    )
    assert seen["text"] == "⚑ mismatch at live frame 16: chose reject_once, recorded allow_once"
    assert seen["ticks"] == ["16"]
    assert seen["cards"] == ["16"]
    assert seen["said"] == "mismatch: chose reject_once, recorded allow_once"
    assert seen["row"] == "16"
    page.close()


TWO_SESSIONS: list[Item] = [
    *prelude(),
    c2a(req(5, "session/new", {"cwd": "/tmp", "mcpServers": []})),
    a2c(res(5, {"sessionId": "s2"})),
    prompt(),
    chunk("one"),
    ("err", "log"),
    done(),
    prompt(6, "s2"),
    chunk("two", "s2"),
    chunk("more", "s2"),
    done(6),
]


def test_filters_zoom_and_keys(browser: Chromium, tmp_path: Path) -> None:
    """Session, direction, method and text filters narrow the lanes and the list; +, 0 and
    a drag on the time axis zoom; j and k step through the list."""
    page = open_page(browser, write_page(tmp_path, "show", cassette(tmp_path, TWO_SESSIONS)))
    seen = run(
        page,
        f"""
        const frame = () => {NEXT_FRAME};
        const count = () => document.querySelector("#frames-head .chip").textContent;
        const lanes = () => [...document.querySelectorAll(".lane")].map((l) => l.dataset.session || l.dataset.lane);
        const set = async (id, value) => {{
          const node = document.getElementById(id);
          if (node.type === "checkbox") node.checked = value; else node.value = value;
          node.dispatchEvent(new Event(node.tagName === "SELECT" || node.type === "checkbox" ? "change" : "input"));
          await frame();
        }};
        const out = {{ all: [lanes(), count()] }};
        document.querySelector('.lane[data-session="s2"] .lane-label').click();
        out.lane = [...document.querySelectorAll("#details .card")].map((c) => c.dataset.seq);
        await set("f-session", "0:1");
        out.session = [lanes(), count()];
        await set("f-session", "");
        await set("f-a2c", false);
        out.noA2c = count();
        await set("f-a2c", true);
        await set("f-method", "session/prompt agent_*");
        out.method = count();
        await set("f-method", "");
        await set("f-find", "MORE");
        await new Promise((r) => setTimeout(r, 300));
        await frame();
        out.found = [count(), [...document.querySelectorAll(".frow")].map((r) => r.dataset.seq)];
        await set("f-find", '"s2"}}');
        await new Promise((r) => setTimeout(r, 300));
        await frame();
        out.quoted = count();
        await set("f-find", "");
        await new Promise((r) => setTimeout(r, 300));
        const range = () => document.getElementById("z-range").textContent;
        document.dispatchEvent(new KeyboardEvent("keydown", {{ key: "+" }}));
        await frame();
        out.zoomed = range();
        document.dispatchEvent(new KeyboardEvent("keydown", {{ key: "0" }}));
        await frame();
        out.fit = range();
        document.dispatchEvent(new KeyboardEvent("keydown", {{ key: "j" }}));
        document.dispatchEvent(new KeyboardEvent("keydown", {{ key: "j" }}));
        document.dispatchEvent(new KeyboardEvent("keydown", {{ key: "k" }}));
        out.stepped = document.querySelector("#details .card").dataset.seq;
        return out;
        """,
    )
    assert seen["all"] == [["connection", "s1", "s2", "stderr"], "14 of 14 frames"]
    assert seen["session"] == [["s2"], "5 of 14 frames"]
    assert seen["lane"] == ["6", "11", "12", "13", "14"]  # a lane's label: its every frame
    assert seen["noA2c"] == "6 of 14 frames"  # 5 from the client, 1 on stderr
    assert seen["method"] == "7 of 14 frames"  # 2 prompts, 2 results, 3 chunks
    assert seen["found"] == ["1 of 14 frames", ["13"]]  # the chunk "more", found in any case
    assert seen["quoted"] == "1 of 14 frames"  # {"sessionId":"s2"} is only in session/new's result
    assert f"({TIMES}2.00" in seen["zoomed"]
    assert f"({TIMES}1.00" in seen["fit"]
    assert seen["stepped"] == "7"  # from frame 6 (selected with the lane): j, j, k
    box = page.evaluate(
        "(() => { const r = document.getElementById('ruler-body').getBoundingClientRect();"
        " return [r.left, r.top + r.height / 2, r.width]; })()"
    )
    x, y, width = box
    for kind, at in (("mousePressed", 0.4), ("mouseMoved", 0.5), ("mouseReleased", 0.5)):
        page.call(
            "Input.dispatchMouseEvent",
            {"type": kind, "x": x + width * at, "y": y, "button": "left", "clickCount": 1},
        )
    run(page, f"await {NEXT_FRAME};")
    zoomed = page.evaluate("document.getElementById('z-range').textContent")
    factor = re.search(rf"\({TIMES}([0-9.]+)", zoomed)
    assert factor is not None
    assert 9.5 < float(factor.group(1)) < 10.5, zoomed  # a tenth of the width dragged
    page.close()


def test_filters_given_on_the_command_line_are_the_page_s(
    browser: Chromium, tmp_path: Path
) -> None:
    """--session, --direction and --method set the filters the page opens with."""
    made = cassette(tmp_path, TWO_SESSIONS)
    page = open_page(
        browser,
        write_page(
            tmp_path, "show", "--session", "s2", "--direction", "c2a", "--method", "session/*", made
        ),
    )
    assert page.evaluate(
        "[document.getElementById('f-session').value, document.getElementById('f-a2c').checked,"
        " document.getElementById('f-method').value,"
        " document.querySelector('#frames-head .chip').textContent]"
    ) == ["0:1", False, "session/*", "1 of 14 frames"]
    page.close()


def test_a_large_cassette_is_drawn_in_groups_and_says_so(
    browser: Chromium, tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    """30k frames at fit are a few hundred elements, with a note saying frames are grouped;
    zoomed in, frames are one by one again; contents past the page's limit are left out,
    and the page says so."""
    items: list[Item] = [*prelude(), prompt(), *(chunk(f"w{n} ") for n in range(30_000)), done()]
    made = cassette(tmp_path, items)
    monkeypatch.setattr(embed, "CONTENT_LIMIT", 1_000_000)
    page = open_page(browser, write_page(tmp_path, "show", made))
    seen = run(
        page,
        f"""
        const frame = () => {NEXT_FRAME};
        const out = {{ ticks: document.querySelectorAll(".tick").length, note: document.getElementById("agg-note").textContent }};
        const group = document.querySelector(".lane[data-lane=session] .tick.group");
        group.click();
        out.group = Number(group.dataset.count);
        out.cards = document.querySelectorAll("#details .card").length;
        [...document.querySelectorAll("#details-title button")].find((b) => b.textContent === "list them").click();
        out.listed = document.querySelector("#frames-head .chip").textContent;
        for (let k = 0; k < 12; k++) document.getElementById("z-in").click();
        await frame();
        out.zoomedNote = document.getElementById("agg-note").textContent;
        out.notices = document.getElementById("notices").textContent;
        document.dispatchEvent(new KeyboardEvent("keydown", {{ key: "Escape" }}));
        const list = document.getElementById("frame-list");
        list.scrollTop = list.scrollHeight;
        await frame();
        [...document.querySelectorAll(".frow")].at(-1).click();
        out.omitted = document.querySelector("#details pre").textContent;
        return out;
        """,
    )
    assert seen["ticks"] < 2000
    assert seen["note"].startswith("Too close to draw one by one at this zoom: 30,00")
    assert " frames drawn as " in seen["note"]
    assert seen["group"] > 25
    assert seen["cards"] == 25
    assert seen["listed"] == f"{seen['group']} of 30,006 frames"
    assert seen["zoomedNote"] == ""
    assert "content was left out of the page" in seen["notices"]
    assert seen["omitted"].startswith("This frame's content was left out of the page")
    page.close()


def test_the_address_names_the_selected_frame(browser: Chromium, tmp_path: Path) -> None:
    """Opening the page at #f0:SEQ selects that frame; selecting another changes the address."""
    path = write_page(tmp_path, "show", FIXTURES / "permission-allowed.ndjson")
    page = open_page(browser, path, fragment="f0:15")
    seen = run(
        page,
        """
        const first = document.querySelector("#details .card").dataset.seq;
        document.querySelector('.frow[data-seq="8"]').click();
        return [first, location.hash];
        """,
    )
    assert seen == ["15", "#f0:8"]
    page.close()
