"""The demo agent, driven by the official SDK client, by hand-written lines, and in-process."""

from __future__ import annotations

import argparse
import contextlib
import io
import json
import subprocess
import sys
import uuid
from collections import deque
from collections.abc import AsyncIterator, Callable
from pathlib import Path
from typing import Any

import pytest
import trio
import trio.testing

import acp_tap
from acp_tap.cli import SUBCOMMANDS
from acp_tap.commands import demo as demo_command
from acp_tap.demo import agent as demo_agent
from acp_tap.demo.agent import serve
from acp_tap.demo.options import DemoOptions, options_from_args
from acp_tap.demo.protocol import SeededIds
from acp_tap.wire.framing import LineSplitter

Json = dict[str, Any]

PEERS = Path(__file__).parent / "peers"
DEMO = [sys.executable, "-m", "acp_tap.demo.agent", "--delay", "0.5"]
SDK_AGENT = [sys.executable, str(PEERS / "sdk_agent.py")]
DEMO_SCENARIOS = ("basic", "reject", "cancel", "load", "terminal", "modes", "nocaps")
SDK_AGENT_SCENARIOS = ("basic", "cancel")
SCHEMA = Path(acp_tap.__file__).parent / "schemas" / "v1" / "schema.json"
CAPS = {"fs": {"readTextFile": True, "writeTextFile": True}, "terminal": True}


async def _sdk_client(scenario: str, agent: list[str], results: dict[str, Json], key: str) -> None:
    argv = [sys.executable, str(PEERS / "sdk_client.py"), "--scenario", scenario, "--", *agent]
    done = await trio.run_process(argv, capture_stdout=True, capture_stderr=True, check=False)
    stderr = done.stderr.decode(errors="replace")
    assert done.returncode == 0, f"{key}: sdk_client exited {done.returncode}\n{stderr}"
    results[key] = json.loads(done.stdout)


async def _observe_all() -> dict[str, Json]:
    results: dict[str, Json] = {}
    with trio.fail_after(45):
        async with trio.open_nursery() as nursery:
            for scenario in DEMO_SCENARIOS:
                nursery.start_soon(_sdk_client, scenario, DEMO, results, f"demo/{scenario}")
            for scenario in SDK_AGENT_SCENARIOS:
                nursery.start_soon(_sdk_client, scenario, SDK_AGENT, results, f"sdk/{scenario}")
    return results


@pytest.fixture(scope="module")
def observed() -> dict[str, Json]:
    """What the SDK client observed in each scenario, all run concurrently once per module."""
    return trio.run(_observe_all)


def updates(summary: Json, kind: str | None = None) -> list[Json]:
    """The ``session/update`` payloads of a summary, optionally of one kind."""
    found = [
        n["params"]["update"] for n in summary["notifications"] if n["method"] == "session/update"
    ]
    return [u for u in found if kind is None or u["sessionUpdate"] == kind]


def said(summary: Json) -> str:
    """The agent's message text, all chunks joined."""
    return "".join(u["content"]["text"] for u in updates(summary, "agent_message_chunk"))


def sent(summary: Json, method: str) -> list[Json]:
    """The client's requests (with their outcome) of one method."""
    return [s for s in summary["sent"] if s["method"] == method]


def statuses(summary: Json, title: str) -> list[str]:
    """The statuses a tool call went through, by its title."""
    calls = [u for u in updates(summary, "tool_call") if u["title"] == title]
    assert len(calls) == 1
    tool_id = calls[0]["toolCallId"]
    steps = [u for u in updates(summary) if u.get("toolCallId") == tool_id]
    return [u["status"] for u in steps]


# -- the demo agent under the official SDK client ---------------------------------------------


def test_initialize_describes_a_kiro_like_agent(observed: dict[str, Json]) -> None:
    """initialize answers protocol version 1, capabilities, one auth method and agentInfo."""
    result = sent(observed["demo/basic"], "initialize")[0]["result"]
    assert result["protocolVersion"] == 1
    assert result["agentCapabilities"]["loadSession"] is True
    assert result["agentCapabilities"]["promptCapabilities"]["embeddedContext"] is True
    assert [m["id"] for m in result["authMethods"]] == ["kiro-login"]
    assert result["agentInfo"] == {
        "name": "acp-tap-demo",
        "title": "acp-tap demo agent",
        "version": acp_tap.__version__,
    }


