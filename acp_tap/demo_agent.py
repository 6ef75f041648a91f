"""A small, deterministic ACP v1 agent that behaves like ``kiro-cli acp`` in miniature.

Run it as ``acp-tap demo-agent`` or ``python -m acp_tap.demo_agent``; what its prompts do is
documented in :mod:`acp_tap.demo_options` (and ``--help``).
"""

from __future__ import annotations

import argparse
import datetime as dt
import hashlib
import json
import os
import posixpath
import re
import shlex
import sys
import uuid
from collections.abc import Awaitable, Callable, Sequence
from typing import Any, TextIO

import attrs
import trio

from acp_tap import __version__
from acp_tap.cassette.codec import loads_strict
from acp_tap.demo_options import (
    DESCRIPTION,
    EPILOG,
    DemoOptions,
    add_arguments,
    options_from_args,
)
from acp_tap.wire.framing import LineSplitter
from acp_tap.wire.jsonrpc import Kind, RequestId, envelope

Json = dict[str, Any]

PARSE_ERROR = -32700
INVALID_REQUEST = -32600
METHOD_NOT_FOUND = -32601
INVALID_PARAMS = -32602
INTERNAL_ERROR = -32603
RESOURCE_NOT_FOUND = -32002


AGENT_INFO = {"name": "acp-tap-demo", "title": "acp-tap demo agent", "version": __version__}
AUTH_METHODS = [{"id": "kiro-login", "name": "Kiro login", "description": "kiro-cli login"}]
MODES = [
    {"id": "kiro_default", "name": "Default", "description": "Answers and edits directly"},
    {"id": "kiro_planner", "name": "Planner", "description": "Plans before it edits"},
]
MODELS = [
    {"modelId": "auto", "name": "Auto", "description": "Picks a model for each task"},
    {"modelId": "claude-sonnet-4.5", "name": "Claude Sonnet 4.5", "description": "For coding"},
    {"modelId": "claude-haiku-4.5", "name": "Claude Haiku 4.5", "description": "The fastest"},
]
COMMANDS = [
    {"name": "/help", "description": "Show the available commands"},
    {"name": "/model", "description": "Switch the model"},
    {"name": "/context", "description": "Show the context window usage"},
    {"name": "/clear", "description": "Clear the conversation"},
]
PERMISSION_OPTIONS = [
    {"optionId": "allow_once", "name": "Yes", "kind": "allow_once"},
    {"optionId": "reject_once", "name": "No", "kind": "reject_once"},
]
WRITE_FILE = "acp-tap-demo.txt"
WRITE_CONTENT = "Hello from the acp-tap demo agent.\n"

_READ = re.compile(r"\bread\s+(\S+)", re.IGNORECASE)
_RUN = re.compile(r"\brun\s+(\S[^\n]*)", re.IGNORECASE)
_EPOCH = dt.datetime(2025, 1, 1, tzinfo=dt.UTC)


@attrs.define(eq=False)
class SeededIds:
    """UUIDs and a fake clock derived from a seed: one counter per kind of id."""

    seed: int
    _counters: dict[str, int] = attrs.field(factory=dict)

    def uuid(self, kind: str) -> str:
        """The next UUID (version 4 layout) of ``kind``: session, request, tool."""
        n = self._counters[kind] = self._counters.get(kind, 0) + 1
        digest = hashlib.sha256(f"acp-tap-demo/{self.seed}/{kind}/{n}".encode()).digest()
        return str(uuid.UUID(bytes=digest[:16], version=4))

    def timestamp(self) -> str:
        """The next fake wall-clock time, 7 ms after the previous one."""
        n = self._counters["clock"] = self._counters.get("clock", 0) + 1
        t = _EPOCH + dt.timedelta(seconds=self.seed % 86_400, milliseconds=7 * n)
        return f"{t:%Y-%m-%dT%H:%M:%S}.{t.microsecond // 1000:03d}Z"


class _ErrorReply(Exception):
    """A JSON-RPC error object to answer with (or that the client answered with)."""

    def __init__(self, code: int, message: str, data: Any = None) -> None:
        super().__init__(message)
        self.error: Json = {"code": code, "message": message}
        if data is not None:
            self.error["data"] = data


class _ClientGone(Exception):
    """The client closed stdin while the agent waited for its answer."""


class _Crash(Exception):
    """The prompt asked the agent to crash."""


