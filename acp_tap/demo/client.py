"""A scripted ACP client: drives an agent through a conversation, answering its requests.

Used by ``acp-tap demo`` and by ``tools/regenerate_fixtures.py``. It is deliberately small:
requests go out one at a time, agent requests are answered from a policy (which permission
option to pick, which files exist, what a terminal prints), and everything received is kept.
"""

from __future__ import annotations

import itertools
import json
import math
import os
import subprocess
import sys
from collections.abc import Awaitable, Callable, Mapping, Sequence
from pathlib import Path
from typing import Any

import attrs
import trio

from acp_tap.cassette.codec import loads_strict
from acp_tap.errors import AcpTapError
from acp_tap.wire.framing import LineSplitter
from acp_tap.wire.jsonrpc import Kind, RequestId, envelope

Json = dict[str, Any]

_TERMINAL_RESULTS: dict[str, Json] = {
    "terminal/create": {"terminalId": "term-1"},
    "terminal/wait_for_exit": {"exitCode": 0},
    "terminal/release": {},
    "terminal/kill": {},
}

CLIENT_CAPABILITIES: Json = {"fs": {"readTextFile": True, "writeTextFile": True}, "terminal": True}


class AgentError(AcpTapError):
    """The agent answered a request with a JSON-RPC error."""

    def __init__(self, method: str, error: Json) -> None:
        self.error = error
        super().__init__(f"{method} failed: {error.get('code')} {error.get('message')}")


class AgentGone(AcpTapError):
    """The agent's output ended while a request waited for its answer."""


class AgentSilent(AcpTapError):
    """A request got no answer within the client's timeout."""


@attrs.define
class Policy:
    """How the client answers the agent's requests."""

    permission: str = "allow_once"  # the option kind to choose; "cancelled" picks none
    files: Mapping[str, str] = attrs.field(factory=dict)
    terminal_output: str = "hello from the terminal\n"


@attrs.define(eq=False)
class ScriptedClient:
    """One connection to an agent over a pair of byte streams."""

    send_stream: trio.abc.SendStream
    receive_stream: trio.abc.ReceiveStream
    policy: Policy = attrs.field(factory=Policy)
    timeout: float = math.inf  # seconds a request waits for its answer
    received: list[Json] = attrs.field(factory=list)  # every message from the agent, in order
    written: dict[str, str] = attrs.field(factory=dict)  # fs/write_text_file by path
    _ids: itertools.count[int] = attrs.field(factory=lambda: itertools.count(0))
    _waiting: dict[RequestId, trio.MemorySendChannel[Json]] = attrs.field(factory=dict)
    _updates: int = 0
    _update_seen: trio.Event = attrs.field(factory=trio.Event)
    _lock: trio.Lock = attrs.field(factory=trio.Lock)

    async def request(self, method: str, params: Json) -> Any:
        """Send a request and wait for its result (raises :class:`AgentError` on an error)."""
        request_id = next(self._ids)
        send, receive = trio.open_memory_channel[Json](1)
        self._waiting[request_id] = send
        await self._send({"jsonrpc": "2.0", "id": request_id, "method": method, "params": params})
        try:
            with trio.fail_after(self.timeout):
                response = await receive.receive()
        except trio.EndOfChannel:
            raise AgentGone(f"the agent closed its output before answering {method}") from None
        except trio.TooSlowError:
            raise AgentSilent(f"no answer to {method} within {self.timeout:g} s") from None
        if "error" in response:
            raise AgentError(method, response["error"])
        return response.get("result")

    async def notify(self, method: str, params: Json) -> None:
        """Send a notification."""
        await self._send({"jsonrpc": "2.0", "method": method, "params": params})

    async def wait_updates(self, count: int) -> None:
        """Wait until ``count`` session/update notifications have arrived in total."""
        while self._updates < count:
            await self._update_seen.wait()

    async def run_reader(self) -> None:
        """Read the agent's output until EOF, dispatching each message."""
        splitter = LineSplitter()
        while chunk := await self.receive_stream.receive_some():
            for line in splitter.feed(chunk):
                try:
                    message = loads_strict(line.content.decode("utf-8"))
                except ValueError:
                    continue  # a log line on stdout: real agents print them
                self.received.append(message)
                await self._dispatch(message)
        for send in self._waiting.values():
            send.close()

    async def _dispatch(self, message: Json) -> None:
        env = envelope(message)
        if env.is_response and env.id in self._waiting:
            await self._waiting.pop(env.id).send(message)
        elif env.kind is Kind.REQUEST:
            await self._answer(env.id, env.method or "", message.get("params") or {})
        elif env.method == "session/update":
            self._updates += 1
            self._update_seen.set()
            self._update_seen = trio.Event()

    async def _answer(self, request_id: RequestId | None, method: str, params: Json) -> None:
        try:
            result = self._result_for(method, params)
        except KeyError as exc:
            reply: Json = {"error": {"code": -32002, "message": f"not found: {exc.args[0]}"}}
        else:
            reply = {"result": result}
        await self._send({"jsonrpc": "2.0", "id": request_id, **reply})

    def _result_for(self, method: str, params: Json) -> Json:
        policy = self.policy
        if method == "session/request_permission":
            for option in params.get("options", []):
                if option.get("kind") == policy.permission:
                    return {"outcome": {"outcome": "selected", "optionId": option["optionId"]}}
            return {"outcome": {"outcome": "cancelled"}}
        if method == "fs/read_text_file":
            return {"content": policy.files[params["path"]]}
        if method == "fs/write_text_file":
            self.written[params["path"]] = params["content"]
            return {}
        if method == "terminal/output":
            exit_status = {"exitCode": 0}
            return {"output": policy.terminal_output, "truncated": False, "exitStatus": exit_status}
        return dict(_TERMINAL_RESULTS[method])  # KeyError: not a method this client serves

    async def _send(self, message: Json) -> None:
        data = json.dumps(message, separators=(",", ":")).encode() + b"\n"
        async with self._lock:
            await self.send_stream.send_all(data)


