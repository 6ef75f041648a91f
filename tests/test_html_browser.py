"""The HTML pages in a real headless Chromium: everything drawn, clickable, offline, inert."""

from __future__ import annotations

from pathlib import Path
from typing import Any

import pytest

from acp_tap.cassette.model import Frame
from acp_tap.cassette.reader import iter_records
from acp_tap.inspect.conversation import fold
from acp_tap.inspect.timeline import Timeline
from tests.browser_support import (
    FIXTURES,
    NEXT_FRAME,
    ROOT,
    assert_offline,
    errors,
    open_page,
    run,
    write_page,
)
from tests.chromium import Chromium

EVERYTHING = f"""
const frame = () => {NEXT_FRAME};
const title = () => document.getElementById("details-title").textContent;
const cards = () => [...document.querySelectorAll("#details .card")].map((c) => Number(c.dataset.seq));
const zoom = async () => {{ document.querySelector("#details-title .zoom-to").click(); await frame(); }};
const out = {{ sessions: [], turns: [], tools: [], rows: {{}}, ticks: {{}} }};
out.sessions = [...document.querySelectorAll(".lane[data-lane=session]")].map((n) => n.dataset.session);
out.heads = [...document.querySelectorAll("#conversation .session-head")].map((n) => n.dataset.session);
for (const card of document.querySelectorAll("#conversation .turn")) {{
  card.scrollIntoView();
  await frame();
  card.querySelector(".turn-head").click();
  const shown = {{ session: card.dataset.session, turn: Number(card.dataset.turn), title: title(), cards: cards() }};
  await zoom();
  const selector = `.span.turn[data-session="${{CSS.escape(card.dataset.session)}}"][data-turn="${{card.dataset.turn}}"]`;
  const span = document.querySelector(selector);
  if (span) {{ span.click(); shown.lane = title(); }}
  out.turns.push(shown);
}}
for (const item of document.querySelectorAll("#conversation .item.tool")) {{
  item.scrollIntoView();
  item.click();
  const shown = {{ id: item.dataset.tool, cards: cards() }};
  await zoom();
  const span = [...document.querySelectorAll(".span.tool")].find((s) => s.dataset.tool === item.dataset.tool);
  if (span) {{ span.click(); shown.lane = cards(); }}
  out.tools.push(shown);
}}
document.getElementById("z-fit").click();
await frame();
for (const tick of document.querySelectorAll(".tick")) {{
  tick.click();
  const shown = cards();
  for (const seq of tick.dataset.seqs.split(" ").map(Number)) out.ticks[seq] = shown.includes(seq) || shown.length === 25;
}}
const list = document.getElementById("frame-list");
for (let top = 0; top < list.scrollHeight; top += list.clientHeight / 2) {{
  list.scrollTop = top;
  await frame();
  for (const row of document.querySelectorAll(".frow")) {{
    const seq = Number(row.dataset.seq);
    if (seq in out.rows) continue;
    row.click();
    out.rows[seq] = cards();
  }}
}}
return out;
"""


def oracle(cassette: Path) -> dict[str, Any]:
    """What the page must show, from the inspectors every other command uses."""
    records = list(iter_records(cassette))
    events = Timeline()
    sessions: set[str] = set()
    tools: set[str] = set()
    for line, record in records:
        event = events.feed(line, record)
        if event.session is not None:
            sessions.add(event.session)
        if event.update in ("tool_call", "tool_call_update"):
            tools.add(str(event.data["toolCallId"]))
    turns = {(t.session, t.index + 1) for t in fold(records)}
    frames = [r.seq for _, r in records if isinstance(r, Frame)]
    return {"sessions": sessions, "turns": turns, "tools": tools, "frames": frames}


@pytest.mark.parametrize("cassette", FIXTURES, ids=lambda p: p.stem)
def test_every_session_turn_tool_call_and_frame_is_drawn_and_clickable(
    browser: Chromium, tmp_path: Path, cassette: Path
) -> None:
    """Each shipped fixture's sessions, turns and tool calls are in the lanes and the
    conversation, every frame is in the lanes and the list, and a click shows its frames."""
    expected = oracle(cassette)
    page = open_page(browser, write_page(tmp_path, "show", cassette))
    seen = run(page, EVERYTHING)
    assert set(seen["sessions"]) == expected["sessions"]
    assert set(seen["heads"]) == expected["sessions"]
    assert {(t["session"], t["turn"]) for t in seen["turns"]} == expected["turns"]
    for turn in seen["turns"]:
        assert f"turn {turn['turn']}" in turn["title"]
        assert f"turn {turn['turn']}" in turn.get("lane", ""), turn
        assert turn["cards"], turn  # the prompt request (and its response)
    assert {t["id"] for t in seen["tools"]} == expected["tools"]
    for tool in seen["tools"]:
        assert tool["cards"] and tool.get("lane") == tool["cards"], tool
    assert sorted(map(int, seen["ticks"])) == expected["frames"]
    assert all(seen["ticks"].values())
    assert {int(seq): shown for seq, shown in seen["rows"].items()} == {
        seq: [seq] for seq in expected["frames"]
    }
    assert errors(page) == []
    assert_offline(page)
    page.close()


HOSTILE = ROOT / "fixtures" / "hostile-text.ndjson"

