"""The demo agent's protocol loop: JSON-RPC lines in and out, and requests to the client.

A :class:`Connection` writes whole lines (never cut by cancellation), sends requests to the
client and waits for their answers, and hands each request and notification from the client
to an :class:`Agent`; :func:`serve_connection` feeds it the lines of stdin. What the demo
agent does with them is :mod:`acp_tap.demo.agent`.
"""

from __future__ import annotations

import datetime as dt
import hashlib
import json
import uuid
from typing import Any, Protocol, TextIO

import attrs
import trio

from acp_tap.cassette.codec import loads_strict
from acp_tap.wire.framing import LineSplitter
from acp_tap.wire.jsonrpc import Kind, RequestId, envelope

Json = dict[str, Any]

PARSE_ERROR = -32700
INVALID_REQUEST = -32600
METHOD_NOT_FOUND = -32601
INVALID_PARAMS = -32602
INTERNAL_ERROR = -32603
RESOURCE_NOT_FOUND = -32002

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


class ErrorReply(Exception):
    """A JSON-RPC error object to answer with (or that the client answered with)."""

    def __init__(self, code: int, message: str, data: Any = None) -> None:
        super().__init__(message)
        self.error: Json = {"code": code, "message": message}
        if data is not None:
            self.error["data"] = data


class ClientGone(Exception):
    """The client closed stdin while the agent waited for its answer."""


class Agent(Protocol):
    """What the loop hands the client's requests and notifications to."""

    async def request(self, method: str, request_id: RequestId, params: Json) -> None:
        """Answer a request (raise :class:`ErrorReply` to answer with an error)."""

    def notification(self, method: str, params: Any) -> None:
        """Take a notification."""


@attrs.define(eq=False)
class _Pending:
    done: trio.Event = attrs.field(factory=trio.Event)
    reply: Json | None = None  # None: the client closed stdin first


@attrs.define(eq=False)
class Connection:
    """The agent's side of one client: its stdout, its logs, and its requests to the client."""

    stdout: trio.abc.SendStream
    stderr: TextIO
    nursery: trio.Nursery
    ids: SeededIds
    _lock: trio.Lock = attrs.field(factory=trio.Lock)
    _pending: dict[RequestId, _Pending] = attrs.field(factory=dict)
    _input_closed: bool = False
    _output_broken: bool = False

    def log(self, message: str) -> None:
        """Write a free-form log line to stderr, as real agents do."""
        self.stderr.write(f"{self.ids.timestamp()} INFO acp_tap_demo: {message}\n")
        self.stderr.flush()

    # -- output ---------------------------------------------------------------------------

    async def write(self, data: bytes) -> None:
        """Write bytes to stdout; a line is never cut by cancellation."""
        async with self._lock:
            if self._output_broken:
                return
            try:
                with trio.CancelScope(shield=True):
                    await self.stdout.send_all(data)
            except (trio.BrokenResourceError, trio.ClosedResourceError):
                self._output_broken = True
                self.log("stdout is closed; stopping")
                self.nursery.cancel_scope.cancel()

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
            raise ClientGone(method)
        request_id = self.ids.uuid("request")
        pending = self._pending[request_id] = _Pending()
        try:
            await self.send(
                {"jsonrpc": "2.0", "id": request_id, "method": method, "params": params}
            )
            await pending.done.wait()
        finally:
            del self._pending[request_id]
        if pending.reply is None:
            raise ClientGone(method)
        error = pending.reply.get("error")
        if error is not None:
            error = error if isinstance(error, dict) else {}
            raise ErrorReply(error.get("code", INTERNAL_ERROR), str(error.get("message", "")))
        result = pending.reply.get("result")
        return result if isinstance(result, dict) else {}

    # -- input ----------------------------------------------------------------------------

    async def receive_line(self, data: bytes, agent: Agent) -> None:
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
            await self._request(
                agent, env.method, env.id, params if isinstance(params, dict) else {}
            )
        elif env.kind is Kind.NOTIFICATION:
            agent.notification(env.method or "", message.get("params"))
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

    async def _request(
        self, agent: Agent, method: str, request_id: RequestId, params: Json
    ) -> None:
        self.log(f"<- {method} (id {request_id!r})")
        try:
            await agent.request(method, request_id, params)
        except ErrorReply as exc:
            await self.fail(request_id, exc.error)


async def serve_connection(
    stdin: trio.abc.ReceiveStream, connection: Connection, agent: Agent
) -> None:
    """Hand each line of ``stdin`` to ``agent`` through ``connection`` until it ends."""
    splitter = LineSplitter()
    async for chunk in stdin:
        for line in splitter.feed(chunk):
            await connection.receive_line(line.data, agent)
    last = splitter.close()
    if last is not None:
        await connection.receive_line(last.data, agent)
    connection.log("stdin closed; finishing")
    connection.close_input()
