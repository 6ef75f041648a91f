"""The official ACP Python SDK (``agent-client-protocol``, module ``acp``), which stays optional.

acp-tap imports it only to serve an in-process SDK agent (agent tests without a
subprocess); client tests on asyncio need no SDK, as the fake agent's streams are plain
asyncio streams. Without the SDK, that one use fails with one line saying what to install.
"""

from __future__ import annotations

import asyncio
import os
from collections.abc import Sequence
from types import ModuleType
from typing import Any, cast

from acp_tap.errors import SdkMissingError

INSTALL = "pip install agent-client-protocol"


def is_agent_object(agent: object) -> bool:
    """Whether ``agent`` is an in-process agent (an ``acp.Agent`` or a factory of one)
    rather than a command to spawn (a string, a path, or a sequence of strings)."""
    return not isinstance(agent, str | bytes | os.PathLike | Sequence)


def require_sdk(what: str) -> ModuleType:
    """The ``acp`` module; :class:`~acp_tap.errors.SdkMissingError` if it is not installed."""
    try:
        import acp
    except ImportError:
        raise SdkMissingError(
            f"acp-tap: {what} needs the official ACP Python SDK, which is not installed: {INSTALL}"
        ) from None
    return acp


async def serve_agent(
    agent: object, reader: asyncio.StreamReader, writer: asyncio.StreamWriter
) -> None:
    """Serve the SDK ``agent`` (an ``acp.Agent``, or a callable that takes the connection
    to the client and returns one) on the agent's end of a connection, until its input
    ends; its output is closed then."""
    acp = require_sdk("an in-process agent")
    try:
        await acp.run_agent(cast(Any, agent), writer, reader)
    finally:
        writer.close()