def test_new_session_answers_modes_and_models_then_kiro_notifications(
    observed: dict[str, Json],
) -> None:
    """session/new answers a UUID session id, modes and models, then sends kiro's notifications."""
    summary = observed["demo/basic"]
    result = sent(summary, "session/new")[0]["result"]
    session_id = result["sessionId"]
    assert str(uuid.UUID(session_id)) == session_id
    assert result["modes"]["currentModeId"] in {m["id"] for m in result["modes"]["availableModes"]}
    assert result["models"]["currentModelId"] == "auto"
    first = summary["notifications"][:2]
    assert [n["method"] for n in first] == ["_kiro.dev/commands/available", "_kiro.dev/metadata"]
    assert first[0]["params"]["sessionId"] == session_id
    assert "/help" in {c["name"] for c in first[0]["params"]["commands"]}


def test_basic_prompt_reads_a_file_and_writes_with_permission(observed: dict[str, Json]) -> None:
    """A read-and-write prompt reads through fs, asks permission, writes, and ends the turn."""
    summary = observed["demo/basic"]
    requests = summary["agent_requests"]
    methods = [r["method"] for r in requests]
    assert methods == ["fs/read_text_file", "session/request_permission", "fs/write_text_file"]
    assert requests[0]["params"]["path"] == "/tmp/acp-tap-demo/notes.txt"
    options = requests[1]["params"]["options"]
    assert [o["kind"] for o in options] == ["allow_once", "reject_once"]
    assert requests[1]["answer"]["result"]["outcome"]["optionId"] == "allow_once"
    assert requests[2]["params"]["path"] == "/tmp/acp-tap-demo/acp-tap-demo.txt"
    assert statuses(summary, "Read notes.txt") == ["pending", "in_progress", "completed"]
    assert statuses(summary, "Write acp-tap-demo.txt") == ["pending", "in_progress", "completed"]
    text = said(summary)
    assert "notes.txt has 3 lines and 59 characters" in text
    assert 'it starts with "# Notes"' in text
    assert text.endswith("I wrote /tmp/acp-tap-demo/acp-tap-demo.txt.")
    assert len(updates(summary, "agent_message_chunk")) > 3
    kinds = [u["sessionUpdate"] for u in updates(summary)]
    assert kinds[:2] == ["agent_thought_chunk", "agent_thought_chunk"]
    assert summary["notifications"][-1]["method"] == "_kiro.dev/metadata"
    assert sent(summary, "session/prompt")[0]["result"] == {"stopReason": "end_turn"}
    assert summary["exit_code"] == 0


def test_rejected_permission_fails_the_tool_call(observed: dict[str, Json]) -> None:
    """A rejected permission fails the tool call, writes nothing and says so."""
    summary = observed["demo/reject"]
    assert [r["method"] for r in summary["agent_requests"]] == ["session/request_permission"]
    answer = summary["agent_requests"][0]["answer"]["result"]
    assert answer == {"outcome": {"optionId": "reject_once", "outcome": "selected"}}
    assert statuses(summary, "Write acp-tap-demo.txt") == ["pending", "failed"]
    assert "You rejected the write" in said(summary)
    assert sent(summary, "session/prompt")[0]["result"] == {"stopReason": "end_turn"}


def test_cancel_stops_a_slow_turn(observed: dict[str, Json]) -> None:
    """session/cancel during a slow prompt stops the streaming and answers cancelled."""
    summary = observed["demo/cancel"]
    assert [s["method"] for s in summary["sent"]][-2:] == ["session/prompt", "session/cancel"]
    assert sent(summary, "session/prompt")[0]["result"] == {"stopReason": "cancelled"}
    assert updates(summary)[0]["sessionUpdate"] == "agent_thought_chunk"
    assert "You said" not in said(summary)  # cancelled before its reply was complete
    metadata = [n for n in summary["notifications"] if n["method"] == "_kiro.dev/metadata"]
    assert len(metadata) == 1  # only session/new's: the turn never finished


def test_load_replays_the_history_before_answering(observed: dict[str, Json]) -> None:
    """session/load replays each turn as user and agent message chunks, then answers {}."""
    summary = observed["demo/load"]
    assert sent(summary, "session/load")[0]["result"] == {}
    replay = updates(summary)[-4:]
    assert [u["sessionUpdate"] for u in replay] == [
        "user_message_chunk",
        "agent_message_chunk",
        "user_message_chunk",
        "agent_message_chunk",
    ]
    assert [u["content"]["text"] for u in replay[::2]] == ["Hello there.", "A second turn."]
    first_turn = updates(summary, "agent_message_chunk")[:4]
    assert replay[1]["content"]["text"] == "".join(u["content"]["text"] for u in first_turn)
    assert replay[3]["content"]["text"].endswith("You said: 'A second turn.'.")