@attrs.define(eq=False)
class _Turn:
    request_id: RequestId
    scope: trio.CancelScope = attrs.field(factory=trio.CancelScope)
    said: list[str] = attrs.field(factory=list)


@attrs.define(eq=False)
class _Session:
    id: str
    cwd: str
    mode: str = MODES[0]["id"]
    model: str = MODELS[0]["modelId"]
    history: list[tuple[str, str]] = attrs.field(factory=list)
    turn: _Turn | None = None


@attrs.define(eq=False)
class _Pending:
    done: trio.Event = attrs.field(factory=trio.Event)
    reply: Json | None = None  # None: the client closed stdin first


def _param(params: Json, key: str) -> str:
    value = params.get(key)
    if not isinstance(value, str):
        raise _ErrorReply(INVALID_PARAMS, "Invalid params", {"details": f"{key} must be a string"})
    return value


def prompt_text(blocks: Any) -> str:
    """The text of a prompt's content blocks (text, resource links, embedded text resources)."""
    if not isinstance(blocks, list):
        raise _ErrorReply(INVALID_PARAMS, "Invalid params", {"details": "prompt must be an array"})
    parts: list[str] = []
    for block in blocks:
        if not isinstance(block, dict):
            continue
        resource = block.get("resource")
        if block.get("type") == "text":
            parts.append(str(block.get("text", "")))
        elif block.get("type") == "resource_link":
            parts.append(str(block.get("uri", "")))
        elif block.get("type") == "resource" and isinstance(resource, dict):
            parts.append(str(resource.get("text", resource.get("uri", ""))))
    return "\n".join(parts)


def chunks(text: str, words: int = 3) -> list[str]:
    """Split ``text`` into pieces of a few words whose concatenation is ``text``."""
    tokens = re.findall(r"\s*\S+\s*", text)
    return ["".join(tokens[i : i + words]) for i in range(0, len(tokens), words)]


def _text(text: str) -> Json:
    return {"type": "content", "content": {"type": "text", "text": text}}


