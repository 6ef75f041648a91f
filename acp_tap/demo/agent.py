"""A small, deterministic ACP v1 agent that behaves like ``kiro-cli acp`` in miniature.

Run it as ``acp-tap demo-agent`` or ``python -m acp_tap.demo.agent``; what its prompts do is
documented in :mod:`acp_tap.demo.options` (and ``--help``). This module holds the agent's
sessions and what each client request does; the protocol loop is
:mod:`acp_tap.demo.protocol`, the prompt turns :mod:`acp_tap.demo.scenarios`.
"""

from __future__ import annotations

import argparse
import os
import sys
from collections.abc import Awaitable, Callable, Sequence
from typing import Any, TextIO

import attrs
import trio

from acp_tap import __version__
from acp_tap.demo.options import (
    DESCRIPTION,
    EPILOG,
    DemoOptions,
    add_arguments,
    options_from_args,
)
from acp_tap.demo.protocol import (
    INVALID_PARAMS,
    INVALID_REQUEST,
    METHOD_NOT_FOUND,
    RESOURCE_NOT_FOUND,
    ClientGone,
    Connection,
    ErrorReply,
    Json,
    SeededIds,
    serve_connection,
)
from acp_tap.demo.scenarios import Crash, PromptTurn, Session, Turn, prompt_text
from acp_tap.wire.jsonrpc import RequestId

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


def _param(params: Json, key: str) -> str:
    value = params.get(key)
    if not isinstance(value, str):
        raise ErrorReply(INVALID_PARAMS, "Invalid params", {"details": f"{key} must be a string"})
    return value