def test_run_uses_the_client_terminal(observed: dict[str, Json]) -> None:
    """ "run CMD" creates a terminal, waits for it, reads its output and releases it."""
    summary = observed["demo/terminal"]
    requests = summary["agent_requests"]
    assert [r["method"] for r in requests] == [
        "terminal/create",
        "terminal/wait_for_exit",
        "terminal/output",
        "terminal/release",
    ]
    assert requests[0]["params"]["command"] == "echo"
    assert requests[0]["params"]["args"] == ["hello", "world"]
    assert {r["params"]["terminalId"] for r in requests[1:]} == {"term-1"}
    assert statuses(summary, "Run `echo hello world`") == ["pending", "in_progress", "completed"]
    assert "exited with status 0 and printed 'hello world\\n'." in said(summary)


def test_set_mode_and_config_option(observed: dict[str, Json]) -> None:
    """set_mode answers {} with a current_mode_update; set_config_option has no options."""
    summary = observed["demo/modes"]
    assert sent(summary, "session/set_mode")[0]["result"] == {}
    assert updates(summary, "current_mode_update") == [
        {"sessionUpdate": "current_mode_update", "currentModeId": "kiro_planner"}
    ]
    assert sent(summary, "session/set_config_option")[0]["result"] == {"configOptions": []}


def test_client_capabilities_gate_fs_and_terminal(observed: dict[str, Json]) -> None:
    """Without fs and terminal capabilities the agent asks only for permission, and says why."""
    summary = observed["demo/nocaps"]
    assert [r["method"] for r in summary["agent_requests"]] == ["session/request_permission"]
    text = said(summary)
    assert "the client did not offer fs.readTextFile" in text
    assert "the client did not offer a terminal" in text
    assert "the client did not offer fs.writeTextFile" in text


def test_demo_agent_messages_match_the_acp_schema(observed: dict[str, Json]) -> None:
    """Every result, notification and request the demo agent sent validates against the schema."""
    jsonschema = pytest.importorskip("jsonschema")
    defs = json.loads(SCHEMA.read_text())["$defs"]
    by_method: dict[tuple[str, str], str] = {}
    for name, definition in defs.items():
        if "x-method" in definition:
            suffix = next(s for s in ("Request", "Response", "Notification") if name.endswith(s))
            by_method[definition["x-method"], suffix] = name

    def check(method: str, suffix: str, value: Any) -> None:
        schema = {"$ref": f"#/$defs/{by_method[method, suffix]}", "$defs": defs}
        jsonschema.Draft202012Validator(schema).validate(value)

    checked = 0
    for key, summary in observed.items():
        if not key.startswith("demo/"):
            continue
        for request in summary["sent"]:
            if "result" in request:
                check(request["method"], "Response", request["result"])
                checked += 1
        for note in summary["notifications"]:
            if not note["method"].startswith("_"):
                check(note["method"], "Notification", note["params"])
                checked += 1
        for request in summary["agent_requests"]:
            check(request["method"], "Request", request["params"])
            checked += 1
    assert checked > 100


# -- the official SDK client against the SDK agent ----------------------------------------------


def test_sdk_client_and_sdk_agent_interoperate(observed: dict[str, Json]) -> None:
    """The SDK peers stream chunks and a permission-gated tool call."""
    summary = observed["sdk/basic"]
    assert sent(summary, "session/new")[0]["result"] == {"sessionId": "sdk-session-1"}
    assert said(summary) == "Hello from the SDK agent. Let me edit a file.Done."
    assert statuses(summary, "Edit notes.txt") == ["pending", "completed"]
    [asked] = summary["agent_requests"]
    assert asked["method"] == "session/request_permission"
    assert asked["answer"]["result"]["outcome"] == {"optionId": "allow", "outcome": "selected"}
    assert sent(summary, "session/prompt")[0]["result"] == {"stopReason": "end_turn"}


def test_sdk_agent_honours_cancel(observed: dict[str, Json]) -> None:
    """session/cancel during the SDK agent's slow prompt answers cancelled before the tool call."""
    summary = observed["sdk/cancel"]
    assert sent(summary, "session/prompt")[0]["result"] == {"stopReason": "cancelled"}
    assert updates(summary, "tool_call") == []
    assert summary["agent_requests"] == []


