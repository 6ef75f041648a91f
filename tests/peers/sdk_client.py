"""An ACP client built on the official Python SDK (``acp``), for interop tests.

    python tests/peers/sdk_client.py --scenario NAME -- AGENT_ARGV...

spawns AGENT_ARGV, plays the scenario and prints ONE JSON document of what it observed, without
JSON-RPC ids, so that two runs (say, against a real agent and against its replay) compare exactly:

    {"scenario": NAME, "exit_code": N,
     "sent": [{"method", "params", "result" | "error"}, ...],        client -> agent, in order
     "notifications": [{"method", "params"}, ...],                     agent -> client, in order
     "agent_requests": [{"method", "params", "answer"}, ...]}          agent -> client, in order

Scenarios: basic (read a file, write with permission allowed), reject (permission rejected),
cancel (slow prompt, session/cancel after the first update), load (two turns, then session/load),
terminal (run a command), modes (session/set_mode and session/set_config_option), nocaps (a
client without fs and terminal capabilities). The client serves fs reads from FILES, and terminals
with canned output; the whole run is bounded by 20 seconds.
"""

from __future__ import annotations

import argparse
import asyncio
import json
import os
import sys
from collections.abc import Awaitable, Callable
from typing import Any

import acp
from acp.connection import StreamDirection, StreamEvent
from acp.schema import (
    AllowedOutcome,
    ClientCapabilities,
    CreateElicitationResponse,
    CreateTerminalResponse,
    DeniedOutcome,
    ElicitationMode,
    EnvVariable,
    FileSystemCapabilities,
    Implementation,
    KillTerminalResponse,
    PermissionOption,
    ReadTextFileResponse,
    ReleaseTerminalResponse,
    RequestPermissionResponse,
    TerminalExitStatus,
    TerminalOutputResponse,
    ToolCallUpdate,
    WaitForTerminalExitResponse,
    WriteTextFileResponse,
)

TIMEOUT = 20.0
CWD = "/tmp/acp-tap-demo"
NOTES = f"{CWD}/notes.txt"
FILES = {NOTES: "# Notes\nacp-tap records ACP sessions.\nIt replays them too.\n"}
TERMINAL_ID = "term-1"
TERMINAL_OUTPUT = "hello world\n"
FULL_CAPS = ClientCapabilities(
    fs=FileSystemCapabilities(read_text_file=True, write_text_file=True), terminal=True
)
NO_CAPS = ClientCapabilities(
    fs=FileSystemCapabilities(read_text_file=False, write_text_file=False), terminal=False
)

Json = dict[str, Any]


class Observer:
    """Collects every raw message the SDK connection sees, paired by id, without ids."""

    def __init__(self) -> None:
        self.sent: list[Json] = []
        self.notifications: list[Json] = []
        self.agent_requests: list[Json] = []
        self._ours: dict[Any, Json] = {}
        self._early: dict[Any, Json] = {}  # a response observed before its request was
        self._theirs: dict[Any, Json] = {}

    def __call__(self, event: StreamEvent) -> None:
        """Record one message (the SDK calls this in wire order per direction)."""
        message = event.message
        entry: Json = {key: message[key] for key in ("method", "params") if key in message}
        if event.direction is StreamDirection.INCOMING:
            if "method" in message and "id" in message:
                self.agent_requests.append(entry)
                self._theirs[message["id"]] = entry
            elif "method" in message:
                self.notifications.append(entry)
            elif message.get("id") in self._ours:
                self._ours.pop(message["id"]).update(_outcome(message))
            else:
                self._early[message.get("id")] = message
        elif "method" in message:
            self.sent.append(entry)
            if "id" in message:
                self._ours[message["id"]] = entry
                if message["id"] in self._early:
                    self._ours.pop(message["id"]).update(_outcome(self._early.pop(message["id"])))
        elif message.get("id") in self._theirs:
            self._theirs.pop(message["id"])["answer"] = _outcome(message)

    def summary(self) -> Json:
        """The observed conversation."""
        return {
            "sent": self.sent,
            "notifications": self.notifications,
            "agent_requests": self.agent_requests,
        }


