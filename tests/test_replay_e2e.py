"""Record, then replay: real clients must observe identical conversations.

Peers: the official ACP Python SDK as the client (tests/peers/sdk_client.py) against the SDK
agent (tests/peers/sdk_agent.py) and the demo agent; and a raw line client against the demo
agent for what the SDK client does not do (kiro's session/set_model, a JSON-RPC error, a
non-JSON stdout line, a crash mid-turn). Recordings run in parallel once per module.
"""

from __future__ import annotations

import json
import subprocess
import sys
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest
import trio

from acp_tap.cassette.codec import dumps_compact
from tests.helpers import ACP_TAP, TIMEOUT

PEERS = Path(__file__).parent / "peers"
SDK_CLIENT = (sys.executable, str(PEERS / "sdk_client.py"))
SDK_AGENT = (sys.executable, str(PEERS / "sdk_agent.py"))
DEMO_AGENT = (sys.executable, "-m", "acp_tap.demo.agent")

SDK_RUNS = {  # tool calls, permission, fs reads and writes; cancel; load with history; modes
    "demo-basic": ("basic", DEMO_AGENT),
    "demo-cancel": ("cancel", DEMO_AGENT),
    "demo-load": ("load", DEMO_AGENT),
    "demo-modes": ("modes", DEMO_AGENT),
    "sdk-basic": ("basic", SDK_AGENT),
}


def sdk_client(scenario: str, agent: tuple[str, ...]) -> subprocess.Popen[bytes]:
    """Start the SDK client playing ``scenario`` against ``agent``."""
    return subprocess.Popen(
        [*SDK_CLIENT, "--scenario", scenario, "--", *agent],
        stdout=subprocess.PIPE,
        stderr=subprocess.PIPE,
    )


def finish(proc: subprocess.Popen[bytes]) -> tuple[Any, str]:
    """Wait for a client; its summary and stderr."""
    with proc:
        out, err = proc.communicate(timeout=TIMEOUT)
    assert proc.returncode == 0, err.decode()
    return json.loads(out), err.decode()


@pytest.fixture(scope="module")
def recorded(tmp_path_factory: pytest.TempPathFactory) -> Iterator[dict[str, tuple[Path, Any]]]:
    """Every SDK run recorded once (in parallel): name -> (cassette, what the client saw)."""
    where = tmp_path_factory.mktemp("recorded")
    procs = {}
    for name, (scenario, agent) in SDK_RUNS.items():
        cassette = where / f"{name}.ndjson"
        record = (*ACP_TAP, "record", "-q", "-o", str(cassette), "--", *agent)
        procs[name] = (cassette, sdk_client(scenario, record))
    try:
        yield {name: (cassette, finish(proc)[0]) for name, (cassette, proc) in procs.items()}
    finally:
        for _, proc in procs.values():
            with proc:  # closes the pipes of runs left behind by a failure
                proc.kill()


@pytest.mark.parametrize("name", sorted(SDK_RUNS))
def test_sdk_client_observes_the_recorded_conversation(
    name: str, recorded: dict[str, tuple[Path, Any]]
) -> None:
    """The SDK client sees, against the replay, exactly what it saw against the agent."""
    cassette, expected = recorded[name]
    scenario, _ = SDK_RUNS[name]
    observed, stderr = finish(sdk_client(scenario, (*ACP_TAP, "replay", str(cassette))))
    assert observed == expected, stderr
    assert observed["exit_code"] == 0


# -- a raw line client for what the SDK client does not send ------------------------------

Json = dict[str, Any]