def agent_text(messages: list[Json], session_id: str | None = None) -> str:
    """The agent's message text in ``messages``, chunks joined."""
    parts = []
    for message in messages:
        params = message.get("params") or {}
        update = params.get("update") or {}
        if (
            message.get("method") != "session/update"
            or update.get("sessionUpdate") != "agent_message_chunk"
        ):
            continue
        if session_id is None or params.get("sessionId") == session_id:
            content = update.get("content") or {}
            parts.append(content.get("text", ""))
    return "".join(parts)


Script = Callable[["ScriptedClient"], Awaitable[None]]


def record_argv(cassette: Path, agent: Sequence[str]) -> list[str]:
    """``acp-tap record`` of ``agent`` into ``cassette``, as an argv."""
    return [
        sys.executable,
        "-m",
        "acp_tap",
        "record",
        "-q",
        "--force",
        "-o",
        str(cassette),
        "--",
        *agent,
    ]


async def run_script(
    agent: Sequence[str], script: Script, policy: Policy | None = None, *, timeout: float = 60
) -> tuple[int, ScriptedClient]:
    """Spawn ``agent``, play ``script`` against it, close its stdin; return its status."""
    proc = await trio.lowlevel.open_process(
        list(agent), stdin=subprocess.PIPE, stdout=subprocess.PIPE, stderr=subprocess.DEVNULL
    )
    assert proc.stdin is not None
    assert proc.stdout is not None
    client = ScriptedClient(proc.stdin, proc.stdout, policy or Policy())
    try:
        with trio.fail_after(timeout):
            async with trio.open_nursery() as nursery:
                nursery.start_soon(client.run_reader)
                await script(client)
                await proc.stdin.aclose()
            return await proc.wait(), client
    finally:
        if proc.returncode is None:
            proc.kill()
            with trio.CancelScope(shield=True):
                await proc.wait()


async def handshake(client: ScriptedClient, cwd: str, **capabilities: Any) -> str:
    """``initialize`` then ``session/new``; return the session id."""
    await client.request(
        "initialize",
        {
            "protocolVersion": 1,
            "clientCapabilities": capabilities or CLIENT_CAPABILITIES,
            "clientInfo": {"name": "acp-tap-scripted-client", "version": "1"},
        },
    )
    session = await client.request("session/new", {"cwd": cwd, "mcpServers": []})
    return str(session["sessionId"])


def demo_script(cwd: str) -> tuple[Script, Policy]:
    """The conversation of ``acp-tap demo`` and ``acp-tap demo-client``: the handshake, a
    prompt whose tool asks for permission, and a prompt that reads ``cwd``/notes.txt."""
    notes = os.path.join(cwd, "notes.txt")

    async def script(client: ScriptedClient) -> None:
        session_id = await handshake(client, cwd)
        await client.request(
            "session/prompt", text_prompt(session_id, "Please write a greeting with a tool")
        )
        await client.request("session/prompt", text_prompt(session_id, f"read {notes}"))

    return script, Policy(files={notes: "Buy milk.\nShip acp-tap.\n"})


def text_prompt(session_id: str, text: str) -> Json:
    """``session/prompt`` params with one text block."""
    return {"sessionId": session_id, "prompt": [{"type": "text", "text": text}]}
