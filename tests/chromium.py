"""A small client for headless Chromium over the DevTools protocol, on a pipe.

Chromium started with ``--remote-debugging-pipe`` reads commands on fd 3 and writes
answers and events on fd 4, one JSON object per NUL-terminated message: no port, no
websocket, no dependency. Every wait has a deadline and says what it waited for.
The browser tests and ``tools/bench_html.py`` share it.
"""

from __future__ import annotations

import base64
import contextlib
import json
import os
import select
import shutil
import signal
import tempfile
import time
from collections.abc import Callable
from pathlib import Path
from typing import Any

import attrs

FLAGS = (
    "--headless",
    "--no-sandbox",
    "--disable-gpu",
    "--disable-quic",
    "--no-first-run",
    "--disable-background-networking",
    "--disable-component-update",
    "--disable-sync",
    "--disable-dev-shm-usage",
    "--remote-debugging-pipe",
)
"""How every test browser runs: headless, quiet, never reaching the network by itself."""

CANDIDATES = ("chromium", "chromium-browser", "google-chrome")


def find_chromium() -> str | None:
    """The path of a Chromium on PATH (``$ACP_TAP_CHROMIUM`` first), or None."""
    chosen = os.environ.get("ACP_TAP_CHROMIUM")
    if chosen:
        return shutil.which(chosen)
    for name in CANDIDATES:
        found = shutil.which(name)
        if found:
            return found
    return None


class BrowserError(RuntimeError):
    """The browser failed, answered with an error, or did not answer in time."""


Event = tuple[str, dict[str, Any], str | None]  # method, params, session id


@attrs.define(eq=False)
class Chromium:
    """A running headless Chromium and the pipe to its DevTools endpoint."""

    pid: int
    to_browser: int
    from_browser: int
    profile: tempfile.TemporaryDirectory[str]
    log: Path
    events: list[Event] = attrs.field(factory=list)
    _buffer: bytearray = attrs.field(factory=bytearray)
    _next_id: int = 0
    _answers: dict[int, dict[str, Any]] = attrs.field(factory=dict)

    @classmethod
    def start(cls, executable: str, *extra: str) -> Chromium:
        """Start ``executable`` headless with a fresh profile."""
        profile = tempfile.TemporaryDirectory(prefix="acp-tap-chromium-")
        log = Path(profile.name) / "chromium.log"
        to_child, commands = os.pipe()
        answers, from_child = os.pipe()
        log_fd = os.open(log, os.O_WRONLY | os.O_CREAT, 0o600)
        argv = [executable, *FLAGS, f"--user-data-dir={profile.name}/data", *extra, "about:blank"]
        try:
            pid = os.posix_spawn(
                executable,
                argv,
                os.environ,
                file_actions=[
                    (os.POSIX_SPAWN_OPEN, 0, os.devnull, os.O_RDONLY, 0),
                    (os.POSIX_SPAWN_DUP2, log_fd, 1),
                    (os.POSIX_SPAWN_DUP2, log_fd, 2),
                    (os.POSIX_SPAWN_DUP2, to_child, 3),
                    (os.POSIX_SPAWN_DUP2, from_child, 4),
                ],
                setsid=True,
            )
        finally:
            for fd in (to_child, from_child, log_fd):
                os.close(fd)
        browser = cls(pid, commands, answers, profile, log)
        try:
            browser.call("Target.setDiscoverTargets", {"discover": False}, timeout=30)
        except BaseException:
            browser.close()
            raise
        return browser

    def call(
        self,
        method: str,
        params: dict[str, Any] | None = None,
        session: str | None = None,
        timeout: float = 30,
    ) -> dict[str, Any]:
        """Send one command and wait for its answer; raise BrowserError on an error answer."""
        self._next_id += 1
        number = self._next_id
        message: dict[str, Any] = {"id": number, "method": method, "params": params or {}}
        if session is not None:
            message["sessionId"] = session
        data = json.dumps(message).encode() + b"\0"
        while data:
            data = data[os.write(self.to_browser, data) :]
        self.wait_for(lambda: number in self._answers, f"the answer to {method}", timeout)
        answer = self._answers.pop(number)
        if "error" in answer:
            raise BrowserError(f"{method}: {answer['error']}")
        result: dict[str, Any] = answer.get("result", {})
        return result

    def wait_for(self, done: Callable[[], bool], what: str, timeout: float) -> None:
        """Read messages until ``done()``, at most ``timeout`` seconds."""
        deadline = time.monotonic() + timeout
        while not done():
            left = deadline - time.monotonic()
            if left <= 0:
                raise BrowserError(f"waited {timeout}s for {what}; chromium log: {self.log}")
            ready, _, _ = select.select([self.from_browser], [], [], left)
            if ready:
                self._read()

    def _read(self) -> None:
        chunk = os.read(self.from_browser, 1 << 20)
        if not chunk:
            raise BrowserError(f"chromium closed its DevTools pipe; see {self.log}")
        self._buffer += chunk
        *complete, rest = self._buffer.split(b"\0")
        self._buffer = bytearray(rest)
        for raw in complete:
            message = json.loads(raw)
            if "id" in message:
                self._answers[message["id"]] = message
            else:
                self.events.append(
                    (message["method"], message.get("params", {}), message.get("sessionId"))
                )

    def new_page(self, width: int = 1400, height: int = 900) -> Page:
        """A new tab of the given viewport size, with network events recorded."""
        target = self.call("Target.createTarget", {"url": "about:blank"})["targetId"]
        attached = self.call("Target.attachToTarget", {"targetId": target, "flatten": True})
        page = Page(self, target, attached["sessionId"])
        page.call("Page.enable")
        page.call("Network.enable")
        page.call("Runtime.enable")
        page.call(
            "Emulation.setDeviceMetricsOverride",
            {"width": width, "height": height, "deviceScaleFactor": 1, "mobile": False},
        )
        return page

    def close(self) -> None:
        """Stop the browser and remove its profile."""
        with contextlib.suppress(BrowserError, OSError):
            self.call("Browser.close", timeout=5)
        deadline = time.monotonic() + 10
        while time.monotonic() < deadline:
            done, _ = os.waitpid(self.pid, os.WNOHANG)
            if done:
                break
            time.sleep(0.05)
        else:
            os.killpg(self.pid, signal.SIGKILL)
            os.waitpid(self.pid, 0)
        os.close(self.to_browser)
        os.close(self.from_browser)
        self.profile.cleanup()


