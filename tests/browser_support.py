"""The browser behind the HTML page tests: one headless Chromium per test process.

Without Chromium the browser tests skip, saying how to get it; with ``CI=true`` they fail
instead, so CI cannot pass without having run them.
"""

from __future__ import annotations

import json
import os
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest

from acp_tap.cli import main
from tests.chromium import Chromium, Page, find_chromium

ROOT = Path(__file__).parent.parent
FIXTURES = sorted((ROOT / "fixtures").glob("*.ndjson"))
WATCH = """
window.__violations = [];
document.addEventListener("securitypolicyviolation",
  (e) => window.__violations.push(`${e.violatedDirective} ${e.blockedURI}`));
"""
"""Installed before the page loads (DevTools scripts are not subject to its CSP)."""

NEXT_FRAME = "new Promise((r) => requestAnimationFrame(() => requestAnimationFrame(r)))"
"""An expression that waits until the page has drawn what it queued."""


@pytest.fixture(scope="session")
def browser() -> Iterator[Chromium]:
    """Headless Chromium, shared by the tests of this process."""
    executable = find_chromium()
    if executable is None:
        reason = "the browser tests need Chromium: apt-get install chromium (Debian's package)"
        if os.environ.get("CI") == "true":
            pytest.fail(f"{reason}; CI=true, so they may not be skipped")
        pytest.skip(reason)
    started = Chromium.start(executable)
    yield started
    started.close()


def write_page(tmp_path: Path, *argv: str | Path) -> Path:
    """Run ``acp-tap show --html`` (or ``diff --html``) in process; the page's path."""
    command, *rest = argv
    page = tmp_path / f"{Path(rest[-1]).stem}-{command}.html"
    status = main([str(command), "--html", str(page), *map(str, rest)])
    assert status in (0, 1), f"acp-tap {command} exited {status}"
    return page


def open_page(
    browser: Chromium, path: Path, *, fragment: str = "", width: int = 1400, height: int = 900
) -> Page:
    """Open a page (at ``#fragment``), wait until it is drawn; fail on any script error."""
    page = browser.new_page(width, height)
    page.call("Page.addScriptToEvaluateOnNewDocument", {"source": WATCH})
    page.open(path.resolve().as_uri() + (f"#{fragment}" if fragment else ""))
    state = page.wait_until(
        "document.getElementById('app').dataset.state !== 'loading' && "
        "document.getElementById('app').dataset.state",
        "the page to be drawn",
    )
    assert state == "ready", page.evaluate("document.getElementById('notices').textContent")
    assert errors(page) == []
    assert_laid_out(page)
    return page


PANES = ("timeline-pane", "conversation-pane", "frames-pane", "details-pane")


def assert_laid_out(page: Page) -> None:
    """Every pane is on screen, none squeezed out by a long line of text."""
    boxes = page.evaluate(
        f"Object.fromEntries({list(PANES)!r}.map((id) => {{"
        " const r = document.getElementById(id).getBoundingClientRect();"
        " return [id, [r.left, r.top, r.right, r.bottom]]; }))"
    )
    width, height = page.evaluate("[innerWidth, innerHeight]")
    for pane, (left, top, right, bottom) in boxes.items():
        assert right - left > 250 and bottom - top > 100, (pane, boxes)
        assert left >= 0 and top >= 0 and right <= width + 1 and bottom <= height + 1, (pane, boxes)


def errors(page: Page) -> list[str]:
    """Uncaught script errors of the page."""
    return [json.dumps(e)[:500] for e in page.events("Runtime.exceptionThrown")]


def assert_offline(page: Page) -> None:
    """The page requested nothing but itself, and tried nothing its CSP had to block."""
    assert page.requests() == [page.evaluate("location.href").split("#")[0]]
    assert page.evaluate("window.__violations") == []


def run(page: Page, script: str) -> Any:
    """Run an async JavaScript function body in the page; its return value."""
    return page.evaluate(f"(async () => {{ {script} }})()", timeout=60)
