"""What the demo agent's prompts do: the prompt turn and its tool calls.

Whole words of a prompt's text choose what its turn plays (documented in
:mod:`acp_tap.demo.options`): thought chunks, then ``crash``, ``error``, ``garbage``,
``read PATH``, ``run CMD``, ``tool``/``write``, the reply in chunks and kiro's metadata.
:mod:`acp_tap.demo.agent` starts the turn and answers the prompt when it ends.
"""

from __future__ import annotations

import posixpath
import re
import shlex
from collections.abc import Callable
from typing import Any

import attrs
import trio

from acp_tap.demo.protocol import INTERNAL_ERROR, INVALID_PARAMS, Connection, ErrorReply, Json
from acp_tap.wire.jsonrpc import RequestId

PERMISSION_OPTIONS = [
    {"optionId": "allow_once", "name": "Yes", "kind": "allow_once"},
    {"optionId": "reject_once", "name": "No", "kind": "reject_once"},
]
WRITE_FILE = "acp-tap-demo.txt"
WRITE_CONTENT = "Hello from the acp-tap demo agent.\n"

_READ = re.compile(r"\bread\s+(\S+)", re.IGNORECASE)
_RUN = re.compile(r"\brun\s+(\S[^\n]*)", re.IGNORECASE)


class Crash(Exception):
    """The prompt asked the agent to crash."""


@attrs.define(eq=False)
class Turn:
    """A prompt turn in progress: its request, its cancel scope, what the agent said."""

    request_id: RequestId
    scope: trio.CancelScope = attrs.field(factory=trio.CancelScope)
    said: list[str] = attrs.field(factory=list)


@attrs.define(eq=False)
class Session:
    """A session: its working directory, mode and model, the turns it had, the one running."""

    id: str
    cwd: str
    mode: str
    model: str
    history: list[tuple[str, str]] = attrs.field(factory=list)
    turn: Turn | None = None

    def metadata(self) -> Json:
        """kiro's ``_kiro.dev/metadata`` params: context usage grows with the history."""
        used = sum(len(user) + len(agent) for user, agent in self.history)
        return {"sessionId": self.id, "contextUsagePercentage": round(0.4 + used / 500, 2)}


