"""ACP vocabulary shared by ``show``, ``check`` and the conversation fold. Pure.

Only what the inspectors need to read messages: which updates belong to a prompt turn,
which agent requests need a client capability, and short human summaries of content.
"""

from __future__ import annotations

from collections.abc import Iterable, Mapping
from typing import Any

CHUNK_ROLES = {
    "agent_message_chunk": "agent",
    "agent_thought_chunk": "thought",
    "user_message_chunk": "user",
}
"""Streamed text: ``session/update`` kinds whose chunks join into one message."""

TURN_UPDATES = frozenset({*CHUNK_ROLES, "tool_call", "tool_call_update", "plan"})
"""Update kinds that belong to a prompt turn (or to a ``session/load`` replay).

The others (commands, mode, config, session info, usage, compaction) may come at any time.
"""

CAPABILITIES: dict[str, tuple[str, ...]] = {
    "fs/read_text_file": ("fs", "readTextFile"),
    "fs/write_text_file": ("fs", "writeTextFile"),
    "terminal/create": ("terminal",),
    "terminal/output": ("terminal",),
    "terminal/release": ("terminal",),
    "terminal/wait_for_exit": ("terminal",),
    "terminal/kill": ("terminal",),
}
"""Agent→client methods and the ``clientCapabilities`` path the client must set to ``true``."""

LEGACY_METHODS = {
    "session/set_model": "kiro-cli's pre-v1 model switch",
}
"""Methods some agents use that are not in the ACP v1 schema, reported as notes."""

FINAL_STATUSES = frozenset({"completed", "failed"})
"""Tool call statuses after which the tool call is over."""


def params_of(message: Any) -> dict[str, Any]:
    """The ``params`` object of a message (empty when missing or not an object)."""
    params = message.get("params") if isinstance(message, dict) else None
    return params if isinstance(params, dict) else {}


def session_of(params: Any) -> str | None:
    """The ``sessionId`` a params or result object names, if it is a string."""
    sid = params.get("sessionId") if isinstance(params, dict) else None
    return sid if isinstance(sid, str) else None


def capability_advertised(capabilities: Any, path: tuple[str, ...]) -> bool:
    """Whether ``clientCapabilities`` has ``true`` at ``path``."""
    node = capabilities
    for key in path:
        node = node.get(key) if isinstance(node, dict) else None
    return node is True


def human_size(n: int) -> str:
    """``532 B``, ``12.3 KB``, ``4.0 MB``."""
    if n < 1000:
        return f"{n} B"
    if n < 1_000_000:
        return f"{n / 1000:.1f} KB"
    return f"{n / 1_000_000:.1f} MB"


def block_text(block: Any) -> str:
    """A content block as text: its text, or a bracketed summary of non-text content."""
    if not isinstance(block, dict):
        return ""
    kind = block.get("type")
    if kind == "text":
        text = block.get("text")
        return text if isinstance(text, str) else ""
    if kind in ("image", "audio"):
        data = block.get("data")
        size = human_size(len(data) * 3 // 4) if isinstance(data, str) else "?"
        return f"[{kind} {block.get('mimeType', '?')} {size}]"
    if kind == "resource_link":
        return f"[link {block.get('name') or block.get('uri', '?')}]"
    if kind == "resource":
        resource = block.get("resource")
        resource = resource if isinstance(resource, dict) else {}
        body = resource.get("text")
        if not isinstance(body, str):
            body = resource.get("blob")
        size = f" {human_size(len(body.encode()))}" if isinstance(body, str) else ""
        return f"[resource {resource.get('uri', '?')}{size}]"
    return f"[{kind}]"


def blocks_text(blocks: Any) -> str:
    """Content blocks (a list, or one block) as text, non-text blocks summarised."""
    if isinstance(blocks, dict):
        return block_text(blocks)
    if not isinstance(blocks, list):
        return ""
    parts = [block_text(b) for b in blocks]
    return "\n".join(p for p in parts if p)


def tool_content_text(content: Any) -> str:
    """A tool call's ``content`` list as short text (content blocks, diffs, terminals)."""
    if not isinstance(content, list):
        return ""
    parts: list[str] = []
    for item in content:
        if not isinstance(item, dict):
            continue
        kind = item.get("type")
        if kind == "content":
            parts.append(block_text(item.get("content")))
        elif kind == "diff":
            parts.append(f"[diff {item.get('path', '?')}]")
        elif kind == "terminal":
            parts.append(f"[terminal {item.get('terminalId', '?')}]")
    return "\n".join(p for p in parts if p)


def join_nonempty(parts: Iterable[str], sep: str = ", ") -> str:
    """Join the non-empty strings."""
    return sep.join(p for p in parts if p)


def error_brief(message: Mapping[str, Any]) -> str:
    """A JSON-RPC error response in short: ``CODE message``."""
    error = message.get("error")
    if not isinstance(error, dict):
        return repr(error)
    return f"{error.get('code')} {error.get('message')}"