@attrs.define(eq=False)
class Page:
    """One tab, through its flat DevTools session."""

    browser: Chromium
    target: str
    session: str
    _seen: int = 0  # events before this index belong to earlier navigations

    def call(self, method: str, params: dict[str, Any] | None = None, timeout: float = 30) -> Any:
        """A command for this tab."""
        return self.browser.call(method, params, self.session, timeout)

    def events(self, method: str) -> list[dict[str, Any]]:
        """The params of this tab's events named ``method`` since the last navigation."""
        return [
            p for m, p, s in self.browser.events[self._seen :] if m == method and s == self.session
        ]

    def open(self, url: str, timeout: float = 60) -> None:
        """Navigate to ``url`` and wait for its load event."""
        self._seen = len(self.browser.events)
        self.call("Page.navigate", {"url": url})
        self.browser.wait_for(
            lambda: bool(self.events("Page.loadEventFired")), f"{url} to load", timeout
        )

    def evaluate(self, expression: str, timeout: float = 30) -> Any:
        """The value of a JavaScript expression (promises awaited); page errors raise."""
        answer = self.call(
            "Runtime.evaluate",
            {"expression": expression, "awaitPromise": True, "returnByValue": True},
            timeout,
        )
        if "exceptionDetails" in answer:
            details = answer["exceptionDetails"]
            text = details.get("exception", {}).get("description") or details.get("text")
            raise BrowserError(f"{expression[:80]!r} raised: {text}")
        return answer["result"].get("value")

    def wait_until(self, expression: str, what: str, timeout: float = 30) -> Any:
        """Poll ``expression`` until it is truthy; return its value."""
        deadline = time.monotonic() + timeout
        while True:
            value = self.evaluate(expression)
            if value:
                return value
            if time.monotonic() > deadline:
                raise BrowserError(f"waited {timeout}s for {what} ({expression})")
            time.sleep(0.02)

    def screenshot(self, path: Path) -> None:
        """Save what the tab shows as a PNG."""
        shot = self.call("Page.captureScreenshot", {"format": "png"})
        path.write_bytes(base64.b64decode(shot["data"]))

    def requests(self) -> list[str]:
        """URLs of every request the tab made (or tried) since the last navigation."""
        return [p["request"]["url"] for p in self.events("Network.requestWillBeSent")]

    def close(self) -> None:
        """Close the tab."""
        self.browser.call("Target.closeTarget", {"targetId": self.target})