class RawClient:
    """Sends requests one at a time; answers agent requests; keeps every line it received."""

    def __init__(self, process: trio.Process) -> None:
        assert process.stdin is not None
        assert process.stdout is not None
        self.stdin, self.stdout = process.stdin, process.stdout
        self.buffer = b""
        self.received: list[bytes] = []
        self.next_id = 0

    async def line(self) -> bytes | None:
        """The next line from the agent (None at EOF)."""
        while b"\n" not in self.buffer:
            chunk = await self.stdout.receive_some()
            if not chunk:
                return None
            self.buffer += chunk
        line, _, self.buffer = self.buffer.partition(b"\n")
        self.received.append(line)
        return line

    async def send(self, message: Json) -> None:
        """Write one message."""
        await self.stdin.send_all(dumps_compact(message) + b"\n")

    async def call(self, method: str, params: Json) -> Json | None:
        """A request; returns its response (None if the agent went away first)."""
        self.next_id += 1
        my_id = f"raw-{self.next_id}"
        await self.send({"jsonrpc": "2.0", "id": my_id, "method": method, "params": params})
        while (line := await self.line()) is not None:
            try:
                msg = json.loads(line)
            except ValueError:
                continue  # a log line on stdout
            if msg.get("id") == my_id and "method" not in msg:
                return dict(msg)
            if "method" in msg and "id" in msg:
                await self.send({"jsonrpc": "2.0", "id": msg["id"], "result": answer(msg)})
        return None


def answer(msg: Json) -> Json:
    """Allow permissions, serve one file, accept writes."""
    if msg["method"] == "session/request_permission":
        return {"outcome": {"outcome": "selected", "optionId": "allow_once"}}
    if msg["method"] == "fs/read_text_file":
        return {"content": "a file\n"}
    return {}


async def raw_conversation(argv: list[str], cwd: str) -> tuple[list[bytes], int]:
    """initialize, session/new, set_model, prompts (garbage, error, a tool), then a crash."""
    process = await trio.lowlevel.open_process(
        argv, stdin=subprocess.PIPE, stdout=subprocess.PIPE, stderr=subprocess.DEVNULL
    )
    try:
        client = RawClient(process)
        caps = {"fs": {"readTextFile": True, "writeTextFile": True}, "terminal": False}
        await client.call("initialize", {"protocolVersion": 1, "clientCapabilities": caps})
        new = await client.call("session/new", {"cwd": cwd, "mcpServers": []})
        assert new is not None
        sid = new["result"]["sessionId"]
        await client.call("session/set_model", {"sessionId": sid, "modelId": "claude-haiku-4.5"})
        for text in ("garbage please", "error now", "read notes.txt then write it", "crash"):
            prompt = [{"type": "text", "text": text}]
            await client.call("session/prompt", {"sessionId": sid, "prompt": prompt})
        status = await process.wait()
    finally:
        process.kill()
        await process.wait()
    return client.received, status


async def test_raw_client_sees_identical_bytes_and_the_crash(tmp_path: Path) -> None:
    """set_model, an error answer, a garbage line and a crash replay byte for byte, status 3."""
    cassette = tmp_path / "demo.ndjson"
    record = [*ACP_TAP, "record", "-q", "-o", str(cassette), "--", *DEMO_AGENT]
    with trio.fail_after(TIMEOUT):
        expected, recorded_status = await raw_conversation(record, "/tmp/rec-checkout")
        observed, status = await raw_conversation(
            [*ACP_TAP, "replay", str(cassette)], "/tmp/rec-checkout"
        )
    assert recorded_status == 3
    assert any(not line.startswith(b"{") for line in expected)  # the garbage line
    assert any(b'"error"' in line for line in expected)
    assert observed == expected
    assert status == 3


async def test_raw_client_in_another_checkout(tmp_path: Path) -> None:
    """The same conversation from another working directory: paths are relocated."""
    cassette = tmp_path / "demo.ndjson"
    record = [*ACP_TAP, "record", "-q", "-o", str(cassette), "--", *DEMO_AGENT]
    with trio.fail_after(TIMEOUT):
        expected, _ = await raw_conversation(record, "/tmp/rec-checkout")
        observed, status = await raw_conversation(
            [*ACP_TAP, "replay", str(cassette)], "/tmp/live-checkout"
        )
    relocated = [line.replace(b"/tmp/rec-checkout", b"/tmp/live-checkout") for line in expected]
    assert observed == relocated
    assert status == 3