CLICK_ALL = f"""
const frame = () => {NEXT_FRAME};
for (const node of document.querySelectorAll(".tick, .span, .item, .turn-head, .frow, .notice, .rexit, .lane-label, .session-head")) node.click();
document.querySelector("#details .card button")?.click();
await frame();
const stray = [...document.querySelectorAll("img, iframe, svg, a, object, embed, link, form, base, meta[http-equiv=refresh]")];
const scripts = document.querySelectorAll("script:not([type])").length;
return {{
  pwned: window.__acpTapPwned === undefined ? null : String(window.__acpTapPwned),
  stray: stray.map((n) => n.outerHTML.slice(0, 80)),
  scripts,
  conversation: document.getElementById("conversation").textContent,
  details: document.getElementById("details").textContent,
  list: document.getElementById("frame-list").textContent,
  lanes: document.getElementById("lanes").textContent,
  session: document.querySelector(".lane[data-lane=session]").dataset.session,
}};
"""


def test_hostile_text_is_shown_as_text_and_never_runs(browser: Chromium, tmp_path: Path) -> None:
    """Markup, scripts, javascript: URLs and escapes from a hostile agent stay inert text,
    even after clicking everything; the page tries no request and breaks no CSP rule."""
    page = open_page(browser, write_page(tmp_path, "show", HOSTILE))
    seen = run(page, CLICK_ALL)
    assert seen["pwned"] is None
    assert seen["stray"] == []
    assert seen["scripts"] == 1  # the page's own
    assert "</script><img src=x onerror=\"window.__acpTapPwned='chunk'\">" in seen["conversation"]
    assert "javascript:alert(document.domain)" in seen["conversation"]
    assert "\\x1b[31mred\\x1b[0m" in seen["conversation"]  # escapes made visible
    assert "\\u202eevil" in seen["conversation"]  # so is a bidi override
    assert "<button onclick=" in seen["conversation"]  # an option name, as text
    assert "<svg/onload=" in seen["list"]
    assert 's"><svg' in seen["lanes"]
    assert seen["session"] == 's"><svg onload="window.__acpTapPwned=\'session\'">'
    assert errors(page) == []
    assert_offline(page)
    page.close()


def test_the_policy_blocks_what_a_script_in_the_page_might_try(
    browser: Chromium, tmp_path: Path
) -> None:
    """Even code run inside the page cannot load or send anything: the CSP refuses it."""
    page = open_page(browser, write_page(tmp_path, "show", HOSTILE))
    attempt = """
    const tries = [["img", "src"], ["script", "src"], ["link", "href"], ["iframe", "src"]];
    for (const [tag, attribute] of tries) {
      const node = document.createElement(tag);
      if (tag === "link") node.rel = "stylesheet";
      node.setAttribute(attribute, `https://example.invalid/${tag}`);
      document.body.append(node);
    }
    const style = document.createElement("style");
    style.textContent = "@import url(https://example.invalid/import.css);";
    document.head.append(style);
    const fetched = await fetch("https://example.invalid/fetch").then(() => "fetched", () => "refused");
    await new Promise((r) => setTimeout(r, 200));
    return { fetched, violations: window.__violations };
    """
    seen = run(page, attempt)
    assert seen["fetched"] == "refused"
    blocked = {v.split(" ")[0] for v in seen["violations"]}
    assert {"img-src", "script-src-elem", "style-src-elem", "frame-src", "connect-src"} <= blocked
    failed = {e["requestId"] for e in page.events("Network.loadingFailed")}
    sent = [
        e
        for e in page.events("Network.requestWillBeSent")
        if "example.invalid" in e["request"]["url"]
    ]
    assert all(e["requestId"] in failed for e in sent)
    page.close()


def test_screenshots_of_two_fixtures(
    browser: Chromium, tmp_path: Path, record_property: Any
) -> None:
    """The pages of two fixtures, drawn, saved as PNG screenshots in the test's output."""
    record_property("screenshots", str(tmp_path))
    for name in ("permission-allowed", "hostile-text"):
        page = open_page(
            browser, write_page(tmp_path, "show", ROOT / "fixtures" / f"{name}.ndjson")
        )
        run(page, f'document.querySelector(".span.tool").click(); await {NEXT_FRAME};')
        shot = tmp_path / f"{name}.png"
        page.screenshot(shot)
        assert shot.read_bytes()[:8] == b"\x89PNG\r\n\x1a\n"
        assert shot.stat().st_size > 20_000  # a drawn page, not a blank one
        page.close()


def test_without_chromium_browser_tests_skip_or_under_ci_fail(
    pytester: pytest.Pytester, monkeypatch: pytest.MonkeyPatch
) -> None:
    """Without Chromium the browser tests skip, saying how to get it; with CI=true they fail."""
    monkeypatch.setenv("ACP_TAP_CHROMIUM", "no-such-chromium-here")
    monkeypatch.setenv("PYTHONPATH", str(ROOT))
    monkeypatch.delenv("CI", raising=False)
    pytester.makeconftest('pytest_plugins = ["tests.browser_support"]')
    pytester.makepyfile("def test_page(browser):\n    raise AssertionError('never runs')\n")
    skipped = pytester.runpytest_subprocess("-rs")
    skipped.assert_outcomes(skipped=1)
    skipped.stdout.fnmatch_lines(["*the browser tests need Chromium: apt-get install chromium*"])
    monkeypatch.setenv("CI", "true")
    failed = pytester.runpytest_subprocess()
    failed.assert_outcomes(errors=1)
    failed.stdout.fnmatch_lines(["*CI=true, so they may not be skipped*"])