@attrs.define(eq=False)
class DemoAgent:
    """The agent's state and behaviour; :func:`serve` hands it the client's messages."""

    options: DemoOptions
    conn: Connection
    _caps: Json = attrs.field(factory=dict)
    _sessions: dict[str, Session] = attrs.field(factory=dict)
    exit_status: int = 0

    async def request(self, method: str, request_id: RequestId, params: Json) -> None:
        """Answer a client request (an unknown method is an :class:`ErrorReply`)."""
        handler = _HANDLERS.get(method)
        if handler is None:
            raise ErrorReply(METHOD_NOT_FOUND, "Method not found", {"method": method})
        await handler(self, request_id, params)

    def notification(self, method: str, params: Any) -> None:
        """``session/cancel`` cancels the session's turn; other notifications are ignored."""
        session_id = params.get("sessionId") if isinstance(params, dict) else None
        session = self._sessions.get(session_id) if isinstance(session_id, str) else None
        if method == "session/cancel" and session is not None and session.turn is not None:
            self.conn.log(f"<- session/cancel: cancelling the turn in session {session.id}")
            session.turn.scope.cancel()
        else:
            self.conn.log(f"ignoring notification {method}")

    def _session(self, params: Json) -> Session:
        session_id = _param(params, "sessionId")
        if session_id not in self._sessions:
            raise ErrorReply(RESOURCE_NOT_FOUND, "Resource not found", {"sessionId": session_id})
        return self._sessions[session_id]

    def _can(self, *path: str) -> bool:
        value: Any = self._caps
        for key in path:
            value = value.get(key) if isinstance(value, dict) else None
        return value is True

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
        await self.conn.respond(request_id, result)

    async def authenticate(self, request_id: RequestId, params: Json) -> None:
        """``authenticate`` with the one advertised method."""
        if _param(params, "methodId") != AUTH_METHODS[0]["id"]:
            raise ErrorReply(INVALID_PARAMS, "Invalid params", {"details": "unknown methodId"})
        await self.conn.respond(request_id, {})

    async def new_session(self, request_id: RequestId, params: Json) -> None:
        """``session/new``, then kiro's commands and metadata notifications."""
        session_id, cwd = self.conn.ids.uuid("session"), _param(params, "cwd")
        session = Session(session_id, cwd, MODES[0]["id"], MODELS[0]["modelId"])
        self._sessions[session.id] = session
        modes = {"currentModeId": session.mode, "availableModes": MODES}
        models = {"currentModelId": session.model, "availableModels": MODELS}
        result = {"sessionId": session.id, "modes": modes, "models": models}
        await self.conn.respond(request_id, result)
        commands = {"sessionId": session.id, "commands": COMMANDS}
        await self.conn.notify("_kiro.dev/commands/available", commands)
        await self.conn.notify("_kiro.dev/metadata", session.metadata())

    async def load_session(self, request_id: RequestId, params: Json) -> None:
        """``session/load``: replay the history as updates, then answer."""
        session = self._session(params)
        for user, agent in session.history:
            for kind, text in (("user_message_chunk", user), ("agent_message_chunk", agent)):
                content = {"type": "text", "text": text}
                await self.conn.update(session.id, {"sessionUpdate": kind, "content": content})
        await self.conn.respond(request_id, {})

    async def set_mode(self, request_id: RequestId, params: Json) -> None:
        """``session/set_mode``: a current_mode_update, then the answer."""
        session = self._session(params)
        mode = _param(params, "modeId")
        if mode not in {m["id"] for m in MODES}:
            raise ErrorReply(INVALID_PARAMS, "Invalid params", {"details": f"no mode {mode}"})
        session.mode = mode
        update = {"sessionUpdate": "current_mode_update", "currentModeId": mode}
        await self.conn.update(session.id, update)
        await self.conn.respond(request_id, {})

    async def set_model(self, request_id: RequestId, params: Json) -> None:
        """kiro's legacy ``session/set_model``."""
        session = self._session(params)
        model = _param(params, "modelId")
        if model not in {m["modelId"] for m in MODELS}:
            raise ErrorReply(INVALID_PARAMS, "Invalid params", {"details": f"no model {model}"})
        session.model = model
        await self.conn.respond(request_id, {})

    async def set_config_option(self, request_id: RequestId, params: Json) -> None:
        """``session/set_config_option``: this agent has no configuration options."""
        self._session(params)
        _param(params, "configId")
        await self.conn.respond(request_id, {"configOptions": []})

    async def prompt(self, request_id: RequestId, params: Json) -> None:
        """``session/prompt``: start the turn; it answers when it ends."""
        session = self._session(params)
        text = prompt_text(params.get("prompt"))
        if session.turn is not None:
            details = f"session {session.id} is already running a prompt turn"
            raise ErrorReply(INVALID_REQUEST, "Invalid request", {"details": details})
        session.turn = Turn(request_id)
        self.conn.nursery.start_soon(self._turn, session, session.turn, text)

    # -- the prompt turn ------------------------------------------------------------------

    async def _turn(self, session: Session, turn: Turn, text: str) -> None:
        stop = "cancelled"
        try:
            with turn.scope:
                stop = await self._play(session, turn, text)
        except ErrorReply as exc:
            session.turn = None
            await self.conn.fail(turn.request_id, exc.error)
            return
        except ClientGone as exc:
            self.conn.log(f"the client closed stdin before answering {exc}; abandoning the turn")
            return
        except Crash:
            self.exit_status = 3
            self.conn.nursery.cancel_scope.cancel()
            return
        session.turn = None
        session.history.append((text, "".join(turn.said)))
        if turn.scope.cancel_called:  # even if the turn had finished when the cancel came
            stop = "cancelled"
        self.conn.log(f"turn in session {session.id} ended: {stop}")
        await self.conn.respond(turn.request_id, {"stopReason": stop})

    async def _play(self, session: Session, turn: Turn, text: str) -> str:
        """What the prompt's words ask for (:mod:`acp_tap.demo.scenarios`); the stop reason."""
        return await PromptTurn(self.conn, session, turn, self._can, self.options.delay).play(text)


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
    async with trio.open_nursery() as nursery:
        conn = Connection(stdout, stderr, nursery, SeededIds(options.seed))
        agent = DemoAgent(options, conn)
        conn.log(f"acp-tap demo agent {__version__} starting (seed {options.seed})")
        await serve_connection(stdin, conn, agent)
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
    """``python -m acp_tap.demo.agent [--seed N] [--delay SECONDS]``."""
    parser = argparse.ArgumentParser(
        prog="python -m acp_tap.demo.agent",
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
