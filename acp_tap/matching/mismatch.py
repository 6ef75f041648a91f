"""The JSON-RPC error a replay answers to a request that has no recorded counterpart. Pure."""

from __future__ import annotations

from typing import Any

from acp_tap.cassette.codec import dumps_compact

MISMATCH_CODE = -32099
"""JSON-RPC error code of the answer to a request that matches no recorded one."""


def error_line(live_id: Any, summary: str, data: dict[str, Any]) -> bytes:
    """The JSON-RPC error answering request ``live_id``: code -32099, ``acp-tap replay: ...``."""
    message = f"acp-tap replay: {summary}"
    error = {"code": MISMATCH_CODE, "message": message, "data": {"acpTap": data}}
    return dumps_compact({"jsonrpc": "2.0", "id": live_id, "error": error}) + b"\n"
