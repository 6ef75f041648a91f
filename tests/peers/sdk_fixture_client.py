"""The official SDK's client (tests/peers/sdk_client.py) driving the shipped fixtures.

The fixtures were recorded from the scripted client (acp_tap.demo.client): this plays the
same conversations through ``acp.connect_to_agent``, serving the same file and terminal,
and returns what the SDK observed (sdk_client.Observer's summary, without JSON-RPC ids),
either in-process over a pair of asyncio streams or against a spawned agent command. The
SDK adds ``clientCapabilities.auth``, which the scripted client did not send: replays
ignore ``params.clientCapabilities`` (:data:`IGNORE`).
"""

from __future__ import annotations

import asyncio
import os
from collections.abc import Sequence
from typing import Any

import acp
from acp.schema import (
    Implementation,
    ReadTextFileResponse,
    TerminalExitStatus,
    TerminalOutputResponse,
)

from tests.peers import sdk_client

CWD = "/home/user/project"
NOTES = f"{CWD}/notes.md"
FILES = {NOTES: "# Notes\n\n- ship acp-tap\n- write more tests\n"}
TERMINAL_OUTPUT = "hello from the terminal\n"
IGNORE = ["params.clientCapabilities"]
INFO = Implementation(name="acp-tap-scripted-client", version="1")
LOAD = "(session/load)"
CANCEL = "slow answer please"  # the prompt cancelled after its first update

PROMPTS: dict[str, list[str]] = {
    "handshake": [],
    "prompt-turn": ["Explain what acp-tap does"],
    "permission-allowed": ["Please write a greeting with a tool"],
    "permission-rejected": ["Please write a greeting with a tool"],
    "fs-read": [f"read {NOTES} and summarise it"],
    "terminal": ["run ls -la"],
    "session-load": ["Remember the word tangerine", "What was the word?", LOAD],
    "cancelled-turn": [CANCEL],
    "sdk-agent": ["Hello SDK agent"],
}
"""What the client says in each fixture, after initialize and session/new."""

Json = dict[str, Any]


class FixtureClient(sdk_client.Client):
    """sdk_client's client, serving the fixtures' file and terminal output."""

    async def read_text_file(
        self,
        session_id: str,
        path: str,
        line: int | None = None,
        limit: int | None = None,
        **kwargs: Any,
    ) -> ReadTextFileResponse:
        """Serve :data:`FILES`."""
        if path not in FILES:
            raise acp.RequestError.resource_not_found(path)
        return ReadTextFileResponse(content=FILES[path])

    async def terminal_output(
        self, session_id: str, terminal_id: str, **kwargs: Any
    ) -> TerminalOutputResponse:
        """The fixture's terminal output."""
        exit_status = TerminalExitStatus(exit_code=0)
        return TerminalOutputResponse(
            output=TERMINAL_OUTPUT, truncated=False, exit_status=exit_status
        )


async def start(conn: sdk_client.Connection) -> str:
    """initialize and session/new, as the scripted client does; the session id."""
    await conn.initialize(
        protocol_version=1, client_capabilities=sdk_client.FULL_CAPS, client_info=INFO
    )
    return (await conn.new_session(cwd=CWD, mcp_servers=[])).session_id


async def drive(conn: sdk_client.Connection, client: FixtureClient, prompts: Sequence[str]) -> None:
    """Say ``prompts`` (with :data:`LOAD` for session/load, :data:`CANCEL` cancelled)."""
    session_id = await start(conn)
    for text in prompts:
        if text == LOAD:
            await conn.load_session(cwd=CWD, session_id=session_id, mcp_servers=[])
            continue
        client.first_update.clear()
        turn = asyncio.ensure_future(
            conn.prompt(session_id=session_id, prompt=[acp.text_block(text)])
        )
        if text == CANCEL:
            await client.first_update.wait()
            await conn.cancel(session_id=session_id)
        await turn


def client_for(name: str) -> FixtureClient:
    """The client of fixture ``name`` (which permission option it picks)."""
    return FixtureClient("reject_once" if name == "permission-rejected" else "allow_once")


async def observe(
    name: str,
    reader: asyncio.StreamReader,
    writer: asyncio.StreamWriter,
    prompts: Sequence[str] | None = None,
) -> Json:
    """Play fixture ``name`` (or other ``prompts``) over a pair of streams; what was seen."""
    observer = sdk_client.Observer()
    client = client_for(name)
    conn = acp.connect_to_agent(client, writer, reader, observers=[observer])
    try:
        await drive(conn, client, PROMPTS[name] if prompts is None else prompts)
    finally:
        await conn.close()
    return observer.summary()


async def observe_spawned(
    name: str, argv: Sequence[str], prompts: Sequence[str] | None = None
) -> Json:
    """The same against the agent command ``argv``."""
    observer = sdk_client.Observer()
    client = client_for(name)
    async with acp.spawn_agent_process(
        client,
        argv[0],
        *argv[1:],
        env=dict(os.environ),
        transport_kwargs={"stderr": None},
        observers=[observer],
    ) as (conn, _):
        await drive(conn, client, PROMPTS[name] if prompts is None else prompts)
    return observer.summary()