@attrs.define(eq=False)
class DemoAgent:
    """The agent's state and behaviour; ``serve`` feeds it lines from the client."""

    options: DemoOptions
    _stdout: trio.abc.SendStream
    _stderr: TextIO
    _nursery: trio.Nursery
    _ids: SeededIds
    _lock: trio.Lock = attrs.field(factory=trio.Lock)
    _caps: Json = attrs.field(factory=dict)
    _sessions: dict[str, _Session] = attrs.field(factory=dict)
    _pending: dict[RequestId, _Pending] = attrs.field(factory=dict)
    _input_closed: bool = False
    _output_broken: bool = False
    exit_status: int = 0

    def log(self, message: str) -> None:
        """Write a free-form log line to stderr, as real agents do."""
        self._stderr.write(f"{self._ids.timestamp()} INFO acp_tap_demo: {message}\n")
        self._stderr.flush()

    # -- output ---------------------------------------------------------------------------

    async def write(self, data: bytes) -> None:
        """Write bytes to stdout; a line is never cut by cancellation."""
        async with self._lock:
            if self._output_broken:
                return
            try:
                with trio.CancelScope(shield=True):
                    await self._stdout.send_all(data)
            except (trio.BrokenResourceError, trio.ClosedResourceError):
                self._output_broken = True
                self.log("stdout is closed; stopping")
                self._nursery.cancel_scope.cancel()

    async def send(self, message: Json) -> None:
        """Send one JSON-RPC message as a line."""
        line = json.dumps(message, ensure_ascii=False, separators=(",", ":")) + "\n"
        await self.write(line.encode("utf-8"))

    async def respond(self, request_id: RequestId, result: Json) -> None:
        """Answer a client request with a result."""
        await self.send({"jsonrpc": "2.0", "id": request_id, "result": result})

    async def fail(self, request_id: RequestId | None, error: Json) -> None:
        """Answer a client request (or an unparseable line, id null) with an error."""
        self.log(f"answering id {request_id!r} with error {error['code']}: {error['message']}")
        await self.send({"jsonrpc": "2.0", "id": request_id, "error": error})

    async def notify(self, method: str, params: Json) -> None:
        """Send a notification."""
        await self.send({"jsonrpc": "2.0", "method": method, "params": params})

    async def update(self, session_id: str, update: Json) -> None:
        """Send a ``session/update`` notification."""
        await self.notify("session/update", {"sessionId": session_id, "update": update})

    async def call(self, method: str, params: Json) -> Json:
        """Send a request to the client (string UUID id) and wait for its result."""
        if self._input_closed:
            raise _ClientGone(method)
        request_id = self._ids.uuid("request")
        pending = self._pending[request_id] = _Pending()
        try:
            await self.send(
                {"jsonrpc": "2.0", "id": request_id, "method": method, "params": params}
            )
            await pending.done.wait()
        finally:
            del self._pending[request_id]
        if pending.reply is None:
            raise _ClientGone(method)
        error = pending.reply.get("error")
        if error is not None:
            error = error if isinstance(error, dict) else {}
            raise _ErrorReply(error.get("code", INTERNAL_ERROR), str(error.get("message", "")))
        result = pending.reply.get("result")
        return result if isinstance(result, dict) else {}

    # -- input ----------------------------------------------------------------------------

    async def receive_line(self, data: bytes) -> None:
        """Handle one line from the client."""
        if not data.strip():
            return
        try:
            message = loads_strict(data)
        except ValueError:
            self.log(f"cannot parse a line of {len(data)} bytes as JSON")
            await self.fail(None, {"code": PARSE_ERROR, "message": "Parse error"})
            return
        env = envelope(message)
        if env.kind is Kind.REQUEST:
            assert env.method is not None
            assert env.id is not None
            params = message.get("params")
            await self._request(env.method, env.id, params if isinstance(params, dict) else {})
        elif env.kind is Kind.NOTIFICATION:
            self._notification(env.method or "", message.get("params"))
        elif env.is_response and env.id is not None and env.id in self._pending:
            pending = self._pending[env.id]
            pending.reply = message
            pending.done.set()
        elif env.is_response:
            self.log(f"ignoring a response to unknown request id {env.id!r}")
        else:
            msg_id = message.get("id") if isinstance(message, dict) else None
            valid = isinstance(msg_id, str | int) and not isinstance(msg_id, bool)
            await self.fail(
                msg_id if valid else None, {"code": INVALID_REQUEST, "message": "Invalid request"}
            )

    def close_input(self) -> None:
        """Stdin is at EOF: requests to the client will never be answered."""
        self._input_closed = True
        for pending in self._pending.values():
            pending.done.set()

    async def _request(self, method: str, request_id: RequestId, params: Json) -> None:
        self.log(f"<- {method} (id {request_id!r})")
        handler = _HANDLERS.get(method)
        if handler is None:
            error = {"code": METHOD_NOT_FOUND, "message": "Method not found"}
            await self.fail(request_id, error | {"data": {"method": method}})
            return
        try:
            await handler(self, request_id, params)
        except _ErrorReply as exc:
            await self.fail(request_id, exc.error)

    def _notification(self, method: str, params: Any) -> None:
        session_id = params.get("sessionId") if isinstance(params, dict) else None
        session = self._sessions.get(session_id) if isinstance(session_id, str) else None
        if method == "session/cancel" and session is not None and session.turn is not None:
            self.log(f"<- session/cancel: cancelling the turn in session {session.id}")
            session.turn.scope.cancel()
        else:
            self.log(f"ignoring notification {method}")

    def _session(self, params: Json) -> _Session:
        session_id = _param(params, "sessionId")
        if session_id not in self._sessions:
            raise _ErrorReply(RESOURCE_NOT_FOUND, "Resource not found", {"sessionId": session_id})
        return self._sessions[session_id]

    def _can(self, *path: str) -> bool:
        value: Any = self._caps
        for key in path:
            value = value.get(key) if isinstance(value, dict) else None
        return value is True

    def _metadata(self, session: _Session) -> Json:
        used = sum(len(user) + len(agent) for user, agent in session.history)
        return {"sessionId": session.id, "contextUsagePercentage": round(0.4 + used / 500, 2)}

    # -- client -> agent requests ---------------------------------------------------------

    async def initialize(self, request_id: RequestId, params: Json) -> None:
        """``initialize``: remember the client's capabilities, describe the agent."""
        caps = params.get("clientCapabilities")
        self._caps = caps if isinstance(caps, dict) else {}
        capabilities = {
            "loadSession": True,
            "promptCapabilities": {"image": True, "audio": False, "embeddedContext": True},
            "mcpCapabilities": {"http": True, "sse": False},
        }
        result = {"protocolVersion": 1, "agentCapabilities": capabilities}
        result |= {"authMethods": AUTH_METHODS, "agentInfo": AGENT_INFO}
        await self.respond(request_id, result)

    async def authenticate(self, request_id: RequestId, params: Json) -> None:
        """``authenticate`` with the one advertised method."""
        if _param(params, "methodId") != AUTH_METHODS[0]["id"]:
            raise _ErrorReply(INVALID_PARAMS, "Invalid params", {"details": "unknown methodId"})
        await self.respond(request_id, {})

    async def new_session(self, request_id: RequestId, params: Json) -> None:
        """``session/new``, then kiro's commands and metadata notifications."""
        session = _Session(self._ids.uuid("session"), _param(params, "cwd"))
        self._sessions[session.id] = session
        modes = {"currentModeId": session.mode, "availableModes": MODES}
        models = {"currentModelId": session.model, "availableModels": MODELS}
        await self.respond(request_id, {"sessionId": session.id, "modes": modes, "models": models})
        commands = {"sessionId": session.id, "commands": COMMANDS}
        await self.notify("_kiro.dev/commands/available", commands)
        await self.notify("_kiro.dev/metadata", self._metadata(session))

    async def load_session(self, request_id: RequestId, params: Json) -> None:
        """``session/load``: replay the history as updates, then answer."""
        session = self._session(params)
        for user, agent in session.history:
            for kind, text in (("user_message_chunk", user), ("agent_message_chunk", agent)):
                content = {"type": "text", "text": text}
                await self.update(session.id, {"sessionUpdate": kind, "content": content})
        await self.respond(request_id, {})

    async def set_mode(self, request_id: RequestId, params: Json) -> None:
        """``session/set_mode``: a current_mode_update, then the answer."""
        session = self._session(params)
        mode = _param(params, "modeId")
        if mode not in {m["id"] for m in MODES}:
            raise _ErrorReply(INVALID_PARAMS, "Invalid params", {"details": f"no mode {mode}"})
        session.mode = mode
        await self.update(
            session.id, {"sessionUpdate": "current_mode_update", "currentModeId": mode}
        )
        await self.respond(request_id, {})

    async def set_model(self, request_id: RequestId, params: Json) -> None:
        """kiro's legacy ``session/set_model``."""
        session = self._session(params)
        model = _param(params, "modelId")
        if model not in {m["modelId"] for m in MODELS}:
            raise _ErrorReply(INVALID_PARAMS, "Invalid params", {"details": f"no model {model}"})
        session.model = model
        await self.respond(request_id, {})

    async def set_config_option(self, request_id: RequestId, params: Json) -> None:
        """``session/set_config_option``: this agent has no configuration options."""
        self._session(params)
        _param(params, "configId")
        await self.respond(request_id, {"configOptions": []})

    async def prompt(self, request_id: RequestId, params: Json) -> None:
        """``session/prompt``: start the turn; it answers when it ends."""
        session = self._session(params)
        text = prompt_text(params.get("prompt"))
        if session.turn is not None:
            details = f"session {session.id} is already running a prompt turn"
            raise _ErrorReply(INVALID_REQUEST, "Invalid request", {"details": details})
        session.turn = _Turn(request_id)
        self._nursery.start_soon(self._turn, session, session.turn, text)

    # -- the prompt turn ------------------------------------------------------------------

    async def _turn(self, session: _Session, turn: _Turn, text: str) -> None:
        stop = "cancelled"
        try:
            with turn.scope:
                stop = await self._play(session, turn, text)
        except _ErrorReply as exc:
            session.turn = None
            await self.fail(turn.request_id, exc.error)
            return
        except _ClientGone as exc:
            self.log(f"the client closed stdin before answering {exc}; abandoning the turn")
            return
        except _Crash:
            self.exit_status = 3
            self._nursery.cancel_scope.cancel()
            return
        session.turn = None
        session.history.append((text, "".join(turn.said)))
        if turn.scope.cancel_called:  # even if the turn had finished when the cancel came
            stop = "cancelled"
        self.log(f"turn in session {session.id} ended: {stop}")
        await self.respond(turn.request_id, {"stopReason": stop})

    async def _play(self, session: _Session, turn: _Turn, text: str) -> str:
        words = set(re.findall(r"[a-z]+", text.lower()))
        delay = self.options.delay if "slow" in words else 0.0

        async def say(kind: str, piece: str) -> None:
            content = {"type": "text", "text": piece}
            await self.update(session.id, {"sessionUpdate": kind, "content": content})
            if kind == "agent_message_chunk":
                turn.said.append(piece)
            if delay:
                await trio.sleep(delay)

        for piece in ("Let me think ", "about this request."):
            await say("agent_thought_chunk", piece)
        if "crash" in words:
            await say("agent_message_chunk", "Working on it...")
            self._stderr.write("thread 'main' panicked at src/agent.rs:42:5: demo crash\n")
            self._stderr.flush()
            raise _Crash
        if "error" in words:
            raise _ErrorReply(
                INTERNAL_ERROR, "Internal error", {"details": "the prompt said error"}
            )
        if "garbage" in words:
            await self.write(b"[acp-tap-demo] DEBUG this log line is not JSON\n")
        notes = []
        if match := _READ.search(text):
            notes.append(await self._read(session, match.group(1).rstrip(".,;:!?")))
        if match := _RUN.search(text):
            notes.append(await self._run(session, match.group(1).strip()))
        if words & {"tool", "write"}:
            notes.append(await self._write(session, turn))
        reply = " ".join([f"This is the acp-tap demo agent. You said: {text.strip()!r}.", *notes])
        for piece in chunks(reply):
            await say("agent_message_chunk", piece)
        await self.notify("_kiro.dev/metadata", self._metadata(session))
        return "end_turn"

    async def _tool_call(self, session: _Session, title: str, kind: str, **fields: Any) -> str:
        tool_id = "tooluse_" + self._ids.uuid("tool").replace("-", "")[:22]
        call = {"sessionUpdate": "tool_call", "toolCallId": tool_id, "title": title, "kind": kind}
        await self.update(session.id, call | fields)
        return tool_id

    async def _tool_update(
        self, session: _Session, tool_id: str, status: str, **fields: Any
    ) -> None:
        update = {"sessionUpdate": "tool_call_update", "toolCallId": tool_id, "status": status}
        await self.update(session.id, update | fields)

    async def _read(self, session: _Session, path: str) -> str:
        if not self._can("fs", "readTextFile"):
            return f"I cannot read {path}: the client did not offer fs.readTextFile."
        locations = [{"path": path}]
        title = f"Read {posixpath.basename(path)}"
        tool_id = await self._tool_call(
            session, title, "read", status="pending", locations=locations
        )
        await self._tool_update(session, tool_id, "in_progress")
        try:
            result = await self.call("fs/read_text_file", {"sessionId": session.id, "path": path})
        except _ErrorReply as exc:
            await self._tool_update(session, tool_id, "failed", content=[_text(str(exc))])
            return f"I could not read {path}: {exc}."
        content = str(result.get("content", ""))
        lines = content.splitlines()
        summary = f"{path} has {len(lines)} lines and {len(content)} characters"
        first = f'; it starts with "{lines[0][:60]}"' if lines else ""
        await self._tool_update(session, tool_id, "completed", content=[_text(summary)])
        return summary + first + "."

    async def _run(self, session: _Session, command: str) -> str:
        if not self._can("terminal"):
            return f"I cannot run `{command}`: the client did not offer a terminal."
        try:
            argv = shlex.split(command)
        except ValueError:
            argv = command.split()
        tool_id = await self._tool_call(
            session, f"Run `{command}`", "execute", status="pending", rawInput={"command": command}
        )
        ids = {"sessionId": session.id}
        try:
            create = ids | {"command": argv[0], "args": argv[1:], "cwd": session.cwd}
            created = await self.call("terminal/create", create | {"outputByteLimit": 65536})
            ids["terminalId"] = str(created.get("terminalId", ""))
            terminal = [{"type": "terminal", "terminalId": ids["terminalId"]}]
            await self._tool_update(session, tool_id, "in_progress", content=terminal)
            exit_status = await self.call("terminal/wait_for_exit", ids)
            output = await self.call("terminal/output", ids)
            await self.call("terminal/release", ids)
        except _ErrorReply as exc:
            await self._tool_update(session, tool_id, "failed", content=[_text(str(exc))])
            return f"I could not run `{command}`: {exc}."
        printed = str(output.get("output", ""))
        raw = {"exitCode": exit_status.get("exitCode"), "output": printed}
        await self._tool_update(session, tool_id, "completed", rawOutput=raw)
        return f"`{command}` exited with status {raw['exitCode']} and printed {printed!r}."

    async def _write(self, session: _Session, turn: _Turn) -> str:
        path = posixpath.join(session.cwd, WRITE_FILE)
        raw_input = {"path": path, "content": WRITE_CONTENT}
        fields: Json = {"locations": [{"path": path}], "rawInput": raw_input}
        tool_id = await self._tool_call(
            session, f"Write {WRITE_FILE}", "edit", status="pending", **fields
        )
        tool_call = {"toolCallId": tool_id, "title": f"Write {WRITE_FILE}", "kind": "edit"}
        ask = {
            "sessionId": session.id,
            "toolCall": tool_call | fields,
            "options": PERMISSION_OPTIONS,
        }
        try:
            answer = await self.call("session/request_permission", ask)
        except _ErrorReply as exc:
            await self._tool_update(session, tool_id, "failed", content=[_text(str(exc))])
            return f"I could not ask for permission to write {path}: {exc}."
        outcome = answer.get("outcome")
        outcome = outcome if isinstance(outcome, dict) else {}
        if outcome.get("outcome") == "cancelled":
            await self._tool_update(session, tool_id, "failed", content=[_text("Cancelled")])
            turn.scope.cancel()
            await trio.lowlevel.checkpoint()
        if outcome.get("optionId") != "allow_once":
            await self._tool_update(session, tool_id, "failed", content=[_text("Rejected")])
            return f"You rejected the write to {path}, so I left it alone."
        await self._tool_update(session, tool_id, "in_progress")
        if not self._can("fs", "writeTextFile"):
            done = f"Would write {len(WRITE_CONTENT)} bytes to {path} (no fs.writeTextFile)"
            await self._tool_update(session, tool_id, "completed", content=[_text(done)])
            return f"I could not write {path}: the client did not offer fs.writeTextFile."
        try:
            await self.call("fs/write_text_file", {"sessionId": session.id} | raw_input)
        except _ErrorReply as exc:
            await self._tool_update(session, tool_id, "failed", content=[_text(str(exc))])
            return f"I could not write {path}: {exc}."
        done = f"Wrote {len(WRITE_CONTENT)} bytes to {path}"
        await self._tool_update(session, tool_id, "completed", content=[_text(done)])
        return f"I wrote {path}."