# -- hand-written lines -----------------------------------------------------------------------


class Peer:
    """A hand-driven client of a demo agent subprocess."""

    def __init__(self, process: trio.Process) -> None:
        self.process = process
        self.stdout = bytearray()
        self._splitter = LineSplitter()
        self._lines: deque[bytes] = deque()

    async def send(self, message: Json | bytes) -> None:
        """Send a message (or raw bytes) to the agent's stdin."""
        data = message if isinstance(message, bytes) else json.dumps(message).encode() + b"\n"
        assert self.process.stdin is not None
        await self.process.stdin.send_all(data)

    async def line(self) -> bytes:
        """The next stdout line."""
        assert self.process.stdout is not None
        while not self._lines:
            chunk = await self.process.stdout.receive_some()
            if not chunk:
                raise EOFError("the demo agent closed stdout")
            self.stdout += chunk
            self._lines.extend(line.data for line in self._splitter.feed(chunk))
        return self._lines.popleft()

    async def until(self, done: Callable[[Json], bool]) -> list[Json]:
        """Messages up to and including the first for which ``done`` is true."""
        messages = [json.loads(await self.line())]
        while not done(messages[-1]):
            messages.append(json.loads(await self.line()))
        return messages

    async def request(self, msg_id: int, method: str, params: Json) -> list[Json]:
        """Send a request; return the messages up to its response."""
        await self.send({"jsonrpc": "2.0", "id": msg_id, "method": method, "params": params})
        return await self.until(lambda m: m.get("id") == msg_id and "method" not in m)

    async def start(self) -> str:
        """initialize and session/new; return the session id."""
        await self.request(0, "initialize", {"protocolVersion": 1, "clientCapabilities": CAPS})
        new = await self.request(1, "session/new", {"cwd": "/tmp/demo", "mcpServers": []})
        session_id: str = new[-1]["result"]["sessionId"]
        await self.until(lambda m: m.get("method") == "_kiro.dev/metadata")
        return session_id


@contextlib.asynccontextmanager
async def demo(*args: str) -> AsyncIterator[Peer]:
    """A demo agent subprocess, killed (if still running) and reaped on exit."""
    argv = [sys.executable, "-m", "acp_tap.demo.agent", *args]
    pipe = subprocess.PIPE
    with trio.fail_after(20):
        process = await trio.lowlevel.open_process(argv, stdin=pipe, stdout=pipe, stderr=pipe)
        try:
            yield Peer(process)
        finally:
            with trio.CancelScope(shield=True):
                if process.returncode is None:
                    process.kill()
                for stream in (process.stdin, process.stdout, process.stderr):
                    if stream is not None:
                        await stream.aclose()
                await process.wait()


async def finish(peer: Peer) -> tuple[int, list[bytes], str]:
    """Close the agent's stdin; return its exit status, its remaining stdout lines, and stderr."""
    assert peer.process.stdin is not None
    assert peer.process.stderr is not None
    await peer.process.stdin.aclose()
    rest = []
    with contextlib.suppress(EOFError):
        while True:
            rest.append(await peer.line())
    stderr = bytearray()
    while chunk := await peer.process.stderr.receive_some():
        stderr += chunk
    return await peer.process.wait(), rest, stderr.decode()


async def test_malformed_lines_and_unknown_methods_get_errors() -> None:
    """Bad JSON, invalid and unknown requests get JSON-RPC errors; unknown notifications none."""
    async with demo() as peer:
        await peer.send(b"this is not json\n")
        assert json.loads(await peer.line()) == {
            "jsonrpc": "2.0",
            "id": None,
            "error": {"code": -32700, "message": "Parse error"},
        }
        await peer.send({"jsonrpc": "2.0", "method": "no/such/notification", "params": {}})
        await peer.send({"jsonrpc": "2.0", "id": 7, "method": "no/such/method", "params": {}})
        error = json.loads(await peer.line())
        assert error["id"] == 7
        assert error["error"]["code"] == -32601
        await peer.send({"jsonrpc": "2.0", "id": "x", "params": {}})
        assert json.loads(await peer.line())["error"]["code"] == -32600
        load = {"sessionId": "nope", "cwd": "/", "mcpServers": []}
        [missing] = await peer.request(8, "session/load", load)
        assert missing["error"]["code"] == -32002
        assert missing["error"]["message"] == "Resource not found"
        status, rest, stderr = await finish(peer)
    assert status == 0
    assert rest == []
    assert "starting (seed 1)" in stderr
    assert "ignoring notification no/such/notification" in stderr