def _outcome(response: Json) -> Json:
    return {key: response[key] for key in ("result", "error") if key in response}


class Client:
    """An ACP client that answers permission with ``permission`` and serves canned fs/terminal."""

    def __init__(self, permission: str) -> None:
        self.permission = permission
        self.first_update = asyncio.Event()

    async def request_permission(
        self,
        session_id: str,
        tool_call: ToolCallUpdate,
        options: list[PermissionOption],
        **kwargs: Any,
    ) -> RequestPermissionResponse:
        """Pick the option of kind ``permission``; without one, cancel."""
        for option in options:
            if option.kind == self.permission:
                selected = AllowedOutcome(option_id=option.option_id, outcome="selected")
                return RequestPermissionResponse(outcome=selected)
        return RequestPermissionResponse(outcome=DeniedOutcome(outcome="cancelled"))

    async def session_update(self, session_id: str, update: Any, **kwargs: Any) -> None:
        """Note that an update arrived (the observer keeps the content)."""
        self.first_update.set()

    async def write_text_file(
        self, session_id: str, path: str, content: str, **kwargs: Any
    ) -> WriteTextFileResponse | None:
        """Accept every write (the observer keeps it)."""
        return WriteTextFileResponse()

    async def read_text_file(
        self,
        session_id: str,
        path: str,
        line: int | None = None,
        limit: int | None = None,
        **kwargs: Any,
    ) -> ReadTextFileResponse:
        """Serve ``FILES``."""
        if path not in FILES:
            raise acp.RequestError.resource_not_found(path)
        return ReadTextFileResponse(content=FILES[path])

    async def create_terminal(  # noqa: PLR0917 - the SDK's Client protocol
        self,
        session_id: str,
        command: str,
        args: list[str] | None = None,
        env: list[EnvVariable] | None = None,
        cwd: str | None = None,
        output_byte_limit: int | None = None,
        **kwargs: Any,
    ) -> CreateTerminalResponse:
        """A terminal that has already run."""
        return CreateTerminalResponse(terminal_id=TERMINAL_ID)

    async def terminal_output(
        self, session_id: str, terminal_id: str, **kwargs: Any
    ) -> TerminalOutputResponse:
        """The canned output."""
        exit_status = TerminalExitStatus(exit_code=0)
        return TerminalOutputResponse(
            output=TERMINAL_OUTPUT, truncated=False, exit_status=exit_status
        )

    async def release_terminal(
        self, session_id: str, terminal_id: str, **kwargs: Any
    ) -> ReleaseTerminalResponse | None:
        """Nothing to release."""
        return ReleaseTerminalResponse()

    async def wait_for_terminal_exit(
        self, session_id: str, terminal_id: str, **kwargs: Any
    ) -> WaitForTerminalExitResponse:
        """It exited 0."""
        return WaitForTerminalExitResponse(exit_code=0)

    async def kill_terminal(
        self, session_id: str, terminal_id: str, **kwargs: Any
    ) -> KillTerminalResponse | None:
        """Nothing to kill."""
        return KillTerminalResponse()

    async def create_elicitation(
        self, message: str, mode: ElicitationMode, **kwargs: Any
    ) -> CreateElicitationResponse:
        """This client does not elicit."""
        raise acp.RequestError.method_not_found("elicitation/create")

    async def complete_elicitation(self, elicitation_id: str, **kwargs: Any) -> None:
        """Ignored."""

    async def ext_method(self, method: str, params: Json) -> Json:
        """No extension methods."""
        raise acp.RequestError.method_not_found(f"_{method}")

    async def ext_notification(self, method: str, params: Json) -> None:
        """Extension notifications (``_kiro.dev/...``) are only observed."""

    def on_connect(self, conn: acp.Agent) -> None:
        """Nothing to set up."""


Connection = acp.core.ClientSideConnection
INFO = Implementation(name="acp-tap-sdk-client", version="0.1.0")