def prompt_text(blocks: Any) -> str:
    """The text of a prompt's content blocks (text, resource links, embedded text resources)."""
    if not isinstance(blocks, list):
        raise ErrorReply(INVALID_PARAMS, "Invalid params", {"details": "prompt must be an array"})
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
class PromptTurn:
    """One turn being played in ``session``; ``can(*path)`` tells a client capability."""

    conn: Connection
    session: Session
    turn: Turn
    can: Callable[..., bool]
    delay: float  # after each update of a 'slow' prompt

    async def play(self, text: str) -> str:
        """Play what ``text`` asks for; return the stop reason."""
        conn, session, turn = self.conn, self.session, self.turn
        words = set(re.findall(r"[a-z]+", text.lower()))
        delay = self.delay if "slow" in words else 0.0

        async def say(kind: str, piece: str) -> None:
            content = {"type": "text", "text": piece}
            await conn.update(session.id, {"sessionUpdate": kind, "content": content})
            if kind == "agent_message_chunk":
                turn.said.append(piece)
            if delay:
                await trio.sleep(delay)

        for piece in ("Let me think ", "about this request."):
            await say("agent_thought_chunk", piece)
        if "crash" in words:
            await say("agent_message_chunk", "Working on it...")
            conn.stderr.write("thread 'main' panicked at src/agent.rs:42:5: demo crash\n")
            conn.stderr.flush()
            raise Crash
        if "error" in words:
            raise ErrorReply(INTERNAL_ERROR, "Internal error", {"details": "the prompt said error"})
        if "garbage" in words:
            await conn.write(b"[acp-tap-demo] DEBUG this log line is not JSON\n")
        notes = []
        if match := _READ.search(text):
            notes.append(await self._read(match.group(1).rstrip(".,;:!?")))
        if match := _RUN.search(text):
            notes.append(await self._run(match.group(1).strip()))
        if words & {"tool", "write"}:
            notes.append(await self._write())
        reply = " ".join([f"This is the acp-tap demo agent. You said: {text.strip()!r}.", *notes])
        for piece in chunks(reply):
            await say("agent_message_chunk", piece)
        await conn.notify("_kiro.dev/metadata", session.metadata())
        return "end_turn"

    async def _tool_call(self, title: str, kind: str, **fields: Any) -> str:
        tool_id = "tooluse_" + self.conn.ids.uuid("tool").replace("-", "")[:22]
        call = {"sessionUpdate": "tool_call", "toolCallId": tool_id, "title": title, "kind": kind}
        await self.conn.update(self.session.id, call | fields)
        return tool_id

    async def _tool_update(self, tool_id: str, status: str, **fields: Any) -> None:
        update = {"sessionUpdate": "tool_call_update", "toolCallId": tool_id, "status": status}
        await self.conn.update(self.session.id, update | fields)

    async def _read(self, path: str) -> str:
        if not self.can("fs", "readTextFile"):
            return f"I cannot read {path}: the client did not offer fs.readTextFile."
        locations = [{"path": path}]
        title = f"Read {posixpath.basename(path)}"
        tool_id = await self._tool_call(title, "read", status="pending", locations=locations)
        await self._tool_update(tool_id, "in_progress")
        try:
            params = {"sessionId": self.session.id, "path": path}
            result = await self.conn.call("fs/read_text_file", params)
        except ErrorReply as exc:
            await self._tool_update(tool_id, "failed", content=[_text(str(exc))])
            return f"I could not read {path}: {exc}."
        content = str(result.get("content", ""))
        lines = content.splitlines()
        summary = f"{path} has {len(lines)} lines and {len(content)} characters"
        first = f'; it starts with "{lines[0][:60]}"' if lines else ""
        await self._tool_update(tool_id, "completed", content=[_text(summary)])
        return summary + first + "."

    async def _run(self, command: str) -> str:
        if not self.can("terminal"):
            return f"I cannot run `{command}`: the client did not offer a terminal."
        try:
            argv = shlex.split(command)
        except ValueError:
            argv = command.split()
        tool_id = await self._tool_call(
            f"Run `{command}`", "execute", status="pending", rawInput={"command": command}
        )
        call, ids = self.conn.call, {"sessionId": self.session.id}
        try:
            create = ids | {"command": argv[0], "args": argv[1:], "cwd": self.session.cwd}
            created = await call("terminal/create", create | {"outputByteLimit": 65536})
            ids["terminalId"] = str(created.get("terminalId", ""))
            terminal = [{"type": "terminal", "terminalId": ids["terminalId"]}]
            await self._tool_update(tool_id, "in_progress", content=terminal)
            exit_status = await call("terminal/wait_for_exit", ids)
            output = await call("terminal/output", ids)
            await call("terminal/release", ids)
        except ErrorReply as exc:
            await self._tool_update(tool_id, "failed", content=[_text(str(exc))])
            return f"I could not run `{command}`: {exc}."
        printed = str(output.get("output", ""))
        raw = {"exitCode": exit_status.get("exitCode"), "output": printed}
        await self._tool_update(tool_id, "completed", rawOutput=raw)
        return f"`{command}` exited with status {raw['exitCode']} and printed {printed!r}."

    async def _write(self) -> str:
        session = self.session
        path = posixpath.join(session.cwd, WRITE_FILE)
        raw_input = {"path": path, "content": WRITE_CONTENT}
        fields: Json = {"locations": [{"path": path}], "rawInput": raw_input}
        tool_id = await self._tool_call(f"Write {WRITE_FILE}", "edit", status="pending", **fields)
        tool_call = {"toolCallId": tool_id, "title": f"Write {WRITE_FILE}", "kind": "edit"}
        ask = {
            "sessionId": session.id,
            "toolCall": tool_call | fields,
            "options": PERMISSION_OPTIONS,
        }
        try:
            answer = await self.conn.call("session/request_permission", ask)
        except ErrorReply as exc:
            await self._tool_update(tool_id, "failed", content=[_text(str(exc))])
            return f"I could not ask for permission to write {path}: {exc}."
        outcome = answer.get("outcome")
        outcome = outcome if isinstance(outcome, dict) else {}
        if outcome.get("outcome") == "cancelled":
            await self._tool_update(tool_id, "failed", content=[_text("Cancelled")])
            self.turn.scope.cancel()
            await trio.lowlevel.checkpoint()
        if outcome.get("optionId") != "allow_once":
            await self._tool_update(tool_id, "failed", content=[_text("Rejected")])
            return f"You rejected the write to {path}, so I left it alone."
        await self._tool_update(tool_id, "in_progress")
        if not self.can("fs", "writeTextFile"):
            done = f"Would write {len(WRITE_CONTENT)} bytes to {path} (no fs.writeTextFile)"
            await self._tool_update(tool_id, "completed", content=[_text(done)])
            return f"I could not write {path}: the client did not offer fs.writeTextFile."
        try:
            await self.conn.call("fs/write_text_file", {"sessionId": session.id} | raw_input)
        except ErrorReply as exc:
            await self._tool_update(tool_id, "failed", content=[_text(str(exc))])
            return f"I could not write {path}: {exc}."
        done = f"Wrote {len(WRITE_CONTENT)} bytes to {path}"
        await self._tool_update(tool_id, "completed", content=[_text(done)])
        return f"I wrote {path}."