async def test_session_methods_kiro_extensions_and_invalid_params() -> None:
    """authenticate and kiro's session/set_model answer {}; bad params get -32602."""
    async with demo() as peer:
        session_id = await peer.start()
        [auth] = await peer.request(2, "authenticate", {"methodId": "kiro-login"})
        assert auth["result"] == {}
        model = {"sessionId": session_id, "modelId": "claude-haiku-4.5"}
        [set_model] = await peer.request(3, "session/set_model", model)
        assert set_model["result"] == {}
        bad_mode = {"sessionId": session_id, "modeId": "nope"}
        [error] = await peer.request(4, "session/set_mode", bad_mode)
        assert error["error"]["code"] == -32602
        [error] = await peer.request(5, "session/new", {"mcpServers": []})
        assert error["error"]["code"] == -32602
        status, _, _ = await finish(peer)
    assert status == 0


async def test_error_prompt_answers_internal_error_and_garbage_goes_to_stdout() -> None:
    """An "error" prompt gets -32603; a "garbage" prompt puts a non-JSON line on stdout."""
    async with demo() as peer:
        session_id = await peer.start()
        prompt = {"sessionId": session_id, "prompt": [{"type": "text", "text": "error please"}]}
        error = (await peer.request(2, "session/prompt", prompt))[-1]
        assert error["error"]["code"] == -32603
        assert error["error"]["message"] == "Internal error"
        prompt["prompt"] = [{"type": "text", "text": "some garbage"}]
        await peer.send({"jsonrpc": "2.0", "id": 3, "method": "session/prompt", "params": prompt})
        lines = [await peer.line() for _ in range(3)]
        assert lines[2] == b"[acp-tap-demo] DEBUG this log line is not JSON"
        done = await peer.until(lambda m: m.get("id") == 3)
        assert done[-1]["result"] == {"stopReason": "end_turn"}
        status, _, _ = await finish(peer)
    assert status == 0


async def test_crash_prompt_exits_3_mid_turn() -> None:
    """A "crash" prompt sends a couple of updates, logs a panic and exits with status 3."""
    async with demo() as peer:
        session_id = await peer.start()
        prompt = {"sessionId": session_id, "prompt": [{"type": "text", "text": "crash now"}]}
        await peer.send({"jsonrpc": "2.0", "id": 2, "method": "session/prompt", "params": prompt})
        status, rest, stderr = await finish(peer)
    kinds = [json.loads(line)["params"]["update"]["sessionUpdate"] for line in rest]
    assert kinds == ["agent_thought_chunk", "agent_thought_chunk", "agent_message_chunk"]
    assert status == 3
    assert "panicked at" in stderr


async def _tool_turn(peer: Peer, seed: int) -> list[Json]:
    session_id = await peer.start()
    prompt = {"sessionId": session_id, "prompt": [{"type": "text", "text": "use the tool"}]}
    await peer.send({"jsonrpc": "2.0", "id": 2, "method": "session/prompt", "params": prompt})
    asked = await peer.until(lambda m: m.get("method") == "session/request_permission")
    request_id = asked[-1]["id"]
    assert request_id == SeededIds(seed).uuid("request")
    outcome = {"outcome": {"outcome": "selected", "optionId": "allow_once"}}
    await peer.send({"jsonrpc": "2.0", "id": request_id, "result": outcome})
    written = await peer.until(lambda m: m.get("method") == "fs/write_text_file")
    await peer.send({"jsonrpc": "2.0", "id": written[-1]["id"], "result": {}})
    return [*asked, *written, *await peer.until(lambda m: m.get("id") == 2)]


async def test_same_seed_same_bytes_and_string_uuid_request_ids() -> None:
    """Two runs with the same seed and input write identical stdout; request ids are UUIDs."""
    outputs = []
    for seed in (5, 5, 6):
        async with demo("--seed", str(seed)) as peer:
            turn = await _tool_turn(peer, seed)
            status, _, _ = await finish(peer)
        assert status == 0
        assert turn[-1]["result"] == {"stopReason": "end_turn"}
        assert all(isinstance(m["id"], str) for m in turn if "method" in m and "id" in m)
        outputs.append(bytes(peer.stdout))
    assert outputs[0] == outputs[1]
    assert outputs[0] != outputs[2]