async def _start(conn: Connection, caps: ClientCapabilities = FULL_CAPS) -> str:
    await conn.initialize(
        protocol_version=acp.PROTOCOL_VERSION, client_capabilities=caps, client_info=INFO
    )
    return (await conn.new_session(cwd=CWD, mcp_servers=[])).session_id


async def _prompt(conn: Connection, session_id: str, text: str) -> None:
    await conn.prompt(session_id=session_id, prompt=[acp.text_block(text)])


async def basic(conn: Connection, client: Client) -> None:
    """Read a file, then write with permission allowed."""
    session_id = await _start(conn)
    await _prompt(conn, session_id, f"Please read {NOTES} and write a summary with a tool.")


async def reject(conn: Connection, client: Client) -> None:
    """Permission rejected."""
    session_id = await _start(conn)
    await _prompt(conn, session_id, "Use a tool to write the summary.")


async def cancel(conn: Connection, client: Client) -> None:
    """A slow prompt, cancelled after its first update."""
    session_id = await _start(conn)
    prompt = asyncio.ensure_future(_prompt(conn, session_id, "Tell me a slow story."))
    client.first_update.clear()
    await client.first_update.wait()
    await conn.cancel(session_id=session_id)
    await prompt


async def load(conn: Connection, client: Client) -> None:
    """Two turns, then session/load replays them."""
    session_id = await _start(conn)
    await _prompt(conn, session_id, "Hello there.")
    await _prompt(conn, session_id, "A second turn.")
    await conn.load_session(cwd=CWD, session_id=session_id, mcp_servers=[])


async def terminal(conn: Connection, client: Client) -> None:
    """Run a command in a client terminal."""
    session_id = await _start(conn)
    await _prompt(conn, session_id, "Please run echo hello world")


async def modes(conn: Connection, client: Client) -> None:
    """Switch mode, set a config option."""
    session_id = await _start(conn)
    await conn.set_session_mode(session_id=session_id, mode_id="kiro_planner")
    await conn.set_config_option(config_id="thinking", session_id=session_id, value="on")


async def nocaps(conn: Connection, client: Client) -> None:
    """A client without fs and terminal capabilities."""
    session_id = await _start(conn, NO_CAPS)
    await _prompt(conn, session_id, f"Read {NOTES}, run ls and use the tool.")


Scenario = Callable[[Connection, Client], Awaitable[None]]
SCENARIOS: dict[str, tuple[Scenario, str]] = {
    "basic": (basic, "allow_once"),
    "reject": (reject, "reject_once"),
    "cancel": (cancel, "allow_once"),
    "load": (load, "allow_once"),
    "terminal": (terminal, "allow_once"),
    "modes": (modes, "allow_once"),
    "nocaps": (nocaps, "allow_once"),
}


async def observe(scenario: str, argv: list[str]) -> Json:
    """Run ``scenario`` against the agent ``argv``; return the summary."""
    play, permission = SCENARIOS[scenario]
    observer = Observer()
    client = Client(permission)
    async with acp.spawn_agent_process(
        client,
        argv[0],
        *argv[1:],
        env=dict(os.environ),
        transport_kwargs={"stderr": None},  # the agent's logs go to our stderr
        observers=[observer],
    ) as (conn, process):
        await play(conn, client)
    return {"scenario": scenario, "exit_code": process.returncode, **observer.summary()}


def main(argv: list[str] | None = None) -> int:
    """Parse the command line, run the scenario, print the summary."""
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--scenario", choices=sorted(SCENARIOS), required=True)
    parser.add_argument("agent", nargs="+", help="the agent command, after --")
    args = parser.parse_args(argv)
    try:
        summary = asyncio.run(asyncio.wait_for(observe(args.scenario, args.agent), TIMEOUT))
    except TimeoutError:
        print(f"sdk_client: scenario {args.scenario} timed out after {TIMEOUT} s", file=sys.stderr)
        return 1
    json.dump(summary, sys.stdout, ensure_ascii=False, indent=1)
    sys.stdout.write("\n")
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