_HANDLERS: dict[str, Callable[[DemoAgent, RequestId, Json], Awaitable[None]]] = {
    "initialize": DemoAgent.initialize,
    "authenticate": DemoAgent.authenticate,
    "session/new": DemoAgent.new_session,
    "session/load": DemoAgent.load_session,
    "session/set_mode": DemoAgent.set_mode,
    "session/set_model": DemoAgent.set_model,
    "session/set_config_option": DemoAgent.set_config_option,
    "session/prompt": DemoAgent.prompt,
}


async def serve(
    stdin: trio.abc.ReceiveStream, stdout: trio.abc.SendStream, stderr: TextIO, options: DemoOptions
) -> int:
    """Be the demo agent on these streams until ``stdin`` ends; return the exit status."""
    ids = SeededIds(options.seed)
    async with trio.open_nursery() as nursery:
        agent = DemoAgent(options, stdout, stderr, nursery, ids)
        agent.log(f"acp-tap demo agent {__version__} starting (seed {options.seed})")
        splitter = LineSplitter()
        async for chunk in stdin:
            for line in splitter.feed(chunk):
                await agent.receive_line(line.data)
        last = splitter.close()
        if last is not None:
            await agent.receive_line(last.data)
        agent.log("stdin closed; finishing")
        agent.close_input()
    return agent.exit_status


async def _serve_stdio(options: DemoOptions) -> int:
    async with (
        trio.lowlevel.FdStream(os.dup(0)) as stdin,
        trio.lowlevel.FdStream(os.dup(1)) as stdout,
    ):
        return await serve(stdin, stdout, sys.stderr, options)


def run(options: DemoOptions) -> int:
    """Run the demo agent on this process's stdin/stdout; return its exit status."""
    return trio.run(_serve_stdio, options)


def main(argv: Sequence[str] | None = None) -> int:
    """``python -m acp_tap.demo_agent [--seed N] [--delay SECONDS]``."""
    parser = argparse.ArgumentParser(
        prog="python -m acp_tap.demo_agent",
        description=DESCRIPTION,
        epilog=EPILOG,
        formatter_class=argparse.RawDescriptionHelpFormatter,
    )
    add_arguments(parser)
    options = options_from_args(parser.parse_args(argv))
    try:
        return run(options)
    except KeyboardInterrupt:
        return 130


if __name__ == "__main__":
    raise SystemExit(main())