async def test_client_error_on_read_fails_the_tool_call() -> None:
    """When the client answers fs/read_text_file with an error, the read tool call fails."""
    async with demo() as peer:
        session_id = await peer.start()
        text = "read /etc/missing.txt"
        prompt = {"sessionId": session_id, "prompt": [{"type": "text", "text": text}]}
        await peer.send({"jsonrpc": "2.0", "id": 2, "method": "session/prompt", "params": prompt})
        asked = await peer.until(lambda m: m.get("method") == "fs/read_text_file")
        error = {"code": -32002, "message": "Resource not found"}
        await peer.send({"jsonrpc": "2.0", "id": asked[-1]["id"], "error": error})
        rest = await peer.until(lambda m: m.get("id") == 2)
        await finish(peer)
    failed = [m for m in rest if m.get("params", {}).get("update", {}).get("status") == "failed"]
    assert len(failed) == 1
    chunks = [m["params"]["update"] for m in rest if m.get("method") == "session/update"]
    text = "".join(
        u["content"]["text"] for u in chunks if u["sessionUpdate"] == "agent_message_chunk"
    )
    assert "I could not read /etc/missing.txt: Resource not found." in text


@pytest.mark.parametrize(
    "parse",
    [
        pytest.param(lambda: demo_agent.main(["--help"]), id="python -m acp_tap.demo.agent"),
        pytest.param(lambda: _subcommand_parser().parse_args(["demo-agent", "--help"]), id="cli"),
    ],
)
def test_help_documents_the_keywords(
    parse: Callable[[], object], capsys: pytest.CaptureFixture[str]
) -> None:
    """``--help`` of both entry points lists the prompt keywords and the options."""
    with pytest.raises(SystemExit) as exit_info:
        parse()
    assert exit_info.value.code == 0
    out = capsys.readouterr().out
    for word in ("tool, write", "read PATH", "run CMD", "slow", "error", "crash", "garbage"):
        assert word in out
    assert "--seed" in out
    assert "--delay SECONDS" in out


def _subcommand_parser() -> argparse.ArgumentParser:
    parser = argparse.ArgumentParser(prog="acp-tap")
    demo_command.add_parser(parser.add_subparsers())
    return parser


def test_demo_agent_is_a_cli_subcommand() -> None:
    """The CLI registers the demo-agent subcommand module."""
    assert "acp_tap.commands.demo" in SUBCOMMANDS
    args = _subcommand_parser().parse_args(["demo-agent", "--seed", "4", "--delay", "0"])
    assert options_from_args(args) == DemoOptions(seed=4, delay=0.0)
    assert args.func is demo_command.run


# -- in-process, on memory streams ------------------------------------------------------------


async def test_cancel_mid_turn_in_process(autojump_clock: trio.testing.MockClock) -> None:
    """On memory streams with a fake clock, a cancel after the first thought ends the turn."""
    to_agent, agent_in = trio.testing.memory_stream_one_way_pair()
    agent_out, from_agent = trio.testing.memory_stream_one_way_pair()
    splitter = LineSplitter()
    pending: deque[Json] = deque()

    async def receive() -> Json:
        while not pending:
            chunk = await from_agent.receive_some()
            pending.extend(json.loads(line.data) for line in splitter.feed(chunk))
        return pending.popleft()

    async def send(message: Json) -> None:
        await to_agent.send_all(json.dumps(message).encode() + b"\n")

    stderr = io.StringIO()
    options = DemoOptions(seed=9, delay=1.0)
    with trio.fail_after(60):
        async with trio.open_nursery() as nursery:
            nursery.start_soon(serve, agent_in, agent_out, stderr, options)
            await send({"jsonrpc": "2.0", "id": 1, "method": "session/new", "params": {"cwd": "/"}})
            session_id = (await receive())["result"]["sessionId"]
            assert session_id == SeededIds(9).uuid("session")
            for _ in range(2):
                await receive()  # kiro's commands/available and metadata
            prompt = {"sessionId": session_id, "prompt": [{"type": "text", "text": "slow"}]}
            await send({"jsonrpc": "2.0", "id": 2, "method": "session/prompt", "params": prompt})
            first = await receive()
            assert first["params"]["update"]["sessionUpdate"] == "agent_thought_chunk"
            await send({"jsonrpc": "2.0", "method": "session/cancel", "params": prompt})
            assert await receive() == {
                "jsonrpc": "2.0",
                "id": 2,
                "result": {"stopReason": "cancelled"},
            }
            await to_agent.aclose()
    assert "cancelling the turn" in stderr.getvalue()
