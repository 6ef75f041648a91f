"""A small ACP agent built on the official Python SDK (``acp``), for interop tests.

    python tests/peers/sdk_agent.py

initialize, session/new (ids sdk-session-1, -2, ...), and session/prompt: three agent message
chunks, then an edit tool call that asks session/request_permission and completes (allowed) or
fails (rejected). A prompt containing "slow" sleeps 0.5 s after each chunk; session/cancel stops
the turn with stopReason "cancelled".
"""

from __future__ import annotations

import asyncio
from typing import Any, cast

import acp
from acp.schema import (
    AgentCapabilities,
    AllowedOutcome,
    ClientCapabilities,
    Implementation,
    InitializeResponse,
    NewSessionResponse,
    PermissionOption,
    PromptResponse,
    TextContentBlock,
    ToolCallStatus,
    ToolCallUpdate,
)

CHUNKS = ("Hello from ", "the SDK agent. ", "Let me edit a file.")
DELAY = 0.5
OPTIONS = [
    PermissionOption(option_id="allow", name="Allow", kind="allow_once"),
    PermissionOption(option_id="reject", name="Reject", kind="reject_once"),
]


class SdkAgent:
    """The agent; the SDK routes each ACP method to the method of the same (snake_case) name."""

    def __init__(self) -> None:
        self._client: acp.Client | None = None
        self._sessions = 0
        self._cancelled: set[str] = set()

    def on_connect(self, conn: acp.Client) -> None:
        """Keep the connection to the client."""
        self._client = conn

    async def initialize(
        self,
        protocol_version: int,
        client_capabilities: ClientCapabilities | None = None,
        client_info: Implementation | None = None,
        **kwargs: Any,
    ) -> InitializeResponse:
        """Protocol version 1, default capabilities."""
        return InitializeResponse(
            protocol_version=acp.PROTOCOL_VERSION,
            agent_capabilities=AgentCapabilities(),
            agent_info=Implementation(name="acp-tap-sdk-agent", version="0.1.0"),
        )

    async def new_session(
        self,
        cwd: str,
        additional_directories: list[str] | None = None,
        mcp_servers: list[Any] | None = None,
        **kwargs: Any,
    ) -> NewSessionResponse:
        """A new session with a counter id."""
        self._sessions += 1
        return NewSessionResponse(session_id=f"sdk-session-{self._sessions}")

    async def prompt(self, session_id: str, prompt: list[Any], **kwargs: Any) -> PromptResponse:
        """Stream chunks, ask permission for an edit, report the outcome."""
        client = self._client
        assert client is not None
        text = " ".join(block.text for block in prompt if isinstance(block, TextContentBlock))
        self._cancelled.discard(session_id)
        for chunk in CHUNKS:
            await client.session_update(
                session_id=session_id, update=acp.update_agent_message_text(chunk)
            )
            if "slow" in text:
                await asyncio.sleep(DELAY)
            if session_id in self._cancelled:
                return PromptResponse(stop_reason="cancelled")
        start = acp.start_edit_tool_call("call-1", "Edit notes.txt", "/tmp/notes.txt", "new text")
        await client.session_update(session_id=session_id, update=start)
        tool_call = ToolCallUpdate(tool_call_id="call-1", title="Edit notes.txt", kind="edit")
        answer = await client.request_permission(
            session_id=session_id, tool_call=tool_call, options=OPTIONS
        )
        allowed = isinstance(answer.outcome, AllowedOutcome) and answer.outcome.option_id == "allow"
        status: ToolCallStatus = "completed" if allowed else "failed"
        update = acp.update_tool_call("call-1", status=status)
        await client.session_update(session_id=session_id, update=update)
        said = "Done." if allowed else "Not allowed, so I did not edit it."
        await client.session_update(
            session_id=session_id, update=acp.update_agent_message_text(said)
        )
        return PromptResponse(stop_reason="end_turn")

    async def cancel(self, session_id: str, **kwargs: Any) -> None:
        """Stop the session's turn at its next chunk."""
        self._cancelled.add(session_id)


async def main() -> None:
    """Serve on stdin/stdout until the client closes stdin."""
    # The SDK routes methods an agent lacks to "Method not found"; this agent implements a subset.
    await acp.run_agent(cast(acp.Agent, SdkAgent()))


if __name__ == "__main__":
    asyncio.run(main())
